/**
 * Safe deprovisioning and the engine's guarantees, against a real slapd: a leaver is quarantined and deleted when
 * the quarantine is over (undo recreates the account with its groups, and says what cannot come back); someone who
 * returns inside the quarantine is re-enabled with their groups; re-running applied operations changes nothing
 * (no duplicates); an explicit assignment expires by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transaction } from '../db/index.ts';
import { fixedClock } from '../kit/clock.ts';
import { silentLogger } from '../kit/log.ts';
import { testContext } from '../testing/context.ts';
import { slapdSkipReason, startSlapd, type Slapd } from '../testing/slapd.ts';
import { applyChangeSet } from './apply.ts';
import { assignRole, getChangeSet, undoChangeSet } from './changesets.ts';
import { planAndRecord } from './plan.ts';
import { opLines, provisioningHarness, type ProvisioningHarness } from './test-support.ts';

const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);

describe.skipIf(slapdSkipReason())(
  'deprovisioning and guarantees against slapd',
  { timeout: 120_000 },
  () => {
    let h: ProvisioningHarness;
    let slapd: Slapd;
    const rows: Record<string, string> = {};
    const row = (
      id: string,
      first: string,
      last: string,
      status = 'active',
      term = '',
      dept = 'Sales',
      manager = '',
    ) =>
      (rows[id] = [
        id,
        first,
        last,
        '',
        '',
        '',
        dept,
        'Rep',
        'CC1',
        'Berlin',
        'Europe/Berlin',
        manager,
        'employee',
        status,
        '2020-01-01',
        term,
      ].join(','));
    const hr = () => h.importHr(Object.values(rows));

    async function entry(uid: string) {
      const c = slapd.client('root');
      try {
        const [e] = await c.searchAll(slapd.usersDn, {
          filter: `(uid=${uid})`,
          attributes: ['uid', 'cn', 'sn', 'entryUUID', 'memberOf', 'pwdAccountLockedTime'],
        });
        return e
          ? {
              id: e.attributes.entryUUID![0],
              cn: e.attributes.cn,
              groups: (e.attributes.memberOf ?? []).map((g) => /^cn=([^,]+)/.exec(g)![1]).sort(),
              locked: (e.attributes.pwdAccountLockedTime ?? []).length > 0,
            }
          : undefined;
      } finally {
        await c.close();
      }
    }

    async function managerOf(uid: string): Promise<string[]> {
      const c = slapd.client('root');
      try {
        const [e] = await c.searchAll(slapd.usersDn, { filter: `(uid=${uid})`, attributes: ['manager'] });
        return e?.attributes.manager ?? [];
      } finally {
        await c.close();
      }
    }

    beforeAll(async () => {
      h = await provisioningHarness();
      slapd = await startSlapd();
      await h.addTarget('corp-ldap', 'ldap', slapd.connectorConfig());
      await h.addGroups('corp-ldap', ['staff', 'sales', 'vpn']);
      await h.setPolicy({
        settings: { massChange: { threshold: 1, minimum: 1000 } },
        targets: {
          'corp-ldap': {
            account: {
              namingAttribute: 'uid',
              attributes: {
                uid: 'person.username',
                cn: 'person.displayName',
                sn: 'person.lastName',
                manager: 'manager.account',
              },
            },
            deprovision: { action: 'delete', quarantineDays: 30 },
          },
        },
        roles: [
          { name: 'Staff', grants: [{ target: 'corp-ldap', entitlement: 'staff' }] },
          { name: 'Sales', grants: [{ target: 'corp-ldap', entitlement: 'sales' }] },
          { name: 'Remote access', grants: [{ target: 'corp-ldap', entitlement: 'vpn' }] },
        ],
        rules: [
          { name: 'Everyone but the board', when: 'person.department != "Board"', roles: ['Staff'] },
          { name: 'Sales', when: 'person.department == "Sales"', roles: ['Sales'] },
        ],
      });
      row('E1', 'Lea', 'Leaver');
      row('E2', 'Ron', 'Return');
      row('E3', 'Ida', 'Idem');
      row('E4', 'Tim', 'Temp');
      const seq = await h.lastSeq();
      await hr();
      const set = await h.settled(seq, 'joiners');
      expect(set.status, (await opLines(h.database, set.id)).join('\n')).toBe('applied');
    }, 120_000);
    afterAll(async () => {
      await h?.close();
      await slapd?.stop();
    });

    it('a leaver is quarantined, deleted when the quarantine is over, and undo brings the account back as it was', async () => {
      const before = await entry('lea.leaver');
      expect(before).toMatchObject({ groups: ['sales', 'staff'], locked: false });
      let seq = await h.lastSeq();
      row('E1', 'Lea', 'Leaver', 'terminated', yesterday);
      await hr();
      const leaver = await h.settled(seq, 'the leaver');
      expect(leaver.status).toBe('applied');
      expect(await entry('lea.leaver')).toMatchObject({ id: before!.id, groups: [], locked: true });

      // The scheduled recompute at the end of the quarantine (31 days on) deletes the account.
      const later = fixedClock(new Date(Date.now() + 31 * 86_400_000).toISOString());
      const personId = await h.personId('E1');
      const del = await transaction(h.database, (tx) =>
        planAndRecord(
          tx,
          testContext({ clock: later }),
          { jobs: h.jobs },
          [personId],
          'Scheduled: quarantine over',
          { trigger: 'schedule' },
        ),
      );
      expect(del).toMatchObject({ status: 'approved', opCount: 1 });
      const deleted = await h.settled(del!.seq - 1, 'the delete');
      expect(deleted.status).toBe('applied');
      expect(await entry('lea.leaver')).toBeUndefined();
      const view = await getChangeSet(h.database.pool, deleted.id);
      expect(view.ops[0]).toMatchObject({ kind: 'delete_account', reversible: false });
      expect(view.ops[0]!.irreversibleReason).toContain('new id');

      seq = await h.lastSeq();
      const undo = await transaction(h.database, (tx) =>
        undoChangeSet(tx, h.ctx(), { jobs: h.jobs }, deleted.id),
      );
      const undone = await h.settled(seq, 'the undo of the delete');
      expect(undone.status, (await opLines(h.database, undone.id)).join('\n')).toBe('applied');
      expect(undo.opCount).toBe(1);
      const back = await entry('lea.leaver');
      // Recreated as it was when deleted: disabled, no groups (the leaver had lost them), with a new id.
      expect(back).toMatchObject({ cn: ['Lea Leaver'], locked: true, groups: [] });
      expect(back!.id).not.toBe(before!.id);
    });

    it('someone who comes back inside the quarantine is re-enabled with their groups', async () => {
      const before = await entry('ron.return');
      let seq = await h.lastSeq();
      row('E2', 'Ron', 'Return', 'terminated', yesterday);
      await hr();
      await h.settled(seq, 'the leaver');
      expect(await entry('ron.return')).toMatchObject({ locked: true, groups: [] });

      seq = await h.lastSeq();
      row('E2', 'Ron', 'Return', 'active', '');
      await hr();
      const rehire = await h.settled(seq, 'the rehire');
      expect(rehire.status, (await opLines(h.database, rehire.id)).join('\n')).toBe('applied');
      expect(await entry('ron.return')).toEqual(before);
      const acc = await h.database.pool.query(
        `select state, quarantine_until from accounts where person_id = $1`,
        [await h.personId('E2')],
      );
      expect(acc.rows).toEqual([{ state: 'active', quarantine_until: null }]);
    });

    it('re-running applied operations changes nothing and duplicates nothing', async () => {
      const personId = await h.personId('E3');
      const { rows: sets } = await h.database.pool.query<{ id: string }>(
        `select distinct c.id, c.seq from change_sets c join change_ops o on o.change_set_id = c.id
       where o.person_id = $1 order by c.seq limit 1`,
        [personId],
      );
      const joiner = sets[0]!.id;
      const auditBefore = (await h.database.pool.query('select count(*)::int as n from audit_events')).rows[0]
        .n as number;
      const before = await entry('ida.idem');
      // As if a worker died after the target changed but before the status was written: every operation runs again.
      await h.database.pool.query(
        `update change_ops set status = 'pending' where change_set_id = $1 and person_id = $2`,
        [joiner, personId],
      );
      await h.database.pool.query(`update change_sets set status = 'approved' where id = $1`, [joiner]);
      await h.database.pool.query(`delete from accounts where person_id = $1`, [personId]);
      const r = await applyChangeSet(
        {
          database: h.database,
          secrets: h.secrets,
          log: silentLogger,
          clock: { now: () => new Date() },
          ids: () => crypto.randomUUID(),
          jobs: h.jobs,
        },
        joiner,
      );
      expect(r.status).toBe('applied');
      const view = await getChangeSet(h.database.pool, joiner);
      const mine = view.ops.filter((o) => o.personId === personId);
      expect(mine.map((o) => [o.kind, o.noop])).toEqual([
        ['create_account', true],
        ['add_member', true],
        ['add_member', true],
      ]);
      expect(await entry('ida.idem')).toEqual(before);
      const accounts = await h.database.pool.query(
        `select object_id from accounts where person_id = $1 and state <> 'deleted'`,
        [personId],
      );
      expect(accounts.rows).toEqual([{ object_id: before!.id }]);
      // The adopted account is recorded; no account event is audited for changes that did not happen.
      const audited = await h.database.pool.query(
        `select action from audit_events where seq > $1 and action like 'account.%'`,
        [auditBefore],
      );
      expect(audited.rows).toEqual([]);
    });

    it('an explicit assignment gives access until it expires, then the access goes by itself', async () => {
      const personId = await h.personId('E4');
      const until = new Date(Date.now() + 4000);
      let seq = await h.lastSeq();
      await transaction(h.database, (tx) =>
        assignRole(
          tx,
          h.ctx(),
          { jobs: h.jobs },
          { personId, role: 'Remote access', validUntil: until, reason: 'travelling this week' },
        ),
      );
      await h.settled(seq, 'the assignment');
      expect((await entry('tim.temp'))!.groups).toEqual(['sales', 'staff', 'vpn']);
      seq = await h.lastSeq();
      const expired = await h.settled(seq, 'the expiry');
      expect(expired.trigger).toBe('schedule');
      expect(expired.status).toBe('applied');
      expect((await entry('tim.temp'))!.groups).toEqual(['sales', 'staff']);
    });
    it('a report whose manager gets an account later is recomputed to point at it', async () => {
      let seq = await h.lastSeq();
      row('M1', 'Meg', 'Manager', 'active', '', 'Board');
      row('R1', 'Rex', 'Report', 'active', '', 'Sales', 'M1');
      await hr();
      await h.settled(seq, 'the report joining');
      expect(await entry('meg.manager')).toBeUndefined();
      expect(await managerOf('rex.report')).toEqual([]);

      seq = await h.lastSeq();
      row('M1', 'Meg', 'Manager', 'active', '', 'Sales');
      await hr();
      // The mover's set, then the recompute it schedules (which may be done before the first is looked at).
      const sets = await h.settledAll(seq, 2, "the manager's account and the report recomputed");
      const set = sets.find((s) => s.trigger === 'hr_event')!;
      expect(set.status).toBe('applied');
      const follow = sets.find((s) => s.seq > set.seq && s.trigger === 'schedule');
      expect(follow).toMatchObject({
        trigger: 'schedule',
        title: 'Scheduled: their manager has a new account',
        status: 'applied',
      });
      expect(await managerOf('rex.report')).toEqual([`uid=meg.manager,${slapd.usersDn}`]);
    });
  },
);
