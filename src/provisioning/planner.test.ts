/**
 * The planner as a pure function: joiners, movers, leavers and rehires are one "recompute and diff". Inputs are
 * built by hand (a compiled policy over a small catalog, people, known accounts); a tiny simulator applies the
 * planned operations the way the apply job records them, so multi-step lifecycles can be followed and every plan
 * can be checked to converge (planning again after applying gives nothing to do).
 */
import { describe, expect, it } from 'vitest';
import type { AttributeValue } from '../connectors/kit/types.ts';
import {
  catalogKey,
  compilePolicy,
  type CatalogEntitlement,
  type CompiledPolicy,
  type PolicyCatalog,
} from '../policy/compile.ts';
import { policyDocumentSchema, type PolicyDocumentInput } from '../policy/document.ts';
import { PERSON_FIELDS, type ManagerFacts, type PersonFacts } from '../policy/expressions.ts';
import {
  ACCOUNT_REF,
  planPeople,
  rolesOf,
  sameValue,
  STAGE,
  type KnownAccount,
  type OpKind,
  type PersonPlan,
  type PlanAssignment,
  type PlannedOp,
  type PlanPerson,
  type PlanProblem,
} from './planner.ts';

// ---------------------------------------------------------------------------------------------------------------
// Catalog and policy

const TARGET_IDS: Record<string, string> = { 'corp-ldap': 't-ldap', 'corp-ad': 't-ad', app: 't-app' };

function ent(target: string, key: string): CatalogEntitlement {
  return {
    id: `e:${target}:${key}`,
    targetId: TARGET_IDS[target]!,
    targetName: target,
    key,
    kind: 'group',
    objectId: `oid:${target}:${key}`,
    objectName: `cn=${key}`,
    displayName: `${key} (${target})`,
    privileged: false,
  };
}

const ENTITLEMENTS = [
  ent('corp-ldap', 'staff'),
  ent('corp-ldap', 'developers'),
  ent('corp-ad', 'sales'),
  ent('corp-ad', 'eng'),
  ent('corp-ad', 'payments-create'),
  ent('corp-ad', 'payments-approve'),
  ent('app', 'users'),
];
const E = (target: string, key: string): string => `e:${target}:${key}`;

const CATALOG: PolicyCatalog = {
  targets: new Map(Object.entries(TARGET_IDS).map(([name, id]) => [name, { id, connector: 'ldap' }])),
  entitlements: new Map(ENTITLEMENTS.map((e) => [catalogKey(e.targetName, e.key), e])),
};

type Targets = NonNullable<PolicyDocumentInput['targets']>;

const LDAP = {
  account: {
    namingAttribute: 'uid',
    attributes: {
      uid: 'person.username',
      cn: 'person.displayName',
      title: 'person.title',
      manager: 'manager.account',
    },
  },
  password: { initial: 'generate' as const, mustChange: true },
  provision: { prehire: 'disabled' as const },
  deprovision: { action: 'delete' as const, quarantineDays: 30 },
};
const AD = {
  account: { attributes: { sAMAccountName: 'person.username', department: 'person.department' } },
  deprovision: { action: 'disable' as const, quarantineDays: 30 },
};
const APP = { account: { attributes: { login: 'person.workEmail' } } };

const BASE: PolicyDocumentInput = {
  // Declared out of alphabetical order on purpose: the planner sorts targets itself.
  targets: { 'corp-ldap': LDAP, 'corp-ad': AD, app: APP },
  roles: [
    { name: 'Staff', accounts: ['corp-ldap'], grants: [{ target: 'corp-ldap', entitlement: 'staff' }] },
    { name: 'Sales', grants: [{ target: 'corp-ad', entitlement: 'sales' }] },
    {
      name: 'Engineering',
      grants: [
        { target: 'corp-ad', entitlement: 'eng' },
        { target: 'corp-ldap', entitlement: 'developers' },
      ],
    },
    { name: 'Payment clerk', grants: [{ target: 'corp-ad', entitlement: 'payments-create' }] },
    { name: 'Payment approver', grants: [{ target: 'corp-ad', entitlement: 'payments-approve' }] },
    { name: 'App user', accounts: ['app'], grants: [{ target: 'app', entitlement: 'users' }] },
  ],
  rules: [
    { name: 'Employees', when: 'person.workerType == "employee"', roles: ['Staff'] },
    { name: 'Sales department', when: 'person.department == "Sales"', roles: ['Sales'] },
    { name: 'Engineering department', when: 'person.department == "Engineering"', roles: ['Engineering'] },
    { name: 'Finance clerks', when: 'person.department == "Finance"', roles: ['Payment clerk'] },
    { name: 'Controllers', when: 'person.title == "Controller"', roles: ['Payment approver'] },
  ],
};

function compile(doc: PolicyDocumentInput): CompiledPolicy {
  const r = compilePolicy(policyDocumentSchema.parse(doc), CATALOG);
  if (!r.policy) throw new Error(`test policy does not compile: ${JSON.stringify(r.problems)}`);
  return r.policy;
}

/** The base policy with some targets' settings replaced and extra document parts. */
function policyWith(
  targets: Partial<Record<keyof typeof BASE_TARGETS, object>> = {},
  extra: Partial<PolicyDocumentInput> = {},
): CompiledPolicy {
  return compile({ ...BASE, ...extra, targets: { ...BASE_TARGETS, ...targets } as Targets });
}
const BASE_TARGETS = { 'corp-ldap': LDAP, 'corp-ad': AD, app: APP };

const POLICY = compile(BASE);

// ---------------------------------------------------------------------------------------------------------------
// People, accounts, plans

const NOW = new Date('2025-03-10T12:00:00Z');
const DAY = 86_400_000;
const days = (n: number): Date => new Date(NOW.getTime() + n * DAY);

function person(
  id: string,
  overrides: Partial<PersonFacts> = {},
  managerId: string | null = null,
): PlanPerson {
  const base = Object.fromEntries(PERSON_FIELDS.map((f) => [f, null])) as unknown as PersonFacts;
  const facts: PersonFacts = {
    ...base,
    id,
    employeeId: id.toUpperCase(),
    firstName: 'Ann',
    lastName: 'Lee',
    displayName: `Ann Lee (${id})`,
    username: id,
    workEmail: `${id}@corp.example`,
    department: 'Sales',
    title: 'Rep',
    workerType: 'employee',
    status: 'active',
    attributes: {},
    ...overrides,
  };
  return { id, facts, managerId };
}

function account(personId: string, targetName: string, overrides: Partial<KnownAccount> = {}): KnownAccount {
  return {
    id: `a:${personId}:${targetName}`,
    targetId: TARGET_IDS[targetName]!,
    targetName,
    personId,
    objectId: `obj:${personId}:${targetName}`,
    name: personId,
    attributes: {},
    enabled: true,
    memberships: [],
    state: 'active',
    quarantineUntil: null,
    ...overrides,
  };
}

interface ManagerInput {
  facts?: Partial<Omit<ManagerFacts, 'account'>>;
  accounts?: Record<string, string>;
}

interface World {
  policy?: CompiledPolicy;
  now?: Date;
  people: PlanPerson[];
  accounts?: KnownAccount[];
  assignments?: Record<string, PlanAssignment[]>;
  managers?: Record<string, ManagerInput>;
}

function plan(w: World): PersonPlan[] {
  const accounts = new Map<string, KnownAccount[]>();
  for (const a of w.accounts ?? []) accounts.set(a.personId!, [...(accounts.get(a.personId!) ?? []), a]);
  const managers = new Map(
    Object.entries(w.managers ?? {}).map(([id, m]) => [
      id,
      {
        facts: {
          employeeId: id.toUpperCase(),
          displayName: `Manager ${id}`,
          username: id,
          workEmail: `${id}@corp.example`,
          ...m.facts,
        },
        accounts: new Map(Object.entries(m.accounts ?? {})),
      },
    ]),
  );
  return planPeople({
    policy: w.policy ?? POLICY,
    now: w.now ?? NOW,
    people: w.people,
    accounts,
    assignments: new Map(Object.entries(w.assignments ?? {})),
    managers,
  });
}

function planOne(w: Omit<World, 'people'> & { person: PlanPerson }): PersonPlan {
  const plans = plan({ ...w, people: [w.person] });
  expect(plans).toHaveLength(1);
  return plans[0]!;
}

/** One readable line per operation. */
function line(op: PlannedOp): string {
  const p = op.payload;
  const head = `${op.targetName} ${p.kind}`;
  switch (p.kind) {
    case 'create_account':
      return `${head} ${p.enabled ? 'enabled' : 'disabled'}`;
    case 'add_member':
    case 'remove_member':
      return `${head} ${p.key}`;
    case 'rename_account':
      return `${head} ${p.attribute}: ${p.from} -> ${p.to}`;
    case 'update_account':
      return `${head} ${p.changes.map((c) => `${c.attribute}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`).join(', ')}`;
    case 'disable_account':
      return `${head} quarantine=${p.quarantineDays}`;
    default:
      return head;
  }
}
const lines = (ops: PlannedOp[]): string[] => ops.map(line);

/**
 * Apply planned operations to the known accounts the way the apply job records them (a new account is active when
 * created enabled, disabled otherwise; a disable with quarantine days starts a quarantine; a delete removes it).
 */
function applyOps(accounts: KnownAccount[], ops: PlannedOp[], now: Date = NOW): KnownAccount[] {
  const out = accounts.map((a) => ({
    ...a,
    attributes: { ...a.attributes },
    memberships: [...a.memberships],
  }));
  const find = (op: PlannedOp): KnownAccount => {
    const a = out.find((x) => x.personId === op.personId && x.targetName === op.targetName);
    if (!a) throw new Error(`no account for ${line(op)}`);
    return a;
  };
  for (const op of ops) {
    const p = op.payload;
    switch (p.kind) {
      case 'create_account': {
        expect(out.some((x) => x.personId === op.personId && x.targetName === op.targetName)).toBe(false);
        out.push(
          account(op.personId!, op.targetName, {
            name: String(Object.values(p.attributes)[0] ?? op.personId),
            attributes: { ...p.attributes },
            enabled: p.enabled,
            state: p.enabled ? 'active' : 'disabled',
          }),
        );
        break;
      }
      case 'rename_account': {
        const a = find(op);
        a.name = p.to;
        a.attributes[p.attribute] = p.to;
        break;
      }
      case 'update_account': {
        const a = find(op);
        for (const c of p.changes) a.attributes[c.attribute] = c.to;
        break;
      }
      case 'enable_account': {
        const a = find(op);
        Object.assign(a, { enabled: true, state: 'active', quarantineUntil: null });
        break;
      }
      case 'disable_account': {
        const a = find(op);
        const until = p.quarantineDays === null ? null : new Date(now.getTime() + p.quarantineDays * DAY);
        Object.assign(a, {
          enabled: false,
          state: until ? 'quarantined' : 'disabled',
          quarantineUntil: until,
        });
        break;
      }
      case 'add_member': {
        const a = find(op);
        expect(a.memberships).not.toContain(p.entitlementId);
        a.memberships.push(p.entitlementId);
        break;
      }
      case 'remove_member': {
        const a = find(op);
        expect(a.memberships).toContain(p.entitlementId);
        a.memberships = a.memberships.filter((m) => m !== p.entitlementId);
        break;
      }
      case 'delete_account':
        out.splice(out.indexOf(find(op)), 1);
        break;
    }
  }
  return out;
}

/** Plan, apply, and check that planning again (same moment) has nothing left to do. */
function converge(w: World): { plans: PersonPlan[]; accounts: KnownAccount[] } {
  const plans = plan(w);
  const accounts = applyOps(
    w.accounts ?? [],
    plans.flatMap((p) => p.ops),
    w.now,
  );
  const again = plan({ ...w, accounts });
  expect(again.flatMap((p) => lines(p.ops))).toEqual([]);
  return { plans, accounts };
}

const membershipsOf = (accounts: KnownAccount[], personId: string, target: string): string[] =>
  [...(accounts.find((a) => a.personId === personId && a.targetName === target)?.memberships ?? [])].sort();

/** Accounts of a person exactly as the base policy would create them (in sync: nothing to do). */
function inSync(p: PlanPerson, w: Omit<World, 'people'> = {}): KnownAccount[] {
  const created = plan({ ...w, people: [p] })[0]!;
  return applyOps([], created.ops, w.now);
}

// ---------------------------------------------------------------------------------------------------------------

describe('helpers', () => {
  it('sameValue compares attribute values as lists of strings', () => {
    expect(sameValue(5, '5')).toBe(true);
    expect(sameValue('x', ['x'])).toBe(true);
    expect(sameValue(null, [])).toBe(true);
    expect(sameValue(undefined, null)).toBe(true);
    expect(sameValue(true, 'true')).toBe(true);
    expect(sameValue(['a', 'b'], ['a', 'b'])).toBe(true);
    expect(sameValue(['a', 'b'], ['b', 'a'])).toBe(false);
    expect(sameValue('x', 'y')).toBe(false);
    expect(sameValue('x', null)).toBe(false);
    expect(sameValue(['x'], ['x', 'x'])).toBe(false);
  });

  it('STAGE orders create, rename, update, enable, add, disable, remove, delete', () => {
    const order = Object.entries(STAGE)
      .sort(([, a], [, b]) => a - b)
      .map(([k]) => k);
    expect(order).toEqual([
      'create_account',
      'rename_account',
      'update_account',
      'enable_account',
      'add_member',
      'disable_account',
      'remove_member',
      'delete_account',
    ]);
  });
});

describe('joiner', () => {
  it('creates each account first, then adds its memberships, target by target', () => {
    const p = planOne({ person: person('ann') });
    expect(lines(p.ops)).toEqual([
      'corp-ad create_account enabled',
      'corp-ad add_member sales',
      'corp-ldap create_account enabled',
      'corp-ldap add_member staff',
    ]);
    expect(p.problems).toEqual([]);
    expect(p.sod).toEqual([]);
    for (const op of p.ops) {
      expect(op.personId).toBe('ann');
      expect(op.accountId).toBeNull();
      expect(op.targetId).toBe(TARGET_IDS[op.targetName]);
    }
  });

  it('creates with the mapped attributes (nulls left out) and the target password settings', () => {
    const p = planOne({ person: person('ann') });
    const ldap = p.ops.find((o) => o.targetName === 'corp-ldap' && o.payload.kind === 'create_account')!;
    expect(ldap.payload).toEqual({
      kind: 'create_account',
      // No manager: manager.account is null and left out.
      attributes: { uid: 'ann', cn: 'Ann Lee (ann)', title: 'Rep' },
      enabled: true,
      password: 'generate',
      mustChange: true,
    });
    const ad = p.ops.find((o) => o.targetName === 'corp-ad' && o.payload.kind === 'create_account')!;
    expect(ad.payload).toEqual({
      kind: 'create_account',
      attributes: { sAMAccountName: 'ann', department: 'Sales' },
      enabled: true,
      password: 'none',
      mustChange: true,
    });
    const add = p.ops.find((o) => o.payload.kind === 'add_member' && o.targetName === 'corp-ad')!;
    expect(add.payload).toEqual({
      kind: 'add_member',
      entitlementId: E('corp-ad', 'sales'),
      key: 'sales',
      groupId: 'oid:corp-ad:sales',
      groupName: 'cn=sales',
    });
    expect(add.summary).toBe('add to sales (corp-ad)');
  });

  it('describes the desired state per target with the grants', () => {
    const p = planOne({ person: person('ann') });
    expect(p.desired.map((d) => [d.targetName, d.account, d.enabled])).toEqual([
      ['corp-ad', 'present', true],
      ['corp-ldap', 'present', true],
    ]);
    const ldap = p.desired.find((d) => d.targetName === 'corp-ldap')!;
    expect(ldap.attributes).toEqual({ uid: 'ann', cn: 'Ann Lee (ann)', title: 'Rep', manager: null });
    expect(ldap.grants.map((g) => g.entitlement.key)).toEqual(['staff']);
  });

  it('leaves out attributes that map to an empty string', () => {
    const p = planOne({ person: person('ann', { title: '' }) });
    const create = p.ops.find((o) => o.targetName === 'corp-ldap' && o.payload.kind === 'create_account')!;
    expect(create.payload.kind === 'create_account' && create.payload.attributes).toEqual({
      uid: 'ann',
      cn: 'Ann Lee (ann)',
    });
  });

  it('gets only what the rules give: a Sales contractor has no Staff account', () => {
    const p = planOne({ person: person('cora', { workerType: 'contractor' }) });
    expect(lines(p.ops)).toEqual(['corp-ad create_account enabled', 'corp-ad add_member sales']);
  });

  it('merges grants of several roles on one target (one account)', () => {
    const p = planOne({ person: person('eli', { department: 'Engineering' }) });
    expect(lines(p.ops)).toEqual([
      'corp-ad create_account enabled',
      'corp-ad add_member eng',
      'corp-ldap create_account enabled',
      'corp-ldap add_member staff',
      'corp-ldap add_member developers',
    ]);
  });

  it('creates prehire accounts disabled with provision.prehire "disabled" (memberships prepared)', () => {
    const p = planOne({ person: person('pia', { status: 'prehire' }) });
    expect(lines(p.ops)).toEqual([
      'corp-ad create_account disabled',
      'corp-ad add_member sales',
      'corp-ldap create_account disabled',
      'corp-ldap add_member staff',
    ]);
    expect(p.ops[0]!.summary).toBe('create account on corp-ad (disabled until the start day)');
    expect(p.desired.every((d) => d.account === 'present' && !d.enabled)).toBe(true);
  });

  it('creates prehire accounts enabled with provision.prehire "enabled"', () => {
    const policy = policyWith({ 'corp-ldap': { ...LDAP, provision: { prehire: 'enabled' } } });
    const p = planOne({ policy, person: person('pia', { status: 'prehire' }) });
    expect(lines(p.ops)).toEqual([
      'corp-ad create_account disabled',
      'corp-ad add_member sales',
      'corp-ldap create_account enabled',
      'corp-ldap add_member staff',
    ]);
  });

  it('creates no account for a prehire with provision.prehire "none"', () => {
    const policy = policyWith({ 'corp-ad': { ...AD, provision: { prehire: 'none' } } });
    const p = planOne({ policy, person: person('pia', { status: 'prehire' }) });
    expect(lines(p.ops)).toEqual(['corp-ldap create_account disabled', 'corp-ldap add_member staff']);
    expect(p.desired.find((d) => d.targetName === 'corp-ad')!.account).toBe('absent');
  });

  it('enables the prehire account on the start day, and nothing else', () => {
    const accounts = inSync(person('pia', { status: 'prehire' }));
    expect(accounts.every((a) => !a.enabled && a.state === 'disabled')).toBe(true);
    const p = planOne({ person: person('pia', { status: 'active' }), accounts });
    expect(lines(p.ops)).toEqual(['corp-ad enable_account', 'corp-ldap enable_account']);
    expect(p.ops[0]!.summary).toBe('enable account');
    expect(p.ops[0]!.accountId).toBe('a:pia:corp-ad');
  });

  it('disables an enabled account again when the start day moves into the future', () => {
    const accounts = inSync(person('pia'));
    const p = planOne({ person: person('pia', { status: 'prehire' }), accounts });
    expect(lines(p.ops)).toEqual([
      'corp-ad disable_account quarantine=null',
      'corp-ldap disable_account quarantine=null',
    ]);
    expect(p.ops[0]!.summary).toBe('disable account (not started yet)');
  });

  it('keeps accounts enabled while on leave', () => {
    const accounts = inSync(person('ann'));
    expect(planOne({ person: person('ann', { status: 'on_leave' }), accounts }).ops).toEqual([]);
  });

  it('gives nothing to a terminated person or a person without status', () => {
    expect(planOne({ person: person('tom', { status: 'terminated' }) }).ops).toEqual([]);
    expect(planOne({ person: person('tom', { status: null }) }).ops).toEqual([]);
  });

  it('converges: after applying, planning again has nothing to do', () => {
    const { accounts } = converge({ people: [person('ann'), person('eli', { department: 'Engineering' })] });
    expect(membershipsOf(accounts, 'eli', 'corp-ldap')).toEqual([
      E('corp-ldap', 'developers'),
      E('corp-ldap', 'staff'),
    ]);
  });
});

describe('mover', () => {
  it('gains the new group and loses the old one (no privilege creep)', () => {
    const accounts = inSync(person('ann'));
    const p = planOne({ person: person('ann', { department: 'Engineering' }), accounts });
    expect(lines(p.ops)).toEqual([
      'corp-ad update_account department: "Sales" -> "Engineering"',
      'corp-ad add_member eng',
      'corp-ad remove_member sales',
      'corp-ldap add_member developers',
    ]);
    const after = applyOps(accounts, p.ops);
    expect(membershipsOf(after, 'ann', 'corp-ad')).toEqual([E('corp-ad', 'eng')]);
    expect(membershipsOf(after, 'ann', 'corp-ldap')).toEqual([
      E('corp-ldap', 'developers'),
      E('corp-ldap', 'staff'),
    ]);
    expect(plan({ people: [person('ann', { department: 'Engineering' })], accounts: after })[0]!.ops).toEqual(
      [],
    );
  });

  it('moving back removes what the earlier move added', () => {
    const eng = inSync(person('ann', { department: 'Engineering' }));
    const p = planOne({ person: person('ann', { department: 'Sales' }), accounts: eng });
    expect(lines(p.ops)).toEqual([
      'corp-ad update_account department: "Engineering" -> "Sales"',
      'corp-ad add_member sales',
      'corp-ad remove_member eng',
      'corp-ldap remove_member developers',
    ]);
  });

  it('updates changed attributes with from and to', () => {
    const accounts = inSync(person('ann'));
    const p = planOne({ person: person('ann', { title: 'Lead', displayName: 'Ann Lee-Smith' }), accounts });
    expect(p.ops).toHaveLength(1);
    expect(p.ops[0]!.accountId).toBe('a:ann:corp-ldap');
    expect(p.ops[0]!.payload).toEqual({
      kind: 'update_account',
      changes: [
        { attribute: 'cn', from: 'Ann Lee (ann)', to: 'Ann Lee-Smith' },
        { attribute: 'title', from: 'Rep', to: 'Lead' },
      ],
    });
    expect(p.ops[0]!.summary).toBe('update cn, title');
  });

  it('renames when the naming attribute changes (and updates the rest)', () => {
    const accounts = inSync(person('ann'));
    const p = planOne({ person: person('ann', { username: 'ann.lee', title: 'Lead' }), accounts });
    expect(lines(p.ops)).toEqual([
      // corp-ad has no naming attribute: a changed sAMAccountName is an update.
      'corp-ad update_account sAMAccountName: "ann" -> "ann.lee"',
      'corp-ldap rename_account uid: ann -> ann.lee',
      'corp-ldap update_account title: "Rep" -> "Lead"',
    ]);
    expect(p.ops[1]!.summary).toBe('rename to ann.lee');
    converge({ people: [person('ann', { username: 'ann.lee', title: 'Lead' })], accounts });
  });

  it('renames from the account name when the naming attribute was never recorded', () => {
    const accounts = inSync(person('ann')).map((a) =>
      a.targetName === 'corp-ldap'
        ? { ...a, name: 'old-name', attributes: { ...a.attributes, uid: null } }
        : a,
    );
    const p = planOne({ person: person('ann'), accounts });
    expect(lines(p.ops)).toEqual(['corp-ldap rename_account uid: old-name -> ann']);
  });

  it('treats an empty list as no value (no rename to nothing, nothing sent on create)', () => {
    const policy = policyWith({
      'corp-ldap': {
        ...LDAP,
        account: {
          namingAttribute: 'uid',
          attributes: { uid: 'person.attributes.map(k, k)', cn: 'person.displayName' },
        },
      },
    });
    const created = planOne({
      policy,
      person: person('ann', { workerType: 'contractor', department: 'Engineering' }),
    });
    const create = created.ops.find(
      (o) => o.targetName === 'corp-ldap' && o.payload.kind === 'create_account',
    )!;
    expect(create.payload.kind === 'create_account' && create.payload.attributes).toEqual({
      cn: 'Ann Lee (ann)',
    });

    const accounts = [
      account('ann', 'corp-ldap', {
        attributes: { uid: 'ann', cn: 'Ann Lee (ann)' },
        memberships: [E('corp-ldap', 'staff')],
      }),
    ];
    const p = planOne({ policy, person: person('ann', { department: 'Marketing' }), accounts });
    expect(p.ops.some((o) => o.payload.kind === 'rename_account')).toBe(false);
    expect(lines(p.ops)).toEqual(['corp-ldap update_account uid: "ann" -> null']);
  });

  it('does not update values that only differ in representation', () => {
    const policy = policyWith({
      app: { account: { attributes: { level: '5', tags: '["a"]', login: 'person.workEmail' } } },
    });
    const assignments = { ann: [{ id: 'as1', role: 'App user', validFrom: null, validUntil: null }] };
    const accounts = [
      ...inSync(person('ann')),
      account('ann', 'app', {
        attributes: { level: 5, tags: 'a', login: 'ann@corp.example' },
        memberships: [E('app', 'users')],
      }),
    ];
    expect(planOne({ policy, person: person('ann'), accounts, assignments }).ops).toEqual([]);
  });

  it('leaves memberships outside the catalog alone', () => {
    const accounts = inSync(person('ann')).map((a) =>
      a.targetName === 'corp-ad' ? { ...a, memberships: [...a.memberships, 'not-catalogued'] } : a,
    );
    expect(planOne({ person: person('ann'), accounts }).ops).toEqual([]);
  });

  it('deprovisions a target the person is no longer entitled to, keeps the others', () => {
    const accounts = inSync(person('ann'));
    const p = planOne({ person: person('ann', { workerType: 'contractor' }), accounts });
    expect(lines(p.ops)).toEqual([
      'corp-ldap disable_account quarantine=30',
      'corp-ldap remove_member staff',
    ]);
  });
});

describe('leaver', () => {
  it('disables with the quarantine days, then removes memberships; no delete yet', () => {
    const accounts = inSync(person('ann'));
    const p = planOne({ person: person('ann', { status: 'terminated' }), accounts });
    expect(lines(p.ops)).toEqual([
      'corp-ad disable_account quarantine=30',
      'corp-ad remove_member sales',
      'corp-ldap disable_account quarantine=30',
      'corp-ldap remove_member staff',
    ]);
    expect(p.ops.map((o) => o.summary)).toEqual([
      'disable account (kept disabled)',
      'remove from sales (corp-ad)',
      'disable account (deleted after 30 days)',
      'remove from staff (corp-ldap)',
    ]);
    expect(p.ops.map((o) => o.accountId)).toEqual([
      'a:ann:corp-ad',
      'a:ann:corp-ad',
      'a:ann:corp-ldap',
      'a:ann:corp-ldap',
    ]);
    expect(p.desired.map((d) => [d.targetName, d.account, d.grants.length])).toEqual([
      ['corp-ad', 'absent', 0],
      ['corp-ldap', 'absent', 0],
    ]);
  });

  it('does nothing more while the quarantine runs', () => {
    const leaver = person('ann', { status: 'terminated' });
    const first = planOne({ person: leaver, accounts: inSync(person('ann')) });
    const quarantined = applyOps(inSync(person('ann')), first.ops);
    expect(quarantined.map((a) => [a.targetName, a.state, a.quarantineUntil?.toISOString()])).toEqual([
      ['corp-ad', 'quarantined', days(30).toISOString()],
      ['corp-ldap', 'quarantined', days(30).toISOString()],
    ]);
    expect(planOne({ person: leaver, accounts: quarantined }).ops).toEqual([]);
    expect(planOne({ person: leaver, accounts: quarantined, now: days(29) }).ops).toEqual([]);
  });

  it('deletes after the quarantine with action "delete"; "disable" keeps the account', () => {
    const leaver = person('ann', { status: 'terminated' });
    const quarantined = applyOps(
      inSync(person('ann')),
      planOne({ person: leaver, accounts: inSync(person('ann')) }).ops,
    );
    for (const now of [days(30), days(45)]) {
      const p = planOne({ person: leaver, accounts: quarantined, now });
      expect(lines(p.ops)).toEqual(['corp-ldap delete_account']);
      expect(p.ops[0]!.summary).toBe('delete account (quarantine over)');
      expect(p.ops[0]!.accountId).toBe('a:ann:corp-ldap');
    }
    const after = applyOps(
      quarantined,
      planOne({ person: leaver, accounts: quarantined, now: days(30) }).ops,
      days(30),
    );
    expect(after.map((a) => [a.targetName, a.state])).toEqual([['corp-ad', 'quarantined']]);
    expect(planOne({ person: leaver, accounts: after, now: days(400) }).ops).toEqual([]);
  });

  it('deletes at once with quarantineDays 0', () => {
    const policy = policyWith({
      'corp-ldap': { ...LDAP, deprovision: { action: 'delete', quarantineDays: 0 } },
    });
    const p = planOne({
      policy,
      person: person('ann', { status: 'terminated' }),
      accounts: inSync(person('ann')),
    });
    expect(lines(p.ops)).toEqual([
      'corp-ad disable_account quarantine=30',
      'corp-ad remove_member sales',
      'corp-ldap disable_account quarantine=0',
      'corp-ldap remove_member staff',
      'corp-ldap delete_account',
    ]);
  });

  it('starts the quarantine of a prehire account that never got enabled (and deletes it after)', () => {
    const pia = person('pia', { status: 'prehire' });
    const accounts = inSync(pia);
    expect(accounts.map((a) => [a.state, a.enabled, a.quarantineUntil])).toEqual([
      ['disabled', false, null],
      ['disabled', false, null],
    ]);
    const cancelled = person('pia', { status: 'terminated' });
    const p = planOne({ person: cancelled, accounts });
    expect(lines(p.ops)).toEqual([
      'corp-ad disable_account quarantine=30',
      'corp-ad remove_member sales',
      'corp-ldap disable_account quarantine=30',
      'corp-ldap remove_member staff',
    ]);
    const quarantined = applyOps(accounts, p.ops);
    expect(planOne({ person: cancelled, accounts: quarantined, now: days(10) }).ops).toEqual([]);
    expect(lines(planOne({ person: cancelled, accounts: quarantined, now: days(31) }).ops)).toEqual([
      'corp-ldap delete_account',
    ]);
  });

  it('leaves alone an account on a target that is no longer in the policy', () => {
    const policy = compile({
      ...BASE,
      targets: { 'corp-ldap': LDAP },
      roles: BASE.roles!.filter((r) => r.name === 'Staff'),
      rules: BASE.rules!.filter((r) => r.name === 'Employees'),
    });
    const accounts = inSync(person('ann'));
    const p = planOne({ policy, person: person('ann'), accounts });
    expect(p.ops).toEqual([]);
    expect(p.desired.find((d) => d.targetName === 'corp-ad')).toMatchObject({ account: 'absent' });
  });
});

describe('rehire', () => {
  it('inside the quarantine: enables the account and adds the groups again', () => {
    const before = inSync(person('ann'));
    const leaver = planOne({ person: person('ann', { status: 'terminated' }), accounts: before });
    const quarantined = applyOps(before, leaver.ops);
    const p = planOne({ person: person('ann'), accounts: quarantined, now: days(10) });
    expect(lines(p.ops)).toEqual([
      'corp-ad enable_account',
      'corp-ad add_member sales',
      'corp-ldap enable_account',
      'corp-ldap add_member staff',
    ]);
    expect(p.ops.some((o) => o.payload.kind === 'create_account')).toBe(false);
    const after = applyOps(quarantined, p.ops, days(10));
    expect(after.map((a) => [a.targetName, a.state, a.enabled, [...a.memberships]])).toEqual(
      before.map((a) => [a.targetName, 'active', true, [...a.memberships]]),
    );
  });

  it('after the quarantine of a kept (disabled) account: enables it again', () => {
    const accounts = [
      account('ann', 'corp-ad', {
        attributes: { sAMAccountName: 'ann', department: 'Sales' },
        enabled: false,
        state: 'quarantined',
        quarantineUntil: days(-5),
      }),
    ];
    const p = planOne({ person: person('ann', { workerType: 'contractor' }), accounts });
    expect(lines(p.ops)).toEqual(['corp-ad enable_account', 'corp-ad add_member sales']);
  });

  it('ends a quarantine even when the account is (still) enabled on the target', () => {
    const accounts = inSync(person('ann')).map((a) => ({
      ...a,
      state: 'quarantined' as const,
      quarantineUntil: days(5),
    }));
    const p = planOne({ person: person('ann'), accounts });
    expect(lines(p.ops)).toEqual(['corp-ad enable_account', 'corp-ldap enable_account']);
    expect(p.ops[0]!.summary).toBe('end quarantine');
  });

  it('after the account was deleted: creates a new one', () => {
    const p = planOne({ person: person('ann') });
    expect(p.ops.filter((o) => o.payload.kind === 'create_account')).toHaveLength(2);
  });
});

describe('explicit assignments', () => {
  const assign = (
    role: string,
    validFrom: Date | null,
    validUntil: Date | null,
    id = 'as1',
  ): PlanAssignment => ({
    id,
    role,
    validFrom,
    validUntil,
  });

  it('give the role, with the assignment as the reason', () => {
    const p = planOne({
      person: person('ann'),
      assignments: { ann: [assign('App user', days(-1), days(30))] },
    });
    const because = {
      kind: 'assignment',
      assignment: 'as1',
      role: 'App user',
      validUntil: days(30).toISOString(),
    };
    expect(p.roles.get('App user')).toEqual([because]);
    expect(lines(p.ops.filter((o) => o.targetName === 'app'))).toEqual([
      'app create_account enabled',
      'app add_member users',
    ]);
    const app = p.desired.find((d) => d.targetName === 'app')!;
    expect(app.because).toEqual([because]);
    expect(app.grants).toEqual([
      { entitlement: ENTITLEMENTS.find((e) => e.key === 'users'), because: [because] },
    ]);
  });

  it('without bounds are in force', () => {
    const p = planOne({ person: person('ann'), assignments: { ann: [assign('App user', null, null)] } });
    expect(p.roles.get('App user')).toEqual([
      { kind: 'assignment', assignment: 'as1', role: 'App user', validUntil: null },
    ]);
  });

  it('are ignored when expired or not yet valid', () => {
    for (const [from, until] of [
      [days(-30), days(-1)],
      [null, NOW], // ends now: no longer in force
      [days(1), days(30)],
      [days(1), null],
    ] as const) {
      const p = planOne({ person: person('ann'), assignments: { ann: [assign('App user', from, until)] } });
      expect(p.roles.has('App user'), `${from?.toISOString()}..${until?.toISOString()}`).toBe(false);
      expect(p.ops.some((o) => o.targetName === 'app')).toBe(false);
    }
  });

  it('start at validFrom exactly', () => {
    const p = planOne({ person: person('ann'), assignments: { ann: [assign('App user', NOW, null)] } });
    expect(p.roles.has('App user')).toBe(true);
  });

  it('deprovision when they expire', () => {
    const assignments = { ann: [assign('App user', null, days(5))] };
    const { accounts } = converge({ people: [person('ann')], assignments });
    expect(membershipsOf(accounts, 'ann', 'app')).toEqual([E('app', 'users')]);
    const p = planOne({ person: person('ann'), assignments, accounts, now: days(5) });
    expect(lines(p.ops)).toEqual(['app disable_account quarantine=30', 'app remove_member users']);
  });

  it('for a role that does not exist are ignored', () => {
    const p = planOne({ person: person('ann'), assignments: { ann: [assign('Removed role', null, null)] } });
    expect([...p.roles.keys()].sort()).toEqual(['Sales', 'Staff']);
    expect(p.problems).toEqual([]);
  });

  it('add to the reasons of a role a rule already gives', () => {
    const p = planOne({ person: person('ann'), assignments: { ann: [assign('Staff', null, null, 'as9')] } });
    expect(p.roles.get('Staff')).toEqual([
      { kind: 'rule', rule: 'Employees', role: 'Staff' },
      { kind: 'assignment', assignment: 'as9', role: 'Staff', validUntil: null },
    ]);
    expect(p.ops.filter((o) => o.targetName === 'corp-ldap')).toHaveLength(2);
  });

  it('give no account to a terminated person', () => {
    const p = planOne({
      person: person('ann', { status: 'terminated' }),
      assignments: { ann: [assign('App user', null, null)] },
    });
    expect(p.roles.has('App user')).toBe(true);
    expect(p.ops).toEqual([]);
  });
});

describe('because (rules)', () => {
  it('names the rule and role behind every role, account and grant', () => {
    const p = planOne({ person: person('ann') });
    expect(Object.fromEntries(p.roles)).toEqual({
      Staff: [{ kind: 'rule', rule: 'Employees', role: 'Staff' }],
      Sales: [{ kind: 'rule', rule: 'Sales department', role: 'Sales' }],
    });
    const ldap = p.desired.find((d) => d.targetName === 'corp-ldap')!;
    expect(ldap.because).toEqual([{ kind: 'rule', rule: 'Employees', role: 'Staff' }]);
    expect(ldap.grants.map((g) => [g.entitlement.key, g.because])).toEqual([
      ['staff', [{ kind: 'rule', rule: 'Employees', role: 'Staff' }]],
    ]);
    const ad = p.desired.find((d) => d.targetName === 'corp-ad')!;
    expect(ad.because).toEqual([{ kind: 'rule', rule: 'Sales department', role: 'Sales' }]);
  });

  it('lists every rule that gives a role, and every role that gives a grant', () => {
    const policy = compile({
      ...BASE,
      roles: [...BASE.roles!, { name: 'Sales lead', grants: [{ target: 'corp-ad', entitlement: 'sales' }] }],
      rules: [
        ...BASE.rules!,
        { name: 'Also staff', when: 'person.title == "Rep"', roles: ['Staff'] },
        { name: 'Leads', when: 'person.title == "Rep"', roles: ['Sales lead'] },
      ],
    });
    const p = planOne({ policy, person: person('ann') });
    expect(p.roles.get('Staff')!.map((b) => b.kind === 'rule' && b.rule)).toEqual([
      'Employees',
      'Also staff',
    ]);
    const ad = p.desired.find((d) => d.targetName === 'corp-ad')!;
    expect(ad.grants).toHaveLength(1);
    expect(ad.grants[0]!.because.map((b) => b.role)).toEqual(['Sales', 'Sales lead']);
    expect(p.ops.filter((o) => o.payload.kind === 'add_member' && o.targetName === 'corp-ad')).toHaveLength(
      1,
    );
  });

  it('ignores disabled rules', () => {
    const policy = compile({
      ...BASE,
      rules: BASE.rules!.map((r) => (r.name === 'Sales department' ? { ...r, enabled: false } : r)),
    });
    const p = planOne({ policy, person: person('ann') });
    expect([...p.roles.keys()]).toEqual(['Staff']);
  });

  it('reports a rule that cannot be evaluated for a person, and applies the others', () => {
    const policy = compile({
      ...BASE,
      rules: [
        ...BASE.rules!,
        { name: 'Heads', when: 'person.title.startsWith("Head")', roles: ['Payment approver'] },
      ],
    });
    const problems: PlanProblem[] = [];
    const roles = rolesOf(policy, person('ann', { title: null }), [], NOW, problems);
    expect([...roles.keys()].sort()).toEqual(['Sales', 'Staff']);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ personId: 'ann', targetName: '' });
    expect(problems[0]!.message).toMatch(/^rule "Heads": /);

    const p = planOne({ policy, person: person('ann', { title: null }) });
    expect(p.problems.map((x) => x.message)).toEqual([problems[0]!.message]);
    expect(p.ops.length).toBeGreaterThan(0);
    // With a title, the rule evaluates normally.
    expect(rolesOf(policy, person('ann', { title: 'Head of Sales' }), [], NOW).has('Payment approver')).toBe(
      true,
    );
  });

  it('reports a rule whose condition gives something other than true or false, and does not grant it', () => {
    const policy = compile({
      ...BASE,
      rules: [...BASE.rules!, { name: 'Oops', when: 'person.department', roles: ['Payment approver'] }],
    });
    const problems: PlanProblem[] = [];
    const roles = rolesOf(policy, person('ann'), [], NOW, problems);
    expect(roles.has('Payment approver')).toBe(false);
    expect(problems.map((p) => p.message)).toEqual([
      `rule "Oops": the condition gives ${JSON.stringify(person('ann').facts.department)}, not true or false`,
    ]);
  });
});

describe('separation of duties', () => {
  const SOD = {
    name: 'Pay and approve',
    reason: 'One person must not both create and approve payments',
    left: [{ target: 'corp-ad', entitlement: 'payments-create' }],
    right: [{ role: 'Payment approver' }],
  };
  const sodPolicy = (action: 'block' | 'approve') => compile({ ...BASE, sod: [{ ...SOD, action }] });
  const controller = (id = 'fin') => person(id, { department: 'Finance', title: 'Controller' });
  const ITEM = (key: string) => ({ targetName: 'corp-ad', key, displayName: `${key} (corp-ad)` });

  it('block: withholds the new conflicting grants and reports rule and reason', () => {
    const p = planOne({ policy: sodPolicy('block'), person: controller() });
    expect(p.sod).toEqual([
      {
        personId: 'fin',
        rule: 'Pay and approve',
        reason: 'One person must not both create and approve payments',
        action: 'block',
        items: [ITEM('payments-create'), ITEM('payments-approve')],
        existing: false,
      },
    ]);
    // The account and the unrelated grants are still there.
    expect(lines(p.ops)).toEqual([
      'corp-ad create_account enabled',
      'corp-ldap create_account enabled',
      'corp-ldap add_member staff',
    ]);
    expect(p.desired.find((d) => d.targetName === 'corp-ad')!.grants).toEqual([]);
    // The roles are still held: the block is on the grants.
    expect(p.roles.has('Payment approver')).toBe(true);
  });

  it('block: withholds only the new side when one side is already held', () => {
    // Held before the Controllers rule existed.
    const before = compile({ ...BASE, rules: BASE.rules!.filter((r) => r.name !== 'Controllers') });
    const accounts = inSync(controller(), { policy: before });
    expect(membershipsOf(accounts, 'fin', 'corp-ad')).toEqual([E('corp-ad', 'payments-create')]);
    const p = planOne({ policy: sodPolicy('block'), person: controller(), accounts });
    expect(p.sod).toHaveLength(1);
    expect(p.sod[0]).toMatchObject({ action: 'block', items: [ITEM('payments-approve')], existing: false });
    expect(p.ops).toEqual([]);
    expect(p.desired.find((d) => d.targetName === 'corp-ad')!.grants.map((g) => g.entitlement.key)).toEqual([
      'payments-create',
    ]);
  });

  it('reports an existing violation (both sides already held) without taking anything away', () => {
    const accounts = inSync(controller(), { policy: POLICY });
    expect(membershipsOf(accounts, 'fin', 'corp-ad')).toEqual([
      E('corp-ad', 'payments-approve'),
      E('corp-ad', 'payments-create'),
    ]);
    const p = planOne({ policy: sodPolicy('block'), person: controller(), accounts });
    expect(p.sod).toEqual([
      {
        personId: 'fin',
        rule: 'Pay and approve',
        reason: SOD.reason,
        action: 'block',
        items: [],
        existing: true,
      },
    ]);
    expect(p.ops).toEqual([]);
  });

  it('approve: withholds nothing and reports the finding', () => {
    const p = planOne({ policy: sodPolicy('approve'), person: controller() });
    expect(p.sod).toEqual([
      {
        personId: 'fin',
        rule: 'Pay and approve',
        reason: SOD.reason,
        action: 'approve',
        items: [ITEM('payments-create'), ITEM('payments-approve')],
        existing: false,
      },
    ]);
    expect(lines(p.ops.filter((o) => o.targetName === 'corp-ad'))).toEqual([
      'corp-ad create_account enabled',
      'corp-ad add_member payments-create',
      'corp-ad add_member payments-approve',
    ]);
  });

  it('finds nothing when only one side is held or wanted', () => {
    for (const who of [person('a', { department: 'Finance' }), person('b', { title: 'Controller' })]) {
      const p = planOne({ policy: sodPolicy('block'), person: who });
      expect(p.sod).toEqual([]);
      expect(p.ops.some((o) => o.payload.kind === 'add_member' && o.payload.key.startsWith('payments'))).toBe(
        true,
      );
    }
  });

  it('does not block a mover who gives up one side for the other', () => {
    const policy = sodPolicy('block');
    const clerk = person('fin', { department: 'Finance' });
    const accounts = inSync(clerk, { policy });
    // Moves out of Finance and becomes a controller: payments-create goes, payments-approve comes.
    const approver = person('fin', { department: 'Audit', title: 'Controller' });
    const { plans, accounts: after } = converge({ policy, people: [approver], accounts });
    expect(plans[0]!.sod).toEqual([]);
    expect(lines(plans[0]!.ops)).toEqual([
      'corp-ad update_account department: "Finance" -> "Audit"',
      'corp-ad add_member payments-approve',
      'corp-ad remove_member payments-create',
      'corp-ldap update_account title: "Rep" -> "Controller"',
    ]);
    expect(membershipsOf(after, 'fin', 'corp-ad')).toEqual([E('corp-ad', 'payments-approve')]);
  });

  it('checks entitlement sides and role sides alike, rule by rule', () => {
    const policy = compile({
      ...BASE,
      sod: [
        {
          name: 'Sales and engineering',
          reason: 'No one sells what they build',
          left: [{ role: 'Sales' }],
          right: [{ target: 'corp-ad', entitlement: 'eng' }],
          action: 'approve',
        },
        { ...SOD, action: 'block' },
      ],
    });
    const both = person('x', { department: 'Finance', title: 'Controller' });
    const p = planOne({
      policy,
      person: both,
      assignments: { x: [{ id: 'as1', role: 'Sales', validFrom: null, validUntil: null }] },
    });
    expect(p.sod.map((f) => [f.rule, f.action])).toEqual([['Pay and approve', 'block']]);
    const eng = planOne({
      policy,
      person: person('y', { department: 'Engineering' }),
      assignments: { y: [{ id: 'as2', role: 'Sales', validFrom: null, validUntil: null }] },
    });
    expect(eng.sod.map((f) => [f.rule, f.action, f.items.map((i) => i.key)])).toEqual([
      ['Sales and engineering', 'approve', ['sales', 'eng']],
    ]);
  });
});

describe('manager reference', () => {
  const boss = (id = 'boss') => person(id, { title: 'Director' });
  const report = (id = 'rep', managerId = 'boss') => person(id, {}, managerId);
  const managerAttr = (p: PersonPlan, target = 'corp-ldap'): AttributeValue | undefined => {
    const create = p.ops.find((o) => o.targetName === target && o.payload.kind === 'create_account');
    return create?.payload.kind === 'create_account' ? create.payload.attributes.manager : undefined;
  };

  it('refers to a manager created in the same batch with an ACCOUNT_REF marker', () => {
    const plans = plan({ people: [report(), boss()], managers: { boss: {} } });
    expect(plans.map((p) => p.personId)).toEqual(['rep', 'boss']);
    expect(managerAttr(plans[0]!)).toBe(`${ACCOUNT_REF}boss`);
    expect(managerAttr(plans[1]!)).toBeUndefined();
  });

  it('uses the name of the manager’s existing account', () => {
    const plans = plan({
      people: [report(), boss()],
      accounts: inSync(boss()),
      managers: { boss: { accounts: { 'corp-ldap': 'eboss' } } },
    });
    expect(managerAttr(plans[0]!)).toBe('eboss');
    expect(plans[1]!.ops).toEqual([]);
  });

  it('updates the report when the manager changes', () => {
    const accounts = inSync(report('rep', 'boss'), {
      managers: { boss: { accounts: { 'corp-ldap': 'eboss' } } },
    });
    expect(accounts.find((a) => a.targetName === 'corp-ldap')!.attributes.manager).toBe('eboss');
    const p = planOne({
      person: report('rep', 'other'),
      accounts,
      managers: { other: { accounts: { 'corp-ldap': 'oboss' } } },
    });
    expect(lines(p.ops)).toEqual(['corp-ldap update_account manager: "eboss" -> "oboss"']);
  });

  it('has no value when the manager has no account there and none is created', () => {
    // The manager is not in the batch and has no account on corp-ldap.
    expect(managerAttr(planOne({ person: report(), managers: { boss: {} } }))).toBeUndefined();
    // The manager is in the batch but leaves: no account is created for them.
    const plans = plan({
      people: [report(), person('boss', { status: 'terminated' })],
      managers: { boss: {} },
    });
    expect(managerAttr(plans[0]!)).toBeUndefined();
    // The manager is in the batch but not entitled to corp-ldap (a contractor).
    const plans2 = plan({
      people: [report(), person('boss', { workerType: 'contractor' })],
      managers: { boss: {} },
    });
    expect(managerAttr(plans2[0]!)).toBeUndefined();
  });

  it('exposes the manager’s facts to mappings, or the HR manager id when the manager is unknown', () => {
    const policy = policyWith({
      app: {
        account: {
          attributes: {
            login: 'person.workEmail',
            boss: 'manager.displayName',
            bossId: 'manager.employeeId',
          },
        },
      },
    });
    const assignments = { rep: [{ id: 'as1', role: 'App user', validFrom: null, validUntil: null }] };
    const known = planOne({
      policy,
      person: report(),
      assignments,
      managers: { boss: { facts: { displayName: 'Erin Boss' } } },
    });
    const app = known.desired.find((d) => d.targetName === 'app')!;
    expect(app.attributes).toMatchObject({ boss: 'Erin Boss', bossId: 'BOSS' });

    const unknown = planOne({
      policy,
      person: person('rep', { managerId: 'E999' }, null),
      assignments,
    });
    expect(unknown.desired.find((d) => d.targetName === 'app')!.attributes).toMatchObject({
      boss: null,
      bossId: 'E999',
    });
  });
});

describe('mapping problems', () => {
  const withApp = (attributes: Record<string, string>) =>
    policyWith({ app: { account: { attributes: { login: 'person.workEmail', ...attributes } } } });
  const assignments = { ann: [{ id: 'as1', role: 'App user', validFrom: null, validUntil: null }] };

  it('become problems with person, target and attribute; the rest is planned', () => {
    const policy = withApp({ badge: 'person.attributes.badge', nested: '[[1]]', map: 'person.attributes' });
    const p = planOne({ policy, person: person('ann'), assignments });
    expect(p.problems.map((x) => [x.personId, x.targetName, x.attribute])).toEqual([
      ['ann', 'app', 'badge'],
      ['ann', 'app', 'nested'],
      ['ann', 'app', 'map'],
    ]);
    for (const x of p.problems) expect(x.message).not.toBe('');
    expect(p.problems[1]!.message).toBe('a list must hold only strings, numbers or booleans');
    expect(p.problems[2]!.message).toMatch(/not a string, number, boolean or list/);
    const create = p.ops.find((o) => o.targetName === 'app' && o.payload.kind === 'create_account')!;
    expect(create.payload.kind === 'create_account' && create.payload.attributes).toEqual({
      login: 'ann@corp.example',
    });
    // Other targets are unaffected.
    expect(lines(p.ops).filter((l) => !l.startsWith('app'))).toEqual([
      'corp-ad create_account enabled',
      'corp-ad add_member sales',
      'corp-ldap create_account enabled',
      'corp-ldap add_member staff',
    ]);
  });

  it('leave the attribute as it is on an existing account', () => {
    const policy = withApp({ badge: 'person.attributes.badge' });
    const accounts = [
      ...inSync(person('ann')),
      account('ann', 'app', {
        attributes: { login: 'ann@corp.example', badge: 'B7' },
        memberships: [E('app', 'users')],
      }),
    ];
    const p = planOne({ policy, person: person('ann'), accounts, assignments });
    expect(p.ops).toEqual([]);
    expect(p.problems).toHaveLength(1);
    // Once HR sends the value, it is an update.
    const fixed = planOne({
      policy,
      person: person('ann', { attributes: { badge: 'B8' } }),
      accounts,
      assignments,
    });
    expect(fixed.problems).toEqual([]);
    expect(lines(fixed.ops)).toEqual(['app update_account badge: "B7" -> "B8"']);
  });

  it('accept numbers, booleans and lists of scalars', () => {
    const policy = withApp({ n: '1 + 1', b: 'true', l: '["a", 2, false]' });
    const p = planOne({ policy, person: person('ann'), assignments });
    expect(p.problems).toEqual([]);
    const create = p.ops.find((o) => o.targetName === 'app' && o.payload.kind === 'create_account')!;
    expect(create.payload.kind === 'create_account' && create.payload.attributes).toEqual({
      login: 'ann@corp.example',
      n: 2,
      b: true,
      l: ['a', 2, false],
    });
  });
});

describe('null fields', () => {
  it('clear attributes on existing accounts (also inside expressions)', () => {
    const policy = policyWith({
      'corp-ldap': {
        ...LDAP,
        account: {
          ...LDAP.account,
          attributes: {
            ...LDAP.account.attributes,
            description: 'person.title + " in " + person.department',
          },
        },
      },
    });
    const accounts = inSync(person('ann'), { policy });
    const ldap = accounts.find((a) => a.targetName === 'corp-ldap')!;
    expect(ldap.attributes).toMatchObject({ title: 'Rep', description: 'Rep in Sales' });
    const p = planOne({ policy, person: person('ann', { title: null }), accounts });
    expect(p.problems).toEqual([]);
    expect(lines(p.ops)).toEqual([
      'corp-ldap update_account title: "Rep" -> null, description: "Rep in Sales" -> null',
    ]);
  });

  it('are left out of a new account without a problem', () => {
    const p = planOne({ person: person('ann', { title: null, department: 'Sales' }) });
    expect(p.problems).toEqual([]);
    const create = p.ops.find((o) => o.targetName === 'corp-ldap' && o.payload.kind === 'create_account')!;
    expect(create.payload.kind === 'create_account' && Object.keys(create.payload.attributes)).toEqual([
      'uid',
      'cn',
    ]);
  });

  it('do not change an attribute that is already empty', () => {
    const accounts = inSync(person('ann', { title: null }));
    expect(planOne({ person: person('ann', { title: null }), accounts }).ops).toEqual([]);
  });
});

describe('operation order', () => {
  it('within a target: rename, update, enable, add members, remove members', () => {
    const eng = person('ann', { department: 'Engineering' });
    const accounts = inSync(person('ann', { username: 'old', title: 'Old' })).map((a) => ({
      ...a,
      enabled: false,
      state: 'quarantined' as const,
      quarantineUntil: days(3),
    }));
    const p = planOne({ person: eng, accounts });
    const ldap = p.ops.filter((o) => o.targetName === 'corp-ldap');
    expect(lines(ldap)).toEqual([
      'corp-ldap rename_account uid: old -> ann',
      'corp-ldap update_account title: "Old" -> "Rep"',
      'corp-ldap enable_account',
      'corp-ldap add_member developers',
    ]);
    const ad = p.ops.filter((o) => o.targetName === 'corp-ad');
    expect(lines(ad)).toEqual([
      'corp-ad update_account sAMAccountName: "old" -> "ann", department: "Sales" -> "Engineering"',
      'corp-ad enable_account',
      'corp-ad add_member eng',
      'corp-ad remove_member sales',
    ]);
  });

  it('is sorted by target name, then by STAGE, for every plan', () => {
    const scenarios: World[] = [
      { people: [person('ann'), person('eli', { department: 'Engineering' })] },
      { people: [person('ann', { status: 'terminated' })], accounts: inSync(person('ann')) },
      {
        people: [person('ann', { department: 'Engineering', username: 'x' })],
        accounts: inSync(person('ann')),
      },
      {
        people: [person('ann')],
        accounts: inSync(person('ann')),
        assignments: { ann: [{ id: 'a', role: 'App user', validFrom: null, validUntil: null }] },
      },
    ];
    for (const w of scenarios)
      for (const p of plan(w)) {
        const keys = p.ops.map((o) => [o.targetName, STAGE[o.payload.kind as OpKind]] as const);
        const sorted = [...keys].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
        expect(keys).toEqual(sorted);
        expect(new Set(p.ops.map((o) => o.targetName)).size).toBeGreaterThan(0);
      }
  });

  it('puts targets in name order whatever the policy and role order', () => {
    const assignments = { ann: [{ id: 'a', role: 'App user', validFrom: null, validUntil: null }] };
    const p = planOne({ person: person('ann'), assignments });
    expect([...new Set(p.ops.map((o) => o.targetName))]).toEqual(['app', 'corp-ad', 'corp-ldap']);
    expect(p.desired.map((d) => d.targetName)).toEqual(['app', 'corp-ad', 'corp-ldap']);
    const reversed = compile({
      ...BASE,
      roles: [...BASE.roles!].reverse(),
      rules: [...BASE.rules!].reverse(),
    });
    const q = planOne({ policy: reversed, person: person('ann'), assignments });
    expect(lines(q.ops)).toEqual(lines(p.ops));
  });

  it('is deterministic: the same input gives the same plans, people in input order', () => {
    const w: World = {
      people: [
        person('zed'),
        person('ann', { department: 'Engineering' }),
        person('bob', { status: 'prehire' }),
      ],
    };
    const a = plan(w);
    const b = plan(w);
    expect(a.map((p) => p.personId)).toEqual(['zed', 'ann', 'bob']);
    expect(a.map((p) => lines(p.ops))).toEqual(b.map((p) => lines(p.ops)));
    expect(a.map((p) => p.desired)).toEqual(b.map((p) => p.desired));
  });
});
