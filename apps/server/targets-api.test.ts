import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { transaction } from '../../src/db/index.ts';
import { scopesOf } from '../../src/operators/index.ts';
import { openTargetForTest } from '../../src/targets/test-support.ts';
import { createToken } from '../../src/tokens/index.ts';
import { startTestApi, type TestApi } from '../../src/testing/api.ts';
import { testContext } from '../../src/testing/context.ts';
import { createTestDatabase, superuser, type TestDatabase } from '../../src/testing/db.ts';

/**
 * Targets and manual tasks over HTTP on real PostgreSQL. The SQL connector's target is this test's own database, so
 * its connection URL (with the database password in it) is the credential that must never come back: not in a
 * response, not in the audit trail, not in clear in the row. Connection tests reach a real server, and fail against
 * a closed port and a wrong password with the connector's code.
 */
let database: TestDatabase;
let api: TestApi;
let app: FastifyInstance;
let dbPassword: string;
const tokens: Record<string, string> = {};

async function token(name: string, scopes: string[]): Promise<string> {
  return (await transaction(database, (tx) => createToken(tx, testContext(), { name, scopes }))).token;
}

function call(who: string | null, method: string, url: string, body?: unknown) {
  return app.inject({
    method: method as 'GET',
    url,
    headers: who ? { authorization: `Bearer ${tokens[who]}` } : {},
    ...(body !== undefined ? { payload: body as object } : {}),
  });
}

/** The SQL connector's configuration for the application table in this database. */
function sqlConfig(url: string) {
  return {
    url,
    accounts: { table: 'app_users', id: { column: 'id' }, name: { column: 'login', attribute: 'login' } },
    connectTimeoutMs: 5000,
  };
}

beforeAll(async () => {
  database = await createTestDatabase();
  dbPassword = decodeURIComponent(new URL(database.url).password);
  expect(dbPassword.length).toBeGreaterThan(8);
  await superuser(database, (c) =>
    c.query('create table app_users (id serial primary key, login text unique not null)'),
  );
  api = await startTestApi(database);
  app = api.app;
  tokens.admin = await token('admin', ['admin']);
  tokens.reader = await token('reader', ['targets:read', 'tasks:read']);
  tokens.writer = await token('writer', ['targets:read', 'targets:write']);
  tokens.agent = await token('agent', scopesOf('agent'));
  tokens.other = await token('other', ['people:read']);
});
afterAll(async () => {
  await api?.close();
  await database?.drop();
});

describe('permissions', () => {
  const routes: [string, string, string, unknown?][] = [
    ['GET', '/api/v1/connectors', 'targets:read'],
    ['GET', '/api/v1/targets', 'targets:read'],
    ['POST', '/api/v1/targets', 'targets:write', { name: 'x', connector: 'manual', config: {} }],
    ['GET', '/api/v1/targets/x', 'targets:read'],
    ['PATCH', '/api/v1/targets/x', 'targets:write', { enabled: false }],
    ['DELETE', '/api/v1/targets/x', 'targets:write'],
    ['POST', '/api/v1/targets/x/test', 'targets:write'],
    ['GET', '/api/v1/tasks', 'tasks:read'],
    ['GET', '/api/v1/tasks/00000000-0000-0000-0000-000000000000', 'tasks:read'],
    ['POST', '/api/v1/tasks/00000000-0000-0000-0000-000000000000/complete', 'tasks:write', { note: 'n' }],
    ['POST', '/api/v1/tasks/00000000-0000-0000-0000-000000000000/cancel', 'tasks:write', { note: 'n' }],
  ];
  it.each(routes)('%s %s needs %s', async (method, url, scope, body) => {
    expect((await call(null, method, url, body)).statusCode).toBe(401);
    const denied = await call('other', method, url, body);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().detail).toContain(`"${scope}"`);
    const holder = scope.startsWith('tasks') ? 'agent' : scope.endsWith(':read') ? 'reader' : 'writer';
    expect((await call(holder, method, url, body)).statusCode, `${holder} for ${scope}`).not.toBe(403);
  });

  it('agents work tasks and see targets; auditors only read', () => {
    expect(scopesOf('agent')).toEqual(expect.arrayContaining(['targets:read', 'tasks:read', 'tasks:write']));
    expect(scopesOf('agent')).not.toContain('targets:write');
    expect(scopesOf('auditor')).toEqual(expect.arrayContaining(['targets:read', 'tasks:read']));
    expect(scopesOf('auditor')).not.toContain('tasks:write');
  });
});

describe('targets', () => {
  it('lists the connector types with their credentials and configuration schema', async () => {
    const r = await call('reader', 'GET', '/api/v1/connectors');
    expect(r.statusCode).toBe(200);
    const byType = Object.fromEntries(r.json().items.map((c: { type: string }) => [c.type, c]));
    expect(Object.keys(byType)).toEqual(
      expect.arrayContaining(['ldap', 'active-directory', 'scim', 'sql', 'manual']),
    );
    expect(byType.sql.secretFields).toEqual(['url']);
    expect(byType.manual).toMatchObject({
      secretFields: [],
      capabilities: expect.arrayContaining(['create', 'groups', 'sync']),
      configSchema: { type: 'object', properties: { application: { type: 'string' } } },
    });
  });

  it('adds a target: the credential is sealed, never returned, never audited', async () => {
    const r = await call('writer', 'POST', '/api/v1/targets', {
      name: 'billing-db',
      connector: 'sql',
      config: sqlConfig(database.url),
    });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({
      name: 'billing-db',
      connector: 'sql',
      secrets: { url: 'set' },
      config: { accounts: { table: 'app_users' } },
      lastTest: null,
    });
    expect(r.json().config.url).toBeUndefined();
    for (const url of ['/api/v1/targets', '/api/v1/targets/billing-db']) {
      const got = await call('reader', 'GET', url);
      expect(got.statusCode).toBe(200);
      expect(got.body).not.toContain(dbPassword);
    }
    const row = await database.pool.query(`select * from targets where name = 'billing-db'`);
    expect(JSON.stringify(row.rows)).not.toContain(dbPassword);
    expect(row.rows[0].secrets).toMatch(/^v1:/);
    const audit = await database.pool.query(`select * from audit_events where subject_id = $1`, [
      r.json().id,
    ]);
    expect(audit.rows.map((a) => a.action)).toEqual(['target.created']);
    expect(JSON.stringify(audit.rows)).not.toContain(dbPassword);
  });

  it('names the field and the reason of every bad setting', async () => {
    const r = await call('writer', 'POST', '/api/v1/targets', {
      name: 'broken',
      connector: 'sql',
      config: { url: 'mysql://x', accounts: { table: 'app_users' } },
    });
    expect(r.statusCode).toBe(400);
    expect(r.headers['content-type']).toMatch(/application\/problem\+json/);
    const fields = r.json().errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(
      expect.arrayContaining(['config.url', 'config.accounts.id', 'config.accounts.name']),
    );
    expect(r.json().code).toBe('target_invalid');
    const name = await call('writer', 'POST', '/api/v1/targets', { name: 'Billing DB', connector: 'manual' });
    expect(name.json()).toMatchObject({ code: 'target_invalid', errors: [{ field: 'name' }] });
    const type = await call('writer', 'POST', '/api/v1/targets', { name: 'x', connector: 'carrier-pigeon' });
    expect(type.json().errors).toEqual([{ field: 'connector', message: expect.stringContaining('manual') }]);
    const dup = await call('writer', 'POST', '/api/v1/targets', { name: 'billing-db', connector: 'manual' });
    expect([dup.statusCode, dup.json().code]).toEqual([409, 'target_exists']);
  });

  it('tests the connection against the real server and remembers the outcome', async () => {
    const r = await call('writer', 'POST', '/api/v1/targets/billing-db/test');
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ ok: true, details: { accounts: 'app_users' } });
    const list = await call('reader', 'GET', '/api/v1/targets');
    expect(list.json().items[0].lastTest).toMatchObject({ ok: true, code: null });
  });

  it('a wrong password is auth_failed, a closed port unreachable: problem+json with the target message', async () => {
    const wrong = new URL(database.url);
    wrong.password = 'not-the-password';
    const p = await call('writer', 'PATCH', '/api/v1/targets/billing-db', {
      config: { url: wrong.toString() },
    });
    expect(p.statusCode, p.body).toBe(200);
    expect(p.json().secrets).toEqual({ url: 'set' });
    const denied = await call('writer', 'POST', '/api/v1/targets/billing-db/test');
    expect(denied.statusCode).toBe(502);
    expect(denied.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(denied.json()).toMatchObject({ code: 'auth_failed', targetMessage: expect.any(String) });
    expect(denied.json().detail.length).toBeGreaterThan(10);
    expect(denied.body).not.toContain('not-the-password');
    const after = await call('reader', 'GET', '/api/v1/targets/billing-db');
    expect(after.json().lastTest).toMatchObject({ ok: false, code: 'auth_failed' });

    const ldap = await call('writer', 'POST', '/api/v1/targets', {
      name: 'corp-ldap',
      connector: 'ldap',
      config: {
        url: 'ldap://127.0.0.1:1',
        bindDn: 'cn=admin,dc=example,dc=test',
        bindPassword: 'ldap bind secret',
        baseDn: 'dc=example,dc=test',
        usersDn: 'ou=people,dc=example,dc=test',
        groupsDn: 'ou=groups,dc=example,dc=test',
      },
    });
    expect(ldap.statusCode, ldap.body).toBe(201);
    expect(ldap.json().secrets).toEqual({ bindPassword: 'set' });
    const down = await call('writer', 'POST', '/api/v1/targets/corp-ldap/test');
    expect(down.statusCode).toBe(502);
    expect(down.json()).toMatchObject({ code: 'unreachable' });
    expect(down.body).not.toContain('ldap bind secret');
  });

  it('a change without the credential keeps it; the audit trail never holds one', async () => {
    const fixed = await call('writer', 'PATCH', '/api/v1/targets/billing-db', {
      config: { url: database.url },
    });
    expect(fixed.statusCode).toBe(200);
    const keep = await call('writer', 'PATCH', '/api/v1/targets/billing-db', { config: { poolSize: 2 } });
    expect(keep.json()).toMatchObject({ config: { poolSize: 2 }, secrets: { url: 'set' } });
    expect((await call('writer', 'POST', '/api/v1/targets/billing-db/test')).statusCode).toBe(200);
    const bad = await call('writer', 'PATCH', '/api/v1/targets/billing-db', { config: { poolSize: 0 } });
    expect(bad.json().errors).toEqual([{ field: 'config.poolSize', message: expect.any(String) }]);
    const audit = await database.pool.query(`select * from audit_events`);
    const all = JSON.stringify(audit.rows);
    expect(all).not.toContain(dbPassword);
    expect(all).not.toContain('ldap bind secret');
    const changes = audit.rows.filter(
      (a) => a.action === 'target.changed' && a.subject_id === keep.json().id,
    );
    expect(changes.map((a) => a.reason)).toEqual([
      'credentials changed: url (values never recorded)',
      'credentials changed: url (values never recorded)',
      null,
    ]);
  });

  it('removes a target', async () => {
    expect((await call('writer', 'DELETE', '/api/v1/targets/corp-ldap')).statusCode).toBe(204);
    const gone = await call('reader', 'GET', '/api/v1/targets/corp-ldap');
    expect([gone.statusCode, gone.json().code]).toEqual([404, 'target_not_found']);
  });
});

describe('tasks', () => {
  let ids: string[] = [];
  beforeAll(async () => {
    const r = await call('admin', 'POST', '/api/v1/targets', {
      name: 'payroll',
      connector: 'manual',
      config: { application: 'Payroll' },
    });
    expect(r.statusCode, r.body).toBe(201);
    // What the provisioning worker will do: open the target's connector and make changes (tasks, here).
    const c = await openTargetForTest(database, 'payroll');
    await c.create('account', { login: 'ada', displayName: 'Ada Lovelace' });
    await c.create('account', { login: 'bob' });
    await c.close();
  });

  it('lists open tasks oldest first, filtered by target; unknown target or id is 404', async () => {
    const r = await call('agent', 'GET', '/api/v1/tasks?status=open&target=payroll');
    expect(r.statusCode).toBe(200);
    expect(r.json().items.map((t: { summary: string }) => t.summary)).toEqual([
      'Create the account "ada" in Payroll',
      'Create the account "bob" in Payroll',
    ]);
    ids = r.json().items.map((t: { id: string }) => t.id);
    const page = await call('agent', 'GET', '/api/v1/tasks?status=open&limit=1');
    expect(page.json().items).toHaveLength(1);
    const next = await call(
      'agent',
      'GET',
      `/api/v1/tasks?status=open&limit=1&cursor=${page.json().nextCursor}`,
    );
    expect(next.json()).toMatchObject({ items: [{ id: ids[1] }], nextCursor: null });
    const one = await call('reader', 'GET', `/api/v1/tasks/${ids[0]}`);
    expect(one.json()).toMatchObject({
      target: 'payroll',
      operation: 'create',
      objectName: 'ada',
      status: 'open',
    });
    expect((await call('agent', 'GET', '/api/v1/tasks?target=nope')).json().code).toBe('target_not_found');
    expect((await call('agent', 'GET', '/api/v1/tasks/not-a-task')).json().code).toBe('task_not_found');
  });

  it('completes with a required note, once; the ledger and the audit trail follow', async () => {
    const noNote = await call('agent', 'POST', `/api/v1/tasks/${ids[0]}/complete`, {});
    expect(noNote.json()).toMatchObject({ code: 'validation_failed', errors: [{ field: 'body.note' }] });
    const blank = await call('agent', 'POST', `/api/v1/tasks/${ids[0]}/complete`, { note: '   ' });
    expect(blank.json()).toMatchObject({ code: 'task_note_required', errors: [{ field: 'note' }] });
    const done = await call('agent', 'POST', `/api/v1/tasks/${ids[0]}/complete`, {
      note: 'made in the HR portal',
    });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json()).toMatchObject({
      status: 'done',
      note: 'made in the HR portal',
      completedBy: 'agent',
    });
    const again = await call('agent', 'POST', `/api/v1/tasks/${ids[0]}/complete`, { note: 'again' });
    expect([again.statusCode, again.json().code]).toEqual([409, 'task_not_open']);
    const ledger = await database.pool.query(`select name from manual_objects where not deleted`);
    expect(ledger.rows).toEqual([{ name: 'ada' }]);
    const audit = await database.pool.query(
      `select actor_name, after from audit_events where action = 'task.completed'`,
    );
    expect(audit.rows).toEqual([
      {
        actor_name: 'agent',
        after: expect.objectContaining({ note: 'made in the HR portal', target: 'payroll' }),
      },
    ]);
  });

  it('cancels with a note; removing the target waits for its open tasks', async () => {
    const refused = await call('admin', 'DELETE', '/api/v1/targets/payroll');
    expect([refused.statusCode, refused.json().code]).toEqual([409, 'target_has_open_tasks']);
    const c = await call('agent', 'POST', `/api/v1/tasks/${ids[1]}/cancel`, {
      note: 'Bob did not join after all',
    });
    expect(c.json()).toMatchObject({ status: 'cancelled', note: 'Bob did not join after all' });
    const open = await call('agent', 'GET', '/api/v1/tasks?status=open');
    expect(open.json().items).toEqual([]);
    const all = await call('agent', 'GET', '/api/v1/tasks');
    expect(all.json().items.map((t: { status: string }) => t.status)).toEqual(['cancelled', 'done']);
    expect((await call('admin', 'DELETE', '/api/v1/targets/payroll')).statusCode).toBe(204);
  });
});
