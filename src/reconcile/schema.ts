import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { AttributeValue } from '../connectors/kit/types.ts';
import { targets } from '../targets/schema.ts';

export const RUN_STATUSES = ['running', 'completed', 'aborted', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** What a run counted; every figure is a number of accounts except `seconds`. */
export interface RunCounts {
  read: number;
  new: number;
  changed: number;
  gone: number;
  /** Owners found: through Gatehouse's own accounts, an agent's link, a correlation rule; and none. */
  managed: number;
  manual: number;
  rule: number;
  unmatched: number;
  /** Unmatched accounts with a fuzzy suggestion. */
  suggested: number;
  /** Accounts the last completed full read saw (the bad-read check's reference). */
  previous: number | null;
  seconds: { read: number; merge: number; correlate: number; findings: number };
}

/** One reconciliation of one target. */
export const reconRuns = pgTable(
  'recon_runs',
  {
    id: uuid('id').primaryKey(),
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    targetId: uuid('target_id')
      .notNull()
      .references(() => targets.id, { onDelete: 'cascade' }),
    mode: text('mode', { enum: ['full', 'incremental'] }).notNull(),
    trigger: text('trigger', { enum: ['manual', 'schedule'] }).notNull(),
    status: text('status', { enum: RUN_STATUSES }).notNull(),
    counts: jsonb('counts').$type<Partial<RunCounts>>().notNull().default({}),
    findingsOpened: integer('findings_opened').notNull().default(0),
    findingsClosed: integer('findings_closed').notNull().default(0),
    /** Why it was aborted or failed, in words. */
    reason: text('reason'),
    /** The connector's sync position when the read began: the next incremental run starts from it. */
    syncToken: text('sync_token'),
    startedBy: text('started_by').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('recon_runs_seq_idx').on(t.seq), index('recon_runs_target_idx').on(t.targetId, t.seq)],
);

/** The last observation of every account on a target, and who owns it. */
export const reconObjects = pgTable(
  'recon_objects',
  {
    id: uuid('id').primaryKey(),
    targetId: uuid('target_id')
      .notNull()
      .references(() => targets.id, { onDelete: 'cascade' }),
    objectId: text('object_id').notNull(),
    name: text('name').notNull(),
    attributes: jsonb('attributes').$type<Record<string, AttributeValue>>().notNull().default({}),
    enabled: boolean('enabled'),
    locked: boolean('locked'),
    /** The target's ids of the groups the account is a direct member of. */
    memberOf: text('member_of')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    lastLoginAt: timestamp('last_login_at', { withTimezone: true }),
    /** md5 of what was observed: an unchanged account is not rewritten. */
    hash: text('hash').notNull(),
    personId: uuid('person_id'),
    link: text('link', { enum: ['account', 'manual', 'rule'] }),
    /** The correlation rule that linked it ("employeeNumber = employeeId"), or who linked it by hand. */
    linkDetail: text('link_detail'),
    suggestedPersonId: uuid('suggested_person_id'),
    suggestionScore: real('suggestion_score'),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull(),
    /** When a read last found it different (unchanged accounts are not rewritten). */
    changedAt: timestamp('changed_at', { withTimezone: true }).notNull(),
    /** Not found by the latest full read (kept for the findings that refer to it). */
    goneAt: timestamp('gone_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('recon_objects_target_object_idx').on(t.targetId, t.objectId),
    index('recon_objects_person_idx').on(t.personId),
  ],
);

export const FINDING_KINDS = [
  'orphan',
  'terminated_active',
  'drift',
  'outside_grant',
  'missing_account',
  'sod_violation',
  'inactive',
  'duplicate_person',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];
export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const FINDING_STATUSES = ['open', 'accepted', 'closed'] as const;
export type FindingStatus = (typeof FINDING_STATUSES)[number];

/** One problem found by reconciliation; it closes itself when a later run no longer finds it. */
export const findings = pgTable(
  'findings',
  {
    id: uuid('id').primaryKey(),
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    /** `kind:target:object[:detail]`: the same problem found again is the same finding. */
    key: text('key').notNull(),
    kind: text('kind', { enum: FINDING_KINDS }).notNull(),
    severity: text('severity', { enum: SEVERITIES }).notNull(),
    status: text('status', { enum: FINDING_STATUSES }).notNull(),
    targetId: uuid('target_id')
      .notNull()
      .references(() => targets.id, { onDelete: 'cascade' }),
    personId: uuid('person_id'),
    objectId: uuid('object_id'),
    entitlementId: uuid('entitlement_id'),
    summary: text('summary').notNull(),
    evidence: jsonb('evidence').$type<Record<string, unknown>>().notNull().default({}),
    /** The suggested fix, in words. */
    fix: text('fix').notNull(),
    monthlyCost: numeric('monthly_cost', { precision: 12, scale: 2 }),
    openedAt: timestamp('opened_at', { withTimezone: true }).notNull(),
    openedRunId: uuid('opened_run_id').notNull(),
    lastSeenRunId: uuid('last_seen_run_id').notNull(),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    closedRunId: uuid('closed_run_id'),
    acceptedBy: text('accepted_by'),
    acceptedAt: timestamp('accepted_at', { withTimezone: true }),
    acceptedUntil: timestamp('accepted_until', { withTimezone: true }),
    justification: text('justification'),
    changeSetId: uuid('change_set_id'),
  },
  (t) => [
    uniqueIndex('findings_seq_idx').on(t.seq),
    uniqueIndex('findings_live_key_idx')
      .on(t.key)
      .where(sql`${t.status} <> 'closed'`),
    index('findings_target_status_idx').on(t.targetId, t.status, t.seq),
    index('findings_person_idx').on(t.personId),
  ],
);
