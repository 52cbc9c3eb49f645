import { hostname } from 'node:os';
import type { Config } from '../config/index.ts';
import {
  connectDatabase,
  migrate,
  openDatabase,
  pendingMigrations,
  type Database,
  type DatabaseConnection,
} from '../db/index.ts';
import { isProcessAlive } from '../db/index.ts';
import { Jobs, type QueueDefinition } from '../jobs/index.ts';
import { systemClock, type Clock } from '../kit/clock.ts';
import { uuid, type IdGenerator } from '../kit/ids.ts';
import type { Logger } from '../kit/log.ts';
import { ALL_QUEUES } from './queues.ts';
import { decodeKey } from '../config/index.ts';
import { embeddedSecretKey } from '../db/data-dir.ts';
import { secretBox, type SecretBox } from '../kit/secret-box.ts';

/**
 * The composition root: the one place that turns configuration into live dependencies. The server, the worker
 * and every CLI command open a Runtime and hand its parts to the same domain commands.
 */
export interface Runtime {
  config: Config;
  log: Logger;
  clock: Clock;
  ids: IdGenerator;
  connection: DatabaseConnection;
  database: Database;
  jobs: Jobs;
  /** Encrypts secrets at rest (GATEHOUSE_SECRET_KEY, or the data directory's key in embedded mode). */
  secrets: SecretBox;
  workerId: string;
  /** True while the embedded server is being restarted after a crash. */
  degraded(): string | undefined;
  close(): Promise<void>;
}

export interface OpenRuntimeOptions {
  command: string;
  log: Logger;
  /** Run job handlers in this process. */
  work?: boolean;
  /** Start the job system (queues, scheduling); implied by `work`. */
  jobs?: boolean;
  migrate?: boolean;
  queues?: QueueDefinition<never>[];
  clock?: Clock;
  /** Called when this process can no longer reach its database for good (owner gone, embedded server gave up). */
  onFatal?: (reason: string) => void;
}

export async function openRuntime(config: Config, opts: OpenRuntimeOptions): Promise<Runtime> {
  const log = opts.log;
  let degraded: string | undefined;
  const connection = await connectDatabase(config, log, {
    command: opts.command,
    onServerRestart: (ok) => {
      degraded = ok ? undefined : 'the embedded PostgreSQL stopped and could not be restarted';
      if (!ok) opts.onFatal?.(degraded!);
    },
  });
  const key = config.secretKey
    ? decodeKey(config.secretKey)
    : connection.mode === 'external'
      ? undefined
      : embeddedSecretKey(config.dataDir);
  const secrets = secretBox(
    key,
    'GATEHOUSE_SECRET_KEY: is required when DATABASE_URL is set, to encrypt secrets at rest (generate one with: openssl rand -base64 32)',
  );
  const database = openDatabase(connection.url, {
    max: config.dbPoolMax,
    pipelinedReads: config.dbPipelinedReads,
    log,
    applicationName: `gatehouse ${opts.command}`,
  });
  const clock = opts.clock ?? systemClock;
  const workerId = `${hostname()}:${process.pid}`;
  const jobs = new Jobs({
    pool: database.pool,
    log: log.child({ component: 'jobs' }),
    clock,
    queues: opts.queues ?? ALL_QUEUES,
    workerId,
    concurrency: config.workerConcurrency,
    secrets,
  });
  let ownerWatch: NodeJS.Timeout | undefined;
  const close = async () => {
    if (ownerWatch) clearInterval(ownerWatch);
    await jobs
      .stop(config.shutdownTimeoutMs)
      .catch((e: unknown) => log.warn({ err: String(e) }, 'stopping jobs'));
    await database.close().catch(() => undefined);
    await connection.release();
  };
  try {
    if (opts.migrate) {
      const r = await migrate(database);
      if (r.applied > 0) log.info({ applied: r.applied, total: r.total }, 'database migrations applied');
    }
    if (opts.work || opts.jobs) await jobs.start({ work: opts.work === true });
  } catch (e) {
    await close();
    throw e;
  }
  if (connection.mode === 'embedded-attached' && connection.owner && opts.onFatal) {
    const owner = connection.owner;
    ownerWatch = setInterval(() => {
      if (!isProcessAlive(owner.pid)) {
        degraded = `the Gatehouse process that owns the embedded database (pid ${owner.pid}) has stopped`;
        opts.onFatal?.(degraded);
      }
    }, 2000);
    ownerWatch.unref();
  }
  return {
    config,
    log,
    clock,
    ids: uuid,
    connection,
    database,
    jobs,
    secrets,
    workerId,
    degraded: () => degraded,
    close,
  };
}

export async function readiness(rt: Pick<Runtime, 'database' | 'jobs' | 'degraded'>, needJobs: boolean) {
  const checks: Record<string, { ok: boolean; detail?: string }> = {};
  try {
    await rt.database.pool.query('select 1');
    checks.database = { ok: true };
    const pending = await pendingMigrations(rt.database);
    checks.migrations =
      pending === 0 ? { ok: true } : { ok: false, detail: `${pending} migration(s) not applied` };
  } catch (e) {
    checks.database = { ok: false, detail: e instanceof Error ? e.message : String(e) };
  }
  if (needJobs)
    checks.jobs = rt.jobs.isWorking ? { ok: true } : { ok: false, detail: 'job workers are not running' };
  const d = rt.degraded();
  if (d) checks.embeddedDatabase = { ok: false, detail: d };
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}
