/**
 * reconcile: a full reconciliation of N accounts (default 100,000) on each of four real targets — an OpenLDAP
 * slapd, a CRM's SQL user/role tables (PostgreSQL), an ERP's SQL tables on Debian's PostgreSQL server (the "SQL
 * target" standing in for Samba AD, which fills at about 17 accounts/s) and a SCIM 2.0 application — against N people imported from HR, measured end to end (read + merge + correlate + findings) and step by step,
 * with the bare connector read of the same target as the baseline in the same run.
 *
 *   people     N people through one runImport (untimed setup); usernames come from the naming standards
 *   slapd      N inetOrgPerson entries (uid = username, cn, sn, employeeNumber) loaded with slapadd; 1% with a changed
 *              sn (drift), 1% more with no matching person (orphans). slapadd runs no overlays, so no memberOf
 *   sql        app_users (login, display_name, employee_no, status, last_login_at) + app_roles + app_user_roles,
 *              2 roles per user (catalogued), 1% drift, 1% orphans, 5% last signed in 200 days ago (inactive)
 *   erp        staff_accounts (uuid key, username, full_name, staff_number, boolean active, last_seen) + erp_groups
 *              (text keys) + staff_groups on a throwaway Debian PostgreSQL server (another process and version than
 *              Gatehouse's embedded one), 1 group per user, 1% drift, 1% orphans, 3% last seen 400 days ago
 *   scim       the SCIMMY peer of src/testing/scim-peer.ts, started in this process, its store filled directly
 *              (ScimPeerStore.load, no HTTP): users for the first M people (M = N unless BENCH_RECON_SCIM_ROWS
 *              says fewer) with userName, displayName, name, a work email and the enterprise extension's employeeNumber
 *              (mapped to the Gatehouse attribute employeeNumber), 1% with a changed name.familyName (drift), 1% orphans.
 *              No inactive accounts: the SCIM connector reads no last sign-in. A rule gives the SCIM role to those M
 *              people only. The peer pages in its store (SCIMMY's sparse-array form), so SCIMMY builds schema
 *              instances for the requested page only — without that, every list request coerced every stored user
 *              and a read of 100,000 at 1,000 a page took hours
 *   read       the baseline: `connector.search(account)` iterated to the end, nothing stored (1,000 a page)
 *   reconcile  `reconcileTarget`: the same read streamed into COPY, then one transaction (merge, correlate by the
 *              employee number rule, SQL findings, the planner over every person against the observed state)
 *   peer       one `GET /Users?startIndex=1&count=1000` to the warm SCIM peer: what a page costs it
 *              (scim-app.peerPage); the time the peer spent answering during the bare read, measured in the peer
 *              (scim-app.read.peerBusySeconds), over the read's time (scimPeerShareOfRead)
 *
 * Every target is reconciled twice (first run: every observation new; second: nothing changed) and the read twice;
 * each figure is the faster of its two rounds, every round recorded. Checked: the run completes, correlates all
 * but the orphans, and leaves exactly the expected open findings per target (drift, orphan, and inactive on the SQL targets).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { copyRows } from '../src/db/copy.ts';
import { PostgresServer, transaction } from '../src/db/index.ts';
import { runImport } from '../src/hr/index.ts';
import { silentLogger } from '../src/kit/log.ts';
import { checkDocument, discoverEntitlements, savePolicy } from '../src/policy/index.ts';
import { reconcileTarget, type RunResult } from '../src/reconcile/index.ts';
import { createTarget, openConnector } from '../src/targets/index.ts';
import { startScimPeer, type ScimPeer } from '../src/testing/scim-peer.ts';
import { startSlapd } from '../src/testing/slapd.ts';
import { systemPgBinDir } from '../src/testing/system-pg.ts';
import { startBenchDatabase } from './support.ts';
import type { BenchOptions, BenchResult, MethodFigures } from './types.ts';

const DEFAULT_ROWS = 100_000;
/** Accounts a SCIM list page holds (the connector's page size in this bench, as on the other targets). */
const PAGE = 1000;
const ROUNDS = 2;
const SCIM_CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const SCIM_ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
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
/** How many of 0 … n-1 satisfy `p`. */
const countWhere = (n: number, p: (i: number) => boolean) => {
  let c = 0;
  for (let i = 0; i < n; i++) if (p(i)) c += 1;
  return c;
};

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
  // BENCH_RECON_SCIM_ROWS limits the SCIM application to fewer accounts (e.g. to measure the peer alone).
  const scimCap = Number(process.env.BENCH_RECON_SCIM_ROWS ?? n);
  if (!Number.isSafeInteger(scimCap) || scimCap <= 0)
    throw new Error(
      `BENCH_RECON_SCIM_ROWS needs a positive integer, got ${process.env.BENCH_RECON_SCIM_ROWS}`,
    );
  /** The first m people (by employee id) have an account on the SCIM application. */
  const m = Math.min(n, scimCap);
  const log = opts.log;
  const { server, db, jobs, secrets, clock, ctx, close } = await startBenchDatabase('recon', { max: 6 });
  const deps = { database: db, secrets, log: silentLogger, clock, ids: randomUUID };
  let slapd: Awaited<ReturnType<typeof startSlapd>> | undefined;
  let peer: ScimPeer | undefined;
  // The ERP's database: Debian's PostgreSQL server, a separate server process from Gatehouse's embedded one.
  const erpBin = systemPgBinDir();
  if (!erpBin) throw new Error('the ERP target needs Debian PostgreSQL (apt-get install postgresql-15)');
  const erpDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-erp-'));
  const erpServer = new PostgresServer({
    clusterDir: join(erpDir, 'pg'),
    port: 0,
    password: randomBytes(16).toString('hex'),
    log: silentLogger,
    binDir: erpBin,
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
  });
  let erp: pg.Client | undefined;
  let erpVersion: string | undefined;
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

    // The ERP: its own schema on another PostgreSQL server — uuid keys, a boolean "active", text group keys, a
    // last-seen timestamp; 1% drift (full_name), 1% orphans, 3% last seen 400 days ago (inactive).
    await erpServer.start();
    erp = new pg.Client({ connectionString: erpServer.url });
    await erp.connect();
    await erp.query(`create table erp_groups (group_key text primary key, label text not null);
      create table staff_accounts (account_key uuid primary key, username text unique not null, full_name text,
        staff_number text, active boolean not null default true, last_seen timestamptz);
      create table staff_groups (account_key uuid references staff_accounts, group_key text references erp_groups,
        primary key (account_key, group_key));
      insert into erp_groups values ('erp-user', 'ERP user'), ('purchasing', 'Purchasing'), ('ledger', 'Ledger');`);
    const staff: (string | boolean | Date | null)[][] = people.map((p, i) => [
      randomUUID(),
      p.username,
      i % 100 === 3 ? 'Drifted Name' : p.display_name,
      p.employee_id,
      true,
      new Date(now - (i % 100 < 3 ? 400 : i % 60) * 86_400_000),
    ]);
    for (let i = 0; i < orphans; i++)
      staff.push([randomUUID(), `orphan${i}`, `Orphan ${i}`, null, true, null]);
    await copyRows(
      erp as unknown as pg.PoolClient,
      'staff_accounts',
      ['account_key', 'username', 'full_name', 'staff_number', 'active', 'last_seen'],
      staff as never,
    );
    await erp.query(`insert into staff_groups select account_key, 'erp-user' from staff_accounts
      where staff_number is not null`);
    await erp.query('vacuum analyze');
    erpVersion = (await erp.query<{ v: string }>(`select current_setting('server_version') as v`)).rows[0]!.v;
    log(`ERP tables loaded on PostgreSQL ${erpVersion}`);

    // The SCIM application: a SCIMMY server in this process, its store filled directly (no HTTP). The first m people
    // have a user (employeeNumber in the enterprise extension), 1% with a changed name.familyName (drift), plus 1%
    // orphans. SCIM has no last sign-in, so no inactive accounts here.
    const scimOrphans = Math.floor(m / 100);
    peer = await startScimPeer();
    t = performance.now();
    peer.store.load('Users', [
      ...people.slice(0, m).map((p, i) => ({
        schemas: [SCIM_CORE, SCIM_ENTERPRISE],
        userName: p.username,
        displayName: p.display_name,
        name: { formatted: p.display_name, familyName: i % 100 === 5 ? 'Drifted' : p.last_name },
        emails: [{ type: 'work', value: `${p.username}@example.com`, primary: true }],
        active: true,
        [SCIM_ENTERPRISE]: { employeeNumber: p.employee_id, department: DEPTS[i % DEPTS.length] },
      })),
      ...Array.from({ length: scimOrphans }, (_, i) => ({
        schemas: [SCIM_CORE],
        userName: `orphan${i}`,
        displayName: `Orphan ${i}`,
        name: { familyName: 'Orphan' },
        active: true,
      })),
    ]);
    log(
      `SCIM peer loaded ${(m + scimOrphans).toLocaleString()} users in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );

    const { bindPassword, ...ldapConfig } = slapd.connectorConfig();
    await transaction(db, async (tx) => {
      await createTarget(
        tx,
        ctx,
        { secrets },
        { name: 'corp-ldap', connector: 'ldap', config: { ...ldapConfig, bindPassword, pageSize: PAGE } },
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
      await createTarget(
        tx,
        ctx,
        { secrets },
        {
          name: 'erp',
          connector: 'sql',
          config: {
            url: erpServer.url,
            accounts: {
              table: 'staff_accounts',
              id: { column: 'account_key', generated: false, attribute: 'accountKey' },
              name: { column: 'username', attribute: 'username' },
              attributes: { accountKey: 'account_key', fullName: 'full_name', staffNumber: 'staff_number' },
              enabled: { column: 'active' },
              lastLogin: 'last_seen',
            },
            groups: {
              table: 'erp_groups',
              id: { column: 'group_key', generated: false },
              name: { column: 'group_key', attribute: 'key' },
              attributes: { label: 'label' },
            },
            membership: { table: 'staff_groups', account: 'account_key', group: 'group_key' },
          },
        },
      );
      await createTarget(
        tx,
        ctx,
        { secrets },
        {
          name: 'scim-app',
          connector: 'scim',
          config: {
            baseUrl: peer!.url,
            auth: { type: 'bearer', token: peer!.token },
            pageSize: PAGE,
            attributeMapping: { employeeNumber: `${SCIM_ENTERPRISE}:employeeNumber` },
          },
        },
      );
    });
    for (const name of ['crm', 'erp']) {
      const c = await openConnector(deps, name);
      try {
        await transaction(db, (tx) => discoverEntitlements(tx, ctx, name, c));
      } finally {
        await c.close();
      }
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
          erp: {
            account: {
              namingAttribute: 'username',
              attributes: {
                username: 'person.username',
                fullName: 'person.displayName',
                staffNumber: 'person.employeeId',
              },
            },
          },
          'scim-app': {
            account: {
              namingAttribute: 'userName',
              attributes: {
                userName: 'person.username',
                displayName: 'person.displayName',
                'name.familyName': 'person.lastName',
                employeeNumber: 'person.employeeId',
              },
            },
          },
        },
        roles: [
          { name: 'LDAP user', accounts: ['corp-ldap'] },
          { name: 'SCIM app user', accounts: ['scim-app'] },
          { name: 'CRM user', grants: [{ target: 'crm', entitlement: 'crm-user' }] },
          { name: 'ERP user', grants: [{ target: 'erp', entitlement: 'erp-user' }] },
          ...DEPTS.map((d) => ({
            name: `CRM ${d}`,
            grants: [{ target: 'crm', entitlement: d.toLowerCase() }],
          })),
        ],
        rules: [
          { name: 'Everyone', when: 'true', roles: ['LDAP user', 'CRM user', 'ERP user'] },
          // Only the people who have a user there should have one (no "missing account" findings for the rest).
          {
            name: 'SCIM app users',
            when: m === n ? 'true' : `person.employeeId < "${employeeId(m)}"`,
            roles: ['SCIM app user'],
          },
          ...DEPTS.map((d) => ({ name: d, when: `person.department == "${d}"`, roles: [`CRM ${d}`] })),
        ],
      });
      await savePolicy(tx, ctx, checked.document, 'bench');
    });
    await db.pool.query('vacuum analyze');

    const figures: Record<string, MethodFigures> = {};
    const baseline: Record<string, MethodFigures> = {};
    const runs: Record<string, RunResult[]> = {};
    /** Per target: accounts correlated by rule, orphans, and the open findings by kind a run must leave. */
    const expected: Record<string, { people: number; orphans: number; findings: Record<string, number> }> = {
      'corp-ldap': {
        people: n,
        orphans,
        findings: { drift: countWhere(n, (i) => i % 100 === 7), orphan: orphans },
      },
      crm: {
        people: n,
        orphans,
        findings: {
          drift: countWhere(n, (i) => i % 100 === 9),
          inactive: countWhere(n, (i) => i % 20 === 3),
          orphan: orphans,
        },
      },
      erp: {
        people: n,
        orphans,
        findings: {
          drift: countWhere(n, (i) => i % 100 === 3),
          inactive: countWhere(n, (i) => i % 100 < 3),
          orphan: orphans,
        },
      },
      'scim-app': {
        people: m,
        orphans: scimOrphans,
        findings: { drift: countWhere(m, (i) => i % 100 === 5), orphan: scimOrphans },
      },
    };
    for (const k of Object.values(expected))
      for (const [kind, v] of Object.entries(k.findings)) if (!v) delete k.findings[kind];

    const scimTotal = m + scimOrphans;
    for (const target of ['corp-ldap', 'crm', 'erp', 'scim-app']) {
      const reads: number[] = [];
      const readRequests: number[] = [];
      /** Seconds the SCIM peer spent answering during each bare read. */
      const readPeerBusy: number[] = [];
      const recon: { seconds: number; result: RunResult; requests: number }[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const c = await openConnector(deps, target);
        let requests = peer.requestCount;
        const busy = peer.busySeconds;
        t = performance.now();
        let count = 0;
        try {
          for await (const _ of c.search({ objectClass: 'account', pageSize: PAGE })) count += 1;
        } finally {
          await c.close();
        }
        reads.push((performance.now() - t) / 1000);
        readRequests.push(peer.requestCount - requests);
        readPeerBusy.push(peer.busySeconds - busy);
        log(`${target}: bare read of ${count} accounts in ${reads.at(-1)!.toFixed(2)} s`);
        requests = peer.requestCount;
        t = performance.now();
        const result = await reconcileTarget(deps, ctx, { target, pageSize: PAGE });
        const seconds = (performance.now() - t) / 1000;
        if (result.status !== 'completed') throw new Error(`${target}: ${result.status}: ${result.reason}`);
        recon.push({ seconds, result, requests: peer.requestCount - requests });
        log(
          `${target}: reconcile round ${round + 1} in ${seconds.toFixed(2)} s: ${JSON.stringify(result.counts)}`,
        );
      }
      const exp = expected[target]!;
      const total = exp.people + exp.orphans;
      const first = recon[0]!;
      const rest = recon.slice(1);
      const steady = rest.reduce((a, b) => (b.seconds < a.seconds ? b : a), rest[0]!);
      const secs = (r: RunResult) => r.counts.seconds!;
      // Requests to the SCIM peer (list pages, the sync probe, the service provider configuration).
      const scim = target === 'scim-app';
      figures[`${target}.first`] = fig(total, first.seconds, {
        readSeconds: secs(first.result).read,
        mergeSeconds: secs(first.result).merge,
        correlateSeconds: secs(first.result).correlate,
        findingsSeconds: secs(first.result).findings,
        findingsOpened: first.result.findingsOpened,
        ...(scim ? { requests: first.requests } : {}),
      });
      figures[`${target}.again`] = fig(total, steady.seconds, {
        readSeconds: secs(steady.result).read,
        mergeSeconds: secs(steady.result).merge,
        correlateSeconds: secs(steady.result).correlate,
        findingsSeconds: secs(steady.result).findings,
        secondsPerRound: recon.map((r) => Math.round(r.seconds * 1000) / 1000),
        ...(scim ? { requests: steady.requests } : {}),
      });
      const fastest = reads.indexOf(Math.min(...reads));
      baseline[`${target}.read`] = fig(total, reads[fastest]!, {
        secondsPerRound: reads.map((s) => Math.round(s * 1000) / 1000),
        ...(scim
          ? {
              requests: readRequests[fastest]!,
              peerBusySeconds: Math.round(readPeerBusy[fastest]! * 1000) / 1000,
            }
          : {}),
      });
      runs[target] = recon.map((r) => r.result);
      const c = first.result.counts;
      if (c.unmatched !== exp.orphans || c.rule !== exp.people)
        throw new Error(
          `${target}: expected ${exp.people} correlated by rule and ${exp.orphans} orphans, got ${JSON.stringify(c)}`,
        );
    }
    // What one page of 1,000 costs the SCIM peer (SCIMMY coerces each user of the page), with the peer warm.
    const peerProbe: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      t = performance.now();
      const res = await fetch(`${peer.url}/Users?startIndex=1&count=${PAGE}`, {
        headers: { authorization: `Bearer ${peer.token}` },
      });
      const body = (await res.json()) as { totalResults?: number };
      peerProbe.push((performance.now() - t) / 1000);
      if (body.totalResults !== scimTotal)
        throw new Error(`SCIM peer: expected ${scimTotal} users, got ${JSON.stringify(body).slice(0, 200)}`);
    }
    log(`SCIM peer: one page of ${PAGE} (of ${scimTotal} users) in ${Math.min(...peerProbe).toFixed(3)} s`);

    const findings = (
      await db.pool.query<{ target: string; kind: string; n: number }>(
        `select t.name as target, f.kind, count(*)::int as n from findings f join targets t on t.id = f.target_id
         where f.status = 'open' group by 1, 2 order by 1, 2`,
      )
    ).rows;
    for (const [target, exp] of Object.entries(expected)) {
      const got: Record<string, number> = Object.fromEntries(
        findings.filter((f) => f.target === target).map((f) => [f.kind, f.n]),
      );
      if (!Object.keys({ ...got, ...exp.findings }).every((k) => got[k] === exp.findings[k]))
        throw new Error(
          `${target}: expected open findings ${JSON.stringify(exp.findings)}, got ${JSON.stringify(got)}`,
        );
    }
    const peerSeconds = Math.min(...peerProbe);
    figures['scim-app.peerPage'] = fig(Math.min(PAGE, scimTotal), peerSeconds, {
      secondsPerRound: peerProbe.map((s) => Math.round(s * 1000) / 1000),
    });
    const scimRead = baseline['scim-app.read']!;
    const ratio = (a: string, b: string) =>
      Math.round((figures[a]!.rowsPerSecond / baseline[b]!.rowsPerSecond) * 1000) / 1000;
    const toTarget = (a: string) => Math.round((figures[a]!.rowsPerSecond / 2000) * 1000) / 1000;
    // The peer's share of the bare SCIM read: the time it spent answering (request in → response finished), measured
    // in the peer during that read, over the read's time. The rest is Gatehouse's connector (HTTP, JSON, mapping).
    const peerShare = Math.round(((scimRead.peerBusySeconds as number) / scimRead.seconds) * 1000) / 1000;
    return {
      figures: { ...figures, openFindings: JSON.stringify(findings), scimAccounts: m, target: 2000 },
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
        erpFirstToRead: ratio('erp.first', 'erp.read'),
        erpAgainToRead: ratio('erp.again', 'erp.read'),
        scimFirstToRead: ratio('scim-app.first', 'scim-app.read'),
        scimAgainToRead: ratio('scim-app.again', 'scim-app.read'),
        ldapFirstToTarget: toTarget('corp-ldap.first'),
        sqlFirstToTarget: toTarget('crm.first'),
        erpFirstToTarget: toTarget('erp.first'),
        scimFirstToTarget: toTarget('scim-app.first'),
        scimPeerShareOfRead: peerShare,
      },
      notes: [
        `${n.toLocaleString()} people (one HR import, untimed), each with an account on slapd, the CRM's and the ERP's SQL tables, plus ${orphans} orphans per target; 1% of accounts drift, 5% of CRM accounts last signed in 200 days ago, 3% of ERP accounts 400 days ago.`,
        `The ERP is a second SQL target in place of Samba AD (which fills at about 17 accounts/s here, so 100,000 would take over an hour and a half): its own schema (uuid keys, a boolean active column, text group keys) on Debian's PostgreSQL ${erpVersion}, a separate server from Gatehouse's embedded one.`,
        `The SCIM application (a SCIMMY server in the bench process, store filled directly) holds users for the first ${m.toLocaleString()} people plus ${scimOrphans} orphans; 1% drift (name.familyName); SCIM has no last sign-in, so no inactive accounts. The peer pages in its store (SCIMMY's documented sparse-array form), so SCIMMY coerces only the requested page: one page of ${PAGE.toLocaleString()} costs the warm peer ${Math.round(peerSeconds * 1000)} ms (peerPage); answering took ${Math.round(peerShare * 100)}% of the bare read, measured in the peer (scimPeerShareOfRead).${m < n ? ` Limited to ${m.toLocaleString()} accounts by BENCH_RECON_SCIM_ROWS.` : ''}`,
        'first: every observation is new (the first reconciliation of a target); again: the same accounts read again, nothing changed. The time per step comes from the run record (counts.seconds).',
        'Correlation is by the employee-number rule the mapping implies (employeeNumber, from the enterprise extension, on SCIM); the planner runs over every person (N, also on the SCIM target, where a rule limits the role to the people who have a user there) with the observed account as the known state.',
        "SCIM requests: the bare read is ceil(accounts / 1,000) list pages; a reconciliation adds the service provider configuration and, before the read, the connector's sync position (a count=1 probe and a meta.lastModified filter; the filter is evaluated by SCIMMY over every stored user).",
        "slapd is loaded with slapadd (no overlays run, so accounts have no memberOf); the SQL target has 2 catalogued roles per user. The embedded PostgreSQL holds both Gatehouse and the application database; slapd runs on the same 2 cores, the SCIM peer in the bench process itself (its work and the connector's share one thread).",
      ],
      postgresVersion: (await db.pool.query<{ v: string }>('show server_version')).rows[0]?.v ?? null,
    };
  } finally {
    await app.end().catch(() => undefined);
    await erp?.end().catch(() => undefined);
    await erpServer.stop().catch(() => undefined);
    rmSync(erpDir, { recursive: true, force: true });
    await peer?.close().catch(() => undefined);
    await slapd?.stop();
    await close();
  }
}
