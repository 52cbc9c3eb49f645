import type { Database } from '../db/index.ts';
import { Jobs } from '../jobs/index.ts';
import { systemClock, type Clock } from '../kit/clock.ts';
import { silentLogger } from '../kit/log.ts';
import { ALL_QUEUES } from '../runtime/queues.ts';

/**
 * The job system on a test database, started without workers: jobs that imports and pushes publish stay queued
 * (for the test to read), as in an API-only process. Stop it with `jobs.stop(…)`.
 */
export async function startPublishingJobs(
  database: Pick<Database, 'pool'>,
  workerId: string,
  clock: Clock = systemClock,
): Promise<Jobs> {
  const jobs = new Jobs({
    pool: database.pool,
    log: silentLogger,
    clock,
    queues: ALL_QUEUES,
    workerId,
    concurrency: 1,
  });
  await jobs.start({ work: false });
  return jobs;
}
