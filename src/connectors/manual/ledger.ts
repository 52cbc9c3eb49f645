import { z } from 'zod';
import type { AttributeValue, Attributes, Filter, Scalar } from '../kit/types.ts';
import { MANUAL_OPERATIONS, type LedgerObject, type ManualOperation } from './book.ts';

/**
 * The ledger's one rule: what a completed task does to the object it is about. Pure; the targets capability calls
 * it in the transaction that marks the task done.
 */
const scalar = z.union([z.string(), z.number(), z.boolean()]);
const attributes = z.record(z.string(), z.union([scalar, z.array(scalar), z.null()]));
const steps = z.array(z.string());

export const taskDetailsSchema = z.discriminatedUnion('operation', [
  z.object({
    operation: z.literal('create'),
    steps,
    attributes,
    enabled: z.boolean(),
    temporaryPassword: z.boolean(),
    mustChangePassword: z.boolean(),
  }),
  z.object({
    operation: z.literal('update'),
    steps,
    changes: z.array(
      z.object({ attribute: z.string(), op: z.enum(['replace', 'add', 'remove']), values: z.array(scalar) }),
    ),
  }),
  z.object({
    operation: z.literal('rename'),
    steps,
    from: z.string(),
    to: z.string(),
    attribute: z.string(),
  }),
  z.object({ operation: z.enum(['delete', 'enable', 'disable', 'unlock']), steps }),
  z.object({ operation: z.literal('setPassword'), steps, mustChangePassword: z.boolean() }),
  z.object({
    operation: z.enum(['addMember', 'removeMember']),
    steps,
    group: z.object({ id: z.string(), name: z.string() }),
  }),
]);
export type ParsedTaskDetails = z.infer<typeof taskDetailsSchema>;

export interface CompletedTask {
  operation: string;
  objectClass: string;
  objectId: string;
  objectName: string | null;
  details: unknown;
}

export type LedgerEffect =
  { kind: 'put'; object: LedgerObject } | { kind: 'delete'; object: LedgerObject } | { kind: 'none' };

export class LedgerConflict extends Error {
  readonly reason: 'missing' | 'exists' | 'malformed';
  constructor(reason: 'missing' | 'exists' | 'malformed', message: string) {
    super(message);
    this.name = 'LedgerConflict';
    this.reason = reason;
  }
}

export function isManualOperation(op: string): op is ManualOperation {
  return (MANUAL_OPERATIONS as readonly string[]).includes(op);
}

/**
 * The ledger after a person completed `task`. `current` is the object as the ledger holds it now (undefined when
 * absent). Throws LedgerConflict when the task cannot apply: the object is missing (its create was cancelled or
 * not done yet), a create finds it already there, or the stored details are not what the connector writes.
 */
export function applyTask(current: LedgerObject | undefined, task: CompletedTask): LedgerEffect {
  const parsed = taskDetailsSchema.safeParse({ ...(task.details as object), operation: task.operation });
  if (!parsed.success)
    throw new LedgerConflict('malformed', `the task's details are not a manual-target ${task.operation}`);
  const d = parsed.data;
  if (d.operation === 'create') {
    if (current) throw new LedgerConflict('exists', `"${current.name}" is already in the ledger`);
    return {
      kind: 'put',
      object: {
        objectClass: task.objectClass,
        id: task.objectId,
        name: task.objectName ?? task.objectId,
        attributes: d.attributes,
        enabled: d.enabled,
        locked: false,
        memberOf: [],
      },
    };
  }
  if (!current)
    throw new LedgerConflict(
      'missing',
      `"${task.objectName ?? task.objectId}" is not in the ledger (it was deleted, or its creation was never confirmed)`,
    );
  const next: LedgerObject = {
    ...current,
    attributes: { ...current.attributes },
    memberOf: [...current.memberOf],
  };
  switch (d.operation) {
    case 'update':
      for (const c of d.changes) {
        const v = applyDelta(next.attributes[c.attribute] ?? null, c.op, c.values);
        if (v === null) delete next.attributes[c.attribute];
        else next.attributes[c.attribute] = v;
      }
      return { kind: 'put', object: next };
    case 'rename':
      next.name = d.to;
      next.attributes[d.attribute] = d.to;
      return { kind: 'put', object: next };
    case 'delete':
      return { kind: 'delete', object: current };
    case 'enable':
    case 'disable':
      next.enabled = d.operation === 'enable';
      return { kind: 'put', object: next };
    case 'unlock':
      next.locked = false;
      return { kind: 'put', object: next };
    case 'setPassword':
      return { kind: 'none' };
    case 'addMember':
      if (!next.memberOf.includes(d.group.id)) next.memberOf.push(d.group.id);
      return { kind: 'put', object: next };
    case 'removeMember':
      next.memberOf = next.memberOf.filter((g) => g !== d.group.id);
      return { kind: 'put', object: next };
  }
}

/** One attribute delta: replace (empty clears), add (no duplicates), remove (no values: the whole attribute). */
export function applyDelta(
  current: AttributeValue,
  op: 'replace' | 'add' | 'remove',
  values: readonly Scalar[],
): AttributeValue {
  const list = current === null ? [] : Array.isArray(current) ? [...current] : [current as Scalar];
  let out: Scalar[];
  if (op === 'replace') out = [...values];
  else if (op === 'add') out = [...list, ...values.filter((v) => !list.some((x) => same(x, v)))];
  else out = values.length === 0 ? [] : list.filter((x) => !values.some((v) => same(x, v)));
  if (out.length === 0) return null;
  return Array.isArray(current) || out.length > 1 ? out : out[0]!;
}

function same(a: Scalar, b: Scalar): boolean {
  return typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : a === b;
}

/** Attribute lookup by exact name, else case-insensitively (LDAP and SCIM attribute names ignore case). */
function valuesOf(attrs: Attributes, name: string): Scalar[] {
  let v = attrs[name];
  if (v === undefined) {
    const key = Object.keys(attrs).find((k) => k.toLowerCase() === name.toLowerCase());
    v = key === undefined ? null : (attrs[key] ?? null);
  }
  if (v === null || v === undefined) return [];
  return Array.isArray(v) ? [...(v as Scalar[])] : [v as Scalar];
}

function compare(a: Scalar, b: Scalar): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a).toLowerCase();
  const y = String(b).toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The connector-neutral filter over a ledger object (strings compare case-insensitively, any value of a list). */
export function matchesFilter(filter: Filter, attrs: Attributes): boolean {
  switch (filter.op) {
    case 'and':
      return filter.filters.every((f) => matchesFilter(f, attrs));
    case 'or':
      return filter.filters.some((f) => matchesFilter(f, attrs));
    case 'not':
      return !matchesFilter(filter.filter, attrs);
    case 'pr':
      return valuesOf(attrs, filter.attribute).some((v) => v !== '');
    case 'ne':
      return !valuesOf(attrs, filter.attribute).some((v) => compare(v, filter.value) === 0);
    default: {
      const want = filter.value;
      const s = (v: Scalar) => String(v).toLowerCase();
      return valuesOf(attrs, filter.attribute).some((v) => {
        switch (filter.op) {
          case 'eq':
            return compare(v, want) === 0;
          case 'co':
            return s(v).includes(s(want));
          case 'sw':
            return s(v).startsWith(s(want));
          case 'ew':
            return s(v).endsWith(s(want));
          case 'gt':
            return compare(v, want) > 0;
          case 'ge':
            return compare(v, want) >= 0;
          case 'lt':
            return compare(v, want) < 0;
          case 'le':
            return compare(v, want) <= 0;
        }
      });
    }
  }
}
