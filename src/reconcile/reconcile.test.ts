/**
 * Reconciliation against a real slapd: accounts made outside Gatehouse show up as orphans (with a suggestion), an
 * account of a terminated person is flagged and fixed by a remediation change set, an attribute changed directly in
 * the directory and a group added outside Gatehouse are flagged and fixed, findings close themselves on the next
 * run, an accepted risk stays accepted, and a read truncated to half (a wrong base DN) or failing part-way aborts
 * the run without touching anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../audit/index.ts';
import { transaction } from '../db/index.ts';
import { dismissDuplicate, listDuplicates } from '../identities/index.ts';
import { approveChangeSet } from '../provisioning/index.ts';
import {
  LDAP_ACCOUNT,
  hrRow,
  opLines,
  provisioningHarness,
  type ProvisioningHarness,
} from '../provisioning/test-support.ts';
import { updateTarget } from '../targets/index.ts';
import { slapdSkipReason, startSlapd, type Slapd } from '../testing/slapd.ts';
import {
  acceptFinding,
  linkObject,
  listFindings,
  listReconcileSchedules,
  listRuns,
  reconcileTarget,
  reconStatus,
  remediateFindings,
  setReconcileSchedule,
  type FindingView,
} from './index.ts';

describe.skipIf(slapdSkipReason())('reconciliation against slapd', { timeout: 180_000 }, () => {
  let h: ProvisioningHarness;
  let slapd: Slapd;
  const row = (id: string, first: string, last: string, status = 'active', term = '', dept = 'Sales') =>
    hrRow(id, first, last, { status, term, dept });
  const reconcile = (
    opts: {
      force?: boolean;
      mode?: 'full' | 'incremental';
      progressEvery?: number;
      onProgress?: (n: number) => void;
    } = {},
  ) => reconcileTarget(h.deps(), h.ctx(), { target: 'corp-ldap', pageSize: 2, ...opts });
  const open = async () => (await listFindings(h.database.pool, { target: 'corp-ldap', limit: 100 })).items;
  const line = (f: FindingView) =>
    `${f.kind} ${f.account?.replace(/^uid=([^,]+),.*$/, '$1') ?? f.personName ?? ''}`;
  const ldapConfig = (usersDn?: string) => {
    const { bindPassword: _, ...config } = slapd.connectorConfig();
    return usersDn ? { ...config, usersDn } : config;
  };
  const lines = async () => (await open()).map(line).sort();

  beforeAll(async () => {
    h = await provisioningHarness();
    slapd = await startSlapd();
    await h.addTarget('corp-ldap', 'ldap', slapd.connectorConfig());
    await h.addGroups('corp-ldap', ['staff', 'sales', 'admins']);
    await h.setPolicy({
      settings: { massChange: { threshold: 1, minimum: 1000 } },
      targets: {
        'corp-ldap': {
          account: LDAP_ACCOUNT,
          reconcile: { maxDrop: 0.2, inactiveDays: 90 },
        },
      },
      roles: [
        { name: 'Staff', grants: [{ target: 'corp-ldap', entitlement: 'staff' }] },
        { name: 'Sales', grants: [{ target: 'corp-ldap', entitlement: 'sales' }] },
      ],
      rules: [
        { name: 'Everyone', when: 'person.status != "terminated"', roles: ['Staff'] },
        { name: 'Sales', when: 'person.department == "Sales"', roles: ['Sales'] },
      ],
    });
    const seq = await h.lastSeq();
    await h.importHr([
      row('E1', 'Ann', 'Able'),
      row('E2', 'Bob', 'Baker'),
      row('E3', 'Cy', 'Cole', 'active', '', 'Support'),
      // Left before Gatehouse existed: no account was ever provisioned, but someone made one by hand.
      row('E9', 'Dora', 'Gone', 'terminated', '2024-06-30'),
      row('E10', 'Evelyn', 'Marchetti', 'active', '', 'Board'),
    ]);
    const set = await h.settled(seq, 'joiners');
    expect(set.status, (await opLines(h.database, set.id)).join('\n')).toBe('applied');
  });
  afterAll(async () => {
    await h?.close();
    await slapd?.stop();
  });

  it('a first run of a clean directory finds nothing wrong and correlates every account', async () => {
    const run = await reconcile();
    expect(run).toMatchObject({ status: 'completed', reason: null, findingsOpened: 0 });
    expect(run.counts).toMatchObject({ read: 4, new: 4, managed: 4, unmatched: 0 });
    expect(await lines()).toEqual([]);
    const again = await reconcile();
    expect(again.counts).toMatchObject({ read: 4, new: 0, changed: 0, gone: 0 });
  });

  it('outside changes become findings: an orphan, a leaver’s account, drift and a group granted outside', async () => {
    await slapd.apply(
      [
        `dn: uid=intruder,${slapd.usersDn}`,
        'objectClass: inetOrgPerson',
        'uid: intruder',
        'cn: Evelyn Marchetti',
        'sn: Marchetti',
        '',
        `dn: uid=dora.gone,${slapd.usersDn}`,
        'objectClass: inetOrgPerson',
        'uid: dora.gone',
        'cn: Dora Gone',
        'sn: Gone',
        'employeeNumber: E9',
        '',
      ].join('\n'),
      { add: true, as: 'root' },
    );
    await slapd.apply(
      [
        `dn: uid=bob.baker,${slapd.usersDn}`,
        'changetype: modify',
        'replace: sn',
        'sn: Hacker',
        '',
        `dn: cn=admins,${slapd.groupsDn}`,
        'changetype: modify',
        'add: member',
        `member: uid=ann.able,${slapd.usersDn}`,
        '',
      ].join('\n'),
      { as: 'root' },
    );
    const run = await reconcile();
    expect(run.status).toBe('completed');
    expect(run.counts).toMatchObject({
      read: 6,
      new: 2,
      changed: 2,
      managed: 4,
      rule: 1,
      unmatched: 1,
      suggested: 1,
    });
    expect(await lines()).toEqual([
      'drift bob.baker',
      'orphan intruder',
      'outside_grant ann.able',
      'terminated_active dora.gone',
    ]);
    const all = await open();
    const orphan = all.find((f) => f.kind === 'orphan')!;
    expect(orphan).toMatchObject({ severity: 'high', personId: null });
    // The orphan's display name is Evelyn Marchetti's: the suggestion names her.
    expect(orphan.evidence.suggestion).toMatchObject({ employeeId: 'E10', name: 'Evelyn Marchetti' });
    const drift = all.find((f) => f.kind === 'drift')!;
    expect(drift.evidence.differences).toEqual([{ attribute: 'sn', found: 'Hacker', expected: 'Baker' }]);
    expect(all.find((f) => f.kind === 'terminated_active')).toMatchObject({
      severity: 'critical',
      employeeId: 'E9',
    });
    expect(all.find((f) => f.kind === 'outside_grant')!.summary).toContain('admins');
    // The same state found again is the same findings, not new ones.
    const again = await reconcile();
    expect(again).toMatchObject({ findingsOpened: 0, findingsClosed: 0 });
    expect((await open()).map((f) => f.seq).sort()).toEqual(all.map((f) => f.seq).sort());
    const status = (await reconStatus(h.database.pool)).find((s) => s.target === 'corp-ldap')!;
    expect(status).toMatchObject({
      accounts: 6,
      unmatched: 1,
      open: { critical: 1, high: 1, medium: 2, low: 0 },
    });
  });

  it('a remediation change set waits for a second person, fixes the directory, and the next run closes the findings', async () => {
    const fixable = (await open()).filter((f) => f.kind !== 'orphan');
    const agent = h.ctx({ type: 'operator', id: 'op-1', name: 'Agent One' });
    const set = await transaction(h.database, (tx) =>
      remediateFindings(
        tx,
        agent,
        { jobs: h.jobs },
        fixable.map((f) => f.id),
      ),
    );
    expect(set.status).toBe('awaiting_approval');
    await expect(
      transaction(h.database, (tx) => approveChangeSet(tx, agent, { jobs: h.jobs }, set.id, 'me')),
    ).rejects.toMatchObject({ code: 'changeset_self_approval' });
    const done = await h.approveAsSecond(set, 'the remediation');
    const ops = await opLines(h.database, done.id);
    expect(done.status, ops.join('\n')).toBe('applied');
    expect(ops.map((l) => l.split(' ').slice(0, 2).join(' ')).sort()).toEqual([
      'done disable_account',
      'done remove_member',
      'done update_account',
    ]);
    const c = slapd.client('root');
    try {
      const [bob] = await c.searchAll(slapd.usersDn, { filter: '(uid=bob.baker)', attributes: ['sn'] });
      expect(bob!.attributes.sn).toEqual(['Baker']);
      const [ann] = await c.searchAll(slapd.usersDn, { filter: '(uid=ann.able)', attributes: ['memberOf'] });
      expect(ann!.attributes.memberOf!.some((g) => g.startsWith('cn=admins'))).toBe(false);
    } finally {
      await c.close();
    }
    const run = await reconcile();
    expect(run.findingsClosed).toBe(3);
    expect(await lines()).toEqual(['orphan intruder']);
    const closed = await listFindings(h.database.pool, { target: 'corp-ldap', status: 'closed' });
    expect(closed.items.map((f) => f.changeSetSeq)).toEqual([set.seq, set.seq, set.seq]);
    // The link of the leaver's account made by the rule is audited, as Gatehouse now manages it.
    const audit = await listAudit(h.database, { action: 'account.linked', limit: 10 });
    expect(audit.items.map((e) => (e.after as { account: string }).account)).toContain(
      `uid=dora.gone,${slapd.usersDn}`,
    );
  });

  it('an accepted risk needs a justification and a date, and stays accepted across runs', async () => {
    const [orphan] = await open();
    await expect(
      transaction(h.database, (tx) =>
        acceptFinding(tx, h.ctx(), orphan!.id, { justification: 'ok', until: new Date(0) }),
      ),
    ).rejects.toMatchObject({
      code: 'recon_invalid',
      problems: [{ field: 'justification' }, { field: 'until' }],
    });
    await expect(
      transaction(h.database, (tx) =>
        acceptFinding(tx, h.ctx(), orphan!.id, {
          justification: 'A valid justification here',
          until: new Date('someday'),
        }),
      ),
    ).rejects.toMatchObject({ problems: [{ field: 'until', message: 'must be a date' }] });
    await transaction(h.database, (tx) =>
      acceptFinding(tx, h.ctx(), orphan!.id, {
        justification: 'Break-glass account kept by the security team',
        until: new Date(Date.now() + 30 * 86_400_000),
      }),
    );
    const run = await reconcile();
    expect(run).toMatchObject({ findingsOpened: 0, findingsClosed: 0 });
    const accepted = await listFindings(h.database.pool, { target: 'corp-ldap', status: 'accepted' });
    expect(accepted.items.map(line)).toEqual(['orphan intruder']);
  });

  it('linking the orphan to its owner by hand closes it and keeps the link across runs', async () => {
    const evelyn = await h.personId('E10');
    const [orphan] = (await listFindings(h.database.pool, { target: 'corp-ldap', status: 'accepted' })).items;
    await transaction(h.database, (tx) => linkObject(tx, h.ctx(), orphan!.objectId!, evelyn));
    const run = await reconcile();
    expect(run.counts).toMatchObject({ manual: 1, unmatched: 0 });
    // Evelyn already has the account Gatehouse gave her: this one is a second account, not an orphan any more.
    expect(await lines()).toEqual(['outside_grant intruder']);
  });

  it('a read that finds half the accounts (a wrong base DN) aborts the run and changes nothing', async () => {
    await slapd.apply(
      [`dn: ou=emea,${slapd.usersDn}`, 'objectClass: organizationalUnit', 'ou: emea', ''].join('\n'),
      { add: true, as: 'root' },
    );
    for (const uid of ['e1', 'e2', 'e3', 'e4', 'e5', 'e6'])
      await slapd.apply(
        [
          `dn: uid=${uid},ou=emea,${slapd.usersDn}`,
          'objectClass: inetOrgPerson',
          `uid: ${uid}`,
          `cn: ${uid}`,
          `sn: ${uid}`,
          '',
        ].join('\n'),
        { add: true, as: 'root' },
      );
    const full = await reconcile();
    expect(full.counts).toMatchObject({ read: 12 });
    const before = await lines();
    await transaction(h.database, (tx) =>
      updateTarget(tx, h.ctx(), { secrets: h.secrets }, 'corp-ldap', {
        config: ldapConfig(`ou=emea,${slapd.usersDn}`),
      }),
    );
    const bad = await reconcile();
    expect(bad.status).toBe('aborted');
    expect(bad.reason).toContain('found 6 accounts, 50% fewer than the 12 of run');
    expect(bad.reason).toContain('no account was marked orphaned');
    expect(await lines()).toEqual(before);
    const [last] = await listRuns(h.database.pool, { target: 'corp-ldap', limit: 1 });
    expect(last).toMatchObject({ status: 'aborted', counts: { read: 6, previous: 12 } });
    await transaction(h.database, (tx) =>
      updateTarget(tx, h.ctx(), { secrets: h.secrets }, 'corp-ldap', {
        config: ldapConfig(),
      }),
    );
  });

  it('a read that fails part-way fails the run with the reason and changes nothing', async () => {
    const before = await lines();
    let restarting: Promise<void> | undefined;
    const run = await reconcile({
      progressEvery: 2,
      onProgress: (n) => {
        // slapd dies in the middle of the paged search (killed here, before the next page is asked for).
        if (n >= 4 && !restarting) restarting = slapd.restart({ crash: true });
      },
    });
    await restarting;
    expect(run.status).toBe('failed');
    expect(run.reason).toMatch(/^the read failed after \d+ accounts, so nothing was changed: /);
    expect(await lines()).toEqual(before);
    const ok = await reconcile();
    expect(ok.status).toBe('completed');
  });

  it('an incremental run reads only what changed since the last one and finds the same problems', async () => {
    await slapd.apply(
      [`dn: uid=cy.cole,${slapd.usersDn}`, 'changetype: modify', 'replace: cn', 'cn: Cyrus Cole', ''].join(
        '\n',
      ),
      { as: 'root' },
    );
    const run = await reconcile({ mode: 'incremental' });
    expect(run).toMatchObject({ status: 'completed', mode: 'incremental', findingsOpened: 1 });
    // Only the changed entry was read, not the 12 accounts of a full read.
    expect(run.counts.read).toBeLessThan(4);
    expect(await lines()).toContain('drift cy.cole');
    const full = await reconcile();
    expect(full).toMatchObject({ mode: 'full', findingsOpened: 0, findingsClosed: 0 });
  });

  it('two HR records of one human, each with an account, are a duplicate-people finding until HR decides', async () => {
    // Ann gets a personal email; "Anne Able" joins under a second id with the same one: HR matching flags the pair.
    const seq = await h.lastSeq();
    await h.importHr([
      hrRow('E1', 'Ann', 'Able', { personalEmail: 'ann@home.example' }),
      hrRow('E11', 'Anne', 'Able', { personalEmail: 'ann@home.example' }),
    ]);
    const set = await h.settled(seq, 'the second joiner');
    expect(set.status, (await opLines(h.database, set.id)).join('\n')).toBe('applied');
    const run = await reconcile();
    expect(run.findingsOpened).toBe(1);
    const dup = (await open()).find((f) => f.kind === 'duplicate_person')!;
    expect(dup).toMatchObject({ severity: 'medium', employeeId: 'E1' });
    expect(dup.summary).toBe(
      'Ann Able (E1) and Anne Able (E11) look like one person, and both have an account on corp-ldap',
    );
    expect(dup.evidence).toMatchObject({
      reasons: ['same personal email'],
      people: [
        { employeeId: 'E1', account: `uid=ann.able,${slapd.usersDn}` },
        { employeeId: 'E11', account: `uid=anne.able,${slapd.usersDn}` },
      ],
    });
    // Not something a change set can decide.
    await expect(
      transaction(h.database, (tx) => remediateFindings(tx, h.ctx(), { jobs: h.jobs }, [dup.id])),
    ).rejects.toMatchObject({
      code: 'finding_wrong_state',
      problems: [{ field: `finding #${dup.seq}`, message: expect.stringContaining('People › Duplicates') }],
    });
    // HR says they are two people: the next run closes it.
    const [pair] = await listDuplicates(h.database.pool, { state: 'open', withPersonal: false });
    await transaction(h.database, (tx) => dismissDuplicate(tx, h.ctx(), pair!.id));
    const after = await reconcile();
    expect(after.findingsClosed).toBe(1);
    expect((await open()).some((f) => f.kind === 'duplicate_person')).toBe(false);
  });

  it('a target can be reconciled on a schedule; a bad or too frequent schedule is refused at its field', async () => {
    const deps = { database: h.database, jobs: h.jobs };
    const set = await setReconcileSchedule(deps, h.ctx(), 'corp-ldap', {
      cron: '0 2 * * *',
      timeZone: 'Europe/Berlin',
      mode: 'incremental',
    });
    expect(set).toMatchObject({
      target: 'corp-ldap',
      cron: '0 2 * * *',
      timeZone: 'Europe/Berlin',
      mode: 'incremental',
    });
    expect(set!.next).toHaveLength(3);
    expect(new Date(set!.next[0]!).getTime()).toBeGreaterThan(Date.now());
    await expect(
      setReconcileSchedule(deps, h.ctx(), 'corp-ldap', {
        cron: 'every night',
        timeZone: 'UTC',
        mode: 'full',
      }),
    ).rejects.toMatchObject({
      code: 'recon_invalid',
      problems: [
        { field: 'cron', message: expect.stringMatching(/^cannot be read \(.+\): five fields are needed/) },
      ],
    });
    await expect(
      setReconcileSchedule(deps, h.ctx(), 'corp-ldap', { cron: '* * * * *', timeZone: 'UTC', mode: 'full' }),
    ).rejects.toMatchObject({
      code: 'recon_invalid',
      problems: [{ field: 'cron', message: expect.stringContaining('15 minutes') }],
    });
    await expect(
      setReconcileSchedule(deps, h.ctx(), 'corp-ldap', {
        cron: '0 2 * * *',
        timeZone: 'Mars/Olympus',
        mode: 'full',
      }),
    ).rejects.toMatchObject({ code: 'recon_invalid', problems: [{ field: 'timeZone' }] });
    await expect(
      setReconcileSchedule(deps, h.ctx(), 'nope', { cron: '0 2 * * *', timeZone: 'UTC', mode: 'full' }),
    ).rejects.toMatchObject({ code: 'target_not_found' });
    await setReconcileSchedule(deps, h.ctx(), 'corp-ldap', null);
    expect(await listReconcileSchedules(deps)).toEqual([]);
  });
});
