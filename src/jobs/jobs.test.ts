import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { openDatabase, transaction } from '../db/index.ts';
import { systemClock } from '../kit/clock.ts';
import { silentLogger } from '../kit/log.ts';
import { GatehouseError } from '../kit/errors.ts';
import { PROBE_QUEUE, probeQueue, probeReport } from '../system/index.ts';
import { createTestDatabase, type TestDatabase } from '../testing/db.ts';
import { eventually } from '../testing/processes.ts';
import { Jobs, JobErrors, TimeErrors, type QueueDefinition } from './index.ts';

let database: TestDatabase;
let jobs: Jobs;
const attempts = new Map<string, number>();

/** Fails its first two attempts; each attempt writes a row that must vanish with the failed attempt. */
const flaky: QueueDefinition<{ key: string }> = {
  name: 'test.flaky',
  description: 'fails twice, then succeeds',
  policy: { retryLimit: 3, retryDelaySeconds: 1, retryBackoff: true, retryDelayMaxSeconds: 2 },
  async handle([job], ctx) {
    const n = (attempts.get(job!.data.key) ?? 0) + 1;
    attempts.set(job!.data.key, n);
    await ctx.tx.client.query('insert into flaky_effects(key, attempt) values ($1, $2)', [job!.data.key, n]);
    if (n < 3) throw new Error(`attempt ${n} fails on purpose`);
  },
};

beforeAll(async () => {
  database = await createTestDatabase();
  await database.pool.query('create table flaky_effects(key text, attempt int)');
  jobs = new Jobs({
    pool: database.pool,
    log: silentLogger,
    clock: systemClock,
    queues: [probeQueue as QueueDefinition<never>, flaky as QueueDefinition<never>],
    workerId: 'test-worker',
    concurrency: 2,
    pollingIntervalSeconds: 0.5,
  });
  await jobs.start({ work: true });
});
afterAll(async () => {
  await jobs.stop(5000);
  await database.drop();
});

describe('jobs (pg-boss on real PostgreSQL)', () => {
  it('enqueues in the caller transaction: rolled back → never runs; committed → runs once', async () => {
    const batch = randomUUID();
    const data = (seq: number) => ({ batch, seq, enqueuedAt: new Date().toISOString() });
    const rolledBackId = randomUUID();
    await expect(
      transaction(database, async (tx) => {
        await jobs.send(PROBE_QUEUE, data(1), { tx, id: rolledBackId });
        throw new Error('caller failed');
      }),
    ).rejects.toThrow('caller failed');
    await transaction(database, (tx) => jobs.send(PROBE_QUEUE, data(2), { tx }));
    const report = await eventually(async () => {
      const r = await probeReport(database, batch, 1);
      return r.done >= 1 && r;
    }, 'the committed probe job');
    expect(report.byWorker).toEqual({ 'test-worker': 1 });
    expect(await jobs.getJob(PROBE_QUEUE, rolledBackId)).toBeNull();
  });

  it('retries a failing job with backoff; effects of failed attempts are rolled back', async () => {
    const key = randomUUID();
    const id = await jobs.send('test.flaky', { key });
    const done = await eventually(
      async () => {
        const j = await jobs.getJob('test.flaky', id);
        return j?.state === 'completed' && j;
      },
      'the flaky job to complete',
      90_000,
    );
    expect(done.retryCount).toBe(2);
    expect(attempts.get(key)).toBe(3);
    const effects = await database.pool.query('select attempt from flaky_effects where key = $1', [key]);
    expect(effects.rows).toEqual([{ attempt: 3 }]);
  });

  it('schedules a one-off job at a local time in a time zone', async () => {
    const id = await jobs.send(
      PROBE_QUEUE,
      { batch: randomUUID(), seq: 1, enqueuedAt: new Date().toISOString() },
      { at: { local: '2030-12-01T09:00', timeZone: 'Europe/Berlin' } },
    );
    const j = await jobs.getJob(PROBE_QUEUE, id);
    expect(j?.startAfter.toISOString()).toBe('2030-12-01T08:00:00.000Z');
    expect(j?.state).toBe('created');
    const err = await jobs
      .send(
        PROBE_QUEUE,
        { batch: 'x', seq: 1, enqueuedAt: '' },
        { at: { local: '2030-03-31T02:30', timeZone: 'Europe/Berlin' } },
      )
      .catch((e: unknown) => e);
    expect((err as GatehouseError).code).toBe(TimeErrors.nonexistent);
  });

  it('keeps cron schedules with their time zone', async () => {
    await jobs.schedule(
      PROBE_QUEUE,
      '0 9 * * 1-5',
      { batch: 'cron', seq: 0, enqueuedAt: '' },
      { timeZone: 'Europe/Berlin', key: 'weekday-morning' },
    );
    const s = (await jobs.schedules()).find((x) => x.key === 'weekday-morning');
    expect(s).toMatchObject({ name: PROBE_QUEUE, cron: '0 9 * * 1-5', timezone: 'Europe/Berlin' });
    const next = await jobs.previewSchedule(
      '0 9 * * 1-5',
      'Europe/Berlin',
      2,
      new Date('2026-11-27T12:00:00Z'),
    ); // a Friday afternoon
    expect(next.map((d) => d.toISOString())).toEqual([
      '2026-11-30T08:00:00.000Z',
      '2026-12-01T08:00:00.000Z',
    ]);
    await jobs.unschedule(PROBE_QUEUE, 'weekday-morning');
    expect((await jobs.schedules()).find((x) => x.key === 'weekday-morning')).toBeUndefined();
    const bad = await jobs
      .schedule(PROBE_QUEUE, '0 9 * * *', {}, { timeZone: 'Nowhere/Land' })
      .catch((e: unknown) => e);
    expect((bad as GatehouseError).code).toBe(TimeErrors.badZone);
  });

  it('refuses an unknown queue by name', async () => {
    const err = await jobs.send('no.such.queue', {}).catch((e: unknown) => e);
    expect((err as GatehouseError).code).toBe(JobErrors.unknownQueue);
    expect((err as GatehouseError).message).toContain('system.probe');
  });

  it('an API-only process (no workers) enqueues inside a transaction without a second connection', async () => {
    // One connection in the pool, held by the caller's transaction: the enqueue must use that transaction only.
    // (pg-boss looks each queue up on first use; before the cache was warmed at start, this waited for a second
    // connection forever — and a busy API process deadlocked.)
    const pool = openDatabase(database.url, { max: 1 });
    const apiOnly = new Jobs({
      pool: pool.pool,
      log: silentLogger,
      clock: systemClock,
      queues: [probeQueue as QueueDefinition<never>],
      workerId: 'api-only',
      concurrency: 1,
    });
    await apiOnly.start({ work: false });
    try {
      const sent = transaction(pool, async (tx) =>
        apiOnly.send(PROBE_QUEUE, { marker: randomUUID() }, { tx }),
      ).then(
        (id) => ({ id }),
        (e: unknown) => ({ error: String(e) }),
      );
      const stuck = new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), 10_000).unref());
      const outcome = await Promise.race([sent, stuck]);
      expect(outcome).toMatchObject({ id: expect.any(String) });
    } finally {
      await apiOnly.stop(1000);
      await pool.close();
    }
  });
});
