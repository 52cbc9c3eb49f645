import type pg from 'pg';
import { appendAudit } from '../audit/index.ts';
import { applyTask, LedgerConflict, type LedgerObject } from '../connectors/manual/index.ts';
import type { Tx } from '../db/pool.ts';
import type { CommandContext } from '../kit/context.ts';
import { GatehouseError } from '../kit/errors.ts';
import { findObject, pendingTasks } from './book.ts';
import { findTargetRow } from './targets.ts';

export const TaskErrors = {
  notFound: 'task_not_found',
  notOpen: 'task_not_open',
  noteRequired: 'task_note_required',
  outOfOrder: 'task_out_of_order',
  objectMissing: 'task_object_missing',
  conflict: 'task_conflict',
  invalidQuery: 'task_query_invalid',
} as const;

export const TASK_STATUSES = ['open', 'done', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface TaskView {
  id: string;
  target: string;
  targetId: string;
  operation: string;
  objectClass: string;
  objectId: string;
  objectName: string | null;
  summary: string;
  details: Record<string, unknown>;
  status: TaskStatus;
  note: string | null;
  completedBy: string | null;
  completedAt: string | null;
  createdAt: string;
}

interface TaskRow {
  id: string;
  seq: number;
  target_id: string;
  target_name: string;
  operation: string;
  object_class: string;
  object_id: string;
  object_name: string | null;
  summary: string;
  details: Record<string, unknown>;
  status: TaskStatus;
  note: string | null;
  completed_by: string | null;
  completed_at: Date | null;
  created_at: Date;
}

type Q = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

const SELECT = `select t.*, g.name as target_name from manual_tasks t join targets g on g.id = t.target_id`;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NOTE_MAX = 2000;

function toView(r: TaskRow): TaskView {
  return {
    id: r.id,
    target: r.target_name,
    targetId: r.target_id,
    operation: r.operation,
    objectClass: r.object_class,
    objectId: r.object_id,
    objectName: r.object_name,
    summary: r.summary,
    details: r.details,
    status: r.status,
    note: r.note,
    completedBy: r.completed_by,
    completedAt: r.completed_at?.toISOString() ?? null,
    createdAt: r.created_at.toISOString(),
  };
}

export interface TaskQuery {
  status?: TaskStatus;
  /** Target name. */
  target?: string;
  limit?: number;
  /** From a previous page's `nextCursor`. */
  cursor?: string;
}

/**
 * Tasks, a page at a time. Open tasks come oldest first (the order a person works them); done and cancelled ones
 * newest first. `nextCursor` is null on the last page.
 */
export async function listTasks(
  db: Q,
  query: TaskQuery = {},
): Promise<{ items: TaskView[]; nextCursor: string | null }> {
  const limit = Math.max(1, Math.min(query.limit ?? 50, 500));
  const oldestFirst = query.status === 'open';
  let after: number | null = null;
  if (query.cursor !== undefined) {
    after = Number(query.cursor);
    if (!/^\d+$/.test(query.cursor) || !Number.isSafeInteger(after))
      throw new GatehouseError(TaskErrors.invalidQuery, `"${query.cursor}" is not a task list cursor`, {
        problems: [{ field: 'cursor', message: 'use the nextCursor of the previous page' }],
      });
  }
  if (query.target !== undefined) await findTargetRow(db, query.target);
  const r = await db.query<TaskRow>(
    `${SELECT}
     where ($1::text is null or t.status = $1) and ($2::text is null or g.name = $2)
       and ($3::bigint is null or ${oldestFirst ? 't.seq > $3' : 't.seq < $3'})
     order by t.seq ${oldestFirst ? 'asc' : 'desc'} limit $4`,
    [query.status ?? null, query.target ?? null, after, limit + 1],
  );
  const rows = r.rows.slice(0, limit);
  return {
    items: rows.map(toView),
    nextCursor: r.rows.length > limit ? String(rows[rows.length - 1]!.seq) : null,
  };
}

async function taskRow(db: Q, id: string, lock = false): Promise<TaskRow> {
  const r = UUID_RE.test(id)
    ? await db.query<TaskRow>(`${SELECT} where t.id = $1${lock ? ' for update of t' : ''}`, [id])
    : { rows: [] };
  if (!r.rows[0])
    throw new GatehouseError(TaskErrors.notFound, `there is no task with id ${id}`, { status: 404 });
  return r.rows[0];
}

export async function getTask(db: Q, id: string): Promise<TaskView> {
  return toView(await taskRow(db, id));
}

function checkNote(note: unknown): string {
  const n = typeof note === 'string' ? note.trim() : '';
  if (!n || n.length > NOTE_MAX)
    throw new GatehouseError(
      TaskErrors.noteRequired,
      n
        ? `the note is too long (${n.length} characters; at most ${NOTE_MAX})`
        : 'say what you did in a note (for example the ticket number, or how the person got their password)',
      { problems: [{ field: 'note', message: n ? `at most ${NOTE_MAX} characters` : 'required' }] },
    );
  return n;
}

async function openTask(tx: Tx, id: string): Promise<TaskRow> {
  const row = await taskRow(tx.client, id, true);
  if (row.status !== 'open')
    throw new GatehouseError(
      TaskErrors.notOpen,
      `task ${id} is already ${row.status === 'done' ? 'done' : 'cancelled'}${row.completed_by ? ` (by ${row.completed_by}${row.completed_at ? `, ${row.completed_at.toISOString()}` : ''})` : ''}`,
      { status: 409 },
    );
  return row;
}

/** One writer per target's ledger at a time, held to commit: so change_seq order is commit order (for sync). */
async function lockLedger(tx: Tx, targetId: string): Promise<void> {
  await tx.client.query(`select pg_advisory_xact_lock(hashtextextended('manual-ledger:' || $1, 0))`, [
    targetId,
  ]);
}

/** Write one object into the ledger (insert, change or tombstone), with the next change number. */
async function putObject(
  tx: Tx,
  targetId: string,
  o: LedgerObject,
  deleted: boolean,
  now: Date,
  nameInUse: () => GatehouseError,
): Promise<void> {
  try {
    await tx.client.query('savepoint ledger_put');
    await tx.client.query(
      `insert into manual_objects (target_id, object_class, id, name, attributes, enabled, locked, member_of, deleted,
         updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       on conflict (target_id, object_class, id) do update set
         name = excluded.name, attributes = excluded.attributes, enabled = excluded.enabled,
         locked = excluded.locked, member_of = excluded.member_of, deleted = excluded.deleted,
         updated_at = excluded.updated_at,
         change_seq = nextval(pg_get_serial_sequence('manual_objects', 'change_seq'))`,
      [
        targetId,
        o.objectClass,
        o.id,
        o.name,
        JSON.stringify(o.attributes),
        o.enabled,
        o.locked,
        JSON.stringify(o.memberOf),
        deleted,
        now,
      ],
    );
  } catch (e) {
    if ((e as { code?: string }).code === '23505') {
      await tx.client.query('rollback to savepoint ledger_put');
      throw nameInUse();
    }
    throw e;
  }
}

const label = (t: Pick<TaskRow, 'object_class' | 'object_name' | 'object_id'>) =>
  `the ${t.object_class === 'group' ? 'group' : 'account'} "${t.object_name ?? t.object_id}"`;

/** Why a task cannot apply to the ledger yet: its object is still waiting for its own create task, or gone. */
async function missing(
  tx: Tx,
  task: TaskRow,
  objectClass: string,
  objectId: string,
  what: string,
): Promise<GatehouseError> {
  const creating = (await pendingTasks(tx.client, task.target_id, objectClass, { id: objectId })).find(
    (p) => p.operation === 'create' && p.id !== task.id,
  );
  if (creating)
    return new GatehouseError(
      TaskErrors.outOfOrder,
      `complete the task that creates ${what} first (task ${creating.id})`,
      { status: 409, details: { blockedBy: creating.id } },
    );
  return new GatehouseError(
    TaskErrors.objectMissing,
    `${what} is not in the ledger (it was deleted, or its creation was cancelled): cancel this task instead`,
    { status: 409 },
  );
}

/** The audit event of a person's decision on a task: what it was about, and their note. */
async function auditTask(
  tx: Tx,
  ctx: CommandContext,
  action: 'task.completed' | 'task.cancelled',
  task: TaskRow,
  note: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await appendAudit(tx, ctx, {
    action,
    subject: { type: 'manual_task', id: task.id },
    after: {
      target: task.target_name,
      operation: task.operation,
      object: { class: task.object_class, id: task.object_id, name: task.object_name },
      summary: task.summary,
      note,
      ...extra,
    },
  });
}

/**
 * A person did the work: the task is done, with their note, and the ledger shows the result (a completed create
 * adds the account, a completed delete removes it, …). Audited in the same transaction.
 */
export async function completeTask(
  tx: Tx,
  ctx: CommandContext,
  id: string,
  note: unknown,
): Promise<TaskView> {
  const text = checkNote(note);
  const task = await openTask(tx, id);
  await lockLedger(tx, task.target_id);
  const now = ctx.clock.now();
  const current = await findObject(tx.client, task.target_id, task.object_class, { id: task.object_id });
  const group = task.details.group as { id?: string; name?: string } | undefined;
  if (task.operation === 'addMember' && group?.id) {
    const g = await findObject(tx.client, task.target_id, 'group', { id: group.id });
    if (!g) throw await missing(tx, task, 'group', group.id, `the group "${group.name ?? group.id}"`);
  }
  let effect;
  try {
    effect = applyTask(current, {
      operation: task.operation,
      objectClass: task.object_class,
      objectId: task.object_id,
      objectName: task.object_name,
      details: task.details,
    });
  } catch (e) {
    if (!(e instanceof LedgerConflict)) throw e;
    if (e.reason === 'missing') throw await missing(tx, task, task.object_class, task.object_id, label(task));
    throw new GatehouseError(
      TaskErrors.conflict,
      `task ${id} cannot be completed: ${e.message}`,
      e.reason === 'malformed' ? { status: 422 } : { status: 409 },
    );
  }
  if (effect.kind !== 'none')
    await putObject(
      tx,
      task.target_id,
      effect.object,
      effect.kind === 'delete',
      now,
      () =>
        new GatehouseError(
          TaskErrors.conflict,
          `the ledger already has another ${task.object_class === 'group' ? 'group' : 'account'} named "${effect.object.name}"`,
          { status: 409 },
        ),
    );
  const by = ctx.actor.name ?? ctx.actor.id;
  await tx.client.query(
    `update manual_tasks set status = 'done', note = $2, completed_by = $3, completed_at = $4 where id = $1`,
    [id, text, by, now],
  );
  await auditTask(tx, ctx, 'task.completed', task, text);
  return toView({ ...task, status: 'done', note: text, completed_by: by, completed_at: now });
}

/**
 * The work will not be done. Cancelling a create also cancels the open tasks about the object it would have made
 * (they could never be done); each is named in the audit event.
 */
export async function cancelTask(tx: Tx, ctx: CommandContext, id: string, note: unknown): Promise<TaskView> {
  const text = checkNote(note);
  const task = await openTask(tx, id);
  const now = ctx.clock.now();
  const by = ctx.actor.name ?? ctx.actor.id;
  const r = await tx.client.query<{ id: string }>(
    `update manual_tasks set status = 'cancelled', note = $2, completed_by = $3, completed_at = $4
     where id = $1
        or ($5 and target_id = $6 and status = 'open'
            and ((object_class = $7 and object_id = $8) or ($7 = 'group' and details -> 'group' ->> 'id' = $8)))
     returning id`,
    [id, text, by, now, task.operation === 'create', task.target_id, task.object_class, task.object_id],
  );
  const alsoCancelled = r.rows.map((x) => x.id).filter((x) => x !== id);
  await auditTask(tx, ctx, 'task.cancelled', task, text, alsoCancelled.length ? { alsoCancelled } : {});
  return toView({ ...task, status: 'cancelled', note: text, completed_by: by, completed_at: now });
}

/**
 * A person records an account or group as they found it in the application (taking over existing accounts, or a
 * change made there directly). The ledger takes it as it is; `sync` reports it. Audited.
 */
export async function recordObject(
  tx: Tx,
  ctx: CommandContext,
  targetName: string,
  object: LedgerObject,
  opts: { deleted?: boolean; reason?: string } = {},
): Promise<void> {
  const target = await findTargetRow(tx.client, targetName);
  await lockLedger(tx, target.id);
  const before = await findObject(tx.client, target.id, object.objectClass, { id: object.id });
  await putObject(
    tx,
    target.id,
    object,
    opts.deleted === true,
    ctx.clock.now(),
    () =>
      new GatehouseError(
        TaskErrors.conflict,
        `the ledger already has another object named "${object.name}"`,
        {
          status: 409,
        },
      ),
  );
  await appendAudit(tx, ctx, {
    action: opts.deleted ? 'target.ledger_removed' : 'target.ledger_recorded',
    subject: { type: 'target', id: target.id },
    before: before ?? null,
    after: opts.deleted ? null : object,
    ...(opts.reason ? { reason: opts.reason } : {}),
  });
}
