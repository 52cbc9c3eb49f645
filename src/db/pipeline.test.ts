import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, superuser, type TestDatabase } from '../testing/db.ts';
import { openPipelinedReads, type PipelinedReads } from './pipeline.ts';

/** Pipelined reads against real PostgreSQL: many statements at once on few connections, each answered alone. */
let database: TestDatabase;
const opened: PipelinedReads[] = [];

function reads(opts: Parameters<typeof openPipelinedReads>[1] = {}): PipelinedReads {
  const r = openPipelinedReads(database.url, { applicationName: 'pipeline-test', ...opts });
  opened.push(r);
  return r;
}

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  for (const r of opened) await r.end();
  await database?.drop();
});

describe('openPipelinedReads', () => {
  it('answers many concurrent statements, each with its own result, on no more connections than asked', async () => {
    const r = reads({ connections: 2 });
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        r.query<{ n: number; pid: number }>('select $1::int as n, pg_backend_pid() as pid', [i]),
      ),
    );
    expect(results.map((x) => x.rows[0]!.n)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    const pids = new Set(results.map((x) => x.rows[0]!.pid));
    expect(pids.size).toBeGreaterThanOrEqual(1);
    expect(pids.size).toBeLessThanOrEqual(2);
    // The connections are in pg's pipeline mode (statements sent without waiting for the one before).
    const active = await database.pool.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity where application_name = 'pipeline-test' and pid = any($1)`,
      [[...pids]],
    );
    expect(active.rows[0]!.n).toBe(pids.size);
  });

  it('a named statement used by many at once on a fresh connection is prepared once and answers them all', async () => {
    const r = reads({ connections: 1 });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        r.query<{ n: number }>({ name: 'pipeline_test_named', text: 'select $1::int * 2 as n', values: [i] }),
      ),
    );
    expect(results.map((x) => x.rows[0]!.n)).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
  });

  it('a statement that fails fails alone: those sent with it on the same connection are answered', async () => {
    const r = reads({ connections: 1 });
    const settled = await Promise.allSettled([
      r.query<{ n: number }>('select 1 as n'),
      r.query('select 1 / 0'),
      r.query('select * from no_such_table_here'),
      r.query<{ n: number }>('select 2 as n'),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ code: '22012' });
    expect((settled[2] as PromiseRejectedResult).reason).toMatchObject({ code: '42P01' });
    expect((settled[3] as PromiseFulfilledResult<pg.QueryResult<{ n: number }>>).value.rows[0]!.n).toBe(2);
  });

  it('a lost connection fails the statements on it and is replaced for the next ones', async () => {
    const r = reads({ connections: 1 });
    const first = await r.query<{ pid: number }>('select pg_backend_pid() as pid');
    const pid = first.rows[0]!.pid;
    const inFlight = r.query('select pg_sleep(5)').then(
      () => 'answered',
      (e: Error) => e.message,
    );
    // Wait until that statement is running, then end its backend as an administrator (or a restart) would.
    await expect
      .poll(async () => {
        const a = await database.pool.query<{ n: number }>(
          `select count(*)::int as n from pg_stat_activity where pid = $1 and query like 'select pg_sleep%'`,
          [pid],
        );
        return a.rows[0]!.n;
      })
      .toBe(1);
    await superuser(database, (c) => c.query('select pg_terminate_backend($1)', [pid]));
    expect(await inFlight).toMatch(/terminating connection due to administrator command/);
    const next = await r.query<{ pid: number }>('select pg_backend_pid() as pid');
    expect(next.rows[0]!.pid).not.toBe(pid);
  });

  it('while its every connection is held up by a slow statement, a statement goes to the fallback instead', async () => {
    const fallbackCalls: string[] = [];
    const fallback = {
      query: (config: pg.QueryConfig | string, values?: unknown[]) => {
        fallbackCalls.push(typeof config === 'string' ? config : config.text);
        return database.pool.query(config as pg.QueryConfig, values);
      },
    };
    const r = reads({ connections: 1, stallMs: 25, fallback: fallback as Pick<pg.Pool, 'query'> });
    const slow = r.query('select pg_sleep(0.5)');
    await new Promise((resolve) => setTimeout(resolve, 150));
    const quick = await r.query<{ n: number }>('select 7 as n');
    expect(quick.rows[0]!.n).toBe(7);
    expect(fallbackCalls).toEqual(['select 7 as n']);
    await slow;
    // Once the slow one is answered, the connection takes statements again.
    await r.query('select 8');
    expect(fallbackCalls).toHaveLength(1);
  });

  it('a connection that cannot be made fails the statements waiting for it, and is tried again for the next', async () => {
    const wrong = new URL(database.url);
    wrong.password = 'not-the-password';
    const r = openPipelinedReads(wrong.toString(), { connections: 1 });
    opened.push(r);
    const settled = await Promise.allSettled([r.query('select 1'), r.query('select 2')]);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect((settled[0] as PromiseRejectedResult).reason).toMatchObject({ code: '28P01' });
    await expect(r.query('select 3')).rejects.toMatchObject({ code: '28P01' });
  });

  it('after end(), a statement is refused with a clear error', async () => {
    const r = reads();
    await r.query('select 1');
    await r.end();
    await expect(r.query('select 1')).rejects.toThrow('the pipelined read pool is closed');
  });
});
