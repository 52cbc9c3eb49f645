import { PgBoss, type Db as IDatabase, type Job } from 'pg-boss';
import { drizzle } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import type { Database, Tx } from '../db/pool.ts';
import type { Clock } from '../kit/clock.ts';
import { GatehouseError, describeError } from '../kit/errors.ts';
import type { Logger } from '../kit/log.ts';
import type { SecretBox } from '../kit/secret-box.ts';
import { resolveLocalTime } from './local-time.ts';
import { statementName } from '../db/statement-name.ts';

export const JobErrors = { unknownQueue: 'queue_unknown', notStarted: 'jobs_not_started' } as const;

export interface JobContext {
  /** The job's own transaction: everything written through it commits together with the job's completion. */
  tx: Tx;
  /** The pool, for writes that must be visible before the job ends (progress). */
  database: Pick<Database, 'pool' | 'db'>;
  log: Logger;
  workerId: string;
  clock: Clock;
  /** The job system itself, to enqueue follow-up work (in `tx` or not). */
  jobs: Jobs;
  /** Opens sealed secrets (target credentials) for handlers that reach targets. */
  secrets?: SecretBox;
}

export interface RetryPolicy {
  /** Attempts after the first (default 3). */
  retryLimit?: number;
  /** Seconds before the first retry (default 5). */
  retryDelaySeconds?: number;
  /** Exponential backoff with jitter from retryDelaySeconds (default true). */
  retryBackoff?: boolean;
  retryDelayMaxSeconds?: number;
  /** How long a job may run before it is considered lost and retried (default 15 min). */
  expireInSeconds?: number;
}

export interface QueueDefinition<T extends object = object> {
  name: string;
  description: string;
  policy?: RetryPolicy;
  /** Jobs handed to one handler call (default 1). */
  batchSize?: number;
  /** Run on a schedule: a cron expression in an IANA zone (registered when workers start). */
  cron?: { expression: string; timeZone: string; data?: object };
  handle(jobs: Job<T>[], ctx: JobContext): Promise<void>;
}

export interface SendOptions {
  /** Enqueue in this transaction: the job exists only if the transaction commits. */
  tx?: Pick<Tx, 'client'>;
  startAfter?: Date;
  /** Run at a local wall-clock time in an IANA zone, e.g. { local: '2026-12-01T09:00', timeZone: 'Europe/Berlin' }. */
  at?: { local: string; timeZone: string };
  singletonKey?: string;
  priority?: number;
  id?: string;
}

type TransactionHandle = Awaited<ReturnType<NonNullable<IDatabase['beginTransaction']>>>;

const CLIENT = Symbol('pg client');
type ClientDb = IDatabase & { [CLIENT]?: pg.PoolClient };

function clientDb(client: pg.PoolClient, prepared = false): ClientDb {
  return {
    executeSql: (text: string, values?: unknown[]) =>
      prepared
        ? client.query({ name: statementName('boss', text), text, values })
        : client.query(text, values),
    [CLIENT]: client,
  };
}

const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/** pg-boss on our own pool, with transactions whose client we can hand to Drizzle. */
function poolAdapter(pool: pg.Pool): IDatabase {
  return {
    executeSql: (text: string, values?: unknown[]) => pool.query(text, values),
    async beginTransaction(): Promise<TransactionHandle> {
      const client = await pool.connect();
      let settled = false;
      const onError = (err: Error) => {
        if (!settled) {
          settled = true;
          client.release(err);
        }
      };
      client.on('error', onError);
      const finish = async (sql: 'COMMIT' | 'ROLLBACK') => {
        if (settled) {
          if (sql === 'COMMIT') throw new Error('Transaction is already settled');
          return;
        }
        settled = true;
        client.removeListener('error', onError);
        try {
          await client.query(sql);
          client.release();
        } catch (e) {
          client.release(e as Error);
          if (sql === 'COMMIT') throw e;
        }
      };
      try {
        await client.query('BEGIN');
      } catch (e) {
        settled = true;
        client.removeListener('error', onError);
        client.release(e as Error);
        throw e;
      }
      return { db: clientDb(client), commit: () => finish('COMMIT'), rollback: () => finish('ROLLBACK') };
    },
  };
}

export interface JobsOptions {
  pool: pg.Pool;
  log: Logger;
  clock: Clock;
  queues: QueueDefinition<never>[];
  workerId: string;
  concurrency: number;
  pollingIntervalSeconds?: number;
  secrets?: SecretBox;
}

/**
 * Named queues with retry policies, transactional handlers, enqueue-in-transaction, one-off jobs at a local time
 * in a zone, and cron with a zone. Any number of processes may run workers on the same database: pg-boss claims
 * jobs with SKIP LOCKED, and a handler's writes commit with the job's completion, so each job's effect happens once.
 */
export class Jobs {
  private readonly boss: PgBoss;
  private readonly opts: JobsOptions;
  private readonly queues: Map<string, QueueDefinition<never>>;
  private started = false;
  private working = false;
  private readonly database: Pick<Database, 'pool' | 'db'>;

  constructor(opts: JobsOptions) {
    this.opts = opts;
    this.queues = new Map(opts.queues.map((q) => [q.name, q]));
    this.database = { pool: opts.pool, db: drizzle(opts.pool) };
    this.boss = new PgBoss({
      db: poolAdapter(opts.pool),
      schema: 'pgboss',
      supervise: true,
      schedule: true,
      migrate: true,
    });
    this.boss.on('error', (err: unknown) => opts.log.error({ err: describeError(err) }, 'job queue error'));
    this.boss.on('warning', (w: unknown) => opts.log.warn({ warning: w }, 'job queue warning'));
  }

  get isStarted(): boolean {
    return this.started;
  }

  get isWorking(): boolean {
    return this.working;
  }

  queueNames(): string[] {
    return [...this.queues.keys()];
  }

  /** Install/upgrade pg-boss's schema and create the queues. With `work`, start handling jobs. */
  async start(opts: { work: boolean }): Promise<void> {
    await this.boss.start();
    this.started = true;
    for (const q of this.queues.values()) {
      const p = q.policy ?? {};
      const options = {
        retryLimit: p.retryLimit ?? 3,
        retryDelay: p.retryDelaySeconds ?? 5,
        retryBackoff: p.retryBackoff ?? true,
        ...(p.retryDelayMaxSeconds !== undefined ? { retryDelayMax: p.retryDelayMaxSeconds } : {}),
        expireInSeconds: p.expireInSeconds ?? 900,
      };
      if (await this.boss.getQueue(q.name)) await this.boss.updateQueue(q.name, options);
      else
        await this.boss.createQueue(q.name, options).catch(async (e: unknown) => {
          // Another process created it between our check and our create.
          if (!(await this.boss.getQueue(q.name))) throw e;
        });
    }
    // pg-boss looks a queue up (and caches it) on its first use; `updateQueue` above evicts that cache. Warm it
    // now, outside any transaction: otherwise the first `send(…, { tx })` of each queue needs a second pool
    // connection while its transaction holds one, and an API-only process whose pool is busy with transactions
    // waiting on that one (e.g. SCIM pushes queued on their HR source's lock) deadlocks.
    for (const q of this.queues.values()) await this.boss.getJobById(q.name, NIL_UUID);
    if (opts.work) {
      await this.startWorkers();
      for (const q of this.queues.values())
        if (q.cron)
          await this.boss.schedule(q.name, q.cron.expression, q.cron.data ?? {}, { tz: q.cron.timeZone });
    }
  }

  private async startWorkers(): Promise<void> {
    for (const q of this.queues.values()) {
      const log = this.opts.log.child({ queue: q.name });
      const batchSize = q.batchSize ?? 1;
      await this.boss.work<object>(
        q.name,
        {
          batchSize,
          burstWhenBatchFull: batchSize > 1,
          localConcurrency: this.opts.concurrency,
          pollingIntervalSeconds: this.opts.pollingIntervalSeconds ?? 1,
          transactional: true,
        },
        async (jobs, db?: IDatabase) => {
          const client = (db as ClientDb | undefined)?.[CLIENT];
          if (!client) throw new Error('transactional worker without a transaction');
          const tx: Tx = { client, db: drizzle(client) };
          try {
            await q.handle(jobs as Job<never>[], {
              tx,
              database: this.database,
              log,
              workerId: this.opts.workerId,
              clock: this.opts.clock,
              jobs: this,
              ...(this.opts.secrets ? { secrets: this.opts.secrets } : {}),
            });
          } catch (e) {
            log.warn(
              { jobs: jobs.map((j) => j.id), err: describeError(e) },
              'job failed; it will be retried if its policy allows',
            );
            throw e;
          }
        },
      );
    }
    this.working = true;
  }

  private def(name: string): QueueDefinition<never> {
    const q = this.queues.get(name);
    if (!q)
      throw new GatehouseError(
        JobErrors.unknownQueue,
        `no job queue named "${name}"; known: ${this.queueNames().join(', ')}`,
        { status: 404 },
      );
    return q;
  }

  private ready(): void {
    if (!this.started)
      throw new GatehouseError(JobErrors.notStarted, 'the job system has not been started', { status: 503 });
  }

  async send(name: string, data: object, opts: SendOptions = {}): Promise<string> {
    this.def(name);
    this.ready();
    const startAfter = opts.at ? resolveLocalTime(opts.at.local, opts.at.timeZone) : opts.startAfter;
    const id = await this.boss.send(name, data, {
      ...(startAfter ? { startAfter } : {}),
      ...(opts.singletonKey ? { singletonKey: opts.singletonKey } : {}),
      ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
      ...(opts.id ? { id: opts.id } : {}),
      ...(opts.tx ? { db: clientDb(opts.tx.client as pg.PoolClient) } : {}),
    });
    if (!id)
      throw new GatehouseError(
        'job_not_created',
        `the job for "${name}" was not created (a singleton is already queued)`,
        { status: 409 },
      );
    return id;
  }

  /** Many jobs in one statement (optionally in a transaction). */
  async sendMany(
    name: string,
    items: { data: object; startAfter?: Date; id?: string }[],
    opts: { tx?: Pick<Tx, 'client'> } = {},
  ): Promise<void> {
    this.def(name);
    this.ready();
    await this.boss.insert(
      name,
      items.map((i) => ({
        data: i.data,
        ...(i.startAfter ? { startAfter: i.startAfter } : {}),
        ...(i.id ? { id: i.id } : {}),
      })),
      // Prepared: a push group sends one such insert each, many times a second (pg-boss's text is the same each time).
      opts.tx ? { db: clientDb(opts.tx.client as pg.PoolClient, true) } : undefined,
    );
  }

  /** Recurring: a cron expression evaluated in an IANA zone (e.g. "0 9 * * 1-5" in "Europe/Berlin"). */
  async schedule(
    name: string,
    cron: string,
    data: object,
    opts: { timeZone: string; key?: string },
  ): Promise<void> {
    this.def(name);
    this.ready();
    resolveLocalTime('2000-01-01T12:00', opts.timeZone); // validates the zone with our error
    await this.boss.schedule(name, cron, data, { tz: opts.timeZone, ...(opts.key ? { key: opts.key } : {}) });
  }

  async unschedule(name: string, key?: string): Promise<void> {
    this.ready();
    await this.boss.unschedule(name, key);
  }

  async schedules(): Promise<{ name: string; cron: string; timezone: string; key: string; data: object }[]> {
    this.ready();
    const s = await this.boss.getSchedules();
    return s.map((x) => ({
      name: x.name,
      cron: x.cron,
      timezone: x.timezone,
      key: x.key,
      data: x.data ?? {},
    }));
  }

  /** The next occurrences of a cron expression in a zone (for previews). */
  async previewSchedule(cron: string, timeZone: string, count = 5, from?: Date): Promise<Date[]> {
    this.ready();
    return this.boss.previewSchedule(cron, { tz: timeZone, count, ...(from ? { from } : {}) });
  }

  async getJob(
    name: string,
    id: string,
  ): Promise<{ id: string; state: string; retryCount: number; startAfter: Date; output: unknown } | null> {
    this.ready();
    const j = await this.boss.getJobById(name, id);
    return j
      ? { id: j.id, state: j.state, retryCount: j.retryCount, startAfter: j.startAfter, output: j.output }
      : null;
  }

  async stats(): Promise<
    { name: string; queued: number; active: number; deferred: number; total: number }[]
  > {
    this.ready();
    const qs = await this.boss.getQueues(this.queueNames());
    return qs.map((q) => ({
      name: q.name,
      queued: q.queuedCount,
      active: q.activeCount,
      deferred: q.deferredCount,
      total: q.totalCount,
    }));
  }

  /** Stop fetching; wait up to `timeoutMs` for running handlers to finish. */
  async stop(timeoutMs: number): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.working = false;
    await this.boss.stop({ graceful: true, timeout: Math.max(timeoutMs, 1), close: false });
  }
}
