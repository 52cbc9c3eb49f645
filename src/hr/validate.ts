/**
 * Row validation and normalisation for HR imports. Pure: the clock is passed in, nothing is read or written.
 *
 * `validateRow` turns one CSV row into an HrRecord, reporting every problem of the row at once (not just the
 * first) in words a person fixing the file understands. `checkFileLevel` applies the rules that need the whole
 * file (duplicate ids, managers). `hrHash` is the cheap "unchanged?" test of the import's diff step.
 */
import { hash } from 'node:crypto';
import { isValidZone } from './effective.ts';
import { hasBadEncoding } from './parse.ts';
import type { ResolvedHeader } from './mapping.ts';
import { FIELD_KEYS } from './mapping.ts';
import { HR_FIELDS } from './types.ts';
import type { HrField, HrRecord, PersonStatus, RowError, RowErrorCode, WorkerType } from './types.ts';

/** The longest value a cell may hold (characters, after trimming). */
export const MAX_CELL_LENGTH = 256;
/** What a SCIM client owns (`scim.*` attributes) may be a JSON list (addresses, phone numbers): more room. */
export const MAX_SCIM_VALUE_LENGTH = 16_384;

export interface ValidateOptions {
  /** Today, for the checks that depend on it (a birth date cannot be in the future). */
  now: Date;
}

export interface RowResult {
  /** The normalised record, or null when the row has any error. */
  record: HrRecord | null;
  errors: RowError[];
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
// Deliberately simple: one @, no whitespace or separators, a dotted domain ending in a 2+ letter label.
const EMAIL_RE =
  /^[^\s@"(),:;<>[\]\\]+@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?\.)+[\p{L}][\p{L}\p{N}-]*[\p{L}\p{N}]$/u;
const PHONE_CHARS_RE = /^\+?[\d\s().\-/]+$/;

const WORKER_TYPE_WORDS: Record<string, WorkerType> = {
  employee: 'employee',
  contractor: 'contractor',
  intern: 'intern',
  partner: 'partner',
};

const STATUS_WORDS: Record<string, PersonStatus> = {
  active: 'active',
  prehire: 'prehire',
  pre_hire: 'prehire',
  on_leave: 'on_leave',
  leave: 'on_leave',
  terminated: 'terminated',
};

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function isRealDate(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/** `YYYY-MM-DD` that exists in the calendar → itself; anything else → null. */
export function parseIsoDate(text: string): string | null {
  const m = DATE_RE.exec(text);
  if (m === null) return null;
  return isRealDate(Number(m[1]), Number(m[2]), Number(m[3])) ? text : null;
}

export type DateTimeResult = { ok: true; instant: string } | { ok: false; reason: 'no_offset' | 'invalid' };

/** A date-time with an offset (`2026-12-31T17:00:00+01:00`, `…Z`) → the UTC instant (`…Z`). */
export function parseIsoInstant(text: string): DateTimeResult | null {
  const m = DATE_TIME_RE.exec(text);
  if (m === null) return null;
  const [, y, mo, d, h, mi, s, frac, offset] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (!isRealDate(year, month, day) || hour > 23 || minute > 59 || second > 59) {
    return { ok: false, reason: 'invalid' };
  }
  if (offset === undefined) return { ok: false, reason: 'no_offset' };
  let offsetMinutes = 0;
  if (offset.toUpperCase() !== 'Z') {
    const sign = offset.startsWith('-') ? -1 : 1;
    const digits = offset.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (oh > 14 || om > 59) return { ok: false, reason: 'invalid' };
    offsetMinutes = sign * (oh * 60 + om);
  }
  const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000;
  return { ok: true, instant: new Date(utc).toISOString() };
}

/** A mobile number → `+` and digits (international) or digits only (no country code given); null if not a number. */
export function normalisePhone(text: string): string | null {
  if (!PHONE_CHARS_RE.test(text)) return null;
  if (text.lastIndexOf('+') > 0) return null;
  let international = text.startsWith('+');
  // "+49 (0)30 1234567": the (0) is the national trunk prefix, not dialled from abroad.
  let rest = international ? text.slice(1).replace(/\(\s*0\s*\)/g, '') : text;
  let digits = rest.replace(/\D/g, '');
  if (!international && digits.startsWith('00')) {
    international = true;
    rest = rest.replace(/^\D*00/, '').replace(/\(\s*0\s*\)/g, '');
    digits = rest.replace(/\D/g, '');
  }
  if (digits.length < 7 || digits.length > 15) return null;
  return international ? `+${digits}` : digits;
}

const zoneNames = new Map<string, string | null>();

/** An IANA zone name, with the canonical capitalisation ("europe/berlin" → "Europe/Berlin"); null if unknown. */
export function normaliseTimeZone(text: string): string | null {
  const known = zoneNames.get(text);
  if (known !== undefined) return known;
  let name: string | null = null;
  if (isValidZone(text)) {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: text }).resolvedOptions().timeZone;
    name = resolved.toLowerCase() === text.toLowerCase() ? resolved : text;
  }
  // Memoised (Intl is slow and a file repeats a handful of zones); bounded against hostile input.
  if (zoneNames.size >= 10_000) zoneNames.clear();
  zoneNames.set(text, name);
  return name;
}

function quoted(value: string): string {
  const chars = [...value];
  return JSON.stringify(chars.length > 60 ? `${chars.slice(0, 57).join('')}…` : value);
}

/** Reads a cell: trimmed, NFC-normalised, empty → null. */
function clean(cell: string | undefined): string | null {
  if (cell === undefined) return null;
  const trimmed = cell.trim();
  if (trimmed === '') return null;
  // ASCII text is already NFC; only other text goes through the (costly) normaliser.
  return NON_ASCII.test(trimmed) ? trimmed.normalize('NFC') : trimmed;
}

const NON_ASCII = /[\u0080-\uffff]/;

/**
 * Validates and normalises one data row. `row` is the row number as the file shows it (header = 1). Every problem
 * is reported; a row with any error has no record.
 */
export function validateRow(
  row: number,
  cells: string[],
  resolved: ResolvedHeader,
  opts: ValidateOptions,
): RowResult {
  const errors: RowError[] = [];
  const width = resolved.header.length;
  const extrasBlank = cells.slice(width).every((c) => c.trim() === '');
  if (cells.length < width || !extrasBlank) {
    const used = cells.length;
    errors.push({
      row,
      column: '*',
      value: null,
      code: 'bad_row',
      message: `row ${row} has ${used} value${used === 1 ? '' : 's'} but the header has ${width} columns: check for a missing or extra delimiter, or a value containing a delimiter that is not in quotes`,
    });
    return { record: null, errors };
  }

  const fail = (column: string, value: string | null, code: RowErrorCode, message: string): void => {
    errors.push({ row, column, value, code, message });
  };
  const columnOf = (field: HrField): string => {
    const i = resolved.index[field];
    return i === undefined ? field : (resolved.header[i] ?? field);
  };

  /** A cell's value, or null when empty or unusable (bad encoding, too long: already reported). */
  const readCell = (
    column: string,
    index: number | undefined,
    limit = MAX_CELL_LENGTH,
  ): { value: string | null; usable: boolean } => {
    const value = index === undefined ? null : clean(cells[index]);
    if (value === null) return { value: null, usable: true };
    if (hasBadEncoding(value)) {
      fail(
        column,
        value,
        'bad_encoding',
        `${column} ${quoted(value)} contains characters that are not valid UTF-8 (shown as �): save the file as UTF-8 ("CSV UTF-8" in Excel) and upload it again`,
      );
      return { value, usable: false };
    }
    // UTF-16 length bounds the character count from above: count characters only when it could matter.
    const length = value.length > limit ? [...value].length : value.length;
    if (length > limit) {
      fail(
        column,
        value,
        'too_long',
        `${column} ${quoted(value)} is ${length} characters long: the limit is ${limit}`,
      );
      return { value, usable: false };
    }
    return { value, usable: true };
  };

  const values = {} as Record<HrField, string | null>;
  const usable = {} as Record<HrField, boolean>;
  for (const field of HR_FIELDS) {
    const cell = readCell(columnOf(field), resolved.index[field]);
    values[field] = cell.usable ? cell.value : null;
    usable[field] = cell.usable;
  }

  // Required fields.
  if (values.employee_id === null && usable.employee_id) {
    fail(
      columnOf('employee_id'),
      null,
      'missing_employee_id',
      `${columnOf('employee_id')} is empty: every row needs the person's employee ID`,
    );
  }
  for (const [field, what] of [
    ['first_name', 'a first name'],
    ['last_name', 'a last name'],
  ] as const) {
    if (values[field] === null && usable[field]) {
      fail(
        columnOf(field),
        null,
        'missing_required',
        `${columnOf(field)} is empty: every person needs ${what}`,
      );
    }
  }

  // Dates.
  const dateField = (field: 'birth_date' | 'hire_date'): string | null => {
    const value = values[field];
    if (value === null) return null;
    const date = parseIsoDate(value);
    if (date === null) {
      fail(
        columnOf(field),
        value,
        'bad_date',
        `${columnOf(field)} ${quoted(value)} is not a date: use YYYY-MM-DD (ISO 8601)`,
      );
    }
    return date;
  };
  const birthDate = dateField('birth_date');
  if (birthDate !== null && birthDate > opts.now.toISOString().slice(0, 10)) {
    fail(
      columnOf('birth_date'),
      birthDate,
      'bad_date',
      `${columnOf('birth_date')} ${quoted(birthDate)} is in the future: check the date (YYYY-MM-DD)`,
    );
  }
  const hireDate = dateField('hire_date');

  let terminationDate: string | null = null;
  const termination = values.termination_date;
  if (termination !== null) {
    const column = columnOf('termination_date');
    const date = parseIsoDate(termination);
    const instant = date === null ? parseIsoInstant(termination) : null;
    if (date !== null) terminationDate = date;
    else if (instant?.ok === true) terminationDate = instant.instant;
    else if (instant?.ok === false && instant.reason === 'no_offset') {
      fail(
        column,
        termination,
        'bad_datetime',
        `${column} ${quoted(termination)} has a time but no time zone, so the moment is ambiguous: add Z or an offset such as +01:00 (2026-12-31T17:00:00+01:00), or give only the date`,
      );
    } else if (instant?.ok === false) {
      fail(
        column,
        termination,
        'bad_datetime',
        `${column} ${quoted(termination)} is not a valid date and time: use YYYY-MM-DDTHH:MM:SS with Z or an offset such as +01:00, or give only the date`,
      );
    } else {
      fail(
        column,
        termination,
        'bad_date',
        `${column} ${quoted(termination)} is not a date: use YYYY-MM-DD (ISO 8601), or a date and time with an offset such as 2026-12-31T17:00:00+01:00`,
      );
    }
  }
  if (terminationDate !== null && hireDate !== null && terminationDate.slice(0, 10) < hireDate) {
    fail(
      columnOf('termination_date'),
      termination,
      'termination_before_hire',
      `${columnOf('termination_date')} ${quoted(termination ?? '')} is before ${columnOf('hire_date')} ${quoted(hireDate)}: a person cannot leave before they start`,
    );
  }

  // Contact data.
  let personalEmail: string | null = null;
  if (values.personal_email !== null) {
    const email = values.personal_email.toLowerCase();
    if (EMAIL_RE.test(email) && !/(^\.|\.\.|\.@)/.test(email)) personalEmail = email;
    else {
      fail(
        columnOf('personal_email'),
        values.personal_email,
        'bad_email',
        `${columnOf('personal_email')} ${quoted(values.personal_email)} is not an email address: use the form name@example.com`,
      );
    }
  }
  let mobilePhone: string | null = null;
  if (values.mobile_phone !== null) {
    mobilePhone = normalisePhone(values.mobile_phone);
    if (mobilePhone === null) {
      fail(
        columnOf('mobile_phone'),
        values.mobile_phone,
        'bad_phone',
        `${columnOf('mobile_phone')} ${quoted(values.mobile_phone)} is not a phone number: use 7 to 15 digits, best with + and the country code (e.g. +49 30 1234567)`,
      );
    }
  }

  let timeZone: string | null = null;
  if (values.time_zone !== null) {
    timeZone = normaliseTimeZone(values.time_zone);
    if (timeZone === null) {
      fail(
        columnOf('time_zone'),
        values.time_zone,
        'bad_time_zone',
        `${columnOf('time_zone')} ${quoted(values.time_zone)} is not a known time zone: use an IANA name such as Europe/Berlin or America/New_York`,
      );
    }
  }

  let workerType: WorkerType = 'employee';
  if (values.worker_type !== null) {
    const known = WORKER_TYPE_WORDS[values.worker_type.toLowerCase()];
    if (known === undefined) {
      fail(
        columnOf('worker_type'),
        values.worker_type,
        'bad_worker_type',
        `${columnOf('worker_type')} ${quoted(values.worker_type)} is not a worker type: use employee, contractor, intern or partner`,
      );
    } else workerType = known;
  }

  let status: PersonStatus | null = null;
  if (values.status !== null) {
    const known = STATUS_WORDS[values.status.toLowerCase().replace(/[\s-]+/g, '_')];
    if (known === undefined) {
      fail(
        columnOf('status'),
        values.status,
        'bad_status',
        `${columnOf('status')} ${quoted(values.status)} is not a status: use active, prehire, on_leave or terminated`,
      );
    } else status = known;
  }

  // Free-form attributes.
  const attributes: Record<string, string> = {};
  for (const { name, index } of resolved.attributes) {
    const cell = readCell(name, index, name.startsWith('scim.') ? MAX_SCIM_VALUE_LENGTH : MAX_CELL_LENGTH);
    if (cell.usable && cell.value !== null) attributes[name] = cell.value;
  }

  if (errors.length > 0) return { record: null, errors };
  return {
    record: {
      employeeId: values.employee_id ?? '',
      firstName: values.first_name ?? '',
      lastName: values.last_name ?? '',
      preferredName: values.preferred_name,
      personalEmail,
      mobilePhone,
      birthDate,
      department: values.department,
      title: values.title,
      costCenter: values.cost_center,
      location: values.location,
      timeZone,
      managerId: values.manager_id,
      workerType,
      status,
      hireDate,
      terminationDate,
      attributes,
    },
    errors,
  };
}

/**
 * A stable hex SHA-256 of every HR field of a record (attributes sorted by name). Only HR fields count, so a
 * StoredPerson hashes like the HrRecord it was stored from.
 */
export function hrHash(record: HrRecord): string {
  const fields = HR_FIELDS.map((field) => record[FIELD_KEYS[field]] ?? null);
  const attributes = Object.keys(record.attributes)
    .sort()
    .map((name) => [name, record.attributes[name]]);
  return hash('sha256', JSON.stringify(['hr1', fields, attributes]), 'hex');
}

function listRows(rows: number[]): string {
  if (rows.length <= 1) return rows.join('');
  return `${rows.slice(0, -1).join(', ')} and ${rows[rows.length - 1]}`;
}

export interface FileLevelResult {
  errors: RowError[];
  /** Rows that must not be imported (they have a file-level error). */
  rejectRows: Set<number>;
}

/**
 * The rules that need the whole file, over the rows that passed `validateRow`:
 * - an employee id on several rows: every occurrence is an error (`duplicate_in_file`) and all are rejected;
 * - a manager id equal to the row's own id (`self_manager`);
 * - a manager id that is neither on a valid row of this file nor already known (`unknown_manager`). A manager
 *   whose own row is rejected does not count as valid, so the rejection cascades down the reporting line.
 *
 * Ids compare exactly (case-sensitive; records are already trimmed). `resolved` only supplies the column names as
 * written in the file.
 */
export function checkFileLevel(
  rows: { row: number; record: Pick<HrRecord, 'employeeId' | 'managerId'> }[],
  knownEmployeeIds: (id: string) => boolean,
  resolved?: Pick<ResolvedHeader, 'header' | 'index'>,
): FileLevelResult {
  const columnOf = (field: HrField): string => {
    const i = resolved?.index[field];
    return i === undefined ? field : (resolved?.header[i] ?? field);
  };
  const idColumn = columnOf('employee_id');
  const managerColumn = columnOf('manager_id');
  const errors: RowError[] = [];
  const rejectRows = new Set<number>();

  const byId = new Map<string, number[]>();
  for (const { row, record } of rows) {
    const list = byId.get(record.employeeId);
    if (list === undefined) byId.set(record.employeeId, [row]);
    else list.push(row);
  }
  for (const [id, list] of byId) {
    if (list.length < 2) continue;
    const sorted = [...list].sort((a, b) => a - b);
    for (const row of sorted) {
      rejectRows.add(row);
      errors.push({
        row,
        column: idColumn,
        value: id,
        code: 'duplicate_in_file',
        message: `${idColumn} ${id} appears on rows ${listRows(sorted)}: fix the file so each person appears once`,
      });
    }
  }

  for (const { row, record } of rows) {
    if (record.managerId !== null && record.managerId === record.employeeId && !rejectRows.has(row)) {
      rejectRows.add(row);
      errors.push({
        row,
        column: managerColumn,
        value: record.managerId,
        code: 'self_manager',
        message: `${managerColumn} ${record.managerId} is the person's own ${idColumn}: a person cannot be their own manager (leave it empty instead)`,
      });
    }
  }

  const knownCache = new Map<string, boolean>();
  const known = (id: string): boolean => {
    let hit = knownCache.get(id);
    if (hit === undefined) {
      hit = knownEmployeeIds(id);
      knownCache.set(id, hit);
    }
    return hit;
  };
  // Rejecting a manager's row can strand the people who report to them: repeat until nothing changes.
  for (let changed = true; changed;) {
    changed = false;
    for (const { row, record } of rows) {
      const managerId = record.managerId;
      if (managerId === null || rejectRows.has(row)) continue;
      const inFile = byId.get(managerId);
      if (inFile?.some((r) => !rejectRows.has(r)) === true || known(managerId)) continue;
      rejectRows.add(row);
      changed = true;
      errors.push({
        row,
        column: managerColumn,
        value: managerId,
        code: 'unknown_manager',
        message:
          inFile === undefined
            ? `${managerColumn} ${managerId} is not a known employee: nobody with that ${idColumn} is in this file or already imported`
            : `${managerColumn} ${managerId} cannot be used: their row (row ${listRows(inFile)}) has errors and they are not imported yet, so fix that row first`,
      });
    }
  }

  errors.sort((a, b) => a.row - b.row);
  return { errors, rejectRows };
}
