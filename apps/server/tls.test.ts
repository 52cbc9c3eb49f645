import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../src/testing/api.ts';
import { createTestDatabase, type TestDatabase } from '../../src/testing/db.ts';
import { isLocalAddress, plainHttpRefusal } from './tls.ts';

/**
 * GATEHOUSE_REQUIRE_TLS: plain-HTTP requests from outside are refused before their credentials are looked at (RFC
 * 7644 §7.2); through a trusted TLS proxy they are served.
 */
describe('which addresses are local', () => {
  it('takes loopback, private and link-local addresses, IPv4-mapped too, and nothing else', () => {
    for (const ip of [
      '127.0.0.1',
      '10.20.30.40',
      '172.16.0.1',
      '172.31.255.254',
      '192.168.1.10',
      '169.254.1.1',
    ])
      expect(isLocalAddress(ip), ip).toBe(true);
    for (const ip of ['::1', 'fd12:3456::1', 'fe80::1', '::ffff:10.0.0.7', '::FFFF:127.0.0.1'])
      expect(isLocalAddress(ip), ip).toBe(true);
    for (const ip of [
      '203.0.113.7',
      '172.32.0.1',
      '8.8.8.8',
      '2001:db8::1',
      '::ffff:203.0.113.7',
      'not-an-ip',
      '',
    ])
      expect(isLocalAddress(ip), ip).toBe(false);
  });

  it('refuses by mode; https and health probes always pass', () => {
    const req = (protocol: string, ip: string, url = '/api/v1/people') => ({ protocol, ip, url });
    expect(plainHttpRefusal('external', req('http', '203.0.113.7'))).toMatchObject({
      code: 'tls_required',
      status: 403,
    });
    expect(plainHttpRefusal('external', req('http', '127.0.0.1'))).toBeNull();
    expect(plainHttpRefusal('external', req('https', '203.0.113.7'))).toBeNull();
    expect(plainHttpRefusal('all', req('http', '127.0.0.1'))).toMatchObject({ code: 'tls_required' });
    expect(plainHttpRefusal('all', req('https', '127.0.0.1'))).toBeNull();
    expect(plainHttpRefusal('all', req('http', '203.0.113.7', '/healthz?full=1'))).toBeNull();
    expect(plainHttpRefusal('all', req('http', '203.0.113.7', '/readyz'))).toBeNull();
    expect(plainHttpRefusal('none', req('http', '203.0.113.7'))).toBeNull();
  });
});

describe('a server behind a TLS proxy (GATEHOUSE_TRUST_PROXY=true), default mode', () => {
  let database: TestDatabase;
  let api: TestApi;
  let strict: TestApi;
  const outside = { remoteAddress: '203.0.113.7' };
  const viaProxy = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' };

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startTestApi(database, { env: { GATEHOUSE_TRUST_PROXY: 'true' } });
    strict = await startTestApi(database, { env: { GATEHOUSE_REQUIRE_TLS: 'all' } });
  });
  afterAll(async () => {
    await api?.close();
    await strict?.close();
    await database?.drop();
  });

  it('refuses plain HTTP from outside with 403 tls_required, before looking at the token', async () => {
    const r = await api.app.inject({
      method: 'GET',
      url: '/api/v1/people',
      headers: { authorization: 'Bearer gh_not_even_a_token' },
      ...outside,
    });
    expect(r.statusCode).toBe(403);
    expect(r.headers['content-type']).toMatch(/problem\+json/);
    expect(r.json()).toMatchObject({ code: 'tls_required', status: 403 });
    expect(r.json().detail ?? r.json().title).toMatch(/HTTPS/);
  });

  it('shows a person at a browser a page that says to use the https:// address', async () => {
    const r = await api.app.inject({
      method: 'GET',
      url: '/people',
      headers: { accept: 'text/html,application/xhtml+xml' },
      ...outside,
    });
    expect(r.statusCode).toBe(403);
    expect(r.headers['content-type']).toMatch(/text\/html/);
    expect(r.body).toMatch(/reached over HTTPS only/);
    expect(r.body).toMatch(/https:\/\/<\/code> address/);
    // The API answers an API client in its own format, whatever it accepts.
    const apiCall = await api.app.inject({
      method: 'GET',
      url: '/api/v1/people',
      headers: { accept: 'text/html' },
      ...outside,
    });
    expect(apiCall.json()).toMatchObject({ code: 'tls_required' });
  });

  it('answers a SCIM client the same way, as a SCIM error', async () => {
    const r = await api.app.inject({ method: 'GET', url: '/scim/v2/Users', ...outside });
    expect(r.statusCode).toBe(403);
    expect(r.json()).toMatchObject({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '403',
    });
    expect(r.json().detail).toMatch(/HTTPS/);
  });

  it('serves the same requests through the proxy, from private addresses, and probes from anywhere', async () => {
    // Past the TLS check, the missing token is what is refused.
    const proxied = await api.app.inject({ method: 'GET', url: '/api/v1/people', headers: viaProxy });
    expect(proxied.statusCode).toBe(401);
    const scim = await api.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: viaProxy });
    expect(scim.statusCode).toBe(401);
    const lan = await api.app.inject({ method: 'GET', url: '/api/v1/people', remoteAddress: '10.1.2.3' });
    expect(lan.statusCode).toBe(401);
    expect((await api.app.inject({ method: 'GET', url: '/healthz', ...outside })).statusCode).toBe(200);
  });

  it('with GATEHOUSE_REQUIRE_TLS=all, refuses plain HTTP from loopback too, but not the probes', async () => {
    const r = await strict.app.inject({ method: 'GET', url: '/api/v1/people' });
    expect(r.statusCode).toBe(403);
    expect(r.json()).toMatchObject({ code: 'tls_required' });
    expect((await strict.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});
