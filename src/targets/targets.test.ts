import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { listAudit } from '../audit/index.ts';
import { manualConnector } from '../connectors/manual/index.ts';
import { ConnectorError, isConnectorError } from '../connectors/kit/errors.ts';
import type { Connector, ConnectorDefinition } from '../connectors/kit/types.ts';
import { transaction } from '../db/index.ts';
import { isGatehouseError } from '../kit/errors.ts';
import { silentLogger } from '../kit/log.ts';
import { secretBox } from '../kit/secret-box.ts';
import { testContext } from '../testing/context.ts';
import { createTestDatabase, superuser, type TestDatabase } from '../testing/db.ts';
import {
  createTarget,
  deleteTarget,
  getTarget,
  listTargets,
  openConnector,
  testTarget,
  updateTarget,
  type OpenDeps,
} from './index.ts';

/**
 * The targets store on real PostgreSQL with a small connector type that has credentials: configuration checked by
 * the connector's schema with field-precise problems, credentials sealed at rest and bound to the target, never in
 * a view or the audit trail, PATCH keeping what it is not given, connection tests recorded.
 */
const PASSWORD = 'correct horse battery staple';

/** What the last `open` received (to check the merged configuration). */
let opened: unknown;
const directory: ConnectorDefinition<{ url: string; bindDn: string; password: string; pageSize: number }> = {
  type: 'directory',
  title: 'Test directory',
  description: 'a connector type with a credential, for these tests',
  configSchema: z
    .object({
      url: z.url({ protocol: /^ldaps?$/ }),
      bindDn: z.string().min(1),
      password: z.string().min(8, 'at least 8 characters'),
      pageSize: z.number().int().min(1).default(500),
    })
    .strict(),
  secretFields: ['password'],
  capabilities: ['test'],
  open(config) {
    opened = config;
    return {
      type: 'directory',
      capabilities: new Set(['test']),
      async test() {
        if (config.url.includes(':1/'))
          throw new ConnectorError('unreachable', `cannot reach ${config.url}: nothing listens there`, {
            targetMessage: 'connect ECONNREFUSED 127.0.0.1:1',
          });
        if (config.password !== PASSWORD)
          throw new ConnectorError('auth_failed', 'the directory refused the bind DN and password', {
            targetMessage: '49: invalid credentials',
          });
        return { ok: true, details: { server: config.url } };
      },
      close: async () => undefined,
    } as unknown as Connector;
  },
};
const registry = [manualConnector, directory] as unknown as ConnectorDefinition<unknown>[];

let database: TestDatabase;
let deps: OpenDeps;
const ctx = () => testContext({ actor: { type: 'operator', id: 'op-7', name: 'Alex Admin' } });
const problemsOf = (e: unknown) =>
  isGatehouseError(e) ? e.problems.map((p) => `${p.field}: ${p.message}`) : e;
const fail = (p: Promise<unknown>) =>
  p.then(
    () => expect.fail('expected a failure'),
    (e: unknown) => e,
  );

beforeAll(async () => {
  database = await createTestDatabase();
  deps = {
    database,
    secrets: secretBox(Buffer.alloc(32, 9), 'test'),
    connectors: registry,
    log: silentLogger,
    clock: { now: () => new Date() },
    ids: () => crypto.randomUUID(),
  };
});
afterAll(() => database?.drop());

const add = (input: unknown) => transaction(database, (tx) => createTarget(tx, ctx(), deps, input));
const change = (name: string, input: unknown) =>
  transaction(database, (tx) => updateTarget(tx, ctx(), deps, name, input));

describe('targets', () => {
  it('adds a target: credentials sealed at rest, shown only as set', async () => {
    const t = await add({
      name: 'corp-ldap',
      connector: 'directory',
      config: { url: 'ldaps://dc.example.test:636', bindDn: 'cn=gatehouse', password: PASSWORD },
    });
    expect(t).toMatchObject({
      name: 'corp-ldap',
      connector: 'directory',
      config: { url: 'ldaps://dc.example.test:636', bindDn: 'cn=gatehouse' },
      secrets: { password: 'set' },
      enabled: true,
      lastTest: null,
      createdBy: 'Alex Admin',
    });
    expect(JSON.stringify(t)).not.toContain(PASSWORD);
    const row = await database.pool.query('select * from targets where name = $1', ['corp-ldap']);
    expect(JSON.stringify(row.rows[0])).not.toContain(PASSWORD);
    expect(row.rows[0].secrets).toMatch(/^v1:/);
    expect(JSON.stringify(await listTargets(database.pool, registry))).not.toContain(PASSWORD);
  });

  it('names the field and the reason for every bad setting, never echoing a credential', async () => {
    const e = await fail(
      add({
        name: 'bad',
        connector: 'directory',
        config: { url: 'https://not-ldap', password: 'short', pageSize: 0, extra: true },
      }),
    );
    expect(isGatehouseError(e, 'target_invalid')).toBe(true);
    expect(problemsOf(e)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^config\.url: /),
        'config.bindDn: Invalid input: expected string, received undefined',
        'config.password: at least 8 characters',
        expect.stringMatching(/^config\.pageSize: /),
        expect.stringMatching(/^config: Unrecognized key: "extra"/),
      ]),
    );
    expect(problemsOf(await fail(add({ name: 'Corp LDAP!', connector: 'directory', config: {} })))).toEqual([
      'name: lower-case letters, digits, ".", "_" or "-" (up to 63)',
    ]);
    expect(problemsOf(await fail(add({ name: 'x', connector: 'telepathy', config: {} })))).toEqual([
      'connector: one of manual, directory',
    ]);
    const dup = await fail(add({ name: 'corp-ldap', connector: 'manual', config: {} }));
    expect(isGatehouseError(dup, 'target_exists')).toBe(true);
  });

  it('a change keeps the stored credential unless given one; audited without values', async () => {
    const kept = await change('corp-ldap', { config: { pageSize: 100 } });
    expect(kept).toMatchObject({ config: { pageSize: 100 }, secrets: { password: 'set' } });
    await openConnector(deps, 'corp-ldap');
    expect(opened).toEqual({
      url: 'ldaps://dc.example.test:636',
      bindDn: 'cn=gatehouse',
      password: PASSWORD,
      pageSize: 100,
    });
    await change('corp-ldap', { config: { password: 'a new password 2' }, enabled: false });
    const disabled = await fail(openConnector(deps, 'corp-ldap'));
    expect(isGatehouseError(disabled, 'target_disabled')).toBe(true);
    await openConnector(deps, 'corp-ldap', { allowDisabled: true });
    expect(opened).toMatchObject({ password: 'a new password 2' });
    const removing = await fail(change('corp-ldap', { config: { password: null } }));
    expect(problemsOf(removing)).toEqual([
      'config.password: Invalid input: expected string, received undefined',
    ]);

    const t = await getTarget(database.pool, 'corp-ldap', registry);
    const trail = await listAudit(database, { subjectType: 'target', subjectIds: [t.id], order: 'asc' });
    expect(trail.items.map((i) => i.action)).toEqual(['target.created', 'target.changed', 'target.changed']);
    expect(trail.items[2]!.reason).toBe('credentials changed: password (values never recorded)');
    const all = JSON.stringify(trail.items);
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain('a new password 2');
  });

  it('a sealed credential is bound to its target: copied to another row it does not open', async () => {
    await add({
      name: 'other-ldap',
      connector: 'directory',
      config: { url: 'ldap://other.example.test', bindDn: 'cn=x', password: 'other password' },
    });
    await superuser(database, (c) =>
      c.query(`update targets set secrets = (select secrets from targets where name = 'corp-ldap')
               where name = 'other-ldap'`),
    );
    const e = await fail(openConnector(deps, 'other-ldap'));
    expect(isGatehouseError(e, 'secret_corrupt')).toBe(true);
  });

  it('tests the connection: success and failure are remembered; the failure is the ConnectorError', async () => {
    await change('corp-ldap', { config: { password: PASSWORD }, enabled: true });
    const ok = await testTarget(deps, 'corp-ldap');
    expect(ok).toMatchObject({ ok: true, details: { server: 'ldaps://dc.example.test:636' } });
    expect((await getTarget(database.pool, 'corp-ldap', registry)).lastTest).toMatchObject({
      ok: true,
      code: null,
    });

    await change('corp-ldap', { config: { password: 'wrong password' } });
    const denied = await fail(testTarget(deps, 'corp-ldap'));
    expect(isConnectorError(denied, 'auth_failed')).toBe(true);
    expect((denied as ConnectorError).targetMessage).toBe('49: invalid credentials');
    expect((await getTarget(database.pool, 'corp-ldap', registry)).lastTest).toMatchObject({
      ok: false,
      code: 'auth_failed',
      message: 'the directory refused the bind DN and password',
    });

    await change('corp-ldap', { config: { url: 'ldap://127.0.0.1:1/' } });
    const down = await fail(testTarget(deps, 'corp-ldap'));
    expect(isConnectorError(down, 'unreachable')).toBe(true);
    expect((down as ConnectorError).retryable).toBe(true);
  });

  it('removes a target, but not while a person has open tasks for it', async () => {
    await add({ name: 'payroll', connector: 'manual', config: { application: 'Payroll' } });
    const c = await openConnector(deps, 'payroll');
    expect((await c.test()).details).toMatchObject({ application: 'Payroll', openTasks: '0' });
    await c.create('account', { login: 'ada' });
    const refused = await fail(transaction(database, (tx) => deleteTarget(tx, ctx(), 'payroll', registry)));
    expect(isGatehouseError(refused, 'target_has_open_tasks')).toBe(true);
    expect((refused as Error).message).toBe(
      'the target "payroll" still has 1 open task: complete or cancel it first',
    );
    await transaction(database, (tx) => deleteTarget(tx, ctx(), 'other-ldap', registry));
    const gone = await fail(getTarget(database.pool, 'other-ldap', registry));
    expect(isGatehouseError(gone, 'target_not_found')).toBe(true);
    const trail = await listAudit(database, { subjectType: 'target', order: 'desc', limit: 1 });
    expect(trail.items[0]).toMatchObject({ action: 'target.deleted', before: { name: 'other-ldap' } });
  });
});
