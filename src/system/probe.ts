import { and, eq, sql } from 'drizzle-orm';
import type { Job } from 'pg-boss';
import type { Database } from '../db/pool.ts';
import { randomUUID } from 'node:crypto';
import type { Jobs, QueueDefinition } from '../jobs/index.ts';
import type { Clock } from '../kit/clock.ts';
import { jobProbes } from './schema.ts';

/**
 * `system.probe`: a job whose only effect is one row in job_probes. `gatehouse jobs probe` sends a batch and waits
 * for it, proving the queue end to end (and, with several workers, that each job runs exactly once).
 */
export const PROBE_QUEUE = 'system.probe';

export interface ProbeData {
  batch: string;
  seq: number;
  enqueuedAt: string;
}

export const probeQueue: QueueDefinition<ProbeData> = {
  name: PROBE_QUEUE,
  description: 'Queue health probe: records which worker ran each probe job',
  batchSize: 100,
  policy: { retryLimit: 2, retryDelaySeconds: 1, expireInSeconds: 120 },
  async handle(jobs: Job<ProbeData>[], ctx) {
    const now = ctx.clock.now();
    await ctx.tx.db.insert(jobProbes).values(
      jobs.map((j) => ({
        jobId: j.id,
        batch: j.data.batch,
        seq: j.data.seq,
        workerId: ctx.workerId,
        enqueuedAt: new Date(j.data.enqueuedAt),
        doneAt: now,
      })),
    );
  },
};

export interface ProbeReport {
  batch: string;
  expected: number;
  /** Executions recorded (a job run twice counts twice). */
  done: number;
  /** Distinct jobs executed: equals `done` when every job ran exactly once. */
  distinctJobs: number;
  byWorker: Record<string, number>;
  latencyMs: { p50: number; p95: number; max: number } | null;
}

export async function probeReport(
  database: Pick<Database, 'db'>,
  batch: string,
  expected: number,
): Promise<ProbeReport> {
  const rows = await database.db
    .select({ workerId: jobProbes.workerId, n: sql<number>`count(*)::int` })
    .from(jobProbes)
    .where(eq(jobProbes.batch, batch))
    .groupBy(jobProbes.workerId);
  const [lat] = await database.db
    .select({
      p50: sql<number>`coalesce(percentile_cont(0.5) within group (order by extract(epoch from ${jobProbes.doneAt} - ${jobProbes.enqueuedAt}) * 1000), 0)::float8`,
      p95: sql<number>`coalesce(percentile_cont(0.95) within group (order by extract(epoch from ${jobProbes.doneAt} - ${jobProbes.enqueuedAt}) * 1000), 0)::float8`,
      max: sql<number>`coalesce(max(extract(epoch from ${jobProbes.doneAt} - ${jobProbes.enqueuedAt}) * 1000), 0)::float8`,
      distinctJobs: sql<number>`count(distinct ${jobProbes.jobId})::int`,
    })
    .from(jobProbes)
    .where(and(eq(jobProbes.batch, batch)));
  const done = rows.reduce((a, r) => a + r.n, 0);
  return {
    batch,
    expected,
    done,
    distinctJobs: lat?.distinctJobs ?? 0,
    byWorker: Object.fromEntries(rows.map((r) => [r.workerId, r.n])),
    latencyMs:
      done > 0 && lat
        ? { p50: Math.round(lat.p50), p95: Math.round(lat.p95), max: Math.round(lat.max) }
        : null,
  };
}

/** Enqueue `count` probe jobs as one batch; returns the batch id to pass to `probeReport`. */
export async function sendProbes(jobs: Jobs, clock: Clock, count: number): Promise<string> {
  const batch = randomUUID();
  const enqueuedAt = clock.now().toISOString();
  for (let i = 0; i < count; i += 5000) {
    const n = Math.min(5000, count - i);
    await jobs.sendMany(
      PROBE_QUEUE,
      Array.from({ length: n }, (_, k) => ({ data: { batch, seq: i + k + 1, enqueuedAt } })),
    );
  }
  return batch;
}
