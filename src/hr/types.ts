/**
 * The shared vocabulary of HR imports: what a normalised HR record is, what a stored person looks like to the
 * event detector, and what an event or a row error is. Pure types and constants; no I/O.
 */

export const WORKER_TYPES = ['employee', 'contractor', 'intern', 'partner'] as const;
export type WorkerType = (typeof WORKER_TYPES)[number];

/** The status Gatehouse keeps. `prehire` is derived (hire date in the future); HR may also send it. */
export const PERSON_STATUSES = ['prehire', 'active', 'on_leave', 'terminated'] as const;
export type PersonStatus = (typeof PERSON_STATUSES)[number];

/** Events reported by an import (and stored). */
export const EVENT_TYPES = [
  'joiner',
  'mover',
  'leaver',
  'rehire',
  'leave_start',
  'leave_end',
  'conversion',
  'name_change',
  'attribute_change',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The HR fields of the default mapping, in the order of the issue. Header names match case-insensitively. */
export const HR_FIELDS = [
  'employee_id',
  'first_name',
  'last_name',
  'preferred_name',
  'personal_email',
  'mobile_phone',
  'birth_date',
  'department',
  'title',
  'cost_center',
  'location',
  'time_zone',
  'manager_id',
  'worker_type',
  'status',
  'hire_date',
  'termination_date',
] as const;
export type HrField = (typeof HR_FIELDS)[number];

/** Fields whose change makes a mover. */
export const MOVER_FIELDS = ['department', 'title', 'manager_id', 'location', 'cost_center'] as const;
/** Fields whose change makes a name change. */
export const NAME_FIELDS = ['first_name', 'last_name', 'preferred_name'] as const;
/** Personal data: kept in person_personal and wrapped in personal() in the audit trail. */
export const PERSONAL_FIELDS = ['personal_email', 'mobile_phone', 'birth_date'] as const;

/**
 * One HR record after validation and normalisation. Strings are trimmed; empty cells are null. Emails are
 * lower-cased; mobile numbers keep a leading + and digits only; dates are `YYYY-MM-DD`; a termination is either a
 * date (`YYYY-MM-DD`, meaning end of that day in the person's zone) or an instant (`…Z` ISO string, normalised
 * from any offset).
 */
export interface HrRecord {
  employeeId: string;
  firstName: string;
  lastName: string;
  preferredName: string | null;
  personalEmail: string | null;
  mobilePhone: string | null;
  birthDate: string | null;
  department: string | null;
  title: string | null;
  costCenter: string | null;
  location: string | null;
  /** IANA zone name, validated. Null means "use the source's default zone". */
  timeZone: string | null;
  /** The manager's employee id (same source). */
  managerId: string | null;
  workerType: WorkerType;
  /** What HR says. Null means "not given": active, or prehire when the hire date is in the future. */
  status: PersonStatus | null;
  hireDate: string | null;
  terminationDate: string | null;
  /** Columns outside the mapping, by header name as written in the file (trimmed), non-empty values only. */
  attributes: Record<string, string>;
}

/** A person as the store holds them: the last HR record plus what Gatehouse derived from it. */
export interface StoredPerson extends HrRecord {
  id: string;
  /** The status Gatehouse keeps now (e.g. `prehire` until the start day, `active` until a future termination). */
  currentStatus: PersonStatus;
}

/** A row problem: names the row (1-based data row number as the file shows it: header is row 1), column, value. */
export interface RowError {
  row: number;
  column: string;
  value: string | null;
  code: RowErrorCode;
  message: string;
}

export const ROW_ERROR_CODES = [
  'missing_employee_id',
  'missing_required',
  'bad_date',
  'bad_datetime',
  'termination_before_hire',
  'bad_email',
  'bad_phone',
  'bad_time_zone',
  'bad_worker_type',
  'bad_status',
  'duplicate_in_file',
  'unknown_manager',
  'self_manager',
  'too_long',
  'bad_encoding',
  'bad_row',
] as const;
export type RowErrorCode = (typeof ROW_ERROR_CODES)[number];

/** One field that changed: `from` is null for a joiner. Values are normalised strings (or null). */
export interface FieldChange {
  from: string | null;
  to: string | null;
}

export interface DetectedEvent {
  type: EventType;
  employeeId: string;
  /** Field → change, keyed by HR field name (`department`, …) or `attributes.<name>` for free-form ones. */
  changes?: Record<string, FieldChange>;
  /** When it takes effect (ISO instant). Absent means "now". */
  effectiveAt?: string;
}

export interface DetectOptions {
  now: Date;
  /** How many days before the hire date a future joiner takes effect (accounts created disabled). */
  leadTimeDays: number;
  /** Zone for people without one. */
  defaultTimeZone: string;
}
