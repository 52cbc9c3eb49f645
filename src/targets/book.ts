import type pg from 'pg';
import type { ManualTaskInput, ObjectClass } from '../connectors/kit/types.ts';
import {
  MANUAL_OPERATIONS,
  type LedgerChange,
  type LedgerObject,
  type ManualBook,
  type PendingTask,
} from '../connectors/manual/index.ts';
import type { Database } from '../db/pool.ts';
import type { Clock } from '../kit/clock.ts';
import { GatehouseError } from '../kit/errors.ts';
import type { IdGenerator } from '../kit/ids.ts';

type Q = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export interface ObjectRow {
  object_class: string;
  id: string;
  name: string;
  attributes: LedgerObject['attributes'];
  enabled: boolean;
  locked: boolean;
  member_of: string[];
  deleted: boolean;
  change_seq: number;
}

export function ledgerObjectOf(r: ObjectRow): LedgerObject {
  return {
    objectClass: r.object_class,
    id: r.id,
    name: r.name,
    attributes: r.attributes,
    enabled: r.enabled,
    locked: r.locked,
    memberOf: r.member_of,
  };
}

/** The live ledger object with this id or (case-insensitive) name. */
export async function findObject(
  db: Q,
  targetId: string,
  objectClass: ObjectClass,
  ref: { id?: string; name?: string },
): Promise<LedgerObject | undefined> {
  if (ref.id === undefined && ref.name === undefined) return undefined;
  const r = await db.query<ObjectRow>(
    `select * from manual_objects
     where target_id = $1 and object_class = $2 and not deleted
       and ${ref.id !== undefined ? 'id = $3' : 'lower(name) = lower($3)'}`,
    [targetId, objectClass, ref.id ?? ref.name],
  );
  return r.rows[0] ? ledgerObjectOf(r.rows[0]) : undefined;
}

export async function pendingTasks(
  db: Q,
  targetId: string,
  objectClass: ObjectClass,
  ref: { id?: string; name?: string },
): Promise<PendingTask[]> {
  const r = await db.query<{
    id: string;
    operation: PendingTask['operation'];
    object_class: string;
    object_id: string;
    object_name: string | null;
  }>(
    `select id, operation, object_class, object_id, object_name from manual_tasks
     where target_id = $1 and object_class = $2 and status = 'open'
       and (object_id = $3 or (operation = 'create' and lower(object_name) = lower($4)))
     order by seq`,
    [targetId, objectClass, ref.id ?? null, ref.name ?? null],
  );
  return r.rows.map((t) => ({
    id: t.id,
    operation: t.operation,
    objectClass: t.object_class,
    objectId: t.object_id,
    objectName: t.object_name,
  }));
}

/**
 * The manual connector's task list and ledger for one target, on PostgreSQL. Tasks are opened in their own
 * statement (a connector call is not inside a Gatehouse transaction); the ledger changes only in `completeTask`
 * and `recordObject` (tasks.ts), under the target's ledger lock.
 */
export function manualBook(
  deps: { database: Pick<Database, 'pool'>; ids: IdGenerator; clock: Clock },
  target: { id: string; name: string },
): ManualBook {
  const db = deps.database.pool;
  return {
    targetName: target.name,
    newId: () => deps.ids(),
    async open(task: ManualTaskInput) {
      if (!(MANUAL_OPERATIONS as readonly string[]).includes(task.operation) || !task.ref)
        throw new GatehouseError(
          'task_invalid',
          `a manual task needs an object and one of the operations ${MANUAL_OPERATIONS.join(', ')}`,
        );
      const id = deps.ids();
      await db.query(
        `insert into manual_tasks (id, target_id, operation, object_class, object_id, object_name, summary, details,
           status, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9)`,
        [
          id,
          target.id,
          task.operation,
          task.ref.objectClass,
          task.ref.id,
          task.ref.name ?? null,
          task.summary,
          JSON.stringify(task.details),
          deps.clock.now(),
        ],
      );
      return { id };
    },
    find: (objectClass, ref) => findObject(db, target.id, objectClass, ref),
    pending: (objectClass, ref) => pendingTasks(db, target.id, objectClass, ref),
    async list(objectClass, after, limit) {
      const r = await db.query<ObjectRow>(
        `select * from manual_objects
         where target_id = $1 and object_class = $2 and not deleted and ($3::text is null or id > $3)
         order by id limit $4`,
        [target.id, objectClass, after, limit],
      );
      return r.rows.map(ledgerObjectOf);
    },
    async changes(objectClass, since, limit): Promise<LedgerChange[]> {
      const r = await db.query<ObjectRow>(
        `select * from manual_objects
         where target_id = $1 and object_class = $2 and change_seq > $3
         order by change_seq limit $4`,
        [target.id, objectClass, since, limit],
      );
      return r.rows.map((row) => ({
        seq: row.change_seq,
        deleted: row.deleted,
        object: ledgerObjectOf(row),
      }));
    },
    async position() {
      const r = await db.query<{ n: number }>(
        'select coalesce(max(change_seq), 0)::bigint as n from manual_objects where target_id = $1',
        [target.id],
      );
      return r.rows[0]?.n ?? 0;
    },
    async counts() {
      const r = await db.query<{ open_tasks: number; accounts: number; groups: number }>(
        `select
           (select count(*)::int from manual_tasks where target_id = $1 and status = 'open') as open_tasks,
           (select count(*)::int from manual_objects where target_id = $1 and object_class = 'account' and not deleted)
             as accounts,
           (select count(*)::int from manual_objects where target_id = $1 and object_class = 'group' and not deleted)
             as groups`,
        [target.id],
      );
      const c = r.rows[0]!;
      return { openTasks: c.open_tasks, accounts: c.accounts, groups: c.groups };
    },
  };
}
