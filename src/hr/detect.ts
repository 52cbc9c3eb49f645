/**
 * Lifecycle event detection: what happened to a person between the stored record and the new HR record. Pure and
 * deterministic (the clock comes in `opts.now`); events come out in EVENT_TYPES order.
 *
 * Each changed field is reported by exactly one event:
 * - lifecycle fields (status, hire_date, termination_date, and employee_id on a strong-match rehire) go to the
 *   joiner / rehire / leaver / leave_start / leave_end event that they cause;
 * - worker_type → conversion; first/last/preferred name → name_change; department, title, manager, location,
 *   cost centre → mover;
 * - everything else (personal data, time zone, attributes, and lifecycle fields no lifecycle event claimed, such as
 *   a removed termination date) → one attribute_change.
 */
import { derivedStatus, joinerInstant, terminationInstant } from './effective.ts';
import { FIELD_KEYS } from './mapping.ts';
import { EVENT_TYPES, HR_FIELDS, MOVER_FIELDS, NAME_FIELDS } from './types.ts';
import type {
  DetectOptions,
  DetectedEvent,
  EventType,
  FieldChange,
  HrField,
  HrRecord,
  StoredPerson,
} from './types.ts';

type Changes = Record<string, FieldChange>;

/** The fields that differ between two records (a field missing on one side counts as null): HR fields in HR_FIELDS order, then attributes by name. */
export function diffRecords(before: HrRecord | null, after: HrRecord): Changes {
  const changes: Changes = {};
  for (const field of HR_FIELDS) {
    const key = FIELD_KEYS[field];
    const a = before === null ? null : (before[key] ?? null);
    const b = after[key] ?? null;
    if (a !== b) changes[field] = { from: a, to: b };
  }
  const names = new Set(Object.keys(after.attributes));
  if (before !== null) for (const name of Object.keys(before.attributes)) names.add(name);
  for (const name of [...names].sort()) {
    const a = before === null ? null : (before.attributes[name] ?? null);
    const b = after.attributes[name] ?? null;
    if (a !== b) changes[`attributes.${name}`] = { from: a, to: b };
  }
  return changes;
}

function pick(changes: Changes, keys: readonly string[], claimed: Set<string>): Changes | undefined {
  const out: Changes = {};
  for (const key of keys) {
    const change = changes[key];
    if (change === undefined || claimed.has(key)) continue;
    out[key] = change;
    claimed.add(key);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function event(
  type: EventType,
  employeeId: string,
  changes: Changes | undefined,
  effectiveAt?: Date | null,
): DetectedEvent {
  const e: DetectedEvent = { type, employeeId };
  if (changes !== undefined) e.changes = changes;
  if (effectiveAt !== undefined && effectiveAt !== null) e.effectiveAt = effectiveAt.toISOString();
  return e;
}

const LIFECYCLE_FIELDS: readonly HrField[] = ['employee_id', 'status', 'hire_date', 'termination_date'];

/**
 * The events that turn `before` (null for a person not stored yet) into `after`.
 * `match.strong`: `before` is a terminated person found by personal data under another employee id (a rehire).
 */
export function detectEvents(
  before: StoredPerson | null,
  after: HrRecord,
  opts: DetectOptions,
  match?: { strong: boolean },
): DetectedEvent[] {
  const { now, leadTimeDays, defaultTimeZone: zone } = opts;
  const id = after.employeeId;
  const afterStatus = derivedStatus(after, now, zone);
  const startAt = (): Date | null => {
    const at = joinerInstant(after, leadTimeDays, zone);
    return at !== null && at.getTime() > now.getTime() ? at : null;
  };
  const events: DetectedEvent[] = [];

  if (before === null) {
    // Somebody who has already left is not worth creating.
    if (afterStatus === 'terminated') return [];
    events.push(event('joiner', id, diffRecords(null, after), startAt()));
    // A joiner with a known end (e.g. a contractor): schedule the leaver too.
    if (after.terminationDate !== null) {
      events.push(
        event(
          'leaver',
          id,
          { termination_date: { from: null, to: after.terminationDate } },
          terminationInstant(after, zone),
        ),
      );
    }
    return events;
  }

  const changes = diffRecords(before, after);
  if (Object.keys(changes).length === 0) return [];
  const claimed = new Set<string>();
  const wasTerminated = before.currentStatus === 'terminated';
  const isRehire = (wasTerminated || match?.strong === true) && afterStatus !== 'terminated';

  let rehire: DetectedEvent | null = null;
  let leaver: DetectedEvent | null = null;
  if (isRehire) {
    // The new termination date (if any) belongs to the leaver scheduled below; a cleared one to the rehire.
    const keys = LIFECYCLE_FIELDS.filter((k) => k !== 'termination_date' || after.terminationDate === null);
    rehire = event('rehire', id, pick(changes, keys, claimed), startAt());
    if (after.terminationDate !== null) {
      leaver = event(
        'leaver',
        id,
        pick(changes, ['termination_date'], claimed),
        terminationInstant(after, zone),
      );
    }
  } else if (!wasTerminated) {
    const newTermination = after.terminationDate !== null && after.terminationDate !== before.terminationDate;
    const newlyTerminated = after.status === 'terminated' && before.status !== 'terminated';
    if (newTermination || newlyTerminated) {
      leaver = event(
        'leaver',
        id,
        pick(changes, ['termination_date', 'status'], claimed),
        terminationInstant(after, zone),
      );
    }
  }

  let leaveStart: DetectedEvent | null = null;
  let leaveEnd: DetectedEvent | null = null;
  if (!isRehire && leaver === null) {
    const wasWorking = before.currentStatus === 'active' || before.currentStatus === 'prehire';
    const isWorking = afterStatus === 'active' || afterStatus === 'prehire';
    if (wasWorking && afterStatus === 'on_leave')
      leaveStart = event('leave_start', id, pick(changes, ['status'], claimed));
    if (before.currentStatus === 'on_leave' && isWorking)
      leaveEnd = event('leave_end', id, pick(changes, ['status'], claimed));
  }

  const conversion = pick(changes, ['worker_type'], claimed);
  const name = pick(changes, NAME_FIELDS, claimed);
  const mover = pick(changes, MOVER_FIELDS, claimed);
  const rest = pick(
    changes,
    Object.keys(changes).filter((k) => !claimed.has(k)),
    claimed,
  );

  const byType: Partial<Record<EventType, DetectedEvent>> = {
    rehire: rehire ?? undefined,
    leaver: leaver ?? undefined,
    leave_start: leaveStart ?? undefined,
    leave_end: leaveEnd ?? undefined,
    conversion: conversion === undefined ? undefined : event('conversion', id, conversion),
    name_change: name === undefined ? undefined : event('name_change', id, name),
    mover: mover === undefined ? undefined : event('mover', id, mover),
    attribute_change: rest === undefined ? undefined : event('attribute_change', id, rest),
  };
  for (const type of EVENT_TYPES) {
    const e = byType[type];
    if (e !== undefined) events.push(e);
  }
  return events;
}
