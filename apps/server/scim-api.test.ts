import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { transaction } from '../../src/db/index.ts';
import { createToken } from '../../src/tokens/index.ts';
import { startTestApi, type TestApi } from '../../src/testing/api.ts';
import { testContext } from '../../src/testing/context.ts';
import { createTestDatabase, type TestDatabase } from '../../src/testing/db.ts';
import {
  CORE,
  ENTERPRISE,
  HR,
  GROUP,
  PATCH,
  ERROR,
  scimClients,
  type ScimJson,
} from '../../src/testing/scim.ts';

/**
 * The SCIM 2.0 service provider over HTTP on real PostgreSQL: authentication, Users as people through the HR
 * pipeline (events, leavers, audit), filters, paging, projection, PATCH, ETags, Groups, Bulk and the two profiles.
 */
let database: TestDatabase;
let api: TestApi;
let app: FastifyInstance;
const tokens: Record<string, string> = {};

async function token(name: string, scopes: string[], scim?: { source?: string; profile?: string }) {
  const r = await transaction(database, (tx) => createToken(tx, testContext(), { name, scopes, scim }));
  return r.token;
}

const scim = scimClients(tokens, () => app);

function user(userName: string, given: string, family: string, extra: Record<string, unknown> = {}) {
  return { schemas: [CORE, ENTERPRISE], userName, name: { givenName: given, familyName: family }, ...extra };
}

type Resource = ScimJson;

async function createUser(who: string, body: unknown): Promise<Resource> {
  const r = await scim(who, 'POST', '/Users', body);
  expect(r.statusCode, r.body).toBe(201);
  return r.json();
}

/** A write's answer is the User a GET then reads, to the last attribute (meta.version and lastModified too). */
async function expectAsRead(who: string, written: Resource): Promise<void> {
  const r = await scim(who, 'GET', `/Users/${written.id}`);
  expect(r.statusCode, r.body).toBe(200);
  expect(r.json()).toEqual(written);
  expect(r.headers['content-location']).toBe(written.meta.location);
}

async function personEvents(personId: string): Promise<string[]> {
  const r = await database.pool.query<{ type: string }>(
    'select type from lifecycle_events where person_id = $1 order by created_at, type',
    [personId],
  );
  return r.rows.map((x) => x.type);
}

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApi(database);
  app = api.app;
  tokens.workday = await token('workday', ['scim:write'], { source: 'workday' });
  tokens.entra = await token('entra', ['scim:write'], { source: 'entra', profile: 'lenient' });
  tokens.reader = await token('reader', ['scim:read'], { source: 'workday' });
  tokens.everyone = await token('everyone', ['scim:read'], { source: '*' });
  tokens.people = await token('people api', ['people:read']);
});
afterAll(async () => {
  await api?.close();
  await database?.drop();
});

describe('authentication and discovery', () => {
  it('refuses a missing, malformed or unknown token with a SCIM 401 and WWW-Authenticate', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'non-token' },
      { authorization: 'Bearer gh_unknownunknownunknownunknownunknownunknownab' },
    ]) {
      const r = await scim(null, 'GET', '/Users', undefined, headers);
      expect(r.statusCode).toBe(401);
      expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(r.headers['content-type']).toMatch(/^application\/scim\+json/);
      expect(r.json()).toMatchObject({ schemas: [ERROR], status: '401' });
      expect(r.json().detail).toBeTruthy();
    }
  });

  it('needs a SCIM scope, and scim:write to write', async () => {
    const r = await scim('people', 'GET', '/Users');
    expect(r.statusCode).toBe(403);
    expect(r.json().detail).toMatch(/scim:read/);
    const w = await scim('reader', 'POST', '/Users', user('x', 'X', 'Y'));
    expect(w.statusCode).toBe(403);
    expect(w.json().detail).toMatch(/scim:write/);
  });

  it('serves the discovery endpoints without a token, read-only', async () => {
    const spc = await scim(null, 'GET', '/ServiceProviderConfig');
    expect(spc.statusCode).toBe(200);
    expect(spc.json()).toMatchObject({
      patch: { supported: true },
      bulk: { supported: true },
      etag: { supported: true },
    });
    const types = await scim(null, 'GET', '/ResourceTypes');
    expect(types.json().Resources.map((t: { endpoint: string }) => t.endpoint)).toEqual([
      '/Users',
      '/Groups',
    ]);
    const schemas = await scim(null, 'GET', '/Schemas');
    expect(schemas.json().Resources.map((s: { id: string }) => s.id)).toEqual(
      expect.arrayContaining([CORE, ENTERPRISE, HR, GROUP]),
    );
    expect((await scim(null, 'GET', `/Schemas/${CORE}`)).json().attributes.length).toBeGreaterThan(10);
    expect((await scim(null, 'POST', '/Schemas', {})).statusCode).toBe(405);
    expect((await scim('workday', 'GET', '/Nothing')).statusCode).toBe(404);
  });
});

describe('Users are people, through the HR pipeline', () => {
  let babs: Resource;

  it('creates a person with a joiner event, Location and ETag, and echoes what was sent', async () => {
    const r = await scim(
      'workday',
      'POST',
      '/Users',
      user('bjensen@example.com', 'Barbara', 'Jensen', {
        externalId: 'wd-701984',
        displayName: 'Babs Jensen',
        title: 'Tour Guide',
        emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }],
        [ENTERPRISE]: { employeeNumber: '701984', department: 'Tour Operations', costCenter: '4130' },
        [HR]: { workerType: 'employee', location: 'Paris' },
        password: 'never-stored-Secret-1',
      }),
    );
    expect(r.statusCode, r.body).toBe(201);
    babs = r.json();
    expect(r.headers.location).toMatch(new RegExp(`^http://localhost(:\\d+)?/scim/v2/Users/${babs.id}$`));
    // RFC 7643 §3.1: meta.location is the Content-Location header.
    expect(r.headers['content-location']).toBe(r.headers.location);
    expect(babs.meta).toMatchObject({ location: r.headers.location });
    expect(r.headers.etag).toBe('W/"1"');
    expect(babs).toMatchObject({
      userName: 'bjensen@example.com',
      externalId: 'wd-701984',
      displayName: 'Babs Jensen',
      active: true,
      name: { givenName: 'Barbara', familyName: 'Jensen' },
      [ENTERPRISE]: { employeeNumber: '701984', department: 'Tour Operations', costCenter: '4130' },
      [HR]: { workerType: 'employee', location: 'Paris', status: 'active' },
      meta: { resourceType: 'User', version: 'W/"1"' },
    });
    expect(babs.password).toBeUndefined();
    // The answer is the User as written (read in the write's transaction): what a GET reads afterwards.
    await expectAsRead('workday', babs);
    expect(await personEvents(babs.id)).toEqual(['joiner']);
    const stored = await database.pool.query(
      'select attributes::text as a, department from people where id = $1',
      [babs.id],
    );
    expect(stored.rows[0].department).toBe('Tour Operations');
    expect(stored.rows[0].a).not.toMatch(/never-stored/);
  });

  it('refuses a second userName that differs only in case (409 uniqueness), and a bad HR value by name', async () => {
    const dup = await scim('workday', 'POST', '/Users', user('BJENSEN@example.com', 'B', 'J'));
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ status: '409', scimType: 'uniqueness' });
    const noName = await scim('workday', 'POST', '/Users', { schemas: [CORE], userName: 'nameless' });
    expect(noName.statusCode).toBe(400);
    expect(noName.json()).toMatchObject({ scimType: 'invalidValue' });
    expect(noName.json().detail).toMatch(/name\.givenName/);
    const zone = await scim('workday', 'POST', '/Users', user('tz', 'T', 'Z', { timezone: 'Mars/Olympus' }));
    expect(zone.statusCode).toBe(400);
    expect(zone.json().detail).toMatch(/timezone/);
    const unknown = await scim('workday', 'POST', '/Users', user('u1', 'U', 'One', { adreses: [] }));
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().detail).toMatch(/adreses/);
    const junk = await app.inject({
      method: 'POST',
      url: '/scim/v2/Users',
      headers: { authorization: `Bearer ${tokens.workday}`, 'content-type': 'application/scim+json' },
      payload: '{ "acve": tre, ',
    });
    expect(junk.statusCode).toBe(400);
    expect(junk.json()).toMatchObject({ scimType: 'invalidSyntax' });
    // Nothing was half-created by the refusals.
    const n = await database.pool.query(`select count(*)::int as n from people`);
    expect(n.rows[0].n).toBe(1);
  });

  it('finds users by filter (case-insensitive userName), sorts, pages and projects', async () => {
    await createUser('workday', user('jsmith', 'Jim', 'Smith', { [ENTERPRISE]: { department: 'Sales' } }));
    await createUser(
      'workday',
      user('zangstrom', 'Zoë', 'Ångström', { [ENTERPRISE]: { department: 'Sales' } }),
    );
    const eq = await scim(
      'workday',
      'GET',
      `/Users?filter=${encodeURIComponent('userName eq "BJENSEN@EXAMPLE.COM"')}`,
    );
    expect(eq.json()).toMatchObject({ totalResults: 1, itemsPerPage: 1, startIndex: 1 });
    expect(eq.json().Resources[0].id).toBe(babs.id);
    const sorted = await scim(
      'workday',
      'GET',
      '/Users?sortBy=name.familyName&sortOrder=descending&attributes=userName',
    );
    expect(sorted.json().Resources.map((u: { userName: string }) => u.userName)).toEqual([
      'jsmith',
      'bjensen@example.com',
      'zangstrom',
    ]);
    expect(Object.keys(sorted.json().Resources[0]).sort()).toEqual(['id', 'schemas', 'userName']);
    const page = await scim('workday', 'GET', '/Users?sortBy=userName&startIndex=2&count=1');
    expect(page.json()).toMatchObject({ totalResults: 3, startIndex: 2, itemsPerPage: 1 });
    expect(page.json().Resources[0].userName).toBe('jsmith');
    const excluded = await scim('workday', 'GET', `/Users/${babs.id}?excludedAttributes=emails,name`);
    expect(excluded.json().emails).toBeUndefined();
    expect(excluded.json().name).toBeUndefined();
    expect(excluded.json().userName).toBe('bjensen@example.com');
    const sales = await scim(
      'workday',
      'GET',
      `/Users?filter=${encodeURIComponent(`${ENTERPRISE}:department eq "sales" and not (name.givenName sw "J")`)}`,
    );
    expect(sales.json().Resources.map((u: { userName: string }) => u.userName)).toEqual(['zangstrom']);
    const search = await scim('workday', 'POST', '/Users/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: 'emails[type eq "work" and value co "jensen@"]',
      attributes: ['userName'],
    });
    expect(search.json().Resources.map((u: { userName: string }) => u.userName)).toEqual([
      'bjensen@example.com',
    ]);
    const bad = await scim('workday', 'GET', `/Users?filter=${encodeURIComponent('userName eq')}`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ scimType: 'invalidFilter' });
  });

  it('gives a filtered list its true total on every page: full, partial, past the end, and count=0', async () => {
    const total = (await scim('workday', 'GET', '/Users?count=0')).json().totalResults as number;
    expect(total).toBeGreaterThanOrEqual(3);
    const all = encodeURIComponent('userName pr');
    const pageOf = async (query: string) => {
      const r = await scim('workday', 'GET', `/Users?filter=${all}&${query}`);
      expect(r.statusCode).toBe(200);
      const b = r.json();
      return [b.totalResults, b.startIndex, b.itemsPerPage, b.Resources?.length ?? 0];
    };
    // A full page: the total is counted. A partial one: the rows before it plus its own.
    expect(await pageOf('count=2')).toEqual([total, 1, 2, 2]);
    expect(await pageOf(`count=${total + 5}`)).toEqual([total, 1, total, total]);
    expect(await pageOf(`startIndex=${total}&count=2`)).toEqual([total, total, 1, 1]);
    // Past the end (filtered or not), and no page at all: counted.
    expect(await pageOf(`startIndex=${total + 10}&count=2`)).toEqual([total, total + 10, 0, 0]);
    const past = (await scim('workday', 'GET', `/Users?startIndex=${total + 10}&count=2`)).json();
    expect([past.totalResults, past.itemsPerPage]).toEqual([total, 0]);
    expect(await pageOf('count=0')).toEqual([total, 1, 0, 0]);
    // A filter that finds nobody.
    const none = await scim(
      'workday',
      'GET',
      `/Users?filter=${encodeURIComponent('userName eq "nobody.here"')}`,
    );
    expect(none.json()).toMatchObject({ totalResults: 0, itemsPerPage: 0 });
  });

  it('keeps SQL injection attempts as values', async () => {
    for (const f of [
      `userName eq "x\\" or 1=1 --"`,
      `userName eq "bjensen@example.com' or '1'='1"`,
      `userName co "%"`,
      `userName eq "\\\\"`,
      `displayName eq "Bab\\u0073 Jensen" and userName eq "nobody"`,
    ]) {
      const r = await scim('workday', 'GET', `/Users?filter=${encodeURIComponent(f)}`);
      expect(r.statusCode, `${f}: ${r.body}`).toBe(200);
      expect(r.json().totalResults, f).toBe(0);
    }
    // An escaped value is the value: "Bab\u0073" is "Babs".
    const escaped = `displayName eq "Bab\\u0073 Jensen"`;
    expect(
      (await scim('workday', 'GET', `/Users?filter=${encodeURIComponent(escaped)}`)).json().totalResults,
    ).toBe(1);
    // U+0000 cannot be stored, so a filter holding it is refused rather than passed to the database.
    const nul = await scim(
      'workday',
      'GET',
      `/Users?filter=${encodeURIComponent('displayName eq "x\\u0000"')}`,
    );
    expect(nul.statusCode).toBe(400);
    expect(nul.json()).toMatchObject({ scimType: 'invalidFilter' });
  });

  it('hides other sources from a client; a "*" client reads everyone but cannot write', async () => {
    await createUser('entra', user('someone@entra', 'Some', 'One'));
    expect((await scim('workday', 'GET', '/Users')).json().totalResults).toBe(3);
    expect((await scim('entra', 'GET', `/Users/${babs.id}`)).statusCode).toBe(404);
    expect((await scim('everyone', 'GET', '/Users')).json().totalResults).toBe(4);
    expect((await scim('reader', 'GET', `/Users/${babs.id}`)).statusCode).toBe(200);
  });

  it('PATCHes atomically with ETags: a leaver on active=false, 412 on a stale If-Match, 304 on If-None-Match', async () => {
    const stale = await scim(
      'workday',
      'PATCH',
      `/Users/${babs.id}`,
      {
        schemas: [PATCH],
        Operations: [{ op: 'replace', path: 'title', value: 'Lead' }],
      },
      { 'if-match': 'W/"99"' },
    );
    expect(stale.statusCode).toBe(412);
    const r = await scim(
      'workday',
      'PATCH',
      `/Users/${babs.id}`,
      {
        schemas: [PATCH],
        Operations: [
          { op: 'add', value: { emails: [{ value: 'babs@jensen.org', type: 'home' }], nickName: 'Babs' } },
          { op: 'replace', path: 'title', value: 'Lead Guide' },
        ],
      },
      { 'if-match': 'W/"1"' },
    );
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ nickName: 'Babs', title: 'Lead Guide' });
    expect(r.json().emails.map((e: { value: string }) => e.value)).toEqual([
      'bjensen@example.com',
      'babs@jensen.org',
    ]);
    const etag = r.headers.etag as string;
    expect(etag).not.toBe('W/"1"');
    await expectAsRead('workday', r.json());
    expect(
      (await scim('workday', 'GET', `/Users/${babs.id}`, undefined, { 'if-none-match': etag })).statusCode,
    ).toBe(304);
    // Atomic: the second operation fails, so the first is not applied either.
    const half = await scim('workday', 'PATCH', `/Users/${babs.id}`, {
      schemas: [PATCH],
      Operations: [
        { op: 'replace', path: 'title', value: 'Never' },
        { op: 'replace', path: 'id', value: 'x' },
      ],
    });
    expect(half.statusCode).toBe(400);
    expect(half.json()).toMatchObject({ scimType: 'mutability' });
    expect((await scim('workday', 'GET', `/Users/${babs.id}`)).json().title).toBe('Lead Guide');
    // Deactivation is a leaver.
    const off = await scim('workday', 'PATCH', `/Users/${babs.id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    });
    expect(off.statusCode, off.body).toBe(200);
    expect(off.json().active).toBe(false);
    expect(off.json()[HR].status).toBe('terminated');
    expect(await personEvents(babs.id)).toContain('leaver');
    // …and reactivation a rehire.
    const on = await scim('workday', 'PATCH', `/Users/${babs.id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'replace', path: 'active', value: true }],
    });
    expect(on.json().active).toBe(true);
    expect(await personEvents(babs.id)).toContain('rehire');
  });

  it('PUT replaces; employeeNumber is immutable', async () => {
    const current = (await scim('workday', 'GET', `/Users/${babs.id}`)).json();
    const r = await scim(
      'workday',
      'PUT',
      `/Users/${babs.id}`,
      user('bjensen@example.com', 'Barbara', 'Jensen', {
        [ENTERPRISE]: { employeeNumber: '701984', department: 'Finance' },
      }),
    );
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()[ENTERPRISE].department).toBe('Finance');
    expect(r.json().title).toBeUndefined();
    expect(r.json().displayName).not.toBe(current.displayName);
    await expectAsRead('workday', r.json());
    expect(await personEvents(babs.id)).toContain('mover');
    const imm = await scim(
      'workday',
      'PUT',
      `/Users/${babs.id}`,
      user('bjensen@example.com', 'B', 'J', {
        [ENTERPRISE]: { employeeNumber: '1' },
      }),
    );
    expect(imm.statusCode).toBe(400);
    expect(imm.json()).toMatchObject({ scimType: 'mutability' });
  });

  it('DELETE makes a leaver hidden from the client (404 after), kept in Gatehouse with its audit', async () => {
    const jim = (
      await scim('workday', 'GET', `/Users?filter=${encodeURIComponent('userName eq "jsmith"')}`)
    ).json().Resources[0];
    expect((await scim('workday', 'DELETE', `/Users/${jim.id}`)).statusCode).toBe(204);
    const gone = await scim('workday', 'GET', `/Users/${jim.id}`);
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ schemas: [ERROR], status: '404' });
    expect((await scim('workday', 'DELETE', `/Users/${jim.id}`)).statusCode).toBe(404);
    const p = await database.pool.query('select status from people where id = $1', [jim.id]);
    expect(p.rows[0].status).toBe('terminated');
    const audit = await database.pool.query(
      `select action from audit_events where subject_id = $1 order by seq`,
      [jim.id],
    );
    expect(audit.rows.map((a) => a.action)).toContain('scim.user_deleted');
    // The userName is free again.
    await createUser('workday', user('jsmith', 'Jim', 'Smith'));
  });
});

describe('Groups', () => {
  it('creates, patches members by the RFC examples, and refuses members that are not Users', async () => {
    const users = (await scim('workday', 'GET', '/Users?sortBy=userName')).json().Resources as {
      id: string;
      userName: string;
    }[];
    const [a, b] = users;
    const g = await scim('workday', 'POST', '/Groups', {
      schemas: [GROUP],
      displayName: 'Tour Guides',
      members: [{ value: a!.id, display: 'first' }],
    });
    expect(g.statusCode, g.body).toBe(201);
    const id = g.json().id;
    expect(g.json().members).toEqual([
      expect.objectContaining({ value: a!.id, display: 'first', type: 'User' }),
    ]);
    const add = await scim('workday', 'PATCH', `/Groups/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'add', path: 'members', value: [{ value: b!.id, display: 'second' }] }],
    });
    expect(add.statusCode, add.body).toBe(200);
    expect(
      add
        .json()
        .members.map((m: { value: string }) => m.value)
        .sort(),
    ).toEqual([a!.id, b!.id].sort());
    // The user sees the group.
    expect((await scim('workday', 'GET', `/Users/${b!.id}`)).json().groups).toEqual([
      expect.objectContaining({ value: id, display: 'Tour Guides' }),
    ]);
    const rm = await scim('workday', 'PATCH', `/Groups/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'remove', path: `members[value eq "${a!.id}"]` }],
    });
    expect(rm.json().members.map((m: { value: string }) => m.value)).toEqual([b!.id]);
    const bad = await scim('workday', 'PATCH', `/Groups/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'add', path: 'members', value: [{ value: 'not-a-user' }] }],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toMatch(/not-a-user/);
    const list = await scim(
      'workday',
      'GET',
      `/Groups?filter=${encodeURIComponent('displayName eq "tour guides"')}&excludedAttributes=members`,
    );
    expect(list.json().totalResults).toBe(1);
    expect(list.json().Resources[0].members).toBeUndefined();
    const audit = await database.pool.query(
      `select action from audit_events where subject_id = $1 order by seq`,
      [id],
    );
    expect(audit.rows.map((x) => x.action)).toEqual(['group.create', 'group.update', 'group.update']);
    expect((await scim('workday', 'DELETE', `/Groups/${id}`)).statusCode).toBe(204);
    expect((await scim('workday', 'GET', `/Groups/${id}`)).statusCode).toBe(404);
  });
});

describe('Bulk', () => {
  it('resolves bulkId references, in any order, and reports each operation', async () => {
    const r = await scim('workday', 'POST', '/Bulk', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: [
        {
          method: 'POST',
          path: '/Groups',
          bulkId: 'g1',
          data: { schemas: [GROUP], displayName: 'Bulk group', members: [{ value: 'bulkId:u1' }] },
        },
        { method: 'POST', path: '/Users', bulkId: 'u1', data: user('bulk.one', 'Bulk', 'One') },
        { method: 'POST', path: '/Users', bulkId: 'u2', data: user('bulk.one', 'Bulk', 'Dup') },
        {
          method: 'PATCH',
          path: '/Users/bulkId:u1',
          data: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'title', value: 'Bulked' }] },
        },
      ],
    });
    expect(r.statusCode, r.body).toBe(200);
    const ops = r.json().Operations as {
      bulkId?: string;
      method: string;
      status: string;
      location?: string;
      response?: { scimType?: string };
    }[];
    // Reported in the order sent; the group waited for the user it refers to.
    expect(ops.map((o) => [o.method, o.bulkId, o.status])).toEqual([
      ['POST', 'g1', '201'],
      ['POST', 'u1', '201'],
      ['POST', 'u2', '409'],
      ['PATCH', undefined, '200'],
    ]);
    const u1 = ops
      .find((o) => o.bulkId === 'u1')!
      .location!.split('/')
      .pop()!;
    const g1 = ops
      .find((o) => o.bulkId === 'g1')!
      .location!.split('/')
      .pop()!;
    expect((await scim('workday', 'GET', `/Groups/${g1}`)).json().members[0].value).toBe(u1);
    expect((await scim('workday', 'GET', `/Users/${u1}`)).json().title).toBe('Bulked');
    expect(ops.find((o) => o.bulkId === 'u2')!.response!.scimType).toBe('uniqueness');
  });

  it('resolves a circle of references (RFC 7644 §3.7.1): two people who manage each other', async () => {
    const r = await scim('workday', 'POST', '/Bulk', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: [
        {
          method: 'POST',
          path: '/Users',
          bulkId: 'ceo1',
          data: user('co.ceo.one', 'Cora', 'One', {
            [ENTERPRISE]: { employeeNumber: 'CEO-1', manager: { value: 'bulkId:ceo2' } },
          }),
        },
        {
          method: 'POST',
          path: '/Users',
          bulkId: 'ceo2',
          data: user('co.ceo.two', 'Cato', 'Two', {
            [ENTERPRISE]: { employeeNumber: 'CEO-2', manager: { value: 'bulkId:ceo1' } },
          }),
        },
      ],
    });
    expect(r.statusCode, r.body).toBe(200);
    const ops = r.json().Operations as {
      bulkId: string;
      status: string;
      location: string;
      version: string;
    }[];
    expect(ops.map((o) => [o.bulkId, o.status])).toEqual([
      ['ceo1', '201'],
      ['ceo2', '201'],
    ]);
    const [one, two] = await Promise.all(
      ops.map(async (o) => (await scim('workday', 'GET', `/Users/${o.location.split('/').pop()}`)).json()),
    );
    expect(one[ENTERPRISE].manager.value).toBe(two.id);
    expect(two[ENTERPRISE].manager.value).toBe(one.id);
    // The first was completed by a PATCH: its reported version is the one it has now.
    expect(ops[0]!.version).toBe(one.meta.version);
    expect(ops[0]!.version).not.toBe('W/"1"');
    const managers = await database.pool.query<{ employee_id: string; manager_employee_id: string }>(
      `select employee_id, manager_employee_id from people where employee_id in ('CEO-1', 'CEO-2') order by 1`,
    );
    expect(managers.rows).toEqual([
      { employee_id: 'CEO-1', manager_employee_id: 'CEO-2' },
      { employee_id: 'CEO-2', manager_employee_id: 'CEO-1' },
    ]);
  });

  it('reports a circle that cannot close: the side created first says it lacks its references', async () => {
    // Groups hold people, not groups: the second group's member is refused, so the first cannot get its own.
    const r = await scim('workday', 'POST', '/Bulk', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: [
        {
          method: 'POST',
          path: '/Groups',
          bulkId: 'ga',
          data: { schemas: [GROUP], displayName: 'Circle A', members: [{ value: 'bulkId:gb' }] },
        },
        {
          method: 'POST',
          path: '/Groups',
          bulkId: 'gb',
          data: { schemas: [GROUP], displayName: 'Circle B', members: [{ value: 'bulkId:ga' }] },
        },
      ],
    });
    expect(r.statusCode, r.body).toBe(200);
    const ops = r.json().Operations as {
      bulkId: string;
      status: string;
      location?: string;
      response?: { detail: string; scimType?: string };
    }[];
    expect(ops.map((o) => o.bulkId)).toEqual(['ga', 'gb']);
    expect(Number(ops[1]!.status)).toBeGreaterThanOrEqual(400);
    expect(ops[0]!.status).toBe('409');
    expect(ops[0]!.response!.detail).toMatch(
      /^created at http.*\/Groups\/.* without its references .*bulkId "gb" failed/,
    );
    const a = await scim('workday', 'GET', `/Groups/${ops[0]!.location!.split('/').pop()}`);
    expect(a.json()).toMatchObject({ displayName: 'Circle A' });
    expect(a.json().members ?? []).toEqual([]);
  });

  it('stops after failOnErrors errors', async () => {
    const r = await scim('workday', 'POST', '/Bulk', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      failOnErrors: 1,
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'a', data: { schemas: [CORE], userName: 'no.name' } },
        { method: 'POST', path: '/Users', bulkId: 'b', data: user('never.made', 'Never', 'Made') },
      ],
    });
    expect(r.json().Operations.map((o: { status: string }) => o.status)).toEqual(['400']);
    const n = await scim('workday', 'GET', `/Users?filter=${encodeURIComponent('userName eq "never.made"')}`);
    expect(n.json().totalResults).toBe(0);
  });
});

describe('the lenient profile (Entra and Okta habits)', () => {
  it('takes "True" strings, mixed-case ops and unknown attributes, and answers PATCH with 204', async () => {
    const r = await scim('entra', 'POST', '/Users', {
      schemas: [CORE],
      userName: 'emp1',
      active: 'True',
      name: { FamilyName: 'Employee', givenName: 'One' },
      adreses: [{ country: 'Germany' }],
    });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().active).toBe(true);
    const p = await scim('entra', 'PATCH', `/Users/${r.json().id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'Replace', path: 'userName', value: 'newusername' }],
    });
    expect(p.statusCode, p.body).toBe(204);
    const f = await scim(
      'entra',
      'GET',
      `/Users?filter=${encodeURIComponent('name.FamilyName eq Employee')}`,
    );
    expect(f.json().Resources.map((u: { userName: string }) => u.userName)).toEqual(['newusername']);
    // The strict profile refuses the same.
    const strict = await scim(
      'workday',
      'GET',
      `/Users?filter=${encodeURIComponent('name.FamilyName eq Employee')}`,
    );
    expect(strict.statusCode).toBe(400);
  });
});

describe('edges of the protocol', () => {
  it('refuses writes by a read-everyone client, an empty userName, /Me (501) and PUT to an unknown id', async () => {
    const w = await scim('everyone', 'POST', '/Users', user('x.y', 'X', 'Y'));
    expect(w.statusCode).toBe(403);
    expect(w.json().detail).toMatch(/scim:write|cannot write/);
    const empty = await scim('workday', 'POST', '/Users', user('', 'E', 'Mpty'));
    expect(empty.statusCode).toBe(400);
    expect(empty.json().detail).toMatch(/userName/);
    const me = await scim('workday', 'GET', '/Me');
    expect(me.statusCode).toBe(501);
    expect(me.json()).toMatchObject({ schemas: [ERROR], status: '501' });
    const put = await scim(
      'workday',
      'PUT',
      '/Users/6f1c8a0e-7a8b-4a55-9d2e-000000000000',
      user('p', 'P', 'Q'),
    );
    expect(put.statusCode).toBe(404);
    const twice = await scim('workday', 'GET', '/Users?filter=userName%20pr&filter=title%20pr');
    expect(twice.statusCode).toBe(400);
    expect(twice.json()).toMatchObject({ scimType: 'invalidValue' });
    expect(twice.json().detail).toMatch(/^filter must be given once/);
    const badAttrs = await scim('workday', 'POST', '/Users/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      attributes: ['userName', 7],
    });
    expect(badAttrs.statusCode).toBe(400);
    expect(badAttrs.json().detail).toMatch(/attributes/);
  });

  it('reads startIndex below 1 as 1, and searches Users and Groups together at the root', async () => {
    const low = await scim('workday', 'GET', '/Users?startIndex=0&count=1&sortBy=userName');
    expect(low.json()).toMatchObject({ startIndex: 1, itemsPerPage: 1 });
    const both = await scim('workday', 'POST', '/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: 'displayName sw "Bulk"',
    });
    expect(both.statusCode, both.body).toBe(200);
    const kinds = both
      .json()
      .Resources.map((r: Resource) => r.meta.resourceType)
      .sort();
    expect(kinds).toEqual(['Group', 'User']);
    expect(both.json().totalResults).toBe(2);
  });

  it('takes a manager by SCIM id from the same source; strict refuses an unknown one, lenient keeps none', async () => {
    const boss = await createUser(
      'workday',
      user('manager.boss', 'Mona', 'Boss', { [ENTERPRISE]: { employeeNumber: 'M-1' } }),
    );
    const report = await createUser(
      'workday',
      user('manager.report', 'Rita', 'Report', { [ENTERPRISE]: { manager: { value: boss.id } } }),
    );
    expect(report[ENTERPRISE].manager.value).toBe(boss.id);
    const managerOf = async (id: string) =>
      (
        await database.pool.query<{ manager_employee_id: string | null }>(
          'select manager_employee_id from people where id = $1',
          [id],
        )
      ).rows[0]!.manager_employee_id;
    expect(await managerOf(report.id)).toBe('M-1');
    const stranger = '0190a0b0-0000-7000-8000-000000000001';
    const refused = await scim(
      'workday',
      'POST',
      '/Users',
      user('manager.orphan', 'Otto', 'Orphan', { [ENTERPRISE]: { manager: { value: stranger } } }),
    );
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ scimType: 'invalidValue' });
    expect(refused.json().detail).toContain(`manager.value "${stranger}" is not a User of this HR source`);
    // Another source's person is not this client's to name (the boss is in "workday", Entra pushes to "entra"): the
    // lenient profile keeps the reference as sent, unresolved, instead of refusing the User.
    const lenient = await createUser(
      'entra',
      user('manager.elsewhere', 'Elsa', 'Where', { [ENTERPRISE]: { manager: { value: boss.id } } }),
    );
    expect(lenient[ENTERPRISE].manager.value).toBe(boss.id);
    expect(await managerOf(lenient.id)).toBeNull();
  });

  it('restores a deleted User created again with the same employeeNumber (a rehire, same id)', async () => {
    const first = await createUser(
      'workday',
      user('returning', 'Re', 'Turner', { [ENTERPRISE]: { employeeNumber: 'R-1' } }),
    );
    expect((await scim('workday', 'DELETE', `/Users/${first.id}`)).statusCode).toBe(204);
    const again = await createUser(
      'workday',
      user('returning', 'Re', 'Turner', { [ENTERPRISE]: { employeeNumber: 'R-1' } }),
    );
    expect(again.id).toBe(first.id);
    expect(again.active).toBe(true);
    await expectAsRead('workday', again);
    expect(await personEvents(first.id)).toEqual(['joiner', 'leaver', 'rehire']);
    const audit = await database.pool.query(
      `select action from audit_events where subject_id = $1 order by seq`,
      [first.id],
    );
    expect(audit.rows.map((a) => a.action)).toContain('scim.user_restored');
  });
});

// Last: the people it creates in a source of their own would show to the "*" reader of the tests above.
describe('concurrent writes', () => {
  it('concurrent creates each stand on their own: one userName sent twice at once is created once', async () => {
    tokens.burst ??= await token('burst', ['scim:write'], { source: 'burst' });
    const sent = await Promise.all([
      scim('burst', 'POST', '/Users', user('burst.0@example.com', 'Burst', 'Zero')),
      ...Array.from({ length: 6 }, (_, i) =>
        scim('burst', 'POST', '/Users', user(`burst.${i + 1}@example.com`, 'Burst', `N${i + 1}`)),
      ),
      scim('burst', 'POST', '/Users', user('Burst.Twin@example.com', 'Burst', 'Twin')),
      scim('burst', 'POST', '/Users', user('burst.twin@EXAMPLE.com', 'Burst', 'Twin')),
    ]);
    const codes = sent.map((r) => r.statusCode);
    expect(codes.slice(0, 7)).toEqual([201, 201, 201, 201, 201, 201, 201]);
    expect(codes.slice(7).sort()).toEqual([201, 409]);
    expect(sent.find((r) => r.statusCode === 409)!.json()).toMatchObject({ scimType: 'uniqueness' });
    const twins = await database.pool.query(
      `select id from people where lower(attributes ->> 'scim.userName') = 'burst.twin@example.com'`,
    );
    expect(twins.rows).toHaveLength(1);
    // Each person's audit event carries the id of the request that created it.
    const ids = sent.filter((r) => r.statusCode === 201).map((r) => r.json().id as string);
    const audit = await database.pool.query<{ subject_id: string; correlation_id: string | null }>(
      `select subject_id, correlation_id from audit_events where action = 'person.created' and subject_id = any($1)`,
      [ids],
    );
    expect(audit.rows).toHaveLength(8);
    expect(new Set(audit.rows.map((r) => r.correlation_id)).size).toBe(8);
    expect(audit.rows.every((r) => r.correlation_id !== null)).toBe(true);
  });
});
