import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { listAudit } from '../../src/audit/index.ts';
import { transaction } from '../../src/db/index.ts';
import { DEFAULT_NAMING_POLICY } from '../../src/naming/index.ts';
import { createToken } from '../../src/tokens/index.ts';
import { createTestDatabase, type TestDatabase } from '../../src/testing/db.ts';
import { testContext } from '../../src/testing/context.ts';
import { startTestApi, type TestApi } from '../../src/testing/api.ts';

let database: TestDatabase;
let api: TestApi;
let app: FastifyInstance;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApi(database);
  app = api.app;
  for (const [name, scopes] of [
    ['reader', ['settings:read']],
    ['writer', ['settings:read', 'settings:write']],
    ['auditor', ['audit:read']],
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

describe('naming API', () => {
  it('shows the default policy, to settings:read only', async () => {
    const res = await app.inject({ url: '/api/v1/naming/policy', headers: auth('reader') });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual(DEFAULT_NAMING_POLICY);
    const denied = await app.inject({ url: '/api/v1/naming/policy', headers: auth('auditor') });
    expect(denied.statusCode).toBe(403);
  });

  it('previews names with the current policy (preferred name first)', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/naming/preview',
      headers: auth('reader'),
      payload: { first: 'Łukasz', last: 'Żółć', preferredName: 'Luke' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      username: 'luke.zolc',
      workEmail: 'luke.zolc@example.com',
      displayName: 'Luke Żółć',
    });
    const bad = await app.inject({
      method: 'POST',
      url: '/api/v1/naming/preview',
      headers: auth('reader'),
      payload: { first: 'Ann' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('validation_failed');
  });

  it('refuses an invalid policy, naming each problem, and changes nothing', async () => {
    const res = await app.inject({
      method: 'PUT',
      url: '/api/v1/naming/policy',
      headers: auth('writer'),
      payload: {
        ...DEFAULT_NAMING_POLICY,
        username: { template: '{first}.{middle}', maxLength: 100 },
      },
    });
    expect(res.statusCode, res.body).toBe(400);
    const body = res.json();
    expect(body.code).toBe('naming_policy_invalid');
    expect(body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          field: 'username.template',
          message: expect.stringContaining('{middle}'),
        }),
        { field: 'username.maxLength', message: 'must be at most 64' },
      ]),
    );
    const now = await app.inject({ url: '/api/v1/naming/policy', headers: auth('reader') });
    expect(now.json()).toEqual(DEFAULT_NAMING_POLICY);
  });

  it('changes the policy with settings:write, audited, and previews with it', async () => {
    const denied = await app.inject({
      method: 'PUT',
      url: '/api/v1/naming/policy',
      headers: auth('reader'),
      payload: DEFAULT_NAMING_POLICY,
    });
    expect(denied.statusCode).toBe(403);

    const policy = {
      ...DEFAULT_NAMING_POLICY,
      username: { template: '{first:1}{last}', maxLength: 8 },
      email: { ...DEFAULT_NAMING_POLICY.email, domain: 'Corp.Example.ORG' },
      embargoDays: 90,
    };
    const res = await app.inject({
      method: 'PUT',
      url: '/api/v1/naming/policy',
      headers: auth('writer'),
      payload: policy,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      username: { template: '{first:1}{last}', maxLength: 8 },
      email: { domain: 'corp.example.org' },
      embargoDays: 90,
    });
    const got = await app.inject({ url: '/api/v1/naming/policy', headers: auth('reader') });
    expect(got.json()).toEqual(res.json());

    const events = (await listAudit(database, { action: 'naming.policy_changed' })).items;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      subject: { type: 'naming_policy', id: 'default' },
      actor: { type: 'token', name: 'writer' },
      before: { embargoDays: 365 },
      after: { embargoDays: 90 },
    });

    const preview = await app.inject({
      method: 'POST',
      url: '/api/v1/naming/preview',
      headers: auth('reader'),
      payload: { first: 'Siobhán', last: "O'Brien-Kavanagh" },
    });
    expect(preview.json()).toEqual({
      username: 'sobrien',
      workEmail: 'siobhan.obrien-kavanagh@corp.example.org',
      displayName: "Siobhán O'Brien-Kavanagh",
    });
  });
});
