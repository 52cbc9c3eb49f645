/**
 * Compiling a policy document against the targets and the entitlement catalog: a valid policy gives indexed
 * roles, rules, targets and SoD rules; every mistake is reported at once, each with its precise document path.
 */
import { describe, expect, it } from 'vitest';
import {
  catalogKey,
  compilePolicy,
  formatPath,
  type CatalogEntitlement,
  type PolicyCatalog,
  type PolicyProblem,
} from './compile.ts';
import { policyDocumentSchema, type PolicyDocumentInput } from './document.ts';
import { PERSON_FIELDS, type PersonFacts } from './expressions.ts';

const TARGETS: Record<string, string> = { 'corp-ldap': 't-ldap', 'corp-ad': 't-ad' };

function entitlement(target: string, key: string, privileged = false): CatalogEntitlement {
  return {
    id: `e:${target}:${key}`,
    targetId: TARGETS[target]!,
    targetName: target,
    key,
    kind: 'group',
    objectId: `oid-${key}`,
    objectName: `cn=${key}`,
    displayName: `${key} group`,
    privileged,
  };
}

function catalog(
  targets: Record<string, string> = TARGETS,
  entitlements: CatalogEntitlement[] = [
    entitlement('corp-ad', 'sales'),
    entitlement('corp-ad', 'payments-create', true),
    entitlement('corp-ad', 'payments-approve', true),
    entitlement('corp-ldap', 'staff'),
  ],
): PolicyCatalog {
  return {
    targets: new Map(Object.entries(targets).map(([name, id]) => [name, { id, connector: 'ldap' }])),
    entitlements: new Map(entitlements.map((e) => [catalogKey(e.targetName, e.key), e])),
  };
}

function compile(doc: PolicyDocumentInput, cat: PolicyCatalog = catalog(), version?: number) {
  return compilePolicy(policyDocumentSchema.parse(doc), cat, version);
}

/** The problems as `path: message`, the way the YAML reader would show them. */
function problemsOf(doc: PolicyDocumentInput, cat?: PolicyCatalog): string[] {
  const r = compile(doc, cat);
  expect(r.policy).toBeUndefined();
  expect(r.problems.length).toBeGreaterThan(0);
  return r.problems.map((p: PolicyProblem) => `${formatPath(p.path)}: ${p.message}`);
}

/** The paths of the problems alone. */
function pathsOf(doc: PolicyDocumentInput, cat?: PolicyCatalog): string[] {
  return problemsOf(doc, cat).map((p) => p.slice(0, p.indexOf(': ')));
}

const TARGET_POLICIES = {
  'corp-ldap': {
    account: {
      namingAttribute: 'uid',
      attributes: { uid: 'person.username', cn: 'person.displayName', manager: 'manager.account' },
    },
    deprovision: { action: 'delete' as const, quarantineDays: 30 },
  },
  'corp-ad': { account: { attributes: { sAMAccountName: 'person.username', ou: 'target.name' } } },
};

const VALID: PolicyDocumentInput = {
  targets: TARGET_POLICIES,
  roles: [
    { name: 'Staff', accounts: ['corp-ldap'], grants: [{ target: 'corp-ldap', entitlement: 'staff' }] },
    { name: 'Sales staff', grants: [{ target: 'corp-ad', entitlement: 'sales' }] },
    { name: 'Payment clerk', grants: [{ target: 'corp-ad', entitlement: 'payments-create' }] },
    { name: 'Payment approver', grants: [{ target: 'corp-ad', entitlement: 'payments-approve' }] },
  ],
  rules: [
    { name: 'Everyone', when: 'person.workerType == "employee"', roles: ['Staff'] },
    { name: 'Sales', when: 'person.department == "Sales"', roles: ['Sales staff', 'Staff'] },
    { name: 'Off', when: 'true', roles: ['Payment clerk'], enabled: false },
  ],
  sod: [
    {
      name: 'Pay and approve',
      reason: 'One person must not both create and approve payments',
      left: [{ target: 'corp-ad', entitlement: 'payments-create' }],
      right: [{ role: 'Payment approver' }],
    },
  ],
};

function facts(overrides: Partial<PersonFacts> = {}): PersonFacts {
  const base = Object.fromEntries(PERSON_FIELDS.map((f) => [f, null])) as unknown as PersonFacts;
  return { ...base, attributes: {}, ...overrides };
}

describe('formatPath', () => {
  it('joins names with dots and indexes with brackets', () => {
    expect(formatPath(['rules', 1, 'when'])).toBe('rules[1].when');
    expect(formatPath(['roles', 0, 'grants', 1, 'entitlement'])).toBe('roles[0].grants[1].entitlement');
    expect(formatPath(['targets', 'corp-ldap', 'account', 'namingAttribute'])).toBe(
      'targets.corp-ldap.account.namingAttribute',
    );
    expect(formatPath(['sod', 0, 'left', 0, 'role'])).toBe('sod[0].left[0].role');
    expect(formatPath(['roles', 3])).toBe('roles[3]');
    expect(formatPath(['settings'])).toBe('settings');
  });

  it('handles a path that starts with an index and the empty path', () => {
    expect(formatPath([2, 'name'])).toBe('[2].name');
    expect(formatPath([0, 1])).toBe('[0][1]');
    expect(formatPath([])).toBe('(document)');
  });
});

describe('a valid policy', () => {
  it('compiles with no problems', () => {
    const r = compile(VALID, catalog(), 7);
    expect(r.problems).toEqual([]);
    expect(r.policy).toBeDefined();
    expect(r.policy!.version).toBe(7);
    expect(r.policy!.document.roles.map((role) => role.name)).toEqual([
      'Staff',
      'Sales staff',
      'Payment clerk',
      'Payment approver',
    ]);
  });

  it('defaults the version to 0', () => {
    expect(compile(VALID).policy!.version).toBe(0);
  });

  it('indexes targets with their ids and compiled mappings', () => {
    const { targets } = compile(VALID).policy!;
    expect([...targets.keys()].sort()).toEqual(['corp-ad', 'corp-ldap']);
    const ldap = targets.get('corp-ldap')!;
    expect(ldap.id).toBe('t-ldap');
    expect(ldap.policy.deprovision).toEqual({ action: 'delete', quarantineDays: 30 });
    expect(ldap.attributes.map(([a]) => a)).toEqual(['uid', 'cn', 'manager']);
    const uid = ldap.attributes.find(([a]) => a === 'uid')![1];
    expect(uid.evaluate({ person: facts({ username: 'alee' }) })).toEqual({ ok: true, value: 'alee' });
    const ou = targets.get('corp-ad')!.attributes.find(([a]) => a === 'ou')![1];
    expect(ou.evaluate({ person: facts(), target: { name: 'corp-ad' } })).toEqual({
      ok: true,
      value: 'corp-ad',
    });
  });

  it('gives a role accounts on its own targets and on the targets of its grants', () => {
    const { roles } = compile(VALID).policy!;
    expect([...roles.get('Staff')!.accounts]).toEqual(['corp-ldap']);
    expect(roles.get('Staff')!.grants.map((g) => g.id)).toEqual(['e:corp-ldap:staff']);
    expect([...roles.get('Sales staff')!.accounts]).toEqual(['corp-ad']);
    expect(roles.get('Sales staff')!.grants).toEqual([entitlement('corp-ad', 'sales')]);
  });

  it('keeps enabled rules only, in document order, with their roles', () => {
    const { rules } = compile(VALID).policy!;
    expect(rules.map((r) => [r.name, r.roles])).toEqual([
      ['Everyone', ['Staff']],
      ['Sales', ['Sales staff', 'Staff']],
    ]);
    expect(rules[1]!.when.evaluate({ person: facts({ department: 'Sales' }) })).toEqual({
      ok: true,
      value: true,
    });
    expect(rules[1]!.when.evaluate({ person: facts({ department: 'Eng' }) })).toEqual({
      ok: true,
      value: false,
    });
  });

  it('resolves SoD sides to role names and entitlement ids', () => {
    const { sod } = compile(VALID).policy!;
    expect(sod).toHaveLength(1);
    expect(sod[0]!.rule.action).toBe('block');
    expect([...sod[0]!.left.entitlements]).toEqual(['e:corp-ad:payments-create']);
    expect([...sod[0]!.left.roles]).toEqual([]);
    expect([...sod[0]!.right.roles]).toEqual(['Payment approver']);
    expect([...sod[0]!.right.entitlements]).toEqual([]);
  });

  it('indexes the whole catalog by entitlement id', () => {
    const { catalog: byId } = compile(VALID).policy!;
    expect([...byId.keys()].sort()).toEqual([
      'e:corp-ad:payments-approve',
      'e:corp-ad:payments-create',
      'e:corp-ad:sales',
      'e:corp-ldap:staff',
    ]);
    expect(byId.get('e:corp-ad:payments-create')!.privileged).toBe(true);
  });

  it('compiles the empty policy', () => {
    const r = compile({}, catalog({}, []));
    expect(r.problems).toEqual([]);
    expect(r.policy!.roles.size).toBe(0);
  });
});

describe('rules', () => {
  it('report a misspelt field at rules[i].when', () => {
    const problems = problemsOf({
      ...VALID,
      rules: [
        { name: 'A', when: 'true', roles: ['Staff'] },
        { name: 'B', when: 'person.departmnet == "Sales"', roles: ['Staff'] },
      ],
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^rules\[1\]\.when: person\.departmnet does not exist; person has .*department/,
    );
  });

  it('report a parse error with its position at rules[i].when', () => {
    const problems = problemsOf({
      ...VALID,
      rules: [{ name: 'A', when: 'person.department ==', roles: ['Staff'] }],
    });
    expect(problems).toEqual([expect.stringMatching(/^rules\[0\]\.when: does not parse: at 1:\d+/)]);
  });

  it('may not read manager (mappings only)', () => {
    expect(
      problemsOf({ ...VALID, rules: [{ name: 'A', when: 'manager.account == "x"', roles: ['Staff'] }] }),
    ).toEqual(['rules[0].when: unknown name "manager": use person']);
  });

  it('report an unknown role at rules[i].roles[j]', () => {
    expect(
      problemsOf({ ...VALID, rules: [{ name: 'A', when: 'true', roles: ['Staff', 'Sales stuff'] }] }),
    ).toEqual(['rules[0].roles[1]: no role named "Sales stuff"']);
  });

  it('are checked even when disabled', () => {
    expect(
      pathsOf({
        ...VALID,
        rules: [{ name: 'Off', when: 'person.nope', roles: ['Nobody'], enabled: false }],
      }),
    ).toEqual(['rules[0].when', 'rules[0].roles[0]']);
  });

  it('must have unique names (case-insensitive), reported at the later one', () => {
    const problems = problemsOf({
      ...VALID,
      rules: [
        { name: 'Sales', when: 'true', roles: ['Staff'] },
        { name: 'Other', when: 'true', roles: ['Staff'] },
        { name: 'sales', when: 'false', roles: ['Staff'] },
      ],
    });
    expect(problems).toEqual(['rules[2].name: rule "sales" is already defined at index 0']);
  });
});

describe('roles', () => {
  it('report an unknown entitlement at roles[i].grants[j].entitlement', () => {
    const problems = problemsOf({
      ...VALID,
      roles: [
        {
          name: 'Staff',
          accounts: ['corp-ldap'],
          grants: [
            { target: 'corp-ldap', entitlement: 'staff' },
            { target: 'corp-ad', entitlement: 'marketing' },
          ],
        },
        ...VALID.roles!.slice(1),
      ],
    });
    expect(problems).toEqual([
      'roles[0].grants[1].entitlement: target "corp-ad" has no entitlement "marketing" in its catalog (discover or declare it first)',
    ]);
  });

  it('report an unknown target at roles[i].grants[j].target and list the targets', () => {
    const problems = problemsOf({
      ...VALID,
      roles: [...VALID.roles!, { name: 'HR', grants: [{ target: 'workday', entitlement: 'hr' }] }],
    });
    expect(problems).toEqual([
      'roles[4].grants[0].target: no target named "workday" (targets: corp-ldap, corp-ad)',
    ]);
  });

  it('say so when no targets exist yet', () => {
    const problems = problemsOf({ roles: [{ name: 'R', accounts: ['corp-ldap'] }] }, catalog({}, []));
    expect(problems).toEqual(['roles[0].accounts[0]: no target named "corp-ldap" (no targets exist yet)']);
  });

  it('report an unknown account target at roles[i].accounts[j]', () => {
    expect(
      problemsOf({ ...VALID, roles: [...VALID.roles!, { name: 'X', accounts: ['corp-ldap', 'corp-sql'] }] }),
    ).toEqual(['roles[4].accounts[1]: no target named "corp-sql" (targets: corp-ldap, corp-ad)']);
  });

  it('report a role that gives accounts on a target without a mapping', () => {
    const problems = problemsOf({
      ...VALID,
      targets: { 'corp-ldap': TARGET_POLICIES['corp-ldap'] },
    });
    // Three roles grant on corp-ad (Sales staff, Payment clerk, Payment approver): each one is reported.
    expect(problems).toEqual([
      'roles[1]: role "Sales staff" gives accounts on "corp-ad", which has no mapping under targets (add targets.corp-ad.account)',
      'roles[2]: role "Payment clerk" gives accounts on "corp-ad", which has no mapping under targets (add targets.corp-ad.account)',
      'roles[3]: role "Payment approver" gives accounts on "corp-ad", which has no mapping under targets (add targets.corp-ad.account)',
    ]);
  });

  it('report an account-only role on a target without a mapping', () => {
    expect(
      problemsOf({
        targets: { 'corp-ldap': TARGET_POLICIES['corp-ldap'] },
        roles: [{ name: 'AD user', accounts: ['corp-ad'] }],
      }),
    ).toEqual([
      'roles[0]: role "AD user" gives accounts on "corp-ad", which has no mapping under targets (add targets.corp-ad.account)',
    ]);
  });

  it('must have unique names (case-insensitive)', () => {
    const problems = problemsOf({ ...VALID, roles: [...VALID.roles!, { name: 'sales STAFF' }] });
    expect(problems).toEqual(['roles[4].name: role "sales STAFF" is already defined at index 1']);
  });
});

describe('targets', () => {
  it('report a naming attribute that is not mapped', () => {
    const problems = problemsOf({
      ...VALID,
      targets: {
        ...TARGET_POLICIES,
        'corp-ad': { account: { namingAttribute: 'cn', attributes: { sAMAccountName: 'person.username' } } },
      },
    });
    expect(problems).toEqual([
      'targets.corp-ad.account.namingAttribute: "cn" is not one of the mapped attributes (sAMAccountName)',
    ]);
  });

  it('say "none" when nothing is mapped', () => {
    expect(
      problemsOf({
        ...VALID,
        targets: { ...TARGET_POLICIES, 'corp-ad': { account: { namingAttribute: 'cn' } } },
      }),
    ).toEqual(['targets.corp-ad.account.namingAttribute: "cn" is not one of the mapped attributes (none)']);
  });

  it('report a bad mapping expression at targets.x.account.attributes.attr', () => {
    const problems = problemsOf({
      ...VALID,
      targets: {
        ...TARGET_POLICIES,
        'corp-ad': {
          account: {
            attributes: { sAMAccountName: 'person.usrname', mail: 'person.workEmail +', ou: 'target.name' },
          },
        },
      },
    });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(
      /^targets\.corp-ad\.account\.attributes\.sAMAccountName: person\.usrname does not exist/,
    );
    expect(problems[1]).toMatch(/^targets\.corp-ad\.account\.attributes\.mail: does not parse: at 1:\d+/);
  });

  it('report a mapping for a target that does not exist', () => {
    expect(
      problemsOf({ ...VALID, targets: { ...TARGET_POLICIES, 'corp-sql': { account: { attributes: {} } } } }),
    ).toEqual(['targets.corp-sql: no target named "corp-sql" (targets: corp-ldap, corp-ad)']);
  });
});

describe('SoD rules', () => {
  const sod = (left: unknown[], right: unknown[]) =>
    ({
      ...VALID,
      sod: [{ name: 'S', reason: 'because', left, right }],
    }) as PolicyDocumentInput;

  it('report an unknown role at sod[i].left[j].role', () => {
    expect(problemsOf(sod([{ role: 'Payment clrk' }], [{ role: 'Payment approver' }]))).toEqual([
      'sod[0].left[0].role: no role named "Payment clrk"',
    ]);
  });

  it('report unknown entitlements and targets on either side', () => {
    expect(
      pathsOf(
        sod(
          [{ role: 'Payment clerk' }, { target: 'corp-ad', entitlement: 'nope' }],
          [{ target: 'nowhere', entitlement: 'x' }, { role: 'Ghost' }],
        ),
      ),
    ).toEqual(['sod[0].left[1].entitlement', 'sod[0].right[0].target', 'sod[0].right[1].role']);
  });

  it('must have unique names', () => {
    const rule = VALID.sod![0]!;
    expect(problemsOf({ ...VALID, sod: [rule, { ...rule, name: 'PAY AND APPROVE' }] })).toEqual([
      'sod[1].name: SoD rule "PAY AND APPROVE" is already defined at index 0',
    ]);
  });
});

describe('several problems', () => {
  it('are all reported at once, in document order, and no policy is returned', () => {
    const r = compile({
      targets: {
        'corp-ldap': { account: { namingAttribute: 'uid', attributes: { cn: 'person.displayName' } } },
        'corp-ad': { account: { attributes: { sAMAccountName: 'person.username' } } },
      },
      roles: [
        {
          name: 'Staff',
          grants: [
            { target: 'corp-ldap', entitlement: 'staff' },
            { target: 'corp-ad', entitlement: 'x' },
          ],
        },
        { name: 'staff' },
      ],
      rules: [
        { name: 'A', when: 'true', roles: ['Staff'] },
        { name: 'B', when: 'person.departmnet == "x"', roles: ['Nobody'] },
      ],
      sod: [{ name: 'S', reason: 'r', left: [{ role: 'Ghost' }], right: [{ role: 'Staff' }] }],
    });
    expect(r.policy).toBeUndefined();
    expect(r.problems.map((p) => formatPath(p.path))).toEqual([
      'targets.corp-ldap.account.namingAttribute',
      'roles[1].name',
      'roles[0].grants[1].entitlement',
      'rules[1].when',
      'rules[1].roles[0]',
      'sod[0].left[0].role',
    ]);
    for (const p of r.problems) expect(p.message).not.toBe('');
  });

  it('keep paths as segments (numbers for indexes)', () => {
    const r = compile({ ...VALID, rules: [{ name: 'A', when: 'true', roles: ['Staff', 'Ghost'] }] });
    expect(r.problems).toEqual([{ path: ['rules', 0, 'roles', 1], message: 'no role named "Ghost"' }]);
  });
});
