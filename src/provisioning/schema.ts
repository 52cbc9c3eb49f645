import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { AttributeValue } from '../connectors/kit/types.ts';
import { targets } from '../targets/schema.ts';

/**
 * What Gatehouse knows of each account it manages: written after every applied operation (and, from the
 * reconciliation issue, refreshed from full reads). `memberships` are ids of catalogued entitlements.
 */
export const accounts = pgTable(
  'accounts',
  {
    id: uuid('id').primaryKey(),
    targetId: uuid('target_id')
      .notNull()
      .references(() => targets.id, { onDelete: 'cascade' }),
    personId: uuid('person_id'),
    objectId: text('object_id').notNull(),
    name: text('name').notNull(),
    attributes: jsonb('attributes').$type<Record<string, AttributeValue>>().notNull().default({}),
    enabled: boolean('enabled').notNull(),
    memberships: uuid('memberships')
      .array()
      .notNull()
      .default(sql`'{}'::uuid[]`),
    state: text('state', { enum: ['active', 'disabled', 'quarantined', 'deleted'] }).notNull(),
    quarantineUntil: timestamp('quarantine_until', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex('accounts_target_object_idx')
      .on(t.targetId, t.objectId)
      .where(sql`${t.state} <> 'deleted'`),
    uniqueIndex('accounts_person_target_idx')
      .on(t.personId, t.targetId)
      .where(sql`${t.state} <> 'deleted' and ${t.personId} is not null`),
  ],
);

export const CHANGE_SET_STATUSES = [
  'awaiting_approval',
  'approved',
  'applying',
  'applied',
  'failed',
  'rejected',
  'cancelled',
  'blocked',
  'empty',
] as const;
export type ChangeSetStatus = (typeof CHANGE_SET_STATUSES)[number];

/** One unit of change to targets: previewed, maybe approved, applied through the job queue, undoable. */
export const changeSets = pgTable(
  'change_sets',
  {
    id: uuid('id').primaryKey(),
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    title: text('title').notNull(),
    trigger: text('trigger', {
      enum: ['hr_event', 'recompute', 'policy', 'undo', 'schedule', 'retry', 'remediation'],
    }).notNull(),
    triggerRefs: jsonb('trigger_refs').$type<Record<string, unknown>>().notNull().default({}),
    status: text('status', { enum: CHANGE_SET_STATUSES }).notNull(),
    /** Why it waits for approval: [{kind: privileged|sod|mass_change, message, …}]. */
    approvalReasons: jsonb('approval_reasons').$type<unknown[]>().notNull().default([]),
    /** Grants withheld by SoD rules (action block), with the rule and its reason. */
    blocked: jsonb('blocked').$type<unknown[]>().notNull().default([]),
    /** Planning problems (a mapping that failed for a person) and existing SoD violations. */
    warnings: jsonb('warnings').$type<unknown[]>().notNull().default([]),
    peopleCount: integer('people_count').notNull(),
    opCount: integer('op_count').notNull(),
    policyVersion: integer('policy_version').notNull(),
    /** When the HR event(s) took effect: the start of the HR-event-to-target latency. */
    triggeredAt: timestamp('triggered_at', { withTimezone: true }).notNull(),
    createdBy: text('created_by').notNull(),
    /** `<actor type>:<actor id>` of who asked for it: they may not approve it. */
    createdById: text('created_by_id').notNull().default(''),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    decidedBy: text('decided_by'),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    decisionNote: text('decision_note'),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    undoOf: uuid('undo_of'),
    undoneBy: uuid('undone_by'),
  },
  (t) => [uniqueIndex('change_sets_seq_idx').on(t.seq), index('change_sets_status_idx').on(t.status, t.seq)],
);

export const OP_STATUSES = ['pending', 'running', 'done', 'failed', 'skipped'] as const;
export type OpStatus = (typeof OP_STATUSES)[number];

/** One operation of a change set, on one account of one target. */
export const changeOps = pgTable(
  'change_ops',
  {
    id: uuid('id').primaryKey(),
    changeSetId: uuid('change_set_id')
      .notNull()
      .references(() => changeSets.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    personId: uuid('person_id'),
    targetId: uuid('target_id').notNull(),
    accountId: uuid('account_id'),
    kind: text('kind').notNull(),
    summary: text('summary').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    /** What was there before (captured when applied): the inverse is built from it. */
    before: jsonb('before').$type<Record<string, unknown>>(),
    /** True when the target already was as wanted: nothing changed, nothing to undo. */
    noop: boolean('noop').notNull().default(false),
    reversible: boolean('reversible').notNull().default(true),
    irreversibleReason: text('irreversible_reason'),
    status: text('status', { enum: OP_STATUSES }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    error: jsonb('error').$type<{ code: string; message: string; retryable: boolean }>(),
    triggeredAt: timestamp('triggered_at', { withTimezone: true }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    doneAt: timestamp('done_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('change_ops_set_seq_idx').on(t.changeSetId, t.seq),
    index('change_ops_done_idx')
      .on(t.doneAt)
      .where(sql`${t.status} = 'done'`),
    index('change_ops_person_idx').on(t.personId),
  ],
);
