import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '../kit/errors.ts';
import { ReportErrors } from './table.ts';
import type { Report } from './table.ts';
import { MAX_CELL_TEXT, columnLetter, excelSerial, sheetName, toXlsx, xlsxFileName } from './xlsx.ts';

const UNZIP = '/usr/bin/unzip';

async function load(buffer: Buffer): Promise<ExcelJS.Workbook> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buffer as unknown as ExcelJS.Buffer);
  return wb;
}

function sheet(wb: ExcelJS.Workbook, index: number): ExcelJS.Worksheet {
  const ws = wb.worksheets[index];
  if (!ws) throw new Error(`no worksheet ${index}`);
  return ws;
}

/**
 * The entries of a ZIP read from its central directory, independently of exceljs: every local header must agree
 * with the central one, and every entry must inflate to its recorded size and CRC-32.
 */
function unzipEntries(buf: Buffer): Map<string, { text: string; flags: number }> {
  const eocd = buf.length - 22;
  expect(buf.readUInt32LE(eocd)).toBe(0x06054b50);
  const count = buf.readUInt16LE(eocd + 10);
  const cdSize = buf.readUInt32LE(eocd + 12);
  let p = buf.readUInt32LE(eocd + 16);
  expect(p + cdSize).toBe(eocd);
  const out = new Map<string, { text: string; flags: number }>();
  for (let i = 0; i < count; i++) {
    expect(buf.readUInt32LE(p)).toBe(0x02014b50);
    const flags = buf.readUInt16LE(p + 8);
    const crc = buf.readUInt32LE(p + 16);
    const csize = buf.readUInt32LE(p + 20);
    const usize = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const offset = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    expect(buf.readUInt32LE(offset)).toBe(0x04034b50);
    expect(buf.readUInt16LE(offset + 6)).toBe(flags);
    expect(buf.readUInt32LE(offset + 14)).toBe(crc);
    expect(buf.readUInt32LE(offset + 18)).toBe(csize);
    expect(buf.readUInt32LE(offset + 22)).toBe(usize);
    const localName = offset + 30;
    const dataStart = localName + buf.readUInt16LE(offset + 26) + buf.readUInt16LE(offset + 28);
    expect(buf.subarray(localName, localName + nameLen).toString('utf8')).toBe(name);
    const data = inflateRawSync(buf.subarray(dataStart, dataStart + csize));
    expect(data.length).toBe(usize);
    expect(crc32(data)).toBe(crc);
    out.set(name, { text: data.toString('utf8'), flags });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

function part(buf: Buffer, name: string): string {
  const entry = unzipEntries(buf).get(name);
  if (!entry) throw new Error(`no ${name} in the archive`);
  return entry.text;
}

const when = new Date('2026-11-22T10:11:12.345Z');
const midnight = new Date('2026-11-22T00:00:00.000Z');
const old = new Date('1969-07-20T20:17:40.000Z');

const findings: Report = {
  title: 'Findings',
  columns: [
    { key: 'name', header: 'Name', width: 24 },
    { key: 'count', header: 'Count' },
    { key: 'active', header: 'Active' },
    { key: 'seen', header: 'Last seen', width: 20 },
    { key: 'note', header: 'Note' },
  ],
  rows: [
    { name: 'Zoë Ångström', count: 3, active: true, seen: when, note: 'tab\there, line\nbreak' },
    { name: '李雷 🙂👩‍💻', count: -5, active: false, seen: midnight, note: '<&>"\'' },
    { name: 'x\u0000y\u0007z\u001b\uFFFE\uD800!', count: 0.1 + 0.2, active: null, seen: old, note: '=1+1' },
    { name: 'win\r\nline', count: 1e21, seen: null, note: '' },
  ],
  meta: [
    ['Generated', '2026-11-22T10:00:00.000Z'],
    ['Run', '#12 corp-ldap full'],
    ['Filter', 'status = "orphan" & <risk>'],
  ],
};

describe('toXlsx read back by exceljs', () => {
  it('names the sheets after the title and "About"', async () => {
    const wb = await load(toXlsx(findings));
    expect(wb.worksheets.map((ws) => ws.name)).toEqual(['Findings', 'About']);
  });

  it('writes a bold, frozen header row with an auto filter and the column widths', async () => {
    const ws = sheet(await load(toXlsx(findings)), 0);
    const header = ws.getRow(1);
    expect([1, 2, 3, 4, 5].map((c) => header.getCell(c).value)).toEqual([
      'Name',
      'Count',
      'Active',
      'Last seen',
      'Note',
    ]);
    expect(header.getCell(6).value).toBeNull();
    expect([1, 2, 3, 4, 5].every((c) => header.getCell(c).font?.bold === true)).toBe(true);
    expect(ws.getRow(2).getCell(1).font?.bold).not.toBe(true);
    expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 1, topLeftCell: 'A2' });
    expect(ws.autoFilter).toBe('A1:E5');
    expect(ws.getColumn(1).width).toBe(24);
    expect(ws.getColumn(4).width).toBe(20);
    expect(ws.getColumn(2).width).toBeUndefined();
  });

  it('keeps every value and its type', async () => {
    const ws = sheet(await load(toXlsx(findings)), 0);
    const { String, Number, Boolean, Date: DateType, Null } = ExcelJS.ValueType;
    const expected: [string, unknown, ExcelJS.ValueType][] = [
      ['A2', 'Zoë Ångström', String],
      ['B2', 3, Number],
      ['C2', true, Boolean],
      ['D2', when, DateType],
      ['E2', 'tab\there, line\nbreak', String],
      ['A3', '李雷 🙂👩‍💻', String],
      ['B3', -5, Number],
      ['C3', false, Boolean],
      ['D3', midnight, DateType],
      ['E3', '<&>"\'', String],
      ['A4', 'xyz!', String],
      ['B4', 0.1 + 0.2, Number],
      ['C4', null, Null],
      ['D4', old, DateType],
      ['E4', '=1+1', String],
      ['A5', 'win\r\nline', String],
      ['B5', 1e21, Number],
      ['C5', null, Null],
      ['D5', null, Null],
      ['E5', null, Null],
    ];
    for (const [ref, value, type] of expected) {
      const cell = ws.getCell(ref);
      expect({ ref, type: cell.type }).toEqual({ ref, type });
      if (value instanceof Date) {
        expect(cell.value).toBeInstanceOf(Date);
        expect({ ref, time: (cell.value as Date).getTime() }).toEqual({ ref, time: value.getTime() });
      } else {
        expect({ ref, value: cell.value }).toEqual({ ref, value });
      }
    }
    expect(ws.rowCount).toBe(5);
  });

  it('gives dates a date format: date only at midnight UTC, date and time otherwise', async () => {
    const ws = sheet(await load(toXlsx(findings)), 0);
    expect(ws.getCell('D2').numFmt).toBe('yyyy-mm-dd hh:mm:ss');
    expect(ws.getCell('D3').numFmt).toBe('yyyy-mm-dd');
    expect(ws.getCell('B2').numFmt).toBeUndefined();
  });

  it('writes the meta pairs on the About sheet', async () => {
    const about = sheet(await load(toXlsx(findings)), 1);
    expect(about.name).toBe('About');
    const pairs = [1, 2, 3].map((r) => [about.getCell(r, 1).value, about.getCell(r, 2).value]);
    expect(pairs).toEqual(findings.meta);
    expect(about.getCell(1, 1).font?.bold).toBe(true);
    expect(about.rowCount).toBe(3);
  });

  it('handles more than 26 columns (AA, AB, …)', async () => {
    const columns = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, header: `H${i}` }));
    const row = Object.fromEntries(columns.map((c, i) => [c.key, i * 10]));
    const ws = sheet(await load(toXlsx({ title: 'Wide', columns, rows: [row], meta: [] })), 0);
    expect(ws.getCell('Z1').value).toBe('H25');
    expect(ws.getCell('AA1').value).toBe('H26');
    expect(ws.getCell('AD1').value).toBe('H29');
    expect(ws.getCell('AD2').value).toBe(290);
    expect(ws.getCell('AE1').value).toBeNull();
    expect(ws.autoFilter).toBe('A1:AD2');
  });

  it('writes a header-only sheet when there are no rows, and an empty About sheet without meta', async () => {
    const buf = toXlsx({ ...findings, rows: [], meta: [] });
    const wb = await load(buf);
    const ws = sheet(wb, 0);
    expect(ws.rowCount).toBe(1);
    expect(ws.getCell('A1').value).toBe('Name');
    expect(ws.getCell('A2').value).toBeNull();
    expect(ws.autoFilter).toBe('A1:E1');
    expect(sheet(wb, 1).rowCount).toBe(0);
  });

  it('truncates text beyond 32,767 characters with "…", never splitting a surrogate pair', async () => {
    const long = 'a'.repeat(40_000);
    const emojiAtCut = `${'b'.repeat(MAX_CELL_TEXT - 2)}🙂🙂🙂`;
    const exact = 'c'.repeat(MAX_CELL_TEXT);
    const buf = toXlsx({
      title: 'Long',
      columns: [{ key: 'v', header: 'V' }],
      rows: [{ v: long }, { v: emojiAtCut }, { v: exact }],
      meta: [],
    });
    const ws = sheet(await load(buf), 0);
    const a2 = ws.getCell('A2').value as string;
    expect(a2.length).toBe(MAX_CELL_TEXT);
    expect(a2).toBe(`${'a'.repeat(MAX_CELL_TEXT - 1)}…`);
    expect(ws.getCell('A3').value).toBe(`${'b'.repeat(MAX_CELL_TEXT - 2)}…`);
    expect(ws.getCell('A4').value).toBe(exact);
  });

  it('writes text for values a workbook cannot hold as numbers or dates', async () => {
    const buf = toXlsx({
      title: 'Odd',
      columns: [{ key: 'v', header: 'V' }],
      rows: [{ v: Number.NaN }, { v: -Infinity }, { v: new Date('1899-06-01T00:00:00Z') }],
      meta: [],
    });
    const ws = sheet(await load(buf), 0);
    expect([2, 3, 4].map((r) => ws.getCell(r, 1).value)).toEqual([
      'NaN',
      '-Infinity',
      '1899-06-01T00:00:00.000Z',
    ]);
  });

  it('keeps a literal _xHHHH_ in the XML escaped as Excel expects', () => {
    const buf = toXlsx({
      title: 'T',
      columns: [{ key: 'v', header: 'V' }],
      rows: [{ v: 'id_x0041_z' }],
      meta: [],
    });
    // Excel reads `_x0041_` in a string as "A"; escaping the underscore keeps the text as written.
    expect(part(buf, 'xl/worksheets/sheet1.xml')).toContain('id_x005F_x0041_z');
  });

  it('uses a safe, unique sheet name for any title', async () => {
    const title = 'Who/has:what? [corp\\ldap] *full* and a very long tail';
    const wb = await load(toXlsx({ ...findings, title }));
    expect(wb.worksheets.map((ws) => ws.name)).toEqual(['Who_has_what_ _corp_ldap_ _full', 'About']);
    const clash = await load(toXlsx({ ...findings, title: 'about' }));
    expect(clash.worksheets.map((ws) => ws.name)).toEqual(['about data', 'About']);
    const quoted = await load(toXlsx({ ...findings, title: "O'Brien's access" }));
    expect(sheet(quoted, 0).name).toBe("O'Brien's access");
    expect(sheet(quoted, 0).getCell('A2').value).toBe('Zoë Ångström');
  });
});

describe('toXlsx package', () => {
  it('holds the expected parts, named in UTF-8 (flag bit 11), each with a correct CRC-32 and sizes', () => {
    const entries = unzipEntries(toXlsx(findings));
    expect([...entries.keys()]).toEqual([
      '[Content_Types].xml',
      '_rels/.rels',
      'xl/workbook.xml',
      'xl/_rels/workbook.xml.rels',
      'xl/styles.xml',
      'xl/worksheets/sheet1.xml',
      'xl/worksheets/sheet2.xml',
    ]);
    expect([...entries.values()].every((e) => (e.flags & 0x0800) !== 0)).toBe(true);
    const sheet1 = entries.get('xl/worksheets/sheet1.xml')?.text ?? '';
    expect(sheet1).toContain(
      '<sheetViews><sheetView tabSelected="1" workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>',
    );
    expect(sheet1).toContain(
      '<c r="E3" t="inlineStr"><is><t xml:space="preserve">&lt;&amp;&gt;&quot;&apos;</t></is></c>',
    );
  });

  it('is deterministic: the same report gives the same bytes', () => {
    expect(toXlsx(findings).equals(toXlsx(findings))).toBe(true);
  });

  it.skipIf(!existsSync(UNZIP))('passes `unzip -t` (skipped: /usr/bin/unzip is not installed)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-xlsx-'));
    try {
      const file = join(dir, 'findings.xlsx');
      writeFileSync(file, toXlsx(findings));
      const out = execFileSync(UNZIP, ['-t', file], { encoding: 'utf8' });
      expect(out).toContain('No errors detected');
      expect(out).toContain('xl/worksheets/sheet2.xml');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses more columns or rows than Excel holds', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isGatehouseError(e) ? e.code : e;
      }
      return undefined;
    };
    const columns = Array.from({ length: 16_385 }, (_, i) => ({ key: `k${i}`, header: '' }));
    expect(code(() => toXlsx({ title: 't', columns, rows: [], meta: [] }))).toBe(ReportErrors.tooLarge);
    const rows = new Array<Report['rows'][number]>(1_048_576).fill({});
    expect(code(() => toXlsx({ title: 't', columns: [], rows, meta: [] }))).toBe(ReportErrors.tooLarge);
    expect(code(() => toXlsx({ ...findings, rows: [{ seen: new Date(Number.NaN) }] }))).toBe(
      ReportErrors.invalidValue,
    );
  });
});

describe('helpers', () => {
  it('columnLetter counts A…Z, AA…ZZ, AAA… up to XFD', () => {
    const cases: [number, string][] = [
      [0, 'A'],
      [25, 'Z'],
      [26, 'AA'],
      [27, 'AB'],
      [51, 'AZ'],
      [52, 'BA'],
      [701, 'ZZ'],
      [702, 'AAA'],
      [16_383, 'XFD'],
    ];
    expect(cases.map(([i]) => columnLetter(i))).toEqual(cases.map(([, l]) => l));
    expect(() => columnLetter(-1)).toThrow(RangeError);
  });

  it('excelSerial counts days since 1899-12-30 UTC', () => {
    expect(excelSerial(new Date('1900-03-01T00:00:00Z'))).toBe(61);
    expect(excelSerial(new Date('1970-01-01T00:00:00Z'))).toBe(25_569);
    expect(excelSerial(new Date('2026-11-22T18:00:00Z'))).toBe(46_348.75);
  });

  it('sheetName replaces forbidden characters and keeps at most 31 characters', () => {
    expect(sheetName('a[b]c:d*e?f/g\\h')).toBe('a_b_c_d_e_f_g_h');
    expect(sheetName('x'.repeat(40))).toBe('x'.repeat(31));
    expect(sheetName(`${'x'.repeat(30)}🙂`)).toBe('x'.repeat(30));
    expect(sheetName("'quoted'")).toBe('quoted');
    expect(sheetName('')).toBe('Report');
    expect(sheetName('History')).toBe('History data');
  });

  it('xlsxFileName slugifies the title', () => {
    expect(xlsxFileName({ title: 'Findings' }, new Date('2026-11-22T10:00:00Z'))).toBe(
      'findings-2026-11-22.xlsx',
    );
  });
});
