import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { transaction } from '../../src/db/index.ts';
import { systemClock } from '../../src/kit/clock.ts';
import { createToken } from '../../src/tokens/index.ts';
import { createTestDatabase, superuser, type TestDatabase } from '../../src/testing/db.ts';
import { testContext } from '../../src/testing/context.ts';
import { eventually } from '../../src/testing/processes.ts';
import { startTestApi, type TestApi } from '../../src/testing/api.ts';

let database: TestDatabase;
let api: TestApi;
let app: FastifyInstance;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApi(database, { env: { GATEHOUSE_BOOTSTRAP_TOKEN: 'b'.repeat(40) } });
  app = api.app;
  for (const [name, scopes] of [
    ['admin', ['admin']],
    ['auditor', ['audit:read']],
    ['tokenadmin', ['tokens:read', 'tokens:write']],
    ['jobs', ['jobs:read', 'jobs:write']],
  ] as const) {
    tokens[name] = (
      await transaction(database, (tx) => createToken(tx, testContext(), { name, scopes: [...scopes] }))
    ).token;
  }
});
afterAll(async () => {
  await api?.close();
  await database?.drop();
});

const auth = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });

function expectProblem(
  res: { statusCode: number; headers: Record<string, unknown>; json: () => Record<string, unknown> },
  status: number,
  code: string,
) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toContain('application/problem+json');
  const body = res.json();
  expect(body).toMatchObject({ status, code, type: `urn:gatehouse:problem:${code}` });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(body.requestId).toBe(res.headers['x-request-id']);
  return body;
}

describe('HTTP API', () => {
  it('answers health and readiness without a token', async () => {
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({
      status: 'ready',
      checks: { database: { ok: true }, migrations: { ok: true }, jobs: { ok: true } },
    });
  });

  it('serves an OpenAPI 3.1 document covering every /api/v1 route, with bearer security', async () => {
    const res = await app.inject('/api/openapi.json');
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/tokens',
        '/api/v1/tokens/{id}/revoke',
        '/api/v1/audit/events',
        '/api/v1/audit/verify',
        '/api/v1/me',
      ]),
    );
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/api/v1/tokens'].post.requestBody.content['application/json'].schema.required).toEqual(
      expect.arrayContaining(['name', 'scopes']),
    );
  });

  it.each([
    ['no header', {}, 'unauthenticated'],
    ['a malformed token', { authorization: 'Bearer nope' }, 'token_invalid'],
    ['an unknown token', { authorization: `Bearer gh_${'x'.repeat(43)}` }, 'token_invalid'],
    ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }, 'unauthenticated'],
  ])('refuses %s with 401 problem+json', async (_w, headers, code) => {
    expectProblem(await app.inject({ url: '/api/v1/me', headers }), 401, code);
  });

  it('enforces scopes: 403 names the missing scope', async () => {
    const body = expectProblem(
      await app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: auth('auditor'),
        payload: { name: 'x', scopes: ['admin'] },
      }),
      403,
      'forbidden',
    );
    expect(body.detail).toContain('tokens:write');
    expectProblem(
      await app.inject({ url: '/api/v1/audit/events', headers: auth('tokenadmin') }),
      403,
      'forbidden',
    );
    expectProblem(
      await app.inject({ url: '/api/v1/system/config', headers: auth('auditor') }),
      403,
      'forbidden',
    );
    expect((await app.inject({ url: '/api/v1/audit/events', headers: auth('admin') })).statusCode).toBe(200);
  });

  it('every /api route declares a scope (secure by default)', async () => {
    const { default: Fastify } = await import('fastify');
    const { registerAuth } = await import('./auth.ts');
    const probe = Fastify();
    registerAuth(probe, { database, clock: systemClock } as never);
    expect(() => probe.get('/api/v1/oops', async () => 'open')).toThrow(/declares no scope/);
    expect(() =>
      probe.get('/api/v1/fine', { config: { scope: 'audit:read' } }, async () => 'ok'),
    ).not.toThrow();
  });

  it('echoes a safe caller request id and replaces an unsafe one', async () => {
    const a = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'ticket-4711.abc' } });
    expect(a.headers['x-request-id']).toBe('ticket-4711.abc');
    const b = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'bad id\u0000<script>' } });
    expect(b.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('unknown routes are problem+json 404', async () => {
    expectProblem(await app.inject('/api/v1/nothing-here'), 404, 'not_found');
  });

  it('creates a token (shown once), lists without secrets, revokes it — all audited with the request id', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { ...auth('tokenadmin'), 'x-request-id': 'req-create-1' },
      payload: { name: 'ci', scopes: ['audit:read'], expiresIn: '30d' },
    });
    expect(created.statusCode).toBe(201);
    const { token, tokenInfo } = created.json();
    expect(token).toMatch(/^gh_/);
    expect(tokenInfo).toMatchObject({ name: 'ci', scopes: ['audit:read'], status: 'active' });
    const me = await app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } });
    expect(me.json()).toMatchObject({ name: 'ci', scopes: ['audit:read'] });
    const list = await app.inject({ url: '/api/v1/tokens', headers: auth('tokenadmin') });
    expect(list.body).not.toContain(token);
    expect(list.json().items.map((t: { name: string }) => t.name)).toContain('ci');
    const revoked = await app.inject({
      method: 'POST',
      url: `/api/v1/tokens/${tokenInfo.id}/revoke`,
      headers: auth('tokenadmin'),
      payload: { reason: 'rotated' },
    });
    expect(revoked.json().status).toBe('revoked');
    expectProblem(
      await app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } }),
      401,
      'token_revoked',
    );
    expectProblem(
      await app.inject({
        method: 'POST',
        url: `/api/v1/tokens/${tokenInfo.id}/revoke`,
        headers: auth('tokenadmin'),
        payload: {},
      }),
      409,
      'token_already_revoked',
    );
    const events = await app.inject({
      url: `/api/v1/audit/events?subjectId=${tokenInfo.id}`,
      headers: auth('auditor'),
    });
    const items = events.json().items;
    expect(items.map((e: { action: string }) => e.action)).toEqual(['token.revoke', 'token.create']);
    expect(items[1]).toMatchObject({
      correlationId: 'req-create-1',
      actor: { type: 'token', name: 'tokenadmin' },
    });
  });

  it('validation errors name each field', async () => {
    const body = expectProblem(
      await app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: auth('admin'),
        payload: { name: '', scopes: 'admin' },
      }),
      400,
      'validation_failed',
    );
    const fields = (body.errors as { field: string }[]).map((e) => e.field).sort();
    expect(fields).toEqual(['body.name', 'body.scopes']);
    const unknownScope = expectProblem(
      await app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: auth('admin'),
        payload: { name: 'x', scopes: ['admin', 'superuser'] },
      }),
      400,
      'token_scope_unknown',
    );
    expect(unknownScope.errors).toEqual([expect.objectContaining({ field: 'scopes[1]' })]);
    expectProblem(
      await app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: auth('admin'),
        payload: { name: 'x', scopes: ['admin'], expiresIn: 'whenever' },
      }),
      400,
      'token_expiry_invalid',
    );
    expectProblem(
      await app.inject({ url: '/api/v1/audit/events?limit=9999', headers: auth('admin') }),
      400,
      'validation_failed',
    );
    expectProblem(
      await app.inject({ url: '/api/v1/tokens/not-a-uuid', headers: auth('admin') }),
      400,
      'validation_failed',
    );
    expectProblem(
      await app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: { ...auth('admin'), 'content-type': 'application/json' },
        payload: '{"name": ',
      }),
      400,
      'bad_request',
    );
  });

  it('verifies the audit chain and reports tampering', async () => {
    const ok = await app.inject({ method: 'POST', url: '/api/v1/audit/verify', headers: auth('auditor') });
    expect(ok.json()).toMatchObject({ ok: true });
    const checked = ok.json().checked as number;
    expect(checked).toBeGreaterThan(3);
    await superuser(database, async (c) => {
      await c.query('set session_replication_role = replica');
      await c.query(
        `update audit_events set after = jsonb_set(after, '{scopes}', '["admin"]') where seq = 2`,
      );
    });
    const bad = await app.inject({ method: 'POST', url: '/api/v1/audit/verify', headers: auth('auditor') });
    expect(bad.json()).toMatchObject({
      ok: false,
      checked: 1,
      firstBroken: { seq: 2, reason: 'hash_mismatch', action: 'token.create' },
    });
  });

  it('shows configuration to admins with secrets masked', async () => {
    const res = await app.inject({ url: '/api/v1/system/config', headers: auth('admin') });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('b'.repeat(40));
    const byEnv = Object.fromEntries(res.json().items.map((i: { env: string }) => [i.env, i]));
    expect(byEnv.GATEHOUSE_BOOTSTRAP_TOKEN.value).toBe('***');
  });

  it('runs a queue probe end to end through the API', async () => {
    const sent = await app.inject({
      method: 'POST',
      url: '/api/v1/jobs/probe',
      headers: auth('jobs'),
      payload: { count: 25 },
    });
    expect(sent.statusCode).toBe(202);
    const { batch } = sent.json();
    const report = await eventually(async () => {
      const r = (
        await app.inject({ url: `/api/v1/jobs/probe/${batch}?expected=25`, headers: auth('jobs') })
      ).json();
      return r.done === 25 && r;
    }, 'probe jobs');
    expect(report).toMatchObject({ expected: 25, done: 25, distinctJobs: 25, byWorker: { 'api-test': 25 } });
    const queues = (await app.inject({ url: '/api/v1/jobs/queues', headers: auth('jobs') })).json();
    expect(queues.items.map((q: { name: string }) => q.name)).toContain('system.probe');
  });
});
