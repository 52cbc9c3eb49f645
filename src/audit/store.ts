import { and, asc, desc, eq, gt, gte, inArray, lt, lte, sql, type SQL } from 'drizzle-orm';
import { answeredLater, type Database, type Tx } from '../db/pool.ts';
import { copyRows, textArray } from '../db/copy.ts';
import type { WriteBehind } from '../db/write-behind.ts';
import type { CommandContext, Actor } from '../kit/context.ts';
import { GatehouseError } from '../kit/errors.ts';
import { auditEvents, auditPersonalValues } from './schema.ts';
import { canonicalJson } from './canonical.ts';
import {
  GENESIS_HASH,
  collectRefs,
  extractPersonal,
  hashEvent,
  canonicalParts,
  hashEventParts,
  personalRowRefs,
  personalValueCount,
  personalValueOf,
  resolvePersonal,
  type HashedEvent,
  type PersonalPack,
} from './chain.ts';

export const AuditErrors = { invalidQuery: 'audit_query_invalid' } as const;

const COPY_THRESHOLD = 200;
const AUDIT_COLUMNS = [
  'seq',
  'id',
  'occurred_at',
  'actor_type',
  'actor_id',
  'actor_name',
  'action',
  'subject_type',
  'subject_id',
  'before',
  'after',
  'reason',
  'correlation_id',
  'prev_hash',
  'hash',
] as const;

const PERSONAL_COLUMNS = ['ref', 'event_seq', 'data_subject', 'value'] as const;

const CHAIN_LOCK = 7_201_002; // advisory lock id: "one audit writer at a time" (held to commit)

export interface AuditInput {
  action: string;
  subject: { type: string; id: string };
  before?: unknown;
  after?: unknown;
  reason?: string;
  /** Whose personal data this event carries (for erasure); values wrapped in personal() are kept apart. */
  dataSubject?: string;
  /** The request this event belongs to, when it is not the context's (one transaction serving several requests). */
  correlationId?: string;
}

export interface AuditEvent extends HashedEvent {
  prevHash: string;
  hash: string;
}

type Row = typeof auditEvents.$inferSelect;

function toHashed(r: Row): HashedEvent {
  return {
    seq: r.seq,
    id: r.id,
    occurredAt: r.occurredAt.toISOString(),
    actor: { type: r.actorType, id: r.actorId, name: r.actorName },
    action: r.action,
    subject: { type: r.subjectType, id: r.subjectId },
    before: r.before ?? null,
    after: r.after ?? null,
    reason: r.reason,
    correlationId: r.correlationId,
  };
}

/**
 * An event made ready to append: its personal values taken apart and its `before` and `after` in canonical JSON (the
 * costly part of appending, which needs neither the chain's lock nor its head). Made by `prepareAudit`.
 */
export interface PreparedAudit {
  readonly id: string;
  readonly input: AuditInput;
  readonly before: unknown;
  readonly after: unknown;
  readonly beforeJson: string;
  readonly afterJson: string;
  /** The event's personal values, in the order of their placeholders' indexes, stored as one row (`PersonalPack`). */
  readonly personal: { readonly ref: string; readonly values: unknown[] } | null;
}

export function prepareAudit(ctx: Pick<CommandContext, 'ids'>, input: AuditInput): PreparedAudit {
  let pack: string | undefined;
  let n = 0;
  // Placeholders are numbered in the order extractPersonal finds the values: before's, then after's.
  const ref = () => `${(pack ??= ctx.ids())}#${n++}`;
  const before = extractPersonal(input.before ?? null, ref);
  const after = extractPersonal(input.after ?? null, ref);
  const values: unknown[] = [];
  for (const p of before.personal) values.push(p.value);
  for (const p of after.personal) values.push(p.value);
  return {
    id: ctx.ids(),
    input,
    before: before.value,
    after: after.value,
    beforeJson: canonicalJson(before.value),
    afterJson: canonicalJson(after.value),
    personal: pack === undefined ? null : { ref: pack, values },
  };
}

/**
 * Append events in the caller's transaction. Takes the chain lock (released at commit or rollback), so events
 * commit with the change they record, or not at all.
 */
export async function appendAudit(
  tx: Tx,
  ctx: CommandContext,
  inputs: AuditInput | AuditInput[],
): Promise<void> {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  return appendPrepared(
    tx,
    ctx,
    list.map((i) => prepareAudit(ctx, i)),
  );
}

/**
 * `appendAudit` for events prepared beforehand (a bulk writer prepares them while PostgreSQL loads its other rows),
 * sent behind the caller's `writes` (and failing with the first of theirs).
 *
 * Up to `COPY_THRESHOLD` events, and always on a pipelined transaction, the database links them
 * (`audit_append_chained`): one statement takes the chain lock, reads the head and appends, so the writer never
 * waits for the head, and on a pipelined transaction not for the append either (its COMMIT goes out right behind,
 * and the append's answer is checked before the commit is trusted). A bulk append reads the head and links the
 * events here, while COPY loads them.
 */
export async function appendPrepared(
  tx: Tx,
  ctx: CommandContext,
  list: readonly PreparedAudit[],
  writes?: WriteBehind,
): Promise<void> {
  if (list.length === 0) {
    await writes?.done();
    return;
  }
  const occurredIso = ctx.clock.now().toISOString(); // ms precision, stored as timestamptz(3)
  const actor = actorOf(ctx.actor);
  const actorJson = canonicalJson(actor);
  const correlationOf = (p: PreparedAudit) => p.input.correlationId ?? ctx.correlationId ?? null;
  if (list.length < COPY_THRESHOLD || tx.pipelined) {
    const parts = list.map((p) =>
      canonicalParts(
        {
          id: p.id,
          occurredAt: occurredIso,
          action: p.input.action,
          subject: p.input.subject,
          reason: p.input.reason ?? null,
          correlationId: correlationOf(p),
        },
        { actor: actorJson, before: p.beforeJson, after: p.afterJson },
      ),
    );
    const personal = list.flatMap((p, i) => (p.personal ? [{ p, event: i + 1 }] : []));
    const append = () =>
      tx.client.query({
        name: 'audit_append_chained',
        text: `select audit_append_chained($1, $2, $3, $4, $5, $6::uuid[], $7::text[], $8::text[], $9::text[],
          $10::jsonb[], $11::jsonb[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::uuid[],
          $18::int[], $19::text[], $20::jsonb[])`,
        values: [
          CHAIN_LOCK,
          occurredIso,
          actor.type,
          actor.id,
          actor.name ?? null,
          textArray(list.map((p) => p.id)),
          textArray(list.map((p) => p.input.action)),
          textArray(list.map((p) => p.input.subject.type)),
          textArray(list.map((p) => p.input.subject.id)),
          textArray(list.map((p) => (p.before === null ? null : p.beforeJson))),
          textArray(list.map((p) => (p.after === null ? null : p.afterJson))),
          textArray(list.map((p) => p.input.reason ?? null)),
          textArray(list.map(correlationOf)),
          textArray(parts.map((x) => x.head)),
          textArray(parts.map((x) => x.mid)),
          textArray(parts.map((x) => x.tail)),
          textArray(personal.map((x) => x.p.personal!.ref)),
          personal.map((x) => x.event),
          textArray(personal.map((x) => x.p.input.dataSubject ?? null)),
          textArray(
            personal.map((x) => JSON.stringify({ $values: x.p.personal!.values } satisfies PersonalPack)),
          ),
        ],
      });
    // Pipelined, the commit goes out behind it (and fails with it).
    await answeredLater(tx, writes ? writes.run(append) : append());
    return;
  }
  // The chain lock and the head in one round trip (migration 0015: the head is read after the lock is granted).
  const readHead = () =>
    tx.client.query<{ seq: number; hash: string }>({
      name: 'audit_chain_head_locked',
      text: 'select seq, hash from audit_chain_head_locked($1)',
      values: [CHAIN_LOCK],
    });
  const head = await (writes ? writes.run(readHead) : readHead());
  const genesis = { prevHash: head.rows[0]?.hash ?? GENESIS_HASH, seq: head.rows[0]?.seq ?? 0 };
  const personalRows: (typeof auditPersonalValues.$inferInsert)[] = [];
  /** Events in chain order, linked one at a time (lazily: COPY loads each chunk while the next is linked). */
  function* chained(): Generator<{ e: AuditEvent; p: PreparedAudit }> {
    let { prevHash, seq } = genesis;
    for (const p of list) {
      const input = p.input;
      seq += 1;
      const event: HashedEvent = {
        seq,
        id: p.id,
        occurredAt: occurredIso,
        actor,
        action: input.action,
        subject: { type: input.subject.type, id: input.subject.id },
        before: p.before,
        after: p.after,
        reason: input.reason ?? null,
        correlationId: correlationOf(p),
      };
      const hash = hashEventParts(prevHash, event, {
        actor: actorJson,
        before: p.beforeJson,
        after: p.afterJson,
      });
      if (p.personal)
        personalRows.push({
          ref: p.personal.ref,
          eventSeq: seq,
          dataSubject: input.dataSubject ?? null,
          value: { $values: p.personal.values } satisfies PersonalPack,
        });
      yield { e: { ...event, prevHash, hash }, p };
      prevHash = hash;
    }
  }
  /** An event as stored: AUDIT_COLUMNS order. */
  const eventRow = ({ e, p }: { e: AuditEvent; p: PreparedAudit }) => [
    e.seq,
    e.id,
    occurredIso,
    e.actor.type,
    e.actor.id,
    e.actor.name ?? null,
    e.action,
    e.subject.type,
    e.subject.id,
    e.before === null ? null : p.beforeJson,
    e.after === null ? null : p.afterJson,
    e.reason ?? null,
    e.correlationId ?? null,
    e.prevHash,
    e.hash,
  ];
  /** Personal values as stored: PERSONAL_COLUMNS order (the chain's links fill them, so after `chained()`). */
  const personalValues = () =>
    personalRows.map((r) => [r.ref, r.eventSeq, r.dataSubject ?? null, JSON.stringify(r.value)]);
  // Bulk (an HR import audits every changed person): COPY is several times faster than multi-row INSERTs, and the
  // rows are produced while PostgreSQL loads the previous chunk.
  await copyRows(
    tx.client,
    'audit_events',
    AUDIT_COLUMNS,
    (function* () {
      for (const x of chained()) yield eventRow(x);
    })(),
  );
  if (personalRows.length)
    await copyRows(tx.client, 'audit_personal_values', PERSONAL_COLUMNS, personalValues());
}

function actorOf(a: Actor): HashedEvent['actor'] {
  return { type: a.type, id: a.id, name: a.name ?? null };
}

export type BreakReason = 'hash_mismatch' | 'link_mismatch' | 'sequence_gap';

export interface VerifyResult {
  ok: boolean;
  checked: number;
  head: { seq: number; hash: string } | null;
  firstBroken?: {
    seq: number;
    id: string;
    action: string;
    occurredAt: string;
    reason: BreakReason;
    message: string;
  };
}

/** Recompute the whole chain in seq order and name the first event that does not fit. Streams in batches. */
export async function verifyChain(
  database: Pick<Database, 'db'>,
  opts: { batchSize?: number; onProgress?: (checked: number, total: number) => void } = {},
): Promise<VerifyResult> {
  const batchSize = opts.batchSize ?? 5000;
  const [{ total } = { total: 0 }] = await database.db
    .select({ total: sql<number>`count(*)::int` })
    .from(auditEvents);
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let checked = 0;
  let last: { seq: number; hash: string } | null = null;
  for (;;) {
    const rows = await database.db
      .select()
      .from(auditEvents)
      .where(gte(auditEvents.seq, expectedSeq))
      .orderBy(asc(auditEvents.seq))
      .limit(batchSize);
    if (rows.length === 0) break;
    for (const r of rows) {
      const broken = (reason: BreakReason, message: string): VerifyResult => ({
        ok: false,
        checked,
        head: last,
        firstBroken: {
          seq: r.seq,
          id: r.id,
          action: r.action,
          occurredAt: r.occurredAt.toISOString(),
          reason,
          message,
        },
      });
      if (r.seq !== expectedSeq) {
        return broken(
          'sequence_gap',
          `events ${expectedSeq}..${r.seq - 1} are missing before event ${r.seq}`,
        );
      }
      if (r.prevHash !== prevHash) {
        return broken(
          'link_mismatch',
          `event ${r.seq} says the previous hash is ${r.prevHash.slice(0, 12)}… but it is ${prevHash.slice(0, 12)}…`,
        );
      }
      const recomputed = hashEvent(prevHash, toHashed(r));
      if (recomputed !== r.hash) {
        return broken(
          'hash_mismatch',
          `event ${r.seq} (${r.action}) was changed after it was written: its content no longer matches its hash`,
        );
      }
      prevHash = r.hash;
      expectedSeq += 1;
      checked += 1;
      last = { seq: r.seq, hash: r.hash };
    }
    opts.onProgress?.(checked, total);
  }
  return { ok: true, checked, head: last };
}

export interface AuditQuery {
  actor?: string; // "type:id" or id
  action?: string; // exact, or prefix with trailing "*" (e.g. "token.*")
  subjectType?: string;
  subjectId?: string;
  /** Any of these subject ids (e.g. a person and the records merged into them). */
  subjectIds?: string[];
  correlationId?: string;
  /** Show personal values as "[hidden]" (for readers without permission to see personal data). */
  hidePersonal?: boolean;
  from?: Date;
  to?: Date;
  /** Newest first (default) or oldest first. */
  order?: 'desc' | 'asc';
  /** Keyset cursor from the previous page's `nextCursor`. */
  cursor?: number;
  limit?: number;
}

export interface AuditListItem extends AuditEvent {
  personalErased: boolean;
}

/** Newest first, filtered on the server, keyset-paged by seq. Personal values are resolved (or shown erased). */
export async function listAudit(
  database: Pick<Database, 'db'>,
  q: AuditQuery,
): Promise<{ items: AuditListItem[]; nextCursor: number | null }> {
  const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
  const where: SQL[] = [];
  if (q.actor) {
    const i = q.actor.indexOf(':');
    if (i > 0)
      where.push(
        eq(auditEvents.actorType, q.actor.slice(0, i)),
        eq(auditEvents.actorId, q.actor.slice(i + 1)),
      );
    else where.push(eq(auditEvents.actorId, q.actor));
  }
  if (q.action) {
    if (q.action.endsWith('*'))
      where.push(sql`${auditEvents.action} like ${q.action.slice(0, -1).replace(/[\\%_]/g, '\\$&') + '%'}`);
    else where.push(eq(auditEvents.action, q.action));
  }
  if (q.subjectType) where.push(eq(auditEvents.subjectType, q.subjectType));
  if (q.subjectId) where.push(eq(auditEvents.subjectId, q.subjectId));
  if (q.subjectIds) where.push(inArray(auditEvents.subjectId, q.subjectIds.length ? q.subjectIds : ['']));
  if (q.correlationId) where.push(eq(auditEvents.correlationId, q.correlationId));
  if (q.from) where.push(gte(auditEvents.occurredAt, q.from));
  if (q.to) where.push(lte(auditEvents.occurredAt, q.to));
  if (q.from && q.to && q.from > q.to) {
    throw new GatehouseError(AuditErrors.invalidQuery, 'the "from" time is after the "to" time', {
      problems: [{ field: 'from', message: 'must not be after "to"' }],
    });
  }
  const ascending = q.order === 'asc';
  if (q.cursor !== undefined)
    where.push(ascending ? gt(auditEvents.seq, q.cursor) : lt(auditEvents.seq, q.cursor));
  const rows = await database.db
    .select()
    .from(auditEvents)
    .where(where.length ? and(...where) : undefined)
    .orderBy(ascending ? asc(auditEvents.seq) : desc(auditEvents.seq))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const refs = page.flatMap((r) => collectRefs([r.before, r.after]));
  const stored = new Map<string, unknown>();
  if (refs.length && !q.hidePersonal) {
    const pv = await database.db
      .select()
      .from(auditPersonalValues)
      .where(inArray(auditPersonalValues.ref, personalRowRefs(refs)));
    for (const v of pv) stored.set(v.ref, v.value);
  }
  const items = page.map((r) => {
    let erased = false;
    const lookup = (ref: string) => {
      if (q.hidePersonal) return '[hidden]';
      const value = personalValueOf(stored, ref);
      if (value !== undefined) return value;
      erased = true;
      return '[erased]';
    };
    const h = toHashed(r);
    return {
      ...h,
      before: resolvePersonal(h.before, lookup),
      after: resolvePersonal(h.after, lookup),
      prevHash: r.prevHash,
      hash: r.hash,
      personalErased: erased,
    };
  });
  return { items, nextCursor: rows.length > limit ? (page[page.length - 1]?.seq ?? null) : null };
}

/**
 * Erase every personal value recorded for a data subject. The chain still verifies: only references are hashed.
 * The erasure itself is audited (without the erased values).
 */
export async function erasePersonalData(
  tx: Tx,
  ctx: CommandContext,
  dataSubject: string,
  reason: string,
): Promise<number> {
  const deleted = await tx.db
    .delete(auditPersonalValues)
    .where(eq(auditPersonalValues.dataSubject, dataSubject))
    .returning({ value: auditPersonalValues.value });
  const erasedValues = deleted.reduce((n, d) => n + personalValueCount(d.value), 0);
  await appendAudit(tx, ctx, {
    action: 'audit.personal_data.erase',
    subject: { type: 'data_subject', id: dataSubject },
    after: { erasedValues },
    reason,
  });
  return erasedValues;
}

export async function auditStats(
  database: Pick<Database, 'db'>,
  now: Date,
): Promise<{ events: number; last24h: number }> {
  const [r] = await database.db
    .select({
      events: sql<number>`coalesce(max(${auditEvents.seq}), 0)::int`,
      last24h: sql<number>`count(*) filter (where ${auditEvents.occurredAt} > ${new Date(now.getTime() - 86_400_000)})::int`,
    })
    .from(auditEvents);
  return r ?? { events: 0, last24h: 0 };
}
