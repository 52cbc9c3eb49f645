import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { transaction } from '../../src/db/index.ts';
import { createPerson, updatePerson } from '../../src/hr/index.ts';
import { scopesOf } from '../../src/operators/index.ts';
import { createToken } from '../../src/tokens/index.ts';
import { startTestApi, TEST_SECRET_KEY, type TestApi } from '../../src/testing/api.ts';
import { testContext } from '../../src/testing/context.ts';
import { createTestDatabase, type TestDatabase } from '../../src/testing/db.ts';
import { slapdSkipReason, startSlapd, type Slapd } from '../../src/testing/slapd.ts';
import { openTargetForTest } from '../../src/targets/test-support.ts';

/**
 * Policy, entitlements and change sets over HTTP, against a real slapd: every route needs its scope; a YAML policy
 * with mistakes is refused with the line of each; a dry run shows who would gain what; applying records a change
 * set that the job workers apply; a privileged grant waits for approval; a target that is down makes operations
 * fail with the reason, and "retry the failed ones" finishes the job once it is back; undo restores.
 */
let database: TestDatabase;
let api: TestApi;
let app: FastifyInstance;
let slapd: Slapd;
const tokens: Record<string, string> = {};

async function token(name: string, scopes: string[]): Promise<string> {
  return (await transaction(database, (tx) => createToken(tx, testContext(), { name, scopes }))).token;
}

function call(who: string | null, method: string, url: string, body?: unknown) {
  return app.inject({
    method: method as 'GET',
    url: `/api/v1${url}`,
    headers: who ? { authorization: `Bearer ${tokens[who]}` } : {},
    ...(body !== undefined ? { payload: body as object } : {}),
  });
}

/** Wait until the HR event's lifecycle job has planned (the newest change set is an HR one). */
async function waitForHrPlan(): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const items = (await call('admin', 'GET', '/change-sets?limit=1')).json().items as { trigger: string }[];
    if (items[0]?.trigger === 'hr_event') return;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error('no HR change set');
}

async function settle(id: string | number): Promise<Record<string, unknown>> {
  for (let i = 0; i < 300; i++) {
    const r = await call('admin', 'GET', `/change-sets/${id}`);
    const s = r.json() as { status: string };
    if (!['approved', 'applying'].includes(s.status)) return s as Record<string, unknown>;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`change set ${id} did not settle`);
}

const POLICY = (privileged = 'ops') => `
# test policy
settings:
  massChange: { threshold: 0.5, minimum: 5 }
targets:
  corp-ldap:
    account:
      namingAttribute: uid
      attributes:
        uid: person.username
        cn: person.displayName
        sn: person.lastName
        title: person.title
roles:
  - name: Staff
    grants: [{ target: corp-ldap, entitlement: staff }]
  - name: Operators
    grants: [{ target: corp-ldap, entitlement: ${privileged} }]
rules:
  - name: Everyone
    when: person.workerType == "employee"
    roles: [Staff]
  - name: Operations
    when: person.department == "Operations"
    roles: [Operators]
`;

const person = (employeeId: string, firstName: string, department: string) => ({
  employee_id: employeeId,
  first_name: firstName,
  last_name: 'Tester',
  department,
  title: 'Analyst',
  worker_type: 'employee',
  hire_date: '2020-01-01',
});

describe.skipIf(slapdSkipReason())('provisioning API', () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    slapd = await startSlapd();
    api = await startTestApi(database);
    app = api.app;
    tokens.admin = await token('admin', ['admin']);
    tokens.approver = await token('approver', ['changes:read', 'changes:approve']);
    tokens.agent = await token('agent', scopesOf('agent'));
    tokens.auditor = await token('auditor', scopesOf('auditor'));
    tokens.other = await token('other', ['people:read']);
    const added = await call('admin', 'POST', '/targets', {
      name: 'corp-ldap',
      connector: 'ldap',
      config: slapd.connectorConfig(),
    });
    expect(added.statusCode).toBe(201);
    const c = await openTargetForTest(database, 'corp-ldap', Buffer.from(TEST_SECRET_KEY, 'base64'));
    try {
      await c.create('group', { cn: 'staff' });
      await c.create('group', { cn: 'ops' });
    } finally {
      await c.close();
    }
    for (const [id, name, dept] of [
      ['P1', 'Ann', 'Sales'],
      ['P2', 'Ben', 'Sales'],
      ['P3', 'Cat', 'Operations'],
    ] as const)
      await createPerson({ database, jobs: api.jobs }, testContext(), 'api', person(id, name, dept));
    // Their joiner events are handled (with no policy yet, nothing to provision) before the tests set a policy.
    for (let i = 0; i < 300; i++) {
      const r = await database.pool.query(`select 1 from lifecycle_events where state <> 'done'`);
      if (!r.rowCount) break;
      await new Promise((res) => setTimeout(res, 200));
    }
  }, 120_000);
  afterAll(async () => {
    await api?.close();
    await slapd?.stop();
    await database?.drop();
  });

  it('every route needs its scope', async () => {
    const routes: [string, string, string][] = [
      ['GET', '/policy', 'policy:read'],
      ['POST', '/policy', 'policy:write'],
      ['GET', '/entitlements', 'policy:read'],
      ['POST', '/targets/corp-ldap/entitlements/discover', 'policy:write'],
      ['PATCH', '/targets/corp-ldap/entitlements/ops', 'policy:write'],
      ['GET', '/change-sets', 'changes:read'],
      ['POST', '/change-sets', 'changes:write'],
      ['POST', '/change-sets/1/approve', 'changes:approve'],
      ['POST', '/change-sets/1/undo', 'changes:write'],
      ['GET', '/provisioning/latency', 'changes:read'],
      ['POST', '/assignments', 'policy:write'],
    ];
    for (const [method, url, scope] of routes) {
      const r = await call('other', method, url, method === 'GET' ? undefined : {});
      expect(r.statusCode, `${method} ${url}`).toBe(403);
      expect(r.json().detail).toContain(scope);
      expect((await call(null, method, url, method === 'GET' ? undefined : {})).statusCode).toBe(401);
    }
    expect((await call('other', 'GET', '/change-sets/summary')).statusCode).toBe(403);
    expect((await call('other', 'POST', '/policy/check', { yaml: 'x: 1' })).statusCode).toBe(403);
    // An agent reads policy and change sets but cannot change the policy or approve.
    expect((await call('agent', 'GET', '/policy')).statusCode).toBe(200);
    expect((await call('agent', 'POST', '/policy', { yaml: 'x: 1', dryRun: true })).statusCode).toBe(403);
    // …but may check a draft's impact.
    const check = await call('agent', 'POST', '/policy/check', { yaml: 'roles: []\n' });
    expect(check.statusCode).toBe(200);
    expect(check.json()).toMatchObject({ dryRun: true, version: null, impact: { people: 3, gainCount: 0 } });
    expect((await call('agent', 'POST', '/change-sets/1/approve', {})).statusCode).toBe(403);
    expect((await call('auditor', 'POST', '/change-sets', { personIds: [] })).statusCode).toBe(403);
  });

  it('discovers the groups, and marks one privileged with an owner and a cost', async () => {
    const d = await call('admin', 'POST', '/targets/corp-ldap/entitlements/discover');
    expect(d.json()).toEqual({ added: 2, updated: 0, missing: 0, total: 2 });
    const p = await call('admin', 'PATCH', '/targets/corp-ldap/entitlements/ops', {
      privileged: true,
      owner: 'it-security',
      monthlyCost: 12.5,
    });
    expect(p.json()).toMatchObject({ key: 'ops', privileged: true, owner: 'it-security', monthlyCost: 12.5 });
    const bad = await call('admin', 'PATCH', '/targets/corp-ldap/entitlements/nope', { privileged: true });
    expect(bad.statusCode).toBe(404);
    expect(bad.json().code).toBe('entitlement_not_found');
  });

  it('refuses a policy with mistakes, naming the file, line and path of each', async () => {
    const yaml = POLICY('no-such-group')
      .replace('person.lastName', 'person.lastname')
      .replace('roles: [Staff]', 'roles: [Staf]');
    const r = await call('admin', 'POST', '/policy', { yaml, file: 'policy.yaml', dryRun: true });
    expect(r.statusCode).toBe(422);
    const errors = (r.json() as { errors: { field: string; message: string }[] }).errors;
    expect(errors).toEqual(
      expect.arrayContaining([
        {
          field: 'policy.yaml:12:13: targets.corp-ldap.account.attributes.sn',
          message: expect.stringContaining('person.lastname does not exist'),
        },
        {
          field: expect.stringMatching(/^policy\.yaml:18:\d+: roles\[1\]\.grants\[0\]\.entitlement$/),
          message:
            'target "corp-ldap" has no entitlement "no-such-group" in its catalog (discover or declare it first)',
        },
        {
          field: expect.stringMatching(/^policy\.yaml:22:\d+: rules\[0\]\.roles\[0\]$/),
          message: 'no role named "Staf"',
        },
      ]),
    );
    const syntax = await call('admin', 'POST', '/policy', {
      yaml: 'roles:\n  - name: [x\n',
      file: 'p.yaml',
      dryRun: true,
    });
    expect(syntax.statusCode).toBe(422);
    expect(syntax.json().errors[0].field).toMatch(/^p\.yaml:\d+:\d+$/);
    // Nothing was stored.
    expect((await call('admin', 'GET', '/policy')).json().version).toBe(0);
  });

  it('a dry run shows who would gain what, and applying records a change set that waits for the privileged grant', async () => {
    const dry = await call('admin', 'POST', '/policy', { yaml: POLICY(), file: 'policy.yaml', dryRun: true });
    expect(dry.statusCode).toBe(200);
    const d = dry.json();
    expect(d).toMatchObject({ dryRun: true, version: null, changeSet: null });
    expect(d.impact).toMatchObject({ people: 3, affected: 3, gainCount: 7, lossCount: 0 });
    expect(d.impact.byItem).toEqual(
      expect.arrayContaining([
        { target: 'corp-ldap', item: '(account)', gain: 3, lose: 0 },
        { target: 'corp-ldap', item: 'staff', gain: 3, lose: 0 },
        { target: 'corp-ldap', item: 'ops', gain: 1, lose: 0 },
      ]),
    );
    expect(d.impact.gains).toContainEqual(
      expect.objectContaining({
        person: 'Cat Tester',
        item: 'ops',
        because: 'rule "Operations" → Operators',
      }),
    );
    expect((await call('admin', 'GET', '/change-sets')).json().items).toEqual([]);

    const applied = (
      await call('admin', 'POST', '/policy', { yaml: POLICY(), comment: 'first policy' })
    ).json();
    expect(applied.version).toBe(1);
    expect(applied.changeSet).toMatchObject({ status: 'awaiting_approval', opCount: 7 });
    const set = (await call('admin', 'GET', `/change-sets/${applied.changeSet.seq}`)).json();
    expect(set.approvalReasons).toEqual([
      expect.objectContaining({
        kind: 'privileged',
        message: 'Cat Tester would get the privileged entitlement ops on corp-ldap',
      }),
    ]);
    expect(set.ops.map((o: { personName: string; kind: string }) => `${o.personName}: ${o.kind}`)).toEqual([
      'Ann Tester: create_account',
      'Ann Tester: add_member',
      'Ben Tester: create_account',
      'Ben Tester: add_member',
      'Cat Tester: create_account',
      'Cat Tester: add_member',
      'Cat Tester: add_member',
    ]);
    const exported = (await call('auditor', 'GET', '/policy')).json();
    expect(exported.yaml).toContain('naming:');
    expect(exported.yaml).toContain('person.department == "Operations"');

    // Rejecting needs a reason; approving applies it.
    const noReason = await call('admin', 'POST', `/change-sets/${set.id}/reject`, { note: ' ' });
    expect(noReason.statusCode).toBe(400);
    // Whoever asked for it (here the admin token that applied the policy) cannot approve it.
    const own = await call('admin', 'POST', `/change-sets/${set.id}/approve`, { note: 'mine' });
    expect(own.statusCode).toBe(403);
    expect(own.json().code).toBe('changeset_self_approval');
    const ok = await call('approver', 'POST', `/change-sets/${set.id}/approve`, { note: 'policy reviewed' });
    expect(ok.json().status).toBe('approved');
    const again = await call('admin', 'POST', `/change-sets/${set.id}/approve`, { note: '' });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('changeset_wrong_state');
    const done = await settle(set.id);
    expect(done.status).toBe('applied');
    const counts = (await call('agent', 'GET', '/change-sets/summary')).json().counts;
    expect(counts).toMatchObject({ applied: 1, awaiting_approval: 0 });
    const ops = (await call('agent', 'GET', `/change-sets/${set.id}`)).json().ops as {
      kind: string;
      privileged: boolean;
      payload: { key?: string };
    }[];
    expect(ops.filter((o) => o.privileged).map((o) => o.payload.key)).toEqual(['ops']);
  });

  it('shows a person’s access and why; an explicit assignment gives more and can be revoked', async () => {
    const cat = (await database.pool.query(`select id from people where employee_id = 'P3'`)).rows[0]
      .id as string;
    const access = (await call('agent', 'GET', `/people/${cat}/access`)).json();
    expect(access.roles.map((r: { role: string }) => r.role).sort()).toEqual(['Operators', 'Staff']);
    expect(access.targets[0]).toMatchObject({
      target: 'corp-ldap',
      account: { name: expect.stringMatching(/^uid=cat\.tester,/), state: 'active', enabled: true },
    });
    expect(access.targets[0].entitlements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          key: 'ops',
          held: true,
          desired: true,
          privileged: true,
          because: [{ kind: 'rule', rule: 'Operations', role: 'Operators' }],
        }),
      ]),
    );
    const ann = (await database.pool.query(`select id from people where employee_id = 'P1'`)).rows[0]
      .id as string;
    // Recomputing or previewing someone who does not exist says who, instead of "nothing to change".
    const ghost = '00000000-0000-4000-8000-000000000001';
    for (const url of ['/change-sets', '/change-sets/preview']) {
      const r = await call('admin', 'POST', url, { personIds: [ann, ghost] });
      expect(r.statusCode, url).toBe(404);
      expect(r.json()).toMatchObject({ code: 'person_not_found', detail: `no person with id ${ghost}` });
    }
    const bad = await call('admin', 'POST', '/assignments', { personId: ann, role: 'Nope', reason: '' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors.map((e: { field: string }) => e.field)).toEqual(['role', 'reason']);
    const a = await call('admin', 'POST', '/assignments', {
      personId: ann,
      role: 'Operators',
      reason: 'on call in December',
      validUntil: '2099-01-01T00:00:00Z',
    });
    expect(a.statusCode).toBe(201);
    expect(a.json().changeSet).toMatchObject({ status: 'awaiting_approval', opCount: 1 });
    const withRole = (await call('agent', 'GET', `/people/${ann}/access`)).json();
    expect(withRole.roles).toContainEqual({
      role: 'Operators',
      because: [
        expect.objectContaining({
          kind: 'assignment',
          assignment: a.json().id,
          validUntil: '2099-01-01T00:00:00.000Z',
        }),
      ],
    });
    const revoked = await call('admin', 'DELETE', `/assignments/${a.json().id}`);
    expect(revoked.statusCode).toBe(200);
    const after = (await call('agent', 'GET', `/people/${ann}/access`)).json();
    expect(after.roles.map((r: { role: string }) => r.role)).toEqual(['Staff']);
    expect((await call('admin', 'DELETE', `/assignments/${a.json().id}`)).json().code).toBe(
      'assignment_not_found',
    );
  });

  it('operations fail with the reason while the target is down; retry finishes them; undo restores', async () => {
    const ben = (await database.pool.query(`select id from people where employee_id = 'P2'`)).rows[0]
      .id as string;
    // HR changes Ben's title while the directory cannot be reached (a wrong port, as after a botched move).
    await call('admin', 'PATCH', '/targets/corp-ldap', { config: { url: 'ldap://127.0.0.1:1' } });
    await updatePerson({ database, jobs: api.jobs }, testContext(), ben, { title: 'Lead' });
    await waitForHrPlan();
    const r = {
      changeSet: (await call('agent', 'GET', `/change-sets?person=${ben}&limit=1`)).json().items[0],
    };
    expect(r.changeSet).toMatchObject({ trigger: 'hr_event', opCount: 1 });
    const failed = (await settle(r.changeSet.id)) as {
      status: string;
      ops: { status: string; attempts: number; error: { code: string; message: string } }[];
    };
    expect(failed.status).toBe('failed');
    expect(failed.ops[0]).toMatchObject({ status: 'failed', attempts: 4, error: { code: 'unreachable' } });
    expect(failed.ops[0]!.error.message).toContain('127.0.0.1:1');
    await call('admin', 'PATCH', '/targets/corp-ldap', { config: { url: slapd.url } });
    expect((await call('agent', 'POST', `/change-sets/${r.changeSet.id}/retry`)).json().status).toBe(
      'approved',
    );
    const fixed = (await settle(r.changeSet.id)) as { status: string; ops: { before: unknown }[] };
    expect(fixed.status).toBe('applied');
    expect(fixed.ops[0]!.before).toEqual({ attributes: { title: ['Analyst'] } });

    const undo = (await call('agent', 'POST', `/change-sets/${r.changeSet.id}/undo`, {})).json();
    expect(undo.changeSet).toMatchObject({ status: 'approved', opCount: 1 });
    expect((await settle(undo.changeSet.id)).status).toBe('applied');
    const c = slapd.client('root');
    try {
      const [e] = await c.searchAll(slapd.usersDn, { filter: '(uid=ben.tester)', attributes: ['title'] });
      expect(e!.attributes.title).toEqual(['Analyst']);
    } finally {
      await c.close();
    }
    // The HR-triggered operation counts towards the HR-event-to-target latency.
    const latency = (await call('auditor', 'GET', '/provisioning/latency')).json();
    expect(
      latency.items.map((i: { target: string | null; operations: number }) => [i.target, i.operations]),
    ).toEqual([
      [null, 1],
      ['corp-ldap', 1],
    ]);
  });

  it('a policy that refers to a removed target does not hold up HR, and says what is wrong', async () => {
    expect((await call('admin', 'DELETE', '/targets/corp-ldap')).statusCode).toBe(204);
    const ann = (await database.pool.query(`select id from people where employee_id = 'P1'`)).rows[0]
      .id as string;
    await updatePerson({ database, jobs: api.jobs }, testContext(), ann, { title: 'Senior Analyst' });
    for (let i = 0; i < 300; i++) {
      const r = await database.pool.query(
        `select 1 from lifecycle_events where person_id = $1 and state = 'pending'`,
        [ann],
      );
      if (!r.rowCount) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    const audit = await database.pool.query(
      `select reason from audit_events where action = 'changeset.not_planned' order by seq desc limit 1`,
    );
    expect(audit.rows[0]?.reason).toMatch(
      /^the policy in force \(version 1\) no longer fits the targets and catalog: /,
    );
    expect(audit.rows[0]?.reason).toContain('no target named "corp-ldap"');
    const r = await call('agent', 'POST', '/change-sets', { personIds: [ann] });
    expect(r.statusCode).toBe(409);
    expect(r.json().code).toBe('policy_stale');
  });
});
