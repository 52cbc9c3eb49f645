import { sql } from 'drizzle-orm';
import {
  date,
  index,
  integer,
  jsonb,
  pgTable,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * People: the identity store. One row per person per HR source (`employee_id` is unique per source). The HR fields
 * are kept as HR last sent them; `status` is what Gatehouse derived (prehire until the start day, active until a
 * future termination). Personal data lives in `person_personal` so it can be erased on its own. History is the
 * audit trail (subject `person`).
 */
export const people = pgTable(
  'people',
  {
    id: uuid('id').primaryKey(),
    sourceId: uuid('source_id').notNull(),
    employeeId: text('employee_id').notNull(),
    firstName: text('first_name').notNull(),
    lastName: text('last_name').notNull(),
    preferredName: text('preferred_name'),
    department: text('department'),
    title: text('title'),
    costCenter: text('cost_center'),
    location: text('location'),
    timeZone: text('time_zone'),
    managerEmployeeId: text('manager_employee_id'),
    workerType: text('worker_type', {
      enum: ['employee', 'contractor', 'intern', 'partner'],
    }).notNull(),
    hrStatus: text('hr_status', { enum: ['prehire', 'active', 'on_leave', 'terminated'] }),
    status: text('status', { enum: ['prehire', 'active', 'on_leave', 'terminated'] }).notNull(),
    hireDate: date('hire_date'),
    terminationDate: text('termination_date'),
    terminationAt: timestamp('termination_at', { withTimezone: true }),
    attributes: jsonb('attributes').$type<Record<string, string>>().notNull().default({}),
    username: text('username'),
    workEmail: text('work_email'),
    displayName: text('display_name').notNull(),
    /** Lower-cased names as written and transliterated, employee id and username: what the list search matches. */
    searchText: text('search_text').notNull().default(''),
    hrHash: text('hr_hash').notNull(),
    /** Hash of the file row (with header and mapping) the person was last stored from; null after API changes. */
    rowHash: text('row_hash'),
    mergedInto: uuid('merged_into'),
    /**
     * When a SCIM client DELETEd the person (RFC 7644 §3.6: a deleted resource answers 404). The person is kept,
     * with their history, as a leaver; only the SCIM view hides them.
     */
    scimDeletedAt: timestamp('scim_deleted_at', { withTimezone: true }),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex('people_source_employee_idx').on(t.sourceId, t.employeeId),
    // No index on status or worker type: a handful of values each, so lists filter them while walking the name
    // or department index, and every bulk import would pay for two more indexes.
    index('people_department_idx').on(t.department),
    index('people_hire_date_idx').on(t.hireDate),
    index('people_name_sort_idx').on(t.lastName, t.firstName, t.id),
    index('people_manager_idx').on(t.managerEmployeeId),
    index('people_search_trgm_idx').using('gin', sql`${t.searchText} gin_trgm_ops`),
    // SCIM's most common lookups (`userName eq`, `externalId eq`), in the exact form the filter compiler emits:
    // folded by ICU, ordered byte by byte (`foldedSql`; an ICU-ordered index cost an import ~8 µs a row).
    index('people_scim_username_idx').using(
      'btree',
      sql`(lower((coalesce(${t.attributes} ->> 'scim.userName', ${t.username})) collate "und-x-icu") collate "C")`,
    ),
    // Partial: only people pushed over SCIM have one (an HR import's rows would all be null entries). `= $1` and
    // `is not null` both imply the predicate, so the SCIM filters still use it.
    index('people_scim_external_id_idx')
      .using('btree', sql`(${t.attributes} ->> 'scim.externalId')`)
      .where(sql`(${t.attributes} ->> 'scim.externalId') is not null`),
  ],
);

/** Erasable personal data used for identity verification and duplicate detection. */
export const personPersonal = pgTable(
  'person_personal',
  {
    personId: uuid('person_id')
      .primaryKey()
      .references(() => people.id, { onDelete: 'cascade' }),
    personalEmail: text('personal_email'),
    mobilePhone: text('mobile_phone'),
    birthDate: date('birth_date'),
  },
  (t) => [
    // Partial: many HR files carry no mobile or birth date, and a null is never a match (duplicates and identity
    // verification compare with `=`, which implies the predicate).
    index('person_personal_email_idx')
      .on(t.personalEmail)
      .where(sql`${t.personalEmail} is not null`),
    index('person_personal_mobile_idx')
      .on(t.mobilePhone)
      .where(sql`${t.mobilePhone} is not null`),
    index('person_personal_birth_idx')
      .on(t.birthDate)
      .where(sql`${t.birthDate} is not null`),
  ],
);

/** Likely duplicates (one human, two ids), flagged for a person to decide. Never merged automatically. */
export const personDuplicates = pgTable(
  'person_duplicates',
  {
    id: uuid('id').primaryKey(),
    personA: uuid('person_a')
      .notNull()
      .references(() => people.id),
    personB: uuid('person_b')
      .notNull()
      .references(() => people.id),
    score: real('score').notNull(),
    reasons: jsonb('reasons').$type<string[]>().notNull(),
    state: text('state', { enum: ['open', 'merged', 'dismissed'] }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    decidedBy: text('decided_by'),
  },
  (t) => [
    uniqueIndex('person_duplicates_pair_idx').on(t.personA, t.personB),
    index('person_duplicates_state_idx').on(t.state),
  ],
);

/**
 * Groups that HR systems and identity providers push over SCIM (teams, distribution lists, cost-centre groups):
 * facts about people, owned by one HR source. Members are people; `display` is kept as the client sent it.
 */
export const personGroups = pgTable(
  'person_groups',
  {
    id: uuid('id').primaryKey(),
    sourceId: uuid('source_id').notNull(),
    displayName: text('display_name').notNull(),
    externalId: text('external_id'),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    index('person_groups_source_idx').on(t.sourceId),
    index('person_groups_name_idx').using(
      'btree',
      sql`(lower((${t.displayName}) collate "und-x-icu") collate "C")`,
    ),
  ],
);

export const personGroupMembers = pgTable(
  'person_group_members',
  {
    groupId: uuid('group_id')
      .notNull()
      .references(() => personGroups.id, { onDelete: 'cascade' }),
    personId: uuid('person_id')
      .notNull()
      .references(() => people.id),
    display: text('display'),
  },
  (t) => [
    uniqueIndex('person_group_members_pk').on(t.groupId, t.personId),
    index('person_group_members_person_idx').on(t.personId),
  ],
);
