/**
 * The provisioning engine against a third-party SCIM server (SCIMMY + SCIMMY Routers), Okta-style profile: a 429
 * with Retry-After is waited out and retried (the operation records its attempts), groups are granted through
 * SCIM PATCH, and a leaver is deactivated (active=false), kept rather than deleted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transaction } from '../db/index.ts';
import { discoverEntitlements } from '../policy/index.ts';
import { openTargetForTest } from '../targets/test-support.ts';
import { startScimPeer, type ScimPeer } from '../testing/scim-peer.ts';
import { getChangeSet } from './changesets.ts';
import { opLines, provisioningHarness, type ProvisioningHarness } from './test-support.ts';

const KEY = Buffer.alloc(32, 3);
const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);

describe('provisioning against a SCIM peer (Okta profile)', { timeout: 120_000 }, () => {
  let h: ProvisioningHarness;
  let peer: ScimPeer;
  const row = (status = 'active', term = '') =>
    [
      'S1',
      'Sam',
      'Scim',
      '',
      '',
      '',
      'Sales',
      'Rep',
      'CC1',
      'Berlin',
      'Europe/Berlin',
      '',
      'employee',
      status,
      '2020-01-01',
      term,
    ].join(',');

  const user = () => [...peer.store.list('Users')].find((u) => u.userName === 'sam.scim');

  beforeAll(async () => {
    h = await provisioningHarness();
    peer = await startScimPeer();
    await h.addTarget('app', 'scim', {
      baseUrl: peer.url,
      auth: { type: 'bearer', token: peer.token },
      profile: 'okta',
    });
    const c = await openTargetForTest(h.database, 'app', KEY);
    try {
      await c.create('group', { displayName: 'App Users' });
      await transaction(h.database, (tx) => discoverEntitlements(tx, h.ctx(), 'app', c));
    } finally {
      await c.close();
    }
    await h.setPolicy({
      targets: {
        app: {
          account: {
            attributes: {
              userName: 'person.username',
              displayName: 'person.displayName',
              'name.givenName': 'person.firstName',
              'name.familyName': 'person.lastName',
            },
          },
          deprovision: { action: 'disable', quarantineDays: 30 },
        },
      },
      roles: [{ name: 'App', grants: [{ target: 'app', entitlement: 'App Users' }] }],
      rules: [{ name: 'Everyone', when: 'true', roles: ['App'] }],
    });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await peer?.close();
  });

  it('waits out a 429 with Retry-After and retries, then grants the group', async () => {
    peer.throttle(1, '1');
    const seq = await h.lastSeq();
    await h.importHr([row()]);
    const set = await h.settled(seq, 'the joiner');
    expect(set.status, (await opLines(h.database, set.id)).join('\n')).toBe('applied');
    const view = await getChangeSet(h.database.pool, set.id);
    expect(view.ops.map((o) => [o.kind, o.attempts])).toEqual([
      ['create_account', 2],
      ['add_member', 1],
    ]);
    const u = user();
    expect(u).toMatchObject({ userName: 'sam.scim', displayName: 'Sam Scim', active: true });
    const group = [...peer.store.list('Groups')].find((g) => g.displayName === 'App Users');
    expect((group?.members as { value: string }[] | undefined)?.map((m) => m.value)).toEqual([u!.id]);
  });

  it('deactivates a leaver (active=false) and keeps the account', async () => {
    const seq = await h.lastSeq();
    await h.importHr([row('terminated', yesterday)]);
    const set = await h.settled(seq, 'the leaver');
    expect(set.status, (await opLines(h.database, set.id)).join('\n')).toBe('applied');
    expect(user()).toMatchObject({ active: false });
    const group = [...peer.store.list('Groups')].find((g) => g.displayName === 'App Users');
    expect((group?.members as unknown[] | undefined) ?? []).toEqual([]);
  });
});
