import { index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Every generated name, past and present: a value is never handed to a second person. `released_at` is set when
 * the holder leaves; the value may be reused only after the embargo (`reusable_after`).
 */
export const nameRegistry = pgTable(
  'name_registry',
  {
    kind: text('kind', { enum: ['username', 'email'] }).notNull(),
    value: text('value').notNull(),
    personId: uuid('person_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    releasedAt: timestamp('released_at', { withTimezone: true }),
    reusableAfter: timestamp('reusable_after', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.kind, t.value] }),
    // value is in "C" order (migration 0012): every taken variant of a base ("jane.doe", "jane.doe7") is one range
    // of the primary key.
    index('name_registry_person_idx').on(t.personId),
  ],
);
