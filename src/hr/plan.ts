import type pg from 'pg';
import { PERSON_SELECT, loadPeople, storedOf, type PersonRow } from '../identities/people.ts';
import { detectEvents } from './detect.ts';
import { derivedStatus, terminationInstant } from './effective.ts';
import type { HrSource } from './sources.ts';
import {
  HR_FIELDS,
  type DetectedEvent,
  type HrField,
  type HrRecord,
  type PersonStatus,
  type RowError,
  type StoredPerson,
} from './types.ts';
import { FIELD_KEYS } from './mapping.ts';
import { checkFileLevel, hrHash } from './validate.ts';

/** A valid row of the input: its number in the file, the normalised record and its hash. */
/** The columns a file has: a field or attribute whose column is absent is "not provided", not "empty". */
export interface PresentColumns {
  fields: Set<HrField>;
  attributes: Set<string>;
}

export interface InputRow {
  row: number;
  record: HrRecord;
  hash: string;
  /** Hash of the raw file row (with its header and mapping); absent for records that come from no file. */
  rowHash?: string;
}

/** A file row identical to the one its person was last stored from: not validated (see `readImportFile`). */
export interface SkippedRow {
  row: number;
  employeeId: string;
  rowHash: string;
  cells: string[];
}

/** What an import would do to one person. */
export interface PersonChange {
  row: number | null;
  /** Existing person (null for a joiner). */
  before: StoredPerson | null;
  /** The record to store; null when a full export no longer lists the person (a leaver). */
  record: HrRecord | null;
  hash: string | null;
  /** Hash of the file row the record came from (null: not from a file, or a leaver missing from it). */
  rowHash: string | null;
  /** Found as a terminated person with a new employee id (a rehire by strong match). */
  strongMatch: boolean;
  status: PersonStatus;
  terminationAt: Date | null;
  events: DetectedEvent[];
}

export interface ImportPlan {
  rows: number;
  valid: number;
  unchanged: number;
  errors: RowError[];
  changes: PersonChange[];
  /** Unchanged people whose stored row hash is out of date. */
  rowHashRefresh: { id: string; rowHash: string }[];
  events: DetectedEvent[];
  /** Known people before this import: the base of the brake ratios. */
  activeBefore: number;
  terminations: number;
  missing: number;
  heldReasons: string[];
}

type Q = Pick<pg.PoolClient, 'query'>;

const STRONG_MATCH_SIMILARITY = 0.6;

/** A stored person of a source, as an import compares it. */
export interface KnownPerson {
  id: string;
  hash: string;
  status: PersonStatus;
  /** Hash of the file row the person was last stored from (null after a change through the API). */
  rowHash: string | null;
}

/** Every person of a source by employee id: the one scan a re-import costs (rows as arrays, no object per row). */
export async function loadKnown(db: Q, sourceId: string): Promise<Map<string, KnownPerson>> {
  const res = await db.query<[string, string, string, PersonStatus, string | null]>({
    text: 'select id, employee_id, hr_hash, status, row_hash from people where source_id = $1 and merged_into is null',
    values: [sourceId],
    rowMode: 'array',
  });
  const known = new Map<string, KnownPerson>();
  for (const [id, employeeId, hash, status, rowHash] of res.rows)
    known.set(employeeId, { id, hash, status, rowHash });
  return known;
}

/**
 * `loadKnown` for a few employee ids (a push of one person: the person and their manager), so that a single change
 * costs index lookups, not a scan of the whole source. Not for files: the brake counts the source's active people.
 */
export async function loadKnownFor(
  db: Q,
  sourceId: string,
  employeeIds: string[],
): Promise<Map<string, KnownPerson>> {
  const res = await db.query<[string, string, string, PersonStatus, string | null]>({
    name: 'hr_known_for',
    text: `select id, employee_id, hr_hash, status, row_hash from people
            where source_id = $1 and employee_id = any($2::text[]) and merged_into is null`,
    values: [sourceId, employeeIds],
    rowMode: 'array',
  });
  const known = new Map<string, KnownPerson>();
  for (const [id, employeeId, hash, status, rowHash] of res.rows)
    known.set(employeeId, { id, hash, status, rowHash });
  return known;
}

/**
 * Compare the valid rows with the store and work out the events: the set-based part of an import. Unchanged rows
 * are dropped by hash before anything else is loaded, so a re-import costs one indexed scan of (employee id, hash).
 */
export async function planImport(
  db: Q,
  source: HrSource,
  input: {
    rows: InputRow[];
    errors: RowError[];
    rowCount: number;
    headerFingerprint: string | null;
    /** Absent (or null): every field is provided. */
    present?: PresentColumns | null;
    /** Rows skipped as identical to what is stored; re-validated here if their person changed meanwhile. */
    skipped?: SkippedRow[];
    revalidate?: (row: SkippedRow) => { input: InputRow | null; errors: RowError[] };
  },
  now: Date,
  /** The source's people as `loadKnown` returns them, when the caller has them already (same transaction). */
  known?: Map<string, KnownPerson>,
): Promise<ImportPlan> {
  known ??= await loadKnown(db, source.id);
  let activeBefore = 0;
  for (const k of known.values()) if (k.status !== 'terminated') activeBefore += 1;

  // Rows skipped as unchanged: still unchanged now that the source is locked, or validated after all.
  const inputRows = [...input.rows];
  const inputErrors = [...input.errors];
  const unchangedRows: { row: number; record: { employeeId: string; managerId: null } }[] = [];
  for (const s of input.skipped ?? []) {
    if (known.get(s.employeeId)?.rowHash === s.rowHash) {
      unchangedRows.push({ row: s.row, record: { employeeId: s.employeeId, managerId: null } });
      continue;
    }
    const v = input.revalidate!(s);
    if (v.input) inputRows.push(v.input);
    inputErrors.push(...v.errors);
  }

  // File-level rules: duplicates in the file, managers that exist nowhere. An unchanged row's manager was checked
  // when it was stored (and a manager, once stored, stays known), so only its employee id takes part.
  const fileLevel = checkFileLevel([...inputRows, ...unchangedRows], (id) => known.has(id));
  const errors = [...inputErrors, ...fileLevel.errors].sort((a, b) => a.row - b.row);
  const rows = inputRows.filter((r) => !fileLevel.rejectRows.has(r.row));
  const unchangedValid = unchangedRows.filter((r) => !fileLevel.rejectRows.has(r.row)).length;

  let changed = rows.filter((r) => known.get(r.record.employeeId)?.hash !== r.hash);
  const existingIds = changed
    .filter((r) => known.has(r.record.employeeId))
    .map((r) => known.get(r.record.employeeId)!.id);
  const befores = new Map((await loadPeople(db, existingIds)).map((p) => [p.employeeId, p]));
  // A file without some columns keeps what the store has for them: merge, re-hash, and drop what is unchanged.
  const present = input.present;
  if (present)
    changed = changed.flatMap((r) => {
      const before = befores.get(r.record.employeeId);
      if (!before) return [r];
      const record = withStoredValues(r.record, before, present);
      const hash = record === r.record ? r.hash : hrHash(record);
      return known.get(record.employeeId)?.hash === hash
        ? []
        : [{ row: r.row, record, hash, ...(r.rowHash ? { rowHash: r.rowHash } : {}) }];
    });
  // Unchanged people whose file row is written differently (spacing, quoting) or who changed through the API: their
  // row hash is brought up to date, so that the next import of this file skips them.
  const changedRows = new Set(changed.map((r) => r.row));
  const rowHashRefresh: { id: string; rowHash: string }[] = [];
  for (const r of rows) {
    const k = known.get(r.record.employeeId);
    if (k && r.rowHash && !changedRows.has(r.row) && k.rowHash !== r.rowHash)
      rowHashRefresh.push({ id: k.id, rowHash: r.rowHash });
  }
  const newRows = changed.filter((r) => !known.has(r.record.employeeId));
  const strong = await strongMatches(db, newRows);

  const opts = { now, leadTimeDays: source.leadTimeDays, defaultTimeZone: source.defaultTimeZone };
  const changes: PersonChange[] = [];
  for (const r of changed) {
    const matched = strong.get(r.row);
    const before = befores.get(r.record.employeeId) ?? matched ?? null;
    const events = detectEvents(before, r.record, opts, matched ? { strong: true } : undefined);
    changes.push({
      row: r.row,
      before,
      record: r.record,
      hash: r.hash,
      rowHash: r.rowHash ?? null,
      strongMatch: matched !== undefined,
      status: derivedStatus(r.record, now, source.defaultTimeZone),
      terminationAt: terminationInstant(r.record, source.defaultTimeZone),
      events,
    });
  }

  // A full export lists everyone: whoever is missing has left.
  let missing = 0;
  if (source.fullExport) {
    const seen = new Set([...inputRows, ...unchangedRows].map((r) => r.record.employeeId));
    const gone = [...known.entries()].filter(([id, k]) => !seen.has(id) && k.status !== 'terminated');
    missing = gone.length;
    for (const before of await loadPeople(
      db,
      gone.map(([, k]) => k.id),
    )) {
      changes.push({
        row: null,
        before,
        record: null,
        hash: null,
        rowHash: null,
        strongMatch: false,
        status: 'terminated',
        terminationAt: now,
        events: [
          {
            type: 'leaver',
            employeeId: before.employeeId,
            changes: { status: { from: before.currentStatus, to: 'terminated' } },
          },
        ],
      });
    }
  }

  const events = changes.flatMap((c) => c.events);
  const terminations = changes.filter((c) => c.events.some((e) => e.type === 'leaver')).length;
  const heldReasons = brake(source, {
    activeBefore,
    terminations,
    missing,
    headerFingerprint: input.headerFingerprint,
  });
  return {
    rows: input.rowCount,
    valid: rows.length + unchangedValid,
    unchanged: rows.length - changed.length + unchangedValid,
    errors,
    changes,
    rowHashRefresh,
    events,
    activeBefore,
    terminations,
    missing,
    heldReasons,
  };
}

function pct(n: number, of: number): string {
  return `${Math.round((n / of) * 1000) / 10}%`;
}

/**
 * The record with the stored values for the fields and attributes whose columns the file does not have ("not
 * provided" is not "empty"). The same object when the file has every column the person has values for.
 */
export function withStoredValues(record: HrRecord, before: StoredPerson, present: PresentColumns): HrRecord {
  const missing = HR_FIELDS.filter((f) => !present.fields.has(f));
  const kept = Object.entries(before.attributes).filter(([k]) => !present.attributes.has(k));
  if (missing.length === 0 && kept.length === 0) return record;
  const merged: HrRecord = { ...record, attributes: { ...Object.fromEntries(kept), ...record.attributes } };
  const target = merged as unknown as Record<string, unknown>;
  for (const f of missing)
    target[FIELD_KEYS[f]] = (before as unknown as Record<string, unknown>)[FIELD_KEYS[f]];
  return merged;
}

/** The safety brake: reasons to hold an import for approval instead of applying it. */
export function brake(
  source: Pick<HrSource, 'brakeRatio' | 'brakeMinCount' | 'fullExport' | 'headerFingerprint'>,
  f: { activeBefore: number; terminations: number; missing: number; headerFingerprint: string | null },
): string[] {
  const reasons: string[] = [];
  const limit = source.brakeRatio * f.activeBefore;
  const fmt = (n: number) => n.toLocaleString('en-US');
  if (f.activeBefore > 0 && f.terminations > limit && f.terminations >= source.brakeMinCount) {
    reasons.push(
      `This file would terminate ${pct(f.terminations, f.activeBefore)} of active people (${fmt(f.terminations)} of ${fmt(f.activeBefore)}); the limit for this source is ${pct(source.brakeRatio, 1)}. It looks like a truncated or wrong file.`,
    );
  }
  if (source.fullExport && f.activeBefore > 0 && f.missing > limit && f.missing >= source.brakeMinCount) {
    reasons.push(
      `This full export is missing ${pct(f.missing, f.activeBefore)} of the people it listed before (${fmt(f.missing)} of ${fmt(f.activeBefore)}): it looks like a truncated export.`,
    );
  }
  if (source.headerFingerprint && f.headerFingerprint && source.headerFingerprint !== f.headerFingerprint) {
    reasons.push(
      'The columns of this file differ from the last file applied for this source: check that it is the right export before applying it.',
    );
  }
  return reasons;
}

/**
 * New employee ids that are really a terminated person coming back: same personal email, mobile or birth date,
 * and a similar name (pg_trgm similarity above 0.6).
 */
async function strongMatches(db: Q, rows: InputRow[]): Promise<Map<number, StoredPerson>> {
  const out = new Map<number, StoredPerson>();
  const candidates = rows.filter((r) => r.record.personalEmail || r.record.mobilePhone || r.record.birthDate);
  if (candidates.length === 0) return out;
  const any = await db.query<{ n: number }>(
    "select count(*)::int as n from people where status = 'terminated'",
  );
  if ((any.rows[0]?.n ?? 0) === 0) return out;
  const res = await db.query<PersonRow & { input_row: number }>(
    `with n as (
       select * from unnest($1::int[], $2::text[], $3::text[], $4::date[], $5::text[])
         as n(input_row, email, mobile, birth, name)
     )
     select distinct on (n.input_row) n.input_row, ${PERSON_SELECT}
     from n
     join person_personal pp on pp.personal_email = n.email or pp.mobile_phone = n.mobile or pp.birth_date = n.birth
     join people p on p.id = pp.person_id
     where p.status = 'terminated' and p.merged_into is null
       and similarity(lower(p.first_name || ' ' || p.last_name), n.name) > $6
     order by n.input_row, similarity(lower(p.first_name || ' ' || p.last_name), n.name) desc`,
    [
      candidates.map((r) => r.row),
      candidates.map((r) => r.record.personalEmail),
      candidates.map((r) => r.record.mobilePhone),
      candidates.map((r) => r.record.birthDate),
      candidates.map((r) => `${r.record.firstName} ${r.record.lastName}`.toLowerCase()),
      STRONG_MATCH_SIMILARITY,
    ],
  );
  const used = new Set<string>();
  for (const r of res.rows) {
    if (used.has(r.id)) continue; // one terminated person comes back once
    used.add(r.id);
    out.set(r.input_row, storedOf(r));
  }
  return out;
}
