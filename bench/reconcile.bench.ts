/**
 * reconcile: a full reconciliation of N accounts (default 100,000) on each of two real targets — an OpenLDAP slapd
 * and an application's SQL user/role tables (PostgreSQL) — against N people imported from HR, measured end to end
 * (read + merge + correlate + findings) and step by step, with the bare connector read of the same target as the
 * baseline in the same run.
 *
 *   people     N people through one runImport (untimed setup); usernames come from the naming standards
 *   slapd      N inetOrgPerson entries (uid = username, cn, sn, employeeNumber) loaded with slapadd; 1% with a changed
 *              sn (drift), 1% more with no matching person (orphans). slapadd runs no overlays, so no memberOf
 *   sql        app_users (login, display_name, employee_no, status, last_login_at) + app_roles + app_user_roles,
 *              2 roles per user (catalogued), 1% drift, 1% orphans, 5% last signed in 200 days ago (inactive)
 *   read       the baseline: `connector.search(account)` iterated to the end, nothing stored
 *   reconcile  `reconcileTarget`: the same read streamed into COPY, then one transaction (merge, correlate by the
 *              employee number rule, SQL findings, the planner over every person against the observed state)
 *
 * Every target is reconciled twice (first run: every observation new; second: nothing changed) and the read twice;
 * each figure is the faster of its two rounds, every round recorded. Checked: the run completes, correlates all
 * but the orphans, and opens the expected number of drift and orphan findings.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { copyRows } from '../src/db/copy.ts';
import { transaction } from '../src/db/index.ts';
import { runImport } from '../src/hr/index.ts';
import { silentLogger } from '../src/kit/log.ts';
import { checkDocument, discoverEntitlements, savePolicy } from '../src/policy/index.ts';
import { reconcileTarget, type RunResult } from '../src/reconcile/index.ts';
import { createTarget, openConnector } from '../src/targets/index.ts';
import { startSlapd } from '../src/testing/slapd.ts';
import { startBenchDatabase } from './support.ts';
import type { BenchOptions, BenchResult, MethodFigures } from './types.ts';

const DEFAULT_ROWS = 100_000;
const ROUNDS = 2;
const HR_HEADER =
  'employee_id,first_name,last_name,preferred_name,personal_email,mobile_phone,department,title,cost_center,location,time_zone,manager_id,worker_type,status,hire_date,termination_date';
const FIRST = ['Anna', 'Chloé', 'Émile', 'Fatima', 'Grzegorz', 'Hana', 'Júlia', 'Kenji', 'Nguyễn', 'Søren'];
const LAST = [
  'Smith',
  'Müller',
  'García',
  'Nowak',
  'Ångström',
  'Zhang',
  'Novák',
  'Okafor',
  'Silva',
  'Kowalski',
];
const DEPTS = ['Sales', 'Engineering', 'Support', 'Finance'];
const employeeId = (i: number) => `E${String(i).padStart(7, '0')}`;

const fig = (
  rows: number,
  seconds: number,
  extra: Record<string, number | number[]> = {},
): MethodFigures => ({
  rows,
  seconds: Math.round(seconds * 1000) / 1000,
  rowsPerSecond: Math.round(rows / seconds),
  ...extra,
});

export default async function run(opts: BenchOptions): Promise<BenchResult> {
  const n = opts.rows ?? DEFAULT_ROWS;
  const log = opts.log;
  const { server, db, jobs, secrets, clock, ctx, close } = await startBenchDatabase('recon', { max: 6 });
  const deps = { database: db, secrets, log: silentLogger, clock, ids: randomUUID };
  let slapd: Awaited<ReturnType<typeof startSlapd>> | undefined;
  const app = new pg.Client({ connectionString: server.url.replace(/\/[^/?]+(\?|$)/, '/app$1') });
  try {
    const lines = [HR_HEADER];
    for (let i = 0; i < n; i++)
      lines.push(
        [
          employeeId(i),
          FIRST[i % FIRST.length],
          LAST[Math.floor(i / FIRST.length) % LAST.length],
          '',
          `p${i}@home.example`,
          '',
          DEPTS[i % DEPTS.length],
          'Staff',
          `CC${i % 40}`,
          'Berlin',
          'Europe/Berlin',
          '',
          'employee',
          'active',
          '2020-01-01',
          '',
        ].join(','),
      );
    let t = performance.now();
    const imported = await runImport({ database: db, jobs }, ctx, {
      source: 'workday',
      origin: 'cli',
      fileName: 'hr.csv',
      content: Buffer.from(lines.join('\n') + '\n'),
      dryRun: false,
    });
    if (imported.state !== 'applied') throw new Error(`import: ${imported.state}`);
    log(`imported ${n.toLocaleString()} people in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const people = (
      await db.pool.query<{ employee_id: string; username: string; display_name: string; last_name: string }>(
        `select employee_id, username, display_name, last_name from people order by employee_id`,
      )
    ).rows;

    // slapd: every person's account, 1% drift, 1% orphans.
    const ldif: string[] = [];
    const orphans = Math.floor(n / 100);
    const suffix = 'dc=example,dc=test';
    people.forEach((p, i) => {
      ldif.push(
        `dn: uid=${p.username},ou=people,${suffix}\nobjectClass: inetOrgPerson\nuid: ${p.username}\ncn: ${p.display_name}\nsn: ${i % 100 === 7 ? 'Drifted' : p.last_name}\nemployeeNumber: ${p.employee_id}\n`,
      );
    });
    for (let i = 0; i < orphans; i++)
      ldif.push(
        `dn: uid=orphan${i},ou=people,${suffix}\nobjectClass: inetOrgPerson\nuid: orphan${i}\ncn: Orphan ${i}\nsn: Orphan\n`,
      );
    t = performance.now();
    slapd = await startSlapd({ extraLdif: ldif.join('\n'), sizeLimit: 1000 });
    log(
      `slapd loaded ${(people.length + orphans).toLocaleString()} entries in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );

    // The application's tables in their own database on the same server.
    await db.pool.query('create database app');
    await app.connect();
    await app.query(`create table app_roles (id serial primary key, code text unique not null, description text);
      create table app_users (id serial primary key, login text unique not null, display_name text, employee_no text,
        status text not null default 'active', last_login_at timestamptz);
      create table app_user_roles (user_id int references app_users(id), role_id int references app_roles(id),
        primary key (user_id, role_id));
      insert into app_roles (code, description) values ('crm-user', 'CRM user'), ('sales', 'Sales'),
        ('engineering', 'Engineering'), ('support', 'Support'), ('finance', 'Finance');`);
    const now = Date.now();
    const users: (string | number | Date | null)[][] = people.map((p, i) => [
      i + 1,
      p.username,
      i % 100 === 9 ? 'Drifted Name' : p.display_name,
      p.employee_id,
      'active',
      new Date(now - (i % 20 === 3 ? 200 : i % 30) * 86_400_000),
    ]);
    for (let i = 0; i < orphans; i++)
      users.push([people.length + i + 1, `orphan${i}`, `Orphan ${i}`, null, 'active', null]);
    await copyRows(
      app as unknown as pg.PoolClient,
      'app_users',
      ['id', 'login', 'display_name', 'employee_no', 'status', 'last_login_at'],
      users as never,
    );
    await app.query(`select setval('app_users_id_seq', (select max(id) from app_users))`);
    await app.query(`insert into app_user_roles (user_id, role_id)
      select u.id, 1 from app_users u where u.employee_no is not null
      union all select u.id, 2 + ((u.id - 1) % 4) from app_users u where u.employee_no is not null`);
    await app.query('vacuum analyze');
    log('SQL application tables loaded');

    const { bindPassword, ...ldapConfig } = slapd.connectorConfig();
    await transaction(db, async (tx) => {
      await createTarget(
        tx,
        ctx,
        { secrets },
        { name: 'corp-ldap', connector: 'ldap', config: { ...ldapConfig, bindPassword, pageSize: 1000 } },
      );
      await createTarget(
        tx,
        ctx,
        { secrets },
        {
          name: 'crm',
          connector: 'sql',
          config: {
            url: server.url.replace(/\/[^/?]+(\?|$)/, '/app$1'),
            accounts: {
              table: 'app_users',
              id: { column: 'id' },
              name: { column: 'login', attribute: 'login' },
              attributes: { displayName: 'display_name', employeeNo: 'employee_no' },
              enabled: { column: 'status', active: 'active', inactive: 'inactive' },
              lastLogin: 'last_login_at',
            },
            groups: { table: 'app_roles', id: { column: 'id' }, name: { column: 'code', attribute: 'code' } },
            membership: { table: 'app_user_roles', account: 'user_id', group: 'role_id' },
          },
        },
      );
    });
    const crm = await openConnector(deps, 'crm');
    try {
      await transaction(db, (tx) => discoverEntitlements(tx, ctx, 'crm', crm));
    } finally {
      await crm.close();
    }
    await transaction(db, async (tx) => {
      const checked = await checkDocument(tx.client, {
        targets: {
          'corp-ldap': {
            account: {
              namingAttribute: 'uid',
              attributes: {
                uid: 'person.username',
                cn: 'person.displayName',
                sn: 'person.lastName',
                employeeNumber: 'person.employeeId',
              },
            },
          },
          crm: {
            account: {
              namingAttribute: 'login',
              attributes: {
                login: 'person.username',
                displayName: 'person.displayName',
                employeeNo: 'person.employeeId',
              },
            },
          },
        },
        roles: [
          { name: 'LDAP user', accounts: ['corp-ldap'] },
          { name: 'CRM user', grants: [{ target: 'crm', entitlement: 'crm-user' }] },
          ...DEPTS.map((d) => ({
            name: `CRM ${d}`,
            grants: [{ target: 'crm', entitlement: d.toLowerCase() }],
          })),
        ],
        rules: [
          { name: 'Everyone', when: 'true', roles: ['LDAP user', 'CRM user'] },
          ...DEPTS.map((d) => ({ name: d, when: `person.department == "${d}"`, roles: [`CRM ${d}`] })),
        ],
      });
      await savePolicy(tx, ctx, checked.document, 'bench');
    });
    await db.pool.query('vacuum analyze');

    const figures: Record<string, MethodFigures> = {};
    const baseline: Record<string, MethodFigures> = {};
    const runs: Record<string, RunResult[]> = {};
    for (const target of ['corp-ldap', 'crm']) {
      const reads: number[] = [];
      const recon: { seconds: number; result: RunResult }[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const c = await openConnector(deps, target);
        t = performance.now();
        let count = 0;
        try {
          for await (const _ of c.search({ objectClass: 'account', pageSize: 1000 })) count += 1;
        } finally {
          await c.close();
        }
        reads.push((performance.now() - t) / 1000);
        log(`${target}: bare read of ${count} accounts in ${reads.at(-1)!.toFixed(2)} s`);
        t = performance.now();
        const result = await reconcileTarget(deps, ctx, { target, pageSize: 1000 });
        const seconds = (performance.now() - t) / 1000;
        if (result.status !== 'completed') throw new Error(`${target}: ${result.status}: ${result.reason}`);
        recon.push({ seconds, result });
        log(
          `${target}: reconcile round ${round + 1} in ${seconds.toFixed(2)} s: ${JSON.stringify(result.counts)}`,
        );
      }
      const total = people.length + orphans;
      const first = recon[0]!;
      const rest = recon.slice(1);
      const steady = rest.reduce((a, b) => (b.seconds < a.seconds ? b : a), rest[0]!);
      const secs = (r: RunResult) => r.counts.seconds!;
      figures[`${target}.first`] = fig(total, first.seconds, {
        readSeconds: secs(first.result).read,
        mergeSeconds: secs(first.result).merge,
        correlateSeconds: secs(first.result).correlate,
        findingsSeconds: secs(first.result).findings,
        findingsOpened: first.result.findingsOpened,
      });
      figures[`${target}.again`] = fig(total, steady.seconds, {
        readSeconds: secs(steady.result).read,
        mergeSeconds: secs(steady.result).merge,
        correlateSeconds: secs(steady.result).correlate,
        findingsSeconds: secs(steady.result).findings,
        secondsPerRound: recon.map((r) => Math.round(r.seconds * 1000) / 1000),
      });
      baseline[`${target}.read`] = fig(total, Math.min(...reads), {
        secondsPerRound: reads.map((s) => Math.round(s * 1000) / 1000),
      });
      runs[target] = recon.map((r) => r.result);
      const c = first.result.counts;
      if (c.unmatched !== orphans || c.rule !== people.length)
        throw new Error(
          `${target}: expected ${people.length} correlated by rule and ${orphans} orphans, got ${JSON.stringify(c)}`,
        );
    }
    const findings = (
      await db.pool.query<{ target: string; kind: string; n: number }>(
        `select t.name as target, f.kind, count(*)::int as n from findings f join targets t on t.id = f.target_id
         where f.status = 'open' group by 1, 2 order by 1, 2`,
      )
    ).rows;
    const ratio = (a: string, b: string) =>
      Math.round((figures[a]!.rowsPerSecond / baseline[b]!.rowsPerSecond) * 1000) / 1000;
    return {
      figures: { ...figures, openFindings: JSON.stringify(findings), target: 2000 },
      baseline: {
        name: 'read',
        description: 'the bare connector read of the same accounts (search iterated to the end), same run',
        figures: baseline,
      },
      ratios: {
        ldapFirstToRead: ratio('corp-ldap.first', 'corp-ldap.read'),
        ldapAgainToRead: ratio('corp-ldap.again', 'corp-ldap.read'),
        sqlFirstToRead: ratio('crm.first', 'crm.read'),
        sqlAgainToRead: ratio('crm.again', 'crm.read'),
        ldapFirstToTarget: Math.round((figures['corp-ldap.first']!.rowsPerSecond / 2000) * 1000) / 1000,
        sqlFirstToTarget: Math.round((figures['crm.first']!.rowsPerSecond / 2000) * 1000) / 1000,
      },
      notes: [
        `${n.toLocaleString()} people (one HR import, untimed), each with an account on both targets, plus ${orphans} orphans per target; 1% of accounts drift, 5% of CRM accounts last signed in 200 days ago.`,
        'first: every observation is new (the first reconciliation of a target); again: the same accounts read again, nothing changed. The time per step comes from the run record (counts.seconds).',
        'Correlation is by the employee-number rule the mapping implies; the planner runs over every person (N) with the observed account as the known state.',
        'slapd is loaded with slapadd (no overlays run, so accounts have no memberOf); the SQL target has 2 catalogued roles per user. The embedded PostgreSQL holds both Gatehouse and the application database; slapd runs on the same 2 cores.',
      ],
      postgresVersion: (await db.pool.query<{ v: string }>('show server_version')).rows[0]?.v ?? null,
    };
  } finally {
    await app.end().catch(() => undefined);
    await slapd?.stop();
    await close();
  }
}
