/**
 * Planning against the database: load what the planner needs for a set of people, run it, and record the result
 * as a change set (with approval reasons, SoD blocks and the mass-change brake) in the caller's transaction.
 */
import type pg from 'pg';
import { appendAudit } from '../audit/index.ts';
import type { Tx } from '../db/pool.ts';
import { peopleFacts } from '../identities/index.ts';
import type { Jobs } from '../jobs/index.ts';
import type { CommandContext } from '../kit/context.ts';
import type { CompiledPolicy } from '../policy/compile.ts';
import type { ManagerFacts } from '../policy/expressions.ts';
import { PolicyErrors, loadPolicy } from '../policy/index.ts';
import { isGatehouseError } from '../kit/errors.ts';
import {
  planPeople,
  rolesOf,
  type KnownAccount,
  type PersonPlan,
  type PlanAssignment,
  type PlanInput,
  type PlannedOp,
} from './planner.ts';
import type { ChangeSetStatus } from './schema.ts';

type Q = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export const APPLY_QUEUE = 'provisioning.apply';
export const PLAN_QUEUE = 'provisioning.plan';

interface AccountRow {
  id: string;
  target_id: string;
  target_name: string;
  person_id: string | null;
  object_id: string;
  name: string;
  attributes: KnownAccount['attributes'];
  enabled: boolean;
  memberships: string[];
  state: KnownAccount['state'];
  quarantine_until: Date | null;
}

export const ACCOUNT_SELECT = `a.id, a.target_id, t.name as target_name, a.person_id, a.object_id, a.name, a.attributes,
  a.enabled, a.memberships, a.state, a.quarantine_until`;

export function knownAccount(r: AccountRow): KnownAccount {
  return {
    id: r.id,
    targetId: r.target_id,
    targetName: r.target_name,
    personId: r.person_id,
    objectId: r.object_id,
    name: r.name,
    attributes: r.attributes ?? {},
    enabled: r.enabled,
    memberships: r.memberships ?? [],
    state: r.state,
    quarantineUntil: r.quarantine_until,
  };
}

export async function accountsOf(db: Q, personIds: readonly string[]): Promise<Map<string, KnownAccount[]>> {
  const out = new Map<string, KnownAccount[]>();
  if (!personIds.length) return out;
  const r = await db.query<AccountRow>(
    `select ${ACCOUNT_SELECT} from accounts a join targets t on t.id = a.target_id
     where a.person_id = any($1::uuid[]) and a.state <> 'deleted'`,
    [personIds],
  );
  for (const row of r.rows) {
    const list = out.get(row.person_id!) ?? [];
    list.push(knownAccount(row));
    out.set(row.person_id!, list);
  }
  return out;
}

async function assignmentsOf(db: Q, personIds: readonly string[]): Promise<Map<string, PlanAssignment[]>> {
  const out = new Map<string, PlanAssignment[]>();
  if (!personIds.length) return out;
  const r = await db.query<{
    id: string;
    person_id: string;
    role: string;
    valid_from: Date | null;
    valid_until: Date | null;
  }>(
    `select id, person_id, role, valid_from, valid_until from assignments where person_id = any($1::uuid[]) and revoked_at is null`,
    [personIds],
  );
  for (const a of r.rows) {
    const list = out.get(a.person_id) ?? [];
    list.push({ id: a.id, role: a.role, validFrom: a.valid_from, validUntil: a.valid_until });
    out.set(a.person_id, list);
  }
  return out;
}

/** The roles each of these people holds now (rules that match, assignments in force), sorted by name. */
export async function rolesHeld(
  db: Q,
  policy: CompiledPolicy,
  personIds: readonly string[],
  now: Date,
): Promise<Map<string, string[]>> {
  const people = await peopleFacts(db, personIds);
  const assignments = await assignmentsOf(
    db,
    people.map((p) => p.id),
  );
  return new Map(
    people.map((p) => [
      p.id,
      [
        ...rolesOf(
          policy,
          { id: p.id, facts: p.facts, managerId: p.managerPersonId },
          assignments.get(p.id) ?? [],
          now,
        ).keys(),
      ].sort(),
    ]),
  );
}

/** Everything the planner needs for these people, read in a handful of queries. */
export async function loadPlanInput(
  db: Q,
  policy: CompiledPolicy,
  personIds: readonly string[],
  now: Date,
): Promise<PlanInput> {
  const people = await peopleFacts(db, personIds);
  const ids = people.map((p) => p.id);
  const managerIds = [...new Set(people.map((p) => p.managerPersonId).filter((x): x is string => !!x))];
  // One after the other: `db` may be a transaction's single connection.
  const accounts = await accountsOf(db, ids);
  const assignments = await assignmentsOf(db, ids);
  const managerFacts = await peopleFacts(db, managerIds);
  const managerAccounts = await accountsOf(db, managerIds);
  const managers: PlanInput['managers'] = new Map();
  for (const m of managerFacts) {
    const facts: Omit<ManagerFacts, 'account'> = {
      employeeId: m.facts.employeeId,
      displayName: m.facts.displayName,
      username: m.facts.username,
      workEmail: m.facts.workEmail,
    };
    const byTarget = new Map((managerAccounts.get(m.id) ?? []).map((a) => [a.targetName, a.name]));
    managers.set(m.id, { facts, accounts: byTarget });
  }
  return {
    policy,
    now,
    people: people.map((p) => ({ id: p.id, facts: p.facts, managerId: p.managerPersonId })),
    accounts,
    assignments,
    managers,
  };
}

export interface ApprovalReason {
  kind: 'privileged' | 'sod' | 'mass_change';
  message: string;
  personId?: string;
  target?: string;
  rule?: string;
}

export interface BlockedGrant {
  personId: string;
  personName: string;
  rule: string;
  reason: string;
  items: { targetName: string; key: string; displayName: string }[];
}

export interface ChangeSetDraft {
  title: string;
  plans: PersonPlan[];
  ops: PlannedOp[];
  approvalReasons: ApprovalReason[];
  blocked: BlockedGrant[];
  warnings: { personId: string; personName: string; target?: string; attribute?: string; message: string }[];
}

/** The mass-change brake: per target, disables and deletes as a share of its active accounts. */
export async function massChangeReasons(
  db: Q,
  policy: CompiledPolicy,
  ops: readonly PlannedOp[],
): Promise<ApprovalReason[]> {
  const removals = new Map<string, Set<string>>();
  for (const op of ops)
    if (op.payload.kind === 'disable_account' || op.payload.kind === 'delete_account') {
      const set = removals.get(op.targetName) ?? new Set();
      set.add(op.accountId ?? op.personId ?? op.summary);
      removals.set(op.targetName, set);
    }
  const brakeOf = (target: string) =>
    policy.targets.get(target)?.policy.massChange ?? policy.document.settings.massChange;
  // Below the minimum the brake never acts: no need to count the target's accounts (a single leaver costs nothing).
  for (const [target, set] of removals) if (set.size < brakeOf(target).minimum) removals.delete(target);
  if (!removals.size) return [];
  const ids = [...removals.keys()].map((n) => policy.targets.get(n)?.id).filter((x): x is string => !!x);
  const r = await db.query<{ name: string; active: number }>(
    `select t.name, count(a.id)::int as active from targets t
     left join accounts a on a.target_id = t.id and a.state = 'active'
     where t.id = any($1::uuid[]) group by t.name`,
    [ids],
  );
  const reasons: ApprovalReason[] = [];
  for (const row of r.rows) {
    const n = removals.get(row.name)?.size ?? 0;
    const brake = brakeOf(row.name);
    const share = row.active > 0 ? n / row.active : 1;
    if (n >= brake.minimum && share > brake.threshold)
      reasons.push({
        kind: 'mass_change',
        target: row.name,
        message: `would disable or delete ${n} of ${row.active} active accounts on ${row.name} (${Math.round(share * 100)}%, more than the ${Math.round(brake.threshold * 100)}% brake)`,
      });
  }
  return reasons;
}

/** Run the planner and gather what the change set must say: approvals, SoD blocks, warnings. */
export async function draftChangeSet(
  db: Q,
  policy: CompiledPolicy,
  personIds: readonly string[],
  now: Date,
  title: string,
): Promise<ChangeSetDraft> {
  const input = await loadPlanInput(db, policy, personIds, now);
  const plans = planPeople(input);
  const ops = plans.flatMap((p) => p.ops);
  const approvalReasons: ApprovalReason[] = [];
  const blocked: BlockedGrant[] = [];
  const warnings: ChangeSetDraft['warnings'] = [];
  const nameOf = new Map(input.people.map((p) => [p.id, p.facts.displayName]));
  for (const plan of plans) {
    for (const p of plan.problems)
      warnings.push({
        personId: p.personId,
        personName: nameOf.get(p.personId) ?? p.personId,
        ...(p.targetName ? { target: p.targetName } : {}),
        ...(p.attribute ? { attribute: p.attribute } : {}),
        message: p.message,
      });
    for (const f of plan.sod) {
      if (f.existing) {
        warnings.push({
          personId: f.personId,
          personName: nameOf.get(f.personId) ?? f.personId,
          message: `already holds both sides of SoD rule "${f.rule}": ${f.reason}`,
        });
        continue;
      }
      if (f.action === 'block')
        blocked.push({
          personId: f.personId,
          personName: nameOf.get(f.personId) ?? f.personId,
          rule: f.rule,
          reason: f.reason,
          items: f.items,
        });
      else
        approvalReasons.push({
          kind: 'sod',
          personId: f.personId,
          rule: f.rule,
          message: `${nameOf.get(f.personId)} would get ${f.items.map((i) => `${i.displayName} (${i.targetName})`).join(', ')}, which conflicts under "${f.rule}": ${f.reason}`,
        });
    }
  }
  for (const op of ops)
    if (op.payload.kind === 'add_member') {
      const e = policy.catalog.get(op.payload.entitlementId);
      if (e?.privileged && op.personId)
        approvalReasons.push({
          kind: 'privileged',
          personId: op.personId,
          target: op.targetName,
          message: `${nameOf.get(op.personId)} would get the privileged entitlement ${e.displayName} on ${e.targetName}`,
        });
    }
  approvalReasons.push(...(await massChangeReasons(db, policy, ops)));
  return { title, plans, ops, approvalReasons, blocked, warnings };
}

export interface RecordOptions {
  trigger: 'hr_event' | 'recompute' | 'policy' | 'undo' | 'schedule' | 'retry' | 'remediation';
  triggerRefs?: Record<string, unknown>;
  /** When the triggering HR event took effect (default: now). */
  triggeredAt?: Date;
  /** Keep it for a person to apply even when no approval is needed. */
  hold?: boolean;
  undoOf?: string;
}

export interface RecordedChangeSet {
  id: string;
  seq: number;
  status: ChangeSetStatus;
  opCount: number;
}

/** Store a draft as a change set with its operations; enqueue the apply when nothing waits for a person. */
export async function recordChangeSet(
  tx: Tx,
  ctx: CommandContext,
  deps: { jobs: Pick<Jobs, 'send'> },
  draft: Pick<ChangeSetDraft, 'title' | 'ops' | 'approvalReasons' | 'blocked' | 'warnings'> & {
    irreversible?: { seq: number; reason: string }[];
  },
  policyVersion: number,
  opts: RecordOptions,
): Promise<RecordedChangeSet | null> {
  // Only withheld grants: worth a record when something happened (an HR event, a policy), not on every recompute.
  if (!draft.ops.length && (!draft.blocked.length || opts.trigger === 'recompute')) return null;
  const now = ctx.clock.now();
  const triggeredAt = opts.triggeredAt ?? now;
  const status: ChangeSetStatus = !draft.ops.length
    ? 'blocked'
    : draft.approvalReasons.length || opts.hold
      ? 'awaiting_approval'
      : 'approved';
  const id = ctx.ids();
  const people = new Set(
    draft.ops
      .map((o) => o.personId)
      .filter((x) => x !== null)
      .concat(draft.blocked.map((b) => b.personId)),
  );
  const r = await tx.client.query<{ seq: number }>(
    `insert into change_sets (id, title, trigger, trigger_refs, status, approval_reasons, blocked, warnings, people_count,
       op_count, policy_version, triggered_at, created_by, created_by_id, created_at, undo_of)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) returning seq`,
    [
      id,
      draft.title,
      opts.trigger,
      JSON.stringify(opts.triggerRefs ?? {}),
      status,
      JSON.stringify(draft.approvalReasons),
      JSON.stringify(draft.blocked),
      JSON.stringify(draft.warnings),
      people.size,
      draft.ops.length,
      policyVersion,
      triggeredAt,
      ctx.actor.name ?? ctx.actor.id,
      `${ctx.actor.type}:${ctx.actor.id}`,
      now,
      opts.undoOf ?? null,
    ],
  );
  const irreversible = new Map((draft.irreversible ?? []).map((i) => [i.seq, i.reason]));
  const cols = {
    id: [] as string[],
    seq: [] as number[],
    person: [] as (string | null)[],
    target: [] as string[],
    account: [] as (string | null)[],
    kind: [] as string[],
    summary: [] as string[],
    payload: [] as string[],
    irr: [] as (string | null)[],
  };
  draft.ops.forEach((op, i) => {
    cols.id.push(ctx.ids());
    cols.seq.push(i + 1);
    cols.person.push(op.personId);
    cols.target.push(op.targetId);
    cols.account.push(op.accountId);
    cols.kind.push(op.payload.kind);
    cols.summary.push(op.summary);
    cols.payload.push(JSON.stringify(op.payload));
    cols.irr.push(irreversible.get(i + 1) ?? irreversibleReason(op));
  });
  for (let i = 0; i < cols.id.length; i += 5000) {
    const s = (a: unknown[]) => a.slice(i, i + 5000);
    await tx.client.query(
      `insert into change_ops (id, change_set_id, seq, person_id, target_id, account_id, kind, summary, payload,
         reversible, irreversible_reason, status, triggered_at)
       select u.id, $1, u.seq, u.person, u.target, u.account, u.kind, u.summary, u.payload::jsonb,
         u.irr is null, u.irr, 'pending', $2
       from unnest($3::uuid[], $4::int[], $5::uuid[], $6::uuid[], $7::uuid[], $8::text[], $9::text[], $10::text[], $11::text[])
         as u(id, seq, person, target, account, kind, summary, payload, irr)`,
      [
        id,
        triggeredAt,
        s(cols.id),
        s(cols.seq),
        s(cols.person),
        s(cols.target),
        s(cols.account),
        s(cols.kind),
        s(cols.summary),
        s(cols.payload),
        s(cols.irr),
      ],
    );
  }
  await appendAudit(tx, ctx, {
    action: 'changeset.planned',
    subject: { type: 'change_set', id },
    after: {
      title: draft.title,
      status,
      operations: draft.ops.length,
      people: people.size,
      approvalReasons: draft.approvalReasons.map((a) => a.message),
      blocked: draft.blocked.map((b) => `${b.rule}: ${b.items.map((i) => i.key).join(', ')}`),
    },
  });
  if (status === 'approved') await deps.jobs.send(APPLY_QUEUE, { changeSetId: id }, { tx });
  return { id, seq: r.rows[0]!.seq, status, opCount: draft.ops.length };
}

/** What cannot be undone about an operation, in words (shown in the preview). */
function irreversibleReason(op: PlannedOp): string | null {
  if (op.payload.kind === 'delete_account')
    return 'a deleted account can be recreated from its captured attributes and groups, but with a new id and without its password';
  if (op.payload.kind === 'create_account' && op.payload.password === 'generate')
    return 'the generated initial password is never stored; undo deletes the account';
  return null;
}

/** Plan these people and record the change set, in one transaction. Returns null when nothing needs to change. */
export async function planAndRecord(
  tx: Tx,
  ctx: CommandContext,
  deps: { jobs: Pick<Jobs, 'send'> },
  personIds: readonly string[],
  title: string,
  opts: RecordOptions,
): Promise<RecordedChangeSet | null> {
  const policy = await loadPolicy(tx.client);
  const draft = await draftChangeSet(tx.client, policy, personIds, ctx.clock.now(), title);
  return recordChangeSet(tx, ctx, deps, draft, policy.version, opts);
}

const EVENT_WORDS: Record<string, [string, string]> = {
  joiner: ['joiner', 'joiners'],
  mover: ['mover', 'movers'],
  leaver: ['leaver', 'leavers'],
  rehire: ['rehire', 'rehires'],
  start: ['start', 'starts'],
  leave_start: ['leave start', 'leave starts'],
  leave_end: ['return from leave', 'returns from leave'],
  conversion: ['conversion', 'conversions'],
  name_change: ['name change', 'name changes'],
  attribute_change: ['attribute change', 'attribute changes'],
};

/** "HR: 3 leavers, 1 joiner" */
export function hrTitle(types: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1);
  return `HR: ${[...counts]
    .map(([t, n]) => `${n} ${(EVENT_WORDS[t] ?? [t, t])[n === 1 ? 0 : 1]}`)
    .join(', ')}`;
}

/**
 * HR events that took effect: recompute the people concerned and record one change set (applied at once unless
 * it needs approval). Runs in the lifecycle job's transaction, so the events, the change set and the apply job
 * commit together. The latency clock starts when the latest event took effect.
 */
export async function planForHrEvents(
  tx: Tx,
  ctx: CommandContext,
  deps: { jobs: Pick<Jobs, 'send'> },
  events: readonly { id: string; personId: string; type: string; effectiveAt: Date; createdAt: Date }[],
): Promise<RecordedChangeSet | null> {
  if (!events.length) return null;
  let policy: CompiledPolicy;
  try {
    policy = await loadPolicy(tx.client);
  } catch (e) {
    // A broken policy must not hold up HR: the people's own changes commit, the gap is on record.
    if (!isGatehouseError(e, PolicyErrors.stale)) throw e;
    await appendAudit(tx, ctx, {
      action: 'changeset.not_planned',
      subject: { type: 'policy', id: 'current' },
      after: { events: events.length },
      reason: e.message,
    });
    return null;
  }
  if (!policy.targets.size) return null;
  const personIds = [...new Set(events.map((e) => e.personId))];
  const draft = await draftChangeSet(
    tx.client,
    policy,
    personIds,
    ctx.clock.now(),
    hrTitle(events.map((e) => e.type)),
  );
  const tookEffect = Math.max(...events.map((e) => Math.max(e.effectiveAt.getTime(), e.createdAt.getTime())));
  return recordChangeSet(tx, ctx, deps, draft, policy.version, {
    trigger: 'hr_event',
    triggerRefs: { events: events.slice(0, 1000).map((e) => e.id) },
    triggeredAt: new Date(Math.min(tookEffect, ctx.clock.now().getTime())),
  });
}
