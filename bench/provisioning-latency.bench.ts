/**
 * provisioning-latency: from an HR event to the targets — how long after an HR import a leaver is disabled and
 * out of their groups in a real OpenLDAP slapd and a real Samba AD DC, with the product's job system as it runs in
 * production (pg-boss polling every 1 s, the default; 2 handlers per queue; a pool of 10 connections; the policy's
 * default apply settings: 4 accounts at once per target, at most 100 operations/s).
 *
 * Setup (untimed): a fresh embedded PostgreSQL (fsync on), a durable slapd (fsync on every write), an OU tree in
 * the shared Samba AD DC; the targets corp-ldap and corp-ad, their groups created on the directories and
 * discovered into the catalog, and a policy like the end-to-end test's (src/provisioning/directories.test.ts):
 * everyone gets an LDAP account in all-staff, everyone outside the "Bulk" department an AD account in All Staff,
 * Sales/Engineering/Support also their department's group on both. The mass-change brake is set to threshold 1
 * (never holds) and, before the bursts, the HR source's brake is lifted (`updateSource`), so nothing waits for a
 * person. Every HR import sends the whole population (what a full HR export is) through `runImport`.
 *
 *   singleLeaver   SINGLE people (departments Sales, Engineering, Support; both targets) join; once their joiner
 *                  change set is applied, LEAVERS times: wait a random 0–2 s (so the import lands at a random
 *                  phase of the 1 s polling), terminate one person by HR import, and wait until their change set is
 *                  applied. Per target: from the import call returning to the last operation's `done_at` on that
 *                  target, and from the change set's `triggered_at` (when the event took effect: the import's
 *                  start) — p50 and p95 over the leavers; plus `latencyStats` (src/provisioning/changesets.ts), per
 *                  operation, and the time split (import, lifecycle queue, apply queue, apply).
 *   burstLdap      BURST people in "Bulk" (LDAP only) join; then one import terminates all of them at once: time
 *                  from the import call returning until every one of their operations is done.
 *   burstAd        the same for BURST (at most AD_BURST_MAX) people in "Field" (both targets: the AD account and
 *                  an LDAP one). Samba creates about 13 accounts/s on this machine, so their joiners take minutes.
 *
 * Baseline (`direct`, same run, same servers): the same leaver operations straight through the connectors — no HR
 * import, no queue, no database: per target, disable + remove from each group for accounts created beforehand,
 * one leaver at a time (single) and 4 leavers at once with no rate limit (bursts, on their own group: all BURST
 * accounts on LDAP, a sample of AD_DIRECT_SAMPLE on AD, whose accounts must first be created at Samba's pace).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Control } from 'ldapts';
import { adTestDomain, type AdTestDomain } from '../src/connectors/active-directory/test-fixture.ts';
import { Secret, type Connector, type ObjectRef } from '../src/connectors/kit/types.ts';
import { migrate, openDatabase, PostgresServer, transaction, type Database } from '../src/db/index.ts';
import { runImport, updateSource } from '../src/hr/index.ts';
import { Jobs } from '../src/jobs/index.ts';
import { systemClock } from '../src/kit/clock.ts';
import type { CommandContext } from '../src/kit/context.ts';
import { uuid } from '../src/kit/ids.ts';
import { createLogger, silentLogger } from '../src/kit/log.ts';
import { secretBox } from '../src/kit/secret-box.ts';
import {
  checkDocument,
  discoverEntitlements,
  savePolicy,
  type PolicyDocumentInput,
} from '../src/policy/index.ts';
import { generatePassword } from '../src/provisioning/apply.ts';
import { latencyStats } from '../src/provisioning/changesets.ts';
import { ALL_QUEUES } from '../src/runtime/queues.ts';
import { createTarget } from '../src/targets/index.ts';
import { openTargetForTest } from '../src/targets/test-support.ts';
import { releaseSambaDc, sambaMissing } from '../src/testing/samba.ts';
import { slapdSkipReason, startSlapd, type Slapd } from '../src/testing/slapd.ts';
import type { BenchOptions, BenchResult, Figures, MethodFigures } from './types.ts';

const SINGLE = 25;
const LEAVERS = 20;
const DEFAULT_BURST = 1000;
/** Samba AD creates about 13 accounts/s here: the AD burst's joiners take a minute or more. */
const AD_BURST_MAX = 1000;
/** The direct AD baseline runs on a smaller sample (its accounts must be created first, at Samba's pace). */
const AD_DIRECT_SAMPLE = 200;
/** The product's defaults (src/config: GATEHOUSE_WORKER_CONCURRENCY, GATEHOUSE_DB_POOL_MAX; Jobs: 1 s polling). */
const WORKER_CONCURRENCY = 2;
const POOL_MAX = 10;
const POLLING_SECONDS = 1;
const APPLY_DEFAULTS = { concurrency: 4, ratePerSecond: 100 };
const TARGET_P95_MS = 5000;
const TARGET_BURST_S = 60;
const TREE_DELETE_OID = '1.2.840.113556.1.4.805';

const HR_HEADER =
  'employee_id,first_name,last_name,preferred_name,personal_email,mobile_phone,department,title,cost_center,location,time_zone,manager_id,worker_type,status,hire_date,termination_date';
const FIRST = ['Anna', 'Ben', 'Chloé', 'David', 'Émile', 'Fatima', 'Grzegorz', 'Hana', 'Ivan', 'Júlia'];
const LAST = ['Smith', 'Müller', 'García', 'Nowak', 'Rossi', 'Dubois', 'Tanaka', 'Okafor', 'Silva'];
const DEPTS = ['Sales', 'Engineering', 'Support'];
const LDAP_GROUPS = ['all-staff', 'sales', 'engineering', 'support'];
const AD_GROUPS = ['All Staff', 'Sales', 'Engineering', 'Support'];

interface Person {
  employeeId: string;
  first: string;
  last: string;
  department: string;
  manager: string;
  terminated: boolean;
}

const POLICY: PolicyDocumentInput = {
  settings: { massChange: { threshold: 1, minimum: 10 } },
  targets: {
    'corp-ldap': {
      account: {
        namingAttribute: 'uid',
        attributes: {
          uid: 'person.username',
          cn: 'person.displayName',
          sn: 'person.lastName',
          givenName: 'person.firstName',
          mail: 'person.workEmail',
          title: 'person.title',
          departmentNumber: 'person.department',
          manager: 'manager.account',
        },
      },
      deprovision: { action: 'delete', quarantineDays: 30 },
    },
    'corp-ad': {
      account: {
        attributes: {
          sAMAccountName: 'person.username',
          givenName: 'person.firstName',
          sn: 'person.lastName',
          displayName: 'person.displayName',
          department: 'person.department',
          title: 'person.title',
          mail: 'person.workEmail',
        },
      },
      password: { initial: 'generate', mustChange: true },
    },
  },
  roles: [
    {
      name: 'LDAP staff',
      accounts: ['corp-ldap'],
      grants: [{ target: 'corp-ldap', entitlement: 'all-staff' }],
    },
    { name: 'AD staff', accounts: ['corp-ad'], grants: [{ target: 'corp-ad', entitlement: 'All Staff' }] },
    ...DEPTS.map((d, i) => ({
      name: d,
      grants: [
        { target: 'corp-ldap', entitlement: LDAP_GROUPS[i + 1]! },
        { target: 'corp-ad', entitlement: AD_GROUPS[i + 1]! },
      ],
    })),
  ],
  rules: [
    { name: 'Everyone', when: 'person.workerType in ["employee", "contractor"]', roles: ['LDAP staff'] },
    { name: 'Directory users', when: 'person.department != "Bulk"', roles: ['AD staff'] },
    ...DEPTS.map((d) => ({ name: `${d} department`, when: `person.department == "${d}"`, roles: [d] })),
  ],
};

const FINAL = new Set(['applied', 'failed', 'awaiting_approval', 'blocked', 'rejected', 'cancelled']);

interface SetRow {
  id: string;
  seq: number;
  status: string;
  people_count: number;
  op_count: number;
  triggered_at: Date;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

interface Settled {
  sets: SetRow[];
  /** Per target: operations, the first operation's start and the last one's done_at (ms since epoch). */
  targets: Map<string, { ops: number; firstStart: number; lastDone: number }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const r1 = (x: number) => Math.round(x * 10) / 10;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** Linear interpolation between closest ranks (PostgreSQL's percentile_cont). */
function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const pos = (s.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** Run `work` over `items` with at most `width` in flight. */
async function inFlight<T>(
  items: readonly T[],
  width: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

export default async function run(opts: BenchOptions): Promise<BenchResult> {
  const missing = slapdSkipReason() || sambaMissing();
  if (missing) throw new Error(missing);
  const burst = opts.rows ?? DEFAULT_BURST;
  const adBurstSize = Math.min(burst, AD_BURST_MAX);
  const log = opts.log;
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-latency-'));
  const server = new PostgresServer({
    clusterDir: join(dir, 'pg'),
    port: 0,
    password: randomBytes(18).toString('base64url'),
    log: createLogger({ level: 'warn', name: 'bench' }),
  });
  const key = randomBytes(32);
  const secrets = secretBox(key, 'bench');
  const ctx: CommandContext = {
    actor: { type: 'cli', id: 'bench', name: 'bench' },
    clock: systemClock,
    ids: uuid,
  };
  let database: Database | undefined;
  let observer: Database | undefined;
  let jobs: Jobs | undefined;
  let slapd: Slapd | undefined;
  let ad: AdTestDomain | undefined;
  const connectors: Connector[] = [];
  try {
    await server.start();
    database = openDatabase(server.url, { max: POOL_MAX });
    // The bench's own polling and reads go through a separate pool, so they never take the product's connections.
    observer = openDatabase(server.url, { max: 2 });
    await migrate(database);
    jobs = new Jobs({
      pool: database.pool,
      log: silentLogger,
      clock: systemClock,
      queues: ALL_QUEUES,
      workerId: 'bench',
      concurrency: WORKER_CONCURRENCY,
      secrets,
    });
    await jobs.start({ work: true });
    const db = database;
    const obs = observer;
    const jb = jobs;

    log('starting slapd and the Samba AD DC (or reusing the running one)');
    slapd = await startSlapd({ durable: true });
    ad = await adTestDomain('bench-latency', DEPTS);
    await transaction(db, async (tx) => {
      await createTarget(
        tx,
        ctx,
        { secrets },
        { name: 'corp-ldap', connector: 'ldap', config: slapd!.connectorConfig() },
      );
      await createTarget(
        tx,
        ctx,
        { secrets },
        {
          name: 'corp-ad',
          connector: 'active-directory',
          config: {
            url: ad!.dc.url,
            bindDn: ad!.dc.adminUpn,
            bindPassword: ad!.dc.adminPassword,
            baseDn: ad!.dc.baseDn,
            usersDn: ad!.usersDn,
            groupsDn: ad!.groupsDn,
            upnSuffix: ad!.dc.upnSuffix,
            departmentOus: ad!.departmentOus,
            tls: { ca: ad!.dc.ca },
          },
        },
      );
    });
    const ldapC = await openTargetForTest(db, 'corp-ldap', key);
    const adC = await openTargetForTest(db, 'corp-ad', key);
    connectors.push(ldapC, adC);
    const groups: Record<string, Record<string, ObjectRef>> = { 'corp-ldap': {}, 'corp-ad': {} };
    for (const [target, c, names] of [
      ['corp-ldap', ldapC, [...LDAP_GROUPS, 'direct-burst']],
      ['corp-ad', adC, [...AD_GROUPS, 'Direct Burst']],
    ] as const) {
      for (const n of names) {
        const g = await c.create('group', { cn: n });
        groups[target]![n] = { objectClass: 'group', id: g.id, name: g.name };
      }
      await transaction(db, (tx) => discoverEntitlements(tx, ctx, target, c));
    }
    await transaction(db, async (tx) =>
      savePolicy(tx, ctx, (await checkDocument(tx.client, POLICY)).document, 'bench'),
    );

    // ── HR ──────────────────────────────────────────────────────────────────────────────────────────────────────
    const people: Person[] = [];
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const addPeople = (prefix: string, count: number, department: (i: number) => string, manager: string) => {
      const added: Person[] = [];
      for (let i = 1; i <= count; i++) {
        const p: Person = {
          employeeId: `${prefix}${String(i).padStart(5, '0')}`,
          first: FIRST[i % FIRST.length]!,
          last: `${LAST[i % LAST.length]!}${prefix}${i}`,
          department: department(i),
          manager: i === 1 ? '' : manager,
          terminated: false,
        };
        people.push(p);
        added.push(p);
      }
      return added;
    };
    const csv = () =>
      [
        HR_HEADER,
        ...people.map((p, i) =>
          [
            p.employeeId,
            p.first,
            p.last,
            '',
            `p${i}@home.example`,
            '',
            p.department,
            p.department === 'Bulk' ? 'Operator' : 'Specialist',
            'CC1',
            'Berlin',
            'Europe/Berlin',
            p.manager,
            'employee',
            p.terminated ? 'terminated' : 'active',
            '2020-01-01',
            p.terminated ? yesterday : '',
          ].join(','),
        ),
      ].join('\n') + '\n';
    const importHr = async () => {
      const startedAt = Date.now();
      const report = await runImport({ database: db, jobs: jb }, ctx, {
        source: 'workday',
        origin: 'cli',
        fileName: 'hr.csv',
        content: Buffer.from(csv()),
        dryRun: false,
      });
      const returnedAt = Date.now();
      if (report.state !== 'applied' || report.errors.length)
        throw new Error(
          `HR import ${report.state}: ${JSON.stringify(report.errors.slice(0, 3))} ${report.heldReasons.join(' ')}`,
        );
      return { startedAt, returnedAt, events: report.events.length };
    };
    const lastSeq = async () =>
      (await obs.pool.query<{ seq: number | null }>('select max(seq) as seq from change_sets')).rows[0]
        ?.seq ?? 0;
    /** The HR change sets after `afterSeq` once they cover `people` people and are all final (and applied). */
    const settled = async (
      afterSeq: number,
      expectPeople: number,
      what: string,
      timeoutMs: number,
    ): Promise<Settled> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await obs.pool.query<SetRow>(
          `select id, seq, status, people_count, op_count, triggered_at, created_at, started_at, finished_at
           from change_sets where seq > $1 and trigger = 'hr_event' order by seq`,
          [afterSeq],
        );
        const covered = r.rows.reduce((a, s) => a + s.people_count, 0);
        if (covered >= expectPeople && r.rows.every((s) => FINAL.has(s.status))) {
          const bad = r.rows.filter((s) => s.status !== 'applied');
          if (bad.length) {
            const errs = await obs.pool.query<{ kind: string; error: unknown }>(
              `select kind, error from change_ops where change_set_id = any($1::uuid[]) and status <> 'done' limit 5`,
              [bad.map((s) => s.id)],
            );
            throw new Error(
              `${what}: change set ${bad[0]!.seq} is ${bad[0]!.status}: ${JSON.stringify(errs.rows)}`,
            );
          }
          const t = await obs.pool.query<{ name: string; ops: number; first_start: Date; last_done: Date }>(
            `select t.name, count(*)::int as ops, min(o.started_at) as first_start, max(o.done_at) as last_done
             from change_ops o join targets t on t.id = o.target_id
             where o.change_set_id = any($1::uuid[]) group by t.name`,
            [r.rows.map((s) => s.id)],
          );
          return {
            sets: r.rows,
            targets: new Map(
              t.rows.map((x) => [
                x.name,
                { ops: x.ops, firstStart: x.first_start.getTime(), lastDone: x.last_done.getTime() },
              ]),
            ),
          };
        }
        if (Date.now() > deadline) throw new Error(`${what}: not settled after ${timeoutMs / 1000} s`);
        await sleep(50);
      }
    };

    // ── Joiners for the single leavers ──────────────────────────────────────────────────────────────────────────
    const single = addPeople('E', SINGLE, (i) => DEPTS[i % DEPTS.length]!, 'E00001');
    let seq = await lastSeq();
    let imp = await importHr();
    let done = await settled(seq, SINGLE, 'the joiners', 300_000);
    log(`${SINGLE} joiners applied (${[...done.targets].map(([t, x]) => `${t}: ${x.ops} ops`).join(', ')})`);

    // ── Single leavers ──────────────────────────────────────────────────────────────────────────────────────────
    const singleStart = new Date();
    const perTarget = new Map<
      string,
      { fromReturn: number[]; fromTriggered: number[]; apply: number[]; ops: number[] }
    >();
    const split = {
      importMs: [] as number[],
      lifecycleQueueMs: [] as number[],
      applyQueueMs: [] as number[],
    };
    // Terminate everyone but the manager, from the last one up (nobody's manager leaves).
    const leavers = single.slice(1).reverse().slice(0, LEAVERS);
    for (const [n, p] of leavers.entries()) {
      await sleep(Math.random() * 2 * POLLING_SECONDS * 1000);
      seq = await lastSeq();
      p.terminated = true;
      imp = await importHr();
      if (imp.events !== 1) throw new Error(`leaver import gave ${imp.events} events`);
      done = await settled(seq, 1, `leaver ${p.employeeId}`, 120_000);
      const set = done.sets[0]!;
      split.importMs.push(imp.returnedAt - imp.startedAt);
      split.lifecycleQueueMs.push(set.created_at.getTime() - imp.returnedAt);
      split.applyQueueMs.push(set.started_at!.getTime() - set.created_at.getTime());
      for (const [t, x] of done.targets) {
        const e = perTarget.get(t) ?? { fromReturn: [], fromTriggered: [], apply: [], ops: [] };
        e.fromReturn.push(x.lastDone - imp.returnedAt);
        e.fromTriggered.push(x.lastDone - set.triggered_at.getTime());
        e.apply.push(x.lastDone - set.started_at!.getTime());
        e.ops.push(x.ops);
        perTarget.set(t, e);
      }
      log(
        `leaver ${n + 1}/${leavers.length}: ${[...done.targets].map(([t, x]) => `${t} ${x.lastDone - imp.returnedAt} ms`).join(', ')}`,
      );
    }
    const singleStats = await latencyStats(obs.pool, singleStart);

    // Direct: the same operations for one leaver at a time, straight through the connectors.
    const directSingle = new Map<string, number[]>();
    for (const [target, c, all] of [
      ['corp-ldap', ldapC, 'all-staff'],
      ['corp-ad', adC, 'All Staff'],
    ] as const) {
      const refs: { ref: ObjectRef; dept: ObjectRef }[] = [];
      for (let i = 0; i < LEAVERS; i++) {
        const name = `dx${i}${randomBytes(2).toString('hex')}`;
        const acc = await c.create(
          'account',
          target === 'corp-ldap'
            ? { uid: name, cn: `Direct ${name}`, sn: name, givenName: 'Direct', mail: `${name}@example.com` }
            : { sAMAccountName: name, givenName: 'Direct', sn: name, displayName: `Direct ${name}` },
          target === 'corp-ad' ? { enabled: true, password: new Secret(generatePassword()) } : {},
        );
        const ref: ObjectRef = { objectClass: 'account', id: acc.id, name: acc.name };
        const dept =
          groups[target]![target === 'corp-ldap' ? LDAP_GROUPS[1 + (i % 3)]! : AD_GROUPS[1 + (i % 3)]!]!;
        await c.addMember(groups[target]![all]!, ref);
        await c.addMember(dept, ref);
        refs.push({ ref, dept });
      }
      const times: number[] = [];
      for (const { ref, dept } of refs) {
        const s = performance.now();
        await c.disable(ref);
        await c.removeMember(groups[target]![all]!, ref);
        await c.removeMember(dept, ref);
        times.push(performance.now() - s);
      }
      directSingle.set(target, times);
    }
    log(
      `direct single: ${[...directSingle].map(([t, x]) => `${t} p50 ${r1(percentile(x, 0.5))} ms`).join(', ')}`,
    );

    await transaction(db, (tx) =>
      updateSource(tx, ctx, 'workday', { brakeRatio: 1, brakeMinCount: 1_000_000 }),
    );

    // ── Bursts ──────────────────────────────────────────────────────────────────────────────────────────────────
    const runBurst = async (label: string, prefix: string, count: number, department: string) => {
      const crowd = addPeople(prefix, count, () => department, '');
      let s = await lastSeq();
      const joinImp = await importHr();
      const joined = await settled(s, count, `${label} joiners`, 900_000);
      const joinSeconds =
        (Math.max(...[...joined.targets.values()].map((x) => x.lastDone)) - joinImp.returnedAt) / 1000;
      log(`${label}: ${count} joiners applied in ${joinSeconds.toFixed(1)} s after the import returned`);
      await sleep(Math.random() * 2 * POLLING_SECONDS * 1000);
      const since = new Date();
      s = await lastSeq();
      for (const p of crowd) p.terminated = true;
      const leaveImp = await importHr();
      if (leaveImp.events !== count)
        throw new Error(`${label}: ${leaveImp.events} events, expected ${count}`);
      const left = await settled(s, count, `${label} leavers`, 900_000);
      const stats = await latencyStats(obs.pool, since);
      const first = left.sets[0]!;
      const out: Record<string, MethodFigures> = {};
      for (const [t, x] of left.targets) {
        const seconds = (x.lastDone - leaveImp.returnedAt) / 1000;
        out[t] = {
          rows: count,
          seconds: r3(seconds),
          rowsPerSecond: Math.round(count / seconds),
          secondsFromTriggered: r3((x.lastDone - first.triggered_at.getTime()) / 1000),
          applySeconds: r3((x.lastDone - x.firstStart) / 1000),
          operations: x.ops,
          operationsPerSecondWhileApplying: Math.round(x.ops / ((x.lastDone - x.firstStart) / 1000)),
          opP50Ms: stats.find((r) => r.target === t)?.p50Ms ?? null,
          opP95Ms: stats.find((r) => r.target === t)?.p95Ms ?? null,
        };
      }
      const common = {
        importSeconds: r3((leaveImp.returnedAt - leaveImp.startedAt) / 1000),
        changeSets: left.sets.length,
        lifecycleQueueSeconds: r3((first.created_at.getTime() - leaveImp.returnedAt) / 1000),
        applyQueueSeconds: r3((first.started_at!.getTime() - first.created_at.getTime()) / 1000),
        joinSecondsAfterImport: r3(joinSeconds),
        joinOperations: [...joined.targets.values()].reduce((a, x) => a + x.ops, 0),
      };
      log(
        `${label}: ${count} leavers, ${Object.entries(out)
          .map(([t, f]) => `${t} all done ${f.seconds} s (${f.operations} ops)`)
          .join(', ')}; ${left.sets.length} change set(s)`,
      );
      return { out, common };
    };
    const directBurst = async (target: 'corp-ldap' | 'corp-ad', c: Connector, count: number) => {
      const group = groups[target]![target === 'corp-ldap' ? 'direct-burst' : 'Direct Burst']!;
      const refs: ObjectRef[] = [];
      await inFlight(
        Array.from({ length: count }, (_, i) => i),
        8,
        async (i) => {
          const name = `db${i}${randomBytes(2).toString('hex')}`;
          const acc = await c.create(
            'account',
            target === 'corp-ldap'
              ? { uid: name, cn: `Direct ${name}`, sn: name, givenName: 'Direct' }
              : { sAMAccountName: name, givenName: 'Direct', sn: name, displayName: `Direct ${name}` },
            target === 'corp-ad' ? { enabled: true, password: new Secret(generatePassword()) } : {},
          );
          const ref: ObjectRef = { objectClass: 'account', id: acc.id, name: acc.name };
          await c.addMember(group, ref);
          refs.push(ref);
        },
      );
      const s = performance.now();
      await inFlight(refs, APPLY_DEFAULTS.concurrency, async (ref) => {
        await c.disable(ref);
        await c.removeMember(group, ref);
      });
      const seconds = (performance.now() - s) / 1000;
      return {
        rows: count,
        seconds: r3(seconds),
        rowsPerSecond: Math.round(count / seconds),
        operations: 2 * count,
        concurrency: APPLY_DEFAULTS.concurrency,
      } satisfies MethodFigures;
    };

    const ldapBurst = await runBurst('burstLdap', 'B', burst, 'Bulk');
    const ldapDirect = await directBurst('corp-ldap', ldapC, burst);
    log(`direct LDAP burst: ${ldapDirect.seconds} s`);
    const adBurst = await runBurst('burstAd', 'F', adBurstSize, 'Field');
    const adDirect = await directBurst('corp-ad', adC, Math.min(adBurstSize, AD_DIRECT_SAMPLE));
    log(`direct AD burst: ${adDirect.seconds} s`);

    // ── Results ─────────────────────────────────────────────────────────────────────────────────────────────────
    const figures: Figures = {
      pollingIntervalSeconds: POLLING_SECONDS,
      workerConcurrency: WORKER_CONCURRENCY,
      poolMax: POOL_MAX,
      applyConcurrency: APPLY_DEFAULTS.concurrency,
      applyRatePerSecond: APPLY_DEFAULTS.ratePerSecond,
      singleLeavers: leavers.length,
      singlePopulation: SINGLE,
      'single.importMs.p50': r1(percentile(split.importMs, 0.5)),
      'single.importMs.p95': r1(percentile(split.importMs, 0.95)),
      'single.lifecycleQueueMs.p50': r1(percentile(split.lifecycleQueueMs, 0.5)),
      'single.lifecycleQueueMs.p95': r1(percentile(split.lifecycleQueueMs, 0.95)),
      'single.applyQueueMs.p50': r1(percentile(split.applyQueueMs, 0.5)),
      'single.applyQueueMs.p95': r1(percentile(split.applyQueueMs, 0.95)),
    };
    for (const [t, e] of perTarget) {
      figures[`single.${t}.fromImportReturnMs.p50`] = r1(percentile(e.fromReturn, 0.5));
      figures[`single.${t}.fromImportReturnMs.p95`] = r1(percentile(e.fromReturn, 0.95));
      figures[`single.${t}.fromImportReturnMs.max`] = r1(Math.max(...e.fromReturn));
      figures[`single.${t}.fromTriggeredMs.p50`] = r1(percentile(e.fromTriggered, 0.5));
      figures[`single.${t}.fromTriggeredMs.p95`] = r1(percentile(e.fromTriggered, 0.95));
      figures[`single.${t}.applyMs.p50`] = r1(percentile(e.apply, 0.5));
      figures[`single.${t}.applyMs.p95`] = r1(percentile(e.apply, 0.95));
      figures[`single.${t}.opsPerLeaver`] = e.ops[0] ?? 0;
      figures[`single.${t}.fromImportReturnMs.all`] = e.fromReturn;
    }
    for (const s of singleStats) {
      const t = s.target ?? 'all';
      figures[`single.latencyStats.${t}.operations`] = s.operations;
      figures[`single.latencyStats.${t}.p50Ms`] = s.p50Ms;
      figures[`single.latencyStats.${t}.p95Ms`] = s.p95Ms;
      figures[`single.latencyStats.${t}.maxMs`] = s.maxMs;
    }
    const ldapB: MethodFigures = { ...ldapBurst.out['corp-ldap']!, ...ldapBurst.common };
    figures.burstLdap = ldapB;
    for (const [t, f] of Object.entries(adBurst.out)) figures[`burstAd.${t}`] = { ...f, ...adBurst.common };
    const adB: MethodFigures = { ...adBurst.out['corp-ad']!, ...adBurst.common };

    const baselineFigures: Figures = {};
    for (const [t, x] of directSingle) {
      baselineFigures[`single.${t}.p50Ms`] = r1(percentile(x, 0.5));
      baselineFigures[`single.${t}.p95Ms`] = r1(percentile(x, 0.95));
    }
    baselineFigures.burstLdap = ldapDirect;
    baselineFigures.burstAd = adDirect;

    const p95 = (t: string) => figures[`single.${t}.fromImportReturnMs.p95`] as number;
    return {
      figures,
      baseline: {
        name: 'direct',
        description:
          'The same leaver operations straight through the connectors (disable, then remove from each group), no HR import, queue or database: one leaver at a time (single) and 4 at once with no rate limit (bursts)',
        figures: baselineFigures,
      },
      ratios: {
        singleLdapP95Ms: p95('corp-ldap'),
        singleAdP95Ms: p95('corp-ad'),
        singleLdapP95ToTarget: r3(p95('corp-ldap') / TARGET_P95_MS),
        singleAdP95ToTarget: r3(p95('corp-ad') / TARGET_P95_MS),
        singleLdapP50ToDirectP50: r3(
          (figures['single.corp-ldap.fromImportReturnMs.p50'] as number) /
            (baselineFigures['single.corp-ldap.p50Ms'] as number),
        ),
        singleAdP50ToDirectP50: r3(
          (figures['single.corp-ad.fromImportReturnMs.p50'] as number) /
            (baselineFigures['single.corp-ad.p50Ms'] as number),
        ),
        burstLdapSeconds: ldapB.seconds,
        burstLdapToTarget: r3(ldapB.seconds / TARGET_BURST_S),
        burstLdapToDirectRate: r3(ldapB.rowsPerSecond / ldapDirect.rowsPerSecond),
        burstAdSeconds: adB.seconds,
        burstAdToTarget: r3(adB.seconds / TARGET_BURST_S),
        burstAdToDirectRate: r3(adB.rowsPerSecond / adDirect.rowsPerSecond),
      },
      notes: [
        `Targets (issue 6): a single leaver disabled on every target within p95 <= ${TARGET_P95_MS / 1000} s of the HR event; ${DEFAULT_BURST.toLocaleString()} leavers in one import done within ${TARGET_BURST_S} s.`,
        `The job system runs as the product does by default: pg-boss polls every ${POLLING_SECONDS} s (Jobs' default; no LISTEN/NOTIFY), ${WORKER_CONCURRENCY} handlers per queue (GATEHOUSE_WORKER_CONCURRENCY), a pool of ${POOL_MAX} connections (GATEHOUSE_DB_POOL_MAX), and the policy's default apply settings (${APPLY_DEFAULTS.concurrency} accounts at once per target, at most ${APPLY_DEFAULTS.ratePerSecond} operations/s). An HR event crosses two queues: lifecycle.event (the import publishes it; its handler updates the person and plans the change set) and provisioning.apply (published with the change set); each may wait up to one polling interval.`,
        'single: "fromImportReturn" is from runImport returning to the last done_at of the change set\u2019s operations on that target; "fromTriggered" from the change set\u2019s triggered_at (the event\u2019s creation, i.e. the start of the import) — it adds the import itself. single.importMs / lifecycleQueueMs (import returned → change set recorded) / applyQueueMs (recorded → apply started) / <target>.applyMs (apply started → last op done on that target) split the time. single.latencyStats.* is latencyStats() over the single-leaver phase: per operation (done_at − triggered_at), all operations of the target, so its p95 is below the per-leaver p95.',
        `single: ${SINGLE} people join first (both targets; 3 LDAP + 3 AD operations per leaver: disable, remove from all-staff and the department group); then ${LEAVERS} leavers one import each, a random 0–${2 * POLLING_SECONDS} s pause before each import so it lands at a random phase of the polling. Each import sends the whole population (${SINGLE} + later bursts), unchanged rows are skipped by the import.`,
        `bursts: burstLdap terminates ${burst.toLocaleString()} "Bulk" people (LDAP only: disable + remove from all-staff) in one import; burstAd ${adBurstSize.toLocaleString()} "Field" people (both targets: disable + remove from All Staff on AD, from all-staff on LDAP). seconds = import returned → the last operation on that target done; rowsPerSecond = leavers/s; applySeconds = first operation started → last done; lifecycleQueueSeconds / applyQueueSeconds for the first change set. joinSecondsAfterImport: the same people's joiner change set (create + membership), for reference. The HR source brake is lifted (brakeRatio 1, brakeMinCount 1,000,000) and the provisioning mass-change threshold is 1, so nothing is held for approval.`,
        `Direct baseline for bursts: ${burst.toLocaleString()} LDAP accounts; on AD a sample of ${Math.min(adBurstSize, AD_DIRECT_SAMPLE)} (Samba creates about 13 accounts/s, and the sample's accounts are created first): compare rowsPerSecond (leavers/s), not seconds.`,
        'Floors: with the default apply settings a target runs at most 100 operations/s, so a burst of N leavers with k operations each needs at least N·k/100 s on that target after the apply starts (2,000 operations: 20 s). The direct baseline has no rate limit, no before-state read, no per-operation transaction and audit row.',
        'Servers: embedded PostgreSQL (fsync on), slapd with fsync on every write (startSlapd durable), the shared Samba AD DC (its own settings). Everything runs on the same 2 cores as the bench.',
      ],
      postgresVersion: (await obs.pool.query<{ v: string }>('show server_version')).rows[0]?.v ?? null,
    };
  } finally {
    for (const c of connectors) await c.close().catch(() => undefined);
    await jobs?.stop(10_000).catch(() => undefined);
    await observer?.close().catch(() => undefined);
    await database?.close().catch(() => undefined);
    await server.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    await slapd?.stop().catch(() => undefined);
    if (ad) {
      // Stopping the DC discards its domain; only when another run still uses it is the bench's tree deleted.
      if (await releaseSambaDc(process.pid).catch(() => false)) await ad.raw.unbind().catch(() => undefined);
      else {
        opts.log('the DC is shared with another run: deleting the bench OU');
        await ad.raw.del(ad.root, new Control(TREE_DELETE_OID)).catch(() => undefined);
        await ad.raw.unbind().catch(() => undefined);
      }
    }
  }
}
