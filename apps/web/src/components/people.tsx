/**
 * What the people and HR screens share: the API's shapes (apps/server/routes/people.ts and hr.ts), labels for
 * statuses, worker types, event types and HR fields, dates that are calendar dates or instants in a person's zone,
 * and a compact "field: from → to" list of changes.
 */
import { Badge, Text, VisuallyHidden } from '@mantine/core';

export type PersonStatus = 'prehire' | 'active' | 'on_leave' | 'terminated';
export type WorkerType = 'employee' | 'contractor' | 'intern' | 'partner';

export interface FieldChange {
  from: string | null;
  to: string | null;
}
export type Changes = Record<string, FieldChange>;

export interface PersonView {
  id: string;
  sourceId: string;
  employeeId: string;
  firstName: string;
  lastName: string;
  preferredName: string | null;
  displayName: string;
  username: string | null;
  workEmail: string | null;
  department: string | null;
  title: string | null;
  costCenter: string | null;
  location: string | null;
  timeZone: string | null;
  managerEmployeeId: string | null;
  workerType: WorkerType;
  status: PersonStatus;
  hireDate: string | null;
  terminationDate: string | null;
  terminationAt: string | null;
  attributes: Record<string, string>;
  /** Null when the viewer may not see personal data (people:personal). */
  personal: { personalEmail: string | null; mobilePhone: string | null; birthDate: string | null } | null;
  mergedInto: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface PeoplePage {
  items: PersonView[];
  nextCursor: string | null;
  total: number;
  /** The total is a lower bound (the server stops counting at 10,000). */
  totalCapped: boolean;
}

export interface LifecycleEvent {
  id: string;
  personId: string;
  type: string;
  changes: Changes | null;
  effectiveAt: string;
  state: 'scheduled' | 'pending' | 'done' | 'cancelled';
  importId: string | null;
  createdAt: string;
  doneAt: string | null;
}

export interface PersonDetail {
  person: PersonView;
  manager: { id: string; displayName: string; employeeId: string } | null;
  mergedFrom: { id: string; employeeId: string }[];
  events: LifecycleEvent[];
}

export interface Duplicate {
  id: string;
  score: number;
  reasons: string[];
  state: 'open' | 'merged' | 'dismissed';
  createdAt: string;
  a: PersonView;
  b: PersonView;
}

export interface RowError {
  row: number;
  column: string;
  value: string | null;
  code: string;
  message: string;
}

export interface DetectedEvent {
  type: string;
  employeeId: string;
  changes?: Changes;
  /** Absent: takes effect when the import is applied. */
  effectiveAt?: string;
}

export interface ApplyResult {
  created: number;
  updated: number;
  events: number;
  scheduled: number;
  duplicatesFlagged: number;
}

export type ImportState = 'previewed' | 'held' | 'applied' | 'rejected' | 'failed';

export interface ImportReport {
  importId: string | null;
  source: { name: string; created: boolean };
  state: ImportState | 'dry_run';
  rows: number;
  valid: number;
  unchanged: number;
  errors: RowError[];
  events: DetectedEvent[];
  counts: Record<string, number>;
  heldReasons: string[];
  applied: ApplyResult | null;
}

/** hr_imports.summary: what the import found (events and errors capped), and the apply result once applied. */
export interface ImportSummary {
  rows?: number;
  valid?: number;
  unchanged?: number;
  errors?: number;
  counts?: Record<string, number>;
  heldReasons?: string[];
  events?: DetectedEvent[];
  eventsTruncated?: boolean;
  applied?: ApplyResult;
}

export interface ImportView {
  id: string;
  source: string;
  origin: string;
  fileName: string | null;
  sha256: string | null;
  rows: number;
  state: ImportState;
  summary: ImportSummary;
  heldReason: string | null;
  createdBy: string;
  createdAt: string;
  decidedBy: string | null;
  appliedAt: string | null;
}

export interface HrSource {
  id: string;
  name: string;
  fullExport: boolean;
  allOrNothing: boolean;
  brakeRatio: number;
  brakeMinCount: number;
  leadTimeDays: number;
  defaultTimeZone: string;
}

// ---------------------------------------------------------------------------------------------------------------

export const STATUS_LABELS: Record<PersonStatus, string> = {
  prehire: 'Pre-hire',
  active: 'Active',
  on_leave: 'On leave',
  terminated: 'Terminated',
};
const STATUS_COLORS: Record<PersonStatus, string> = {
  prehire: 'blue',
  active: 'teal',
  on_leave: 'yellow',
  terminated: 'gray',
};

export const WORKER_TYPE_LABELS: Record<WorkerType, string> = {
  employee: 'Employee',
  contractor: 'Contractor',
  intern: 'Intern',
  partner: 'Partner',
};

export function StatusBadge({ status }: { status: PersonStatus }) {
  return (
    <Badge color={STATUS_COLORS[status] ?? 'gray'} variant="light">
      {STATUS_LABELS[status] ?? status}
    </Badge>
  );
}

export const EVENT_TYPE_LABELS: Record<string, string> = {
  joiner: 'Joiner',
  mover: 'Mover',
  leaver: 'Leaver',
  rehire: 'Rehire',
  leave_start: 'Leave starts',
  leave_end: 'Back from leave',
  conversion: 'Worker type change',
  name_change: 'Name change',
  attribute_change: 'Other change',
  start: 'Start day',
};

/** Plural, for counts: "3 joiners". */
const EVENT_TYPE_PLURALS: Record<string, [string, string]> = {
  joiner: ['joiner', 'joiners'],
  mover: ['mover', 'movers'],
  leaver: ['leaver', 'leavers'],
  rehire: ['rehire', 'rehires'],
  leave_start: ['leave start', 'leave starts'],
  leave_end: ['return from leave', 'returns from leave'],
  conversion: ['worker type change', 'worker type changes'],
  name_change: ['name change', 'name changes'],
  attribute_change: ['other change', 'other changes'],
  start: ['start day', 'start days'],
};

export function eventTypeLabel(type: string): string {
  return EVENT_TYPE_LABELS[type] ?? type.replace(/_/g, ' ');
}

export function eventCount(type: string, n: number): string {
  const [one, many] = EVENT_TYPE_PLURALS[type] ?? [type, type];
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

const EVENT_COLORS: Record<string, string> = {
  joiner: 'teal',
  rehire: 'teal',
  start: 'teal',
  mover: 'blue',
  leaver: 'red',
  leave_start: 'yellow',
  leave_end: 'yellow',
  conversion: 'grape',
  name_change: 'indigo',
  attribute_change: 'gray',
};

export function EventTypeBadge({ type }: { type: string }) {
  return (
    <Badge color={EVENT_COLORS[type] ?? 'gray'} variant="light" tt="none">
      {eventTypeLabel(type)}
    </Badge>
  );
}

export const FIELD_LABELS: Record<string, string> = {
  employee_id: 'Employee ID',
  first_name: 'First name',
  last_name: 'Last name',
  preferred_name: 'Preferred name',
  personal_email: 'Personal email',
  mobile_phone: 'Mobile phone',
  birth_date: 'Birth date',
  department: 'Department',
  title: 'Title',
  cost_center: 'Cost center',
  location: 'Location',
  time_zone: 'Time zone',
  manager_id: 'Manager',
  worker_type: 'Worker type',
  status: 'Status',
  hire_date: 'Start date',
  termination_date: 'Termination',
  username: 'Username',
  workEmail: 'Work email',
  displayName: 'Display name',
  mergedInto: 'Merged into',
  mergedFrom: 'Merged from',
  employeeId: 'Employee ID',
};

export const PERSONAL_FIELDS = new Set(['personal_email', 'mobile_phone', 'birth_date']);

export function fieldLabel(field: string): string {
  if (field.startsWith('attributes.')) return `${field.slice('attributes.'.length)} (attribute)`;
  return FIELD_LABELS[field] ?? field.replace(/_/g, ' ');
}

// ---------------------------------------------------------------------------------------------------------------

const calendar = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });

/** "2024-01-15" → "15 Jan 2024": a calendar date, the same day wherever the reader is. */
export function formatCalendarDate(date: string | null | undefined, empty = '—'): string {
  if (!date) return empty;
  const d = new Date(`${date.slice(0, 10)}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? date : calendar.format(d);
}

/** An instant in a given IANA zone ("1 Mar 2027, 00:00"); null when the zone is unknown to the browser. */
export function formatInZone(iso: string, timeZone: string): string | null {
  try {
    return new Intl.DateTimeFormat(undefined, {
      dateStyle: 'medium',
      timeStyle: 'short',
      hourCycle: 'h23',
      timeZone,
    }).format(new Date(iso));
  } catch {
    return null;
  }
}

/** "1 Mar 2027, 05:00 UTC". */
export function formatUtc(iso: string): string {
  return `${formatInZone(iso, 'UTC') ?? iso} UTC`;
}

/** "Mixed" values from the audit trail or changes: strings as they are, the rest as JSON. */
function show(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

function Value({ value, hidden }: { value: unknown; hidden?: boolean }) {
  if (hidden || value === '[hidden]')
    return (
      <em className="change-muted" title="You don't have permission to see personal data">
        hidden
      </em>
    );
  if (value === '[personal]')
    return (
      <em
        className="change-muted"
        title="Personal values are kept on the person's record and in the audit trail only"
      >
        personal value
      </em>
    );
  if (value === '[erased]') return <em className="change-muted">erased</em>;
  return <span className="change-value">{show(value)}</span>;
}

const FIELD_ORDER = Object.keys(FIELD_LABELS);
function fieldOrder(field: string): number {
  const i = FIELD_ORDER.indexOf(field);
  return i === -1 ? FIELD_ORDER.length : i;
}

const DATE_FIELDS = new Set(['hire_date', 'birth_date']);

/** Normalised HR values as people read them: dates, worker types and statuses spelled out. */
function pretty(field: string, v: unknown): unknown {
  if (typeof v !== 'string' || v.startsWith('[')) return v;
  if (DATE_FIELDS.has(field) || (field === 'termination_date' && /^\d{4}-\d{2}-\d{2}$/.test(v)))
    return formatCalendarDate(v);
  if (field === 'worker_type') return WORKER_TYPE_LABELS[v as WorkerType] ?? v;
  if (field === 'status') return STATUS_LABELS[v as PersonStatus] ?? v;
  return v;
}

/**
 * "Department: Sales → Engineering", one line per field. For something new (a joiner, a created person) only the
 * values are shown. `hidePersonal` masks personal fields for readers without people:personal.
 */
export function ChangeList({
  changes,
  created = false,
  hidePersonal = false,
  empty = 'No field changes',
}: {
  changes: Record<string, { from: unknown; to: unknown }> | null | undefined;
  created?: boolean;
  hidePersonal?: boolean;
  empty?: string;
}) {
  const entries = Object.entries(changes ?? {})
    // For something new, empty fields and the employee ID (shown beside it) say nothing.
    .filter(
      ([f, c]) => !(created && (f === 'employee_id' || c.to === null || c.to === undefined || c.to === '')),
    )
    .sort(([a], [b]) => fieldOrder(a) - fieldOrder(b) || a.localeCompare(b));
  if (entries.length === 0)
    return (
      <Text size="sm" c="dimmed">
        {empty}
      </Text>
    );
  return (
    <ul className="change-list">
      {entries.map(([field, c]) => {
        const hidden = hidePersonal && PERSONAL_FIELDS.has(field);
        return (
          <li key={field}>
            <span className="change-field">{fieldLabel(field)}:</span>{' '}
            {created ? (
              <Value value={pretty(field, c.to)} hidden={hidden} />
            ) : (
              <>
                <Value value={pretty(field, c.from)} hidden={hidden} />
                <span aria-hidden> → </span>
                <VisuallyHidden> changed to </VisuallyHidden>
                <Value value={pretty(field, c.to)} hidden={hidden} />
              </>
            )}
          </li>
        );
      })}
    </ul>
  );
}

/** {a: {b: 1}} → "a.b" → 1 (arrays and scalars are leaves). */
function flatten(value: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0 && prefix) out.set(prefix, null);
    for (const k of keys) flatten((value as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.set(prefix, value);
  }
  return out;
}

/** The fields an audit event changed, as {field: {from, to}} (unchanged fields left out). */
export function auditChanges(
  before: unknown,
  after: unknown,
): Record<string, { from: unknown; to: unknown }> {
  const b = flatten(before);
  const a = flatten(after);
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const f of new Set([...b.keys(), ...a.keys()])) {
    const from = b.get(f) ?? null;
    const to = a.get(f) ?? null;
    if (JSON.stringify(from) !== JSON.stringify(to)) out[f] = { from, to };
  }
  return out;
}

/** "operator:Ada Lovelace" (how imports record who ran them) → "Ada Lovelace". */
export function actorDisplay(actor: string | null): string {
  if (!actor) return '—';
  const i = actor.indexOf(':');
  return i > 0 ? actor.slice(i + 1) : actor;
}
