import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../audit/index.ts';
import { transaction } from '../../db/index.ts';
import { isGatehouseError } from '../../kit/errors.ts';
import { silentLogger } from '../../kit/log.ts';
import { secretBox } from '../../kit/secret-box.ts';
import {
  cancelTask,
  completeTask,
  createTarget,
  getTask,
  listTasks,
  openConnector,
  recordObject,
  type OpenDeps,
  type TaskView,
} from '../../targets/index.ts';
import { testContext } from '../../testing/context.ts';
import { createTestDatabase, type TestDatabase } from '../../testing/db.ts';
import { contractSuite, expectError } from '../kit/contract.ts';
import type { ContractFixture } from '../kit/contract-types.ts';
import { isConnectorError } from '../kit/errors.ts';
import { Secret, type Connector, type ObjectRef } from '../kit/types.ts';
import { manualConnector, type LedgerObject } from './index.ts';

/**
 * The manual target on real PostgreSQL: the shared contract suite, with `settle()` doing what the person does
 * (completing every open task in order), twice — once for an application with groups, passwords and lockouts, once
 * for one without (declared unsupported, with reasons). Then the parts only a manual target has: tasks never hold a
 * password, reads show only what people confirmed, order and cancellation of tasks, audit.
 */
let database: TestDatabase;
let deps: OpenDeps;
const ctx = () => testContext({ actor: { type: 'operator', id: 'op-1', name: 'Pat Person' } });

beforeAll(async () => {
  database = await createTestDatabase();
  deps = {
    database,
    secrets: secretBox(Buffer.alloc(32, 3), 'test'),
    log: silentLogger,
    clock: { now: () => new Date() },
    ids: () => crypto.randomUUID(),
  };
});
afterAll(async () => {
  await database?.drop();
});

async function addTarget(name: string, config: Record<string, unknown>): Promise<void> {
  await transaction(database, (tx) => createTarget(tx, ctx(), deps, { name, connector: 'manual', config }));
}

async function openTasks(target: string): Promise<TaskView[]> {
  return (await listTasks(database.pool, { status: 'open', target, limit: 500 })).items;
}

/** What the person does: every open task of the target, oldest first, done with a note. */
async function settleAll(target: string): Promise<void> {
  for (let open = await openTasks(target); open.length; open = await openTasks(target))
    for (const t of open) await transaction(database, (tx) => completeTask(tx, ctx(), t.id, 'done by hand'));
}

/** A person records what they found in the application (a change made there directly, a lockout). */
async function record(
  target: string,
  ref: ObjectRef,
  change: (o: LedgerObject) => LedgerObject,
): Promise<void> {
  const c = await openConnector(deps, target);
  const o = await c.get(ref);
  await c.close();
  if (!o) throw new Error(`${ref.objectClass} ${ref.id} is not in the ledger of ${target}`);
  const current: LedgerObject = {
    objectClass: o.objectClass,
    id: o.id,
    name: o.name,
    attributes: o.attributes,
    enabled: o.enabled ?? true,
    locked: o.locked ?? false,
    memberOf: o.memberOf ?? [],
  };
  await transaction(database, (tx) => recordObject(tx, ctx(), target, change(current)));
}

let changes = 0;
function fixture(target: string, extra: Partial<ContractFixture>): ContractFixture {
  return {
    name: `manual (${target}, tasks completed on PostgreSQL)`,
    connect: () => openConnector(deps, target),
    account: (n, opts) =>
      opts?.unicode
        ? {
            login: `zoë.ångström-${n}`,
            displayName: `Zoë Ångström-Łukasz, "Jr" ${n}`,
            email: `zoe${n}@example.test`,
          }
        : { login: `user${n}`, displayName: `User ${n}`, email: `user${n}@example.test` },
    accountUpdate: {
      deltas: [
        { attribute: 'title', op: 'replace', values: ['Lead'] },
        { attribute: 'email', op: 'replace', values: [] },
      ],
      expect: { title: 'Lead', email: null },
    },
    renamed: (_current, n) => `renamed${n}`,
    group: (n) => ({ name: `group-${n}`, description: 'made by the contract suite' }),
    password: { good: 'Correct-Horse-Battery-9' },
    outsideChange: (ref) =>
      record(target, ref, (o) => ({
        ...o,
        attributes: { ...o.attributes, title: `changed outside ${++changes}` },
      })),
    pageSize: 3,
    settle: () => settleAll(target),
    ...extra,
  };
}

const ATTRIBUTES = [
  { name: 'login', required: true },
  { name: 'displayName' },
  { name: 'email' },
  { name: 'title' },
];

describe('manual target with groups, passwords and lockouts', () => {
  beforeAll(() => addTarget('payroll', { application: 'Payroll', attributes: ATTRIBUTES }));
  contractSuite(
    () =>
      fixture('payroll', {
        // A person reports the account locked out; the unlock task then clears it.
        lock: (ref) => record('payroll', ref, (o) => ({ ...o, locked: true })),
      }),
    'manual (Payroll)',
  );
});

describe('manual target of an application without groups, passwords or lockouts', () => {
  beforeAll(() =>
    addTarget('wiki', {
      application: 'Team wiki',
      attributes: ATTRIBUTES,
      groups: false,
      passwords: false,
      lockout: false,
    }),
  );
  contractSuite(
    fixture('wiki', {
      unsupported: {
        groups: 'the wiki is configured without groups (groups: false)',
        'set-password':
          'the wiki signs people in through SSO and has no passwords of its own (passwords: false)',
        unlock: 'the wiki has no lockouts (lockout: false)',
      },
    }),
    'manual (wiki without groups, passwords, lockouts)',
  );
});

describe('manual tasks', () => {
  let c: Connector;
  beforeAll(async () => {
    await addTarget('crm', {
      application: 'CRM',
      adminUrl: 'https://crm.example.test/admin',
      instructions: 'Ask the CRM owner (Kim) if a role is unclear.',
      attributes: [...ATTRIBUTES, { name: 'roles', multiValued: true }],
    });
    c = await openConnector(deps, 'crm');
  });
  afterAll(() => c?.close());

  it('a create becomes a task in words; the password never reaches it; reads wait for the person', async () => {
    const password = 'S3cret-Never-Stored!';
    const made = await c.create(
      'account',
      { login: 'ada', displayName: 'Ada Lovelace', roles: ['sales', 'support'] },
      { password: new Secret(password), mustChangePassword: true },
    );
    const [task] = await openTasks('crm');
    expect(task).toMatchObject({
      operation: 'create',
      objectClass: 'account',
      objectId: made.id,
      objectName: 'ada',
      summary: 'Create the account "ada" in CRM',
      status: 'open',
    });
    const steps = task!.details.steps as string[];
    expect(steps[0]).toBe('Open the administration of CRM: https://crm.example.test/admin');
    expect(steps[1]).toBe('Ask the CRM owner (Kim) if a role is unclear.');
    expect(steps[2]).toBe(
      'Create the account "ada" with: login "ada"; displayName "Ada Lovelace"; roles "sales", "support".',
    );
    expect(steps[3]).toMatch(
      /^Set a temporary password and give it to the person through the usual channel .*they must change it/,
    );
    const stored = await database.pool.query('select * from manual_tasks');
    expect(JSON.stringify(stored.rows)).not.toContain(password);

    expect(await c.get(made), 'not in the ledger until a person confirms it').toBeUndefined();
    await expectError(
      () => c.create('account', { login: 'ADA' }),
      'already_exists',
      'a second create while the first is open',
    );
    await transaction(database, (tx) =>
      completeTask(tx, ctx(), task!.id, 'created, password handed over in person'),
    );
    expect(await c.get(made)).toMatchObject({
      id: made.id,
      name: 'ada',
      enabled: true,
      attributes: { login: 'ada', roles: ['sales', 'support'] },
    });
  });

  it('tasks about an account still being created wait for it; completing out of order is refused', async () => {
    const bob = await c.create('account', { login: 'bob' });
    await c.update(bob, [{ attribute: 'title', op: 'replace', values: ['Clerk'] }]);
    const [create, update] = await openTasks('crm');
    expect(update!.summary).toBe('Change the account "bob" in CRM');
    const early = await transaction(database, (tx) => completeTask(tx, ctx(), update!.id, 'done')).catch(
      (e: unknown) => e,
    );
    expect(isGatehouseError(early, 'task_out_of_order')).toBe(true);
    expect((early as Error).message).toContain(create!.id);
    await settleAll('crm');
    expect((await c.get(bob))?.attributes.title).toBe('Clerk');
  });

  it('cancelling a create cancels the tasks that depend on it; the ledger never gets the account', async () => {
    const cy = await c.create('account', { login: 'cy' });
    await c.disable(cy);
    const [create, disable] = await openTasks('crm');
    const missingNote = await transaction(database, (tx) => cancelTask(tx, ctx(), create!.id, '  ')).catch(
      (e: unknown) => e,
    );
    expect(isGatehouseError(missingNote, 'task_note_required')).toBe(true);
    await transaction(database, (tx) => cancelTask(tx, ctx(), create!.id, 'Cy left before starting'));
    expect((await getTask(database.pool, disable!.id)).status).toBe('cancelled');
    expect(await openTasks('crm')).toEqual([]);
    expect(await c.get(cy)).toBeUndefined();
    await expectError(() => c.enable(cy), 'not_found', 'enable after the create was cancelled');
    const again = await transaction(database, (tx) => completeTask(tx, ctx(), create!.id, 'oops')).catch(
      (e: unknown) => e,
    );
    expect(isGatehouseError(again, 'task_not_open')).toBe(true);
    expect((again as Error).message).toMatch(/already cancelled \(by Pat Person/);
  });

  it('refuses what the application does not keep, and skips work the ledger shows done', async () => {
    const ada = (await c.get({ objectClass: 'account', id: 'x', name: 'ada' }))!;
    await expectError(
      () => c.update(ada, [{ attribute: 'shoeSize', op: 'replace', values: ['42'] }]),
      'schema_violation',
      'an unknown attribute',
    );
    await expectError(
      () => c.update(ada, [{ attribute: 'login', op: 'replace', values: ['ada2'] }]),
      'schema_violation',
      'the naming attribute through update',
    );
    await expectError(() => c.rename(ada, 'bob'), 'already_exists', 'renaming onto another account');
    await expectError(() => c.create('account', { displayName: 'No Login' }), 'schema_violation', 'no login');
    await expectError(() => c.create('printer', { login: 'p' }), 'schema_violation', 'an unknown class');
    await c.enable(ada);
    expect(await openTasks('crm'), 'enabling an enabled account asks nobody for anything').toEqual([]);
  });

  it('completions are audited with the note, in the same transaction', async () => {
    const ada = (await c.get({ objectClass: 'account', id: 'x', name: 'ada' }))!;
    await c.setPassword(ada, new Secret('Another-Secret-1'), { mustChangePassword: true });
    const [task] = await openTasks('crm');
    expect(task!.summary).toBe('Reset the password of "ada" in CRM');
    expect(JSON.stringify(task)).not.toContain('Another-Secret-1');
    await transaction(database, (tx) =>
      completeTask(tx, ctx(), task!.id, 'phoned Ada with a one-time password'),
    );
    const trail = await listAudit(database, { subjectType: 'manual_task', subjectIds: [task!.id] });
    expect(trail.items).toHaveLength(1);
    expect(trail.items[0]).toMatchObject({
      action: 'task.completed',
      actor: { name: 'Pat Person' },
      after: { target: 'crm', operation: 'setPassword', note: 'phoned Ada with a one-time password' },
    });
  });

  it('cannot be opened without the task list and ledger', () => {
    let error: unknown;
    try {
      manualConnector.open(manualConnector.configSchema.parse({}), { log: silentLogger, clock: deps.clock });
    } catch (e) {
      error = e;
    }
    expect(isConnectorError(error, 'invalid_config')).toBe(true);
  });
});
