/**
 * Pipelined reads: a few connections in pg's pipeline mode, each carrying many single statements at once.
 *
 * A pooled connection carries one statement at a time, and every round trip wakes two processes: Node writing the
 * query wakes the backend blocked on its socket, the backend's answer wakes Node. On a VM such a wake-up is dear
 * (the profile of a SCIM read showed most of the request's time inside the socket write). Here statements from
 * concurrent requests go onto the same connection as they come, without waiting for the one before: the backend
 * finds the next one already there when it finishes, so it wakes less often, and fewer backends run.
 *
 * Only for single, short, read-only statements outside any transaction (SCIM reads, lookups): a statement here
 * runs in its own implicit transaction, as `pool.query` does; each is followed by its own Sync, so a statement that
 * fails fails alone. Never for `BEGIN`…`COMMIT`, cursors or COPY (pg refuses the latter two in pipeline mode), nor
 * for anything known to be slow: the statements behind it on its connection wait for it. Against the slow statement
 * nobody foresaw, a connection whose current statement has run for longer than `stallMs` takes no more: when every
 * connection is so held up, statements go to the ordinary pool instead (and a statement timeout bounds the wait).
 */
import pg from 'pg';
import type { Logger } from '../kit/log.ts';

/** What runs one statement and answers its result: a pool, a pooled client (a transaction's) or pipelined reads. */
export interface Statements {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    config: pg.QueryConfig | string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
}

export interface PipelinedReads extends Statements {
  /** Close every connection; statements still in flight are answered first. */
  end(): Promise<void>;
}

type Queryable = Pick<pg.Pool, 'query'>;

export interface PipelinedReadsOptions {
  /** Where statements go while every pipelined connection is held up by a slow one. */
  fallback?: Queryable;
  /** How long the statement a connection is running may take before the connection takes no more (default 25 ms). */
  stallMs?: number;
  /** Connections (default 2): on this kind of machine, more only spreads the same statements thinner. */
  connections?: number;
  applicationName?: string;
  /** Server-side limit per statement, so that one stuck statement cannot hold up those behind it for long. */
  statementTimeoutMs?: number;
  connectionTimeoutMs?: number;
  log?: Logger;
}

interface Slot {
  client: pg.Client | undefined;
  /** Settles when the client's connection is made (or cannot be): statements wait for it, to fail with its error. */
  ready: Promise<void>;
  inFlight: number;
  /** Since when (performance.now()) the statement at the head of the connection has been running. */
  headSince: number;
}

export function openPipelinedReads(url: string, opts: PipelinedReadsOptions = {}): PipelinedReads {
  const slots: Slot[] = Array.from({ length: Math.max(1, opts.connections ?? 2) }, () => ({
    client: undefined,
    ready: Promise.resolve(),
    inFlight: 0,
    headSince: 0,
  }));
  const stallMs = opts.stallMs ?? 25;
  let ended = false;

  const open = (slot: Slot): pg.Client => {
    const client = new pg.Client({
      connectionString: url,
      application_name: opts.applicationName ?? 'gatehouse-reads',
      connectionTimeoutMillis: opts.connectionTimeoutMs ?? 10_000,
      statement_timeout: opts.statementTimeoutMs ?? 60_000,
      // pg's own pipeline mode (not queueing on a busy client, which pg deprecates).
      pipeline: true,
    } as pg.ClientConfig);
    const drop = () => {
      if (slot.client === client) slot.client = undefined;
    };
    // A lost connection fails the statements on it (pg rejects each) and is replaced on the next statement.
    client.on('error', (err) => {
      drop();
      opts.log?.warn({ err: err.message }, 'pipelined database connection lost; it will be replaced');
    });
    client.on('end', drop);
    slot.ready = client.connect().then(
      () => undefined,
      (err: unknown) => {
        drop();
        opts.log?.warn({ err: (err as Error).message }, 'pipelined database connection failed');
        throw err;
      },
    );
    slot.ready.catch(() => undefined); // answered to the statements waiting for it
    slot.client = client;
    return client;
  };

  return {
    async query<R extends pg.QueryResultRow>(config: pg.QueryConfig | string, values?: unknown[]) {
      if (ended) throw new Error('the pipelined read pool is closed');
      const now = performance.now();
      let slot: Slot | undefined;
      for (const s of slots) {
        if (s.inFlight && now - s.headSince > stallMs) continue;
        if (!slot || s.inFlight < slot.inFlight) slot = s;
      }
      if (!slot && opts.fallback) return opts.fallback.query<R>(config as pg.QueryConfig, values);
      slot ??= slots[0]!;
      const client = slot.client ?? open(slot);
      const ready = slot.ready;
      const at = slot;
      if (at.inFlight++ === 0) at.headSince = now;
      try {
        // A connection that cannot be made fails its statements with its own error (the password, the server gone).
        await ready;
        return await client.query<R>(config as pg.QueryConfig, values);
      } catch (e) {
        // The server ending the session (FATAL: an administrator, a restart) is answered to the statement running
        // before the socket closes: let no further statement onto that connection.
        if ((e as { severity?: string }).severity === 'FATAL' && at.client === client) {
          at.client = undefined;
          client.end().catch(() => undefined);
        }
        throw e;
      } finally {
        // A connection answers in the order sent: the next statement starts running now.
        at.inFlight--;
        at.headSince = performance.now();
      }
    },
    async end() {
      ended = true;
      await Promise.all(
        slots.map(async (s) => {
          const c = s.client;
          s.client = undefined;
          await c?.end().catch(() => undefined);
        }),
      );
    },
  };
}
