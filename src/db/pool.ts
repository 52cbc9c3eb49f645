import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { Logger } from '../kit/log.ts';
import { loadColumnTypes } from './copy.ts';
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
  /**
   * Connections in pg's pipeline mode for short write transactions (`pipelinedTransaction`): statements go out
   * without waiting for the answer to the one before.
   */
  pipelined?: pg.Pool;
  db: Db;
  url: string;
  close(): Promise<void>;
}

/** A transaction: the pinned client (pass it to pg-boss or raw SQL) and a Drizzle builder bound to it. */
export interface Tx {
  client: pg.PoolClient;
  db: Db;
  /** On a pipelined connection (`pipelinedTransaction`): statements may be sent before earlier ones are answered. */
  pipelined?: boolean;
  /**
   * Pipelined: a statement sent whose answer the caller does not wait for (the last write of the transaction). COMMIT
   * goes out behind it, and the transaction fails with its failure, if it failed.
   */
  unanswered?: (statement: Promise<unknown>) => void;
  /**
   * Pipelined: a write that has not sent its statement yet (`WriteBehind`); COMMIT goes out once `sent` resolves, so
   * that the statement is inside the transaction, not behind its end.
   */
  sendsBeforeCommit?: (sent: Promise<void>) => void;
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
  const pipelined = new pg.Pool({
    connectionString: url,
    max: 4,
    application_name: `${opts.applicationName ?? 'gatehouse'}-writes`,
    connectionTimeoutMillis: 10_000,
    // pg's own pipeline mode (not queueing on a busy client, which pg deprecates).
    pipeline: true,
  } as pg.PoolConfig);
  pipelined.on('connect', countStatements);
  pipelined.on('error', (err) =>
    opts.log?.warn({ err: err.message }, 'database connection lost; it will be replaced'),
  );
  return {
    pool,
    reads,
    pipelined,
    db: drizzle(pool),
    url,
    close: async () => {
      await reads.end();
      await pipelined.end();
      await pool.end();
    },
  };
}

const SENT = Symbol('statements sent');
type Counted = pg.Client & { [SENT]?: number };
/** Who wants to know when the code running now gives a pipelined connection a statement (`sendingAs`). */
const sendWatch = new AsyncLocalStorage<() => void>();

/** Count the statements given to a pipelined connection (`statementsSent`). */
function countStatements(client: pg.Client): void {
  const counted = client as Counted;
  const query = client.query;
  counted[SENT] = 0;
  counted.query = function (this: pg.Client, ...args: unknown[]) {
    counted[SENT] = (counted[SENT] ?? 0) + 1;
    sendWatch.getStore()?.();
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof client.query;
}

/**
 * How many statements a pipelined transaction's connection has been given so far (undefined for any other): a
 * writer learns whether a call sent its statement at once (`WriteBehind`).
 */
export function statementsSent(tx: Tx): number | undefined {
  return tx.pipelined ? (tx.client as unknown as Counted)[SENT] : undefined;
}

/**
 * Call `fn`, and `onSend` whenever it (or anything it awaits and goes on with) gives a pipelined connection a
 * statement: a writer learns when a call that sent nothing at once sends later (`WriteBehind`).
 */
export function sendingAs<T>(onSend: () => void, fn: () => T): T {
  return sendWatch.run(onSend, fn);
}

/** Run `fn` in one transaction; commit when it returns, roll back when it throws. */
export async function transaction<T>(
  database: Pick<Database, 'pool'>,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  const client = await database.pool.connect();
  return rolledBackOnFailure(client, async () => {
    await client.query('BEGIN');
    const result = await fn({ client, db: drizzle(client) });
    await client.query('COMMIT');
    return result;
  });
}

/**
 * `body`'s result; when it throws, the transaction on `client` is rolled back — unless `ended` says it has already
 * ended (its COMMIT was answered). The client is released either way.
 */
async function rolledBackOnFailure<T>(
  client: pg.PoolClient,
  body: () => Promise<T>,
  ended?: () => Promise<boolean>,
): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (!(await ended?.())) await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

/**
 * `transaction` on a pipelined connection, for short transactions that write a few rows per table (a group of
 * pushed people): BEGIN goes out with the first statement, and a caller may send statements that do not depend on
 * each other's answers together (`tx.pipelined`), so the transaction takes fewer round trips — each a wake-up of
 * both processes and, on a busy server, a wait for Node's event loop. Never for COPY or cursors (pg refuses them in
 * pipeline mode: `copyRows` inserts instead). Without a pipelined pool (a partial handle), an ordinary transaction.
 */
export async function pipelinedTransaction<T>(
  database: Pick<Database, 'pool'> & Partial<Pick<Database, 'pipelined'>>,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  if (!database.pipelined) return transaction(database, fn);
  const client = await database.pipelined.connect();
  const unanswered: Promise<unknown>[] = [];
  const sending: Promise<void>[] = [];
  /** The first failure among the statements not waited for, if any: the one to report (the rest followed from it). */
  const firstUnanswered = async () => {
    for (const p of unanswered) await p;
  };
  /**
   * Once COMMIT is sent: whether PostgreSQL answered it (a commit, the rollback of an aborted transaction, or an
   * error of its own), which ends the transaction — a ROLLBACK then would only draw "no transaction in progress".
   */
  let commitAnswered: Promise<boolean> | undefined;
  return rolledBackOnFailure(
    client,
    async () => {
      await loadColumnTypes(client);
      const begin = client.query('BEGIN');
      unanswered.push(begin); // the statements after it fail too; its failure is the one reported
      let result: T;
      try {
        result = await fn({
          client,
          db: drizzle(client),
          pipelined: true,
          unanswered: (p) => {
            p.catch(() => undefined);
            unanswered.push(p);
          },
          sendsBeforeCommit: (sent) => {
            sending.push(sent);
          },
        });
        // Usually nothing to wait for: the writes sent their statements when called.
        for (const sent of sending) await sent;
      } catch (e) {
        await firstUnanswered();
        throw e;
      }
      // COMMIT of a transaction that a failed statement aborted only rolls it back (PostgreSQL answers ROLLBACK, no
      // error): the statements not waited for are checked before the commit is trusted.
      const commit = client.query('COMMIT');
      commitAnswered = commit.then(
        () => true,
        // PostgreSQL's own error (a SQLSTATE), not a lost connection's
        (e: unknown) => /^[0-9A-Z]{5}$/.test(String((e as { code?: unknown }).code)),
      );
      await firstUnanswered();
      await commit;
      return result;
    },
    async () => (commitAnswered ? await commitAnswered : false),
  );
}

/**
 * A statement whose answer the caller does not need: on a pipelined transaction it is not waited for (the
 * transaction checks it, in order, before it reports its commit or its failure); otherwise it is waited for here.
 */
export async function answeredLater(tx: Tx, statement: Promise<unknown>): Promise<void> {
  if (tx.unanswered) tx.unanswered(statement);
  else await statement;
}

type Answers<T> = { -readonly [K in keyof T]: T[K] extends () => Promise<infer R> ? R : never };

/**
 * Statements a caller sends together, each function sending one (or a few): all at once on a pipelined connection,
 * answered in order (so the failure reported is the earliest statement's), one after the other otherwise.
 */
export async function together<T extends readonly (() => Promise<unknown>)[]>(
  tx: Tx,
  ...fns: [...T]
): Promise<Answers<T>> {
  const out: unknown[] = [];
  if (!tx.pipelined) {
    for (const f of fns) out.push(await f());
  } else {
    const sent = fns.map((f) => f());
    for (const p of sent) p.catch(() => undefined); // the earliest failure is the one reported
    for (const p of sent) out.push(await p);
  }
  return out as Answers<T>;
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
