import type { Attributes, ManualTaskInput, ManualTaskSink, ObjectClass } from '../kit/types.ts';

/**
 * An account or group of a manual target as people confirmed it: the ledger. It changes only when a person
 * completes a task (a completed create adds the object, a completed delete removes it), or when a person records
 * what they found in the application. The manual connector's reads (get, search, sync) read this ledger.
 */
export interface LedgerObject {
  objectClass: ObjectClass;
  /** Gatehouse's key for the object (the id of the task that created it); the application has none for us. */
  id: string;
  name: string;
  attributes: Attributes;
  enabled: boolean;
  locked: boolean;
  /** Accounts: ids of the groups a person confirmed the account a member of. */
  memberOf: string[];
}

/** A change to the ledger, for `sync`: `seq` increases with every change of one target. */
export interface LedgerChange {
  seq: number;
  deleted: boolean;
  object: LedgerObject;
}

/** An open task about an object, e.g. a create not yet done (the object is not in the ledger until it is). */
export interface PendingTask {
  id: string;
  operation: ManualOperation;
  objectClass: ObjectClass;
  objectId: string;
  objectName: string | null;
}

export const MANUAL_OPERATIONS = [
  'create',
  'update',
  'rename',
  'delete',
  'enable',
  'disable',
  'setPassword',
  'unlock',
  'addMember',
  'removeMember',
] as const;
export type ManualOperation = (typeof MANUAL_OPERATIONS)[number];

type Values = (string | number | boolean)[];

/**
 * What the manual connector writes into a task's `details`: `steps` for the person, in words, and the data Gatehouse
 * needs to update the ledger once the task is done. Never a password: where one is needed, the steps tell the person
 * to set a temporary one and hand it over through the usual channel.
 */
export type ManualTaskDetails = { steps: string[] } & (
  | {
      operation: 'create';
      attributes: Attributes;
      enabled: boolean;
      temporaryPassword: boolean;
      mustChangePassword: boolean;
    }
  | {
      operation: 'update';
      changes: { attribute: string; op: 'replace' | 'add' | 'remove'; values: Values }[];
    }
  | { operation: 'rename'; from: string; to: string; attribute: string }
  | { operation: 'delete' | 'enable' | 'disable' | 'unlock' }
  | { operation: 'setPassword'; mustChangePassword: boolean }
  | { operation: 'addMember' | 'removeMember'; group: { id: string; name: string } }
);

/** A task as the manual connector opens it: always about one object (for memberships: the account). */
export interface ManualTask extends ManualTaskInput {
  operation: ManualOperation;
  ref: { objectClass: ObjectClass; id: string; name: string };
  details: ManualTaskDetails;
}

/**
 * What the manual connector needs from Gatehouse: the task sink (`open`) plus the ledger. Gatehouse's targets
 * capability implements it on PostgreSQL, bound to one target; it is handed over as `ConnectorDeps.tasks`.
 */
export interface ManualBook extends ManualTaskSink {
  readonly targetName: string;
  /** A new object key (for a create: the object is known by it before anyone has done the work). */
  newId(): string;
  /** The object in the ledger by id, else by name (case-insensitive); undefined when absent. */
  find(objectClass: ObjectClass, ref: { id?: string; name?: string }): Promise<LedgerObject | undefined>;
  /** Open tasks about the object with this id, or (for creates) with this name, oldest first. */
  pending(objectClass: ObjectClass, ref: { id?: string; name?: string }): Promise<PendingTask[]>;
  /** One page of the ledger in id order, after `after` (exclusive). */
  list(objectClass: ObjectClass, after: string | null, limit: number): Promise<LedgerObject[]>;
  /** Changes with seq > `since`, oldest first. */
  changes(objectClass: ObjectClass, since: number, limit: number): Promise<LedgerChange[]>;
  /** The seq of the latest change (0 when none). */
  position(): Promise<number>;
  counts(): Promise<{ openTasks: number; accounts: number; groups: number }>;
}

export function isManualBook(sink: ManualTaskSink | undefined): sink is ManualBook {
  if (!sink) return false;
  const b = sink as Partial<ManualBook>;
  return (
    typeof b.targetName === 'string' &&
    [b.newId, b.find, b.pending, b.list, b.changes, b.position, b.counts].every(
      (f) => typeof f === 'function',
    )
  );
}
