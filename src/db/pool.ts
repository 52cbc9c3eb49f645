import pg from 'pg';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { Logger } from '../kit/log.ts';
import { openPipelinedReads, type PipelinedReads } from './pipeline.ts';

// int8 (count(*), bigint ids) as JS number when safe: our bigints (sequence numbers) stay well below 2^53.
pg.types.setTypeParser(20, (v) => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
});

export type Db = NodePgDatabase;

/** A database handle: the raw pool (for COPY, LISTEN, pg-boss) and a Drizzle query builder over it. */
export interface Database {
  pool: pg.Pool;
  /** Single short read statements from many requests at once, pipelined on a few connections (pipeline.ts). */
  reads: PipelinedReads;
  db: Db;
  url: string;
  close(): Promise<void>;
}

/** A transaction: the pinned client (pass it to pg-boss or raw SQL) and a Drizzle builder bound to it. */
export interface Tx {
  client: pg.PoolClient;
  db: Db;
}

export function openDatabase(
  url: string,
  opts: {
    max?: number;
    log?: Logger;
    applicationName?: string;
    /** Connections for pipelined reads (default 2); 0 sends reads through the pool. */
    pipelinedReads?: number;
  } = {},
): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'gatehouse',
    connectionTimeoutMillis: 10_000,
  });
  // An idle client losing its connection (e.g. the embedded server restarting) must not crash the process.
  pool.on('error', (err) =>
    opts.log?.warn({ err: err.message }, 'database connection lost; it will be replaced'),
  );
  const reads: PipelinedReads =
    opts.pipelinedReads === 0
      ? {
          query: (config, values) => pool.query(config as pg.QueryConfig, values),
          end: async () => undefined,
        }
      : openPipelinedReads(url, {
          connections: opts.pipelinedReads ?? 2,
          fallback: pool,
          applicationName: `${opts.applicationName ?? 'gatehouse'}-reads`,
          ...(opts.log ? { log: opts.log } : {}),
        });
  return {
    pool,
    reads,
    db: drizzle(pool),
    url,
    close: async () => {
      await reads.end();
      await pool.end();
    },
  };
}

/** Run `fn` in one transaction; commit when it returns, roll back when it throws. */
export async function transaction<T>(
  database: Pick<Database, 'pool'>,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  const client = await database.pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn({ client, db: drizzle(client) });
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

/** Wait until the server answers, up to `timeoutMs`; rethrows the last connection error. */
export async function waitForDatabase(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: Math.min(5000, timeoutMs),
    });
    try {
      await client.connect();
      await client.query('select 1');
      await client.end();
      return;
    } catch (e) {
      last = e;
      await client.end().catch(() => undefined);
      // Authentication, unknown database and similar answers are final: retrying will not help.
      const code = (e as { code?: string }).code;
      if (code && /^(28|3D)/.test(code)) throw e;
    }
    if (Date.now() >= deadline) throw last;
    await new Promise((r) => setTimeout(r, 200));
  }
}
