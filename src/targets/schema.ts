import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  index,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { Attributes } from '../connectors/kit/types.ts';

/**
 * Connected systems. `config` holds the connector's settings without credentials; the credentials (the
 * definition's `secretFields`) are one JSON object sealed with the runtime's SecretBox, bound to the target id, in
 * `secrets`. The last connection test is kept for the list (not audited: it changes nothing).
 */
export const targets = pgTable('targets', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull().unique(),
  connector: text('connector').notNull(),
  config: jsonb('config').$type<Record<string, unknown>>().notNull(),
  /** Names of the credentials held in `secrets` (names are not secret; the API shows "set" / "not set"). */
  secretNames: text('secret_names')
    .array()
    .notNull()
    .default(sql`'{}'::text[]`),
  secrets: text('secrets'),
  enabled: boolean('enabled').notNull().default(true),
  lastTestAt: timestamp('last_test_at', { withTimezone: true }),
  lastTestOk: boolean('last_test_ok'),
  lastTestCode: text('last_test_code'),
  lastTestMessage: text('last_test_message'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  createdBy: text('created_by').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  updatedBy: text('updated_by').notNull(),
});

/** Work for a person on a manual target: one operation on one account or group, confirmed with a note. */
export const manualTasks = pgTable(
  'manual_tasks',
  {
    id: uuid('id').primaryKey(),
    /** Order of arrival (the work queue's order, and the list cursor). */
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    targetId: uuid('target_id')
      .notNull()
      .references(() => targets.id, { onDelete: 'cascade' }),
    operation: text('operation').notNull(),
    objectClass: text('object_class').notNull(),
    objectId: text('object_id').notNull(),
    objectName: text('object_name'),
    summary: text('summary').notNull(),
    details: jsonb('details').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: ['open', 'done', 'cancelled'] }).notNull(),
    note: text('note'),
    completedBy: text('completed_by'),
    completedAt: timestamp('completed_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex('manual_tasks_seq_idx').on(t.seq),
    index('manual_tasks_open_idx')
      .on(t.targetId, t.seq)
      .where(sql`${t.status} = 'open'`),
    index('manual_tasks_object_idx').on(t.targetId, t.objectClass, t.objectId),
    index('manual_tasks_status_idx').on(t.status, t.seq),
  ],
);

/**
 * The ledger of a manual target: its accounts and groups as people confirmed them. Deleted objects stay as
 * tombstones so that `sync` reports the deletion; `change_seq` orders the changes of one target (writes to one
 * target's ledger are serialised, so the order is the commit order).
 */
export const manualObjects = pgTable(
  'manual_objects',
  {
    targetId: uuid('target_id')
      .notNull()
      .references(() => targets.id, { onDelete: 'cascade' }),
    objectClass: text('object_class').notNull(),
    id: text('id').notNull(),
    name: text('name').notNull(),
    attributes: jsonb('attributes').$type<Attributes>().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    locked: boolean('locked').notNull().default(false),
    memberOf: jsonb('member_of').$type<string[]>().notNull().default([]),
    deleted: boolean('deleted').notNull().default(false),
    changeSeq: bigserial('change_seq', { mode: 'number' }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ name: 'manual_objects_pk', columns: [t.targetId, t.objectClass, t.id] }),
    uniqueIndex('manual_objects_name_idx')
      .on(t.targetId, t.objectClass, sql`lower(${t.name})`)
      .where(sql`not ${t.deleted}`),
    index('manual_objects_change_idx').on(t.targetId, t.changeSeq),
  ],
);
