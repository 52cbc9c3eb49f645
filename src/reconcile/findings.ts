/**
 * Findings of one run: what is wrong on a target, found set-based (orphans, terminated people with enabled
 * accounts, inactive accounts) and by the planner (drift, grants made outside Gatehouse, missing accounts, SoD
 * violations on existing access), gathered into a temp table `recon_found` and then merged into `findings`:
 * new keys open, open ones not found again close, accepted ones past their expiry reopen.
 */
import type pg from 'pg';
import type { AttributeValue } from '../connectors/kit/types.ts';
import { copyRows } from '../db/copy.ts';
import type { CatalogEntitlement, CompiledPolicy, CompiledTarget } from '../policy/compile.ts';
import {
  loadPlanInput,
  planPeople,
  type AccountState,
  type KnownAccount,
  type PersonPlan,
  type PlanInput,
} from '../provisioning/index.ts';
import type { FindingKind, Severity } from './schema.ts';

type Q = Pick<pg.PoolClient, 'query'>;

/** One finding as a run computes it (before it is matched with what is already open). */
export interface Found {
  key: string;
  kind: FindingKind;
  severity: Severity;
  personId: string | null;
  /** recon_objects.id */
  objectId: string | null;
  entitlementId: string | null;
  summary: string;
  evidence: Record<string, unknown>;
  fix: string;
  monthlyCost: number | null;
}

/** What the planner-based findings need to know of an observed account. */
export interface Observed {
  id: string;
  objectId: string;
  name: string;
  attributes: Record<string, AttributeValue>;
  enabled: boolean | null;
  memberOf: string[];
  personId: string;
  /** The `accounts` row when Gatehouse manages it. */
  accountId: string | null;
  state: AccountState | null;
  quarantineUntil: Date | null;
}

/** A one-value list reads as the value (LDAP returns every attribute as a list). */
const shown = (v: AttributeValue | undefined): AttributeValue =>
  Array.isArray(v) && v.length === 1 ? (v[0] as AttributeValue) : (v ?? null);

const PLANNER_KINDS: FindingKind[] = ['drift', 'outside_grant', 'missing_account', 'sod_violation'];

/** The known state the planner should see on this target: what the read found, not what Gatehouse believes. */
function observedAccount(
  o: Observed,
  target: CompiledTarget,
  byObject: Map<string, CatalogEntitlement>,
): KnownAccount {
  const enabled = o.enabled ?? true;
  return {
    id: o.accountId ?? `observed:${o.id}`,
    targetId: target.id,
    targetName: target.name,
    personId: o.personId,
    objectId: o.objectId,
    name: o.name,
    attributes: o.attributes,
    enabled,
    memberships: o.memberOf.map((g) => byObject.get(g)?.id).filter((x): x is string => !!x),
    state: o.state ?? (enabled ? 'active' : 'disabled'),
    quarantineUntil: o.quarantineUntil,
  };
}

/**
 * Findings from one person's plan on one target. Attribute and group shortfalls of one account are one drift
 * finding; each group (or the account itself) the policy does not give is its own "granted outside" finding.
 * Disables of terminated people are left to the SQL finding; deletes after a quarantine are normal deprovisioning.
 */
export function findingsFromPlan(
  plan: PersonPlan,
  target: CompiledTarget,
  person: { name: string; status: string | null },
  observed: Observed | undefined,
  catalog: Map<string, CatalogEntitlement>,
): Found[] {
  const out: Found[] = [];
  const t = target.name;
  const drift: Record<string, unknown>[] = [];
  for (const op of plan.ops) {
    if (op.targetName !== t) continue;
    const p = op.payload;
    const account = observed?.name ?? '';
    switch (p.kind) {
      case 'create_account':
        out.push({
          key: `missing_account:${t}:person:${plan.personId}`,
          kind: 'missing_account',
          severity: 'medium',
          personId: plan.personId,
          objectId: null,
          entitlementId: null,
          summary: `${person.name} should have an account on ${t} and has none`,
          evidence: { desired: p.attributes, enabled: p.enabled },
          fix: `Create the account on ${t}`,
          monthlyCost: null,
        });
        break;
      case 'update_account':
        for (const c of p.changes)
          drift.push({ attribute: c.attribute, found: shown(c.from), expected: shown(c.to) });
        break;
      case 'rename_account':
        drift.push({ attribute: p.attribute, found: p.from, expected: p.to });
        break;
      case 'enable_account':
        drift.push({ attribute: 'enabled', found: false, expected: true });
        break;
      case 'add_member':
        drift.push({ attribute: 'group', found: null, expected: p.groupName, entitlement: p.key });
        break;
      case 'remove_member': {
        const e = catalog.get(p.entitlementId);
        out.push({
          key: `outside_grant:${t}:${observed?.objectId ?? plan.personId}:${p.entitlementId}`,
          kind: 'outside_grant',
          severity: e?.privileged ? 'high' : 'medium',
          personId: plan.personId,
          objectId: observed?.id ?? null,
          entitlementId: p.entitlementId,
          summary: `${person.name} is in ${e?.displayName ?? p.groupName} on ${t}, which no role or assignment gives`,
          evidence: { account, group: p.groupName, entitlement: p.key, privileged: e?.privileged ?? false },
          fix: `Remove ${account} from ${e?.displayName ?? p.groupName}, or assign a role that grants it`,
          monthlyCost: null,
        });
        break;
      }
      case 'disable_account':
        if (person.status === 'terminated' || !observed) break;
        if (!p.quarantineDays && p.quarantineDays !== 0) {
          // "not started yet": a prehire's account enabled early.
          drift.push({ attribute: 'enabled', found: true, expected: false });
          break;
        }
        out.push({
          key: `outside_grant:${t}:${observed.objectId}:account`,
          kind: 'outside_grant',
          severity: 'medium',
          personId: plan.personId,
          objectId: observed.id,
          entitlementId: null,
          summary: `${person.name} has the account ${account} on ${t}, which no role or assignment gives`,
          evidence: { account, enabled: observed.enabled },
          fix: `Disable ${account}, or assign a role that gives an account on ${t}`,
          monthlyCost: null,
        });
        break;
      default:
        break;
    }
  }
  if (drift.length && observed)
    out.push({
      key: `drift:${t}:${observed.objectId}`,
      kind: 'drift',
      severity: 'medium',
      personId: plan.personId,
      objectId: observed.id,
      entitlementId: null,
      summary: `${observed.name} on ${t} differs from the policy: ${drift.map((d) => d.attribute).join(', ')}`,
      evidence: { account: observed.name, differences: drift },
      fix: `Set ${drift.map((d) => d.attribute).join(', ')} back to what the policy says`,
      monthlyCost: null,
    });
  for (const s of plan.sod)
    if (s.existing)
      out.push({
        key: `sod_violation:${t}:${plan.personId}:${s.rule}`,
        kind: 'sod_violation',
        severity: 'high',
        personId: plan.personId,
        objectId: observed?.id ?? null,
        entitlementId: null,
        summary: `${person.name} holds both sides of "${s.rule}"`,
        evidence: { rule: s.rule, reason: s.reason },
        fix: 'Remove one side of the conflict, or accept the risk with a justification',
        monthlyCost: null,
      });
  return out;
}

/** A person with more than one account on a target: the ones beyond the first are not what the policy gives. */
export function secondAccount(personId: string, name: string, o: Observed, target: string): Found {
  return {
    key: `outside_grant:${target}:${o.objectId}:account`,
    kind: 'outside_grant',
    severity: 'high',
    personId,
    objectId: o.id,
    entitlementId: null,
    summary: `${name} has a second account ${o.name} on ${target}`,
    evidence: { account: o.name, enabled: o.enabled, groups: o.memberOf.length },
    fix: `Disable ${o.name} once its owner no longer needs it`,
    monthlyCost: null,
  };
}

const FOUND_COLUMNS = [
  'key',
  'kind',
  'severity',
  'person_id',
  'object_id',
  'entitlement_id',
  'summary',
  'evidence',
  'fix',
  'monthly_cost',
] as const;

async function createFoundTable(db: Q): Promise<void> {
  await db.query(`create temp table if not exists recon_found (
    key text primary key, kind text not null, severity text not null, person_id uuid, object_id uuid,
    entitlement_id uuid, summary text not null, evidence jsonb not null, fix text not null, monthly_cost numeric)`);
  await db.query('truncate recon_found');
}

/**
 * Orphans, terminated people with enabled accounts, inactive accounts and duplicate people (two HR records flagged
 * as one human, each with an account here): one statement each.
 */
async function sqlFindings(
  db: Q,
  target: CompiledTarget | { id: string; name: string },
  inactiveDays: number,
  now: Date,
) {
  const params = [target.id, target.name];
  await db.query(
    `insert into recon_found (key, kind, severity, person_id, object_id, entitlement_id, summary, evidence, fix, monthly_cost)
     select 'orphan:' || $2 || ':' || o.object_id, 'orphan', case when o.enabled is false then 'low' else 'high' end,
       null, o.id, null,
       'Account ' || o.name || ' on ' || $2 || ' has no owner',
       jsonb_build_object('account', o.name, 'enabled', o.enabled, 'lastLoginAt', o.last_login_at,
         'groups', cardinality(o.member_of),
         'suggestion', case when s.id is null then null else jsonb_build_object('personId', s.id, 'name', s.display_name,
           'employeeId', s.employee_id, 'score', round(o.suggestion_score::numeric, 2)) end),
       case when s.id is null then 'Find its owner and link it, or disable it'
            else 'Link it to ' || s.display_name || ' if it is theirs, or disable it' end,
       null
     from recon_objects o left join people s on s.id = o.suggested_person_id
     where o.target_id = $1 and o.gone_at is null and o.person_id is null`,
    params,
  );
  await db.query(
    `insert into recon_found (key, kind, severity, person_id, object_id, entitlement_id, summary, evidence, fix, monthly_cost)
     select 'terminated_active:' || $2 || ':' || o.object_id, 'terminated_active', 'critical', p.id, o.id, null,
       p.display_name || ' left (' || coalesce(to_char(p.termination_at at time zone 'UTC', 'YYYY-MM-DD'), 'terminated') ||
         ') and still has the enabled account ' || o.name || ' on ' || $2,
       jsonb_build_object('account', o.name, 'employeeId', p.employee_id, 'terminatedAt', p.termination_at,
         'lastLoginAt', o.last_login_at, 'link', o.link),
       'Disable ' || o.name || ' and remove its groups', null
     from recon_objects o join people p on p.id = o.person_id
     where o.target_id = $1 and o.gone_at is null and p.status = 'terminated' and o.enabled is not false`,
    params,
  );
  await db.query(
    `insert into recon_found (key, kind, severity, person_id, object_id, entitlement_id, summary, evidence, fix, monthly_cost)
     select 'inactive:' || $2 || ':' || o.object_id, 'inactive', 'medium', o.person_id, o.id, null,
       o.name || ' on ' || $2 || ' has not signed in for ' || extract(day from $3::timestamptz - o.last_login_at)::int || ' days',
       jsonb_build_object('account', o.name, 'lastLoginAt', o.last_login_at, 'inactiveDays', $4::int,
         'groups', coalesce(c.groups, '[]'::jsonb)),
       'Disable ' || o.name || case when c.cost > 0 then ' (saves ' || c.cost || ' a month)' else '' end,
       c.cost
     from recon_objects o
     left join lateral (
       select sum(e.monthly_cost) as cost, jsonb_agg(e.display_name order by e.display_name) as groups
       from entitlements e where e.target_id = $1 and e.object_id = any(o.member_of)
     ) c on true
     where o.target_id = $1 and o.gone_at is null and o.enabled is not false
       and o.last_login_at < $3::timestamptz - make_interval(days => $4::int)
     on conflict (key) do nothing`,
    [...params, now, inactiveDays],
  );
  // One human under two employee ids has two sets of access: flagged by HR matching (src/identities/duplicates.ts),
  // a finding here once both records own an account on this target. It closes when the pair is merged or dismissed.
  const owner = (p: string) =>
    `join lateral (select o.id, o.name from recon_objects o
       where o.target_id = $1 and o.person_id = ${p}.id and o.gone_at is null order by o.name limit 1) o${p} on true`;
  const who = (p: string) =>
    `jsonb_build_object('personId', ${p}.id, 'name', ${p}.display_name, 'employeeId', ${p}.employee_id, 'account', o${p}.name)`;
  await db.query(
    `insert into recon_found (key, kind, severity, person_id, object_id, entitlement_id, summary, evidence, fix, monthly_cost)
     select 'duplicate_person:' || $2 || ':' || d.id, 'duplicate_person', 'medium', pa.id, opa.id, null,
       pa.display_name || ' (' || pa.employee_id || ') and ' || pb.display_name || ' (' || pb.employee_id ||
         ') look like one person, and both have an account on ' || $2,
       jsonb_build_object('duplicateId', d.id, 'reasons', d.reasons, 'score', round(d.score::numeric, 2),
         'people', jsonb_build_array(${who('pa')}, ${who('pb')})),
       'Decide under People › Duplicates: merge the two records if they are one person (the second account then shows ' ||
         'as a finding of its own), or dismiss the match',
       null
     from person_duplicates d
     join people p1 on p1.id = d.person_a join people p2 on p2.id = d.person_b
     -- the record HR had first leads (the finding is its person's)
     cross join lateral (select (p1.created_at, p1.employee_id) <= (p2.created_at, p2.employee_id) as first) o
     join people pa on pa.id = case when o.first then p1.id else p2.id end and pa.merged_into is null
     join people pb on pb.id = case when o.first then p2.id else p1.id end and pb.merged_into is null
     ${owner('pa')} ${owner('pb')}
     where d.state = 'open'`,
    params,
  );
}

/** Each person's observed accounts on the target, the managed one first: the planner sees the first. */
async function loadObserved(
  db: Q,
  targetId: string,
  personIds: readonly string[],
): Promise<Map<string, Observed[]>> {
  const r = await db.query<{
    id: string;
    object_id: string;
    name: string;
    attributes: Record<string, AttributeValue>;
    enabled: boolean | null;
    member_of: string[];
    person_id: string;
    account_id: string | null;
    state: AccountState | null;
    quarantine_until: Date | null;
  }>(
    `select o.id, o.object_id, o.name, o.attributes, o.enabled, o.member_of, o.person_id, a.id as account_id, a.state,
            a.quarantine_until
     from recon_objects o
     left join accounts a on a.target_id = o.target_id and a.object_id = o.object_id and a.state <> 'deleted'
     where o.target_id = $1 and o.person_id = any($2::uuid[]) and o.gone_at is null
     order by (a.id is null), o.first_seen_at`,
    [targetId, personIds],
  );
  const out = new Map<string, Observed[]>();
  for (const row of r.rows) {
    const list = out.get(row.person_id) ?? [];
    if (!list.length) out.set(row.person_id, list);
    list.push({
      id: row.id,
      objectId: row.object_id,
      name: row.name,
      attributes: row.attributes,
      enabled: row.enabled,
      memberOf: row.member_of,
      personId: row.person_id,
      accountId: row.account_id,
      state: row.state,
      quarantineUntil: row.quarantine_until,
    });
  }
  return out;
}

/**
 * The planner for these people on one target, with what the last read found there as the known state: the policy
 * narrowed to the target (nothing is planned elsewhere), each person's first observed account in place of what
 * Gatehouse believes. Findings and remediation plan through this one function, so they cannot disagree.
 */
export async function planObserved(
  db: Q,
  policy: CompiledPolicy,
  target: CompiledTarget,
  personIds: readonly string[],
  now: Date,
): Promise<{ input: PlanInput; plans: PersonPlan[]; observed: Map<string, Observed[]> }> {
  const byObject = new Map<string, CatalogEntitlement>();
  for (const e of policy.catalog.values()) if (e.targetId === target.id) byObject.set(e.objectId, e);
  const only: CompiledPolicy = { ...policy, targets: new Map([[target.name, target]]) };
  const input = await loadPlanInput(db, only, personIds, now);
  const observed = await loadObserved(db, target.id, personIds);
  for (const p of input.people) {
    const o = observed.get(p.id)?.[0];
    input.accounts.set(p.id, o ? [observedAccount(o, target, byObject)] : []);
  }
  return { input, plans: planPeople(input), observed };
}

const PLAN_CHUNK = 5000;

/** The planner over everyone who has, or should have, an account here, with the observed state as known state. */
async function plannerFindings(
  db: Q,
  policy: CompiledPolicy,
  target: CompiledTarget,
  now: Date,
): Promise<number> {
  // People with operations still waiting on this target are being fixed: their findings stay as they are.
  const busy = await db.query<{ person_id: string }>(
    `select distinct person_id from change_ops where target_id = $1 and status in ('pending', 'running') and person_id is not null`,
    [target.id],
  );
  const skip = new Set(busy.rows.map((r) => r.person_id));
  let after: string | null = null;
  let planned = 0;
  for (;;) {
    const page: pg.QueryResult<{ id: string }> = await db.query<{ id: string }>(
      `select id from people p where merged_into is null and ($2::uuid is null or id > $2)
         and (p.status <> 'terminated'
              or exists (select 1 from recon_objects o where o.target_id = $1 and o.person_id = p.id and o.gone_at is null)
              or exists (select 1 from accounts a where a.target_id = $1 and a.person_id = p.id and a.state <> 'deleted'))
       order by id limit $3`,
      [target.id, after, PLAN_CHUNK],
    );
    if (!page.rows.length) break;
    after = page.rows[page.rows.length - 1]!.id;
    const ids = page.rows.map((r) => r.id).filter((id) => !skip.has(id));
    const { input, plans, observed: observedOf } = await planObserved(db, policy, target, ids, now);
    const facts = new Map(input.people.map((p) => [p.id, p.facts]));
    const found: Found[] = [];
    for (const plan of plans) {
      const f = facts.get(plan.personId)!;
      found.push(
        ...findingsFromPlan(
          plan,
          target,
          { name: String(f.displayName ?? f.employeeId), status: f.status },
          observedOf.get(plan.personId)?.[0],
          policy.catalog,
        ),
      );
      for (const extra of observedOf.get(plan.personId)?.slice(1) ?? [])
        found.push(secondAccount(plan.personId, String(f.displayName ?? f.employeeId), extra, target.name));
    }
    planned += plans.length;
    await copyRows(
      db as pg.PoolClient,
      'recon_found',
      FOUND_COLUMNS,
      found.map((x) => [
        x.key,
        x.kind,
        x.severity,
        x.personId,
        x.objectId,
        x.entitlementId,
        x.summary,
        x.evidence,
        x.fix,
        x.monthlyCost,
      ]),
    );
  }
  if (skip.size)
    await db.query(
      `insert into recon_found (key, kind, severity, person_id, object_id, entitlement_id, summary, evidence, fix, monthly_cost)
       select key, kind, severity, person_id, object_id, entitlement_id, summary, evidence, fix, monthly_cost
       from findings where target_id = $1 and status <> 'closed' and person_id = any($2::uuid[]) and kind = any($3::text[])
       on conflict (key) do nothing`,
      [target.id, [...skip], PLANNER_KINDS],
    );
  return planned;
}

export interface MergeCounts {
  opened: number;
  closed: number;
  reopened: number;
  open: number;
}

/** Compute this run's findings for the target and merge them into `findings`. */
export async function refreshFindings(
  db: Q,
  policy: CompiledPolicy | null,
  target: { id: string; name: string },
  runId: string,
  now: Date,
): Promise<MergeCounts & { planned: number }> {
  await createFoundTable(db);
  const compiled = policy?.targets.get(target.name);
  await sqlFindings(db, target, compiled?.policy.reconcile.inactiveDays ?? 90, now);
  const planned = policy && compiled ? await plannerFindings(db, policy, compiled, now) : 0;
  await db.query('analyze recon_found');
  const params = [target.id, runId, now];
  const reopened = await db.query(
    `update findings f set status = 'open', last_seen_run_id = $2, summary = n.summary, evidence = n.evidence,
       severity = n.severity, monthly_cost = n.monthly_cost
     from recon_found n
     where f.target_id = $1 and f.key = n.key and f.status = 'accepted' and f.accepted_until <= $3`,
    params,
  );
  await db.query(
    `update findings f set last_seen_run_id = $2, summary = n.summary, evidence = n.evidence, severity = n.severity,
       monthly_cost = n.monthly_cost, fix = n.fix, object_id = n.object_id
     from recon_found n
     where f.target_id = $1 and f.key = n.key and f.status <> 'closed' and f.last_seen_run_id <> $2`,
    [target.id, runId],
  );
  const closed = await db.query(
    `update findings f set status = 'closed', closed_at = $3, closed_run_id = $2
     where f.target_id = $1 and f.status <> 'closed' and not exists (select 1 from recon_found n where n.key = f.key)`,
    params,
  );
  const opened = await db.query(
    `insert into findings (id, key, kind, severity, status, target_id, person_id, object_id, entitlement_id, summary,
       evidence, fix, monthly_cost, opened_at, opened_run_id, last_seen_run_id)
     select gen_random_uuid(), n.key, n.kind, n.severity, 'open', $1, n.person_id, n.object_id, n.entitlement_id,
       n.summary, n.evidence, n.fix, n.monthly_cost, $3, $2, $2
     from recon_found n
     where not exists (select 1 from findings f where f.key = n.key and f.status <> 'closed')
     order by n.kind, n.key`,
    params,
  );
  const open = await db.query<{ n: number }>(
    `select count(*)::int as n from findings where target_id = $1 and status = 'open'`,
    [target.id],
  );
  return {
    opened: opened.rowCount ?? 0,
    closed: closed.rowCount ?? 0,
    reopened: reopened.rowCount ?? 0,
    open: open.rows[0]!.n,
    planned,
  };
}
