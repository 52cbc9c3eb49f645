import { sql } from 'drizzle-orm';
import {
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  real,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import type { Mapping } from './mapping.ts';

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });

/** Where HR data comes from: a name, a column mapping and the rules for its imports. */
export const hrSources = pgTable('hr_sources', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull().unique(),
  mapping: jsonb('mapping').$type<Mapping>().notNull(),
  /** A full export lists everyone: people missing from it are leavers. */
  fullExport: boolean('full_export').notNull().default(false),
  /** Any bad row rejects the whole import. */
  allOrNothing: boolean('all_or_nothing').notNull().default(false),
  /** Share of active people an import may terminate (or a full export may miss) before it is held. */
  brakeRatio: real('brake_ratio').notNull().default(0.05),
  /** The brake ignores fewer terminations than this (one leaver among ten people is not a truncated file). */
  brakeMinCount: integer('brake_min_count').notNull().default(3),
  leadTimeDays: integer('lead_time_days').notNull().default(7),
  defaultTimeZone: text('default_time_zone').notNull().default('UTC'),
  /** Header fingerprint of the last applied import: a different header holds the next one. */
  headerFingerprint: text('header_fingerprint'),
  dropFolder: text('drop_folder'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});

/** One import: a file (or API batch) with its preview, and what happened to it. */
export const hrImports = pgTable(
  'hr_imports',
  {
    id: uuid('id').primaryKey(),
    sourceId: uuid('source_id')
      .notNull()
      .references(() => hrSources.id),
    origin: text('origin', { enum: ['cli', 'upload', 'drop_folder', 'api'] }).notNull(),
    fileName: text('file_name'),
    sha256: text('sha256'),
    rows: integer('rows').notNull(),
    state: text('state', {
      enum: ['previewed', 'held', 'applied', 'rejected', 'failed'],
    }).notNull(),
    summary: jsonb('summary').$type<Record<string, unknown>>().notNull(),
    heldReason: text('held_reason'),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    decidedBy: text('decided_by'),
    appliedAt: timestamp('applied_at', { withTimezone: true }),
  },
  (t) => [index('hr_imports_source_idx').on(t.sourceId, t.createdAt)],
);

/** The uploaded file of an import awaiting a decision (previewed or held); deleted once decided. */
export const hrImportFiles = pgTable('hr_import_files', {
  importId: uuid('import_id')
    .primaryKey()
    .references(() => hrImports.id, { onDelete: 'cascade' }),
  content: bytea('content').notNull(),
});

/** Row errors of an import, downloadable as CSV. */
export const hrImportErrors = pgTable(
  'hr_import_errors',
  {
    importId: uuid('import_id')
      .notNull()
      .references(() => hrImports.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    row: integer('row').notNull(),
    column: text('column').notNull(),
    value: text('value'),
    code: text('code').notNull(),
    message: text('message').notNull(),
  },
  (t) => [index('hr_import_errors_import_idx').on(t.importId, t.seq)],
);

/** Lifecycle events: detected from HR changes, stored, audited and published for provisioning. */
export const lifecycleEvents = pgTable(
  'lifecycle_events',
  {
    id: uuid('id').primaryKey(),
    personId: uuid('person_id').notNull(),
    type: text('type').notNull(),
    changes: jsonb('changes').$type<Record<string, { from: string | null; to: string | null }>>(),
    effectiveAt: timestamp('effective_at', { withTimezone: true }).notNull(),
    state: text('state', { enum: ['scheduled', 'pending', 'done', 'cancelled'] }).notNull(),
    importId: uuid('import_id'),
    jobId: text('job_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    doneAt: timestamp('done_at', { withTimezone: true }),
  },
  (t) => [
    index('lifecycle_events_person_idx').on(t.personId, t.effectiveAt),
    index('lifecycle_events_scheduled_idx')
      .on(t.effectiveAt)
      .where(sql`${t.state} in ('scheduled', 'pending')`),
  ],
);
