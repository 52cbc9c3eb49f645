import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { transaction } from '../../src/db/index.ts';
import { createToken } from '../../src/tokens/index.ts';
import { startTestApi, type TestApi } from '../../src/testing/api.ts';
import { testContext } from '../../src/testing/context.ts';
import { createTestDatabase, type TestDatabase } from '../../src/testing/db.ts';
import { CORE, ENTERPRISE, GROUP, PATCH, BULK, scimClients, type ScimJson } from '../../src/testing/scim.ts';

/**
 * RFC 7643/7644 requirements that docs/SCIM.md's coverage table listed as met by the code but shown by no test:
 * each is shown here, over HTTP on real PostgreSQL, by the requirement's id.
 */
let database: TestDatabase;
let api: TestApi;
let app: FastifyInstance;
const tokens: Record<string, string> = {};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

type Resource = ScimJson;

const scim = scimClients(tokens, () => app);

const user = (userName: string, extra: Record<string, unknown> = {}) => ({
  schemas: [CORE, ENTERPRISE],
  userName,
  name: { givenName: 'Test', familyName: userName.replace(/[^a-z]/gi, '') || 'Person' },
  ...extra,
});

async function created(who: string, path: string, body: unknown): Promise<Resource> {
  const r = await scim(who, 'POST', path, body);
  expect(r.statusCode, r.body).toBe(201);
  return r.json();
}

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApi(database);
  app = api.app;
  for (const [name, source, profile] of [
    ['workday', 'workday', 'strict'],
    ['entra', 'entra', 'lenient'],
  ] as const)
    tokens[name] = (
      await transaction(database, (tx) =>
        createToken(tx, testContext(), { name, scopes: ['scim:write'], scim: { source, profile } }),
      )
    ).token;
});
afterAll(async () => {
  await api?.close();
  await database?.drop();
});

describe('resources as created', () => {
  it('meta: created is a date-time equal to lastModified; location has no query string (L920, L925, L201)', async () => {
    // A query on the request does not end up in the resource's URL.
    const r = await scim('workday', 'POST', '/Users?excludedAttributes=title', user('meta.user'));
    expect(r.statusCode, r.body).toBe(201);
    const g = await created('workday', '/Groups', { schemas: [GROUP], displayName: 'Meta group' });
    for (const x of [r.json() as Resource, g]) {
      expect(x.meta.created).toMatch(DATE_TIME);
      expect(x.meta.lastModified).toBe(x.meta.created);
      expect(x.meta.location).not.toMatch(/\?/);
      expect(x.meta.location).toMatch(new RegExp(`/scim/v2/(Users|Groups)/${x.id}$`));
    }
    expect(r.headers.location).toBe(r.json().meta.location);
  });

  it('schemas: repeated or in any order in a request, once each in the answer (L713, L714)', async () => {
    const r = await created('workday', '/Users', {
      ...user('schemas.user'),
      schemas: [ENTERPRISE, CORE, CORE],
    });
    expect(r.schemas).toEqual([...new Set(r.schemas)]);
    expect(r.schemas).toEqual(expect.arrayContaining([CORE, ENTERPRISE]));
    const put = await scim('workday', 'PUT', `/Users/${r.id}`, {
      ...user('schemas.user', { title: 'Reordered' }),
      schemas: [ENTERPRISE, CORE],
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ title: 'Reordered', schemas: r.schemas });
  });

  it('ids: unique UUIDs, never a bulkId, kept by every change and by a re-created User (L867, L868, L873)', async () => {
    const r = await scim('workday', 'POST', '/Bulk', {
      schemas: [BULK],
      Operations: ['a', 'b', 'c'].map((k) => ({
        method: 'POST',
        path: '/Users',
        bulkId: `bulkId-${k}`,
        data: user(`bulk.${k}`, { [ENTERPRISE]: { employeeNumber: `ID-${k}` } }),
      })),
    });
    expect(r.statusCode, r.body).toBe(200);
    const ids = (r.json().Operations as { location: string }[]).map((o) => o.location.split('/').pop()!);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) {
      expect(id).toMatch(UUID);
      expect(id).not.toMatch(/bulk/i);
    }
    const [id] = ids as [string];
    const patched = await scim('workday', 'PATCH', `/Users/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'replace', path: 'title', value: 'Changed' }],
    });
    expect(patched.json().id).toBe(id);
    expect((await scim('workday', 'DELETE', `/Users/${id}`)).statusCode).toBe(204);
    expect((await scim('workday', 'GET', `/Users/${id}`)).statusCode).toBe(404);
    // The client creates the same person again (same employeeNumber): the same id comes back, no other.
    const again = await created(
      'workday',
      '/Users',
      user('bulk.a', { [ENTERPRISE]: { employeeNumber: 'ID-a' } }),
    );
    expect(again.id).toBe(id);
    const fresh = await created(
      'workday',
      '/Users',
      user('bulk.d', { [ENTERPRISE]: { employeeNumber: 'ID-d' } }),
    );
    expect(ids).not.toContain(fresh.id);
  });
});

describe('what belongs to whom', () => {
  it("externalId is the client's own: another client neither sees nor matches it, and it need not be unique (L891)", async () => {
    const filter = `/Users?filter=${encodeURIComponent('externalId eq "ext-42"')}`;
    await created('workday', '/Users', user('ext.one', { externalId: 'ext-42' }));
    await created('workday', '/Users', user('ext.two', { externalId: 'ext-42' }));
    expect((await scim('workday', 'GET', filter)).json().totalResults).toBe(2);
    expect((await scim('entra', 'GET', filter)).json().totalResults).toBe(0);
    const own = await created('entra', '/Users', user('ext.three', { externalId: 'ext-42' }));
    expect((await scim('entra', 'GET', filter)).json().Resources.map((u: Resource) => u.id)).toEqual([
      own.id,
    ]);
  });
});

describe('userName comparison (RFC 7644 §5: PRECIS, RFC 8265)', () => {
  it('is stored width-mapped and in NFC, and compared so in any case: uniqueness and filters', async () => {
    const wide = await created('workday', '/Users', user('Ｐｒｅｃｉｓ.User'));
    expect(wide.userName).toBe('Precis.User');
    const taken = await scim('workday', 'POST', '/Users', user('precis.user'));
    expect(taken.statusCode).toBe(409);
    expect(taken.json()).toMatchObject({ scimType: 'uniqueness' });
    // ë sent decomposed (e + U+0308) is the precomposed ë.
    const decomposed = await created('workday', '/Users', user('zoe\u0308.precis'));
    expect(decomposed.userName).toBe('zoë.precis');
    expect((await scim('workday', 'POST', '/Users', user('ZOË.precis'))).statusCode).toBe(409);
    const found = await scim(
      'workday',
      'GET',
      `/Users?filter=${encodeURIComponent('userName eq "ZOE\u0308.PRECIS"')}`,
    );
    expect(found.json().Resources.map((u: Resource) => u.id)).toEqual([decomposed.id]);
  });
});

describe('requests', () => {
  it('a complex attribute in a filter needs its sub-attribute: `name eq` is invalidFilter (L1197)', async () => {
    const r = await scim('workday', 'GET', `/Users?filter=${encodeURIComponent('name eq "Test"')}`);
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ scimType: 'invalidFilter' });
    const ok = await scim(
      'workday',
      'GET',
      `/Users?filter=${encodeURIComponent('name.givenName eq "Test"')}`,
    );
    expect(ok.statusCode).toBe(200);
  });

  it('PATCH add of a value already there changes nothing: same ETag, same lastModified (L2004)', async () => {
    const home = { value: 'home@example.org', type: 'home' };
    const u = await created('workday', '/Users', user('patch.same', { emails: [home] }));
    const r = await scim('workday', 'PATCH', `/Users/${u.id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'add', path: 'emails', value: [home] }],
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers.etag).toBe(u.meta.version);
    expect(r.json().meta).toMatchObject({ version: u.meta.version, lastModified: u.meta.lastModified });
    // A real change does move them.
    const changed = await scim('workday', 'PATCH', `/Users/${u.id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'add', path: 'emails', value: [{ value: 'other@example.org', type: 'other' }] }],
    });
    expect(changed.headers.etag).not.toBe(u.meta.version);
  });

  it('Bulk over its limits is 413: more than 1,000 operations, or a body over 1 MiB (L3499)', async () => {
    const op = { method: 'DELETE', path: '/Users/00000000-0000-0000-0000-000000000000' };
    const many = await scim('workday', 'POST', '/Bulk', {
      schemas: [BULK],
      Operations: Array(1001).fill(op),
    });
    expect(many.statusCode).toBe(413);
    expect(many.json().detail).toMatch(/at most 1000 operations/);
    const big = await scim('workday', 'POST', '/Bulk', {
      schemas: [BULK],
      Operations: [
        {
          method: 'POST',
          path: '/Users',
          bulkId: 'big',
          data: user('big', { title: 'x'.repeat(1_100_000) }),
        },
      ],
    });
    expect(big.statusCode).toBe(413);
    // Nothing of either was applied.
    expect(
      (await scim('workday', 'GET', `/Users?filter=${encodeURIComponent('userName eq "big"')}`)).json()
        .totalResults,
    ).toBe(0);
  });

  it("a Bulk operation's version is its If-Match: a stale one is 412, the current one applies (L3956)", async () => {
    const u = await created('workday', '/Users', user('bulk.version'));
    const op = (version: string, title: string) => ({
      method: 'PATCH',
      path: `/Users/${u.id}`,
      version,
      data: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'title', value: title }] },
    });
    const r = await scim('workday', 'POST', '/Bulk', {
      schemas: [BULK],
      Operations: [op('W/"999"', 'Stale'), op(u.meta.version, 'Current')],
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().Operations.map((o: Resource) => o.status)).toEqual(['412', '200']);
    expect((await scim('workday', 'GET', `/Users/${u.id}`)).json().title).toBe('Current');
  });

  it("a PUT's id is read-only: another one in the body is ignored, the URL's stays (L872, L1665)", async () => {
    const u = await created('workday', '/Users', user('put.id'));
    const other = await scim('workday', 'PUT', `/Users/${u.id}`, {
      ...user('put.id', { title: 'Other id sent' }),
      id: '11111111-1111-1111-1111-111111111111',
    });
    expect(other.statusCode, other.body).toBe(200);
    expect(other.json()).toMatchObject({ id: u.id, title: 'Other id sent' });
    expect((await scim('workday', 'GET', '/Users/11111111-1111-1111-1111-111111111111')).statusCode).toBe(
      404,
    );
    // A POST's id is ignored the same way: Gatehouse makes its own.
    const posted = await created('workday', '/Users', { ...user('post.id'), id: u.id });
    expect(posted.id).not.toBe(u.id);
    expect(posted.id).toMatch(UUID);
  });

  it('POST .search needs the SearchRequest URN in schemas when schemas is given (L1476)', async () => {
    const wrong = await scim('workday', 'POST', '/Users/.search', { schemas: [CORE], filter: 'userName pr' });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ scimType: 'invalidSyntax' });
    const right = await scim('workday', 'POST', '/Users/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: 'userName eq "put.id"',
    });
    expect(right.statusCode, right.body).toBe(200);
    expect(right.json().totalResults).toBe(1);
  });

  it('discovery endpoints ignore filter, sort and paging parameters (L4125)', async () => {
    const q = `?filter=${encodeURIComponent('id eq "nothing"')}&sortBy=id&count=1&startIndex=3`;
    const schemas = await scim(null, 'GET', `/Schemas${q}`);
    expect(schemas.statusCode).toBe(200);
    expect(schemas.json().totalResults).toBe(4);
    expect(schemas.json().Resources).toHaveLength(4);
    const types = await scim(null, 'GET', `/ResourceTypes${q}`);
    expect(types.json().Resources).toHaveLength(2);
    const config = await scim(null, 'GET', `/ServiceProviderConfig${q}`);
    expect(config.json().patch).toEqual({ supported: true });
  });
});
