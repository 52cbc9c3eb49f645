/**
 * scim: the SCIM 2.0 service provider under load — a real `gatehouse serve` process (API only, `--no-workers`, as
 * the API tier of a deployment; the lifecycle jobs its writes enqueue are left for workers elsewhere) on a fresh
 * embedded PostgreSQL holding N people (default 100,000, loaded by an HR import into the SCIM client's source),
 * driven by autocannon from this process at 32 connections for DURATION seconds each:
 *
 *   filteredGet   GET /scim/v2/Users?filter=userName eq "<a random existing user>" (one match each)
 *   getById       GET /scim/v2/Users/<a random id>
 *   create        POST /scim/v2/Users, a new person each (through the HR pipeline: validation, naming,
 *                 joiner event, audit, job enqueued, all in one transaction), family names ending in digits
 *   createPlainNames  the same with family names of letters, as HR sends them (the naming read stays small)
 *
 * Baseline (same run, same server, same load): GET /healthz — the HTTP floor of the process (no auth, no
 * database). Ratios are each method's requests/s over the baseline's. Every response is checked: a non-2xx
 * answer is counted and reported, and a GET that does not find its user fails the bench.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { PostgresServer } from '../src/db/postgres-server.ts';
import { migrate, openDatabase, transaction } from '../src/db/index.ts';
import { runImport, updateSource } from '../src/hr/index.ts';
import { Jobs } from '../src/jobs/index.ts';
import { systemClock } from '../src/kit/clock.ts';
import { createLogger, silentLogger } from '../src/kit/log.ts';
import { ALL_QUEUES } from '../src/runtime/queues.ts';
import { createToken } from '../src/tokens/index.ts';
import { cleanEnv, gatehouse, processTreeCpuSeconds } from '../src/testing/processes.ts';
import type { BenchOptions, BenchResult, MethodFigures } from './types.ts';

const DEFAULT_ROWS = 100_000;
const CONNECTIONS = 32;
const DURATION = Number(process.env.BENCH_DURATION ?? 15);
const TARGET_CREATES = 1500;
const TARGET_READS = 3000;
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';

const FIRST = [
  'Anna',
  'Ben',
  'Chloé',
  'David',
  'Émile',
  'Fatima',
  'Grzegorz',
  'Hana',
  'Ivan',
  'Júlia',
  'Kenji',
];
const LAST = [
  'Smith',
  'Müller',
  'García',
  'Nowak',
  'Rossi',
  'Dubois',
  'Johansson',
  'Tanaka',
  'Okafor',
  'Silva',
];

function csvOf(n: number): Buffer {
  const lines = ['employee_id,first_name,last_name,department,title,worker_type,hire_date'];
  for (let i = 0; i < n; i++)
    lines.push(
      `B${i},${FIRST[i % FIRST.length]},${LAST[Math.floor(i / FIRST.length) % LAST.length]}${i},Dept ${i % 50},Engineer,employee,2024-01-01`,
    );
  return Buffer.from(lines.join('\n'));
}

/** 0 → "a", 25 → "z", 26 → "ba": a distinct string of letters for each number. */
function lettersOf(n: number): string {
  let s = '';
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26);
  } while (n > 0);
  return s;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

type Request = autocannon.Request;

/** The processes whose CPU time is counted per request: the server, PostgreSQL (postmaster and backends). */
interface CpuProbe {
  serverPid: number | undefined;
  postgresPid: number | undefined;
}

type LoadFigures = MethodFigures & {
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  /**
   * CPU ms per request: the server process, PostgreSQL, this process (autocannon); of the whole machine, time idle,
   * in interrupts (softirq: the loopback network's work) and stolen by the hypervisor.
   */
  serverCpuMs?: number;
  postgresCpuMs?: number;
  clientCpuMs?: number;
  idleCpuMs?: number;
  softirqCpuMs?: number;
  stolenCpuMs?: number;
};

function cpuNow(probe: CpuProbe) {
  // The first line of /proc/stat: "cpu user nice system idle iowait irq softirq steal …" over all CPUs.
  const all = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const client = process.cpuUsage();
  return {
    server: processTreeCpuSeconds(probe.serverPid),
    postgres: processTreeCpuSeconds(probe.postgresPid),
    client: (client.user + client.system) / 1e6,
    // Of all CPUs (USER_HZ = 100): idle + iowait, irq + softirq, steal.
    idle: (Number(all[4]) + Number(all[5])) / 100,
    softirq: (Number(all[6]) + Number(all[7])) / 100,
    stolen: Number(all[8]) / 100,
  };
}

async function load(
  url: string,
  probe: CpuProbe,
  requests: Request[],
  check?: (status: number, body: string) => string | undefined,
): Promise<LoadFigures> {
  const problems: string[] = [];
  const cpu0 = cpuNow(probe);
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: check
      ? requests.map((r) => ({
          ...r,
          onResponse: (status: number, body: string) => {
            const p = check(status, body);
            if (p && problems.length < 5) problems.push(p);
          },
        }))
      : requests,
  });
  const cpu1 = cpuNow(probe);
  if (problems.length) throw new Error(`responses failed their check: ${problems.join(' | ')}`);
  const total = result.requests.total;
  const perRequest = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || !total ? NaN : Math.round(((b - a) * 1e6) / total) / 1000;
  const cpuMs = {
    serverCpuMs: perRequest(cpu0.server, cpu1.server),
    postgresCpuMs: perRequest(cpu0.postgres, cpu1.postgres),
    clientCpuMs: perRequest(cpu0.client, cpu1.client),
    idleCpuMs: perRequest(cpu0.idle, cpu1.idle),
    softirqCpuMs: perRequest(cpu0.softirq, cpu1.softirq),
    stolenCpuMs: perRequest(cpu0.stolen, cpu1.stolen),
  };
  return {
    rows: total,
    seconds: result.duration,
    rowsPerSecond: Math.round(total / result.duration),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    ...(Object.values(cpuMs).every(Number.isFinite) ? cpuMs : {}),
  };
}

export default async function scimBench({ rows, log }: BenchOptions): Promise<BenchResult> {
  const n = rows ?? DEFAULT_ROWS;
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-scim-'));
  chmodSync(dir, 0o755);
  const server = new PostgresServer({
    clusterDir: join(dir, 'pg'),
    port: 0,
    password: randomBytes(18).toString('base64url'),
    log: createLogger({ level: 'warn', name: 'bench' }),
  });
  await server.start();
  const database = openDatabase(server.url, { max: 4 });
  const jobs = new Jobs({
    pool: database.pool,
    log: silentLogger,
    clock: systemClock,
    queues: ALL_QUEUES,
    workerId: 'bench',
    concurrency: 1,
  });
  let serve: ReturnType<typeof gatehouse> | undefined;
  try {
    await migrate(database);
    await jobs.start({ work: false });
    const ctx = { actor: { type: 'cli' as const, id: 'bench' }, clock: systemClock, ids: randomUUID };
    const t0 = performance.now();
    const imported = await runImport({ database, jobs }, ctx, {
      source: 'bench',
      origin: 'cli',
      content: csvOf(n),
      dryRun: false,
    });
    if (imported.state !== 'applied' || imported.errors.length)
      throw new Error(`seed import: ${imported.state}`);
    log(`seeded ${n.toLocaleString()} people in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // The creates below are single explicit pushes (no brake), but keep the source's brake out of the picture.
    await transaction(database, (tx) =>
      updateSource(tx, ctx, 'bench', { brakeRatio: 1, brakeMinCount: 1_000_000 }),
    );
    await database.pool.query('analyze');
    const people = await database.pool.query<{ id: string; username: string }>(
      'select id::text, username from people where username is not null',
    );
    const token = (
      await transaction(database, (tx) =>
        createToken(tx, ctx, {
          name: 'bench',
          scopes: ['scim:write'],
          scim: { source: 'bench', profile: 'strict' },
        }),
      )
    ).token;

    const port = await freePort();
    serve = gatehouse(
      ['serve', '--no-workers'],
      cleanEnv({
        DATABASE_URL: server.url,
        PORT: String(port),
        GATEHOUSE_SECRET_KEY: randomBytes(32).toString('hex'),
        GATEHOUSE_LOG_LEVEL: process.env.BENCH_DEBUG ? 'info' : 'warn',
        NODE_ENV: 'production',
        // BENCH_CPU_PROF=DIR writes a V8 CPU profile of the server process (to find where its time goes).
        NODE_OPTIONS: process.env.BENCH_CPU_PROF
          ? `--cpu-prof --cpu-prof-dir=${process.env.BENCH_CPU_PROF}`
          : undefined,
      }),
    );
    await serve.waitFor(/running at|listening/i, 60_000);
    const url = `http://127.0.0.1:${port}`;
    const cpuProbe: CpuProbe = { serverPid: serve.child.pid, postgresPid: server.pid };
    const auth = { authorization: `Bearer ${token}` };
    const pick = () => people.rows[Math.floor(Math.random() * people.rows.length)]!;

    log('warming up…');
    await autocannon({
      url,
      connections: 8,
      amount: 2000,
      requests: [{ method: 'GET', path: `/scim/v2/Users/${pick().id}`, headers: auth }],
    });

    const baseline = await load(url, cpuProbe, [{ method: 'GET', path: '/healthz' }], (s) =>
      s === 200 ? undefined : `healthz ${s}`,
    );
    log(`baseline GET /healthz: ${baseline.rowsPerSecond.toLocaleString()} req/s, p99 ${baseline.p99Ms} ms`);

    const filteredGet = await load(
      url,
      cpuProbe,
      [
        {
          method: 'GET',
          headers: auth,
          setupRequest: (req: Request) => ({
            ...req,
            path: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${pick().username.toUpperCase()}"`)}`,
          }),
        },
      ],
      (s, body) =>
        s !== 200
          ? `filter ${s} ${body.slice(0, 200)}`
          : body.includes('"totalResults":1,')
            ? undefined
            : `filter found ${body.slice(0, 80)}`,
    );
    log(
      `filtered GET (userName eq): ${filteredGet.rowsPerSecond.toLocaleString()} req/s, p99 ${filteredGet.p99Ms} ms`,
    );

    const getById = await load(
      url,
      cpuProbe,
      [
        {
          method: 'GET',
          headers: auth,
          setupRequest: (req: Request) => ({ ...req, path: `/scim/v2/Users/${pick().id}` }),
        },
      ],
      (s, body) => (s === 200 ? undefined : `get ${s} ${body.slice(0, 200)}`),
    );
    log(`GET by id: ${getById.rowsPerSecond.toLocaleString()} req/s, p99 ${getById.p99Ms} ms`);

    const probe = process.env.BENCH_DEBUG
      ? setTimeout(() => {
          void database.pool
            .query(
              `select pid, state, wait_event_type, wait_event, left(query, 120) q from pg_stat_activity
                where datname = current_database() and state <> 'idle' and pid <> pg_backend_pid()`,
            )
            .then((r) => log(JSON.stringify(r.rows, null, 1)));
        }, 1500)
      : undefined;
    /** POST /Users for DURATION seconds, each a new person named by `nameOf`; checks they were all stored. */
    const creates = async (
      prefix: string,
      nameOf: (i: number) => { givenName: string; familyName: string },
    ) => {
      let seq = 0;
      const figures = await load(
        url,
        cpuProbe,
        [
          {
            method: 'POST',
            path: '/scim/v2/Users',
            headers: { ...auth, 'content-type': 'application/scim+json' },
            setupRequest: (req: Request) => {
              const i = seq++;
              return {
                ...req,
                body: JSON.stringify({
                  schemas: [CORE],
                  userName: `${prefix}.${i}@example.com`,
                  name: nameOf(i),
                  title: 'Engineer',
                }),
              };
            },
          },
        ],
        (s, body) => (s === 201 ? undefined : `create ${s} ${body.slice(0, 300)}`),
      );
      const stored = await database.pool.query<{ n: number }>(
        `select count(*)::int as n from people where attributes ->> 'scim.userName' like $1`,
        [`${prefix}.%`],
      );
      // Requests still in flight when the load stops complete after autocannon stops counting them.
      const counted = figures.rows - figures.non2xx;
      if (stored.rows[0]!.n < counted || stored.rows[0]!.n > counted + CONNECTIONS)
        throw new Error(`created ${counted} but ${stored.rows[0]!.n} are stored`);
      return figures;
    };
    // Family names ending in digits: every newcomer's name candidates include every earlier name of the same first
    // name whose number starts with the same digits, so the names read per group grow with the run (the worst case
    // for naming; the figure kept since the first run of this bench).
    const create = await creates('load', (i) => ({
      givenName: FIRST[i % FIRST.length]!,
      familyName: `Load${i}`,
    }));
    log(`POST /Users: ${create.rowsPerSecond.toLocaleString()} creates/s, p99 ${create.p99Ms} ms`);
    // Family names of letters, each its own, as HR sends them: a name's candidates are its own variants only.
    const createPlainNames = await creates('plain', (i) => ({
      givenName: FIRST[i % FIRST.length]!,
      familyName: `Plain${lettersOf(i)}`,
    }));
    log(
      `POST /Users (plain names): ${createPlainNames.rowsPerSecond.toLocaleString()} creates/s, p99 ${createPlainNames.p99Ms} ms`,
    );
    clearTimeout(probe);
    if (process.env.BENCH_DEBUG) log(serve.stderr().slice(-4000));

    return {
      figures: {
        people: n,
        connections: CONNECTIONS,
        durationSeconds: DURATION,
        filteredGet,
        getById,
        create,
        createPlainNames,
      },
      baseline: {
        name: 'healthz',
        description: `GET /healthz on the same server process at ${CONNECTIONS} connections (no auth, no database)`,
        figures: { healthz: baseline },
      },
      ratios: {
        filteredGetOverHealthz:
          Math.round((filteredGet.rowsPerSecond / baseline.rowsPerSecond) * 1000) / 1000,
        getByIdOverHealthz: Math.round((getById.rowsPerSecond / baseline.rowsPerSecond) * 1000) / 1000,
        createOverHealthz: Math.round((create.rowsPerSecond / baseline.rowsPerSecond) * 1000) / 1000,
        filteredGetOverTarget: Math.round((filteredGet.rowsPerSecond / TARGET_READS) * 1000) / 1000,
        createOverTarget: Math.round((create.rowsPerSecond / TARGET_CREATES) * 1000) / 1000,
        createPlainNamesOverTarget:
          Math.round((createPlainNames.rowsPerSecond / TARGET_CREATES) * 1000) / 1000,
      },
      notes: [
        `targets: ≥ ${TARGET_CREATES} creates/s and ≥ ${TARGET_READS} filtered reads/s at ${CONNECTIONS} connections`,
        'server: one `gatehouse serve --no-workers` process; PostgreSQL embedded (fsync on); autocannon in the bench process; all on the same 2 cores',
      ],
      postgresVersion: (await database.pool.query<{ v: string }>('show server_version')).rows[0]?.v ?? null,
    };
  } finally {
    serve?.child.kill('SIGTERM');
    await serve?.exited;
    await jobs.stop(2000).catch(() => undefined);
    await database.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
