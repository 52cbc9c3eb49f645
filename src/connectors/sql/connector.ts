/**
 * The SQL table connector: an application's own user and role tables in PostgreSQL, through a declarative mapping.
 *
 * Safety: every identifier in the SQL below comes from the configuration, has been found in information_schema by
 * `loadCatalog` (at `test()` and before first use) and is quoted with escapeIdentifier; every value is a bound
 * parameter. The only literal SQL fragments chosen at run time are fixed keywords (casts, operators).
 */
import { hash } from '@node-rs/argon2';
import pg from 'pg';
import { transaction } from '../../db/index.ts';
import type { Logger } from '../../kit/log.ts';
import { ConnectorError, unsupported } from '../kit/errors.ts';
import type {
  AttributeDelta,
  Attributes,
  Capability,
  Connector,
  ConnectorDeps,
  ConnectorObject,
  CreateOptions,
  ObjectClass,
  ObjectRef,
  SearchQuery,
  Secret,
  SetPasswordOptions,
  SyncResult,
  TargetSchema,
  TestResult,
  AttributeSchema,
} from '../kit/types.ts';
import { loadCatalog, type Column } from './catalog.ts';
import type { SqlConfig } from './config.ts';
import { toConnectorError, type ErrorContext } from './errors.ts';
import { compileFilter } from './filter.ts';
import {
  buildModel,
  fromDb,
  Params,
  q,
  single,
  toParam,
  TYPES,
  type Model,
  type TableMap,
} from './mapping.ts';

/** argon2id with OWASP's recommended parameters (19 MiB, 2 iterations, 1 lane), as for operators' passwords. */
const ARGON2 = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
const DEFAULT_PAGE = 500;
const SYNC_PAGE = 500;

type Row = Record<string, unknown>;

interface Projection {
  columns: string;
  read(row: Row): ConnectorObject;
}

interface SyncToken {
  v: 1;
  /** updated_at of the last change seen (ISO text, microseconds), null: before the first row. */
  t: string | null;
  id: string | null;
}

export function capabilitiesOf(config: SqlConfig): Capability[] {
  const a = config.accounts;
  const caps: Capability[] = ['test', 'schema', 'search', 'create', 'update', 'delete'];
  if (a.id.column !== a.name.column) caps.push('rename');
  if (a.enabled) caps.push('enable', 'disable');
  if (a.password?.scheme === 'argon2id') caps.push('setPassword');
  if (a.locked) caps.push('unlock');
  if (config.groups && config.membership) caps.push('groups');
  if (a.updatedAt) caps.push('sync');
  return caps;
}

export class SqlConnector implements Connector {
  readonly type = 'sql';
  readonly capabilities: ReadonlySet<Capability>;
  readonly #config: SqlConfig;
  readonly #pool: pg.Pool;
  readonly #log: Logger;
  readonly #where: Pick<ErrorContext, 'user' | 'host'>;
  #model: Promise<Model> | undefined;

  constructor(config: SqlConfig, deps: ConnectorDeps) {
    this.#config = config;
    this.capabilities = new Set(capabilitiesOf(config));
    this.#log = deps.log.child({ connector: 'sql' });
    const u = new URL(config.url);
    this.#where = { user: decodeURIComponent(u.username), host: u.host };
    this.#pool = new pg.Pool({
      connectionString: config.url,
      max: config.poolSize,
      application_name: 'gatehouse-connector',
      connectionTimeoutMillis: config.connectTimeoutMs,
      statement_timeout: config.statementTimeoutMs,
      types: TYPES,
    });
    // An idle connection dropped by the server must not crash the process; the next query reconnects.
    this.#pool.on('error', (e) =>
      this.#log.warn({ code: (e as { code?: string }).code }, 'sql connection lost'),
    );
  }

  // -- plumbing ------------------------------------------------------------------------------------------------

  /** The catalog-checked model, loaded once (and again after a failure). */
  #ready(): Promise<Model> {
    this.#model ??= loadCatalog(this.#pool, this.#config)
      .then((catalog) => buildModel(this.#config, catalog))
      .catch((e: unknown) => {
        this.#model = undefined;
        throw toConnectorError(e, this.#where);
      });
    return this.#model;
  }

  #context(model: Model | undefined, what?: string): ErrorContext {
    const maps = model ? [model.accounts, model.groups] : [];
    return {
      ...this.#where,
      ...(what ? { what } : {}),
      ...(model ? { checks: model.catalog.checks } : {}),
      attributeOf: (table, column) => maps.find((m) => m?.table === table)?.attributeOfColumn(column),
    };
  }

  /** Runs `fn` with the model; any failure becomes a ConnectorError with the table's context. */
  async #run<T>(what: string, fn: (model: Model) => Promise<T>): Promise<T> {
    const model = await this.#ready();
    try {
      return await fn(model);
    } catch (e) {
      throw toConnectorError(e, this.#context(model, what));
    }
  }

  async #query<R extends Row>(sql: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    return this.#pool.query<R>(sql, values);
  }

  #tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return transaction({ pool: this.#pool }, ({ client }) => fn(client));
  }

  #need(cap: Capability, operation: string, why: string): void {
    if (!this.capabilities.has(cap)) throw unsupported('sql', operation, why);
  }

  #map(model: Model, objectClass: ObjectClass): TableMap {
    if (objectClass === 'account') return model.accounts;
    if (objectClass === 'group') {
      if (model.groups) return model.groups;
      throw unsupported('sql', 'handle groups', 'no groups table is configured');
    }
    throw unsupported('sql', `handle object class '${objectClass}'`, 'it knows only account and group');
  }

  #notFound(map: TableMap, ref: ObjectRef): ConnectorError {
    return new ConnectorError(
      'not_found',
      `no ${map.objectClass} with id ${ref.id}${ref.name ? ` (${ref.name})` : ''} in ${map.table}`,
      { details: { id: ref.id } },
    );
  }

  /** Columns to select for `map`, and how a row becomes a ConnectorObject. */
  #projection(model: Model, map: TableMap, attributes?: readonly string[]): Projection {
    const wanted = attributes
      ? attributes.filter((a) => a !== 'members').map((a) => map.require(a, 'read'))
      : map.attributes;
    const a = this.#config.accounts;
    const cols = [`t.${q(map.id.name)}::text as _id`, `t.${q(map.name.name)}::text as _name`];
    wanted.forEach((w, i) => cols.push(`t.${q(w.column.name)} as _a${i}`));
    const isAccount = map.objectClass === 'account';
    const m = model.membership;
    if (isAccount) {
      if (a.enabled) cols.push(`t.${q(a.enabled.column)} as _enabled`);
      if (a.locked) cols.push(`t.${q(a.locked)} as _locked`);
      if (a.lastLogin) cols.push(`t.${q(a.lastLogin)} as _last`);
      if (m)
        cols.push(
          `array(select m.${m.group}::text from ${m.sql} m where m.${m.account} = t.${q(map.id.name)}) as _of`,
        );
    } else if (m && (!attributes || attributes.includes('members'))) {
      cols.push(
        `array(select m.${m.account}::text from ${m.sql} m where m.${m.group} = t.${q(map.id.name)}) as _members`,
      );
    }
    const enabled = a.enabled;
    return {
      columns: cols.join(', '),
      read: (row) => {
        const attrs: Attributes = {};
        wanted.forEach((w, i) => (attrs[w.attribute] = fromDb(row[`_a${i}`])));
        if ('_members' in row) attrs.members = (row._members as string[]).sort();
        const o: ConnectorObject = {
          objectClass: map.objectClass,
          id: row._id as string,
          name: row._name as string,
          attributes: attrs,
        };
        if (isAccount) {
          if (enabled)
            o.enabled = 'active' in enabled ? row._enabled === enabled.active : row._enabled === true;
          if (a.locked) o.locked = row._locked === true;
          if (a.lastLogin && row._last != null) o.lastLoginAt = String(fromDb(row._last));
          if (m) o.memberOf = (row._of as string[]).sort();
        }
        return o;
      },
    };
  }

  async #fetch(
    model: Model,
    ref: ObjectRef,
    attributes?: readonly string[],
  ): Promise<ConnectorObject | undefined> {
    const map = this.#map(model, ref.objectClass);
    if (!map.plausibleId(ref.id)) return undefined;
    const pr = this.#projection(model, map, attributes);
    const r = await this.#query(`select ${pr.columns} from ${map.sql} t where t.${q(map.id.name)} = $1`, [
      ref.id,
    ]);
    return r.rows[0] ? pr.read(r.rows[0]) : undefined;
  }

  /** `set col = value, …` for one row by id; not_found when no row matched. */
  async #updateRow(model: Model, ref: ObjectRef, sets: [column: string, param: unknown][]): Promise<void> {
    const map = this.#map(model, ref.objectClass);
    if (!map.plausibleId(ref.id)) throw this.#notFound(map, ref);
    const p = new Params();
    const idParam = p.add(ref.id);
    const assignments = sets.map(([c, v]) => `${q(c)} = ${p.add(v)}`);
    if (map.updatedAt && assignments.length > 0) assignments.push(`${q(map.updatedAt.name)} = now()`);
    const sql =
      assignments.length === 0
        ? `select 1 from ${map.sql} where ${q(map.id.name)} = ${idParam}`
        : `update ${map.sql} set ${assignments.join(', ')} where ${q(map.id.name)} = ${idParam}`;
    const r = await this.#query(sql, p.values);
    if (r.rowCount === 0) throw this.#notFound(map, ref);
  }

  async #hash(password: Secret): Promise<string> {
    const rule = this.#config.accounts.password;
    const value = password.reveal();
    if (rule?.scheme === 'argon2id' && rule.minLength && [...value].length < rule.minLength) {
      throw new ConnectorError(
        'policy_violation',
        `password too short: the application requires at least ${rule.minLength} characters`,
      );
    }
    return hash(value, ARGON2);
  }

  // -- the interface -------------------------------------------------------------------------------------------

  async test(): Promise<TestResult> {
    this.#model = undefined;
    const model = await this.#ready();
    const c = this.#config;
    return {
      ok: true,
      details: {
        server: `PostgreSQL ${model.catalog.serverVersion}`,
        database: model.catalog.database,
        user: model.catalog.user,
        schema: c.schema,
        accounts: c.accounts.table,
        ...(c.groups ? { groups: c.groups.table } : {}),
        ...(c.membership ? { membership: c.membership.table } : {}),
      },
    };
  }

  async schema(): Promise<TargetSchema> {
    const model = await this.#ready();
    const kinds: Record<Column['kind'], AttributeSchema['type']> = {
      string: 'string',
      integer: 'integer',
      number: 'string',
      boolean: 'boolean',
      datetime: 'datetime',
      date: 'datetime',
      binary: 'binary',
      uuid: 'string',
    };
    const describe = (map: TableMap) => ({
      name: map.objectClass,
      nativeName: `${this.#config.schema}.${map.table}`,
      attributes: [
        ...map.attributes.map((a): AttributeSchema => ({
          name: a.attribute,
          type: kinds[a.column.kind],
          multiValued: false,
          required: a.attribute === map.nameAttribute || (!a.column.nullable && !a.column.hasDefault),
          writable: !(map.idGenerated && a.column.name === map.id.name),
          description: `column ${map.table}.${a.column.name} (${a.column.dataType})`,
        })),
        ...(map.objectClass === 'group' && model.membership
          ? [
              {
                name: 'members',
                type: 'reference' as const,
                multiValued: true,
                required: false,
                writable: false,
                description: 'ids of the member accounts (change with addMember / removeMember)',
              },
            ]
          : []),
      ],
    });
    const groups = model.groups;
    return {
      objectClasses: [describe(model.accounts), ...(groups ? [describe(groups)] : [])],
      entitlementTypes:
        groups && model.membership
          ? [
              {
                name: this.#config.groups!.entitlement,
                objectClass: 'group',
                description: `rows of ${groups.table}, granted through ${this.#config.membership!.table}`,
              },
            ]
          : [],
    };
  }

  async *search(query: SearchQuery): AsyncIterable<ConnectorObject> {
    const model = await this.#ready();
    const map = this.#map(model, query.objectClass);
    const pageSize = Math.min(Math.max(query.pageSize ?? DEFAULT_PAGE, 1), 10_000);
    let pr: Projection;
    let where: string;
    const p = new Params();
    try {
      pr = this.#projection(model, map, query.attributes);
      where = query.filter ? compileFilter(query.filter, map, p) : 'true';
    } catch (e) {
      throw toConnectorError(e, this.#context(model, map.objectClass));
    }
    let last: string | undefined;
    for (;;) {
      const values = [...p.values];
      const after = last === undefined ? '' : ` and t.${q(map.id.name)} > $${values.push(last)}`;
      const sql =
        `select ${pr.columns} from ${map.sql} t where (${where})${after} ` +
        `order by t.${q(map.id.name)} limit ${pageSize}`;
      let rows: Row[];
      try {
        rows = (await this.#query(sql, values)).rows;
      } catch (e) {
        throw toConnectorError(e, this.#context(model, map.objectClass));
      }
      for (const row of rows) yield pr.read(row);
      if (rows.length < pageSize) return;
      last = rows.at(-1)!._id as string;
    }
  }

  async get(ref: ObjectRef, attributes?: readonly string[]): Promise<ConnectorObject | undefined> {
    return this.#run(ref.objectClass, (model) => this.#fetch(model, ref, attributes));
  }

  async create(
    objectClass: ObjectClass,
    attributes: Attributes,
    options: CreateOptions = {},
  ): Promise<ConnectorObject> {
    return this.#run(objectClass, async (model) => {
      const map = this.#map(model, objectClass);
      const a = this.#config.accounts;
      const values = new Map<string, unknown>();
      const set = (column: string, v: unknown, attribute: string) => {
        if (values.has(column) && String(values.get(column)) !== String(v)) {
          throw new ConnectorError(
            'schema_violation',
            `attribute ${attribute} writes column ${map.table}.${column}, which another attribute already sets differently`,
          );
        }
        values.set(column, v);
      };
      for (const [name, value] of Object.entries(attributes)) {
        const m = map.require(name, 'create with');
        set(m.column.name, toParam(m, single(m, value)), m.attribute);
      }
      if (values.get(map.name.name) == null || values.get(map.name.name) === '') {
        throw new ConnectorError(
          'schema_violation',
          `attribute ${map.nameAttribute} (the ${objectClass} name, column ${map.table}.${map.name.name}) is required`,
        );
      }
      if (!map.idGenerated && values.get(map.id.name) == null) {
        const attr = map.attributeOfColumn(map.id.name) ?? map.nameAttribute;
        throw new ConnectorError(
          'schema_violation',
          `attribute ${attr} (the ${objectClass} id, column ${map.table}.${map.id.name}) is required`,
        );
      }
      if (map.objectClass === 'account') {
        const enabled = options.enabled ?? true;
        if (a.enabled)
          values.set(
            a.enabled.column,
            'active' in a.enabled ? (enabled ? a.enabled.active : a.enabled.inactive) : enabled,
          );
        else if (!enabled)
          throw unsupported('sql', 'create a disabled account', 'accounts.enabled is not configured');
        if (options.password) {
          this.#need(
            'setPassword',
            'store a password',
            'accounts.password is not configured (or its scheme is none)',
          );
          values.set((a.password as { column: string }).column, await this.#hash(options.password));
        }
        if (a.mustChangePassword) values.set(a.mustChangePassword, options.mustChangePassword ?? false);
        else if (options.mustChangePassword) {
          throw unsupported(
            'sql',
            'require a password change',
            'accounts.mustChangePassword is not configured',
          );
        }
      } else if (options.password || options.enabled === false || options.mustChangePassword) {
        throw unsupported('sql', 'give a group a password or a disabled state', 'groups have neither');
      }
      const p = new Params();
      const cols = [...values.keys()].map(q).join(', ');
      const params = [...values.values()].map((v) => p.add(v)).join(', ');
      const r = await this.#query<{ id: string }>(
        `insert into ${map.sql} (${cols}) values (${params}) returning ${q(map.id.name)}::text as id`,
        p.values,
      );
      const id = r.rows[0]!.id;
      const created = await this.#fetch(model, { objectClass, id });
      if (!created)
        throw new ConnectorError('conflict', `the new ${objectClass} ${id} vanished straight after insert`);
      return created;
    });
  }

  async update(ref: ObjectRef, deltas: readonly AttributeDelta[]): Promise<void> {
    this.#need('update', 'update', 'not configured');
    return this.#run(ref.objectClass, async (model) => {
      const map = this.#map(model, ref.objectClass);
      const sets = new Map<string, unknown>();
      const removes: [string, unknown[]][] = [];
      for (const d of deltas) {
        const m = map.require(d.attribute, 'update');
        if (m.column.name === map.id.name) {
          throw new ConnectorError(
            'schema_violation',
            `attribute ${m.attribute} is the ${map.objectClass} id and cannot change`,
          );
        }
        if (d.op === 'remove') {
          removes.push([m.column.name, d.values.map((v) => toParam(m, v, 'filter'))]);
        } else {
          const v = single(m, d.values);
          if (v === null && d.op === 'add') continue;
          sets.set(m.column.name, toParam(m, v));
        }
      }
      if (removes.length === 0) return this.#updateRow(model, ref, [...sets]);
      // remove: clear the column only if it holds one of the values.
      if (!map.plausibleId(ref.id)) throw this.#notFound(map, ref);
      const p = new Params();
      const idParam = p.add(ref.id);
      const assignments = [...sets].map(([c, v]) => `${q(c)} = ${p.add(v)}`);
      for (const [c, vals] of removes) {
        if (sets.has(c)) continue;
        const match = vals.length === 0 ? 'true' : `${q(c)} in (${vals.map((v) => p.add(v)).join(', ')})`;
        assignments.push(`${q(c)} = case when ${match} then null else ${q(c)} end`);
      }
      if (map.updatedAt) assignments.push(`${q(map.updatedAt.name)} = now()`);
      const r = await this.#query(
        `update ${map.sql} set ${assignments.join(', ')} where ${q(map.id.name)} = ${idParam}`,
        p.values,
      );
      if (r.rowCount === 0) throw this.#notFound(map, ref);
    });
  }

  async rename(ref: ObjectRef, newName: string): Promise<ObjectRef> {
    this.#need('rename', 'rename', 'the name column is the primary key');
    return this.#run(ref.objectClass, async (model) => {
      const map = this.#map(model, ref.objectClass);
      if (map.name.name === map.id.name)
        throw unsupported('sql', 'rename', 'the name column is the primary key');
      const m = map.require(map.nameAttribute, 'rename');
      await this.#updateRow(model, ref, [[map.name.name, toParam(m, newName)]]);
      return { objectClass: ref.objectClass, id: ref.id, name: newName };
    });
  }

  async delete(ref: ObjectRef): Promise<void> {
    return this.#run(ref.objectClass, async (model) => {
      const map = this.#map(model, ref.objectClass);
      if (!map.plausibleId(ref.id)) throw this.#notFound(map, ref);
      const m = model.membership;
      await this.#tx(async (c) => {
        if (m) {
          const col = map.objectClass === 'account' ? m.account : m.group;
          await c.query(`delete from ${m.sql} where ${col} = $1`, [ref.id]);
        }
        const r = await c.query(`delete from ${map.sql} where ${q(map.id.name)} = $1`, [ref.id]);
        if (r.rowCount === 0) throw this.#notFound(map, ref);
      });
    });
  }

  async enable(ref: ObjectRef): Promise<void> {
    return this.#setEnabled(ref, true);
  }

  async disable(ref: ObjectRef): Promise<void> {
    return this.#setEnabled(ref, false);
  }

  async #setEnabled(ref: ObjectRef, enabled: boolean): Promise<void> {
    const e = this.#config.accounts.enabled;
    this.#need(
      enabled ? 'enable' : 'disable',
      enabled ? 'enable' : 'disable',
      'accounts.enabled is not configured',
    );
    if (!e) return;
    return this.#run('account', (model) => {
      this.#onlyAccounts(ref, enabled ? 'enable' : 'disable');
      return this.#updateRow(model, ref, [
        [e.column, 'active' in e ? (enabled ? e.active : e.inactive) : enabled],
      ]);
    });
  }

  #onlyAccounts(ref: ObjectRef, operation: string): void {
    if (ref.objectClass !== 'account')
      throw unsupported('sql', `${operation} a ${ref.objectClass}`, 'only accounts');
  }

  async setPassword(ref: ObjectRef, password: Secret, options: SetPasswordOptions = {}): Promise<void> {
    const a = this.#config.accounts;
    this.#need('setPassword', 'set passwords', 'accounts.password is not configured (or its scheme is none)');
    if (a.password?.scheme !== 'argon2id') return;
    const column = a.password.column;
    if (options.mustChangePassword && !a.mustChangePassword) {
      throw unsupported('sql', 'require a password change', 'accounts.mustChangePassword is not configured');
    }
    return this.#run('account', async (model) => {
      this.#onlyAccounts(ref, 'set the password of');
      if (!model.accounts.plausibleId(ref.id)) throw this.#notFound(model.accounts, ref);
      const sets: [string, unknown][] = [[column, await this.#hash(password)]];
      if (a.mustChangePassword) sets.push([a.mustChangePassword, options.mustChangePassword ?? false]);
      await this.#updateRow(model, ref, sets);
    });
  }

  async unlock(ref: ObjectRef): Promise<void> {
    const locked = this.#config.accounts.locked;
    this.#need('unlock', 'unlock', 'accounts.locked is not configured');
    if (!locked) return;
    return this.#run('account', (model) => {
      this.#onlyAccounts(ref, 'unlock');
      return this.#updateRow(model, ref, [[locked, false]]);
    });
  }

  async addMember(group: ObjectRef, member: ObjectRef): Promise<void> {
    return this.#membership(group, member, 'add');
  }

  async removeMember(group: ObjectRef, member: ObjectRef): Promise<void> {
    return this.#membership(group, member, 'remove');
  }

  async #membership(group: ObjectRef, member: ObjectRef, op: 'add' | 'remove'): Promise<void> {
    this.#need('groups', `${op} group members`, 'groups and membership are not configured');
    return this.#run('group', async (model) => {
      const groups = this.#map(model, group.objectClass);
      const m = model.membership!;
      if (groups.objectClass !== 'group' || member.objectClass !== 'account') {
        throw unsupported(
          'sql',
          `make a ${member.objectClass} a member of a ${group.objectClass}`,
          'only accounts join groups',
        );
      }
      const accounts = model.accounts;
      for (const [map, ref] of [
        [groups, group],
        [accounts, member],
      ] as const) {
        if (!map.plausibleId(ref.id)) throw this.#notFound(map, ref);
      }
      const r = await this.#query<{ g: boolean; a: boolean }>(
        `select exists (select 1 from ${groups.sql} where ${q(groups.id.name)} = $1) as g,
                exists (select 1 from ${accounts.sql} where ${q(accounts.id.name)} = $2) as a`,
        [group.id, member.id],
      );
      if (!r.rows[0]!.g) throw this.#notFound(groups, group);
      if (!r.rows[0]!.a) throw this.#notFound(accounts, member);
      if (op === 'remove') {
        await this.#query(`delete from ${m.sql} where ${m.group} = $1 and ${m.account} = $2`, [
          group.id,
          member.id,
        ]);
        return;
      }
      const exists = await this.#query(`select 1 from ${m.sql} where ${m.group} = $1 and ${m.account} = $2`, [
        group.id,
        member.id,
      ]);
      if (exists.rowCount === 0) {
        // on conflict: a unique (account, group) constraint, if the application has one, makes a race harmless.
        await this.#query(
          `insert into ${m.sql} (${m.group}, ${m.account}) values ($1, $2) on conflict do nothing`,
          [group.id, member.id],
        );
      }
    });
  }

  async sync(objectClass: ObjectClass, token: string | null): Promise<SyncResult> {
    this.#need('sync', 'sync', 'accounts.updatedAt is not configured');
    return this.#run(objectClass, async (model) => {
      const map = this.#map(model, objectClass);
      const upd = map.updatedAt;
      if (!upd)
        throw unsupported(
          'sql',
          `sync ${objectClass}s`,
          `${objectClass === 'group' ? 'groups' : 'accounts'}.updatedAt is not configured`,
        );
      const col = `t.${q(upd.name)}`;
      const id = `t.${q(map.id.name)}`;
      const tz = upd.dataType === 'timestamp with time zone';
      const text = tz
        ? `to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
        : `to_char(${col}, 'YYYY-MM-DD"T"HH24:MI:SS.US')`;
      const cast = tz ? 'timestamptz' : 'timestamp';
      if (token === null) {
        const r = await this.#query<{ t: string; id: string }>(
          `select ${text} as t, ${id}::text as id from ${map.sql} t where ${col} is not null ` +
            `order by ${col} desc, ${id} desc limit 1`,
          [],
        );
        const row = r.rows[0];
        return { changes: [], token: encodeToken({ v: 1, t: row?.t ?? null, id: row?.id ?? null }) };
      }
      const from = decodeToken(token);
      const pr = this.#projection(model, map);
      const values: unknown[] = [];
      const after =
        from.t === null
          ? ''
          : ` and (${col}, ${id}) > ($${values.push(from.t)}::${cast}, $${values.push(from.id)})`;
      const r = await this.#query(
        `select ${pr.columns}, ${text} as _ts from ${map.sql} t where ${col} is not null${after} ` +
          `order by ${col}, ${id} limit ${SYNC_PAGE}`,
        values,
      );
      const last = r.rows.at(-1);
      return {
        changes: r.rows.map((row) => ({ type: 'upsert' as const, object: pr.read(row) })),
        token: last ? encodeToken({ v: 1, t: last._ts as string, id: last._id as string }) : token,
        more: r.rows.length === SYNC_PAGE,
      };
    });
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

function encodeToken(t: SyncToken): string {
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

function decodeToken(token: string): SyncToken {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as SyncToken;
    if (
      t.v === 1 &&
      (t.t === null || typeof t.t === 'string') &&
      (t.id === null || typeof t.id === 'string')
    ) {
      if (t.t === null || t.id !== null) return t;
    }
  } catch {
    // fall through
  }
  throw new ConnectorError(
    'invalid_config',
    'the sync token was not issued by the SQL connector (or is damaged)',
  );
}
