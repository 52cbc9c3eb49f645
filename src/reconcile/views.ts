/** Read side of reconciliation: runs, per-target status, findings and observed accounts, for the API, CLI and console. */
import type pg from 'pg';
import { GatehouseError } from '../kit/errors.ts';
import { ReconErrors } from './errors.ts';
import {
  FINDING_KINDS,
  FINDING_STATUSES,
  SEVERITIES,
  type FindingKind,
  type FindingStatus,
  type RunCounts,
  type RunStatus,
  type Severity,
} from './schema.ts';

type Q = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export interface RunView {
  id: string;
  seq: number;
  target: string;
  mode: 'full' | 'incremental';
  trigger: 'manual' | 'schedule';
  status: RunStatus;
  reason: string | null;
  counts: Partial<RunCounts>;
  findingsOpened: number;
  findingsClosed: number;
  startedBy: string;
  startedAt: string;
  finishedAt: string | null;
}

const RUN_SELECT = `r.id, r.seq, t.name as target, r.mode, r.trigger, r.status, r.reason, r.counts,
  r.findings_opened, r.findings_closed, r.started_by, r.started_at, r.finished_at`;

interface RunRow {
  id: string;
  seq: number;
  target: string;
  mode: RunView['mode'];
  trigger: RunView['trigger'];
  status: RunStatus;
  reason: string | null;
  counts: Partial<RunCounts>;
  findings_opened: number;
  findings_closed: number;
  started_by: string;
  started_at: Date;
  finished_at: Date | null;
}

const runView = (r: RunRow): RunView => ({
  id: r.id,
  seq: r.seq,
  target: r.target,
  mode: r.mode,
  trigger: r.trigger,
  status: r.status,
  reason: r.reason,
  counts: r.counts,
  findingsOpened: r.findings_opened,
  findingsClosed: r.findings_closed,
  startedBy: r.started_by,
  startedAt: r.started_at.toISOString(),
  finishedAt: r.finished_at?.toISOString() ?? null,
});

export async function listRuns(db: Q, q: { target?: string; limit?: number }): Promise<RunView[]> {
  const r = await db.query<RunRow>(
    `select ${RUN_SELECT} from recon_runs r join targets t on t.id = r.target_id
     where ($1::text is null or t.name = $1) order by r.seq desc limit $2`,
    [q.target ?? null, Math.min(Math.max(q.limit ?? 50, 1), 500)],
  );
  return r.rows.map(runView);
}

export interface TargetReconView {
  target: string;
  connector: string;
  lastRun: RunView | null;
  lastCompleted: string | null;
  accounts: number;
  unmatched: number;
  open: Record<Severity, number>;
  monthlySavings: number;
}

/** Per target: the last run, accounts seen, unmatched, open findings by severity and the inactive accounts' cost. */
export async function reconStatus(db: Q): Promise<TargetReconView[]> {
  const r = await db.query<
    RunRow & {
      target_name: string;
      connector: string;
      last_completed: Date | null;
      accounts: number;
      unmatched: number;
      open: Record<Severity, number> | null;
      savings: string | null;
      has_run: boolean;
    }
  >(
    `select t.name as target_name, t.connector, lr.*, lr.id is not null as has_run,
       (select max(finished_at) from recon_runs c where c.target_id = t.id and c.status = 'completed') as last_completed,
       (select count(*)::int from recon_objects o where o.target_id = t.id and o.gone_at is null) as accounts,
       (select count(*)::int from recon_objects o where o.target_id = t.id and o.gone_at is null and o.person_id is null) as unmatched,
       (select jsonb_object_agg(severity, n) from (select severity, count(*)::int as n from findings f
          where f.target_id = t.id and f.status = 'open' group by severity) s) as open,
       (select sum(monthly_cost) from findings f where f.target_id = t.id and f.status = 'open' and f.kind = 'inactive') as savings
     from targets t
     left join lateral (select ${RUN_SELECT} from recon_runs r join targets t2 on t2.id = r.target_id
                        where r.target_id = t.id order by r.seq desc limit 1) lr on true
     order by t.name`,
  );
  return r.rows.map((x) => ({
    target: x.target_name,
    connector: x.connector,
    lastRun: x.has_run ? runView(x) : null,
    lastCompleted: x.last_completed?.toISOString() ?? null,
    accounts: x.accounts,
    unmatched: x.unmatched,
    open: { critical: 0, high: 0, medium: 0, low: 0, ...(x.open ?? {}) },
    monthlySavings: Number(x.savings ?? 0),
  }));
}

export interface FindingView {
  id: string;
  seq: number;
  kind: FindingKind;
  severity: Severity;
  status: FindingStatus;
  target: string;
  personId: string | null;
  personName: string | null;
  employeeId: string | null;
  account: string | null;
  objectId: string | null;
  summary: string;
  evidence: Record<string, unknown>;
  fix: string;
  monthlyCost: number | null;
  openedAt: string;
  openedRun: number | null;
  lastSeenRun: number | null;
  closedAt: string | null;
  acceptedBy: string | null;
  acceptedUntil: string | null;
  justification: string | null;
  changeSetId: string | null;
  changeSetSeq: number | null;
  changeSetStatus: string | null;
  /**
   * Who the account belongs to now, and how that was found (`account`: Gatehouse manages it; `rule`; `manual`: an
   * agent linked it). An orphan linked since the last run shows its new owner here until the next run closes it.
   */
  accountOwner: { personId: string; name: string; link: string | null } | null;
}

export interface FindingQuery {
  target?: string;
  kind?: FindingKind;
  severity?: Severity;
  status?: FindingStatus | 'all';
  personId?: string;
  /** Text in the summary, account or person name. */
  q?: string;
  /** The `next` of the previous page: `<severity rank>:<seq>` (findings are ordered by severity, then newest). */
  before?: string;
  limit?: number;
}

const SEVERITY_ORDER = `case f.severity when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end`;

export function checkFindingQuery(q: FindingQuery): void {
  const problems = [];
  if (q.kind && !FINDING_KINDS.includes(q.kind))
    problems.push({ field: 'kind', message: `one of ${FINDING_KINDS.join(', ')}`, value: q.kind });
  if (q.severity && !SEVERITIES.includes(q.severity))
    problems.push({ field: 'severity', message: `one of ${SEVERITIES.join(', ')}`, value: q.severity });
  if (q.status && q.status !== 'all' && !FINDING_STATUSES.includes(q.status))
    problems.push({
      field: 'status',
      message: `one of ${FINDING_STATUSES.join(', ')}, all`,
      value: q.status,
    });
  if (problems.length)
    throw new GatehouseError(
      ReconErrors.invalid,
      problems.map((p) => `${p.field}: ${p.message}`).join('; '),
      {
        status: 400,
        problems,
      },
    );
}

const FINDING_SELECT = `f.id, f.seq, f.kind, f.severity, f.status, t.name as target, f.person_id, p.display_name as person_name,
  p.employee_id, o.name as account, f.object_id, f.summary, f.evidence, f.fix, f.monthly_cost, f.opened_at,
  ro.seq as opened_run, rl.seq as last_seen_run, f.closed_at, f.accepted_by, f.accepted_until, f.justification,
  f.change_set_id, cs.seq as change_set_seq, cs.status as change_set_status,
  o.person_id as owner_id, op.display_name as owner_name, o.link as owner_link`;
const FINDING_FROM = `findings f join targets t on t.id = f.target_id
  left join people p on p.id = f.person_id left join recon_objects o on o.id = f.object_id
  left join people op on op.id = o.person_id
  left join recon_runs ro on ro.id = f.opened_run_id left join recon_runs rl on rl.id = f.last_seen_run_id
  left join change_sets cs on cs.id = f.change_set_id`;

interface FindingRow {
  id: string;
  seq: number;
  kind: FindingKind;
  severity: Severity;
  status: FindingStatus;
  target: string;
  person_id: string | null;
  person_name: string | null;
  employee_id: string | null;
  account: string | null;
  object_id: string | null;
  summary: string;
  evidence: Record<string, unknown>;
  fix: string;
  monthly_cost: string | null;
  opened_at: Date;
  opened_run: number | null;
  last_seen_run: number | null;
  closed_at: Date | null;
  accepted_by: string | null;
  accepted_until: Date | null;
  justification: string | null;
  change_set_id: string | null;
  change_set_seq: number | null;
  change_set_status: string | null;
  owner_id: string | null;
  owner_name: string | null;
  owner_link: string | null;
}

const findingView = (r: FindingRow): FindingView => ({
  id: r.id,
  seq: r.seq,
  kind: r.kind,
  severity: r.severity,
  status: r.status,
  target: r.target,
  personId: r.person_id,
  personName: r.person_name,
  employeeId: r.employee_id,
  account: r.account,
  objectId: r.object_id,
  summary: r.summary,
  evidence: r.evidence,
  fix: r.fix,
  monthlyCost: r.monthly_cost === null ? null : Number(r.monthly_cost),
  openedAt: r.opened_at.toISOString(),
  openedRun: r.opened_run,
  lastSeenRun: r.last_seen_run,
  closedAt: r.closed_at?.toISOString() ?? null,
  acceptedBy: r.accepted_by,
  acceptedUntil: r.accepted_until?.toISOString() ?? null,
  justification: r.justification,
  changeSetId: r.change_set_id,
  changeSetSeq: r.change_set_seq,
  changeSetStatus: r.change_set_status,
  accountOwner: r.owner_id ? { personId: r.owner_id, name: r.owner_name ?? '', link: r.owner_link } : null,
});

/** Findings, most severe first then newest, a page at a time (`before`: a seq from the previous page). */
export async function listFindings(
  db: Q,
  q: FindingQuery,
): Promise<{ items: FindingView[]; total: number; next: string | null }> {
  checkFindingQuery(q);
  const limit = Math.min(Math.max(q.limit ?? 50, 1), 10_000);
  const where = `($1::text is null or t.name = $1) and ($2::text is null or f.kind = $2)
    and ($3::text is null or f.severity = $3) and ($4::text = 'all' or f.status = $4)
    and ($5::uuid is null or f.person_id = $5)
    and ($6::text is null or f.summary ilike $6 or o.name ilike $6 or p.display_name ilike $6)`;
  const like = q.q ? `%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  const params = [
    q.target ?? null,
    q.kind ?? null,
    q.severity ?? null,
    q.status ?? 'open',
    q.personId ?? null,
    like,
  ];
  const cursor = q.before ? /^(\d):(\d+)$/.exec(q.before) : null;
  if (q.before && !cursor)
    throw new GatehouseError(ReconErrors.invalid, 'before: give the `next` of the previous page', {
      status: 400,
      problems: [{ field: 'before', message: 'the `next` of the previous page', value: q.before }],
    });
  const r = await db.query<FindingRow & { rank: number }>(
    `select ${FINDING_SELECT}, ${SEVERITY_ORDER} as rank from ${FINDING_FROM} where ${where}
       and ($7::int is null or ${SEVERITY_ORDER} > $7 or (${SEVERITY_ORDER} = $7 and f.seq < $8::bigint))
     order by ${SEVERITY_ORDER}, f.seq desc limit $9`,
    [...params, cursor ? Number(cursor[1]) : null, cursor ? Number(cursor[2]) : null, limit + 1],
  );
  const total = await db.query<{ n: number }>(
    `select count(*)::int as n from ${FINDING_FROM} where ${where}`,
    params,
  );
  const page = r.rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(findingView),
    total: total.rows[0]!.n,
    next: r.rows.length > limit && last ? `${last.rank}:${last.seq}` : null,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string): boolean => UUID.test(s);

export async function getFinding(db: Q, id: string): Promise<FindingView> {
  if (!/^\d{1,15}$/.test(id) && !isUuid(id))
    throw new GatehouseError(ReconErrors.findingNotFound, `no finding ${id}: give its number or id`, {
      status: 404,
    });
  const r = await db.query<FindingRow>(
    `select ${FINDING_SELECT} from ${FINDING_FROM} where ${isUuid(id) ? 'f.id = $1::uuid' : 'f.seq = $1::bigint'}`,
    [id],
  );
  if (!r.rows[0]) throw new GatehouseError(ReconErrors.findingNotFound, `no finding ${id}`, { status: 404 });
  return findingView(r.rows[0]);
}
