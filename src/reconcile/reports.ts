/**
 * Evidence for auditors: the findings and "who has what" as report tables (written as CSV or XLSX by
 * `src/reports`), each saying when it was made and which reconciliation runs it comes from.
 */
import type pg from 'pg';
import { GatehouseError } from '../kit/errors.ts';
import { loadPolicy } from '../policy/index.ts';
import { rolesHeld } from '../provisioning/index.ts';
import type { Report } from '../reports/index.ts';
import { ReconErrors } from './errors.ts';
import { listFindings, type FindingQuery } from './views.ts';

type Q = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/** Most rows one report holds (a spreadsheet's practical limit is far above; this keeps a request bounded). */
export const REPORT_ROWS = 200_000;

async function runsMeta(db: Q, target: string | undefined): Promise<[string, string][]> {
  const r = await db.query<{ name: string; seq: number; finished_at: Date }>(
    `select distinct on (t.name) t.name, r.seq, r.finished_at from recon_runs r join targets t on t.id = r.target_id
     where r.status = 'completed' and ($1::text is null or t.name = $1) order by t.name, r.seq desc`,
    [target ?? null],
  );
  return r.rows.map((x) => [`Run of ${x.name}`, `#${x.seq}, completed ${x.finished_at.toISOString()}`]);
}

export async function findingsReport(db: Q, q: FindingQuery, now: Date): Promise<Report> {
  const { items, total } = await listFindings(db, { ...q, limit: REPORT_ROWS });
  return {
    title: 'findings',
    columns: [
      { key: 'seq', header: 'Number', width: 9 },
      { key: 'severity', header: 'Severity', width: 10 },
      { key: 'kind', header: 'Kind', width: 18 },
      { key: 'status', header: 'Status', width: 10 },
      { key: 'target', header: 'Target', width: 16 },
      { key: 'account', header: 'Account', width: 36 },
      { key: 'person', header: 'Person', width: 24 },
      { key: 'employeeId', header: 'Employee id', width: 12 },
      { key: 'summary', header: 'Finding', width: 60 },
      { key: 'fix', header: 'Suggested fix', width: 50 },
      { key: 'monthlyCost', header: 'Monthly cost', width: 12 },
      { key: 'openedAt', header: 'Opened', width: 20 },
      { key: 'acceptedBy', header: 'Accepted by', width: 18 },
      { key: 'acceptedUntil', header: 'Accepted until', width: 20 },
      { key: 'justification', header: 'Justification', width: 40 },
    ],
    rows: items.map((f) => ({
      seq: f.seq,
      severity: f.severity,
      kind: f.kind,
      status: f.status,
      target: f.target,
      account: f.account,
      person: f.personName,
      employeeId: f.employeeId,
      summary: f.summary,
      fix: f.fix,
      monthlyCost: f.monthlyCost,
      openedAt: new Date(f.openedAt),
      acceptedBy: f.acceptedBy,
      acceptedUntil: f.acceptedUntil ? new Date(f.acceptedUntil) : null,
      justification: f.justification,
    })),
    meta: [
      ['Report', 'Reconciliation findings'],
      ['Generated', now.toISOString()],
      [
        'Filter',
        Object.entries({ status: 'open', ...q })
          .filter(([, v]) => v !== undefined && v !== null && v !== '')
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(', ') || 'none',
      ],
      ['Rows', `${items.length} of ${total}`],
      ...(await runsMeta(db, q.target)),
    ],
  };
}

export interface AccessQuery {
  target?: string;
  department?: string;
  personId?: string;
  /** Only accounts of people who hold this role now (by a rule or an assignment). */
  role?: string;
}

/**
 * Who has what: every account seen on a target by its last read, its owner, the roles the owner holds now (why they
 * should have access) and its groups (what they do have).
 */
export async function accessReport(db: Q, q: AccessQuery, now: Date): Promise<Report> {
  // A policy that does not compile leaves the roles column empty; asking for one role then says why.
  const policy = await loadPolicy(db).catch(() => null);
  if (q.role && !policy?.roles.has(q.role)) {
    const why = policy
      ? 'no such role in the policy'
      : 'the policy does not compile, so roles cannot be worked out';
    throw new GatehouseError(
      ReconErrors.invalid,
      policy ? `there is no role "${q.role}" in the policy` : `role "${q.role}": ${why}`,
      { status: 400, problems: [{ field: 'role', message: why, value: q.role }] },
    );
  }
  const r = await db.query<{
    person_id: string | null;
    target: string;
    account: string;
    enabled: boolean | null;
    person: string | null;
    employee_id: string | null;
    department: string | null;
    title: string | null;
    status: string | null;
    link: string | null;
    groups: string[];
    last_login_at: Date | null;
    changed_at: Date;
  }>(
    `select o.person_id, t.name as target, o.name as account, o.enabled, p.display_name as person, p.employee_id, p.department,
       p.title, p.status, o.link,
       array(select coalesce(e.display_name, g) from unnest(o.member_of) g
             left join entitlements e on e.target_id = o.target_id and e.object_id = g order by 1) as groups,
       o.last_login_at, o.changed_at
     from recon_objects o join targets t on t.id = o.target_id left join people p on p.id = o.person_id
     where o.gone_at is null and ($1::text is null or t.name = $1) and ($2::text is null or p.department = $2)
       and ($3::uuid is null or o.person_id = $3)
     order by t.name, p.display_name nulls first, o.name limit $4`,
    [q.target ?? null, q.department ?? null, q.personId ?? null, REPORT_ROWS],
  );
  const owners = [...new Set(r.rows.map((x) => x.person_id).filter((x): x is string => x !== null))];
  const roles = policy ? await rolesHeld(db, policy, owners, now) : new Map<string, string[]>();
  const rolesOfRow = (x: { person_id: string | null }) => (x.person_id ? (roles.get(x.person_id) ?? []) : []);
  const rows = q.role ? r.rows.filter((x) => rolesOfRow(x).includes(q.role!)) : r.rows;
  return {
    title: 'who-has-what',
    columns: [
      { key: 'target', header: 'Target', width: 16 },
      { key: 'account', header: 'Account', width: 36 },
      { key: 'enabled', header: 'Enabled', width: 8 },
      { key: 'person', header: 'Owner', width: 24 },
      { key: 'employeeId', header: 'Employee id', width: 12 },
      { key: 'department', header: 'Department', width: 16 },
      { key: 'title', header: 'Title', width: 20 },
      { key: 'status', header: 'HR status', width: 11 },
      { key: 'link', header: 'Owner found by', width: 14 },
      { key: 'roles', header: 'Roles', width: 30 },
      { key: 'groups', header: 'Groups', width: 50 },
      { key: 'lastLoginAt', header: 'Last sign-in', width: 20 },
    ],
    rows: rows.map((x) => ({
      target: x.target,
      account: x.account,
      enabled: x.enabled,
      person: x.person,
      employeeId: x.employee_id,
      department: x.department,
      title: x.title,
      status: x.status,
      link: x.person ? (x.link === 'account' ? 'Gatehouse' : x.link) : 'no owner',
      roles: rolesOfRow(x).join('; '),
      groups: x.groups.join('; '),
      lastLoginAt: x.last_login_at,
    })),
    meta: [
      ['Report', 'Who has what (accounts as the last reconciliation read them)'],
      ['Generated', now.toISOString()],
      [
        'Filter',
        Object.entries(q)
          .filter(([, v]) => v)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(', ') || 'none',
      ],
      ['Rows', String(rows.length)],
      ...(r.rows.length === REPORT_ROWS
        ? ([
            [
              'Incomplete',
              `only the first ${REPORT_ROWS.toLocaleString('en')} accounts were read: narrow it by target or department`,
            ],
          ] as [string, string][])
        : []),
      ...(await runsMeta(db, q.target)),
    ],
  };
}
