/**
 * The SCIM client against a real third-party SCIM 2.0 server: SCIMMY + SCIMMY Routers (src/testing/scim-peer.ts).
 * What goes over the wire is checked through the peer's request log; what lands is checked in the peer's store.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock, systemClock, type Clock } from '../../kit/clock.ts';
import { createLogger, silentLogger } from '../../kit/log.ts';
import { ACME_USER, startScimPeer, type PeerRequest, type ScimPeer } from '../../testing/scim-peer.ts';
import { ConnectorError, isConnectorError, type ConnectorErrorCode } from '../kit/errors.ts';
import { Secret, type Connector, type ConnectorObject, type ObjectRef } from '../kit/types.ts';
import { scimConnector, type ScimObjectRef } from './index.ts';
import { ENTERPRISE_USER } from './paths.ts';

type ConfigInput = Record<string, unknown>;

function open(
  peer: ScimPeer,
  over: ConfigInput = {},
  clock: Clock = systemClock,
  log = silentLogger,
): Connector {
  const config = scimConnector.configSchema.parse({
    baseUrl: peer.url,
    auth: { type: 'bearer', token: peer.token },
    ...over,
  });
  return scimConnector.open(config, { log, clock });
}

/** The requests the peer receives from now on. */
function watch(peer: ScimPeer): () => PeerRequest[] {
  const from = peer.requests.length;
  return () => peer.requests.slice(from);
}

async function failure(call: () => Promise<unknown>): Promise<ConnectorError> {
  try {
    await call();
  } catch (e) {
    if (e instanceof ConnectorError) return e;
    throw e;
  }
  throw new Error('expected a ConnectorError, the call succeeded');
}

async function expectCode(call: () => Promise<unknown>, code: ConnectorErrorCode): Promise<ConnectorError> {
  const e = await failure(call);
  expect(e.code, e.message).toBe(code);
  expect(e.message.length).toBeGreaterThan(10);
  return e;
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

let n = 0;
const uniq = (prefix = 'u') => `${prefix}-${++n}-${randomUUID().slice(0, 6)}`;
const ref = (o: ObjectRef): ObjectRef => ({
  objectClass: o.objectClass,
  id: o.id,
  ...(o.name ? { name: o.name } : {}),
});
const ops = (r: PeerRequest | undefined) => (r?.body as { Operations?: unknown[] } | undefined)?.Operations;

let peer: ScimPeer;
beforeAll(async () => {
  peer = await startScimPeer({ basic: { username: 'gatehouse', password: 'b4sic-pw' } });
});
afterAll(async () => {
  await peer?.close();
});

describe('users and groups (profile rfc)', () => {
  let c: Connector;
  beforeAll(() => {
    c = open(peer);
  });

  it('creates a user with POST: 201, Location, the password delivered, enabled by default', async () => {
    const seen = watch(peer);
    const name = uniq('bjensen');
    const o = await c.create(
      'account',
      {
        userName: name,
        displayName: 'Barbara Jensen',
        'name.givenName': 'Barbara',
        'emails[type eq "work"].value': `${name}@x.example`,
      },
      { password: new Secret('Initial-1') },
    );
    expect(o).toMatchObject({ objectClass: 'account', name, enabled: true });
    expect(o.attributes).toMatchObject({
      displayName: 'Barbara Jensen',
      'emails[type eq "work"].value': `${name}@x.example`,
    });
    expect(o.attributes['meta.version']).toMatch(/^W\//);
    const [post] = seen();
    expect(post).toMatchObject({ method: 'POST', path: '/Users' });
    expect(post!.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: name,
      active: true,
      name: { givenName: 'Barbara' },
      emails: [{ type: 'work', value: `${name}@x.example` }],
    });
    expect(peer.store.password(o.id)).toBe('Initial-1');
    expect(peer.store.get('Users', o.id)?.userName).toBe(name);
  });

  it('creates a disabled user when asked', async () => {
    const o = await c.create('account', { userName: uniq() }, { enabled: false });
    expect(o.enabled).toBe(false);
    expect(peer.store.get('Users', o.id)?.active).toBe(false);
  });

  it('gets by id, by name alone, and answers undefined for a missing id (404)', async () => {
    const o = await c.create('account', { userName: uniq(), title: 'Engineer' });
    expect(await c.get(ref(o))).toMatchObject({ id: o.id, name: o.name, attributes: { title: 'Engineer' } });
    expect((await c.get({ objectClass: 'account', id: '', name: o.name }))?.id).toBe(o.id);
    expect(await c.get({ objectClass: 'account', id: randomUUID() })).toBeUndefined();
    const only = await c.get(ref(o), ['title']);
    expect(only?.attributes).toEqual({ title: 'Engineer' });
  });

  it('searches with a compiled filter', async () => {
    const tag = uniq('dept');
    const a = await c.create('account', { userName: `${tag}-a`, title: tag });
    await c.create('account', { userName: `${tag}-b`, title: 'other' });
    const seen = watch(peer);
    const found = await all(
      c.search({
        objectClass: 'account',
        filter: {
          op: 'and',
          filters: [
            { op: 'sw', attribute: 'userName', value: tag },
            { op: 'eq', attribute: 'title', value: tag },
          ],
        },
      }),
    );
    expect(found.map((o) => o.id)).toEqual([a.id]);
    expect(seen()[0]!.query.filter).toBe(`(userName sw "${tag}") and (title eq "${tag}")`);
  });

  it('updates with PATCH; a typed entry is read first and rewritten with If-Match', async () => {
    const o = await c.create('account', {
      userName: uniq(),
      title: 'a',
      'emails[type eq "work"].value': 'w@x',
      'emails[type eq "work"].primary': true,
    });
    let seen = watch(peer);
    await c.update(ref(o), [
      { attribute: 'title', op: 'replace', values: ['b'] },
      { attribute: 'nickName', op: 'add', values: ['Bee'] },
    ]);
    expect(seen().map((r) => r.method)).toEqual(['PATCH']);
    expect(ops(seen()[0])).toEqual([
      { op: 'replace', path: 'title', value: 'b' },
      { op: 'add', path: 'nickName', value: 'Bee' },
    ]);

    seen = watch(peer);
    const before = peer.store.get('Users', o.id)!.meta.version;
    await c.update(ref(o), [
      { attribute: 'emails[type eq "home"].value', op: 'replace', values: ['h@x'] },
      { attribute: 'title', op: 'replace', values: [] },
    ]);
    const [get, patch] = seen();
    expect(get!.method).toBe('GET');
    expect(patch).toMatchObject({ method: 'PATCH', ifMatch: before });
    expect(ops(patch)).toEqual([
      {
        op: 'replace',
        path: 'emails',
        value: [
          { value: 'w@x', type: 'work', primary: true },
          { type: 'home', value: 'h@x' },
        ],
      },
      { op: 'remove', path: 'title' },
    ]);
    const got = await c.get(ref(o));
    expect(got?.attributes).toMatchObject({
      'emails[type eq "home"].value': 'h@x',
      'emails[type eq "work"].primary': true,
      nickName: 'Bee',
    });
    expect(got?.attributes.title).toBeUndefined();
  });

  it('renames by replacing userName; the id stays', async () => {
    const o = await c.create('account', { userName: uniq() });
    const to = uniq('renamed');
    expect(await c.rename(ref(o), to)).toEqual({ objectClass: 'account', id: o.id, name: to });
    expect(peer.store.get('Users', o.id)?.userName).toBe(to);
  });

  it('deletes with DELETE; a second delete is not_found', async () => {
    const o = await c.create('account', { userName: uniq() });
    const seen = watch(peer);
    await c.delete(ref(o));
    expect(seen().map((r) => `${r.method} ${r.path}`)).toEqual([`DELETE /Users/${o.id}`]);
    expect(await c.get(ref(o))).toBeUndefined();
    await expectCode(() => c.delete(ref(o)), 'not_found');
  });

  it('adds and removes group members with PATCH on the group (members[value eq "id"])', async () => {
    const u = await c.create('account', { userName: uniq() });
    const inner = await c.create('group', { displayName: uniq('inner') });
    const g = await c.create('group', { displayName: uniq('group') });
    await c.addMember(ref(g), ref(u));
    await c.addMember(ref(g), ref(inner));
    await c.addMember(ref(g), ref(u)); // twice: still one membership
    expect((await c.get(ref(u)))?.memberOf).toEqual([g.id]);
    expect((await c.get(ref(g)))?.attributes.members).toEqual([u.id, inner.id]);
    const seen = watch(peer);
    await c.removeMember(ref(g), ref(u));
    expect(ops(seen()[0])).toEqual([{ op: 'remove', path: `members[value eq "${u.id}"]` }]);
    expect((await c.get(ref(u)))?.memberOf).toBeUndefined();
    expect((await c.get(ref(g)))?.attributes.members).toEqual([inner.id]);
  });

  it('says which member is missing when adding an unknown one', async () => {
    const g = await c.create('group', { displayName: uniq('group') });
    const e = await expectCode(
      () => c.addMember(ref(g), { objectClass: 'account', id: 'no-such-user' }),
      'not_found',
    );
    expect(e.message).toContain('no-such-user');
    expect(e.targetMessage).toContain('neither a User nor a Group');
  });

  it('disables and enables through active', async () => {
    const o = await c.create('account', { userName: uniq() });
    const seen = watch(peer);
    await c.disable(ref(o));
    expect((await c.get(ref(o)))?.enabled).toBe(false);
    await c.enable(ref(o));
    expect((await c.get(ref(o)))?.enabled).toBe(true);
    expect(ops(seen()[0])).toEqual([{ op: 'replace', path: 'active', value: false }]);
    await expectCode(() => c.disable({ objectClass: 'group', id: 'x' }), 'unsupported');
  });

  it('sets a password with PATCH replace password', async () => {
    const o = await c.create('account', { userName: uniq() });
    await c.setPassword(ref(o), new Secret('N3w-secret'));
    expect(peer.store.password(o.id)).toBe('N3w-secret');
  });

  it('refuses "must change password" unless an attribute for it is configured, before sending anything', async () => {
    const o = await c.create('account', { userName: uniq() });
    const seen = watch(peer);
    const e = await expectCode(
      () => c.setPassword(ref(o), new Secret('x'), { mustChangePassword: true }),
      'unsupported',
    );
    expect(e.message).toContain('mustChangePasswordAttribute');
    await expectCode(
      () => c.create('account', { userName: uniq() }, { mustChangePassword: true }),
      'unsupported',
    );
    expect(seen()).toEqual([]);

    const flagged = open(peer, { mustChangePasswordAttribute: `${ACME_USER}:forcePasswordChange` });
    await flagged.setPassword(ref(o), new Secret('Temp-1'), { mustChangePassword: true });
    expect(peer.store.get('Users', o.id)?.[ACME_USER]).toEqual({ forcePasswordChange: true });
    expect(peer.store.password(o.id)).toBe('Temp-1');
    const made = await flagged.create(
      'account',
      { userName: uniq() },
      { password: new Secret('T-2'), mustChangePassword: true },
    );
    expect(peer.store.get('Users', made.id)).toMatchObject({ [ACME_USER]: { forcePasswordChange: true } });
  });

  it('reads the last sign-in from the attribute the application reports it in (lastLoginAttribute)', async () => {
    const userName = uniq();
    const [id] = peer.store.load('Users', [
      {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ACME_USER],
        userName,
        [ACME_USER]: { lastLogin: '2026-01-02T03:04:05.000Z' },
      },
    ]);
    const ref: ObjectRef = { objectClass: 'account', id: id! };
    // SCIM core has none: without the setting an account has no last sign-in (never "inactive" by accident).
    expect((await c.get(ref))?.lastLoginAt).toBeUndefined();
    const withLogin = open(peer, { lastLoginAttribute: `${ACME_USER}:lastLogin` });
    expect((await withLogin.get(ref))?.lastLoginAt).toBe('2026-01-02T03:04:05.000Z');
    const listed: ConnectorObject[] = [];
    for await (const o of withLogin.search({
      objectClass: 'account',
      filter: { op: 'eq', attribute: 'userName', value: userName },
    }))
      listed.push(o);
    expect(listed.map((o) => o.lastLoginAt)).toEqual(['2026-01-02T03:04:05.000Z']);
    // A path that is not one is refused at the field.
    expect(() =>
      scimConnector.configSchema.parse({
        baseUrl: peer.url,
        auth: { type: 'bearer', token: peer.token },
        lastLoginAttribute: 'emails[type eq',
      }),
    ).toThrow(/lastLoginAttribute/);
  });

  it('declares unlock unsupported and refuses it with the reason', async () => {
    expect(c.capabilities.has('unlock')).toBe(false);
    const e = await expectCode(() => c.unlock({ objectClass: 'account', id: 'x' }), 'unsupported');
    expect(e.message).toContain('no lockout');
  });
});

describe('HTTP', () => {
  it('keeps connections alive: many requests, few connections', async () => {
    const own = await startScimPeer();
    try {
      const c = open(own);
      for (let i = 0; i < 20; i++) await c.create('account', { userName: `keepalive-${i}` });
      expect(own.requestCount).toBe(20);
      expect(own.connectionCount).toBeLessThanOrEqual(2);
    } finally {
      await own.close();
    }
  });
});

describe('vendor profiles on the wire', () => {
  it('entra: capitalised ops, typed paths as they are, member removal with a value list', async () => {
    const c = open(peer, { profile: 'entra' });
    const o = await c.create('account', { userName: uniq(), 'emails[type eq "work"].value': 'w@x' });
    const g = await c.create('group', { displayName: uniq('g') });
    const seen = watch(peer);
    await c.update(ref(o), [
      { attribute: 'emails[type eq "work"].value', op: 'replace', values: ['w2@x'] },
      { attribute: 'title', op: 'replace', values: ['Lead'] },
    ]);
    await c.disable(ref(o));
    await c.addMember(ref(g), ref(o));
    await c.removeMember(ref(g), ref(o));
    const sent = seen();
    expect(sent.map((r) => r.method)).toEqual(['PATCH', 'PATCH', 'PATCH', 'PATCH']);
    expect(sent.map(ops)).toEqual([
      [
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'w2@x' },
        { op: 'Replace', path: 'title', value: 'Lead' },
      ],
      [{ op: 'Replace', path: 'active', value: false }],
      [{ op: 'Add', path: 'members', value: [{ value: o.id }] }],
      [{ op: 'Remove', path: 'members', value: [{ value: o.id }] }],
    ]);
    expect(await c.get(ref(o))).toMatchObject({
      enabled: false,
      attributes: { title: 'Lead', 'emails[type eq "work"].value': 'w2@x' },
    });
    expect((await c.get(ref(g)))?.attributes.members).toBeUndefined();
  });

  it('okta: profile updates with PUT and If-Match, path-less active and password, users deactivated not deleted', async () => {
    const c = open(peer, { profile: 'okta' });
    const o = await c.create('account', { userName: uniq(), title: 'a', 'name.givenName': 'Ada' });
    const g = await c.create('group', { displayName: uniq('g') });
    const version = peer.store.get('Users', o.id)!.meta.version;
    const seen = watch(peer);
    await c.update(ref(o), [{ attribute: 'title', op: 'replace', values: ['b'] }]);
    await c.disable(ref(o));
    await c.setPassword(ref(o), new Secret('Okta-pw-1'));
    const sent = seen();
    expect(sent.map((r) => r.method)).toEqual(['GET', 'PUT', 'PATCH', 'PATCH']);
    expect(sent[1]).toMatchObject({
      ifMatch: version,
      body: { userName: o.name, title: 'b', name: { givenName: 'Ada' } },
    });
    expect(sent[1]!.body).not.toHaveProperty('meta');
    expect(ops(sent[2])).toEqual([{ op: 'replace', value: { active: false } }]);
    expect(ops(sent[3])).toEqual([{ op: 'replace', value: { password: 'Okta-pw-1' } }]);
    expect(peer.store.get('Users', o.id)).toMatchObject({ title: 'b', active: false });
    expect(peer.store.password(o.id)).toBe('Okta-pw-1');

    expect(c.capabilities.has('delete')).toBe(false);
    const before = watch(peer);
    const e = await expectCode(() => c.delete(ref(o)), 'unsupported');
    expect(e.message).toContain('active=false');
    expect(before()).toEqual([]);
    await c.delete(ref(g)); // groups are deleted, as Okta does
    expect(peer.store.get('Groups', g.id)).toBeUndefined();
  });
});

describe('paging', () => {
  let pager: ScimPeer;
  let c: Connector;
  const ids: string[] = [];
  beforeAll(async () => {
    pager = await startScimPeer();
    for (let i = 0; i < 7; i++) ids.push(pager.store.create('Users', { userName: `page-${i}` }).id);
    c = open(pager, { pageSize: 3 });
  });
  afterAll(() => pager.close());
  beforeEach(() => {
    Object.assign(pager.quirks, {
      ignoreStartIndex: false,
      ignoreCount: false,
      pastEnd: 'first-page',
      totalResults: undefined,
    });
  });

  const pages = (rs: PeerRequest[]) =>
    rs.filter((r) => r.path === '/Users').map((r) => `${r.query.startIndex}+${r.query.count}`);

  it('reads several pages with startIndex/count until totalResults, each resource once', async () => {
    const seen = watch(pager);
    expect((await all(c.search({ objectClass: 'account' }))).map((o) => o.id)).toEqual(ids);
    expect(pages(seen())).toEqual(['1+3', '4+3', '7+3']);
  });

  it('asks once more after a full last page, and stops when the server repeats a page past the end', async () => {
    const seen = watch(pager);
    const six = await all(c.search({ objectClass: 'account', pageSize: 7 }));
    expect(six).toHaveLength(7);
    expect(pages(seen())).toEqual(['1+7', '8+7']); // SCIMMY answers a page past the end with the first page again
  });

  it('does not stop early when totalResults is only the page length', async () => {
    pager.quirks.totalResults = (_, pageLength) => pageLength;
    expect((await all(c.search({ objectClass: 'account' }))).map((o) => o.id)).toEqual(ids);
  });

  it('copes with a server that ignores count', async () => {
    pager.quirks.ignoreCount = true; // SCIMMY then serves 20 per page
    const extra = Array.from(
      { length: 18 },
      (_, i) => pager.store.create('Users', { userName: `more-${i}` }).id,
    );
    try {
      const seen = watch(pager);
      expect((await all(c.search({ objectClass: 'account' }))).map((o) => o.id)).toEqual([...ids, ...extra]);
      // 20 + 5: the short second page still reaches count (3), so one more request confirms the end.
      expect(pages(seen())).toEqual(['1+3', '21+3', '26+3']);
    } finally {
      extra.forEach((id) => pager.store.delete('Users', id));
    }
  });

  it('stops on an empty page when totalResults is too large', async () => {
    pager.quirks.totalResults = (actual) => actual + 100;
    pager.quirks.pastEnd = 'empty';
    const seen = watch(pager);
    expect(await all(c.search({ objectClass: 'account' }))).toHaveLength(7);
    expect(pages(seen())).toEqual(['1+3', '4+3', '7+3', '8+3']);
  });

  it('fails, and does not loop, when the server claims more but repeats pages', async () => {
    pager.quirks.totalResults = (actual) => actual + 100;
    const seen = watch(pager);
    const e = await expectCode(() => all(c.search({ objectClass: 'account' })), 'target_error');
    expect(e.message).toContain('does not page');
    expect(pages(seen())).toHaveLength(4);
  });

  it('fails, and does not loop, when the server ignores startIndex', async () => {
    pager.quirks.ignoreStartIndex = true;
    const seen = watch(pager);
    await expectCode(() => all(c.search({ objectClass: 'account' })), 'target_error');
    expect(pages(seen())).toHaveLength(2);
  });
});

describe('unicode and hostile filter values', () => {
  let c: Connector;
  let other: ScimPeer;
  const made = new Map<string, string>();
  const values = [
    'plain',
    'Zoë Ångström-Łukasz 東京 🦊',
    'a"b',
    'c\\d',
    'x" or 1 eq 1 or userName eq "y',
    'a or 1 eq 1',
    'e") or (userName pr',
  ];
  beforeAll(async () => {
    other = await startScimPeer();
    c = open(other);
    for (const v of values)
      made.set(v, (await c.create('account', { userName: v, displayName: `${v} "Jr"` })).id);
  });
  afterAll(() => other.close());

  it('keeps unicode values identical on the round trip and finds them', async () => {
    const v = 'Zoë Ångström-Łukasz 東京 🦊';
    const got = await c.get({ objectClass: 'account', id: made.get(v)! });
    expect(got).toMatchObject({ name: v, attributes: { displayName: `${v} "Jr"` } });
    const found = await all(
      c.search({ objectClass: 'account', filter: { op: 'eq', attribute: 'userName', value: v } }),
    );
    expect(found.map((o) => o.id)).toEqual([made.get(v)]);
  });

  it.each(values)('a search for %j never matches anything but that exact value', async (v) => {
    const seen = watch(other);
    let found: ConnectorObject[] | undefined;
    let error: ConnectorError | undefined;
    try {
      found = await all(
        c.search({ objectClass: 'account', filter: { op: 'eq', attribute: 'userName', value: v } }),
      );
    } catch (e) {
      if (!isConnectorError(e)) throw e;
      error = e;
    }
    // RFC 7644: the value is a JSON string, so quotes and backslashes are escaped and nothing leaks out of it.
    expect(seen()[0]!.query.filter).toBe(`userName eq ${JSON.stringify(v)}`);
    if (error) {
      // SCIMMY 1.3.5 cannot parse \" inside a filter string: it refuses the filter (400 invalidFilter).
      expect(error.code).toBe('schema_violation');
      expect(error.details.scimType).toBe('invalidFilter');
      expect(v).toContain('"');
    } else {
      expect(
        found!.every((o) => o.id === made.get(v)),
        `only ${JSON.stringify(v)}`,
      ).toBe(true);
      // SCIMMY does not unescape \\ either, so a value with a backslash finds nothing (a miss, never an extra).
      if (!v.includes('\\')) expect(found!.map((o) => o.id)).toEqual([made.get(v)]);
    }
  });
});

describe('errors', () => {
  it('wrong credentials are auth_failed, with the server message', async () => {
    const c = open(peer, { auth: { type: 'bearer', token: 'wrong-token' } });
    const e = await expectCode(() => c.get({ objectClass: 'account', id: 'x' }), 'auth_failed');
    expect(e.targetMessage).toBe('The credentials are not valid for this service');
    expect(e.retryable).toBe(false);
    await expectCode(() => c.test(), 'auth_failed');
  });

  it('HTTP Basic works with the right password and is auth_failed with a wrong one', async () => {
    const good = open(peer, { auth: { type: 'basic', username: 'gatehouse', password: 'b4sic-pw' } });
    expect((await good.test()).ok).toBe(true);
    const bad = open(peer, { auth: { type: 'basic', username: 'gatehouse', password: 'nope' } });
    await expectCode(() => bad.test(), 'auth_failed');
  });

  it('403 is permission_denied', async () => {
    const c = open(peer, { auth: { type: 'bearer', token: peer.readOnlyToken } });
    const e = await expectCode(() => c.create('account', { userName: uniq() }), 'permission_denied');
    expect(e.targetMessage).toBe('This token may only read');
  });

  it('409 uniqueness is already_exists; 400 invalidValue and mutability are schema_violation; 404 not_found', async () => {
    const c = open(peer);
    const name = uniq();
    const o = await c.create('account', { userName: name });
    const dup = await expectCode(
      () => c.create('account', { userName: name.toUpperCase() }),
      'already_exists',
    );
    expect(dup.targetMessage).toContain('already in use');
    expect(dup.details.scimType).toBe('uniqueness');
    const missing = await expectCode(
      () => c.create('account', { displayName: 'no user name' }),
      'schema_violation',
    );
    expect(missing.targetMessage).toContain('userName');
    const immutable = await expectCode(
      () => c.update(ref(o), [{ attribute: 'id', op: 'replace', values: ['x'] }]),
      'schema_violation',
    );
    expect(immutable.details.scimType).toBe('mutability');
    await expectCode(
      () =>
        c.update({ objectClass: 'account', id: randomUUID() }, [
          { attribute: 'title', op: 'replace', values: ['x'] },
        ]),
      'not_found',
    );
    await expectCode(
      () => c.update(ref(o), [{ attribute: 'no such attribute!', op: 'replace', values: ['x'] }]),
      'schema_violation',
    );
  });

  it('429 is rate_limited with retryAfterMs from Retry-After seconds, and the connector does not retry', async () => {
    const c = open(peer);
    const seen = watch(peer);
    peer.throttle(1, '7');
    const e = await expectCode(() => c.get({ objectClass: 'account', id: 'x' }), 'rate_limited');
    expect(e.retryAfterMs).toBe(7000);
    expect(e.retryable).toBe(true);
    expect(e.targetMessage).toBe('Too many requests, slow down');
    expect(seen()).toHaveLength(1);
    expect(await c.get({ objectClass: 'account', id: randomUUID() })).toBeUndefined();
  });

  it('429 with an HTTP-date Retry-After waits until that date', async () => {
    const clock = fixedClock('2026-05-04T10:00:00Z');
    const c = open(peer, {}, clock);
    peer.throttle(1, new Date('2026-05-04T10:00:30Z').toUTCString());
    const e = await expectCode(() => all(c.search({ objectClass: 'account' })), 'rate_limited');
    expect(e.retryAfterMs).toBe(30_000);
  });

  it('5xx is target_error and retryable; 501 is unsupported', async () => {
    const c = open(peer);
    peer.failNext(1, 500, 'database on fire');
    const e500 = await expectCode(() => c.get({ objectClass: 'account', id: 'x' }), 'target_error');
    expect(e500).toMatchObject({ retryable: true, targetMessage: 'database on fire' });
    peer.failNext(1, 503, 'maintenance', { 'Retry-After': '2' });
    const e503 = await expectCode(() => c.get({ objectClass: 'account', id: 'x' }), 'target_error');
    expect(e503).toMatchObject({ retryable: true, retryAfterMs: 2000 });
    peer.failNext(1, 501, 'Endpoint Not Implemented');
    await expectCode(() => c.get({ objectClass: 'account', id: 'x' }), 'unsupported');
  });

  it('a closed port is unreachable (retryable)', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const c = scimConnector.open(
      scimConnector.configSchema.parse({
        baseUrl: `http://127.0.0.1:${port}/scim/v2`,
        auth: { type: 'bearer', token: 't' },
      }),
      { log: silentLogger, clock: systemClock },
    );
    const e = await expectCode(() => c.test(), 'unreachable');
    expect(e.retryable).toBe(true);
    expect(e.message).toContain('ECONNREFUSED');
  });

  it('a server that never answers is a timeout (retryable)', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((s) => void sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const c = scimConnector.open(
        scimConnector.configSchema.parse({
          baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/scim/v2`,
          auth: { type: 'bearer', token: 't' },
          timeoutMs: 200,
        }),
        { log: silentLogger, clock: systemClock },
      );
      const e = await expectCode(() => c.get({ objectClass: 'account', id: 'x' }), 'timeout');
      expect(e.retryable).toBe(true);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('never writes the token or a password to the log', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'trace' }, { write: (l: string) => void lines.push(l) });
    const c = open(peer, {}, systemClock, log);
    const o = await c.create('account', { userName: uniq() }, { password: new Secret('Pw-in-create-1') });
    await c.setPassword(ref(o), new Secret('Pw-in-set-2'));
    peer.throttle(1, '1');
    await failure(() => c.get(ref(o)));
    const text = lines.join('');
    expect(lines.length).toBeGreaterThan(0);
    for (const secret of [peer.token, 'Pw-in-create-1', 'Pw-in-set-2']) expect(text).not.toContain(secret);
  });
});

describe('ETags', () => {
  it('a ref carrying a stale version is refused with 412 → conflict; the current one goes through with If-Match', async () => {
    const c = open(peer);
    const o = await c.create('account', { userName: uniq(), title: 'one' });
    const read = (await c.get(ref(o)))!;
    const version = String(read.attributes['meta.version']);
    peer.store.update('Users', o.id, (r) => void (r.title = 'changed elsewhere'));
    const stale: ScimObjectRef = { ...ref(o), version };
    const e = await expectCode(
      () => c.update(stale, [{ attribute: 'title', op: 'replace', values: ['mine'] }]),
      'conflict',
    );
    expect(e.targetMessage).toContain('Resource changed');
    await expectCode(() => c.delete(stale), 'conflict');
    expect(peer.store.get('Users', o.id)?.title).toBe('changed elsewhere');

    const fresh: ScimObjectRef = {
      ...ref(o),
      version: String((await c.get(ref(o)))!.attributes['meta.version']),
    };
    const seen = watch(peer);
    await c.update(fresh, [{ attribute: 'title', op: 'replace', values: ['mine'] }]);
    expect(seen()[0]!.ifMatch).toBe(fresh.version);
    expect(peer.store.get('Users', o.id)?.title).toBe('mine');
  });

  it('without ETags on the server, nothing is conditional', async () => {
    const plain = await startScimPeer({ etags: false });
    try {
      const c = open(plain);
      expect((await c.test()).details.etag).toBe('false');
      const o = await c.create('account', { userName: uniq(), 'emails[type eq "work"].value': 'a@x' });
      expect(o.attributes['meta.version']).toBeUndefined();
      const seen = watch(plain);
      await c.update(ref(o), [{ attribute: 'emails[type eq "work"].value', op: 'replace', values: ['b@x'] }]);
      expect(seen().map((r) => [r.method, r.ifMatch])).toEqual([
        ['GET', undefined],
        ['PATCH', undefined],
      ]);
      expect((await c.get(ref(o)))?.attributes['emails[type eq "work"].value']).toBe('b@x');
    } finally {
      await plain.close();
    }
  });
});

describe('sync', () => {
  let syncPeer: ScimPeer;
  beforeAll(async () => {
    syncPeer = await startScimPeer();
  });
  afterAll(() => syncPeer.close());

  const ids = (r: { changes: { type: string; object: ObjectRef }[] }) =>
    r.changes.map((ch) => `${ch.type}:${ch.object.id}`).sort();

  it('lastModified: outside changes and creations come as upserts, once; deletions are not seen', async () => {
    const c = open(syncPeer, { sync: { mode: 'lastModified' } });
    const a = await c.create('account', { userName: uniq() });
    const seen = watch(syncPeer);
    const start = await c.sync('account', null);
    expect(start.changes).toEqual([]);
    expect(start.token.startsWith('lm1.')).toBe(true);
    expect(seen().some((r) => r.query.filter?.startsWith('meta.lastModified ge "'))).toBe(true);

    syncPeer.store.update('Users', a.id, (r) => void (r.title = 'outside'));
    const b = await c.create('account', { userName: uniq() });
    const first = await c.sync('account', start.token);
    expect(ids(first)).toEqual([`upsert:${a.id}`, `upsert:${b.id}`].sort());
    const changedA = first.changes.find((ch) => ch.object.id === a.id)!.object as ConnectorObject;
    expect(changedA.attributes.title).toBe('outside');

    const quiet = await c.sync('account', first.token);
    expect(quiet.changes).toEqual([]);
    syncPeer.store.delete('Users', b.id);
    expect((await c.sync('account', quiet.token)).changes).toEqual([]); // documented: reconciliation finds deletions
  });

  it('groups sync too: a membership change is an upsert of the group', async () => {
    const c = open(syncPeer);
    const g = await c.create('group', { displayName: uniq('g') });
    const u = await c.create('account', { userName: uniq() });
    const start = await c.sync('group', null);
    await c.addMember(ref(g), ref(u));
    const r = await c.sync('group', start.token);
    expect(ids(r)).toEqual([`upsert:${g.id}`]);
  });

  it('snapshot: compares full scans and reports deletions too', async () => {
    const c = open(syncPeer, { sync: { mode: 'snapshot' } });
    const a = await c.create('account', { userName: uniq() });
    const b = await c.create('account', { userName: uniq() });
    const start = await c.sync('account', null);
    expect(start.token.startsWith('sn1.')).toBe(true);
    syncPeer.store.update('Users', a.id, (r) => void (r.title = 'outside'));
    syncPeer.store.delete('Users', b.id);
    const d = await c.create('account', { userName: uniq() });
    const r = await c.sync('account', start.token);
    expect(ids(r)).toEqual([`delete:${b.id}`, `upsert:${a.id}`, `upsert:${d.id}`].sort());
    expect((await c.sync('account', r.token)).changes).toEqual([]);
  });

  it('auto falls back to snapshots when the server refuses to filter on meta.lastModified', async () => {
    const refusing = await startScimPeer();
    try {
      refusing.quirks.unfilterable = ['meta.lastModified'];
      const c = open(refusing);
      const a = await c.create('account', { userName: uniq() });
      const start = await c.sync('account', null);
      expect(start.token.startsWith('sn1.')).toBe(true);
      refusing.store.delete('Users', a.id);
      expect(ids(await c.sync('account', start.token))).toEqual([`delete:${a.id}`]);
    } finally {
      await refusing.close();
    }
  });

  it('refuses tokens it did not issue, or issued for another object class', async () => {
    const c = open(syncPeer);
    await expectCode(() => c.sync('account', 'garbage'), 'invalid_config');
    await expectCode(() => c.sync('account', 'lm1.bm90IGpzb24'), 'invalid_config');
    const { token } = await c.sync('account', null);
    await expectCode(() => c.sync('group', token), 'invalid_config');
  });
});

describe('schema, test and attribute mapping', () => {
  const mapping = { mail: 'emails[type eq "work"].value', department: `${ENTERPRISE_USER}:department` };

  it('test() reports what the server offers, without credentials', async () => {
    const r = await open(peer).test();
    expect(r.details).toMatchObject({ profile: 'rfc', patch: 'true', filter: 'true', etag: 'true' });
    expect(JSON.stringify(r)).not.toContain(peer.token);
  });

  it('schema() reads /Schemas: core, enterprise and application extensions, typed paths, read-only meta', async () => {
    const s = await open(peer, { attributeMapping: mapping }).schema();
    const account = s.objectClasses.find((o) => o.name === 'account')!;
    const byName = new Map(account.attributes.map((a) => [a.name, a]));
    expect(byName.get('userName')).toMatchObject({ required: true, writable: true, type: 'string' });
    expect(byName.get('active')).toMatchObject({ type: 'boolean' });
    expect(byName.get('mail')).toMatchObject({ multiValued: false });
    expect(byName.has('emails[type eq "work"].value')).toBe(false);
    expect(byName.get('department')).toBeDefined();
    expect(byName.get(`${ACME_USER}:forcePasswordChange`)).toMatchObject({ type: 'boolean' });
    expect(byName.get('meta.lastModified')).toMatchObject({ writable: false, type: 'datetime' });
    expect(byName.get('groups')).toMatchObject({ writable: false, multiValued: true });
    expect(s.objectClasses.find((o) => o.name === 'group')?.attributes.map((a) => a.name)).toContain(
      'members',
    );
    expect(s.entitlementTypes).toEqual([expect.objectContaining({ name: 'group', objectClass: 'group' })]);
  });

  it('maps Gatehouse names to SCIM paths for writes, reads and filters', async () => {
    const c = open(peer, { attributeMapping: mapping });
    const name = uniq();
    const seen = watch(peer);
    const o = await c.create('account', {
      userName: name,
      mail: `${name}@corp.example`,
      department: 'Finance',
    });
    expect(seen()[0]!.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE_USER],
      emails: [{ type: 'work', value: `${name}@corp.example` }],
      [ENTERPRISE_USER]: { department: 'Finance' },
    });
    expect(o.attributes).toMatchObject({ mail: `${name}@corp.example`, department: 'Finance' });
    expect(o.attributes).not.toHaveProperty(['emails[type eq "work"].value']);

    const search = watch(peer);
    const found = await all(
      c.search({
        objectClass: 'account',
        filter: { op: 'eq', attribute: 'mail', value: `${name}@corp.example` },
        attributes: ['mail'],
      }),
    );
    expect(found.map((x) => [x.id, x.attributes])).toEqual([[o.id, { mail: `${name}@corp.example` }]]);
    expect(search()[0]!.query).toMatchObject({
      filter: `emails[type eq "work" and value eq "${name}@corp.example"]`,
      attributes: 'userName,active,groups,emails',
    });

    await c.update(ref(o), [
      { attribute: 'mail', op: 'replace', values: [`${name}@new.example`] },
      { attribute: 'department', op: 'replace', values: ['Ops'] },
    ]);
    expect((await c.get(ref(o), ['mail', 'department']))?.attributes).toEqual({
      mail: `${name}@new.example`,
      department: 'Ops',
    });
  });
});
