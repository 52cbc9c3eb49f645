import { cellOf, checkDate, reportFileName } from './table.ts';
import type { Cell, Report } from './table.ts';

/**
 * CSV export of a report (RFC 4180), for auditors who open it in a spreadsheet program:
 *
 * - a UTF-8 byte order mark (so that Excel reads UTF-8), CRLF after every record, the header row first;
 * - a field is quoted when it holds `"`, `,`, CR or LF, with quotes doubled;
 * - dates as ISO 8601 in UTC (`toISOString()`), booleans `true`/`false`, numbers as JavaScript prints them,
 *   `null` (or a missing key) empty;
 * - formula injection guard (OWASP "CSV injection"): a string (header or cell) that starts with `=`, `+`, `-`,
 *   `@`, TAB or CR gets a leading `'`, so a spreadsheet shows it as text instead of evaluating it. Numbers are
 *   never prefixed (`-5` stays `-5`).
 *
 * `meta` is not written: CSV has no place for it (use the XLSX export's "About" sheet).
 */
export function toCsv(report: Report): string {
  const lines: string[] = [report.columns.map((c) => csvField(c.header, true)).join(',')];
  report.rows.forEach((row, i) => {
    lines.push(report.columns.map((c) => cellField(cellOf(row, c.key), i, c.key)).join(','));
  });
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

/** The CSV file name of a report on a date: `findings-2026-11-22.csv` (see `reportFileName`). */
export function csvFileName(report: Pick<Report, 'title'>, date: Date): string {
  return reportFileName(report, date, 'csv');
}

/** A string cell starting with one of these is prefixed with `'` (OWASP CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One cell as a CSV field. Only strings are guarded: a number's `-` is not a formula. */
function cellField(value: Cell, rowIndex: number, key: string): string {
  if (value === null) return '';
  if (typeof value === 'string') return csvField(value, true);
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  checkDate(value, `row ${rowIndex + 1}, column "${key}"`);
  return value.toISOString();
}

function csvField(text: string, guard: boolean): string {
  const guarded = guard && FORMULA_START.test(text) ? `'${text}` : text;
  return NEEDS_QUOTES.test(guarded) ? `"${guarded.replaceAll('"', '""')}"` : guarded;
}
