import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { Jobs, type QueueDefinition } from '../../src/jobs/index.ts';
import { systemClock } from '../../src/kit/clock.ts';
import { silentLogger } from '../../src/kit/log.ts';
import { PROBE_QUEUE, probeQueue, probeReport } from '../../src/system/index.ts';
import { createTestDatabase, type TestDatabase } from '../../src/testing/db.ts';
import { cleanEnv, eventually, gatehouse, type Spawned } from '../../src/testing/processes.ts';

/** Two real `gatehouse worker` processes on one database drain 10,000 jobs; every job runs exactly once. */
let database: TestDatabase;
const workers: Spawned[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  await database.drop();
});

describe('two worker processes', () => {
  it('drain 10,000 jobs with every job done exactly once', async () => {
    const env = cleanEnv({ DATABASE_URL: database.url, GATEHOUSE_WORKER_CONCURRENCY: '2' });
    for (let i = 0; i < 2; i++) workers.push(gatehouse(['worker'], env));
    await Promise.all(workers.map((w) => w.waitFor(/worker .* is running/)));

    const producer = new Jobs({
      pool: database.pool,
      log: silentLogger,
      clock: systemClock,
      queues: [probeQueue as QueueDefinition<never>],
      workerId: 'producer',
      concurrency: 1,
    });
    await producer.start({ work: false });
    const batch = randomUUID();
    const enqueuedAt = new Date().toISOString();
    const N = 10_000;
    for (let i = 0; i < N; i += 2000) {
      await producer.sendMany(
        PROBE_QUEUE,
        Array.from({ length: 2000 }, (_, k) => ({ data: { batch, seq: i + k + 1, enqueuedAt } })),
      );
    }
    await producer.stop(0);

    const report = await eventually(
      async () => {
        const r = await probeReport(database, batch, N);
        return r.done >= N && r;
      },
      '10,000 probe jobs',
      240_000,
    );

    // Exactly once: one execution row per job, no job missing, no job repeated.
    expect(report.done).toBe(N);
    expect(report.distinctJobs).toBe(N);
    const seqs = await database.pool.query<{ n: number; lo: number; hi: number }>(
      'select count(distinct seq)::int as n, min(seq)::int as lo, max(seq)::int as hi from job_probes where batch = $1',
      [batch],
    );
    expect(seqs.rows[0]).toEqual({ n: N, lo: 1, hi: N });
    // Both processes took part.
    const perWorker = Object.values(report.byWorker);
    expect(perWorker).toHaveLength(2);
    for (const n of perWorker) expect(n).toBeGreaterThan(0);
    // pg-boss agrees: all completed, none needed a retry.
    const states = await database.pool.query<{ state: string; retried: number; n: number }>(
      `select state::text, (retry_count > 0) ::int as retried, count(*)::int as n from pgboss.job where name = $1 and data->>'batch' = $2 group by 1, 2`,
      [PROBE_QUEUE, batch],
    );
    expect(states.rows).toEqual([{ state: 'completed', retried: 0, n: N }]);

    // Both stop cleanly on SIGTERM.
    for (const w of workers) w.child.kill('SIGTERM');
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0]);
  });
});
