/**
 * Acting on findings: remediation through one change set (held for approval: four eyes), accepting a risk for a
 * while, and linking an account to its owner by hand. Each in the caller's transaction, audited.
 */
import { appendAudit } from '../audit/index.ts';
import type { Tx } from '../db/index.ts';
import type { Jobs } from '../jobs/index.ts';
import type { CommandContext } from '../kit/context.ts';
import { GatehouseError } from '../kit/errors.ts';
import { loadPolicy } from '../policy/index.ts';
import { recordChangeSet, type PlannedOp, type RecordedChangeSet } from '../provisioning/index.ts';
import { PeopleErrors } from '../identities/index.ts';
import { ReconErrors } from './errors.ts';
import { isUuid } from './views.ts';
import { planObserved } from './findings.ts';
import type { FindingKind } from './schema.ts';

interface FindingRow {
  id: string;
  seq: number;
  kind: FindingKind;
  status: string;
  target_id: string;
  target_name: string;
  person_id: string | null;
  object_id: string | null;
  o_object_id: string | null;
  o_name: string | null;
  o_person_id: string | null;
  o_gone: boolean | null;
}

const NO_AUTOMATIC_FIX: Partial<Record<FindingKind, string>> = {
  sod_violation:
    'which side of the conflict to remove is a decision: remove one by hand (or revoke the role), or accept the risk',
  duplicate_person:
    'whether two HR records are one person is a decision: merge or dismiss them under People › Duplicates',
};

/** Most findings one remediation takes (one change set). */
export const MAX_REMEDIATE = 5000;

/**
 * One change set that fixes these findings, held for approval. Person findings become the planner's operations
 * for those people on those targets (the observed state as the known state, so the change set fixes what is really
 * there); orphans and inactive accounts are disabled. Accounts Gatehouse did not manage yet are linked first.
 */
export async function remediateFindings(
  tx: Tx,
  ctx: CommandContext,
  deps: { jobs: Pick<Jobs, 'send'> },
  ids: readonly string[],
): Promise<RecordedChangeSet> {
  if (!ids.length || ids.length > MAX_REMEDIATE)
    throw new GatehouseError(ReconErrors.invalid, `give between 1 and ${MAX_REMEDIATE} findings to fix`, {
      status: 400,
    });
  const r = await tx.client.query<FindingRow>(
    `select f.id, f.seq, f.kind, f.status, f.target_id, t.name as target_name, f.person_id, f.object_id,
       o.object_id as o_object_id, o.name as o_name, o.person_id as o_person_id, o.gone_at is not null as o_gone
     from findings f join targets t on t.id = f.target_id left join recon_objects o on o.id = f.object_id
     where f.id = any($1::uuid[]) order by f.seq for update of f`,
    [ids],
  );
  const found = new Set(r.rows.map((x) => x.id));
  const missing = ids.filter((id) => !found.has(id));
  if (missing.length)
    throw new GatehouseError(ReconErrors.findingNotFound, `no finding ${missing.slice(0, 5).join(', ')}`, {
      status: 404,
    });
  const problems = r.rows.flatMap((f) => {
    if (f.status !== 'open') return [{ field: `finding #${f.seq}`, message: `it is ${f.status}, not open` }];
    const why = NO_AUTOMATIC_FIX[f.kind];
    return why ? [{ field: `finding #${f.seq}`, message: `${f.kind} has no automatic fix: ${why}` }] : [];
  });
  if (problems.length)
    throw new GatehouseError(
      ReconErrors.wrongState,
      `${problems.length} of these findings cannot be fixed by a change set: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
      { status: 409, problems },
    );

  const policy = await loadPolicy(tx.client);
  const now = ctx.clock.now();
  const ops: PlannedOp[] = [];
  const byTarget = Map.groupBy(r.rows, (f) => f.target_name);
  for (const [targetName, list] of byTarget) {
    const targetId = list[0]!.target_id;
    // Observed accounts Gatehouse does not manage yet become managed (linked) so operations can act on them.
    for (const f of list) if (f.object_id && !f.o_gone) await linkObserved(tx, ctx, f.object_id);
    const accountOf = async (objectId: string) =>
      (
        await tx.client.query<{ id: string; name: string }>(
          `select a.id, a.name from accounts a join recon_objects o on o.target_id = a.target_id and o.object_id = a.object_id
           where o.id = $1 and a.state <> 'deleted'`,
          [objectId],
        )
      ).rows[0];
    const people = [
      ...new Set(
        list
          .filter((f) => f.person_id && f.kind !== 'inactive' && f.kind !== 'orphan')
          .map((f) => f.person_id!),
      ),
    ];
    const compiled = policy.targets.get(targetName);
    if (people.length && compiled) {
      const { plans } = await planObserved(tx.client, policy, compiled, people, now);
      // A managed account that the target no longer has: Gatehouse stops believing in it, so it can be created.
      await markGone(tx, ctx, targetId, people);
      for (const plan of plans) ops.push(...plan.ops.filter((o) => o.targetName === targetName));
    }
    for (const f of list)
      if ((f.kind === 'orphan' || f.kind === 'inactive') && f.object_id) {
        const a = await accountOf(f.object_id);
        if (!a) continue;
        ops.push({
          personId: f.o_person_id,
          targetId,
          targetName,
          accountId: a.id,
          payload: { kind: 'disable_account', quarantineDays: null },
          summary: `disable ${a.name} (${f.kind === 'orphan' ? 'no owner' : 'inactive'})`,
        });
      }
  }
  // One operation per account and kind: an orphan that is also inactive is disabled once.
  const seen = new Set<string>();
  const unique = ops.filter((o) => {
    const k = `${o.targetId}|${o.accountId ?? o.personId}|${JSON.stringify(o.payload)}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  if (!unique.length)
    throw new GatehouseError(
      ReconErrors.nothingToFix,
      'nothing to change: the targets already look as the policy wants (run the reconciliation again to close these findings)',
      { status: 409 },
    );
  const seqs = r.rows.map((f) => f.seq);
  const set = await recordChangeSet(
    tx,
    ctx,
    deps,
    {
      title: `Fix ${seqs.length} finding${seqs.length === 1 ? '' : 's'}`,
      ops: unique,
      approvalReasons: [],
      blocked: [],
      warnings: [],
    },
    policy.version,
    { trigger: 'remediation', triggerRefs: { findings: r.rows.map((f) => f.id) }, hold: true },
  );
  if (!set) throw new Error('a change set with operations was not recorded');
  await tx.client.query(`update findings set change_set_id = $2 where id = any($1::uuid[])`, [
    r.rows.map((f) => f.id),
    set.id,
  ]);
  await appendAudit(
    tx,
    ctx,
    r.rows.map((f) => ({
      action: 'finding.remediation_planned',
      subject: { type: 'finding', id: f.id },
      after: { changeSet: set.seq, kind: f.kind, target: f.target_name },
    })),
  );
  return set;
}

/** Make an observed account a managed one (an `accounts` row), audited; nothing when it already is. */
async function linkObserved(tx: Tx, ctx: CommandContext, objectId: string): Promise<void> {
  const r = await tx.client.query<{
    target_id: string;
    object_id: string;
    name: string;
    attributes: Record<string, unknown>;
    enabled: boolean | null;
    person_id: string | null;
    link_detail: string | null;
    memberships: string[];
  }>(
    `select o.target_id, o.object_id, o.name, o.attributes, o.enabled, o.person_id, o.link_detail,
       array(select e.id from entitlements e where e.target_id = o.target_id and e.object_id = any(o.member_of)) as memberships
     from recon_objects o
     where o.id = $1
       and not exists (select 1 from accounts a where a.target_id = o.target_id and a.object_id = o.object_id and a.state <> 'deleted')
       and (o.person_id is null or not exists (select 1 from accounts a where a.target_id = o.target_id
            and a.person_id = o.person_id and a.state <> 'deleted'))`,
    [objectId],
  );
  const o = r.rows[0];
  if (!o) return;
  const id = ctx.ids();
  const now = ctx.clock.now();
  await tx.client.query(
    `insert into accounts (id, target_id, person_id, object_id, name, attributes, enabled, memberships, state, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
    [
      id,
      o.target_id,
      o.person_id,
      o.object_id,
      o.name,
      JSON.stringify(o.attributes),
      o.enabled ?? true,
      o.memberships,
      o.enabled === false ? 'disabled' : 'active',
      now,
    ],
  );
  await tx.client.query(`update recon_objects set link = 'account' where id = $1`, [objectId]);
  await appendAudit(tx, ctx, {
    action: 'account.linked',
    subject: { type: 'account', id },
    after: { target: o.target_id, account: o.name, person: o.person_id, by: o.link_detail ?? 'no owner' },
    ...(o.person_id ? { dataSubject: `person:${o.person_id}` } : {}),
  });
}

/** Managed accounts of these people that the last read did not find: marked deleted (audited). */
async function markGone(tx: Tx, ctx: CommandContext, targetId: string, personIds: readonly string[]) {
  const r = await tx.client.query<{ id: string; name: string; person_id: string }>(
    `update accounts a set state = 'deleted', updated_at = $3
     where a.target_id = $1 and a.person_id = any($2::uuid[]) and a.state <> 'deleted'
       and exists (select 1 from recon_objects o where o.target_id = a.target_id and o.object_id = a.object_id and o.gone_at is not null)
     returning a.id, a.name, a.person_id`,
    [targetId, personIds, ctx.clock.now()],
  );
  if (r.rows.length)
    await appendAudit(
      tx,
      ctx,
      r.rows.map((a) => ({
        action: 'account.gone',
        subject: { type: 'account', id: a.id },
        after: { account: a.name, reason: 'not found on the target by the last reconciliation' },
        dataSubject: `person:${a.person_id}`,
      })),
    );
}

export const MAX_ACCEPT_DAYS = 366;

/** Accept the risk of an open finding until a date, with a justification; the approver is who accepts. */
export async function acceptFinding(
  tx: Tx,
  ctx: CommandContext,
  id: string,
  input: { justification: string; until: Date },
): Promise<void> {
  const now = ctx.clock.now();
  const problems = [];
  if (input.justification.trim().length < 10)
    problems.push({
      field: 'justification',
      message: 'say why the risk is acceptable (at least 10 characters)',
    });
  if (Number.isNaN(input.until.getTime())) problems.push({ field: 'until', message: 'must be a date' });
  else if (!(input.until.getTime() > now.getTime()))
    problems.push({ field: 'until', message: 'must be in the future', value: input.until.toISOString() });
  else if (input.until.getTime() - now.getTime() > MAX_ACCEPT_DAYS * 86_400_000)
    problems.push({
      field: 'until',
      message: `at most ${MAX_ACCEPT_DAYS} days ahead: an accepted risk is reviewed at least yearly`,
      value: input.until.toISOString(),
    });
  if (problems.length)
    throw new GatehouseError(
      ReconErrors.invalid,
      `cannot accept the risk: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`,
      {
        status: 400,
        problems,
      },
    );
  const r = await tx.client.query<{ seq: number; status: string; kind: string }>(
    `select seq, status, kind from findings where id = $1 for update`,
    [id],
  );
  const f = r.rows[0];
  if (!f) throw new GatehouseError(ReconErrors.findingNotFound, `no finding ${id}`, { status: 404 });
  if (f.status !== 'open')
    throw new GatehouseError(
      ReconErrors.wrongState,
      `finding #${f.seq} is ${f.status}: only an open finding can be accepted`,
      {
        status: 409,
      },
    );
  const who = ctx.actor.name ?? ctx.actor.id;
  await tx.client.query(
    `update findings set status = 'accepted', accepted_by = $2, accepted_at = $3, accepted_until = $4, justification = $5
     where id = $1`,
    [id, who, now, input.until, input.justification.trim()],
  );
  await appendAudit(tx, ctx, {
    action: 'finding.accepted',
    subject: { type: 'finding', id },
    after: { finding: f.seq, kind: f.kind, until: input.until.toISOString(), approver: who },
    reason: input.justification.trim(),
  });
}

/** An agent links an observed account to its owner (a suggestion confirmed, or by hand). Kept across runs. */
export async function linkObject(
  tx: Tx,
  ctx: CommandContext,
  objectId: string,
  personId: string,
): Promise<void> {
  if (!isUuid(objectId))
    throw new GatehouseError(ReconErrors.objectNotFound, `no observed account ${objectId}`, { status: 404 });
  if (!isUuid(personId))
    throw new GatehouseError(PeopleErrors.notFound, `no person ${personId}`, { status: 404 });
  const r = await tx.client.query<{
    name: string;
    person_id: string | null;
    target_id: string;
    link: string | null;
  }>(`select name, person_id, target_id, link from recon_objects where id = $1 for update`, [objectId]);
  const o = r.rows[0];
  if (!o)
    throw new GatehouseError(ReconErrors.objectNotFound, `no observed account ${objectId}`, { status: 404 });
  if (o.link === 'account')
    throw new GatehouseError(
      ReconErrors.wrongState,
      `${o.name} is an account Gatehouse manages; its owner comes from provisioning, not a link`,
      { status: 409 },
    );
  const p = await tx.client.query<{ display_name: string }>(
    `select display_name from people where id = $1 and merged_into is null`,
    [personId],
  );
  if (!p.rows[0]) throw new GatehouseError(PeopleErrors.notFound, `no person ${personId}`, { status: 404 });
  const who = ctx.actor.name ?? ctx.actor.id;
  await tx.client.query(
    `update recon_objects set person_id = $2, link = 'manual', link_detail = $3, suggested_person_id = null,
       suggestion_score = null where id = $1`,
    [objectId, personId, `linked by ${who}`],
  );
  await appendAudit(tx, ctx, {
    action: 'account.linked',
    subject: { type: 'recon_object', id: objectId },
    before: { person: o.person_id },
    after: { account: o.name, person: personId, by: `linked by ${who}` },
    dataSubject: `person:${personId}`,
  });
}
