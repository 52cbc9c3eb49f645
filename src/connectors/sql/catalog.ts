/**
 * What the configured tables really look like, read from information_schema / pg_catalog, and the check that the
 * configuration fits them. Every identifier the connector later quotes into SQL has been found here first.
 */
import type pg from 'pg';
import { ConnectorError } from '../kit/errors.ts';
import type { SqlConfig, TableConfig } from './config.ts';

export type ColumnKind =
  'string' | 'integer' | 'number' | 'boolean' | 'datetime' | 'date' | 'binary' | 'uuid';

export interface Column {
  table: string;
  name: string;
  kind: ColumnKind;
  /** information_schema data_type, e.g. "character varying", "timestamp with time zone", "USER-DEFINED". */
  dataType: string;
  nullable: boolean;
  /** Has a default, identity or generation expression: the insert may leave it out. */
  hasDefault: boolean;
  /** character_maximum_length, for varchar(n) / char(n). */
  maxLength: number | null;
}

export interface Catalog {
  serverVersion: string;
  database: string;
  user: string;
  /** table → column → info */
  tables: Map<string, Map<string, Column>>;
  /** check-constraint name → the columns it reads (to name them in schema_violation). */
  checks: Map<string, string[]>;
}

function kindOf(dataType: string): ColumnKind {
  switch (dataType) {
    case 'smallint':
    case 'integer':
    case 'bigint':
      return 'integer';
    case 'numeric':
    case 'real':
    case 'double precision':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'timestamp with time zone':
    case 'timestamp without time zone':
      return 'datetime';
    case 'date':
      return 'date';
    case 'bytea':
      return 'binary';
    case 'uuid':
      return 'uuid';
    default:
      return 'string';
  }
}

const invalid = (message: string) => new ConnectorError('invalid_config', message);

/** Reads the catalog for the configured tables and checks that every configured column exists and fits its role. */
export async function loadCatalog(client: pg.PoolClient | pg.Pool, config: SqlConfig): Promise<Catalog> {
  const { schema } = config;
  const names = [config.accounts.table, config.groups?.table, config.membership?.table].filter(
    (x): x is string => x !== undefined,
  );
  const facts = await client.query<{ version: string; database: string; user: string; schema_ok: boolean }>(
    `select current_setting('server_version') as version, current_database() as database, current_user as user,
            exists (select 1 from information_schema.schemata where schema_name = $1) as schema_ok`,
    [schema],
  );
  const f = facts.rows[0]!;
  if (!f.schema_ok) {
    throw invalid(
      `schema ${schema} does not exist in database ${f.database}, or user ${f.user} has no access to it (config: schema)`,
    );
  }
  const cols = await client.query<{
    table_name: string;
    column_name: string;
    data_type: string;
    is_nullable: string;
    has_default: boolean;
    character_maximum_length: number | null;
  }>(
    `select table_name, column_name, data_type, is_nullable, character_maximum_length,
            (column_default is not null or is_identity = 'YES' or is_generated = 'ALWAYS') as has_default
       from information_schema.columns
      where table_schema = $1 and table_name = any($2::text[])
      order by table_name, ordinal_position`,
    [schema, names],
  );
  const tables = new Map<string, Map<string, Column>>();
  for (const r of cols.rows) {
    let t = tables.get(r.table_name);
    if (!t) tables.set(r.table_name, (t = new Map()));
    t.set(r.column_name, {
      table: r.table_name,
      name: r.column_name,
      kind: kindOf(r.data_type),
      dataType: r.data_type,
      nullable: r.is_nullable === 'YES',
      hasDefault: r.has_default,
      maxLength: r.character_maximum_length,
    });
  }
  const checks = await client.query<{ name: string; columns: string[] }>(
    `select con.conname as name, array_agg(att.attname::text order by att.attnum) as columns
       from pg_constraint con
       join pg_class rel on rel.oid = con.conrelid
       join pg_namespace ns on ns.oid = rel.relnamespace
       join pg_attribute att on att.attrelid = con.conrelid and att.attnum = any(con.conkey)
      where con.contype = 'c' and ns.nspname = $1 and rel.relname = any($2::text[])
      group by con.conname`,
    [schema, names],
  );
  const catalog: Catalog = {
    serverVersion: f.version,
    database: f.database,
    user: f.user,
    tables,
    checks: new Map(checks.rows.map((r) => [r.name, r.columns])),
  };
  const v = new Validator(catalog, schema);
  v.table('accounts', config.accounts);
  const a = config.accounts;
  if (a.enabled) {
    const c = v.column('accounts', a.table, a.enabled.column, 'accounts.enabled.column');
    if ('active' in a.enabled) v.kind(c, ['string'], 'accounts.enabled.column (a status column)');
    else v.kind(c, ['boolean'], 'accounts.enabled.column (give active/inactive values for a status column)');
  }
  if (a.password?.scheme === 'argon2id') {
    v.kind(
      v.column('accounts', a.table, a.password.column, 'accounts.password.column'),
      ['string'],
      'a hash',
    );
  }
  if (a.mustChangePassword) {
    const c = v.column('accounts', a.table, a.mustChangePassword, 'accounts.mustChangePassword');
    v.kind(c, ['boolean'], 'accounts.mustChangePassword');
  }
  if (a.locked)
    v.kind(v.column('accounts', a.table, a.locked, 'accounts.locked'), ['boolean'], 'accounts.locked');
  if (a.lastLogin) {
    const c = v.column('accounts', a.table, a.lastLogin, 'accounts.lastLogin');
    v.kind(c, ['datetime', 'date'], 'accounts.lastLogin');
  }
  if (config.groups) v.table('groups', config.groups);
  if (config.membership) {
    const m = config.membership;
    v.tableExists('membership', m.table);
    v.column('membership', m.table, m.account, 'membership.account');
    v.column('membership', m.table, m.group, 'membership.group');
  }
  await v.unique(client);
  return catalog;
}

class Validator {
  readonly #catalog: Catalog;
  readonly #schema: string;
  readonly #uniques: { table: string; column: string; setting: string }[] = [];

  constructor(catalog: Catalog, schema: string) {
    this.#catalog = catalog;
    this.#schema = schema;
  }

  tableExists(key: string, table: string): Map<string, Column> {
    const t = this.#catalog.tables.get(table);
    if (!t) {
      throw invalid(
        `table ${this.#schema}.${table} does not exist, or user ${this.#catalog.user} cannot see it (config: ${key}.table)`,
      );
    }
    return t;
  }

  column(key: string, table: string, column: string, setting: string): Column {
    const t = this.tableExists(key, table);
    const c = t.get(column);
    if (!c) {
      throw invalid(
        `column ${column} does not exist in table ${this.#schema}.${table} (config: ${setting}); ` +
          `the table has: ${[...t.keys()].join(', ')}`,
      );
    }
    return c;
  }

  kind(c: Column, kinds: ColumnKind[], setting: string): void {
    if (!kinds.includes(c.kind)) {
      throw invalid(
        `column ${c.table}.${c.name} is ${c.dataType}, but ${setting} needs a ${kinds.join(' or ')} column`,
      );
    }
  }

  table(key: 'accounts' | 'groups', t: TableConfig): void {
    this.tableExists(key, t.table);
    const id = this.column(key, t.table, t.id.column, `${key}.id.column`);
    this.column(key, t.table, t.name.column, `${key}.name.column`);
    for (const [attr, column] of Object.entries(t.attributes)) {
      this.column(key, t.table, column, `${key}.attributes.${attr}`);
    }
    if (t.updatedAt) {
      const c = this.column(key, t.table, t.updatedAt, `${key}.updatedAt`);
      this.kind(c, ['datetime'], `${key}.updatedAt`);
    }
    if (t.id.generated && !id.hasDefault) {
      throw invalid(
        `column ${t.table}.${t.id.column} has no default or identity, so the database cannot generate ids ` +
          `(config: ${key}.id.generated is true; set it to false to supply ids)`,
      );
    }
    this.#uniques.push({ table: t.table, column: t.id.column, setting: `${key}.id.column` });
  }

  /** The id column must be the primary key or carry a unique index: ids identify one row, and paging relies on it. */
  async unique(client: pg.PoolClient | pg.Pool): Promise<void> {
    for (const u of this.#uniques) {
      const r = await client.query(
        `select 1
           from pg_index i
           join pg_class rel on rel.oid = i.indrelid
           join pg_namespace ns on ns.oid = rel.relnamespace
           join pg_attribute att on att.attrelid = i.indrelid and att.attnum = i.indkey[0]
          where ns.nspname = $1 and rel.relname = $2 and att.attname = $3
            and i.indisunique and i.indnkeyatts = 1 and i.indpred is null
          limit 1`,
        [this.#schema, u.table, u.column],
      );
      if (r.rowCount === 0) {
        throw invalid(
          `column ${u.table}.${u.column} is neither the primary key nor unique (config: ${u.setting}); ` +
            'the id must identify exactly one row',
        );
      }
    }
  }
}
