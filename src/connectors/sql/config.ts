/**
 * The SQL connector's configuration: where the application's user and role tables are, and which column holds what.
 * Only the shape is checked here; that the tables and columns exist (and have usable types) is checked against the
 * live database's information_schema by `test()` and before first use.
 */
import { z } from 'zod';

/** A PostgreSQL identifier as configured (quoted with escapeIdentifier when used, never interpolated raw). */
const ident = z.string().min(1, 'must not be empty').max(63, 'PostgreSQL identifiers are at most 63 bytes');
const attributeName = z.string().min(1).max(128);

const idSpec = z
  .object({
    /** The primary-key (or unique) column. */
    column: ident,
    /** True (default): the database generates it (identity, serial, default). False: the caller supplies it. */
    generated: z.boolean().default(true),
    /**
     * For a supplied id: the attribute holding it (it must also be in `attributes`). Not needed when the id column is
     * the name column.
     */
    attribute: attributeName.optional(),
  })
  .strict();

const nameSpec = z
  .object({
    /** The column holding the login / group name (the object's `name`). */
    column: ident,
    /** The attribute it appears as in create/update/search (default "name"). */
    attribute: attributeName.default('name'),
  })
  .strict();

const tableSpec = {
  table: ident,
  id: idSpec,
  name: nameSpec,
  /** attribute → column, for every other attribute the connector reads and writes. */
  attributes: z.record(attributeName, ident).default({}),
  /** A timestamp column the application (or a trigger) sets on every change: what `sync` follows. */
  updatedAt: ident.optional(),
};

const enabledSpec = z.union([
  /** A status column: `active` and `inactive` are the values meaning enabled and disabled. */
  z.object({ column: ident, active: z.string().min(1), inactive: z.string().min(1) }).strict(),
  /** A boolean column: true means enabled. */
  z.object({ column: ident }).strict(),
]);

const passwordSpec = z.discriminatedUnion('scheme', [
  z
    .object({
      scheme: z.literal('argon2id'),
      column: ident,
      /** Refuse shorter passwords with policy_violation (the application's own rule, if it has one). */
      minLength: z.number().int().min(1).max(1024).optional(),
    })
    .strict(),
  /** The application stores no passwords (single sign-on only): setPassword is unsupported. */
  z.object({ scheme: z.literal('none') }).strict(),
]);

const accountsSpec = z
  .object({
    ...tableSpec,
    enabled: enabledSpec.optional(),
    password: passwordSpec.optional(),
    /** Boolean column: the user must change the password at next sign-in. */
    mustChangePassword: ident.optional(),
    /** Boolean column: the account is locked out. */
    locked: ident.optional(),
    /** Timestamp column: the user's last sign-in (read only). */
    lastLogin: ident.optional(),
  })
  .strict();

const groupsSpec = z
  .object({
    ...tableSpec,
    /** What the application calls these entitlements (shown in the schema): "role", "group", … */
    entitlement: z.string().min(1).default('role'),
  })
  .strict();

const membershipSpec = z
  .object({
    table: ident,
    /** Column holding the account's id. */
    account: ident,
    /** Column holding the group's id. */
    group: ident,
  })
  .strict();

export const sqlConfigSchema = z
  .object({
    /** postgres://user:password@host:port/database — a credential: stored encrypted, never logged. */
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// connection URL')
      .refine((u) => URL.canParse(u), 'must be a valid URL'),
    schema: ident.default('public'),
    accounts: accountsSpec,
    groups: groupsSpec.optional(),
    membership: membershipSpec.optional(),
    /** Connections the connector may hold open. */
    poolSize: z.number().int().min(1).max(50).default(4),
    statementTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    connectTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  })
  .strict()
  .superRefine((c, ctx) => {
    const problem = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    if (Boolean(c.groups) !== Boolean(c.membership)) {
      problem(
        [c.groups ? 'membership' : 'groups'],
        'groups and membership are configured together or not at all',
      );
    }
    const tables = [
      ['accounts', c.accounts],
      ['groups', c.groups],
    ] as const;
    for (const [key, t] of tables) {
      if (!t) continue;
      if (t.name.attribute in t.attributes && t.attributes[t.name.attribute] !== t.name.column) {
        problem(
          [key, 'attributes', t.name.attribute],
          `is the name attribute, which maps to column ${t.name.column}`,
        );
      }
      if (!t.id.generated && t.id.column !== t.name.column) {
        const a = t.id.attribute;
        if (!a) problem([key, 'id', 'attribute'], 'a supplied id needs the attribute that holds it');
        else if (t.attributes[a] !== t.id.column) {
          problem(
            [key, 'attributes', a],
            `must map to the id column ${t.id.column} (it holds the supplied id)`,
          );
        }
      }
      for (const [attr, column] of Object.entries(t.attributes)) {
        if (t.id.generated && column === t.id.column) {
          problem([key, 'attributes', attr], `maps to the generated id column ${column}, which is read only`);
        }
      }
    }
    const a = c.accounts;
    const hidden = [
      a.password?.scheme === 'argon2id' ? a.password.column : undefined,
      a.enabled?.column,
      a.locked,
      a.mustChangePassword,
      a.lastLogin,
      a.updatedAt,
    ].filter((x): x is string => x !== undefined);
    for (const [attr, column] of Object.entries(a.attributes)) {
      if (hidden.includes(column)) {
        problem(
          ['accounts', 'attributes', attr],
          `maps to column ${column}, which the connector manages itself (password, enabled, locked, …)`,
        );
      }
    }
    if (c.groups && 'members' in c.groups.attributes) {
      problem(['groups', 'attributes', 'members'], 'is reserved: it lists the ids of the member accounts');
    }
  });

export type SqlConfig = z.output<typeof sqlConfigSchema>;
export type SqlConfigInput = z.input<typeof sqlConfigSchema>;
export type TableConfig = SqlConfig['accounts'] | NonNullable<SqlConfig['groups']>;
