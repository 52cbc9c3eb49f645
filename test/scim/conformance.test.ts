import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transaction } from '../../src/db/index.ts';
import { createToken } from '../../src/tokens/index.ts';
import { startTestApi, type TestApi } from '../../src/testing/api.ts';
import { testContext } from '../../src/testing/context.ts';
import { createTestDatabase, type TestDatabase } from '../../src/testing/db.ts';
import { formatNewmanReport, runMicrosoftCollection } from './newman.ts';
import { formatRunscopeReport, runRunscope } from './runscope.ts';

/**
 * The third-party SCIM conformance suites against a live Gatehouse (HTTP on a real port, real PostgreSQL):
 * Microsoft's Postman collection through newman, and Okta's SPEC test through our Runscope runner. Every assertion
 * passes, or is listed here — and in docs/SCIM.md — with the RFC reason it is deliberately not met; the test fails
 * if an assertion on the list starts passing (so the list stays true) or any other fails.
 */

/** Microsoft collection assertions Gatehouse deliberately does not meet (request: assertion → why). */
export const MICROSOFT_NOT_MET: Record<string, string> = {
  'Group tests with garbage / Group patch add member: Status code is 204':
    'the member "string id 1" is not a User: refused with 400 invalidValue (RFC 7644 §3.5.2, §3.12) rather than silently dropped or stored as a dangling reference',
  'Group tests with garbage / Group patch add member2: Status code is 204':
    'the member "string id 2" is not a User: refused with 400 invalidValue, as above',
};

let database: TestDatabase;
let api: TestApi;

async function scimToken(name: string, source: string, profile: 'strict' | 'lenient') {
  const r = await transaction(database, (tx) =>
    createToken(tx, testContext(), { name, scopes: ['scim:write'], scim: { source, profile } }),
  );
  return r.token;
}

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApi(database, { listen: true });
});
afterAll(async () => {
  await api?.close();
  await database?.drop();
});

describe("Microsoft's SCIM validator collection (newman), lenient profile", () => {
  it('passes every assertion but the ones documented as deliberately not met', async () => {
    // A fresh HR source: the collection expects an empty store at the start and leaves it empty.
    const token = await scimToken('entra validator', 'entra-validator', 'lenient');
    const url = new URL(api.url!);
    const result = await runMicrosoftCollection({
      protocol: 'http',
      server: url.hostname,
      port: Number(url.port),
      api: 'scim/v2',
      token,
    });
    const failed = result.failures
      .map((f) => `${f.folder ? `${f.folder} / ` : ''}${f.request}: ${f.assertion}`)
      .sort();
    expect(failed, formatNewmanReport(result)).toEqual(Object.keys(MICROSOFT_NOT_MET).sort());
    expect(result.requests).toBe(76);
    expect(result.total).toBeGreaterThanOrEqual(100);
  });
});

describe("Okta's SCIM 2.0 SPEC test (Runscope export), strict profile", () => {
  it('passes every assertion', async () => {
    const token = await scimToken('okta', 'okta', 'strict');
    const base = `${api.url}/scim/v2`;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
    // The suite reads a user and a group that exist before it runs.
    const seeded = await fetch(`${base}/Users`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: 'morgan.chen@example.com',
        name: { givenName: 'Morgan', familyName: 'Chen' },
        emails: [{ value: 'morgan.chen@example.com', type: 'work', primary: true }],
      }),
    });
    expect(seeded.status).toBe(201);
    const group = await fetch(`${base}/Groups`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
        displayName: 'Okta group',
      }),
    });
    expect(group.status).toBe(201);
    const okta = JSON.parse(
      readFileSync(new URL('../fixtures/scim/Okta-SCIM-20-SPEC-Test.json', import.meta.url), 'utf8'),
    ) as unknown;
    const result = await runRunscope(okta, { baseUrl: base, auth: `Bearer ${token}` });
    expect(result.failures, formatRunscopeReport(result)).toEqual([]);
    expect(result.passed).toBe(52);
  });
});
