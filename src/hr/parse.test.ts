import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../kit/errors.ts';
import {
  CsvErrors,
  detectDelimiter,
  hasBadEncoding,
  parseCsv,
  parseCsvInMemory,
  parseCsvText,
  readCsv,
} from './parse.ts';
import type { CsvRow, Delimiter } from './parse.ts';

async function collect(input: Parameters<typeof parseCsv>[0], delimiter?: Delimiter): Promise<CsvRow[]> {
  const rows: CsvRow[] = [];
  for await (const row of parseCsv(input, delimiter === undefined ? {} : { delimiter })) rows.push(row);
  return rows;
}

async function failure(p: Promise<unknown>): Promise<GatehouseError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(GatehouseError);
  return err as GatehouseError;
}

describe('parseCsv', () => {
  it('yields the header as row 1 and data rows from row 2', async () => {
    const rows = await parseCsvText('employee_id,first_name,last_name\nE1,Jane,Doe\nE2,John,Roe\n');
    expect(rows).toEqual([
      { row: 1, cells: ['employee_id', 'first_name', 'last_name'] },
      { row: 2, cells: ['E1', 'Jane', 'Doe'] },
      { row: 3, cells: ['E2', 'John', 'Roe'] },
    ]);
  });

  it('strips a UTF-8 BOM and keeps unicode intact', async () => {
    const bytes = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('employee_id,first_name,last_name\nE1,Zoë,Ångström\n', 'utf8'),
    ]);
    const rows = await collect(bytes);
    expect(rows[0]?.cells[0]).toBe('employee_id');
    expect(rows[1]?.cells).toEqual(['E1', 'Zoë', 'Ångström']);
  });

  it('handles quoted fields with delimiters, doubled quotes and line breaks, numbering records not lines', async () => {
    const text = [
      'employee_id,title,last_name',
      'E1,"Head of Sales, EMEA",Doe',
      'E2,"Says ""hi""\nand more\nlines",Roe',
      'E3,Engineer,Poe',
    ].join('\n');
    const rows = await parseCsvText(text);
    expect(rows.map((r) => r.row)).toEqual([1, 2, 3, 4]);
    expect(rows[1]?.cells[1]).toBe('Head of Sales, EMEA');
    expect(rows[2]?.cells[1]).toBe('Says "hi"\nand more\nlines');
    expect(rows[3]).toEqual({ row: 4, cells: ['E3', 'Engineer', 'Poe'] });
  });

  it('skips blank lines (also whitespace-only and delimiter-only ones) but keeps counting them', async () => {
    const rows = await parseCsvText('a,b\n\nE1,x\n   \n,,\nE2,y\n\n\n');
    expect(rows).toEqual([
      { row: 1, cells: ['a', 'b'] },
      { row: 3, cells: ['E1', 'x'] },
      { row: 6, cells: ['E2', 'y'] },
    ]);
  });

  it('accepts CRLF line endings', async () => {
    const rows = await parseCsvText('a,b\r\nE1,x\r\nE2,y');
    expect(rows.map((r) => r.cells)).toEqual([
      ['a', 'b'],
      ['E1', 'x'],
      ['E2', 'y'],
    ]);
  });

  it('yields rows with the wrong number of cells instead of throwing', async () => {
    const rows = await parseCsvText('a,b,c\nE1,x\nE2,y,z,extra\n');
    expect(rows[1]).toEqual({ row: 2, cells: ['E1', 'x'] });
    expect(rows[2]).toEqual({ row: 3, cells: ['E2', 'y', 'z', 'extra'] });
  });

  it('detects ; from the header line', async () => {
    let seen: Delimiter | null = null;
    const rows: CsvRow[] = [];
    for await (const row of parseCsv('employee_id;first_name;last_name\nE1;Jane;Doe, Jr.\n', {
      onDelimiter: (d) => (seen = d),
    })) {
      rows.push(row);
    }
    expect(seen).toBe(';');
    expect(rows[1]?.cells).toEqual(['E1', 'Jane', 'Doe, Jr.']);
  });

  it('uses the given delimiter over detection', async () => {
    const rows = await collect('a;b,c\n1;2,3\n', ',');
    expect(rows[0]?.cells).toEqual(['a;b', 'c']);
  });

  it('detects the delimiter even when the first line arrives in small chunks, and joins split characters', async () => {
    const text = Buffer.from('employee_id;first_name;last_name\nE1;Zoë;Ångström\n', 'utf8');
    const chunks: Buffer[] = [];
    for (let i = 0; i < text.length; i += 3) chunks.push(text.subarray(i, i + 3));
    const rows = await collect(Readable.from(chunks));
    expect(rows[1]?.cells).toEqual(['E1', 'Zoë', 'Ångström']);
  });

  it('accepts async iterables of strings', async () => {
    async function* gen(): AsyncGenerator<string> {
      yield 'a,b\n';
      yield 'E1,';
      yield 'x\n';
    }
    expect((await collect(gen())).map((r) => r.cells)).toEqual([
      ['a', 'b'],
      ['E1', 'x'],
    ]);
  });

  it('keeps invalid UTF-8 (Latin-1) visible as U+FFFD so the validator can report bad_encoding', async () => {
    const latin1 = Buffer.from('employee_id,first_name,last_name\nE1,J\xfcrgen,M\xfcller\n', 'latin1');
    const rows = await collect(latin1);
    expect(rows[1]?.row).toBe(2);
    expect(rows[1]?.cells.map(hasBadEncoding)).toEqual([false, true, true]);
    expect(hasBadEncoding('Jürgen')).toBe(false);
  });

  it.each([
    ['an unclosed quote', 'a,b\nE1,x\nE2,"never closed\nE3,y\n', 3, 3],
    ['a quote in the middle of a value', 'a,b\nE1,x\nE2,ab"c\n', 3, 3],
    ['characters after a closing quote', 'a,b\nE1,"x"y\nE2,z\n', 2, 2],
  ])('turns %s into hr_csv_malformed naming row and line', async (_what, text, row, line) => {
    const err = await failure(parseCsvText(text));
    expect(err.code).toBe(CsvErrors.malformed);
    expect(err.status).toBe(400);
    expect(err.message).toContain(`row ${row}`);
    expect(err.message).toContain(`line ${line}`);
    expect(err.details).toMatchObject({ row, line });
    expect(err.problems[0]?.record).toBe(row);
  });

  it('names the starting line of a malformed row that follows an embedded newline', async () => {
    const err = await failure(parseCsvText('a,b\nE1,"two\nlines"\nE2,"open\nE3,y\n'));
    expect(err.code).toBe(CsvErrors.malformed);
    expect(err.details).toMatchObject({ row: 3, line: 4 });
    expect(err.message).toMatch(/never closed/);
  });

  it('passes input stream errors through unchanged', async () => {
    async function* broken(): AsyncGenerator<string> {
      yield 'a,b\nE1,x\n';
      throw new Error('disk on fire');
    }
    await expect(collect(broken())).rejects.toThrow('disk on fire');
  });

  it('can be abandoned early', async () => {
    const big = ['a,b', ...Array.from({ length: 10_000 }, (_, i) => `E${i},x`)].join('\n');
    let count = 0;
    for await (const row of parseCsv(Readable.from([big]))) {
      count = row.row;
      if (count === 5) break;
    }
    expect(count).toBe(5);
  });

  it('streams a large file with the right numbering', async () => {
    const n = 20_000;
    const big = ['a,b', ...Array.from({ length: n }, (_, i) => `E${i},"x\ny"`)].join('\r\n');
    let last: CsvRow | null = null;
    let count = 0;
    for await (const row of parseCsv(Readable.from([big]))) {
      last = row;
      count++;
    }
    expect(count).toBe(n + 1);
    expect(last).toEqual({ row: n + 1, cells: [`E${n - 1}`, 'x\ny'] });
  });
});

describe('detectDelimiter', () => {
  it.each([
    ['a,b,c\n', ','],
    ['a;b;c\n', ';'],
    ['a;b,c;d\n', ';'],
    ['a,b;c\n', ','], // tie → comma
    ['single\n', ','],
    ['"x;y;z",a,b\n1;2;3;4;5\n', ','], // only the first line counts, quotes are skipped
    ['\n\na;b\n', ';'], // leading blank lines are not the header
    ['\ufeffa;b', ';'],
  ] as const)('%j → %s', (text, expected) => {
    expect(detectDelimiter(text)).toBe(expected);
  });
});

describe('readCsv', () => {
  it('splits the header from the data rows', async () => {
    const table = await readCsv('\ufeffemployee_id;last_name\nE1;Doe\nE2;Roe\n');
    expect(table.delimiter).toBe(';');
    expect(table.header).toEqual(['employee_id', 'last_name']);
    expect(table.headerRow).toBe(1);
    const rows: CsvRow[] = [];
    for await (const row of table.rows) rows.push(row);
    expect(rows).toEqual([
      { row: 2, cells: ['E1', 'Doe'] },
      { row: 3, cells: ['E2', 'Roe'] },
    ]);
  });

  it('refuses an empty file', async () => {
    expect((await failure(readCsv('\n\n'))).code).toBe(CsvErrors.empty);
  });

  it('refuses a header that is not UTF-8', async () => {
    const err = await failure(readCsv(Buffer.from('employee_id,Stra\xdfe\nE1,x\n', 'latin1')));
    expect(err.code).toBe(CsvErrors.badEncoding);
    expect(err.status).toBe(400);
    expect(err.message).toContain('row 1');
    expect(err.message).toContain('UTF-8');
  });
});

describe('parseCsvInMemory with raw', () => {
  it('gives each record its text as written, without the line break', () => {
    const text = '\uFEFFid,name,note\r\nE1,"Doe, ""Jane""","two\nlines"\r\n\r\nE2,Roe,\nE3,Poe,last';
    const rows = parseCsvInMemory(Buffer.from(text), { raw: true });
    expect(rows).toEqual([
      { row: 1, cells: ['id', 'name', 'note'], raw: 'id,name,note' },
      { row: 2, cells: ['E1', 'Doe, "Jane"', 'two\nlines'], raw: 'E1,"Doe, ""Jane""","two\nlines"' },
      { row: 4, cells: ['E2', 'Roe', ''], raw: 'E2,Roe,' },
      { row: 5, cells: ['E3', 'Poe', 'last'], raw: 'E3,Poe,last' },
    ]);
    // Without it, rows are as parseCsv gives them.
    expect(parseCsvInMemory(Buffer.from('a,b\n1,2\n'))).toEqual([
      { row: 1, cells: ['a', 'b'] },
      { row: 2, cells: ['1', '2'] },
    ]);
  });
});
