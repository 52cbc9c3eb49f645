import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { listAudit, verifyChain } from '../../src/audit/index.ts';
import { fixedClock } from '../../src/kit/clock.ts';
import { uuid } from '../../src/kit/ids.ts';
import { bootstrapFirstAdmin, totpNow, type AuthDeps } from '../../src/operators/index.ts';
import { secretBox } from '../../src/kit/secret-box.ts';
import { decodeKey } from '../../src/config/index.ts';
import { startTestApi, TEST_SECRET_KEY, type TestApi } from '../../src/testing/api.ts';
import { createTestDatabase, type TestDatabase } from '../../src/testing/db.ts';

/**
 * The console's server side over real HTTP semantics (inject) and real PostgreSQL: sign-in with password + TOTP,
 * enrolment, recovery codes, lockout with backoff, CSRF, idle timeout, roles, and operator management.
 */
let database: TestDatabase;
let api: TestApi;
let app: FastifyInstance;
const clock = fixedClock('2026-11-22T09:00:00Z');
const ADMIN = { email: 'ada@example.com', password: 'correct horse battery staple' };

class Browser {
  cookie = '';
  csrf = '';
  async req(
    method: string,
    url: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers: {
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...(this.csrf && method !== 'GET' ? { 'x-csrf-token': this.csrf } : {}),
        ...headers,
      },
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
    const set = res.cookies.find((c) => c.name === 'gh_session');
    if (set) this.cookie = set.value ? `gh_session=${set.value}` : '';
    return res;
  }
  async refreshCsrf(): Promise<void> {
    const s = await this.req('GET', '/api/v1/session');
    this.csrf = s.statusCode === 200 ? s.json().csrfToken : '';
  }
  /** Password, then enrol (first time) or TOTP. Returns the TOTP secret used. */
  async signIn(
    email: string,
    password: string,
    secret?: string,
  ): Promise<{ secret: string; recoveryCodes?: string[] }> {
    const r = await this.req('POST', '/api/v1/session/login', { email, password });
    expect(r.statusCode, r.body).toBe(200);
    await this.refreshCsrf();
    if (r.json().stage === 'enrol') {
      const start = await this.req('POST', '/api/v1/session/totp/start');
      expect(start.statusCode, start.body).toBe(200);
      const s = start.json().secret as string;
      const confirm = await this.req('POST', '/api/v1/session/totp/confirm', {
        code: await totpNow(s, clock.now()),
      });
      expect(confirm.statusCode, confirm.body).toBe(200);
      clock.advance(30_000);
      return { secret: s, recoveryCodes: confirm.json().recoveryCodes };
    }
    const m = await this.req('POST', '/api/v1/session/mfa', { code: await totpNow(secret!, clock.now()) });
    expect(m.statusCode, m.body).toBe(200);
    clock.advance(30_000);
    return { secret: secret! };
  }
}

function authDeps(): AuthDeps {
  return {
    database,
    secrets: secretBox(decodeKey(TEST_SECRET_KEY), 'test'),
    clock,
    ids: uuid,
    idleMinutes: 30,
    maxHours: 12,
  };
}

let adminSecret = '';
let adminRecovery: string[] = [];
const admin = new Browser();

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApi(database, { clock });
  app = api.app;
  await bootstrapFirstAdmin(authDeps(), ADMIN);
  const r = await admin.signIn(ADMIN.email, ADMIN.password);
  adminSecret = r.secret;
  adminRecovery = r.recoveryCodes!;
});
afterAll(async () => {
  await api?.close();
  await database?.drop();
});

async function createOperator(role: string, email: string, password = 'a long enough passphrase 1') {
  const r = await admin.req('POST', '/api/v1/operators', {
    email,
    displayName: `${role} person`,
    role,
    password,
  });
  expect(r.statusCode, r.body).toBe(201);
  return r.json() as { id: string };
}

describe('console sign-in', () => {
  it('enrolment gave 10 recovery codes and the session works', async () => {
    expect(adminRecovery).toHaveLength(10);
    expect(new Set(adminRecovery).size).toBe(10);
    const me = await admin.req('GET', '/api/v1/me');
    expect(me.json()).toMatchObject({
      type: 'operator',
      name: 'Administrator',
      role: 'administrator',
      scopes: ['admin'],
    });
    const s = await admin.req('GET', '/api/v1/session');
    expect(s.json()).toMatchObject({
      stage: 'full',
      operator: { email: ADMIN.email, role: 'administrator' },
      idleTimeoutSeconds: 1800,
    });
  });

  it('the cookie is HttpOnly and SameSite=Strict; the TOTP seed is encrypted at rest', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/v1/session/login', payload: ADMIN });
    const c = r.cookies.find((x) => x.name === 'gh_session')!;
    expect(c).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    const row = await database.pool.query(
      'select totp_secret_enc, password_hash from operators where email = $1',
      [ADMIN.email],
    );
    expect(row.rows[0].totp_secret_enc).toMatch(/^v1:/);
    expect(row.rows[0].totp_secret_enc).not.toContain(adminSecret);
    expect(row.rows[0].password_hash).toMatch(/^\$argon2id\$/);
  });

  it('password alone does not open the API; a half-signed-in session gets 401', async () => {
    const b = new Browser();
    await b.req('POST', '/api/v1/session/login', ADMIN);
    expect((await b.req('GET', '/api/v1/audit/events')).statusCode).toBe(401);
  });

  it('refuses a wrong code, and the same code twice (no replay)', async () => {
    const b = new Browser();
    await b.req('POST', '/api/v1/session/login', ADMIN);
    await b.refreshCsrf();
    expect((await b.req('POST', '/api/v1/session/mfa', { code: '000000' })).json().code).toBe('mfa_failed');
    const code = await totpNow(adminSecret, clock.now());
    expect((await b.req('POST', '/api/v1/session/mfa', { code })).statusCode).toBe(200);
    const c = new Browser();
    await c.req('POST', '/api/v1/session/login', ADMIN);
    await c.refreshCsrf();
    const replay = await c.req('POST', '/api/v1/session/mfa', { code });
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('mfa_failed');
    clock.advance(30_000);
  });

  it('a recovery code works exactly once', async () => {
    const b = new Browser();
    await b.req('POST', '/api/v1/session/login', ADMIN);
    await b.refreshCsrf();
    const code = adminRecovery[0]!.toUpperCase().replace('-', ' ');
    expect((await b.req('POST', '/api/v1/session/mfa', { recoveryCode: code })).statusCode).toBe(200);
    const c = new Browser();
    await c.req('POST', '/api/v1/session/login', ADMIN);
    await c.refreshCsrf();
    expect((await c.req('POST', '/api/v1/session/mfa', { recoveryCode: adminRecovery[0] })).json().code).toBe(
      'mfa_failed',
    );
  });

  it('unknown email and wrong password get the same answer', async () => {
    const a = await app.inject({
      method: 'POST',
      url: '/api/v1/session/login',
      payload: { email: 'nobody@example.com', password: 'whatever whatever' },
    });
    const b = await app.inject({
      method: 'POST',
      url: '/api/v1/session/login',
      payload: { email: ADMIN.email, password: 'wrong password here' },
    });
    expect([a.statusCode, b.statusCode]).toEqual([401, 401]);
    expect(a.json().detail).toBe(b.json().detail);
    expect(a.json().code).toBe('login_failed');
    // reset the admin's failure count
    const b2 = new Browser();
    await b2.signIn(ADMIN.email, ADMIN.password, adminSecret);
  });

  it('locks after 5 failures with backoff, tells when to retry, audits it, and an admin can unlock', async () => {
    const victim = await createOperator('agent', 'lock.me@example.com');
    const fail = () =>
      app.inject({
        method: 'POST',
        url: '/api/v1/session/login',
        payload: { email: 'lock.me@example.com', password: 'not the password' },
      });
    for (let i = 1; i <= 4; i++) expect((await fail()).statusCode).toBe(401);
    const fifth = await fail();
    expect(fifth.statusCode).toBe(423);
    expect(fifth.json()).toMatchObject({
      code: 'login_locked',
      retryAt: new Date(clock.now().getTime() + 60_000).toISOString(),
    });
    // Even the right password is refused while locked.
    const locked = await app.inject({
      method: 'POST',
      url: '/api/v1/session/login',
      payload: { email: 'lock.me@example.com', password: 'a long enough passphrase 1' },
    });
    expect(locked.statusCode).toBe(423);
    clock.advance(61_000);
    expect((await fail()).json().retryAt).toBe(new Date(clock.now().getTime() + 120_000).toISOString()); // doubled
    const events = await listAudit(database, { subjectId: victim.id, action: 'operator.locked' });
    expect(events.items).toHaveLength(2);
    const unlocked = await admin.req('POST', `/api/v1/operators/${victim.id}/unlock`);
    expect(unlocked.json().lockedUntil).toBeNull();
    const ok = await app.inject({
      method: 'POST',
      url: '/api/v1/session/login',
      payload: { email: 'lock.me@example.com', password: 'a long enough passphrase 1' },
    });
    expect(ok.statusCode).toBe(200);
  });

  it('requires the CSRF token on unsafe requests made with the cookie', async () => {
    const saved = admin.csrf;
    admin.csrf = '';
    const r = await admin.req('POST', '/api/v1/tokens', { name: 'x', scopes: ['audit:read'] });
    expect(r.statusCode).toBe(403);
    expect(r.json().code).toBe('csrf_failed');
    const wrong = await admin.req(
      'POST',
      '/api/v1/tokens',
      { name: 'x', scopes: ['audit:read'] },
      { 'x-csrf-token': 'forged' },
    );
    expect(wrong.json().code).toBe('csrf_failed');
    admin.csrf = saved;
    expect(
      (await admin.req('POST', '/api/v1/tokens', { name: 'x', scopes: ['audit:read'] })).statusCode,
    ).toBe(201);
  });

  it('ends an idle session, and sign-out ends it at once', async () => {
    const b = new Browser();
    await b.signIn(ADMIN.email, ADMIN.password, adminSecret);
    expect((await b.req('GET', '/api/v1/me')).statusCode).toBe(200);
    clock.advance(31 * 60_000);
    const expired = await b.req('GET', '/api/v1/me');
    expect(expired.statusCode).toBe(401);
    expect(expired.json().code).toBe('session_expired');
    const c = new Browser();
    await c.signIn(ADMIN.email, ADMIN.password, adminSecret);
    expect((await c.req('POST', '/api/v1/session/logout')).statusCode).toBe(204);
    const after = await app.inject({ url: '/api/v1/me', headers: { cookie: c.cookie || 'gh_session=x' } });
    expect(after.statusCode).toBe(401);
    // The admin's own session also idled out: sign in again for the remaining tests.
    await admin.signIn(ADMIN.email, ADMIN.password, adminSecret);
  });
});

describe('operator roles, enforced on the server', () => {
  it('an agent cannot manage operators or tokens, but can read the audit trail', async () => {
    await createOperator('agent', 'agnes@example.com');
    const agent = new Browser();
    await agent.signIn('agnes@example.com', 'a long enough passphrase 1');
    expect((await agent.req('GET', '/api/v1/audit/events')).statusCode).toBe(200);
    const create = await agent.req('POST', '/api/v1/operators', {
      email: 'x@example.com',
      displayName: 'X',
      role: 'administrator',
      password: 'a long enough passphrase 2',
    });
    expect(create.statusCode).toBe(403);
    expect(create.json().detail).toContain('operators:write');
    expect((await agent.req('GET', '/api/v1/operators')).statusCode).toBe(403);
    expect((await agent.req('GET', '/api/v1/tokens')).statusCode).toBe(403);
  });

  it('an auditor reads everything and changes nothing', async () => {
    const aud = await createOperator('auditor', 'audrey@example.com');
    const auditor = new Browser();
    await auditor.signIn('audrey@example.com', 'a long enough passphrase 1');
    for (const url of [
      '/api/v1/audit/events',
      '/api/v1/operators',
      '/api/v1/tokens',
      '/api/v1/system/config',
      '/api/v1/dashboard',
    ]) {
      expect((await auditor.req('GET', url)).statusCode, url).toBe(200);
    }
    const v = await auditor.req('POST', '/api/v1/audit/verifications');
    expect(v.statusCode).toBe(202);
    for (const [method, url, body] of [
      ['POST', '/api/v1/tokens', { name: 't', scopes: ['audit:read'] }],
      [
        'POST',
        '/api/v1/operators',
        { email: 'y@example.com', displayName: 'Y', role: 'agent', password: 'a long enough passphrase 3' },
      ],
      ['PATCH', `/api/v1/operators/${aud.id}`, { role: 'administrator' }],
    ] as const) {
      const r = await auditor.req(method, url, body);
      expect(r.statusCode, `${method} ${url}`).toBe(403);
    }
  });

  it('never leaves Gatehouse without an active administrator, and nobody changes their own role', async () => {
    const me = (await admin.req('GET', '/api/v1/session')).json().operator.id as string;
    const self = await admin.req('PATCH', `/api/v1/operators/${me}`, { role: 'agent' });
    expect(self.json().code).toBe('operator_self_change');
    const other = await createOperator('administrator', 'grace@example.com');
    const grace = new Browser();
    await grace.signIn('grace@example.com', 'a long enough passphrase 1');
    expect((await grace.req('PATCH', `/api/v1/operators/${me}`, { role: 'auditor' })).statusCode).toBe(200);
    // Grace is now the last administrator: Ada (auditor now) cannot be the one to demote her, and nobody else can.
    const last = await grace.req('PATCH', `/api/v1/operators/${other.id}`, { status: 'disabled' });
    expect(last.json().code).toBe('operator_self_change');
    // Restore Ada as admin for later tests.
    expect((await grace.req('PATCH', `/api/v1/operators/${me}`, { role: 'administrator' })).statusCode).toBe(
      200,
    );
    await admin.signIn(ADMIN.email, ADMIN.password, adminSecret); // role change ended Ada's sessions
    expect((await admin.req('PATCH', `/api/v1/operators/${other.id}`, { role: 'agent' })).statusCode).toBe(
      200,
    );
    const demoteLast = await grace.req('PATCH', `/api/v1/operators/${me}`, { role: 'agent' });
    expect(demoteLast.statusCode).toBe(401); // grace's role changed, so her session ended
    // Ada is now the only active administrator. An admin API token (not an operator) tries to demote her.
    const tok = (await admin.req('POST', '/api/v1/tokens', { name: 'automation', scopes: ['admin'] })).json()
      .token as string;
    const viaToken = await app.inject({
      method: 'PATCH',
      url: `/api/v1/operators/${me}`,
      headers: { authorization: `Bearer ${tok}` },
      payload: { status: 'disabled' },
    });
    expect(viaToken.statusCode).toBe(409);
    expect(viaToken.json().code).toBe('last_administrator');
    expect((await admin.req('GET', '/api/v1/me')).statusCode).toBe(200); // untouched
  });

  it('validates operator input field by field', async () => {
    const r = await admin.req('POST', '/api/v1/operators', {
      email: 'not-an-email',
      displayName: '',
      role: 'superuser',
      password: 'short',
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().errors.map((e: { field: string }) => e.field)).toEqual([
      'email',
      'displayName',
      'role',
      'password',
    ]);
    const dup = await admin.req('POST', '/api/v1/operators', {
      email: 'AGNES@example.com',
      displayName: 'Dup',
      role: 'agent',
      password: 'a long enough passphrase 9',
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('operator_email_taken');
  });

  it('lists operators with search, filter, sort and paging on the server', async () => {
    const all = (await admin.req('GET', '/api/v1/operators?sort=email&order=desc&pageSize=2')).json();
    expect(all.items).toHaveLength(2);
    expect(all.total).toBeGreaterThanOrEqual(5);
    expect(all.items[0].email > all.items[1].email).toBe(true);
    const agents = (await admin.req('GET', '/api/v1/operators?role=agent')).json();
    expect(agents.items.every((o: { role: string }) => o.role === 'agent')).toBe(true);
    const search = (await admin.req('GET', '/api/v1/operators?q=AUDREY')).json();
    expect(search.items.map((o: { email: string }) => o.email)).toEqual(['audrey@example.com']);
    const bad = await admin.req('GET', '/api/v1/operators?sort=password_hash');
    expect(bad.statusCode).toBe(400);
  });

  it('reset MFA makes the operator enrol again', async () => {
    const op = await createOperator('agent', 'mfa.reset@example.com');
    const b = new Browser();
    const first = await b.signIn('mfa.reset@example.com', 'a long enough passphrase 1');
    expect(
      (
        await admin.req('POST', `/api/v1/operators/${op.id}/reset-mfa`, {
          reason: 'lost phone, verified by video call',
        })
      ).json().mfaEnrolled,
    ).toBe(false);
    expect((await b.req('GET', '/api/v1/me')).statusCode).toBe(401); // their sessions ended
    const again = await b.req('POST', '/api/v1/session/login', {
      email: 'mfa.reset@example.com',
      password: 'a long enough passphrase 1',
    });
    expect(again.json().stage).toBe('enrol');
    expect(first.secret).toBeTruthy();
  });

  it('every change above is in an intact audit chain', async () => {
    const actions = new Set((await listAudit(database, { limit: 500 })).items.map((e) => e.action));
    for (const a of [
      'operator.create',
      'operator.update',
      'operator.unlock',
      'operator.mfa_reset',
      'operator.mfa_enrol',
      'operator.sign_in',
      'operator.sign_in_failed',
      'operator.locked',
      'operator.sign_out',
      'token.create',
    ]) {
      expect(actions, a).toContain(a);
    }
    expect((await verifyChain(database)).ok).toBe(true);
  });
});

describe('first administrator through the one-time setup link', () => {
  it('creates the administrator once; the link cannot be reused', async () => {
    const db = await createTestDatabase();
    const t = await startTestApi(db, { clock });
    try {
      const deps = { ...authDeps(), database: db };
      const { setupToken } = await bootstrapFirstAdmin(deps, {});
      expect(setupToken).toBeTruthy();
      expect((await t.app.inject('/api/v1/session/status')).json()).toEqual({ setupRequired: true });
      const bad = await t.app.inject({
        method: 'POST',
        url: '/api/v1/session/setup',
        payload: {
          token: 'nope',
          email: 'x@example.com',
          displayName: 'X',
          password: 'a long enough passphrase 1',
        },
      });
      expect(bad.json().code).toBe('setup_link_invalid');
      const ok = await t.app.inject({
        method: 'POST',
        url: '/api/v1/session/setup',
        payload: {
          token: setupToken,
          email: 'first@example.com',
          displayName: 'First Admin',
          password: 'a long enough passphrase 1',
        },
      });
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json().stage).toBe('enrol');
      const again = await t.app.inject({
        method: 'POST',
        url: '/api/v1/session/setup',
        payload: {
          token: setupToken,
          email: 'second@example.com',
          displayName: 'Second',
          password: 'a long enough passphrase 1',
        },
      });
      expect(again.json().code).toBe('setup_already_done');
      expect((await t.app.inject('/api/v1/session/status')).json()).toEqual({ setupRequired: false });
    } finally {
      await t.close();
      await db.drop();
    }
  });
});
