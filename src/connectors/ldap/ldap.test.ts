/**
 * The LDAP connector against a real OpenLDAP slapd (src/testing/slapd.ts): the shared contract suite, then what is
 * particular to LDAP — TLS, bind errors, password policy, disable vs lockout, renames and moves, ugly names in DNs
 * and filters, paging against a server size limit, posix allocation, binary values and sync.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlapd, slapdSkipReason, type Slapd } from '../../testing/slapd.ts';
import { contractSuite, expectError } from '../kit/contract.ts';
import type { ContractFixture } from '../kit/contract-types.ts';
import { ConnectorError, isConnectorError } from '../kit/errors.ts';
import { Secret, type Connector, type ConnectorObject, type ObjectRef } from '../kit/types.ts';
import { systemClock, type Clock } from '../../kit/clock.ts';
import { silentLogger } from '../../kit/log.ts';
import { LdapClient, first, values, type LdapModification } from './client.ts';
import { DISABLED_LOCK_TIME, ldapConnector, type LdapConfigInput, type LdapConnector } from './index.ts';
import { rdn } from './escape.ts';
import { UGLY_VALUES } from './fixtures/ugly.ts';
import vectors from './fixtures/rfc4514-4515.json' with { type: 'json' };

const skip = slapdSkipReason();
const GOOD = 'Corr3ct-horse-battery';
const SIZE_LIMIT = 20;

describe.skipIf(skip)(skip || 'ldap connector against OpenLDAP slapd', () => {
  let slapd: Slapd;
  const opened: Connector[] = [];

  beforeAll(async () => {
    slapd = await startSlapd({ sizeLimit: SIZE_LIMIT });
  });
  afterAll(async () => {
    for (const c of opened) await c.close().catch(() => undefined);
    await slapd?.stop();
  });

  function config(over: Partial<LdapConfigInput> = {}): LdapConfigInput {
    return { ...slapd.connectorConfig(), passwordPolicyDn: slapd.policyDn, ...over };
  }
  function open(over: Partial<LdapConfigInput> = {}, clock: Clock = systemClock): Connector {
    const c = ldapConnector.open(ldapConnector.configSchema.parse(config(over)), {
      log: silentLogger,
      clock,
    });
    opened.push(c);
    return c;
  }
  const userClient = (dn: string, password: string) =>
    new LdapClient({ url: slapd.url, bindDn: dn, bindPassword: new Secret(password) });
  async function canBind(dn: string, password: string): Promise<boolean> {
    return new LdapClient({ url: slapd.url }).verifyPassword(dn, new Secret(password));
  }
  async function rootRead(dn: string, attrs: string[]) {
    const c = slapd.client();
    try {
      return await c.read(dn, attrs);
    } finally {
      await c.close();
    }
  }
  const uniq = () => randomUUID().slice(0, 8);
  const person = (uid: string, extra: Record<string, string | string[]> = {}) => ({
    uid,
    cn: `Person ${uid}`,
    sn: 'Tester',
    ...extra,
  });

  contractSuite((): ContractFixture => {
    const fixture: ContractFixture = {
      name: 'ldap (OpenLDAP slapd)',
      connect: async () => open(),
      account: (n, opts) =>
        opts?.unicode
          ? {
              uid: `zoë-${n}-Łukasz, "Jr"`,
              cn: `Zoë Ångström-Łukasz, "Jr" ${n}`,
              sn: 'Ångström',
              givenName: 'Zoë',
              mail: `zoe.${n}@example.test`,
            }
          : {
              uid: `user${n}`,
              cn: `User ${n}`,
              sn: `Surname${n}`,
              givenName: 'Given',
              mail: `user${n}@example.test`,
            },
      accountUpdate: {
        deltas: [
          { attribute: 'mail', op: 'replace', values: ['changed@example.test'] },
          { attribute: 'description', op: 'add', values: ['first', 'second'] },
          { attribute: 'givenName', op: 'replace', values: [] },
        ],
        expect: { mail: 'changed@example.test', description: ['first', 'second'], givenName: null },
      },
      renamed: (_current, n) => `uid=renamed${n},${slapd.usersDn}`,
      group: (n) => ({ cn: `group ${n}, "quoted"`, description: `Group ${n}` }),
      password: { good: GOOD, bad: 'abc12' },
      checkPassword: async (ref, password) => canBind(ref.name!, password),
      lock: async (ref) => {
        for (let i = 0; i < slapd.passwordPolicy.maxFailure; i++) await canBind(ref.name!, 'wrong-password');
      },
      outsideChange: async (ref) => {
        await slapd.apply(
          `dn: ${ref.name}\nchangetype: modify\nreplace: description\ndescription: outside ${uniq()}\n`,
        );
      },
      pageSize: 3,
    };
    return fixture;
  }, 'ldap (OpenLDAP slapd)');

  describe('connections', () => {
    it('test() reports the vendor and naming context over StartTLS', async () => {
      const c = open({ tls: { mode: 'starttls', ca: slapd.caCert } });
      const r = await c.test();
      expect(r.details).toMatchObject({
        vendor: 'OpenLDAP',
        namingContexts: slapd.baseDn,
        tls: 'starttls',
        passwordModify: 'yes',
        pagedResults: 'yes',
      });
      expect(JSON.stringify(r)).not.toContain(slapd.bindPassword);
    });

    it('works over LDAPS with the CA, and refuses an untrusted certificate as invalid_config', async () => {
      const ok = open({ url: slapd.ldapsUrl, tls: { mode: 'ldaps', ca: slapd.caCert } });
      expect((await ok.test()).details.tls).toBe('ldaps');
      const untrusted = open({ url: slapd.ldapsUrl });
      const e = await expectError(() => untrusted.test(), 'invalid_config', 'LDAPS without the CA');
      expect(e.message).toMatch(/TLS/);
      expect(e.retryable).toBe(false);
      const unverified = open({ url: slapd.ldapsUrl, tls: { rejectUnauthorized: false } });
      expect((await unverified.test()).ok).toBe(true);
    });

    it('StartTLS without the CA is refused, not silently downgraded', async () => {
      const c = open({ tls: { mode: 'starttls' } });
      await expectError(() => c.test(), 'invalid_config', 'StartTLS without the CA');
    });

    it('a wrong bind password is auth_failed naming the bind DN, not retryable', async () => {
      const c = open({ bindPassword: 'not-the-password' });
      const e = await expectError(() => c.test(), 'auth_failed', 'bad bind password');
      expect(e.message).toContain(slapd.bindDn);
      expect(e.targetMessage).toBeTruthy();
      expect(e.retryable).toBe(false);
      expect(e.message).not.toContain('not-the-password');
    });

    it('an unreachable port is unreachable and retryable', async () => {
      const port = await new Promise<number>((resolve) => {
        const s = createServer().listen(0, '127.0.0.1', () => {
          const p = (s.address() as { port: number }).port;
          s.close(() => resolve(p));
        });
      });
      const c = open({ url: `ldap://127.0.0.1:${port}` });
      const e = await expectError(() => c.test(), 'unreachable', 'closed port');
      expect(e.retryable).toBe(true);
      expect(e.message).toContain(`127.0.0.1:${port}`);
    });

    it('reconnects (StartTLS and bind again) after the server dropped the connection', async () => {
      const c = open({ tls: { mode: 'starttls', ca: slapd.caCert } });
      const a = await c.create('account', person(`reconnect-${uniq()}`));
      await slapd.restart();
      // ldapts alone would carry on over a fresh, unauthenticated connection and read nothing.
      expect((await c.get(a))?.id).toBe(a.id);
      await c.update(a, [{ attribute: 'title', op: 'replace', values: ['after restart'] }]);
      expect((await c.get(a))?.attributes.title).toEqual(['after restart']);
    });

    it('test() names a container that does not exist', async () => {
      const c = open({ usersDn: `ou=nowhere,${slapd.baseDn}` });
      const e = await expectError(() => c.test(), 'invalid_config', 'missing usersDn');
      expect(e.message).toContain(`ou=nowhere,${slapd.baseDn}`);
    });

    it('the configuration schema refuses inconsistent TLS and bad DNs, and marks the password secret', () => {
      expect(ldapConnector.secretFields).toEqual(['bindPassword']);
      const bad = (over: Partial<LdapConfigInput>) =>
        ldapConnector.configSchema.safeParse(config(over)).success;
      expect(bad({ tls: { mode: 'ldaps' } })).toBe(false);
      expect(bad({ url: slapd.ldapsUrl, tls: { mode: 'starttls' } })).toBe(false);
      expect(bad({ baseDn: 'not a dn' })).toBe(false);
      expect(bad({ url: 'http://x' })).toBe(false);
      expect(bad({})).toBe(true);
    });
  });

  describe('passwords, disable and lockout', () => {
    it('a password the policy refuses is policy_violation with a clear sentence; the account is not left behind', async () => {
      const c = open();
      const uid = `pw-${uniq()}`;
      const e = await expectError(
        () => c.create('account', person(uid), { password: new Secret('short') }),
        'policy_violation',
        'create with a short password',
      );
      expect(e.message).toContain(`at least ${slapd.passwordPolicy.minLength} characters`);
      expect(e.message).toContain(`uid=${uid}`);
      expect(e.targetMessage).toBe('Password fails quality checking policy');
      expect(e.message).not.toContain('short,');
      expect(await rootRead(`uid=${uid},${slapd.usersDn}`, ['uid'])).toBeUndefined();

      // Without the policy DN configured, still policy_violation with the server's words.
      const plain = open({ passwordPolicyDn: undefined });
      const a = await plain.create('account', person(`pw-${uniq()}`));
      const e2 = await expectError(
        () => plain.setPassword(a, new Secret('tiny')),
        'policy_violation',
        'short',
      );
      expect(e2.message).toContain('password policy');
      expect(e2.message).toContain(a.name);
    });

    it('setPassword uses the password-modify operation (the server stores a hash) and handles must-change', async () => {
      const c = open();
      const a = await c.create('account', person(`pw-${uniq()}`), {
        password: new Secret(GOOD),
        mustChangePassword: true,
      });
      const stored = await rootRead(a.name, ['userPassword', 'pwdReset']);
      expect(first(stored!, 'userPassword')).toMatch(/^\{SSHA\}/);
      expect(first(stored!, 'pwdReset')).toBe('TRUE');
      expect(await canBind(a.name, GOOD)).toBe(true);
      await c.setPassword(a, new Secret(`${GOOD}-2`));
      expect(first((await rootRead(a.name, ['pwdReset']))!, 'pwdReset')).toBeUndefined();
      expect(await canBind(a.name, `${GOOD}-2`)).toBe(true);
      await c.setPassword(a, new Secret(`${GOOD}-3`), { mustChangePassword: true });
      expect(first((await rootRead(a.name, ['pwdReset']))!, 'pwdReset')).toBe('TRUE');
      expect((await c.get(a, ['mail']))?.attributes).not.toHaveProperty('userPassword');
      expect(Object.keys((await c.get(a))!.attributes).map((k) => k.toLowerCase())).not.toContain(
        'userpassword',
      );
    });

    it('disable is a permanent ppolicy lock; a lockout is told apart; enable and unlock each undo only their own', async () => {
      const c = open();
      const a = await c.create('account', person(`lock-${uniq()}`), { password: new Secret(GOOD) });
      await c.disable(a);
      expect(first((await rootRead(a.name, ['pwdAccountLockedTime']))!, 'pwdAccountLockedTime')).toBe(
        DISABLED_LOCK_TIME,
      );
      expect(await c.get(a)).toMatchObject({ enabled: false, locked: false });
      expect(await canBind(a.name, GOOD)).toBe(false);
      await c.unlock(a); // not a lockout: stays disabled
      expect(await c.get(a)).toMatchObject({ enabled: false, locked: false });
      await c.enable(a);
      expect(await c.get(a)).toMatchObject({ enabled: true, locked: false });
      expect(await canBind(a.name, GOOD)).toBe(true);

      for (let i = 0; i < slapd.passwordPolicy.maxFailure; i++) await canBind(a.name, 'wrong-password');
      expect(await c.get(a)).toMatchObject({ enabled: true, locked: true });
      expect(await canBind(a.name, GOOD)).toBe(false);
      await c.enable(a); // enable does not clear a lockout
      expect(await c.get(a)).toMatchObject({ locked: true });
      await c.unlock(a);
      expect(await c.get(a)).toMatchObject({ enabled: true, locked: false });
      expect(await canBind(a.name, GOOD)).toBe(true);
      expect(await rootRead(a.name, ['pwdFailureTime']).then((e) => values(e!, 'pwdFailureTime'))).toEqual(
        [],
      );
    });

    it('creates an account disabled when asked', async () => {
      const c = open();
      const a = await c.create('account', person(`off-${uniq()}`), {
        password: new Secret(GOOD),
        enabled: false,
      });
      expect(a.enabled).toBe(false);
      expect(await canBind(a.name, GOOD)).toBe(false);
      // ppolicy clears pwdAccountLockedTime when an administrator sets a password; the connector puts it back.
      await c.setPassword(a, new Secret(`${GOOD}-new`));
      expect((await c.get(a))?.enabled).toBe(false);
      expect(await canBind(a.name, `${GOOD}-new`)).toBe(false);
      await c.enable(a);
      expect(await canBind(a.name, `${GOOD}-new`)).toBe(true);
    });

    it('refuses userPassword as an attribute: passwords go through setPassword', async () => {
      const c = open();
      const a = await c.create('account', person(`upw-${uniq()}`));
      await expectError(
        () => c.update(a, [{ attribute: 'userPassword', op: 'replace', values: ['plain'] }]),
        'schema_violation',
        'userPassword through update',
      );
      await expectError(
        () => c.create('account', person(`upw-${uniq()}`, { userPassword: 'plain' })),
        'schema_violation',
        'userPassword through create',
      );
    });
  });

  describe('names', () => {
    for (const value of UGLY_VALUES.filter((v) => !v.includes('\u0000'))) {
      it(`round-trips the uid ${JSON.stringify(value)} in DNs, filters, renames and groups`, async () => {
        const c = open();
        const tag = uniq();
        const a = await c.create('account', {
          uid: value,
          cn: `${value} ${tag}`,
          sn: value.trim() || 'blank',
        });
        const got = await c.get({ objectClass: 'account', id: a.id });
        expect(got?.name).toBe(a.name);
        expect(got?.attributes.uid).toEqual([value]);
        const byName = await c.get({
          objectClass: 'account',
          id: '',
          name: `${rdn('uid', value)},${slapd.usersDn}`,
        });
        expect(byName?.id).toBe(a.id);

        const found: ConnectorObject[] = [];
        for await (const o of c.search({
          objectClass: 'account',
          filter: { op: 'eq', attribute: 'cn', value: `${value} ${tag}` },
        }))
          found.push(o);
        expect(found.map((o) => o.id)).toEqual([a.id]);
        const sub: ConnectorObject[] = [];
        for await (const o of c.search({
          objectClass: 'account',
          filter: {
            op: 'and',
            // A whitespace-only substring is insignificant under RFC 4518 string preparation.
            filters: value.trim()
              ? [
                  { op: 'sw', attribute: 'cn', value },
                  { op: 'ew', attribute: 'cn', value: tag },
                ]
              : [{ op: 'co', attribute: 'cn', value: tag }],
          },
        }))
          sub.push(o);
        expect(sub.map((o) => o.id)).toEqual([a.id]);

        const g = await c.create('group', { cn: `${value} group ${tag}` });
        await c.addMember(g, a);
        expect((await c.get(a))?.memberOf).toEqual([g.id]);
        const moved = await c.rename(a, `renamed ${value}`);
        expect(moved.id).toBe(a.id);
        const after = await c.get(moved);
        expect(after?.attributes.uid).toEqual([`renamed ${value}`]);
        expect(after?.memberOf).toEqual([g.id]);
        // refint/memberof rewrote the group's member value to the new DN
        expect((await c.get(g))?.attributes.member).toEqual([moved.name]);
        await c.removeMember(g, moved);
        expect((await c.get(g))?.attributes.member).toEqual([]);
        await c.delete(g);
        await c.delete(moved);
        expect(await c.get(moved)).toBeUndefined();
      });
    }

    it('every RFC 4515 example filter is accepted by slapd through our parser', async () => {
      const client = slapd.client('manager');
      try {
        for (const f of vectors.rfc4515Filters) {
          await expect(
            client.searchAll(slapd.baseDn, { filter: f, attributes: ['1.1'] }),
            f,
          ).resolves.toBeDefined();
        }
      } finally {
        await client.close();
      }
    });

    it('a unicode value hex-escaped in a filter finds the entry (UTF-8 decoding of \\XX)', async () => {
      const c = open();
      const a = await c.create('account', person(`lučić-${uniq()}`, { sn: 'Lučić' }));
      const client = slapd.client('manager');
      try {
        const exact = await client.searchAll(slapd.usersDn, {
          filter: '(sn=Lu\\c4\\8di\\c4\\87)',
          attributes: ['entryUUID'],
        });
        expect(exact.map((e) => first(e, 'entryUUID'))).toContain(a.id);
      } finally {
        await client.close();
      }
    });

    it('rename moves an entry to another container (new superior) and a stale name falls back to the id', async () => {
      const c = open();
      const leavers = `leavers-${uniq()}`;
      const ou = `ou=${leavers},${slapd.baseDn}`;
      await slapd.apply(`dn: ${ou}\nchangetype: add\nobjectClass: organizationalUnit\nou: ${leavers}\n`);
      const a = await c.create('account', person(`mover-${uniq()}`));
      const moved = await c.rename(a, `uid=moved-${uniq()},${ou}`);
      expect(moved.name?.toLowerCase()).toContain(ou.toLowerCase());
      expect((await c.get({ objectClass: 'account', id: a.id, name: a.name }))?.name).toBe(moved.name);
      // Writes addressed by the stale DN still reach the entry through its id.
      await c.update({ objectClass: 'account', id: a.id, name: a.name }, [
        { attribute: 'title', op: 'replace', values: ['Moved'] },
      ]);
      expect((await c.get(moved))?.attributes.title).toEqual(['Moved']);
      // A stale DN that now names another entry is not written to.
      const squatter = await c.create('account', person(a.attributes.uid as string));
      expect(squatter.name).toBe(a.name);
      await c.update({ objectClass: 'account', id: a.id, name: a.name }, [
        { attribute: 'title', op: 'replace', values: ['Again'] },
      ]);
      expect((await c.get(squatter))?.attributes.title).toBeUndefined();
      expect((await c.get(moved))?.attributes.title).toEqual(['Again']);
      await c.delete({ objectClass: 'account', id: a.id, name: a.name });
      expect(await c.get(squatter)).toBeDefined();
      expect(await c.get(moved)).toBeUndefined();
    });

    it('errors name the DN and the attribute', async () => {
      const c = open();
      const uid = `err-${uniq()}`;
      const missing = await expectError(
        () => c.create('account', { uid, cn: 'No Surname' }),
        'schema_violation',
        'missing sn',
      );
      expect(missing.message).toContain(`uid=${uid},${slapd.usersDn}`);
      expect(missing.message).toContain('sn');
      expect(missing.targetMessage).toMatch(/sn/);
      const a = await c.create('account', person(uid));
      const badMail = await expectError(
        () => c.update(a, [{ attribute: 'mail', op: 'replace', values: ['zoë@exämple.test'] }]),
        'schema_violation',
        'non-ASCII mail (IA5String)',
      );
      expect(badMail.message).toContain(a.name);
      expect(badMail.message).toContain('attribute mail');
      const unknown = await expectError(
        () => c.update(a, [{ attribute: 'favouriteColour', op: 'replace', values: ['blue'] }]),
        'schema_violation',
        'undefined attribute',
      );
      expect(unknown.message).toContain('favouriteColour');
      await expectError(() => c.create('account', person(uid)), 'already_exists', 'duplicate');
      await expectError(
        () => c.create('account', { cn: 'x', sn: 'y' }),
        'schema_violation',
        'no naming attribute',
      );
    });
  });

  describe('groups', () => {
    it('creates a group with members, keeps groupOfNames valid when emptied, and clears memberOf on delete', async () => {
      const c = open();
      const a = await c.create('account', person(`gm-${uniq()}`));
      const b = await c.create('account', person(`gm-${uniq()}`));
      const g = await c.create('group', { cn: `team ${uniq()}`, member: [a.name] });
      expect(g.attributes.member).toEqual([a.name]);
      expect((await c.get(a))?.memberOf).toEqual([g.id]);
      await c.addMember(g, b);
      await c.addMember(g, b); // idempotent
      expect([...((await c.get(g))?.attributes.member as string[])].sort()).toEqual([a.name, b.name].sort());
      await c.removeMember(g, a);
      await c.removeMember(g, b); // the last member: the placeholder keeps the entry valid
      await c.removeMember(g, b); // idempotent
      expect((await c.get(g))?.attributes.member).toEqual([]);
      expect(values((await rootRead(g.name, ['member']))!, 'member')).toEqual(['']);
      await c.addMember(g, a);
      await c.delete(g);
      expect((await c.get(a))?.memberOf).toEqual([]);
      await expectError(() => c.addMember(g, a), 'not_found', 'add to a deleted group');
    });

    it('addMember of a missing account is not_found even though LDAP would accept any DN', async () => {
      const c = open();
      const g = await c.create('group', { cn: `ghosts ${uniq()}` });
      const ghost: ObjectRef = {
        objectClass: 'account',
        id: randomUUID(),
        name: `uid=ghost-${uniq()},${slapd.usersDn}`,
      };
      await expectError(() => c.addMember(g, ghost), 'not_found', 'ghost member');
      expect((await c.get(g))?.attributes.member).toEqual([]);
      // Deleted through a ref without its id, a moment after the add gave its DN: not a dangling member either.
      const gone = await c.create('account', person(`gone-${uniq()}`));
      await c.delete({ objectClass: 'account', id: '', name: gone.name });
      await expectError(() => c.addMember(g, gone), 'not_found', 'a member deleted by name');
      expect(values((await rootRead(g.name, ['member']))!, 'member')).toEqual(['']);
    });
  });

  describe('merged group membership', () => {
    interface MemberWrite {
      dn: string;
      changes: string[];
      /** The LDAP result code of a failed modify; undefined when it succeeded. */
      rc?: number | undefined;
    }
    /**
     * Wraps the connector's LDAP client: records every search and every modify of `member` (with its outcome), and
     * lets a test fail a modify before it is sent.
     */
    function spy(
      c: Connector,
      fail?: (dn: string, changes: readonly LdapModification[]) => Error | undefined,
    ) {
      const client = (c as LdapConnector).client;
      const searches: string[] = [];
      const writes: MemberWrite[] = [];
      const search = client.search.bind(client);
      const modify = client.modify.bind(client);
      client.search = (base, opts) => {
        searches.push(opts?.filter ?? '');
        return search(base, opts);
      };
      client.modify = async (dn, changes, opts) => {
        if (!changes.some((ch) => ch.attribute === 'member')) return modify(dn, changes, opts);
        const write: MemberWrite = {
          dn,
          changes: changes.map((ch) => `${ch.operation} ${ch.values.length}`),
        };
        writes.push(write);
        try {
          const injected = fail?.(dn, changes);
          if (injected) throw injected;
          await modify(dn, changes, opts);
        } catch (e) {
          write.rc = e instanceof ConnectorError ? Number(e.details.resultCode ?? -1) : -1;
          throw e;
        }
      };
      return { searches, writes };
    }
    const people = (c: Connector, n: number) =>
      Promise.all(Array.from({ length: n }, () => c.create('account', person(`mm-${uniq()}`))));
    const memberNames = async (c: Connector, g: ObjectRef) =>
      [...((await c.get(g))?.attributes.member as string[])].sort();
    const names = (list: ConnectorObject[]) => list.map((o) => o.name).sort();

    it('concurrent adds to one group are one lookup and one modify, and memberOf follows', async () => {
      for (const recentDnMs of [0, 1000]) {
        const c = open({ recentDnMs });
        const g = await c.create('group', { cn: `merged ${uniq()}` });
        const ps = await people(c, 6);
        const s = spy(c);
        await Promise.all(ps.map((p) => c.addMember(g, p)));
        // The first is sent at once; the five that came while it was in flight go together.
        expect(s.writes).toEqual([
          { dn: g.name, changes: ['add 1'] },
          { dn: g.name, changes: ['add 5'] },
        ]);
        // One identity check per modify, not per member; none when the adds' post-reads gave every DN just now.
        expect(s.searches).toHaveLength(recentDnMs ? 0 : 2);
        expect((c as LdapConnector).membershipWrites()).toEqual({ requests: 6, writes: 2 });
        expect(await memberNames(c, g)).toEqual(names(ps));
        for (const p of ps) expect((await c.get(p))?.memberOf).toEqual([g.id]);
      }
    });

    it('uses a DN the directory gave within recentDnMs and searches for older ones', async () => {
      let now = Date.parse('2026-11-23T09:00:00Z');
      const c = open({ recentDnMs: 1000 }, { now: () => new Date(now) });
      const g = await c.create('group', { cn: `recent ${uniq()}` });
      const [a] = await people(c, 1);
      const s = spy(c);
      now += 1000;
      await c.addMember(g, a!); // both DNs exactly 1 s old: still used
      expect(s.searches).toEqual([]);
      now += 1;
      const [b] = await people(c, 1);
      await c.addMember(g, b!); // the group's DN is now older than 1 s: looked up (and only it)
      expect(s.searches).toEqual([`(|(entryUUID=${g.id}))`]);
      await c.removeMember(g, b!); // the search just now gave the group's DN again, b's add its own
      expect(s.searches).toHaveLength(1);
      expect(s.writes.map((w) => w.dn)).toEqual([g.name, g.name, g.name]);
      expect(await memberNames(c, g)).toEqual([a!.name]);
      // Reads note where an entry is too: a get makes an old DN fresh.
      now += 5000;
      await c.get(b!);
      await c.get(g);
      const reads = s.searches.length;
      await c.addMember(g, b!);
      expect(s.searches).toHaveLength(reads);
      expect(await memberNames(c, g)).toEqual(names([a!, b!]));
    });

    it('a group renamed by another tool inside recentDnMs: the write misses, both DNs are looked up, it lands', async () => {
      const c = open({ recentDnMs: 60_000 });
      const g = await c.create('group', { cn: `outside ${uniq()}` });
      const ps = await people(c, 3);
      const newCn = `moved outside ${uniq()}`;
      await slapd.apply(`dn: ${g.name}\nchangetype: modrdn\nnewrdn: ${rdn('cn', newCn)}\ndeleteoldrdn: 1\n`);
      const moved = `${rdn('cn', newCn)},${slapd.groupsDn}`;
      const s = spy(c);
      await Promise.all(ps.map((p) => c.addMember(g, p)));
      expect(s.writes).toEqual([
        { dn: g.name, changes: ['add 1'], rc: 32 }, // noSuchObject: the remembered DN is gone
        { dn: moved, changes: ['add 1'] }, // after a search for both
        { dn: moved, changes: ['add 2'] }, // that search gave the group's new DN
      ]);
      expect(s.searches).toHaveLength(1);
      expect(
        values((await rootRead(moved, ['member']))!, 'member')
          .filter(Boolean)
          .sort(),
      ).toEqual(names(ps));
      for (const p of ps) expect((await c.get(p))?.memberOf).toEqual([g.id]);
      // Deleted by another tool: the same retry, and then the truth (not_found), not a dangling write.
      await slapd.apply(`dn: ${moved}\nchangetype: delete\n`);
      const [d] = await people(c, 1);
      await expectError(() => c.addMember({ ...g, name: moved }, d!), 'not_found', 'a group deleted outside');
    });

    it('with recentDnMs 0, a member renamed by another tool just before is written under its new DN', async () => {
      const c = open({ recentDnMs: 0 });
      const g = await c.create('group', { cn: `strict ${uniq()}` });
      const [a] = await people(c, 1);
      const newUid = `renamed-outside-${uniq()}`;
      await slapd.apply(`dn: ${a!.name}\nchangetype: modrdn\nnewrdn: uid=${newUid}\ndeleteoldrdn: 1\n`);
      await c.addMember(g, a!);
      expect(await memberNames(c, g)).toEqual([`uid=${newUid},${slapd.usersDn}`]);
      expect((await c.get({ objectClass: 'account', id: a!.id }))?.memberOf).toEqual([g.id]);
    });

    it('a merged add that fails falls back to one modify each; each caller gets its own answer', async () => {
      const c = open();
      const [a, b, d, e] = await people(c, 4);
      const g = await c.create('group', { cn: `fallback ${uniq()}`, member: [b!.name] });
      const s = spy(c);
      const results = await Promise.allSettled([
        c.addMember(g, a!), // sent at once
        c.addMember(g, b!), // already a member: the merged modify fails with attributeOrValueExists
        c.addMember(g, d!),
        c.addMember(g, d!), // the same member twice: one value, both answered
        c.addMember(g, e!),
      ]);
      expect(results.map((r) => r.status)).toEqual(Array(5).fill('fulfilled'));
      expect(s.writes).toEqual([
        { dn: g.name, changes: ['add 1'] },
        { dn: g.name, changes: ['add 3'], rc: 20 },
        { dn: g.name, changes: ['add 1'], rc: 20 }, // b alone: already a member, which is success
        { dn: g.name, changes: ['add 1'] },
        { dn: g.name, changes: ['add 1'] },
      ]);
      expect(await memberNames(c, g)).toEqual(names([a!, b!, d!, e!]));
      for (const p of [a!, b!, d!, e!]) expect((await c.get(p))?.memberOf).toEqual([g.id]);

      // A member that does not exist: only its caller fails, with the error it gets on its own.
      const [f, h] = await people(c, 2);
      const ghost: ObjectRef = {
        objectClass: 'account',
        id: randomUUID(),
        name: `uid=ghost-${uniq()},${slapd.usersDn}`,
      };
      const lone = await expectError(() => c.addMember(g, ghost), 'not_found', 'a missing member alone');
      const mixed = await Promise.allSettled([c.addMember(g, f!), c.addMember(g, ghost), c.addMember(g, h!)]);
      expect(mixed.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const merged = (mixed[1] as PromiseRejectedResult).reason as unknown;
      expect(isConnectorError(merged, 'not_found')).toBe(true);
      expect((merged as ConnectorError).message).toBe(lone.message);
      expect((merged as ConnectorError).details).toEqual(lone.details);
      expect(await memberNames(c, g)).toEqual(names([a!, b!, d!, e!, f!, h!]));

      // Any other failure of a merged modify: each member is retried alone, and an error that belongs to one
      // member reaches only that member's caller.
      const [i, j, k] = await people(c, 3);
      const refused = new ConnectorError('permission_denied', `refused ${j!.name}`);
      const s2 = spy(c, (_dn, changes) =>
        changes.some((ch) => ch.values.includes(j!.name)) ? refused : undefined,
      );
      const gated = await Promise.allSettled([
        c.addMember(g, a!),
        c.addMember(g, i!),
        c.addMember(g, j!),
        c.addMember(g, k!),
      ]);
      expect(gated.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      expect((gated[2] as PromiseRejectedResult).reason).toBe(refused);
      expect(s2.writes.map((w) => [w.changes.join(), w.rc])).toEqual([
        ['add 1', 20],
        ['add 3', -1],
        ['add 1', undefined],
        ['add 1', -1],
        ['add 1', undefined],
      ]);
      expect(await memberNames(c, g)).toEqual(names([a!, b!, d!, e!, f!, h!, i!, k!]));
    });

    it('concurrent removals are merged too; a non-member and the last members fall back', async () => {
      const c = open({ recentDnMs: 0 });
      const ps = await people(c, 8);
      const g = await c.create('group', { cn: `leavers ${uniq()}`, member: ps.map((p) => p.name) });
      const s = spy(c);
      const remove = (list: ConnectorObject[]) => Promise.all(list.map((p) => c.removeMember(g, p)));
      await remove(ps.slice(0, 3));
      expect(s.writes).toEqual([
        { dn: g.name, changes: ['delete 1'] },
        { dn: g.name, changes: ['delete 2'] },
      ]);
      expect(s.searches).toHaveLength(2);
      // p0 is no longer a member: the merged modify fails with noSuchAttribute, and each is retried alone.
      s.writes.length = 0;
      await remove([ps[3]!, ps[0]!, ps[4]!]);
      expect(s.writes).toEqual([
        { dn: g.name, changes: ['delete 1'] },
        { dn: g.name, changes: ['delete 2'], rc: 16 },
        { dn: g.name, changes: ['delete 1'], rc: 16 },
        { dn: g.name, changes: ['delete 1'] },
      ]);
      // The last two members: groupOfNames needs one, so the merged modify fails (objectClassViolation) and the
      // last one alone puts the placeholder in its place.
      s.writes.length = 0;
      await remove(ps.slice(5));
      expect(s.writes).toEqual([
        { dn: g.name, changes: ['delete 1'] },
        { dn: g.name, changes: ['delete 2'], rc: 65 },
        { dn: g.name, changes: ['delete 1'] },
        { dn: g.name, changes: ['delete 1'], rc: 65 },
        { dn: g.name, changes: ['delete 1', 'add 1'] },
      ]);
      expect((await c.get(g))?.attributes.member).toEqual([]);
      expect(values((await rootRead(g.name, ['member']))!, 'member')).toEqual(['']);
      for (const p of ps) expect((await c.get(p))?.memberOf).toEqual([]);
    });

    it('a stale group or member name never puts anyone in the wrong group, merged or not', async () => {
      const c = open();
      const ps = await people(c, 4);
      const cn = `renamed ${uniq()}`;
      const g = await c.create('group', { cn });
      const moved = await c.rename(g, `moved ${uniq()}`);
      const squatter = await c.create('group', { cn }); // now holds the group's old DN
      expect(squatter.name).toBe(g.name);
      // A member renamed away too, with an account of the old name in its place.
      const left = ps[3]!;
      await c.rename(left, `uid=left-${uniq()},${slapd.usersDn}`);
      const impostor = await c.create('account', person(left.attributes.uid as string));
      expect(impostor.name).toBe(left.name);
      const s = spy(c);
      await Promise.all(ps.map((p) => c.addMember(g, p))); // g and left carry their old names
      expect(s.writes.map((w) => w.dn)).toEqual([moved.name, moved.name]);
      expect((await c.get(squatter))?.attributes.member).toEqual([]);
      expect((await c.get(moved))?.attributes.member).toHaveLength(4);
      expect((await c.get(moved))?.attributes.member).not.toContain(impostor.name);
      expect((await c.get(impostor))?.memberOf).toEqual([]);
      for (const p of ps)
        expect((await c.get({ objectClass: 'account', id: p.id }))?.memberOf).toEqual([g.id]);
    });
  });

  describe('search and paging', () => {
    it('pages past the server size limit that a non-paged search hits', async () => {
      const c = open();
      const tag = uniq();
      const mine = new Set<string>();
      for (let i = 0; i < SIZE_LIMIT + 5; i++)
        mine.add((await c.create('account', person(`page-${tag}-${i}`, { ou: tag }))).id);
      // A reader account: slapd's size limit applies to it (the manager is unlimited).
      const readerUid = `reader-${tag}`;
      const reader = await c.create('account', person(readerUid), { password: new Secret(GOOD) });
      const plain = userClient(reader.name, GOOD);
      try {
        const e = await plain
          .searchAll(slapd.usersDn, { filter: `(ou=${tag})`, pageSize: 0 })
          .catch((x: unknown) => x);
        expect((e as { details?: { resultCode?: number } }).details?.resultCode).toBe(4); // sizeLimitExceeded
        const paged = await plain.searchAll(slapd.usersDn, {
          filter: `(ou=${tag})`,
          pageSize: 7,
          attributes: ['entryUUID'],
        });
        expect(new Set(paged.map((x) => first(x, 'entryUUID')))).toEqual(mine);
      } finally {
        await plain.close();
      }
      const asReader = open({ bindDn: reader.name, bindPassword: GOOD, pageSize: 6 });
      const seen: string[] = [];
      for await (const o of asReader.search({
        objectClass: 'account',
        filter: { op: 'eq', attribute: 'ou', value: tag },
      }))
        seen.push(o.id);
      expect(seen.length).toBe(mine.size);
      expect(new Set(seen)).toEqual(mine);
    });

    it('returns only the attributes asked for, plus id, name and flags', async () => {
      const c = open();
      const a = await c.create('account', person(`attrs-${uniq()}`, { mail: 'a@example.test', title: 'T' }));
      const got = await c.get(a, ['mail', 'modifyTimestamp']);
      expect(Object.keys(got!.attributes).sort()).toEqual(['mail', 'modifyTimestamp']);
      expect(got).toMatchObject({ id: a.id, name: a.name, enabled: true });
      expect((await c.get(a, ['memberOf']))?.attributes).toEqual({});
    });

    it('binary attributes travel as base64 and come back byte for byte', async () => {
      const c = open();
      const bytes = Buffer.from([
        0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x80, 0xfe,
      ]);
      const a = await c.create('account', person(`photo-${uniq()}`, { jpegPhoto: bytes.toString('base64') }));
      expect(a.attributes.jpegPhoto).toEqual([bytes.toString('base64')]);
      const raw = await rootRead(a.name, ['jpegPhoto']);
      expect(raw).toBeDefined();
    });
  });

  describe('posix accounts', () => {
    it('allocates distinct uidNumbers from a counter entry, even concurrently', async () => {
      const counterDn = `cn=uid-next-${uniq()},${slapd.baseDn}`;
      const c = open({
        accounts: {
          objectClasses: ['inetOrgPerson'],
          namingAttribute: 'uid',
          posix: { gidNumber: 5000, uidNumberStart: 20000, counterDn, loginShell: '/bin/bash' },
        },
      });
      const made = await Promise.all(
        Array.from({ length: 6 }, () => c.create('account', person(`posix-${uniq()}`))),
      );
      const numbers = made.map((m) => Number(m.attributes.uidNumber)).sort((x, y) => x - y);
      expect(numbers).toEqual([20000, 20001, 20002, 20003, 20004, 20005]);
      const one = made[0]!;
      expect(one.attributes).toMatchObject({
        gidNumber: '5000',
        homeDirectory: `/home/${(one.attributes.uid as string[])[0]}`,
        loginShell: '/bin/bash',
      });
      expect(one.attributes.objectClass).toEqual(expect.arrayContaining(['inetOrgPerson', 'posixAccount']));
      const given = await c.create('account', person(`posix-${uniq()}`, { uidNumber: '31337' }));
      expect(given.attributes.uidNumber).toBe('31337');
      const schema = await c.schema();
      const uidNumber = schema.objectClasses[0]!.attributes.find((x) => x.name === 'uidNumber');
      expect(uidNumber).toMatchObject({ type: 'integer', required: true, multiValued: false });
    });
  });

  describe('schema', () => {
    it('describes attributes from the subschema: types, single-value, required and computed ones', async () => {
      const s = await open().schema();
      const account = s.objectClasses.find((o) => o.name === 'account')!;
      const by = (n: string) => account.attributes.find((a) => a.name === n);
      expect(account.nativeName).toBe('inetOrgPerson');
      expect(by('sn')).toMatchObject({ required: true, multiValued: true, type: 'string', writable: true });
      expect(by('cn')).toMatchObject({ required: true });
      expect(by('displayName')).toMatchObject({ multiValued: false });
      expect(by('jpegPhoto')).toMatchObject({ type: 'binary' });
      expect(by('manager')).toMatchObject({ type: 'reference' });
      expect(by('entryUUID')).toMatchObject({ writable: false });
      expect(by('memberOf')).toMatchObject({ writable: false, type: 'reference', multiValued: true });
      expect(by('modifyTimestamp')).toMatchObject({ type: 'datetime', writable: false });
      const group = s.objectClasses.find((o) => o.name === 'group')!;
      expect(group.attributes.find((a) => a.name === 'member')).toMatchObject({
        type: 'reference',
        required: true,
      });
      expect(s.entitlementTypes).toEqual([expect.objectContaining({ name: 'group', objectClass: 'group' })]);
    });
  });

  describe('sync', () => {
    it('reports outside changes and renames in order, resumes from its token and pages with more', async () => {
      const c = open({ syncBatchSize: 2 });
      const a = await c.create('account', person(`sync-${uniq()}`));
      const b = await c.create('account', person(`sync-${uniq()}`));
      const start = await c.sync('account', null);
      expect(start.changes).toEqual([]);
      await slapd.apply(`dn: ${a.name}\nchangetype: modify\nreplace: title\ntitle: one\n`);
      await slapd.apply(`dn: ${b.name}\nchangetype: modify\nreplace: title\ntitle: two\n`);
      const renamed = await c.rename(a, `sync-renamed-${uniq()}`);
      const c3 = await c.create('account', person(`sync-${uniq()}`));
      const seen: ConnectorObject[] = [];
      let token = start.token;
      for (let i = 0; i < 10; i++) {
        const r = await c.sync('account', token);
        seen.push(...r.changes.map((ch) => ch.object as ConnectorObject));
        expect(r.changes.length).toBeLessThanOrEqual(2);
        token = r.token;
        if (!r.more) break;
      }
      expect(seen.map((o) => o.id)).toEqual([b.id, a.id, c3.id]);
      expect(seen.find((o) => o.id === a.id)?.name).toBe(renamed.name);
      expect(seen.find((o) => o.id === b.id)?.attributes.title).toEqual(['two']);
      expect((await c.sync('account', token)).changes).toEqual([]);
      // Group membership changes show on the group (memberof does not touch the account's modifyTimestamp).
      const gStart = await c.sync('group', null);
      const g = await c.create('group', { cn: `sync group ${uniq()}` });
      await c.addMember(g, b);
      const gChanges = await c.sync('group', gStart.token);
      expect(gChanges.changes.map((ch) => ch.object.id)).toEqual([g.id]);
      await expectError(() => c.sync('account', 'garbage'), 'invalid_config', 'a foreign token');
    });
  });
});
