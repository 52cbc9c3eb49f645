/**
 * Change sets as people work with them: list, look at (preview), approve or reject, apply, retry the failed
 * operations, undo. Also the per-person access view ("what does Jane have everywhere, and why") and latency.
 */
import type pg from 'pg';
import { appendAudit } from '../audit/index.ts';
import type { AttributeValue } from '../connectors/kit/types.ts';
import { PeopleErrors, requirePeople } from '../identities/index.ts';
import type { Tx } from '../db/pool.ts';
import type { Jobs } from '../jobs/index.ts';
import type { CommandContext } from '../kit/context.ts';
import { GatehouseError } from '../kit/errors.ts';
import { loadPolicy } from '../policy/index.ts';
import {
  APPLY_QUEUE,
  PLAN_QUEUE,
  draftChangeSet,
  loadPlanInput,
  massChangeReasons,
  recordChangeSet,
  type ApprovalReason,
  type BlockedGrant,
  type ChangeSetDraft,
  type RecordedChangeSet,
} from './plan.ts';
import { planPeople, type Because, type OpPayload, type PlannedOp } from './planner.ts';
import { CHANGE_SET_STATUSES, type ChangeSetStatus, type OpStatus } from './schema.ts';

type Q = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export const ChangeSetErrors = {
  notFound: 'changeset_not_found',
  wrongState: 'changeset_wrong_state',
  selfApproval: 'changeset_self_approval',
  nothingToUndo: 'changeset_nothing_to_undo',
  invalidQuery: 'changeset_query_invalid',
  sodConflict: 'sod_conflict',
} as const;

export interface ChangeSetView {
  id: string;
  seq: number;
  title: string;
  trigger: string;
  triggerRefs: Record<string, unknown>;
  status: ChangeSetStatus;
  approvalReasons: ApprovalReason[];
  /** `personName` is missing on change sets recorded before names were kept with them. */
  blocked: (Omit<BlockedGrant, 'personName'> & { personName?: string })[];
  warnings: (Omit<ChangeSetDraft['warnings'][number], 'personName'> & { personName?: string })[];
  peopleCount: number;
  opCount: number;
  counts: Record<OpStatus, number>;
  policyVersion: number;
  triggeredAt: string;
  createdBy: string;
  /** `<actor type>:<id>` of who asked for it (for operators `operator:<operator id>`): they cannot approve it. */
  createdById: string;
  createdAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  decisionNote: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  undoOf: string | null;
  undoOfSeq: number | null;
  undoneBy: string | null;
  undoneBySeq: number | null;
}

export interface OpView {
  id: string;
  seq: number;
  personId: string | null;
  personName: string | null;
  target: string;
  accountId: string | null;
  accountName: string | null;
  kind: OpPayload['kind'];
  summary: string;
  payload: OpPayload;
  /** Membership operations: whether the entitlement is marked privileged. */
  privileged: boolean;
  before: Record<string, unknown> | null;
  noop: boolean;
  reversible: boolean;
  irreversibleReason: string | null;
  status: OpStatus;
  attempts: number;
  error: { code: string; message: string; retryable: boolean } | null;
  startedAt: string | null;
  doneAt: string | null;
}

const SET_SELECT = `c.id, c.seq, c.title, c.trigger, c.trigger_refs, c.status, c.approval_reasons, c.blocked, c.warnings,
  c.people_count, c.op_count, c.policy_version, c.triggered_at, c.created_by, c.created_at, c.decided_by, c.decided_at,
  c.decision_note, c.started_at, c.finished_at, c.undo_of, c.undone_by, c.created_by_id,
  (select u.seq from change_sets u where u.id = c.undo_of) as undo_of_seq,
  (select u.seq from change_sets u where u.id = c.undone_by) as undone_by_seq,
  (select coalesce(jsonb_object_agg(s.status, s.n), '{}') from (select status, count(*) as n from change_ops o
     where o.change_set_id = c.id group by status) s) as counts`;

interface SetRow {
  id: string;
  seq: number;
  title: string;
  trigger: string;
  trigger_refs: Record<string, unknown>;
  status: ChangeSetStatus;
  approval_reasons: ChangeSetView['approvalReasons'];
  blocked: ChangeSetView['blocked'];
  warnings: ChangeSetView['warnings'];
  people_count: number;
  op_count: number;
  policy_version: number;
  triggered_at: Date;
  created_by: string;
  created_at: Date;
  decided_by: string | null;
  decided_at: Date | null;
  decision_note: string | null;
  started_at: Date | null;
  finished_at: Date | null;
  undo_of: string | null;
  undone_by: string | null;
  created_by_id: string;
  undo_of_seq: number | null;
  undone_by_seq: number | null;
  counts: Partial<Record<OpStatus, number>>;
}

function setView(r: SetRow): ChangeSetView {
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    id: r.id,
    seq: r.seq,
    title: r.title,
    trigger: r.trigger,
    triggerRefs: r.trigger_refs,
    status: r.status,
    approvalReasons: r.approval_reasons,
    blocked: r.blocked,
    warnings: r.warnings,
    peopleCount: r.people_count,
    opCount: r.op_count,
    counts: { pending: 0, running: 0, done: 0, failed: 0, skipped: 0, ...r.counts },
    policyVersion: r.policy_version,
    triggeredAt: r.triggered_at.toISOString(),
    createdBy: r.created_by,
    createdById: r.created_by_id,
    createdAt: r.created_at.toISOString(),
    decidedBy: r.decided_by,
    decidedAt: iso(r.decided_at),
    decisionNote: r.decision_note,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    undoOf: r.undo_of,
    undoOfSeq: r.undo_of_seq,
    undoneBy: r.undone_by,
    undoneBySeq: r.undone_by_seq,
  };
}

export interface ChangeSetQuery {
  status?: ChangeSetStatus;
  personId?: string;
  limit?: number;
  /** Sequence number to continue below (newest first). */
  before?: number;
}

export async function listChangeSets(
  db: Q,
  q: ChangeSetQuery = {},
): Promise<{ items: ChangeSetView[]; next: number | null }> {
  if (q.status && !CHANGE_SET_STATUSES.includes(q.status))
    throw new GatehouseError(
      ChangeSetErrors.invalidQuery,
      `status must be one of ${CHANGE_SET_STATUSES.join(', ')}`,
      {
        status: 400,
        problems: [
          { field: 'status', message: `must be one of ${CHANGE_SET_STATUSES.join(', ')}`, value: q.status },
        ],
      },
    );
  const limit = Math.min(Math.max(q.limit ?? 50, 1), 200);
  const r = await db.query<SetRow>(
    `select ${SET_SELECT} from change_sets c
     where ($1::text is null or c.status = $1) and ($2::bigint is null or c.seq < $2)
       and ($3::uuid is null or exists (select 1 from change_ops o where o.change_set_id = c.id and o.person_id = $3))
     order by c.seq desc limit $4`,
    [q.status ?? null, q.before ?? null, q.personId ?? null, limit + 1],
  );
  const items = r.rows.slice(0, limit).map(setView);
  return { items, next: r.rows.length > limit ? items[items.length - 1]!.seq : null };
}

async function setRow(db: Q, id: string, lock = false): Promise<SetRow> {
  const byId = /^[0-9a-f-]{36}$/i.test(id);
  if (!byId && !/^\d+$/.test(id))
    throw new GatehouseError(ChangeSetErrors.notFound, `no change set "${id}" (give its id or number)`, {
      status: 404,
    });
  const r = await db.query<SetRow>(
    `select ${SET_SELECT} from change_sets c where ${byId ? 'c.id = $1::uuid' : 'c.seq = $1::bigint'} ${lock ? 'for update of c' : ''}`,
    [id],
  );
  if (!r.rows[0])
    throw new GatehouseError(ChangeSetErrors.notFound, `no change set "${id}"`, { status: 404 });
  return r.rows[0];
}

/** How many change sets are in each status (the console's badge and filters). */
export async function changeSetCounts(db: Q): Promise<Record<ChangeSetStatus, number>> {
  const r = await db.query<{ status: ChangeSetStatus; n: number }>(
    'select status, count(*)::int as n from change_sets group by status',
  );
  const out = Object.fromEntries(CHANGE_SET_STATUSES.map((s) => [s, 0])) as Record<ChangeSetStatus, number>;
  for (const row of r.rows) out[row.status] = row.n;
  return out;
}

export async function getChangeSet(db: Q, id: string): Promise<ChangeSetView & { ops: OpView[] }> {
  const set = setView(await setRow(db, id));
  const r = await db.query<{
    id: string;
    seq: number;
    person_id: string | null;
    person_name: string | null;
    target: string;
    account_id: string | null;
    account_name: string | null;
    kind: OpPayload['kind'];
    summary: string;
    payload: OpPayload;
    privileged: boolean | null;
    before: Record<string, unknown> | null;
    noop: boolean;
    reversible: boolean;
    irreversible_reason: string | null;
    status: OpStatus;
    attempts: number;
    error: OpView['error'];
    started_at: Date | null;
    done_at: Date | null;
  }>(
    `select o.id, o.seq, o.person_id, p.display_name as person_name, t.name as target, o.account_id, a.name as account_name,
       o.kind, o.summary, o.payload,
       (select e.privileged from entitlements e where e.id::text = o.payload->>'entitlementId') as privileged, o.before, o.noop, o.reversible, o.irreversible_reason, o.status, o.attempts, o.error,
       o.started_at, o.done_at
     from change_ops o join targets t on t.id = o.target_id left join people p on p.id = o.person_id
       left join accounts a on a.id = o.account_id
     where o.change_set_id = $1 order by o.seq limit 10000`,
    [set.id],
  );
  return {
    ...set,
    ops: r.rows.map((o) => ({
      id: o.id,
      seq: o.seq,
      personId: o.person_id,
      personName: o.person_name,
      target: o.target,
      accountId: o.account_id,
      accountName: o.account_name,
      kind: o.kind,
      summary: o.summary,
      payload: o.payload,
      privileged: o.privileged ?? false,
      before: o.before,
      noop: o.noop,
      reversible: o.reversible,
      irreversibleReason: o.irreversible_reason,
      status: o.status,
      attempts: o.attempts,
      error: o.error,
      startedAt: o.started_at?.toISOString() ?? null,
      doneAt: o.done_at?.toISOString() ?? null,
    })),
  };
}

function wrongState(set: SetRow, what: string, allowed: string[]): GatehouseError {
  return new GatehouseError(
    ChangeSetErrors.wrongState,
    `change set #${set.seq} is ${set.status.replace('_', ' ')}; it can be ${what} only when ${allowed.join(' or ')}`,
    { status: 409 },
  );
}

const actorName = (ctx: CommandContext) => ctx.actor.name ?? ctx.actor.id;

/** Approve a change set that waits: it is applied straight away. The one who asked for it cannot approve it. */
export async function approveChangeSet(
  tx: Tx,
  ctx: CommandContext,
  deps: { jobs: Pick<Jobs, 'send'> },
  id: string,
  note: string,
): Promise<ChangeSetView> {
  const set = await setRow(tx.client, id, true);
  if (set.status !== 'awaiting_approval') throw wrongState(set, 'approved', ['awaiting approval']);
  if (ctx.actor.type !== 'system' && set.created_by_id === `${ctx.actor.type}:${ctx.actor.id}`)
    throw new GatehouseError(
      ChangeSetErrors.selfApproval,
      `you asked for change set #${set.seq}; someone else must approve it`,
      { status: 403 },
    );
  const now = ctx.clock.now();
  await tx.client.query(
    `update change_sets set status = 'approved', decided_by = $2, decided_at = $3, decision_note = $4 where id = $1`,
    [set.id, actorName(ctx), now, note],
  );
  await appendAudit(tx, ctx, {
    action: 'changeset.approved',
    subject: { type: 'change_set', id: set.id },
    before: { status: set.status },
    after: { status: 'approved', approvalReasons: set.approval_reasons.map((a) => a.message) },
    reason: note || undefined,
  });
  await deps.jobs.send(APPLY_QUEUE, { changeSetId: set.id }, { tx });
  return setView(await setRow(tx.client, set.id));
}

export async function rejectChangeSet(
  tx: Tx,
  ctx: CommandContext,
  id: string,
  note: string,
): Promise<ChangeSetView> {
  const set = await setRow(tx.client, id, true);
  if (set.status !== 'awaiting_approval') throw wrongState(set, 'rejected', ['awaiting approval']);
  if (!note.trim())
    throw new GatehouseError(ChangeSetErrors.wrongState, 'say why the change set is rejected', {
      status: 400,
      problems: [{ field: 'note', message: 'a reason is required to reject' }],
    });
  await tx.client.query(
    `update change_sets set status = 'rejected', decided_by = $2, decided_at = $3, decision_note = $4 where id = $1`,
    [set.id, actorName(ctx), ctx.clock.now(), note],
  );
  await tx.client.query(
    `update change_ops set status = 'skipped' where change_set_id = $1 and status = 'pending'`,
    [set.id],
  );
  await appendAudit(tx, ctx, {
    action: 'changeset.rejected',
    subject: { type: 'change_set', id: set.id },
    before: { status: set.status },
    after: { status: 'rejected' },
    reason: note,
  });
  return setView(await setRow(tx.client, set.id));
}

/** Put failed and skipped operations back to pending and apply again. */
export async function retryChangeSet(
  tx: Tx,
  ctx: CommandContext,
  deps: { jobs: Pick<Jobs, 'send'> },
  id: string,
): Promise<ChangeSetView> {
  const set = await setRow(tx.client, id, true);
  if (set.status !== 'failed') throw wrongState(set, 'retried', ['failed']);
  const r = await tx.client.query(
    `update change_ops set status = 'pending', error = null where change_set_id = $1 and status in ('failed', 'skipped')`,
    [set.id],
  );
  await tx.client.query(`update change_sets set status = 'approved', finished_at = null where id = $1`, [
    set.id,
  ]);
  await appendAudit(tx, ctx, {
    action: 'changeset.retried',
    subject: { type: 'change_set', id: set.id },
    before: { status: 'failed' },
    after: { status: 'approved', operations: r.rowCount },
  });
  await deps.jobs.send(APPLY_QUEUE, { changeSetId: set.id }, { tx });
  return setView(await setRow(tx.client, set.id));
}

interface DoneOp {
  seq: number;
  person_id: string | null;
  target_id: string;
  target_name: string;
  account_id: string | null;
  kind: OpPayload['kind'];
  summary: string;
  payload: OpPayload;
  before: Record<string, unknown> | null;
}

/** The inverse of one done operation (null: nothing to undo), with what cannot be restored. */
function inverseOf(op: DoneOp): { payload: OpPayload; summary: string; irreversible?: string }[] {
  const p = op.payload;
  const b = op.before ?? {};
  switch (p.kind) {
    case 'create_account':
      return [{ payload: { kind: 'delete_account' }, summary: 'delete the account it created' }];
    case 'rename_account':
      return [
        {
          payload: { kind: 'rename_account', attribute: p.attribute, from: p.to, to: p.from },
          summary: `rename back to ${p.from}`,
        },
      ];
    case 'update_account': {
      const before = (b.attributes ?? {}) as Record<string, AttributeValue>;
      const changes = p.changes.map((c) => ({
        attribute: c.attribute,
        from: c.to,
        to: before[c.attribute] ?? null,
      }));
      return [
        {
          payload: { kind: 'update_account', changes },
          summary: `restore ${changes.map((c) => c.attribute).join(', ')}`,
        },
      ];
    }
    case 'enable_account':
      return [
        { payload: { kind: 'disable_account', quarantineDays: null }, summary: 'disable account again' },
      ];
    case 'disable_account':
      return [{ payload: { kind: 'enable_account' }, summary: 'enable account again' }];
    case 'add_member':
      return [{ payload: { ...p, kind: 'remove_member' }, summary: `remove from ${p.key} again` }];
    case 'remove_member':
      return [{ payload: { ...p, kind: 'add_member' }, summary: `add to ${p.key} again` }];
    case 'delete_account': {
      const attributes = (b.attributes ?? {}) as Record<string, AttributeValue>;
      return [
        {
          payload: {
            kind: 'create_account',
            attributes,
            enabled: (b.enabled as boolean | undefined) ?? false,
            password: 'none',
            mustChange: true,
          },
          summary: 'recreate the deleted account',
          irreversible: 'the account comes back with a new id and no password (a reset is needed)',
        },
      ];
    }
  }
}

/**
 * Build and record the inverse of an applied (or partly applied) change set: every done, non-noop operation
 * reversed, last first. The inverse is a change set like any other (same approval rules) and can itself be undone.
 */
export async function undoChangeSet(
  tx: Tx,
  ctx: CommandContext,
  deps: { jobs: Pick<Jobs, 'send'> },
  id: string,
  opts: { hold?: boolean } = {},
): Promise<RecordedChangeSet> {
  const set = await setRow(tx.client, id, true);
  if (!['applied', 'failed'].includes(set.status)) throw wrongState(set, 'undone', ['applied', 'failed']);
  if (set.undone_by)
    throw new GatehouseError(ChangeSetErrors.wrongState, `change set #${set.seq} was already undone`, {
      status: 409,
    });
  const r = await tx.client.query<DoneOp>(
    `select o.seq, o.person_id, o.target_id, t.name as target_name, o.account_id, o.kind, o.summary, o.payload, o.before
     from change_ops o join targets t on t.id = o.target_id
     where o.change_set_id = $1 and o.status = 'done' and not o.noop order by o.seq desc`,
    [set.id],
  );
  if (!r.rows.length)
    throw new GatehouseError(
      ChangeSetErrors.nothingToUndo,
      `change set #${set.seq} changed nothing that can be undone`,
      {
        status: 409,
      },
    );
  const ops: PlannedOp[] = [];
  const irreversible: { seq: number; reason: string }[] = [];
  const deleted = new Map<string, DoneOp>();
  for (const op of r.rows) {
    for (const inv of inverseOf(op)) {
      ops.push({
        personId: op.person_id!,
        targetId: op.target_id,
        targetName: op.target_name,
        accountId: inv.payload.kind === 'create_account' ? null : op.account_id,
        payload: inv.payload,
        summary: inv.summary,
      });
      if (inv.irreversible) irreversible.push({ seq: ops.length, reason: inv.irreversible });
    }
    if (op.kind === 'delete_account') deleted.set(`${op.person_id}\u0000${op.target_id}`, op);
  }
  // A recreated account gets back the memberships it had when it was deleted.
  const policy = await loadPolicy(tx.client);
  for (const [, op] of deleted)
    for (const entId of (op.before?.memberships as string[] | undefined) ?? []) {
      const e = policy.catalog.get(entId);
      if (!e) continue;
      ops.push({
        personId: op.person_id!,
        targetId: op.target_id,
        targetName: op.target_name,
        accountId: null,
        payload: {
          kind: 'add_member',
          entitlementId: e.id,
          key: e.key,
          groupId: e.objectId,
          groupName: e.objectName,
        },
        summary: `add to ${e.displayName} again`,
      });
    }
  const approvalReasons = await massChangeReasons(tx.client, policy, ops);
  const recorded = await recordChangeSet(
    tx,
    ctx,
    deps,
    {
      title: `Undo #${set.seq}: ${set.title}`,
      ops,
      approvalReasons,
      blocked: [],
      warnings: [],
      irreversible,
    },
    policy.version,
    {
      trigger: 'undo',
      undoOf: set.id,
      triggerRefs: { changeSet: set.seq },
      ...(opts.hold ? { hold: true } : {}),
    },
  );
  await tx.client.query(`update change_sets set undone_by = $2 where id = $1`, [set.id, recorded!.id]);
  await appendAudit(tx, ctx, {
    action: 'changeset.undo_requested',
    subject: { type: 'change_set', id: set.id },
    after: { undoneBy: recorded!.id, operations: ops.length },
  });
  return recorded!;
}

/** Recompute these people now and record the change set (held for a person to apply when `hold`). */
export async function recompute(
  tx: Tx,
  ctx: CommandContext,
  deps: { jobs: Pick<Jobs, 'send'> },
  personIds: string[],
  opts: { hold?: boolean; title?: string } = {},
): Promise<RecordedChangeSet | null> {
  await requirePeople(tx.client, personIds);
  const policy = await loadPolicy(tx.client);
  const draft = await draftChangeSet(
    tx.client,
    policy,
    personIds,
    ctx.clock.now(),
    opts.title ?? `Recompute ${personIds.length === 1 ? '1 person' : `${personIds.length} people`}`,
  );
  return recordChangeSet(tx, ctx, deps, draft, policy.version, {
    trigger: 'recompute',
    ...(opts.hold ? { hold: true } : {}),
  });
}

/** A preview of what recomputing these people would do, without recording anything. */
export async function previewPeople(db: Q, personIds: string[], now: Date) {
  await requirePeople(db, personIds);
  const policy = await loadPolicy(db);
  const draft = await draftChangeSet(db, policy, personIds, now, 'Preview');
  return {
    ops: draft.ops,
    approvalReasons: draft.approvalReasons,
    blocked: draft.blocked,
    warnings: draft.warnings,
  };
}

// ── Per-person access ───────────────────────────────────────────────────────────────────────────────────────────

export interface AccessItem {
  target: string;
  account: {
    id: string;
    name: string;
    enabled: boolean;
    state: string;
    quarantineUntil: string | null;
  } | null;
  desired: 'present' | 'absent';
  because: Because[];
  entitlements: {
    key: string;
    displayName: string;
    privileged: boolean;
    held: boolean;
    desired: boolean;
    because: Because[];
  }[];
}

export interface PersonAccess {
  personId: string;
  roles: { role: string; because: Because[] }[];
  targets: AccessItem[];
  pending: PlannedOp[];
  sod: { rule: string; reason: string; action: string; existing: boolean }[];
}

/** What a person has everywhere, what they should have, and why (rule, role or assignment). */
export async function personAccess(db: Q, personId: string, now: Date): Promise<PersonAccess> {
  const policy = await loadPolicy(db);
  const input = await loadPlanInput(db, policy, [personId], now);
  if (!input.people.length)
    throw new GatehouseError(PeopleErrors.notFound, `no person ${personId}`, { status: 404 });
  const [plan] = planPeople(input);
  const known = input.accounts.get(personId) ?? [];
  const targets: AccessItem[] = plan!.desired.map((d) => {
    const a = known.find((k) => k.targetName === d.targetName);
    const desiredIds = new Map(d.grants.map((g) => [g.entitlement.id, g]));
    const ids = new Set([...desiredIds.keys(), ...(a?.memberships ?? [])]);
    return {
      target: d.targetName,
      account: a
        ? {
            id: a.id,
            name: a.name,
            enabled: a.enabled,
            state: a.state,
            quarantineUntil: a.quarantineUntil?.toISOString() ?? null,
          }
        : null,
      desired: d.account,
      because: d.because,
      entitlements: [...ids].map((id) => {
        const e = policy.catalog.get(id);
        return {
          key: e?.key ?? id,
          displayName: e?.displayName ?? id,
          privileged: e?.privileged ?? false,
          held: a?.memberships.includes(id) ?? false,
          desired: desiredIds.has(id),
          because: desiredIds.get(id)?.because ?? [],
        };
      }),
    };
  });
  return {
    personId,
    roles: [...plan!.roles].map(([role, because]) => ({ role, because })),
    targets,
    pending: plan!.ops,
    sod: plan!.sod.map((s) => ({ rule: s.rule, reason: s.reason, action: s.action, existing: s.existing })),
  };
}

// ── Assignments ─────────────────────────────────────────────────────────────────────────────────────────────────

export interface AssignmentInput {
  personId: string;
  role: string;
  validFrom?: Date | null;
  validUntil?: Date | null;
  reason: string;
}

/**
 * Give a person a role explicitly. Checked against SoD first: a conflict with a `block` rule is refused with the
 * rule's name and reason. The change to targets follows as a change set.
 */
export async function assignRole(
  tx: Tx,
  ctx: CommandContext,
  deps: { jobs: Pick<Jobs, 'send'> },
  input: AssignmentInput,
): Promise<{ id: string; changeSet: RecordedChangeSet | null }> {
  const policy = await loadPolicy(tx.client);
  const problems = [];
  if (!policy.roles.has(input.role))
    problems.push({ field: 'role', message: `no role named "${input.role}"`, value: input.role });
  if (!input.reason.trim()) problems.push({ field: 'reason', message: 'say why the person needs this role' });
  if (input.validFrom && input.validUntil && input.validUntil <= input.validFrom)
    problems.push({ field: 'validUntil', message: 'must be after validFrom' });
  if (problems.length)
    throw new GatehouseError(
      'assignment_invalid',
      problems.map((p) => `${p.field}: ${p.message}`).join('; '),
      {
        status: 400,
        problems,
      },
    );
  const now = ctx.clock.now();
  const input0 = await loadPlanInput(tx.client, policy, [input.personId], now);
  const person = input0.people[0];
  if (!person)
    throw new GatehouseError(PeopleErrors.notFound, `no person ${input.personId}`, { status: 404 });
  const id = ctx.ids();
  const with_ = [
    ...(input0.assignments.get(person.id) ?? []),
    { id, role: input.role, validFrom: null, validUntil: null },
  ];
  input0.assignments.set(person.id, with_);
  const [plan] = planPeople(input0);
  const conflict = plan!.sod.find((s) => s.action === 'block' && !s.existing);
  if (conflict)
    throw new GatehouseError(
      ChangeSetErrors.sodConflict,
      `blocked by the SoD rule "${conflict.rule}": ${conflict.reason}`,
      {
        status: 409,
        details: { rule: conflict.rule, reason: conflict.reason, items: conflict.items },
      },
    );
  await tx.client.query(
    `insert into assignments (id, person_id, role, valid_from, valid_until, reason, created_by, created_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      id,
      person.id,
      input.role,
      input.validFrom ?? null,
      input.validUntil ?? null,
      input.reason,
      actorName(ctx),
      now,
    ],
  );
  await appendAudit(tx, ctx, {
    action: 'assignment.created',
    subject: { type: 'assignment', id },
    after: {
      personId: person.id,
      role: input.role,
      validFrom: input.validFrom?.toISOString() ?? null,
      validUntil: input.validUntil?.toISOString() ?? null,
    },
    reason: input.reason,
    dataSubject: `person:${person.id}`,
  });
  // Recompute when the assignment starts and ends (now-effective changes are planned straight away).
  for (const at of [input.validFrom, input.validUntil])
    if (at && at.getTime() > now.getTime())
      await deps.jobs.send(
        PLAN_QUEUE,
        { personIds: [person.id], reason: 'assignment validity' },
        { tx, startAfter: at },
      );
  const changeSet = await recompute(tx, ctx, deps, [person.id], {
    title: `Assign ${input.role} to ${person.facts.displayName}`,
  });
  return { id, changeSet };
}

export async function revokeAssignment(
  tx: Tx,
  ctx: CommandContext,
  deps: { jobs: Pick<Jobs, 'send'> },
  id: string,
): Promise<RecordedChangeSet | null> {
  const r = await tx.client.query<{ person_id: string; role: string }>(
    `update assignments set revoked_at = $2, revoked_by = $3 where id = $1 and revoked_at is null returning person_id, role`,
    [id, ctx.clock.now(), actorName(ctx)],
  );
  const a = r.rows[0];
  if (!a) throw new GatehouseError('assignment_not_found', `no active assignment ${id}`, { status: 404 });
  await appendAudit(tx, ctx, {
    action: 'assignment.revoked',
    subject: { type: 'assignment', id },
    before: { role: a.role },
    dataSubject: `person:${a.person_id}`,
  });
  return recompute(tx, ctx, deps, [a.person_id], { title: `Revoke ${a.role}` });
}

// ── Latency ─────────────────────────────────────────────────────────────────────────────────────────────────────

export interface LatencyStats {
  target: string | null;
  operations: number;
  p50Ms: number | null;
  p95Ms: number | null;
  maxMs: number | null;
}

/** Time from the HR event taking effect to the change committed on the target, for HR-triggered operations. */
export async function latencyStats(db: Q, since: Date): Promise<LatencyStats[]> {
  const r = await db.query<{
    target: string | null;
    n: number;
    p50: number | null;
    p95: number | null;
    max: number | null;
  }>(
    `select t.name as target, count(*)::int as n,
       percentile_cont(0.5) within group (order by extract(epoch from o.done_at - o.triggered_at)) * 1000 as p50,
       percentile_cont(0.95) within group (order by extract(epoch from o.done_at - o.triggered_at)) * 1000 as p95,
       max(extract(epoch from o.done_at - o.triggered_at)) * 1000 as max
     from change_ops o join change_sets c on c.id = o.change_set_id join targets t on t.id = o.target_id
     where o.status = 'done' and c.trigger = 'hr_event' and o.done_at >= $1
     group by rollup (t.name) order by t.name nulls first`,
    [since],
  );
  return r.rows.map((x) => ({
    target: x.target,
    operations: x.n,
    p50Ms: x.p50 === null ? null : Math.round(Number(x.p50)),
    p95Ms: x.p95 === null ? null : Math.round(Number(x.p95)),
    maxMs: x.max === null ? null : Math.round(Number(x.max)),
  }));
}
