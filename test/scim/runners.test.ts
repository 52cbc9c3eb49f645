import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startScimPeer, type ScimPeer } from '../../src/testing/scim-peer.ts';
import { formatNewmanReport, runMicrosoftCollection } from './newman.ts';
import { formatRunscopeReport, initialVariables, readPath, runRunscope } from './runscope.ts';

/**
 * The two conformance runners, proven against a third-party SCIM server (SCIMMY + SCIMMY Routers, see
 * src/testing/scim-peer.ts) before they are pointed at Gatehouse.
 */

interface OktaStep {
  step_type: string;
  note?: string;
  assertions?: { source: string; comparison: string; value?: unknown; property?: string }[];
  scripts?: string[];
}
const OKTA = JSON.parse(
  readFileSync(new URL('../fixtures/scim/Okta-SCIM-20-SPEC-Test.json', import.meta.url), 'utf8'),
) as { steps: OktaStep[] };
const oktaRequests = OKTA.steps.filter((s) => s.step_type === 'request');
const oktaAssertions = oktaRequests.flatMap((s) => s.assertions ?? []);
const OKTA_TIMING = oktaAssertions.filter((a) => a.source === 'response_time').length;
/** Declarative assertions (without response times) plus one per step script. */
const OKTA_COUNTED =
  oktaAssertions.length -
  OKTA_TIMING +
  oktaRequests.flatMap((s) => s.scripts ?? []).filter((s) => s.trim()).length;

const TOKEN = 'okta-spec-token';
const auth = `Bearer ${TOKEN}`;

function seedUser(peer: ScimPeer): void {
  peer.store.create('Users', {
    userName: 'morgan.chen@example.com',
    name: { givenName: 'Morgan', familyName: 'Chen' },
    emails: [{ value: 'morgan.chen@example.com', type: 'work', primary: true }],
    active: true,
  });
}

describe("Okta's SCIM 2.0 spec test (Runscope export)", () => {
  let peer: ScimPeer;
  beforeAll(async () => {
    peer = await startScimPeer({ token: TOKEN });
    // The suite needs a user that exists before it runs, and at least one group.
    seedUser(peer);
    peer.store.create('Groups', { displayName: 'Seeded group' });
  });
  afterAll(async () => peer?.close());

  it('the export has the shape the runner was written for', () => {
    expect(oktaRequests).toHaveLength(12);
    expect(oktaAssertions).toHaveLength(52);
    expect(OKTA_TIMING).toBe(1);
    expect(OKTA_COUNTED).toBe(52);
  });

  it('passes every assertion against SCIMMY; response times are reported apart', async () => {
    const result = await runRunscope(OKTA, { baseUrl: peer.url, auth });
    expect(result.failures, formatRunscopeReport(result)).toEqual([]);
    expect(result.passed).toBe(OKTA_COUNTED);
    expect(result.failed).toBe(0);
    expect(result.steps).toHaveLength(oktaRequests.length);
    expect(result.steps.map((s) => s.status)).toEqual([
      200, 200, 200, 404, 200, 201, 200, 409, 200, 200, 401, 404,
    ]);
    // Evaluated and reported, but never asserted on: no timing assertions in tests.
    expect(result.timing.checks).toHaveLength(OKTA_TIMING);
    expect(result.timing.checks[0]).toMatchObject({ step: 'Optional Test: Verify Groups endpoint' });
    expect(typeof result.timing.checks[0]!.actual).toBe('number');
    // The step script's intent became an assertion of its own.
    const groups = result.steps.find((s) => s.name === 'Optional Test: Verify Groups endpoint')!;
    expect(groups.assertions.map((a) => a.name)).toEqual([
      'response_status equal_number 200',
      'script: Resources is of type Array (totalResults ≥ 1)',
    ]);
    // Variables flowed from one step to the next, and the created user is on the server.
    expect(result.variables.ISVUserid).toBe(peer.store.list('Users')[0]!.id);
    const created = peer.store.get('Users', result.variables.idUserOne!);
    expect(created?.userName).toBe(result.variables.randomUsername);
    expect(formatRunscopeReport(result).split('\n')[0]).toBe(`okta spec: ${OKTA_COUNTED} passed, 0 failed`);
  });

  it('reports the specific failure when an expected value is changed', async () => {
    const altered = structuredClone(OKTA);
    const step = altered.steps.find((s) => s.note === 'Required Test: Test invalid User by username')!;
    const assertion = step.assertions!.find((a) => a.property === 'totalResults')!;
    assertion.value = '1';
    const result = await runRunscope(altered, { baseUrl: peer.url, auth });
    expect(result.failures).toEqual([
      {
        step: 'Required Test: Test invalid User by username',
        assertion: 'response_json totalResults equal 1',
        expected: '1',
        actual: 0,
      },
    ]);
    expect(result.passed).toBe(OKTA_COUNTED - 1);
    const report = formatRunscopeReport(result);
    expect(report).toContain(`okta spec: ${OKTA_COUNTED - 1} passed, 1 failed`);
    expect(report).toContain('Required Test: Test invalid User by username');
    expect(report).toContain('expected: "1"');
    expect(report).toContain('actual:   0');
  });

  it('fails with the wrong token', async () => {
    const result = await runRunscope(OKTA, { baseUrl: peer.url, auth: 'Bearer wrong' });
    expect(result.failures).toContainEqual({
      step: 'Required Test: Test Users endpoint',
      assertion: 'response_status equal_number 200',
      expected: '200',
      actual: 401,
    });
    // The only step that expects 401 passes, every other status check fails.
    const statusChecks = result.steps.map((s) => s.assertions[0]!);
    expect(statusChecks.filter((a) => a.passed).map((a) => a.expected)).toEqual(['401']);
  });

  it("fails the Groups script's check when the server has no group", async () => {
    const empty = await startScimPeer({ token: TOKEN });
    try {
      seedUser(empty);
      const result = await runRunscope(OKTA, { baseUrl: empty.url, auth });
      expect(result.failures).toEqual([
        {
          step: 'Optional Test: Verify Groups endpoint',
          assertion: 'script: Resources is of type Array (totalResults ≥ 1)',
          expected: { totalResults: '≥ 1', Resources: 'array' },
          actual: { totalResults: 0, Resources: 'array' },
        },
      ]);
    } finally {
      await empty.close();
    }
  });

  it("sets the initial script's variables", () => {
    const v = initialVariables();
    expect(v.randomGivenName).toMatch(/^Runscope\d{3}$/);
    expect(v.randomFamilyName).toMatch(/^[A-Z][a-z]{8}\d{3}$/);
    expect(v.randomEmail).toBe(`${v.randomGivenName}${v.randomFamilyName}@atko.com`);
    expect(v.randomUsername).toBe(v.randomEmail);
    expect(v.randomUsernameCaps).toBe(v.randomEmail!.toUpperCase());
    expect(v.InvalidUserEmail).toBe('abcdefgh@atko.com');
    expect(v.UserIdThatDoesNotExist).toBe('010101001010101011001010101011');
    expect(v.randomGroupName).toMatch(/^Runscope\d{3}$/);
    expect(readPath({ Resources: [{ name: { familyName: 'X' } }] }, 'Resources[0].name.familyName')).toBe(
      'X',
    );
    expect(readPath({ Resources: [] }, 'Resources[0].id')).toBeUndefined();
  });
});

describe("Microsoft's SCIM Postman collection (newman)", () => {
  let peer: ScimPeer;
  // The collection assumes an empty store ("Get empty Users", totals after its own creations): a fresh peer.
  beforeAll(async () => {
    peer = await startScimPeer({ token: TOKEN });
  });
  afterAll(async () => peer?.close());

  it('runs with the known failures against SCIMMY, printing nothing', async () => {
    const write = vi.spyOn(process.stdout, 'write');
    let result;
    try {
      result = await runMicrosoftCollection({
        protocol: 'http',
        server: '127.0.0.1',
        port: Number(new URL(peer.url).port),
        api: 'scim/v2',
        token: TOKEN,
      });
    } finally {
      write.mockRestore();
    }
    const printed = write.mock.calls.map((c) => String(c[0])).join('');
    expect(printed).not.toMatch(/newman|SCIM Tests|→/);

    const report = formatNewmanReport(result);
    expect({ requests: result.requests, total: result.total, failed: result.failed }, report).toEqual({
      requests: 76,
      total: 103,
      failed: 14,
    });
    expect(result.assertionsFailed).toBe(14);
    expect(result.failures.map((f) => `${f.folder} / ${f.request}: ${f.assertion}`).sort(), report).toEqual([
      // Non-standard endpoint: RFC 7644 names it /ServiceProviderConfig; the collection asks /serviceConfiguration.
      'Endpoint tests / Get ServiceProviderConfig: Pach supported is true',
      'Endpoint tests / Get ServiceProviderConfig: Status code is 200',
      // The member's display text the collection sent is expected back; SCIMMY's peer shows the user's userName.
      'Group tests / Get group by id: Body contians user',
      // Bare strings as members ("value": "string id 1"): SCIMMY refuses them with 400.
      'Group tests with garbage / Group patch add member2: Status code is 204',
      'Group tests with garbage / Group patch add member: Status code is 204',
      // Delete of the user that "active": "True" kept from being created.
      'Teardown garbage / Delete user 2: Status code is 204',
      // Counts that include that user.
      'User tests with garbage / Get all users: Results have 2 users',
      'User tests with garbage / Paginate: Total results',
      // PATCH answered 200 with the resource (RFC 7644 allows 200 or 204).
      'User tests with garbage / Patch user omalley new username: Status code is 204',
      // "active": "True" (a string for a boolean): SCIMMY refuses it with 400.
      'User tests with garbage / Post emp1 with string "True": Active properly set',
      'User tests with garbage / Post emp1 with string "True": Status code is 201',
      'User tests with garbage / filter eq and (val or val): Total results',
      'User tests with garbage / filter greater than: Total results',
      'User tests with garbage / get user attributes: Total results',
    ]);
    // The collection cleans up after itself.
    expect(peer.store.list('Users')).toEqual([]);
    expect(peer.store.list('Groups')).toEqual([]);
  });
});
