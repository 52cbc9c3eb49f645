import { jsonb, pgTable, text, timestamp, bigint, uuid, index } from 'drizzle-orm/pg-core';

/** Small durable facts about this installation (e.g. "bootstrap done"). */
export const systemState = pgTable('system_state', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});

/**
 * Written by the built-in `system.probe` job: proves the queue end to end (`gatehouse jobs probe`). One row per
 * execution (not per job), so a job that ran twice would show up as two rows.
 */
export const jobProbes = pgTable(
  'job_probes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    jobId: uuid('job_id').notNull(),
    batch: text('batch').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    workerId: text('worker_id').notNull(),
    enqueuedAt: timestamp('enqueued_at', { withTimezone: true, precision: 3 }).notNull(),
    doneAt: timestamp('done_at', { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [index('job_probes_batch_idx').on(t.batch), index('job_probes_job_idx').on(t.jobId)],
);
