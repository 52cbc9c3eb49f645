/**
 * A source's column mapping: which header in the file holds which HR field. Pure.
 *
 * Header names match loosely: case-insensitive, trimmed, a BOM tolerated, and spaces or hyphens count as
 * underscores ("Employee ID", "employee-id" and "employee_id" are the same column).
 */
import { HR_FIELDS } from './types.ts';
import type { HrField, HrRecord } from './types.ts';

export interface Mapping {
  /** HR field → header name in the file. A field that is not listed maps to its own name (`department` → "department"). */
  columns: Partial<Record<HrField, string>>;
}

/** The identity mapping: each HR field is read from the column of the same name. */
export const DEFAULT_MAPPING: Mapping = { columns: {} };

/** Fields without which a file cannot be imported: their columns must exist. */
export const REQUIRED_FIELDS = [
  'employee_id',
  'first_name',
  'last_name',
] as const satisfies readonly HrField[];

/** HR field name (as in files, changes and errors) → property of HrRecord. */
export const FIELD_KEYS = {
  employee_id: 'employeeId',
  first_name: 'firstName',
  last_name: 'lastName',
  preferred_name: 'preferredName',
  personal_email: 'personalEmail',
  mobile_phone: 'mobilePhone',
  birth_date: 'birthDate',
  department: 'department',
  title: 'title',
  cost_center: 'costCenter',
  location: 'location',
  time_zone: 'timeZone',
  manager_id: 'managerId',
  worker_type: 'workerType',
  status: 'status',
  hire_date: 'hireDate',
  termination_date: 'terminationDate',
} as const satisfies Record<HrField, Exclude<keyof HrRecord, 'attributes'>>;

export type HeaderProblemCode =
  | 'duplicate_header'
  | 'missing_required_header'
  | 'empty_header'
  /** The header is not valid UTF-8 (a Latin-1 file): its names cannot be matched reliably. */
  | 'bad_encoding';

export interface HeaderProblem {
  /** The header as written in the file (trimmed), or the expected name for a missing one. */
  column: string;
  code: HeaderProblemCode;
  message: string;
}

export interface ResolvedHeader {
  /** The header cells as written (trimmed, BOM removed): the column names used in row errors. */
  header: string[];
  /** HR field → 0-based column index. Absent: the file has no such column. */
  index: Partial<Record<HrField, number>>;
  /** Columns outside the mapping, kept as free-form attributes under their trimmed header name. */
  attributes: { name: string; index: number }[];
  /** Header problems. Every one of them should stop the import: the rows cannot be read reliably. */
  problems: HeaderProblem[];
}

/** The comparison form of a header name: BOM stripped, trimmed, lower-cased, spaces and hyphens as `_`. */
export function normaliseHeaderName(name: string): string {
  return name
    .replace(/\uFEFF/g, '')
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
}

function cleanHeaderName(name: string): string {
  return name.replace(/\uFEFF/g, '').trim();
}

/** Which header (as the mapping names it) each HR field is read from. */
export function mappedHeaderName(field: HrField, mapping: Mapping = DEFAULT_MAPPING): string {
  const name = mapping.columns[field];
  return name === undefined || name.trim() === '' ? field : name.trim();
}

/** Matches a header row against a mapping. Never throws: every problem is listed in `problems`. */
export function resolveHeader(header: string[], mapping: Mapping = DEFAULT_MAPPING): ResolvedHeader {
  const cleaned = header.map(cleanHeaderName);
  // normalised header name → the fields read from it (normally one)
  const wanted = new Map<string, HrField[]>();
  for (const field of HR_FIELDS) {
    const key = normaliseHeaderName(mappedHeaderName(field, mapping));
    const list = wanted.get(key);
    if (list === undefined) wanted.set(key, [field]);
    else list.push(field);
  }

  const index: Partial<Record<HrField, number>> = {};
  const attributes: { name: string; index: number }[] = [];
  const problems: HeaderProblem[] = [];
  const seen = new Map<string, number>();

  cleaned.forEach((name, i) => {
    if (name === '') {
      problems.push({
        column: `column ${i + 1}`,
        code: 'empty_header',
        message: `column ${i + 1} has no name in the header row: give it a name or remove the column`,
      });
      return;
    }
    if (name.includes('\uFFFD')) {
      problems.push({
        column: name,
        code: 'bad_encoding',
        message: `the header "${name}" (column ${i + 1}) contains characters that are not valid UTF-8 (shown as �): save the file as UTF-8 ("CSV UTF-8" in Excel) and upload it again`,
      });
    }
    const key = normaliseHeaderName(name);
    const first = seen.get(key);
    if (first !== undefined) {
      const firstName = cleaned[first] ?? name;
      problems.push({
        column: name,
        code: 'duplicate_header',
        message:
          firstName === name
            ? `the column "${name}" appears twice (columns ${first + 1} and ${i + 1}): keep only one`
            : `the columns "${firstName}" (column ${first + 1}) and "${name}" (column ${i + 1}) are the same column: keep only one`,
      });
      return;
    }
    seen.set(key, i);
    const fields = wanted.get(key);
    if (fields === undefined) attributes.push({ name, index: i });
    else for (const field of fields) index[field] = i;
  });

  for (const field of REQUIRED_FIELDS) {
    if (index[field] !== undefined) continue;
    const expected = mappedHeaderName(field, mapping);
    problems.push({
      column: expected,
      code: 'missing_required_header',
      message:
        expected === field
          ? `the file has no "${field}" column: it is required`
          : `the file has no "${expected}" column (read as ${field}): it is required`,
    });
  }

  return { header: cleaned, index, attributes, problems };
}

/**
 * A stable summary of a header's columns: the normalised names, sorted, joined by single spaces (normalised
 * names contain no whitespace, so this is unambiguous). Column order and spelling variants ("Employee ID" vs
 * "employee_id") do not change it; an added, removed or renamed column does.
 */
export function headerFingerprint(header: string[]): string {
  return header
    .map(normaliseHeaderName)
    .filter((name) => name !== '')
    .sort()
    .join(' ');
}
