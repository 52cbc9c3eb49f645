import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical.ts';

/**
 * The hashed form of an audit event. Pure: `hashEvent(prev, event)` is all verification needs, so the chain can
 * be checked offline from an export. Personal values never appear here, only `{"$personal": ref}` placeholders.
 */
export const GENESIS_HASH = '0'.repeat(64);
export const CHAIN_VERSION = 1;

export interface HashedEvent {
  seq: number;
  id: string;
  occurredAt: string; // ISO 8601, millisecond precision, UTC
  actor: { type: string; id: string; name: string | null };
  action: string;
  subject: { type: string; id: string };
  before: unknown;
  after: unknown;
  reason: string | null;
  correlationId: string | null;
}

export function canonicalEvent(e: HashedEvent, prevHash: string): string {
  const s = canonicalJson({ v: CHAIN_VERSION, ...e, prevHash });
  if (s === undefined) throw new Error('audit event cannot be canonicalised');
  return s;
}

export function hashEvent(prevHash: string, e: HashedEvent): string {
  return createHash('sha256').update(prevHash).update(canonicalEvent(e, prevHash)).digest('hex');
}

function jsonString(s: string): string {
  if (!s.isWellFormed()) throw new Error('Lone surrogate is not allowed');
  return JSON.stringify(s);
}

/**
 * An event's canonical JSON (RFC 8785 key order) in three parts around the two values that only the chain's head
 * decides: `head` + `"prevHash"` + `mid` + seq + `tail`. Assembled around the canonical JSON of its `before`,
 * `after` and actor (which the writer stores too) instead of serialising the event again. The database links events
 * from these parts (`audit_append_chained`, migration 0016), the same way as `hashEventParts`.
 */
export interface CanonicalParts {
  head: string;
  mid: string;
  tail: string;
}

export function canonicalParts(
  e: Omit<HashedEvent, 'actor' | 'before' | 'after' | 'seq'>,
  json: { actor: string; before: string; after: string },
): CanonicalParts {
  return {
    head:
      `{"action":${jsonString(e.action)},"actor":${json.actor},"after":${json.after},"before":${json.before},` +
      `"correlationId":${e.correlationId === null ? 'null' : jsonString(e.correlationId)},"id":${jsonString(e.id)},` +
      `"occurredAt":${jsonString(e.occurredAt)},"prevHash":`,
    mid: `,"reason":${e.reason === null ? 'null' : jsonString(e.reason)},"seq":`,
    tail: `,"subject":{"id":${jsonString(e.subject.id)},"type":${jsonString(e.subject.type)}},"v":${CHAIN_VERSION}}`,
  };
}

/** `hashEvent` for a writer that already has the canonical JSON of the event's `before`, `after` and actor. */
export function hashEventParts(
  prevHash: string,
  e: Omit<HashedEvent, 'actor' | 'before' | 'after'>,
  json: { actor: string; before: string; after: string },
): string {
  const { head, mid, tail } = canonicalParts(e, json);
  return createHash('sha256')
    .update(prevHash)
    .update(head + jsonString(prevHash) + mid + canonicalJson(e.seq) + tail)
    .digest('hex');
}

/** Marks a value as personal data: stored apart from the chain so that it can be erased later. */
export class PersonalValue {
  readonly value: unknown;
  constructor(value: unknown) {
    this.value = value;
  }
}

export function personal(value: unknown): PersonalValue {
  return new PersonalValue(value);
}

export interface PersonalRef {
  $personal: string;
}

export function isPersonalRef(v: unknown): v is PersonalRef {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as PersonalRef).$personal === 'string' &&
    Object.keys(v).length === 1
  );
}

/**
 * Replace PersonalValue wrappers with references, collecting the values. Also normalises the value to what JSONB
 * will give back (Dates to ISO strings, undefined dropped), so the hash computed now matches the one recomputed
 * from the stored row.
 */
export function extractPersonal(
  value: unknown,
  newRef: () => string,
): { value: unknown; personal: { ref: string; value: unknown }[] } {
  const found: { ref: string; value: unknown }[] = [];
  const walk = (v: unknown): unknown => {
    if (v instanceof PersonalValue) {
      const ref = newRef();
      found.push({ ref, value: normalise(v.value) });
      return { $personal: ref };
    }
    if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : walk(x)));
    if (v instanceof Date) return v.toISOString();
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = walk(x);
      return out;
    }
    return v === undefined ? null : v;
  };
  return { value: walk(value), personal: found };
}

function normalise(v: unknown): unknown {
  return v === undefined ? null : JSON.parse(JSON.stringify(v));
}

/**
 * An event's personal values are stored together, in one row under one ref (`{"$values": [v0, v1, …]}`), and the
 * event's placeholders name their place in it: `{"$personal": "<ref>#<i>"}`. (Events written before this kept one
 * row per value, its placeholder the row's bare ref; both are read.) One row per event instead of one per value:
 * a bulk import writes half the rows, each with its index entries.
 */
export interface PersonalPack {
  $values: unknown[];
}

function isPack(v: unknown): v is PersonalPack {
  return typeof v === 'object' && v !== null && Array.isArray((v as PersonalPack).$values);
}

/** How many personal values a stored row holds (a pack, or one value of the earlier form). */
export function personalValueCount(stored: unknown): number {
  return isPack(stored) ? stored.$values.length : 1;
}

/** The rows that hold the given placeholders' values. */
export function personalRowRefs(refs: readonly string[]): string[] {
  return [...new Set(refs.map((r) => r.split('#', 1)[0]!))];
}

/**
 * A placeholder's value from the stored rows (row ref → stored value), or `undefined` when it is gone (erased).
 */
export function personalValueOf(rows: ReadonlyMap<string, unknown>, ref: string): unknown {
  const at = ref.indexOf('#');
  if (at < 0) return rows.get(ref);
  const stored = rows.get(ref.slice(0, at));
  if (!isPack(stored)) return undefined;
  const i = Number(ref.slice(at + 1));
  return Number.isInteger(i) && i >= 0 && i < stored.$values.length ? stored.$values[i] : undefined;
}

/** Put personal values back (or an erasure marker) for display. */
export function resolvePersonal(value: unknown, lookup: (ref: string) => unknown): unknown {
  if (isPersonalRef(value)) return lookup(value.$personal);
  if (Array.isArray(value)) return value.map((x) => resolvePersonal(x, lookup));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, resolvePersonal(x, lookup)]));
  }
  return value;
}

export function collectRefs(value: unknown, into: string[] = []): string[] {
  if (isPersonalRef(value)) into.push(value.$personal);
  else if (Array.isArray(value)) value.forEach((x) => collectRefs(x, into));
  else if (value && typeof value === 'object') Object.values(value).forEach((x) => collectRefs(x, into));
  return into;
}
