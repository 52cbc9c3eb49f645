import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '../kit/errors.ts';
import { csvFileName, toCsv } from './csv.ts';
import { ReportErrors } from './table.ts';
import type { Report } from './table.ts';

const report = (rows: Report['rows'], columns = ['a', 'b', 'c']): Report => ({
  title: 'Findings',
  columns: columns.map((key) => ({ key, header: key.toUpperCase() })),
  rows,
  meta: [['Generated', '2026-11-22T10:00:00.000Z']],
});

/** The records of a CSV as csv-parse reads them (BOM removed, quotes undone). */
const readBack = (csv: string): string[][] => parse(csv, { bom: true, relaxColumnCount: false });

describe('toCsv', () => {
  it('writes a BOM, the header row and the rows, every record ended by CRLF', () => {
    const csv = toCsv(report([{ a: 'x', b: 1, c: true }]));
    expect(csv).toBe('\uFEFFA,B,C\r\nx,1,true\r\n');
    expect(csv.startsWith('\uFEFF')).toBe(true);
    expect(csv.replaceAll('\r\n', '')).not.toMatch(/[\r\n]/);
  });

  it('writes only the header row when there are no rows', () => {
    expect(toCsv(report([]))).toBe('\uFEFFA,B,C\r\n');
    expect(readBack(toCsv(report([])))).toEqual([['A', 'B', 'C']]);
  });

  it('quotes fields holding a quote, comma, CR or LF, doubling quotes', () => {
    const csv = toCsv(report([{ a: 'say "hi"', b: 'one, two', c: 'line 1\nline 2' }, { a: 'cr\rhere' }]));
    expect(csv).toBe('\uFEFFA,B,C\r\n"say ""hi""","one, two","line 1\nline 2"\r\n"cr\rhere",,\r\n');
    expect(readBack(csv)).toEqual([
      ['A', 'B', 'C'],
      ['say "hi"', 'one, two', 'line 1\nline 2'],
      ['cr\rhere', '', ''],
    ]);
  });

  it('leaves plain text, inner separators and unicode unquoted', () => {
    const csv = toCsv(report([{ a: 'Zoë Ångström', b: '李雷 🙂', c: "it's a;b" }]));
    expect(csv.split('\r\n')[1]).toBe("Zoë Ångström,李雷 🙂,it's a;b");
  });

  it('writes dates as ISO 8601 UTC, booleans as true/false, null and missing keys empty', () => {
    const when = new Date('2026-11-22T10:11:12.345+02:00');
    const csv = toCsv(report([{ a: when, b: false, c: null }, { a: true }]));
    expect(csv.split('\r\n').slice(1)).toEqual(['2026-11-22T08:11:12.345Z,false,', 'true,,', '']);
  });

  it('writes numbers as numbers and never prefixes them, negative or not', () => {
    const csv = toCsv(
      report([
        { a: -5, b: 3.25, c: 0 },
        { a: -0.5, b: 1e21, c: -1e-7 },
      ]),
    );
    expect(readBack(csv).slice(1)).toEqual([
      ['-5', '3.25', '0'],
      ['-0.5', '1e+21', '-1e-7'],
    ]);
  });

  it("guards strings that a spreadsheet would run as a formula with a leading '", () => {
    const dangerous = ['=1+1', '+1', '-2+3', '@SUM(A1)', '\t=cmd', '\r=cmd', '=HYPERLINK("http://x","y")'];
    const csv = toCsv(report(dangerous.map((a) => ({ a, b: 'a=b', c: 'safe-' }))));
    const rows = readBack(csv).slice(1);
    expect(rows.map((r) => r[0])).toEqual(dangerous.map((d) => `'${d}`));
    // only the first character counts
    expect(rows.every((r) => r[1] === 'a=b' && r[2] === 'safe-')).toBe(true);
    // the guard comes before quoting: a guarded value with a quote is still quoted correctly
    expect(csv).toContain(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csv).toContain(`"'\r=cmd"`);
  });

  it('guards headers too', () => {
    const csv = toCsv({ title: 't', columns: [{ key: 'a', header: '=evil()' }], rows: [], meta: [] });
    expect(readBack(csv)).toEqual([["'=evil()"]]);
  });

  it('reads back with csv-parse to the same values', () => {
    const when = new Date(Date.UTC(2026, 10, 22, 23, 59, 59, 999));
    const rows: Report['rows'] = [
      { a: 'Zoë Ångström, "the" auditor', b: -42, c: when },
      { a: 'multi\r\nline', b: true, c: null },
      { a: '', b: 1.5, c: 'tab\there' },
      { a: '<&>"\'', b: false, c: '李雷 🙂' },
    ];
    expect(readBack(toCsv(report(rows)))).toEqual([
      ['A', 'B', 'C'],
      ['Zoë Ångström, "the" auditor', '-42', '2026-11-22T23:59:59.999Z'],
      ['multi\r\nline', 'true', ''],
      ['', '1.5', 'tab\there'],
      ['<&>"\'', 'false', '李雷 🙂'],
    ]);
  });

  it('refuses an invalid Date, naming the row and column', () => {
    let error: unknown;
    try {
      toCsv(report([{ a: 'ok' }, { b: new Date('not a date') }]));
    } catch (e) {
      error = e;
    }
    expect(isGatehouseError(error, ReportErrors.invalidValue)).toBe(true);
    expect((error as Error).message).toContain('row 2, column "b"');
  });
});

describe('csvFileName', () => {
  const day = new Date('2026-11-22T10:00:00Z');

  it('slugifies the title and appends the UTC date', () => {
    expect(csvFileName({ title: 'findings' }, day)).toBe('findings-2026-11-22.csv');
    expect(csvFileName({ title: 'Who has what: corp-ldap (full)' }, day)).toBe(
      'who-has-what-corp-ldap-full-2026-11-22.csv',
    );
    expect(csvFileName({ title: 'Zoë Ångström’s review' }, day)).toBe('zoe-angstrom-s-review-2026-11-22.csv');
  });

  it('uses the UTC calendar date, not the local one', () => {
    expect(csvFileName({ title: 'x' }, new Date('2026-11-22T23:30:00-05:00'))).toBe('x-2026-11-23.csv');
  });

  it('falls back to "report" when nothing of the title is left', () => {
    expect(csvFileName({ title: '李雷' }, day)).toBe('report-2026-11-22.csv');
    expect(csvFileName({ title: '  ---  ' }, day)).toBe('report-2026-11-22.csv');
  });

  it('keeps names short and free of edge hyphens', () => {
    const name = csvFileName({ title: `${'a'.repeat(59)} b` }, day);
    expect(name).toBe(`${'a'.repeat(59)}-2026-11-22.csv`);
    expect(name).toMatch(/^[a-z0-9-]+\.csv$/);
  });
});
