import { randomBytes } from 'node:crypto';
import { verify } from '@node-rs/argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../db/index.ts';
import { fixedClock } from '../../kit/clock.ts';
import { silentLogger } from '../../kit/log.ts';
import { createTestDatabase, superuser, type TestDatabase } from '../../testing/db.ts';
import { contractSuite, expectError } from '../kit/contract.ts';
import type { ContractFixture } from '../kit/contract-types.ts';
import { Secret, type Attributes, type Connector, type ConnectorObject } from '../kit/types.ts';
import { escapeLike } from './filter.ts';
import { sqlConnector, type SqlConfigInput } from './index.ts';

/*
 * The application's own tables, as an application would have them: a bigint identity for users, uuid ids for
 * roles, a status column with a check, a membership table with foreign keys (no cascade) and triggers that keep
 * updated_at. The connector signs in as a role with table privileges only, not as the superuser.
 */
const DDL = `
create schema app;
create table app.app_users (
  id bigint generated always as identity primary key,
  login varchar(64) not null unique,
  email text not null check (email like '%@%'),
  display_name text,
  department varchar(40),
  employee_no integer,
  status text not null default 'active' check (status in ('active', 'inactive')),
  password_hash text,
  must_change_password boolean not null default false,
  locked boolean not null default false,
  last_login_at timestamptz,
  updated_at timestamptz not null default clock_timestamp()
);
create table app.app_roles (
  id uuid primary key default gen_random_uuid(),
  code text not null unique,
  description text,
  updated_at timestamptz not null default clock_timestamp()
);
create table app.app_user_roles (
  user_id bigint not null references app.app_users (id),
  role_id uuid not null references app.app_roles (id),
  primary key (user_id, role_id)
);
create function app.touch() returns trigger language plpgsql as $$
begin new.updated_at := clock_timestamp(); return new; end $$;
create trigger app_users_touch before update on app.app_users for each row execute function app.touch();
create trigger app_roles_touch before update on app.app_roles for each row execute function app.touch();

-- a minimal application: the login is the primary key, nothing else is managed
create table app.app_min_users (username text primary key, full_name text);
-- identifiers that only work quoted
create table app."Odd Users" ("User ID" serial primary key, "Login Name" text not null unique, "E-Mail" text);
-- a table the connector's role may only read
create table app.app_readonly (id serial primary key, login text not null unique);
-- no unique id
create table app.app_no_key (id integer, login text);
`;

let db: TestDatabase;
const role = `gh_sql_${randomBytes(4).toString('hex')}`;
const rolePassword = randomBytes(12).toString('hex');
let appUrl: string;

const deps = { log: silentLogger, clock: fixedClock('2026-11-22T08:00:00Z') };

function fullConfig(overrides: Partial<SqlConfigInput> = {}): SqlConfigInput {
  return {
    url: appUrl,
    schema: 'app',
    accounts: {
      table: 'app_users',
      id: { column: 'id' },
      name: { column: 'login', attribute: 'userName' },
      attributes: {
        email: 'email',
        displayName: 'display_name',
        department: 'department',
        employeeNo: 'employee_no',
      },
      enabled: { column: 'status', active: 'active', inactive: 'inactive' },
      password: { scheme: 'argon2id', column: 'password_hash', minLength: 12 },
      mustChangePassword: 'must_change_password',
      locked: 'locked',
      lastLogin: 'last_login_at',
      updatedAt: 'updated_at',
    },
    groups: {
      table: 'app_roles',
      id: { column: 'id' },
      name: { column: 'code', attribute: 'code' },
      attributes: { description: 'description' },
      updatedAt: 'updated_at',
    },
    membership: { table: 'app_user_roles', account: 'user_id', group: 'role_id' },
    ...overrides,
  };
}

/** Opens a connector; tests close it in `finally` or through `opened`. */
const opened: Connector[] = [];
function open(config: SqlConfigInput): Connector {
  const c = sqlConnector.open(config as never, deps);
  opened.push(c);
  return c;
}

const asSuperuser = <T>(fn: Parameters<typeof superuser<T>>[1]) => superuser(db, fn);

beforeAll(async () => {
  db = await createTestDatabase();
  await asSuperuser(async (c) => {
    await c.query(DDL);
    await c.query(`create role ${role} login password '${rolePassword}'`);
    await c.query(`grant usage on schema app to ${role}`);
    await c.query(`grant select, insert, update, delete on all tables in schema app to ${role}`);
    await c.query(`revoke insert, update, delete on app.app_readonly from ${role}`);
    await c.query(`grant usage, select on all sequences in schema app to ${role}`);
  });
  const u = new URL(db.url);
  u.username = role;
  u.password = rolePassword;
  appUrl = u.toString();
});

afterAll(async () => {
  for (const c of opened) await c.close().catch(() => undefined);
  if (!db) return;
  await asSuperuser(async (c) => {
    await c.query(`drop owned by ${role}`);
    await c.query(`drop role ${role}`);
  }).catch(() => undefined);
  await db.drop();
});

async function row(sql: string, values: unknown[]): Promise<Record<string, unknown> | undefined> {
  return asSuperuser(async (c) => (await c.query(sql, values)).rows[0]);
}

const fullFixture = (): ContractFixture => ({
  name: 'sql (PostgreSQL app_users / app_roles)',
  connect: async () => open(fullConfig()),
  account: (n, opts): Attributes =>
    opts?.unicode
      ? {
          userName: `zoë.ångström.${n}`,
          email: `zoë.${n}@exämple.test`,
          displayName: `Zoë Ångström-Łukasz, "Jr" ${n} 😀`,
          department: 'Forschung & Entwicklung',
        }
      : {
          userName: `user${n}`,
          email: `user${n}@example.test`,
          displayName: `User ${n}`,
          department: 'Engineering',
          employeeNo: n,
        },
  accountUpdate: {
    deltas: [
      { attribute: 'displayName', op: 'replace', values: ['Renamed Person'] },
      { attribute: 'department', op: 'replace', values: [] },
    ],
    expect: { displayName: 'Renamed Person', department: null },
  },
  renamed: (_current, n) => `renamed${n}`,
  group: (n) => ({ code: `role-${n}`, description: `Role ${n}` }),
  password: { good: 'correct horse battery staple', bad: 'Xq7!zp' },
  checkPassword: async (ref, password) => {
    const r = await row('select password_hash from app.app_users where id = $1', [ref.id]);
    return typeof r?.password_hash === 'string' && (await verify(r.password_hash, password));
  },
  lock: async (ref) => {
    await row('update app.app_users set locked = true where id = $1', [ref.id]);
  },
  outsideChange: async (ref) => {
    await row(`update app.app_users set display_name = display_name || ' (changed)' where id = $1`, [ref.id]);
  },
  pageSize: 3,
});

describe('sql connector', () => {
  contractSuite(fullFixture, 'sql (full mapping: status, argon2id, lock, roles, sync)');

  // A minimal mapping: the login is the supplied primary key, nothing else is managed. Exercises the declared-
  // unsupported path of the suite and text keys.
  contractSuite(
    () => ({
      name: 'sql (minimal mapping)',
      connect: async () =>
        open({
          url: appUrl,
          schema: 'app',
          accounts: {
            table: 'app_min_users',
            id: { column: 'username', generated: false },
            name: { column: 'username', attribute: 'userName' },
            attributes: { fullName: 'full_name' },
          },
        }),
      account: (n, opts) =>
        opts?.unicode
          ? { userName: `łukasz.ñandú.${n}`, fullName: `Łukasz Ñandú ${n}` }
          : { userName: `min${n}`, fullName: `Min ${n}` },
      accountUpdate: {
        deltas: [{ attribute: 'fullName', op: 'replace', values: ['Changed Name'] }],
        expect: { fullName: 'Changed Name' },
      },
      group: () => ({}),
      password: { good: 'unused' },
      outsideChange: async () => undefined,
      pageSize: 4,
      unsupported: {
        rename: 'the login is the primary key of app_min_users',
        groups: 'no roles table in this mapping',
        'disable-enable': 'no status column in this mapping',
        'set-password': 'the application stores no passwords',
        unlock: 'no locked column in this mapping',
        sync: 'no updated_at column in this mapping',
      },
    }),
    'sql (minimal mapping: supplied text key)',
  );

  describe('configuration', () => {
    it('refuses a malformed mapping before connecting, naming the field', async () => {
      const base = fullConfig();
      const bad = {
        ...base,
        accounts: { ...base.accounts, attributes: { ...base.accounts.attributes, hash: 'password_hash' } },
      };
      const e = await expectError(
        async () => open(bad),
        'invalid_config',
        'attribute mapped to the password',
      );
      expect(e.message).toContain('accounts.attributes.hash');
      expect(e.message).toContain('password_hash');
      const noUrl = await expectError(
        async () => open({ ...base, url: 'mysql://x' }),
        'invalid_config',
        'url',
      );
      expect(noUrl.message).toContain('url: must be a postgres:// or postgresql:// connection URL');
      const half = await expectError(
        async () => open({ ...base, membership: undefined }),
        'invalid_config',
        'groups without membership',
      );
      expect(half.message).toContain('membership: groups and membership are configured together');
    });

    it('names an unknown column precisely, at test() and on first use', async () => {
      const base = fullConfig();
      const config = {
        ...base,
        accounts: { ...base.accounts, attributes: { ...base.accounts.attributes, email: 'emial' } },
      };
      const c = open(config);
      const e = await expectError(() => c.test(), 'invalid_config', 'test() with an unknown column');
      expect(e.message).toContain(
        'column emial does not exist in table app.app_users (config: accounts.attributes.email)',
      );
      expect(e.message).toContain('the table has: id, login, email');
      const again = await expectError(
        () => c.get({ objectClass: 'account', id: '1' }),
        'invalid_config',
        'first use with an unknown column',
      );
      expect(again.message).toBe(e.message);
    });

    it('names an unknown table, a wrong column type and a non-unique id', async () => {
      const base = fullConfig();
      const table = await expectError(
        () => open({ ...base, accounts: { ...base.accounts, table: 'app_userz' } }).test(),
        'invalid_config',
        'unknown table',
      );
      expect(table.message).toContain('table app.app_userz does not exist');
      expect(table.message).toContain('(config: accounts.table)');

      const type = await expectError(
        () => open({ ...base, accounts: { ...base.accounts, enabled: { column: 'status' } } }).test(),
        'invalid_config',
        'status column configured as boolean',
      );
      expect(type.message).toContain('column app_users.status is text, but accounts.enabled.column');

      const key = await expectError(
        () =>
          open({
            url: appUrl,
            schema: 'app',
            accounts: {
              table: 'app_no_key',
              id: { column: 'id', generated: false, attribute: 'id' },
              name: { column: 'login' },
              attributes: { id: 'id' },
            },
          }).test(),
        'invalid_config',
        'id column without a unique index',
      );
      expect(key.message).toContain('column app_no_key.id is neither the primary key nor unique');

      const schema = await expectError(
        () => open({ ...base, schema: 'nope' }).test(),
        'invalid_config',
        'unknown schema',
      );
      expect(schema.message).toContain('schema nope does not exist');
    });

    it('test() reports what it reached, never the credentials', async () => {
      const r = await open(fullConfig()).test();
      expect(r.details).toMatchObject({
        database: db.name,
        user: role,
        schema: 'app',
        accounts: 'app_users',
        groups: 'app_roles',
        membership: 'app_user_roles',
      });
      expect(r.details.server).toMatch(/^PostgreSQL \d+/);
      expect(JSON.stringify(r)).not.toContain(rolePassword);
      expect(sqlConnector.secretFields).toEqual(['url']);
    });

    it('declares capabilities from the mapping', () => {
      expect([...open(fullConfig()).capabilities].sort()).toEqual([...sqlConnector.capabilities].sort());
      const minimal = open({
        url: appUrl,
        accounts: { table: 't', id: { column: 'login', generated: false }, name: { column: 'login' } },
      });
      expect([...minimal.capabilities].sort()).toEqual([
        'create',
        'delete',
        'schema',
        'search',
        'test',
        'update',
      ]);
    });
  });

  describe('connection errors', () => {
    it('a wrong password is auth_failed, without the password in the error', async () => {
      const u = new URL(appUrl);
      u.password = 'wrong-password-123';
      const e = await expectError(
        () => open(fullConfig({ url: u.toString() })).test(),
        'auth_failed',
        'bad password',
      );
      expect(e.message).toContain(`user ${role}`);
      expect(e.retryable).toBe(false);
      expect(e.targetMessage).toContain('password authentication failed');
      expect(JSON.stringify({ m: e.message, t: e.targetMessage, d: e.details })).not.toContain(
        'wrong-password-123',
      );
    });

    it('a closed port is unreachable and retryable; so is an unknown host', async () => {
      const u = new URL(appUrl);
      u.port = String(await freePort());
      const e = await expectError(
        () => open(fullConfig({ url: u.toString() })).test(),
        'unreachable',
        'closed port',
      );
      expect(e.retryable).toBe(true);
      expect(e.message).toContain('ECONNREFUSED');
      u.hostname = 'no-such-host.invalid';
      const h = await expectError(
        () => open(fullConfig({ url: u.toString() })).test(),
        'unreachable',
        'unknown host',
      );
      expect(h.retryable).toBe(true);
    });
  });

  describe('behaviour on the application tables', () => {
    let c: Connector;
    let n = Number.parseInt(randomBytes(3).toString('hex'), 16);
    const user = (extra: Record<string, string | number | null> = {}) => ({
      userName: `t${++n}`,
      email: `t${n}@example.test`,
      ...extra,
    });
    beforeAll(() => {
      c = open(fullConfig());
    });

    it('stores passwords as argon2id hashes, never as given', async () => {
      const pw = 'a long enough passphrase';
      const o = await c.create('account', user(), { password: new Secret(pw), mustChangePassword: true });
      const stored = await row(
        'select password_hash, must_change_password from app.app_users where id = $1',
        [o.id],
      );
      expect(stored!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(stored!.password_hash).not.toContain(pw);
      expect(await verify(stored!.password_hash as string, pw)).toBe(true);
      expect(stored!.must_change_password).toBe(true);

      const next = 'another long passphrase';
      await c.setPassword(o, new Secret(next));
      const after = await row('select password_hash, must_change_password from app.app_users where id = $1', [
        o.id,
      ]);
      expect(after!.password_hash).not.toBe(stored!.password_hash);
      expect(await verify(after!.password_hash as string, next)).toBe(true);
      expect(after!.must_change_password).toBe(false);
      await c.setPassword(o, new Secret(next), { mustChangePassword: true });
      expect(
        (await row('select must_change_password from app.app_users where id = $1', [o.id]))!
          .must_change_password,
      ).toBe(true);

      const short = await expectError(
        () => c.setPassword(o, new Secret('tiny')),
        'policy_violation',
        'short',
      );
      expect(short.message).toBe('password too short: the application requires at least 12 characters');
    });

    it('filter values cannot inject SQL, and co/sw/ew match % and _ literally', async () => {
      const a = await c.create('account', user({ displayName: `50% off_sale ' or '1'='1` }));
      const b = await c.create('account', user({ displayName: '50 percent offXsale' }));
      const ids = async (filter: Parameters<Connector['search']>[0]['filter']) =>
        (await collect(c.search({ objectClass: 'account', filter }))).map((o) => o.id).sort();

      expect(await ids({ op: 'eq', attribute: 'userName', value: `x' or '1'='1` })).toEqual([]);
      expect(await ids({ op: 'eq', attribute: 'displayName', value: `50% off_sale ' or '1'='1` })).toEqual([
        a.id,
      ]);
      expect(await ids({ op: 'co', attribute: 'displayName', value: '% off_' })).toEqual([a.id]);
      expect(await ids({ op: 'co', attribute: 'displayName', value: 'off_sale' })).toEqual([a.id]);
      expect(await ids({ op: 'sw', attribute: 'displayName', value: '50%' })).toEqual([a.id]);
      expect(await ids({ op: 'ew', attribute: 'displayName', value: `'1'='1` })).toEqual([a.id]);
      expect(await ids({ op: 'co', attribute: 'displayName', value: 'OFFXSALE' })).toEqual([b.id]);
      expect(
        await ids({
          op: 'and',
          filters: [
            { op: 'sw', attribute: 'displayName', value: '50' },
            { op: 'not', filter: { op: 'co', attribute: 'displayName', value: '%' } },
          ],
        }),
      ).toEqual([b.id]);

      const bad = await expectError(
        () =>
          collect(
            c.search({
              objectClass: 'account',
              filter: { op: 'eq', attribute: 'email; drop table app.app_users', value: 'x' },
            }),
          ),
        'schema_violation',
        'filter on an unmapped attribute',
      );
      expect(bad.message).toContain(`unknown account attribute 'email; drop table app.app_users'`);
      expect(escapeLike('a\\b%c_d')).toBe('a\\\\b\\%c\\_d');
      expect((await row('select count(*)::int as n from app.app_users', []))!.n).toBeGreaterThanOrEqual(2);
    });

    it('stores hostile values literally and refuses hostile identifiers as unknown', async () => {
      const evil = `Robert'); drop table app.app_users; --`;
      const o = await c.create('account', user({ displayName: evil }));
      expect((await c.get(o))!.attributes.displayName).toBe(evil);
      const base = fullConfig();
      const e = await expectError(
        () =>
          open({
            ...base,
            accounts: { ...base.accounts, table: 'app_users" ; drop table app.app_roles; --' },
          }).test(),
        'invalid_config',
        'hostile table name',
      );
      expect(e.message).toContain('does not exist');
      expect((await row(`select to_regclass('app.app_roles') is not null as ok`, []))!.ok).toBe(true);
    });

    it('works with identifiers that need quoting', async () => {
      const odd = open({
        url: appUrl,
        schema: 'app',
        accounts: {
          table: 'Odd Users',
          id: { column: 'User ID' },
          name: { column: 'Login Name', attribute: 'login' },
          attributes: { mail: 'E-Mail' },
        },
      });
      const o = await odd.create('account', { login: 'odd.one', mail: 'odd@example.test' });
      expect(o).toMatchObject({
        name: 'odd.one',
        attributes: { login: 'odd.one', mail: 'odd@example.test' },
      });
      const found = await collect(
        odd.search({ objectClass: 'account', filter: { op: 'sw', attribute: 'mail', value: 'odd@' } }),
      );
      expect(found.map((x) => x.id)).toEqual([o.id]);
      await odd.delete(o);
      expect(await odd.get(o)).toBeUndefined();
    });

    it('maps constraint errors to codes that name the column', async () => {
      const u = user();
      await c.create('account', u);
      const dup = await expectError(() => c.create('account', u), 'already_exists', 'duplicate login');
      expect(dup.message).toBe(
        `an account with column app_users.login (attribute userName) = '${u.userName}' already exists`,
      );
      expect(dup.targetMessage).toContain('duplicate key value violates unique constraint');

      const missing = await expectError(
        () => c.create('account', { userName: `t${++n}` }),
        'schema_violation',
        'no email',
      );
      expect(missing.message).toBe(
        'column app_users.email (attribute email) must not be null: the application requires a value',
      );

      const check = await expectError(
        () => c.create('account', { userName: `t${++n}`, email: 'not-an-address' }),
        'schema_violation',
        'check constraint',
      );
      expect(check.message).toContain('of column app_users.email (attribute email)');

      const long = await expectError(
        () => c.create('account', user({ department: 'x'.repeat(41) })),
        'schema_violation',
        'too long',
      );
      expect(long.message).toBe(
        'attribute department (column app_users.department) allows at most 40 characters, got 41',
      );

      const type = await expectError(
        () => c.create('account', user({ employeeNo: 'twelve' })),
        'schema_violation',
        'not an integer',
      );
      expect(type.message).toBe(
        'attribute employeeNo (column app_users.employee_no) needs an integer, got "twelve"',
      );

      const unknown = await expectError(
        () => c.create('account', user({ shoeSize: 42 })),
        'schema_violation',
        'unknown',
      );
      expect(unknown.message).toContain(`unknown account attribute 'shoeSize'`);
    });

    it('maps missing privileges and a column dropped after validation', async () => {
      const ro = open({
        url: appUrl,
        schema: 'app',
        accounts: { table: 'app_readonly', id: { column: 'id' }, name: { column: 'login' } },
      });
      const denied = await expectError(
        () => ro.create('account', { name: 'x' }),
        'permission_denied',
        'read-only',
      );
      expect(denied.message).toContain('permission denied for table app_readonly');

      await asSuperuser((s) =>
        s.query(`create table app.app_shifting (id serial primary key, login text unique, nick text)`),
      );
      await asSuperuser((s) => s.query(`grant select on app.app_shifting to ${role}`));
      const shifting = open({
        url: appUrl,
        schema: 'app',
        accounts: {
          table: 'app_shifting',
          id: { column: 'id' },
          name: { column: 'login' },
          attributes: { nick: 'nick' },
        },
      });
      await shifting.test();
      await asSuperuser((s) => s.query('alter table app.app_shifting rename column nick to nickname'));
      const gone = await expectError(
        () => collect(shifting.search({ objectClass: 'account' })),
        'invalid_config',
        'renamed column',
      );
      expect(gone.message).toContain('column t.nick does not exist');
    });

    it('reads status, lock and last sign-in; unlock and enable write them', async () => {
      const o = await c.create('account', user(), { enabled: false });
      expect(o.enabled).toBe(false);
      expect((await row('select status from app.app_users where id = $1', [o.id]))!.status).toBe('inactive');
      await row(
        `update app.app_users set locked = true, last_login_at = '2026-11-20T07:30:00.123Z' where id = $1`,
        [o.id],
      );
      const got = (await c.get(o))!;
      expect(got).toMatchObject({ enabled: false, locked: true, lastLoginAt: '2026-11-20T07:30:00.123Z' });
      await c.unlock(o);
      await c.enable(o);
      expect(await c.get(o)).toMatchObject({ enabled: true, locked: false });
      expect((await row('select status from app.app_users where id = $1', [o.id]))!.status).toBe('active');
    });

    it('reads memberships both ways and deletes an account with its memberships', async () => {
      const role1 = await c.create('group', { code: `r-${++n}`, description: 'One' });
      const role2 = await c.create('group', { code: `r-${++n}` });
      const o = await c.create('account', user());
      await c.addMember(role1, o);
      await c.addMember(role1, o); // idempotent
      await c.addMember(role2, o);
      expect((await c.get(o))!.memberOf).toEqual([role1.id, role2.id].sort());
      expect((await c.get(role1))!.attributes.members).toEqual([o.id]);
      expect((await c.get(role1, ['code']))!.attributes).toEqual({ code: role1.name });
      await c.removeMember(role2, o);
      expect((await c.get(o))!.memberOf).toEqual([role1.id]);
      const missingGroup = await expectError(
        () => c.addMember({ objectClass: 'group', id: '00000000-0000-4000-8000-000000000000' }, o),
        'not_found',
        'missing group',
      );
      expect(missingGroup.message).toBe('no group with id 00000000-0000-4000-8000-000000000000 in app_roles');
      await c.delete(o);
      expect(await c.get(o)).toBeUndefined();
      expect((await c.get(role1))!.attributes.members).toEqual([]);
      expect(await c.get({ objectClass: 'account', id: 'not-a-number' })).toBeUndefined();
    });

    it('sync follows groups too, resumes, and refuses a foreign token', async () => {
      const start = await c.sync('group', null);
      const g = await c.create('group', { code: `r-${++n}` });
      await row(`update app.app_roles set description = 'changed outside' where id = $1`, [g.id]);
      const r = await c.sync('group', start.token);
      const mine = r.changes.filter((x) => x.object.id === g.id);
      expect(mine).toHaveLength(1);
      expect((mine[0]!.object as ConnectorObject).attributes.description).toBe('changed outside');
      expect((await c.sync('group', r.token)).changes).toEqual([]);
      await expectError(() => c.sync('group', 'bm90LWEtdG9rZW4'), 'invalid_config', 'foreign token');
    });

    it('schema describes columns with their types and required flags', async () => {
      const s = await c.schema();
      const account = s.objectClasses.find((o) => o.name === 'account')!;
      expect(account.nativeName).toBe('app.app_users');
      const attr = (name: string) => account.attributes.find((a) => a.name === name);
      expect(attr('userName')).toMatchObject({ type: 'string', required: true, writable: true });
      expect(attr('email')).toMatchObject({ type: 'string', required: true });
      expect(attr('employeeNo')).toMatchObject({ type: 'integer', required: false });
      expect(account.attributes.map((a) => a.name)).not.toContain('password_hash');
      expect(s.entitlementTypes).toEqual([
        {
          name: 'role',
          objectClass: 'group',
          description: 'rows of app_roles, granted through app_user_roles',
        },
      ]);
      const group = s.objectClasses.find((o) => o.name === 'group')!;
      expect(group.attributes.find((a) => a.name === 'members')).toMatchObject({
        type: 'reference',
        multiValued: true,
      });
    });
  });
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
