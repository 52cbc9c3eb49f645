import { GatehouseError } from '../kit/errors.ts';

/**
 * The shape every report writer takes: a titled table plus a few facts about how it was made. Pure: the writers
 * in this folder take a `Report` and return bytes; they read no clock, file or environment (the caller passes the
 * generation time in `meta`, and the date for a file name).
 */

/** One value in a report. `null` (or a key missing from the row) is an empty cell. */
export type Cell = string | number | boolean | Date | null;

export interface ReportColumn {
  /** The property of each row that holds this column's value. */
  key: string;
  /** The header shown to the reader. */
  header: string;
  /** Column width in characters (XLSX only; CSV has no widths). */
  width?: number;
}

export interface Report {
  /** What the report is (e.g. "Findings"): the XLSX sheet name and the stem of the file name. */
  title: string;
  columns: ReportColumn[];
  rows: Record<string, Cell>[];
  /** Facts about the report, in order, e.g. `[['Generated', iso], ['Run', '#12 corp-ldap full']]` (XLSX "About" sheet). */
  meta: [string, string][];
}

/** Error codes of the report writers. */
export const ReportErrors = {
  /** More rows or columns than the format can hold (Excel: 1,048,576 rows, 16,384 columns; ZIP without ZIP64: 4 GiB). */
  tooLarge: 'report_too_large',
  /** A value the writers cannot represent (an invalid `Date`): a bug in the code that built the report. */
  invalidValue: 'report_value_invalid',
} as const;

/** The value of a column in a row; a missing key is `null`. */
export function cellOf(row: Record<string, Cell>, key: string): Cell {
  return Object.hasOwn(row, key) ? (row[key] ?? null) : null;
}

/** Throws `report_value_invalid` for an invalid `Date` (one whose time is NaN). */
export function checkDate(d: Date, where: string): number {
  const t = d.getTime();
  if (Number.isNaN(t))
    throw new GatehouseError(ReportErrors.invalidValue, `${where}: invalid Date`, { status: 500 });
  return t;
}

/**
 * A file name for a report: the title slugified to `[a-z0-9-]` (accents dropped, everything else a hyphen, at most
 * 60 characters, "report" when nothing is left), then the UTC calendar date of `date`, then the extension.
 * `reportFileName({ title: 'Findings' }, new Date('2026-11-22T10:00:00Z'), 'csv')` is `findings-2026-11-22.csv`.
 */
export function reportFileName(report: Pick<Report, 'title'>, date: Date, extension: string): string {
  checkDate(date, 'file name date');
  return `${slugify(report.title)}-${date.toISOString().slice(0, 10)}.${extension}`;
}

function slugify(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 60)
    .replace(/^-+|-+$/g, '');
  return slug === '' ? 'report' : slug;
}
