import { customType, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });

/** API tokens: only the SHA-256 of the secret is stored. Revoked, never deleted (the audit trail refers to them). */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    tokenHash: bytea('token_hash').notNull().unique(),
    hint: text('hint').notNull(),
    scopes: text('scopes').array().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    createdBy: text('created_by').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revokedBy: text('revoked_by'),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    /** For tokens with SCIM scopes: the HR source the client pushes into and its compatibility profile. */
    scim: jsonb('scim').$type<{ source: string; profile: 'strict' | 'lenient' }>(),
  },
  (t) => [index('api_tokens_created_idx').on(t.createdAt)],
);
