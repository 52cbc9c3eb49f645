/**
 * The provisioning engine end to end against real directories: HR imports drive change sets that the job system
 * applies to a real OpenLDAP slapd and a real Samba AD DC at once. Joiners get accounts with the right groups,
 * a mover swaps groups (and changes OU in AD), a leaver is disabled everywhere and undo restores both directories
 * exactly (compared entry by entry), an SoD conflict is blocked with the rule's name and reason, and a change set
 * that would disable 30% of a target waits for approval.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'ldapts';
import { adTestDomain, type AdTestDomain } from '../connectors/active-directory/test-fixture.ts';
import { transaction } from '../db/index.ts';
import { updateSource } from '../hr/index.ts';
import { isGatehouseError } from '../kit/errors.ts';
import { sambaSkip } from '../testing/samba.ts';
import { slapdSkipReason, startSlapd, type Slapd } from '../testing/slapd.ts';
import { approveChangeSet, assignRole, getChangeSet, undoChangeSet } from './changesets.ts';
import { opLines, provisioningHarness, type ProvisioningHarness } from './test-support.ts';

const skip = slapdSkipReason() || sambaSkip();

const today = new Date();
const yesterday = new Date(today.getTime() - 86_400_000).toISOString().slice(0, 10);

/** employee_id, first, last, department, title, manager, status, termination */
type Row = [string, string, string, string, string, string, string?, string?];
const PEOPLE: Row[] = [
  ['E001', 'Erin', 'Boss', 'Sales', 'Director', ''],
  ['E002', 'Alice', 'Able', 'Sales', 'Rep', 'E001'],
  ['E003', 'Bob', 'Brown', 'Sales', 'Rep', 'E001'],
  ['E004', 'Carol', 'Cole', 'Sales', 'Rep', 'E001'],
  ['E005', 'Dan', 'Dale', 'Engineering', 'Engineer', 'E001'],
  ['E006', 'Eve', 'Eld', 'Engineering', 'Engineer', 'E001'],
  ['E007', 'Finn', 'Ford', 'Engineering', 'Engineer', 'E001'],
  ['E008', 'Gus', 'Gray', 'Engineering', 'Engineer', 'E001'],
  ['E009', 'Hana', 'Hill', 'Support', 'Agent', 'E001'],
  ['E010', 'Ivo', 'Ives', 'Support', 'Agent', 'E001'],
];

function csv(rows: Row[]): string[] {
  return rows.map(([id, first, last, dept, title, mgr, status, term]) =>
    [
      id,
      first,
      last,
      '',
      `${first.toLowerCase()}@home.example`,
      '',
      dept,
      title,
      'CC1',
      'Berlin',
      'Europe/Berlin',
      mgr,
      'employee',
      status ?? 'active',
      '2020-01-01',
      term ?? '',
    ].join(','),
  );
}

const withChanges = (
  changes: Record<string, Partial<{ dept: string; title: string; status: string; term: string }>>,
) =>
  csv(
    PEOPLE.map((r) => {
      const c = changes[r[0]];
      if (!c) return r;
      return [r[0], r[1], r[2], c.dept ?? r[3], c.title ?? r[4], r[5], c.status, c.term] as Row;
    }),
  );

describe.skipIf(skip)('provisioning against slapd and Samba AD', { timeout: 180_000 }, () => {
  let h: ProvisioningHarness;
  let slapd: Slapd;
  let ad: AdTestDomain;
  let adRaw: Client;
  /** HR changes so far (each import sends the whole file). */
  const state: Record<string, Partial<{ dept: string; title: string; status: string; term: string }>> = {};

  async function hr(
    change: Record<string, Partial<{ dept: string; title: string; status: string; term: string }>>,
  ) {
    Object.assign(state, change);
    await h.importHr(withChanges(state));
  }

  /** slapd's people: uid → attributes, groups (by cn) and whether the account is locked (disabled). */
  async function ldapState() {
    const c = slapd.client('root');
    try {
      const entries = await c.searchAll(slapd.usersDn, {
        scope: 'one',
        filter: '(objectClass=inetOrgPerson)',
        attributes: [
          'uid',
          'cn',
          'sn',
          'givenName',
          'mail',
          'title',
          'departmentNumber',
          'manager',
          'memberOf',
          'pwdAccountLockedTime',
        ],
      });
      const out: Record<string, Record<string, string[]>> = {};
      for (const e of entries) {
        const a = e.attributes;
        out[a.uid![0]!] = {
          dn: [e.dn],
          cn: a.cn ?? [],
          mail: a.mail ?? [],
          title: a.title ?? [],
          departmentNumber: a.departmentNumber ?? [],
          manager: a.manager ?? [],
          groups: (a.memberOf ?? []).map((g) => /^cn=([^,]+)/i.exec(g)![1]!).sort(),
          locked: a.pwdAccountLockedTime ?? [],
        };
      }
      return out;
    } finally {
      await c.close();
    }
  }

  /** Samba's people in this file's OU tree: sAMAccountName → OU, groups, enabled. */
  async function adState() {
    const { searchEntries } = await adRaw.search(ad.root, {
      scope: 'sub',
      filter: '(&(objectCategory=person)(objectClass=user))',
      attributes: ['sAMAccountName', 'department', 'title', 'memberOf', 'userAccountControl', 'displayName'],
    });
    const out: Record<string, Record<string, string[] | string | boolean>> = {};
    for (const e of searchEntries) {
      const list = (v: unknown) => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);
      out[String(e.sAMAccountName)] = {
        ou: e.dn.split(',').slice(1).join(','),
        department: list(e.department),
        title: list(e.title),
        displayName: list(e.displayName),
        groups: list(e.memberOf)
          .map((g) => /^CN=([^,]+)/i.exec(g)![1]!)
          .sort(),
        enabled: (Number(e.userAccountControl) & 2) === 0,
      };
    }
    return out;
  }

  beforeAll(async () => {
    h = await provisioningHarness();
    slapd = await startSlapd();
    ad = await adTestDomain('prov', ['Sales', 'Engineering']);
    adRaw = ad.raw;
    await h.addTarget('corp-ldap', 'ldap', slapd.connectorConfig());
    await h.addTarget('corp-ad', 'active-directory', {
      url: ad.dc.url,
      bindDn: ad.dc.adminUpn,
      bindPassword: ad.dc.adminPassword,
      baseDn: ad.dc.baseDn,
      usersDn: ad.usersDn,
      groupsDn: ad.groupsDn,
      upnSuffix: ad.dc.upnSuffix,
      departmentOus: ad.departmentOus,
      tls: { ca: ad.dc.ca },
    });
    // Groups exist on the targets first; discovery puts them in the catalog.
    for (const [target, names] of [
      ['corp-ldap', ['all-staff', 'sales', 'engineering']],
      ['corp-ad', ['All Staff', 'Sales', 'Engineering', 'Payments Approvers']],
    ] as const) {
      await h.addGroups(target, names);
    }
    await h.setPolicy({
      settings: { massChange: { threshold: 0.2, minimum: 2 } },
      targets: {
        'corp-ldap': {
          account: {
            namingAttribute: 'uid',
            attributes: {
              uid: 'person.username',
              cn: 'person.displayName',
              sn: 'person.lastName',
              givenName: 'person.firstName',
              mail: 'person.workEmail',
              title: 'person.title',
              departmentNumber: 'person.department',
              manager: 'manager.account',
            },
          },
          deprovision: { action: 'delete', quarantineDays: 30 },
        },
        'corp-ad': {
          account: {
            attributes: {
              sAMAccountName: 'person.username',
              givenName: 'person.firstName',
              sn: 'person.lastName',
              displayName: 'person.displayName',
              department: 'person.department',
              title: 'person.title',
              mail: 'person.workEmail',
            },
          },
          password: { initial: 'generate', mustChange: true },
        },
      },
      roles: [
        {
          name: 'Staff',
          accounts: ['corp-ldap', 'corp-ad'],
          grants: [
            { target: 'corp-ldap', entitlement: 'all-staff' },
            { target: 'corp-ad', entitlement: 'All Staff' },
          ],
        },
        {
          name: 'Sales',
          grants: [
            { target: 'corp-ldap', entitlement: 'sales' },
            { target: 'corp-ad', entitlement: 'Sales' },
          ],
        },
        {
          name: 'Engineering',
          grants: [
            { target: 'corp-ldap', entitlement: 'engineering' },
            { target: 'corp-ad', entitlement: 'Engineering' },
          ],
        },
        { name: 'Payments approver', grants: [{ target: 'corp-ad', entitlement: 'Payments Approvers' }] },
      ],
      rules: [
        { name: 'Everyone', when: 'person.workerType in ["employee", "contractor"]', roles: ['Staff'] },
        { name: 'Sales department', when: 'person.department == "Sales"', roles: ['Sales'] },
        {
          name: 'Engineering department',
          when: 'person.department == "Engineering"',
          roles: ['Engineering'],
        },
        {
          name: 'Controllers approve payments',
          when: 'person.title == "Controller"',
          roles: ['Payments approver'],
        },
      ],
      sod: [
        {
          name: 'Sell and approve payments',
          reason: 'Whoever books a sale must not also approve the payment for it',
          left: [{ role: 'Sales' }],
          right: [{ target: 'corp-ad', entitlement: 'Payments Approvers' }],
          action: 'block',
        },
      ],
    });
  }, 300_000);

  afterAll(async () => {
    await h?.close();
    await slapd?.stop();
    await ad?.cleanup();
  });

  it('joiners: an HR import creates the accounts in slapd and Samba AD with the right groups', async () => {
    const seq = await h.lastSeq();
    await hr({});
    const set = await h.settled(seq, 'the joiners change set');
    expect(set.status, (await opLines(h.database, set.id)).join('\n')).toBe('applied');
    expect(set.trigger).toBe('hr_event');
    expect(set.peopleCount).toBe(10);

    const ldap = await ldapState();
    expect(Object.keys(ldap).sort()).toHaveLength(10);
    expect(ldap['alice.able']).toMatchObject({
      cn: ['Alice Able'],
      mail: ['alice.able@example.com'],
      departmentNumber: ['Sales'],
      groups: ['all-staff', 'sales'],
      locked: [],
    });
    // The manager's account was created first, so the report points at its DN.
    expect(ldap['alice.able']!.manager).toEqual(ldap['erin.boss']!.dn);
    expect(ldap['dan.dale']!.groups).toEqual(['all-staff', 'engineering']);
    expect(ldap['hana.hill']!.groups).toEqual(['all-staff']);

    const dir = await adState();
    expect(Object.keys(dir)).toHaveLength(10);
    expect(dir['alice.able']).toMatchObject({
      ou: ad.departmentOus.Sales,
      groups: ['All Staff', 'Sales'],
      enabled: true,
    });
    expect(dir['dan.dale']).toMatchObject({
      ou: ad.departmentOus.Engineering,
      groups: ['All Staff', 'Engineering'],
    });
    expect(dir['hana.hill']).toMatchObject({ ou: ad.usersDn, groups: ['All Staff'] });
  });

  it('a mover swaps groups on both targets and changes OU in AD (no privilege creep)', async () => {
    const seq = await h.lastSeq();
    await hr({ E003: { dept: 'Engineering', title: 'Engineer' } });
    const set = await h.settled(seq, 'the mover change set');
    expect(set.status, (await opLines(h.database, set.id)).join('\n')).toBe('applied');
    const ldap = await ldapState();
    expect(ldap['bob.brown']).toMatchObject({
      groups: ['all-staff', 'engineering'],
      departmentNumber: ['Engineering'],
      title: ['Engineer'],
    });
    const dir = await adState();
    expect(dir['bob.brown']).toMatchObject({
      ou: ad.departmentOus.Engineering,
      groups: ['All Staff', 'Engineering'],
      department: ['Engineering'],
    });
    // Nobody else was touched.
    expect((await getChangeSet(h.database.pool, set.id)).ops.every((o) => o.personName === 'Bob Brown')).toBe(
      true,
    );
  });

  it('a leaver is disabled everywhere and loses the groups; undo restores both directories exactly', async () => {
    const beforeLdap = await ldapState();
    const beforeAd = await adState();
    const seq = await h.lastSeq();
    await hr({ E010: { status: 'terminated', term: yesterday } });
    const set = await h.settled(seq, 'the leaver change set');
    expect(set.status, (await opLines(h.database, set.id)).join('\n')).toBe('applied');

    const ldap = await ldapState();
    expect(ldap['ivo.ives']!.locked).toHaveLength(1);
    expect(ldap['ivo.ives']!.groups).toEqual([]);
    const dir = await adState();
    expect(dir['ivo.ives']).toMatchObject({ enabled: false, groups: [] });
    // Quarantine: the LDAP account is kept (to be deleted after 30 days), not deleted now.
    const acc = await h.database.pool.query(
      `select t.name, a.state, a.quarantine_until from accounts a join targets t on t.id = a.target_id
       where a.person_id = $1 order by t.name`,
      [await h.personId('E010')],
    );
    expect(acc.rows.map((r) => r.state)).toEqual(['quarantined', 'quarantined']);

    const undoSeq = await h.lastSeq();
    const undo = await transaction(h.database, (tx) => undoChangeSet(tx, h.ctx(), { jobs: h.jobs }, set.id));
    expect(undo.status).toBe('approved');
    const undone = await h.settled(undoSeq, 'the undo change set');
    expect(undone.status, (await opLines(h.database, undone.id)).join('\n')).toBe('applied');
    expect(undone.undoOf).toBe(set.id);
    expect(await ldapState()).toEqual(beforeLdap);
    expect(await adState()).toEqual(beforeAd);
  });

  it('an SoD conflict is blocked with the rule name and reason, from a rule and from an explicit assignment', async () => {
    const seq = await h.lastSeq();
    await hr({ E004: { title: 'Controller' } });
    const set = await h.settled(seq, 'the change set of the new controller');
    expect(set.blocked).toEqual([
      expect.objectContaining({
        rule: 'Sell and approve payments',
        reason: 'Whoever books a sale must not also approve the payment for it',
        items: [expect.objectContaining({ targetName: 'corp-ad', key: 'Payments Approvers' })],
      }),
    ]);
    expect((await adState())['carol.cole']!.groups).toEqual(['All Staff', 'Sales']);

    const err = await transaction(h.database, (tx) =>
      assignRole(
        tx,
        h.ctx(),
        { jobs: h.jobs },
        {
          personId: set.blocked[0]!.personId,
          role: 'Payments approver',
          reason: 'covering the month end',
        },
      ),
    ).catch((e: unknown) => e);
    expect(isGatehouseError(err, 'sod_conflict')).toBe(true);
    expect((err as Error).message).toBe(
      'blocked by the SoD rule "Sell and approve payments": Whoever books a sale must not also approve the payment for it',
    );
  });

  it('a change set that would disable 30% of a target waits for approval, and applies once approved', async () => {
    // The HR source's own brake (5% of people leaving at once) would hold the import first; here the
    // provisioning brake is under test, so HR lets it through.
    await transaction(h.database, (tx) =>
      updateSource(tx, h.ctx(), 'workday', { brakeRatio: 1, brakeMinCount: 1000 }),
    );
    const seq = await h.lastSeq();
    await hr({
      E005: { status: 'terminated', term: yesterday },
      E006: { status: 'terminated', term: yesterday },
      E007: { status: 'terminated', term: yesterday },
    });
    const set = await h.settled(seq, 'the mass leaver change set');
    expect(set.status).toBe('awaiting_approval');
    expect(set.approvalReasons.map((r) => r.kind)).toEqual(['mass_change', 'mass_change']);
    expect(set.approvalReasons.map((r) => r.message).sort()).toEqual([
      expect.stringMatching(
        /^would disable or delete 3 of 10 active accounts on corp-ad \(30%, more than the 20% brake\)$/,
      ),
      expect.stringMatching(/^would disable or delete 3 of 10 active accounts on corp-ldap \(30%/),
    ]);
    // Nothing happened yet.
    expect((await adState())['dan.dale']!.enabled).toBe(true);

    await transaction(h.database, (tx) =>
      approveChangeSet(
        tx,
        h.ctx({ type: 'operator', id: 'op-2', name: 'second.pair' }),
        { jobs: h.jobs },
        set.id,
        'confirmed with HR',
      ),
    );
    const applied = await eventually(async () => {
      const s = await getChangeSet(h.database.pool, set.id);
      return ['applied', 'failed'].includes(s.status) ? s : undefined;
    });
    expect(applied.status, (await opLines(h.database, set.id)).join('\n')).toBe('applied');
    const dir = await adState();
    expect([dir['dan.dale']!.enabled, dir['eve.eld']!.enabled, dir['finn.ford']!.enabled]).toEqual([
      false,
      false,
      false,
    ]);
    expect(dir['gus.gray']!.enabled).toBe(true);
  });
});

async function eventually<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('gave up waiting');
}
