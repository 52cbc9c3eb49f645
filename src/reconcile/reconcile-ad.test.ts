/**
 * Reconciliation against a real Samba AD DC (the shared one, in a private OU tree): accounts made outside Gatehouse
 * show up as orphans, an enabled account of a terminated person is flagged and disabled by a remediation change set,
 * a displayName changed directly in the directory and a group added by hand are flagged as drift and outside grant
 * and fixed, an account whose lastLogonTimestamp is months old is inactive with its groups' monthly cost, findings
 * close themselves on the next run, and a read truncated to half (usersDn pointed at one sub-OU) aborts the run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoToFiletime } from '../connectors/active-directory/codec.ts';
import { adTestDomain, type AdTestDomain } from '../connectors/active-directory/test-fixture.ts';
import { Attribute, Change } from 'ldapts';
import { transaction } from '../db/index.ts';
import {
  hrRow,
  opLines,
  provisioningHarness,
  type ProvisioningHarness,
} from '../provisioning/test-support.ts';
import { updateEntitlement } from '../policy/index.ts';
import { updateTarget } from '../targets/index.ts';
import { sambaSkip } from '../testing/samba.ts';
import { listFindings, listRuns, reconcileTarget, remediateFindings, type FindingView } from './index.ts';

describe.skipIf(sambaSkip())('reconciliation against Samba AD', { timeout: 300_000 }, () => {
  let h: ProvisioningHarness;
  let ad: AdTestDomain;
  const TARGET = 'corp-ad';
  const reconcile = (opts: { force?: boolean } = {}) =>
    reconcileTarget(h.deps(), h.ctx(), { target: TARGET, pageSize: 3, ...opts });
  const open = async () => (await listFindings(h.database.pool, { target: TARGET, limit: 100 })).items;
  const cn = (dn: string | null | undefined) => /^CN=([^,]+)/i.exec(dn ?? '')?.[1];
  const line = (f: FindingView) => `${f.kind} ${cn(f.account) ?? f.personName ?? ''}`;
  const lines = async () => (await open()).map(line).sort();
  const targetConfig = (usersDn = ad.usersDn) => ({
    url: ad.dc.url,
    bindDn: ad.dc.adminUpn,
    baseDn: ad.dc.baseDn,
    usersDn,
    groupsDn: ad.groupsDn,
    upnSuffix: ad.dc.upnSuffix,
    tls: { ca: ad.dc.ca },
  });
  /** An account made by hand in the directory (through a connector Gatehouse does not know about). */
  const outsideUser = async (
    sam: string,
    attrs: Record<string, string>,
    opts: { ou?: string; enabled?: boolean } = {},
  ) => {
    const c = ad.open(opts.ou ? { usersDn: opts.ou } : {});
    try {
      return await c.create(
        'account',
        { sAMAccountName: sam, cn: sam, sn: sam, ...attrs },
        { password: ad.password(), enabled: opts.enabled ?? true },
      );
    } finally {
      await c.close();
    }
  };
  const rawEntry = async (sam: string, attributes: string[]) => {
    const { searchEntries } = await ad.raw.search(ad.root, {
      scope: 'sub',
      filter: `(sAMAccountName=${sam})`,
      attributes,
    });
    return searchEntries[0]!;
  };

  beforeAll(async () => {
    h = await provisioningHarness();
    ad = await adTestDomain('recon');
    await h.addTarget(TARGET, 'active-directory', { ...targetConfig(), bindPassword: ad.dc.adminPassword });
    await h.addGroups(TARGET, ['Recon Staff', 'Recon Sales', 'Recon Admins']);
    await h.setPolicy({
      settings: { massChange: { threshold: 1, minimum: 1000 } },
      targets: {
        [TARGET]: {
          account: {
            attributes: {
              sAMAccountName: 'person.username',
              givenName: 'person.firstName',
              sn: 'person.lastName',
              displayName: 'person.displayName',
              employeeID: 'person.employeeId',
            },
          },
          password: { initial: 'generate', mustChange: true },
          reconcile: { maxDrop: 0.2, inactiveDays: 90 },
        },
      },
      roles: [
        { name: 'Staff', grants: [{ target: TARGET, entitlement: 'Recon Staff' }] },
        { name: 'Sales', grants: [{ target: TARGET, entitlement: 'Recon Sales' }] },
      ],
      rules: [
        { name: 'Everyone', when: 'person.status != "terminated"', roles: ['Staff'] },
        { name: 'Sales', when: 'person.department == "Sales"', roles: ['Sales'] },
      ],
    });
    // The staff group costs 12.50 a month per member (a licence): an inactive member's saving.
    await transaction(h.database, (tx) =>
      updateEntitlement(tx, h.ctx(), TARGET, 'Recon Staff', { monthlyCost: 12.5 }),
    );
    const seq = await h.lastSeq();
    await h.importHr([
      hrRow('A1', 'Ada', 'Adler'),
      hrRow('A2', 'Ben', 'Birch'),
      hrRow('A3', 'Cleo', 'Crane', { dept: 'Support' }),
      // Left before Gatehouse existed; someone made her an account by hand afterwards.
      hrRow('A9', 'Dana', 'Left', { status: 'terminated', term: '2024-06-30' }),
      hrRow('A10', 'Evander', 'Quisling', { dept: 'Board' }),
    ]);
    const set = await h.settled(seq, 'joiners');
    expect(set.status, (await opLines(h.database, set.id)).join('\n')).toBe('applied');
  }, 300_000);
  afterAll(async () => {
    await h?.close();
    await ad?.cleanup();
  });

  it('a first run of a clean domain finds nothing wrong and correlates every account', async () => {
    const run = await reconcile();
    expect(run).toMatchObject({ status: 'completed', reason: null, findingsOpened: 0 });
    expect(run.counts).toMatchObject({ read: 4, new: 4, managed: 4, unmatched: 0 });
    expect(await lines()).toEqual([]);
  });

  it('outside changes become findings: orphan, leaver’s enabled account, drift, outside grant, inactive', async () => {
    await outsideUser('svc-intruder', { displayName: 'Evander Quisling' });
    await outsideUser('dana.left', { displayName: 'Dana Left', givenName: 'Dana', employeeID: 'A9' });
    const ben = await rawEntry('ben.birch', ['dn']);
    const ada = await rawEntry('ada.adler', ['dn']);
    const cleo = await rawEntry('cleo.crane', ['dn']);
    await ad.raw.modify(
      ben.dn,
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'displayName', values: ['Ben Rogue'] }),
      }),
    );
    await ad.raw.modify(
      `CN=Recon Admins,${ad.groupsDn}`,
      new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [ada.dn] }) }),
    );
    // Cleo last signed in 200 days ago (AD lets an administrator write lastLogonTimestamp, as a restore would).
    await ad.raw.modify(
      cleo.dn,
      new Change({
        operation: 'replace',
        modification: new Attribute({
          type: 'lastLogonTimestamp',
          values: [isoToFiletime(new Date(Date.now() - 200 * 86_400_000))],
        }),
      }),
    );
    const run = await reconcile();
    expect(run.status, run.reason ?? '').toBe('completed');
    expect(run.counts).toMatchObject({ read: 6, new: 2, managed: 4, rule: 1, unmatched: 1, suggested: 1 });
    expect(await lines()).toEqual([
      'drift Ben Birch',
      'inactive Cleo Crane',
      'orphan svc-intruder',
      'outside_grant Ada Adler',
      'terminated_active dana.left',
    ]);
    const all = await open();
    expect(all.find((f) => f.kind === 'orphan')!.evidence.suggestion).toMatchObject({
      employeeId: 'A10',
      name: 'Evander Quisling',
    });
    expect(all.find((f) => f.kind === 'drift')!.evidence.differences).toEqual([
      { attribute: 'displayName', found: 'Ben Rogue', expected: 'Ben Birch' },
    ]);
    expect(all.find((f) => f.kind === 'outside_grant')!.summary).toContain('Recon Admins');
    expect(all.find((f) => f.kind === 'terminated_active')).toMatchObject({
      severity: 'critical',
      employeeId: 'A9',
    });
    const inactive = all.find((f) => f.kind === 'inactive')!;
    expect(inactive.summary).toMatch(/has not signed in for (199|200|201) days/);
    // Cleo is in Support: only the staff group, and its licence is the saving.
    expect(inactive).toMatchObject({
      monthlyCost: 12.5,
      fix: 'Disable CN=Cleo Crane,' + ad.usersDn + ' (saves 12.50 a month)',
    });
    expect(inactive.evidence).toMatchObject({ inactiveDays: 90, groups: ['Recon Staff'] });
  });

  it('a remediation change set, approved by a second person, fixes the domain and the next run closes the findings', async () => {
    const fixable = (await open()).filter((f) => f.kind !== 'orphan' && f.kind !== 'inactive');
    const set = await transaction(h.database, (tx) =>
      remediateFindings(
        tx,
        h.ctx({ type: 'operator', id: 'op-1', name: 'Agent One' }),
        { jobs: h.jobs },
        fixable.map((f) => f.id),
      ),
    );
    expect(set.status).toBe('awaiting_approval');
    const done = await h.approveAsSecond(set, 'the remediation');
    const ops = await opLines(h.database, done.id);
    expect(done.status, ops.join('\n')).toBe('applied');
    expect(ops.map((l) => l.split(' ').slice(0, 2).join(' ')).sort()).toEqual([
      'done disable_account',
      'done remove_member',
      'done update_account',
    ]);
    const dana = await rawEntry('dana.left', ['userAccountControl']);
    expect(Number(dana.userAccountControl) & 2).toBe(2);
    expect((await rawEntry('ben.birch', ['displayName'])).displayName).toBe('Ben Birch');
    const ada = await rawEntry('ada.adler', ['memberOf']);
    expect(
      [ada.memberOf]
        .flat()
        .map(String)
        .some((g) => g.startsWith('CN=Recon Admins')),
    ).toBe(false);

    const run = await reconcile();
    expect(run.findingsClosed).toBe(3);
    expect(await lines()).toEqual(['inactive Cleo Crane', 'orphan svc-intruder']);
  });

  it('a read that finds half the accounts (usersDn pointed at one OU) aborts the run and changes nothing', async () => {
    const emea = `OU=EMEA,${ad.usersDn}`;
    await ad.raw.add(emea, { objectClass: ['top', 'organizationalUnit'] });
    for (let i = 1; i <= 6; i++) await outsideUser(`emea-${i}`, {}, { ou: emea, enabled: false });
    const full = await reconcile();
    expect(full.counts).toMatchObject({ read: 12 });
    const before = await lines();
    const configure = (usersDn?: string) =>
      transaction(h.database, (tx) =>
        updateTarget(tx, h.ctx(), { secrets: h.secrets }, TARGET, { config: targetConfig(usersDn) }),
      );
    await configure(emea);
    const bad = await reconcile();
    expect(bad.status).toBe('aborted');
    expect(bad.reason).toContain('found 6 accounts, 50% fewer than the 12 of run');
    expect(await lines()).toEqual(before);
    const [last] = await listRuns(h.database.pool, { target: TARGET, limit: 1 });
    expect(last).toMatchObject({ status: 'aborted', counts: { read: 6, previous: 12 } });
    // With --force the smaller read is believed: the accounts outside EMEA are gone from Gatehouse's view.
    const forced = await reconcile({ force: true });
    expect(forced).toMatchObject({ status: 'completed', counts: { read: 6, gone: 6 } });
    await configure();
  });
});
