import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  index,
  jsonb,
  numeric,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { targets } from '../targets/schema.ts';
import type { PolicyDocument } from './document.ts';

/**
 * The entitlement catalog: groups, roles and licences per target, discovered from the target or declared. `key` is
 * the short name policy refers to (`{ target: corp-ad, entitlement: sales }`); `object_id` / `object_name` are the
 * target's id and name (entryUUID and DN for LDAP).
 */
export const entitlements = pgTable(
  'entitlements',
  {
    id: uuid('id').primaryKey(),
    targetId: uuid('target_id')
      .notNull()
      .references(() => targets.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    kind: text('kind').notNull(),
    objectId: text('object_id').notNull(),
    objectName: text('object_name').notNull(),
    displayName: text('display_name').notNull(),
    description: text('description').notNull().default(''),
    privileged: boolean('privileged').notNull().default(false),
    owner: text('owner'),
    monthlyCost: numeric('monthly_cost', { precision: 12, scale: 2 }),
    origin: text('origin', { enum: ['discovered', 'declared'] }).notNull(),
    /** Set when a discovery no longer finds it on the target (kept: policy and history refer to it). */
    missingSince: timestamp('missing_since', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex('entitlements_target_key_idx').on(t.targetId, t.key),
    index('entitlements_target_object_idx').on(t.targetId, t.objectId),
  ],
);

/** Every applied version of the policy document; the highest version is in force. */
export const policyVersions = pgTable('policy_versions', {
  version: bigserial('version', { mode: 'number' }).primaryKey(),
  document: jsonb('document').$type<PolicyDocument>().notNull(),
  comment: text('comment').notNull().default(''),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  createdBy: text('created_by').notNull(),
});

/** Explicit role assignments (requests, later): valid from/until, expiring by themselves. */
export const assignments = pgTable(
  'assignments',
  {
    id: uuid('id').primaryKey(),
    personId: uuid('person_id').notNull(),
    role: text('role').notNull(),
    validFrom: timestamp('valid_from', { withTimezone: true }),
    validUntil: timestamp('valid_until', { withTimezone: true }),
    reason: text('reason').notNull(),
    origin: text('origin').notNull().default('manual'),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revokedBy: text('revoked_by'),
  },
  (t) => [
    index('assignments_person_idx')
      .on(t.personId)
      .where(sql`${t.revokedAt} is null`),
    index('assignments_expiry_idx')
      .on(t.validUntil)
      .where(sql`${t.revokedAt} is null and ${t.validUntil} is not null`),
  ],
);
