import { sql } from 'drizzle-orm';
import { bigint, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Append-only, hash-chained. UPDATE/DELETE/TRUNCATE are refused by triggers (see the migration). */
export const auditEvents = pgTable(
  'audit_events',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey(),
    id: uuid('id').notNull().unique(),
    occurredAt: timestamp('occurred_at', { withTimezone: true, precision: 3 }).notNull(),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id').notNull(),
    actorName: text('actor_name'),
    action: text('action').notNull(),
    subjectType: text('subject_type').notNull(),
    subjectId: text('subject_id').notNull(),
    before: jsonb('before'),
    after: jsonb('after'),
    reason: text('reason'),
    correlationId: text('correlation_id'),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [
    index('audit_events_subject_idx').on(t.subjectType, t.subjectId, t.seq),
    index('audit_events_actor_idx').on(t.actorType, t.actorId, t.seq),
    index('audit_events_action_idx').on(t.action, t.seq),
    // Append-only in time order: a block-range index serves date filters at a fraction of a b-tree's upkeep.
    index('audit_events_occurred_idx').using('brin', t.occurredAt),
    index('audit_events_correlation_idx')
      .on(t.correlationId)
      .where(sql`${t.correlationId} is not null`),
  ],
);

/**
 * Personal values referenced from events by `{"$personal": "ref#i"}` (an event's values packed in one row, see
 * `PersonalPack`; older rows hold one value under a bare ref); erasable without breaking the chain.
 */
export const auditPersonalValues = pgTable(
  'audit_personal_values',
  {
    ref: uuid('ref').primaryKey(),
    eventSeq: bigint('event_seq', { mode: 'number' }).notNull(),
    dataSubject: text('data_subject'),
    value: jsonb('value').notNull(),
  },
  (t) => [
    // Erasure finds a person's values by data subject; events find theirs by ref. (Nothing reads by event_seq.)
    index('audit_personal_values_subject_idx').on(t.dataSubject),
  ],
);

/** Chain verifications run as jobs so that the console can show progress on a long trail. */
export const auditVerifications = pgTable('audit_verifications', {
  id: uuid('id').primaryKey(),
  state: text('state', { enum: ['running', 'done', 'failed'] }).notNull(),
  checked: bigint('checked', { mode: 'number' }).notNull().default(0),
  total: bigint('total', { mode: 'number' }).notNull().default(0),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
  startedBy: text('started_by').notNull(),
  finishedAt: timestamp('finished_at', { withTimezone: true }),
  result: jsonb('result'),
  error: text('error'),
});
