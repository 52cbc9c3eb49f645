/**
 * The Active Directory connector against a real Samba AD DC (the shared one from src/testing/samba.ts): everything
 * AD-specific beyond the shared contract suite (contract.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sambaSkip } from '../../testing/samba.ts';
import { expectError } from '../kit/contract.ts';
import { isConnectorError } from '../kit/errors.ts';
import { Secret, type ConnectorObject, type ObjectRef } from '../kit/types.ts';
import { filetimeToIso, guidDn, guidToString, UAC } from './codec.ts';
import { adConfigSchema } from './config.ts';
import type { ActiveDirectoryConnector } from './connector.ts';
import { activeDirectoryConnector } from './index.ts';
import { adTestDomain, type AdTestDomain } from './test-fixture.ts';

const skip = sambaSkip();

const ref = (o: ConnectorObject): ObjectRef => ({ objectClass: o.objectClass, id: o.id, name: o.name });
const tag = randomBytes(2).toString('hex');
let seq = 0;
/** A fresh, short sAMAccountName (≤ 20 characters). */
const sam = (prefix = 'ad') => `${prefix}${tag}${++seq}`;

describe.skipIf(skip)('Active Directory connector (Samba AD DC)', () => {
  let d: AdTestDomain;
  let ad: ActiveDirectoryConnector;

  beforeAll(async () => {
    d = await adTestDomain('ad', ['Sales', 'Engineering']);
    ad = d.open();
  });

  afterAll(async () => {
    await ad?.close();
    await d?.cleanup();
  });

  async function newUser(
    extra: Record<string, string> = {},
    opts: { enabled?: boolean; mustChange?: boolean } = {},
  ) {
    const s = sam();
    const password = d.password();
    const user = await ad.create(
      'account',
      { sAMAccountName: s, givenName: 'Test', sn: s, displayName: `Test ${s}`, ...extra },
      {
        password,
        ...(opts.enabled === undefined ? {} : { enabled: opts.enabled }),
        ...(opts.mustChange ? { mustChangePassword: true } : {}),
      },
    );
    return { user, password, sam: s };
  }

  async function rawRead(dn: string, attributes: string[]) {
    const r = await d.raw.search(dn, { scope: 'base', attributes, explicitBufferAttributes: ['objectGUID'] });
    return r.searchEntries[0]!;
  }

  describe('configuration', () => {
    it('needs ldaps://, DNs inside the base DN and a DNS upn suffix, with messages that say so', () => {
      const r = adConfigSchema.safeParse({
        ...d.config,
        url: 'ldap://dc1.corp.example.test',
        upnSuffix: 'not a domain',
        departmentOus: { Sales: 'OU=Sales,DC=elsewhere,DC=test' },
      });
      expect(r.success).toBe(false);
      const issues = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      expect(issues).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^url: an ldaps:\/\/ URL.*only over an encrypted connection/),
          expect.stringMatching(/^upnSuffix: a DNS domain/),
          expect.stringMatching(/^departmentOus.Sales: .* is not inside baseDn/),
        ]),
      );
      expect(activeDirectoryConnector.secretFields).toEqual(['bindPassword']);
      expect(adConfigSchema.safeParse({ ...d.config, bindDn: 'CORP\\svc-gatehouse' }).success).toBe(true);
    });
  });

  describe('test()', () => {
    it('reaches the DC over LDAPS and reports the domain and its password policy', async () => {
      const r = await ad.test();
      expect(r.ok).toBe(true);
      expect(r.details.vendor).toMatch(/Samba/);
      expect(r.details.defaultNamingContext).toBe(d.dc.baseDn);
      const domain = await rawRead(d.dc.baseDn, ['minPwdLength']);
      expect(r.details.passwordPolicy).toContain(`at least ${String(domain.minPwdLength)} characters`);
      expect(r.details.extendedDn).toBe('yes');
    });

    it('names a missing OU as invalid_config', async () => {
      const c = d.open({ usersDn: `OU=Missing,${d.root}` });
      try {
        const e = await expectError(() => c.test(), 'invalid_config', 'test() with a missing usersDn');
        expect(e.message).toContain(`usersDn OU=Missing,${d.root} does not exist`);
      } finally {
        await c.close();
      }
    });

    it('a wrong bind password is auth_failed with AD sub-code 52e', async () => {
      // A dedicated account, so that the failed bind never counts towards locking out the Administrator.
      const { user } = await newUser();
      const c = d.open({
        bindDn: String(user.attributes.userPrincipalName),
        bindPassword: 'Not-the-Passw0rd',
      });
      try {
        const e = await expectError(() => c.test(), 'auth_failed', 'test() with a wrong password');
        expect(e.details.adCode).toBe('52e');
        expect(e.message).toContain('the user name or password is wrong');
        expect(e.message).not.toContain('Not-the-Passw0rd');
        expect(e.targetMessage).toContain('data 52e');
      } finally {
        await c.close();
      }
    });

    it('a bind account that cannot reach the DC is unreachable (retryable)', async () => {
      const c = d.open({ url: 'ldaps://127.0.0.1:1', connectTimeoutMs: 2000 });
      try {
        const e = await expectError(
          () => c.test(),
          ['unreachable', 'timeout'],
          'test() against a closed port',
        );
        expect(e.retryable).toBe(true);
      } finally {
        await c.close();
      }
    });
  });

  describe('accounts', () => {
    it('creates a user in one add: sAMAccountName, default UPN, cn/displayName, password, enabled', async () => {
      const s = sam();
      const displayName = `Zoë Ångström-Łukasz, "Jr" ${s}`;
      const password = d.password();
      const u = await ad.create(
        'account',
        {
          sAMAccountName: s,
          givenName: 'Zoë',
          sn: 'Ångström-Łukasz',
          displayName,
          mail: `${s}@example.test`,
        },
        { password },
      );
      expect(u.name).toBe(`CN=Zoë Ångström-Łukasz\\, \\"Jr\\" ${s},${d.usersDn}`);
      expect(u.attributes).toMatchObject({
        sAMAccountName: s,
        userPrincipalName: `${s}@${d.dc.upnSuffix}`,
        cn: displayName,
        displayName,
        givenName: 'Zoë',
        sn: 'Ångström-Łukasz',
      });
      expect(u.enabled).toBe(true);
      expect(u.locked).toBe(false);
      expect(u.memberOf).toEqual([]);
      // id is the objectGUID in canonical form: compare with the raw bytes read independently.
      const raw = await rawRead(u.name, ['objectGUID', 'userAccountControl', 'pwdLastSet']);
      expect(u.id).toBe(guidToString(raw.objectGUID as Buffer));
      expect(Number(raw.userAccountControl)).toBe(UAC.NORMAL_ACCOUNT);
      expect(BigInt(String(raw.pwdLastSet))).toBeGreaterThan(0n);
      // The initial password works, the attributes hide it and unicodePwd never reads back.
      await ad.authenticate(ref(u), password);
      expect(JSON.stringify(u)).not.toContain(password.reveal());
      // get by id alone (after a rename the name would be stale) and search by the unicode display name.
      const byId = await ad.get({ objectClass: 'account', id: u.id.toUpperCase() });
      expect(byId?.name).toBe(u.name);
      const found = [];
      for await (const o of ad.search({
        objectClass: 'account',
        filter: { op: 'eq', attribute: 'displayName', value: displayName },
      }))
        found.push(o.id);
      expect(found).toEqual([u.id]);
      const byGuid = [];
      for await (const o of ad.search({
        objectClass: 'account',
        filter: { op: 'eq', attribute: 'id', value: u.id },
      }))
        byGuid.push(o.name);
      expect(byGuid).toEqual([u.name]);
    });

    it('refuses a bad sAMAccountName, an enabled account without a password, and unicodePwd as an attribute', async () => {
      await expectError(
        () => ad.create('account', { sAMAccountName: 'x'.repeat(21) }, { password: d.password() }),
        'schema_violation',
        'a 21-character sAMAccountName',
      );
      const e = await expectError(
        () => ad.create('account', { sAMAccountName: sam() }),
        'schema_violation',
        'an enabled account without a password',
      );
      expect(e.message).toContain('needs an initial password');
      await expectError(
        () => ad.create('account', { sAMAccountName: sam(), unicodePwd: 'x' }, { password: d.password() }),
        'schema_violation',
        'unicodePwd as an attribute',
      );
    });

    it('an account created disabled cannot sign in (533); without a password it must stay disabled', async () => {
      const { user, password } = await newUser({}, { enabled: false });
      expect(user.enabled).toBe(false);
      const e = await expectError(
        () => ad.authenticate(ref(user), password),
        'auth_failed',
        'disabled sign-in',
      );
      expect(e.details.adCode).toBe('533');
      expect(e.message).toContain('the account is disabled (AD 533)');

      // Without a password an account can be created disabled only. (Windows then refuses to enable it with
      // 0000052D, which enable() explains; Samba lets it be enabled.)
      const bare = await ad.create('account', { sAMAccountName: sam() }, { enabled: false });
      expect(bare.enabled).toBe(false);
    });

    it('disable/enable flip ACCOUNTDISABLE only, keeping the other userAccountControl bits', async () => {
      const { user, password } = await newUser();
      const flags = UAC.NORMAL_ACCOUNT | UAC.DONT_EXPIRE_PASSWORD;
      await ad.update(ref(user), [{ attribute: 'userAccountControl', op: 'replace', values: [flags] }]);
      await ad.disable(ref(user));
      expect(Number((await rawRead(user.name, ['userAccountControl'])).userAccountControl)).toBe(
        flags | UAC.ACCOUNTDISABLE,
      );
      expect((await ad.get(ref(user)))?.enabled).toBe(false);
      await ad.disable(ref(user)); // idempotent
      await ad.enable(ref(user));
      expect(Number((await rawRead(user.name, ['userAccountControl'])).userAccountControl)).toBe(flags);
      expect((await ad.get(ref(user)))?.enabled).toBe(true);
      await ad.authenticate(ref(user), password);
    });

    it('"must change password" is pwdLastSet=0, at creation and on reset (773); a plain reset clears it', async () => {
      const { user, password } = await newUser({}, { mustChange: true });
      expect(String((await rawRead(user.name, ['pwdLastSet'])).pwdLastSet)).toBe('0');
      const e = await expectError(
        () => ad.authenticate(ref(user), password),
        'auth_failed',
        'must-change sign-in',
      );
      expect(e.details.adCode).toBe('773');
      expect(e.message).toContain('must be changed');

      const second = d.password();
      await ad.setPassword(ref(user), second);
      await ad.authenticate(ref(user), second);
      const third = d.password();
      await ad.setPassword(ref(user), third, { mustChangePassword: true });
      expect(
        (await expectError(() => ad.authenticate(ref(user), third), 'auth_failed', 'after reset')).details
          .adCode,
      ).toBe('773');
      await expectError(() => ad.authenticate(ref(user), second), 'auth_failed', 'the old password');
    });

    it('a refused password says what the domain policy requires, with the real minimum read from the domain', async () => {
      const { user, password } = await newUser();
      const domain = await rawRead(d.dc.baseDn, ['minPwdLength']);
      const min = Number(domain.minPwdLength);
      expect(min).toBeGreaterThan(3);
      const short = 'Ab1!'.slice(0, Math.min(4, min - 1));
      const tooShort = await expectError(
        () => ad.setPassword(ref(user), new Secret(short)),
        'policy_violation',
        'a short password',
      );
      expect(tooShort.details.adCode).toBe('0000052D');
      expect(tooShort.message).toContain(
        `password too short: the domain requires at least ${min} characters`,
      );
      expect(tooShort.message).not.toContain(short);
      expect(tooShort.targetMessage).toContain('0000052D');

      const simple = await expectError(
        () => ad.setPassword(ref(user), new Secret('abcdefghijkl')),
        'policy_violation',
        'a password without complexity',
      );
      expect(simple.message).toContain('password does not meet complexity requirements');

      // (Samba does not apply AD's "contains the account name" rule to administrator resets; errors.test.ts
      // covers how that refusal is explained when a Windows DC makes it.)
      // The refused passwords changed nothing.
      await ad.authenticate(ref(user), password);

      // At creation too, and no half-made account is left behind.
      const s = sam();
      const atCreate = await expectError(
        () => ad.create('account', { sAMAccountName: s }, { password: new Secret(short) }),
        'policy_violation',
        'creating with a short password',
      );
      expect(atCreate.message).toContain(`at least ${min} characters`);
      const left = [];
      for await (const o of ad.search({
        objectClass: 'account',
        filter: { op: 'eq', attribute: 'sAMAccountName', value: s },
      }))
        left.push(o);
      expect(left).toEqual([]);
    });

    it('a password settings object that applies to the account is the policy named in the message', async () => {
      const { user } = await newUser();
      const group = await ad.create('group', { cn: `pso-${sam()}` });
      await ad.addMember(ref(group), ref(user));
      const pso = `CN=gh-pso-${tag}-${randomBytes(3).toString('hex')},CN=Password Settings Container,CN=System,${d.dc.baseDn}`;
      await d.raw.add(pso, {
        objectClass: 'msDS-PasswordSettings',
        'msDS-PasswordSettingsPrecedence': '10',
        'msDS-PasswordReversibleEncryptionEnabled': 'FALSE',
        'msDS-PasswordHistoryLength': '0',
        'msDS-PasswordComplexityEnabled': 'FALSE',
        'msDS-MinimumPasswordLength': '14',
        'msDS-MinimumPasswordAge': '0',
        'msDS-MaximumPasswordAge': '-9223372036854775808',
        'msDS-LockoutThreshold': '0',
        'msDS-LockoutObservationWindow': '-600000000',
        'msDS-LockoutDuration': '-600000000',
        'msDS-PSOAppliesTo': group.name,
      });
      try {
        const e = await expectError(
          () => ad.setPassword(ref(user), new Secret('Ab1-Ab1-Ab1')),
          'policy_violation',
          'an 11-character password under a 14-character PSO',
        );
        expect(e.message).toMatch(
          /password too short: the password settings object "gh-pso-[^"]+" requires at least 14 characters/,
        );
        await ad.setPassword(ref(user), new Secret('onlylowercaseletters'));
      } finally {
        await d.raw.del(pso);
      }
    });

    it('locks out after the threshold of bad passwords (775), reads locked, and unlock clears it', async () => {
      const { user, password } = await newUser();
      for (let i = 0; i < d.dc.lockoutThreshold; i++)
        await expectError(
          () => ad.authenticate(ref(user), new Secret(`Wrong-${i}-Passw0rd`)),
          'auth_failed',
          `bad #${i}`,
        );
      const locked = await expectError(
        () => ad.authenticate(ref(user), password),
        'auth_failed',
        'locked sign-in',
      );
      expect(locked.details.adCode).toBe('775');
      expect(locked.message).toContain('locked out');
      expect((await ad.get(ref(user)))?.locked).toBe(true);
      expect(BigInt(String((await rawRead(user.name, ['lockoutTime'])).lockoutTime))).toBeGreaterThan(0n);

      await ad.unlock(ref(user));
      expect(String((await rawRead(user.name, ['lockoutTime'])).lockoutTime)).toBe('0');
      expect((await ad.get(ref(user)))?.locked).toBe(false);
      await ad.authenticate(ref(user), password);
    });

    it('an unknown user signs in with 52e (Samba does not reveal 525)', async () => {
      const e = await expectError(
        () => ad.authenticate(`nobody-${tag}@${d.dc.upnSuffix}`, d.password()),
        'auth_failed',
        'unknown user',
      );
      expect(['52e', '525']).toContain(e.details.adCode);
    });

    it('reads lastLogonTimestamp as lastLoginAt (FILETIME → ISO 8601)', async () => {
      const before = Date.now();
      const { user, password } = await newUser();
      expect(user.lastLoginAt).toBeUndefined();
      await ad.authenticate(ref(user), password);
      const got = await ad.get(ref(user));
      const raw = await rawRead(user.name, ['lastLogonTimestamp']);
      expect(got?.lastLoginAt).toBe(filetimeToIso(String(raw.lastLogonTimestamp)));
      expect(Date.parse(got!.lastLoginAt!)).toBeGreaterThanOrEqual(before - 60_000);
    });

    it('moves the account to its department OU at creation and when the department changes', async () => {
      const { user } = await newUser({ department: 'Sales' });
      expect(user.name).toMatch(new RegExp(`,${d.departmentOus.Sales}$`));
      await ad.update(ref(user), [
        { attribute: 'department', op: 'replace', values: ['Engineering'] },
        { attribute: 'title', op: 'replace', values: ['Engineer'] },
      ]);
      const moved = await ad.get({ objectClass: 'account', id: user.id, name: user.name });
      expect(moved?.name).toBe(user.name.replace(d.departmentOus.Sales!, d.departmentOus.Engineering!));
      expect(moved?.attributes).toMatchObject({ department: 'Engineering', title: 'Engineer' });
      // A department without an OU goes back to usersDn; the stale name still finds the account by id.
      await ad.update({ objectClass: 'account', id: user.id, name: user.name }, [
        { attribute: 'department', op: 'replace', values: ['Catering'] },
      ]);
      const back = await ad.get(ref(user));
      expect(back?.name).toMatch(new RegExp(`,${d.usersDn}$`));
      expect(back?.id).toBe(user.id);
    });

    it('an update of cn renames in place; rename() takes a cn or a DN and keeps the id', async () => {
      const { user } = await newUser();
      await ad.update(ref(user), [
        { attribute: 'cn', op: 'replace', values: [`Renamed ${user.attributes.sAMAccountName}`] },
      ]);
      const r1 = await ad.get(ref(user));
      expect(r1?.name).toBe(`CN=Renamed ${user.attributes.sAMAccountName},${d.usersDn}`);
      const r2 = await ad.rename(ref(r1!), `CN=Zoë Ø ${tag},${d.departmentOus.Sales}`);
      expect(r2).toEqual({
        objectClass: 'account',
        id: user.id,
        name: `CN=Zoë Ø ${tag},${d.departmentOus.Sales}`,
      });
      const missing = await expectError(
        () => ad.rename(r2, `CN=x,OU=Nope,${d.root}`),
        'not_found',
        'a move to a missing OU',
      );
      expect(missing.message).toMatch(/container \(OU\)/);
    });

    it('already_exists: the same sAMAccountName in another CN (00002071), and the same CN', async () => {
      const { user, sam: s } = await newUser();
      const e = await expectError(
        () => ad.create('account', { sAMAccountName: s, cn: `Other ${s}` }, { password: d.password() }),
        'already_exists',
        'duplicate sAMAccountName',
      );
      expect(e.details.adCode).toBe('00002071');
      expect(e.message).toContain(`"${s}" is already used`);
      await expectError(
        () =>
          ad.create(
            'account',
            { sAMAccountName: sam(), cn: String(user.attributes.cn) },
            { password: d.password() },
          ),
        'already_exists',
        'duplicate CN',
      );
    });

    it('not_found for a GUID that names nothing, and delete() refuses a group GUID given as an account', async () => {
      const gone: ObjectRef = { objectClass: 'account', id: '0badc0de-0000-4000-8000-000000000000' };
      expect(await ad.get(gone)).toBeUndefined();
      for (const [what, call] of [
        ['update', () => ad.update(gone, [{ attribute: 'title', op: 'replace', values: ['x'] }])],
        ['setPassword', () => ad.setPassword(gone, d.password())],
        ['unlock', () => ad.unlock(gone)],
        ['disable', () => ad.disable(gone)],
        ['delete', () => ad.delete(gone)],
      ] as const) {
        const e = await expectError(call, 'not_found', what);
        expect(e.message).toContain(gone.id);
      }
      const g = await ad.create('group', { cn: `g-${sam()}` });
      await expectError(
        () => ad.delete({ objectClass: 'account', id: g.id }),
        'not_found',
        'a group as an account',
      );
      expect(await ad.get(ref(g))).toBeDefined();
    });
  });

  describe('groups', () => {
    it('nested groups: memberOf holds direct groups, effectiveGroups the transitive closure', async () => {
      const { user } = await newUser();
      const outer = await ad.create('group', { cn: `outer-${sam()}` });
      const inner = await ad.create('group', { cn: `inner-${sam()}`, description: 'nested in outer' });
      expect(inner.attributes.sAMAccountName).toBe(inner.attributes.cn);
      expect(Number(inner.attributes.groupType)).toBe(-2147483646); // global security
      await ad.addMember(ref(outer), ref(inner));
      await ad.addMember(ref(inner), ref(user));
      await ad.addMember(ref(inner), ref(user)); // idempotent

      const u = await ad.get(ref(user));
      expect(u?.memberOf).toEqual([inner.id]);
      const effective = (await ad.effectiveGroups(ref(user))).map((g) => g.id).sort();
      expect(effective).toEqual([inner.id, outer.id].sort());
      const innerNow = await ad.get(ref(inner));
      expect(innerNow?.attributes.member).toEqual([user.name]);
      expect(innerNow?.attributes.memberOf).toEqual([outer.name]);

      await ad.removeMember(ref(inner), ref(user));
      await ad.removeMember(ref(inner), ref(user)); // idempotent
      expect((await ad.get(ref(user)))?.memberOf).toEqual([]);
      expect(await ad.effectiveGroups(ref(user))).toEqual([]);
    });

    it('concurrent adds to one group are merged, and one bad member fails alone', async () => {
      const users = await Promise.all([1, 2, 3, 4, 5, 6].map(() => newUser().then((u) => u.user)));
      const g = await ad.create('group', { cn: `many-${sam()}` });
      await ad.addMember(ref(g), ref(users[0]!)); // already a member when the merge comes
      const ghost: ObjectRef = { objectClass: 'account', id: '0badc0de-0000-4000-8000-000000000003' };
      const results = await Promise.allSettled([
        ...users.map((u) => ad.addMember(ref(g), ref(u))),
        ad.addMember(ref(g), ghost),
        ad.addMember(ref(g), ref(users[1]!)), // the same member twice in one merge
      ]);
      expect(results.map((r) => r.status)).toEqual([
        ...users.map(() => 'fulfilled'),
        'rejected',
        'fulfilled',
      ]);
      const failed = (results[users.length] as PromiseRejectedResult).reason as unknown;
      expect(isConnectorError(failed, 'not_found')).toBe(true);
      expect((await ad.get(ref(g)))?.attributes.member).toEqual(
        expect.arrayContaining(users.map((u) => u.name)),
      );
      for (const u of users) expect((await ad.get(ref(u)))?.memberOf).toEqual([g.id]);
      await Promise.all(users.map((u) => ad.removeMember(ref(g), ref(u))));
      expect((await ad.get(ref(g)))?.attributes.member).toBeUndefined();
    });

    it('membership with a missing account or group is not_found naming the missing side', async () => {
      const { user } = await newUser();
      const g = await ad.create('group', { cn: `g-${sam()}` });
      const ghost: ObjectRef = { objectClass: 'account', id: '0badc0de-0000-4000-8000-000000000001' };
      const e1 = await expectError(() => ad.addMember(ref(g), ghost), 'not_found', 'missing member');
      expect(e1.message).toContain(`account ${ghost.id}`);
      const e2 = await expectError(
        () => ad.addMember({ objectClass: 'group', id: '0badc0de-0000-4000-8000-000000000002' }, ref(user)),
        'not_found',
        'missing group',
      );
      expect(e2.message).toContain('group 0badc0de-0000-4000-8000-000000000002');
    });
  });

  describe('sync', () => {
    it('reports outside changes and deletions by uSNChanged, resumes from the token, refuses another DC', async () => {
      const { user: changed } = await newUser();
      const { user: removed } = await newUser();
      const start = await ad.sync('account', null);
      expect(start.changes).toEqual([]);

      await d.raw.modify(guidDn(changed.id), [
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'description', values: ['outside'] }),
        }),
      ]);
      await ad.delete(ref(removed));
      const { user: added } = await newUser();

      const first = await ad.sync('account', start.token);
      const byId = new Map(first.changes.map((c) => [c.object.id, c]));
      expect(byId.get(changed.id)?.type).toBe('upsert');
      expect((byId.get(changed.id)?.object as ConnectorObject).attributes.description).toEqual(['outside']);
      expect(byId.get(added.id)?.type).toBe('upsert');
      expect(byId.get(removed.id)).toMatchObject({
        type: 'delete',
        object: { objectClass: 'account', id: removed.id },
      });
      expect(first.more).toBeUndefined();

      const quiet = await ad.sync('account', first.token);
      expect(quiet.changes).toEqual([]);

      // Batches: with a batch size of 1, three changes take three calls and the tokens chain.
      const small = d.open({ syncBatchSize: 1 });
      try {
        const seen: string[] = [];
        let t = start.token;
        for (let i = 0; i < 10; i++) {
          const r = await small.sync('account', t);
          seen.push(...r.changes.map((c) => c.object.id));
          t = r.token;
          if (!r.more) break;
        }
        expect(seen.sort()).toEqual([changed.id, removed.id, added.id].sort());
      } finally {
        await small.close();
      }

      const forged = Buffer.from(
        JSON.stringify({ v: 1, usn: '1', dc: 'CN=NTDS Settings,CN=DC9,CN=Servers,DC=x' }),
      ).toString('base64url');
      const e = await expectError(() => ad.sync('account', forged), 'conflict', 'a token from another DC');
      expect(e.message).toContain('another domain controller');
      await expectError(() => ad.sync('account', 'garbage'), 'invalid_config', 'a garbage token');
    });

    it('group sync sees membership changes (they change the group, not the account)', async () => {
      const { user } = await newUser();
      const g = await ad.create('group', { cn: `g-${sam()}` });
      const start = await ad.sync('group', null);
      await ad.addMember(ref(g), ref(user));
      const r = await ad.sync('group', start.token);
      const change = r.changes.find((c) => c.object.id === g.id);
      expect((change?.object as ConnectorObject | undefined)?.attributes.member).toEqual([user.name]);
    });
  });

  describe('schema()', () => {
    it('describes user and group from the DC schema, with AD types and read-only system attributes', async () => {
      const s = await ad.schema();
      const account = s.objectClasses.find((c) => c.name === 'account')!;
      const attr = (n: string) => account.attributes.find((a) => a.name.toLowerCase() === n.toLowerCase());
      expect(account.nativeName).toBe('user');
      expect(attr('sAMAccountName')).toMatchObject({ required: true, multiValued: false, writable: true });
      expect(attr('department')).toMatchObject({ type: 'string', writable: true });
      expect(attr('pwdLastSet')).toMatchObject({ type: 'integer' });
      expect(attr('objectGUID')).toMatchObject({ type: 'binary', writable: false });
      expect(attr('memberOf')).toMatchObject({ writable: false, multiValued: true });
      expect(attr('manager')).toMatchObject({ type: 'reference' });
      expect(s.entitlementTypes).toEqual([expect.objectContaining({ name: 'group', objectClass: 'group' })]);
      const group = s.objectClasses.find((c) => c.name === 'group')!;
      expect(group.attributes.find((a) => a.name === 'member')).toMatchObject({
        type: 'reference',
        multiValued: true,
      });
    });
  });

  it('never lets a password reach an error, a log line or a returned object', async () => {
    const password = new Secret('Ab1');
    try {
      await ad.create('account', { sAMAccountName: sam() }, { password });
      expect.unreachable('a 3-character password was accepted');
    } catch (e) {
      expect(isConnectorError(e, 'policy_violation')).toBe(true);
      expect(
        JSON.stringify({ m: (e as Error).message, d: (e as { details?: unknown }).details }),
      ).not.toContain('Ab1');
    }
  });
});
