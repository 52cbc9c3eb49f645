import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transaction } from '../db/index.ts';
import { listAudit, verifyChain } from '../audit/index.ts';
import { GatehouseError } from '../kit/errors.ts';
import { createTestDatabase, type TestDatabase } from '../testing/db.ts';
import { fixedClock, testContext } from '../testing/context.ts';
import {
  TokenErrors,
  authenticateToken,
  createToken,
  forgetCachedTokens,
  hashToken,
  listTokens,
  parseExpiry,
  revokeToken,
} from './index.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database.drop());

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return (e as GatehouseError).code;
  }
  return 'no error';
};

describe('API tokens (real PostgreSQL)', () => {
  it('stores only a hash, authenticates, and audits creation', async () => {
    const ctx = testContext();
    const { token, view } = await transaction(database, (tx) =>
      createToken(tx, ctx, { name: 'HR sync', scopes: ['audit:read', 'jobs:write'] }),
    );
    expect(token).toMatch(/^gh_[A-Za-z0-9_-]{43}$/);
    const raw = await database.pool.query('select * from api_tokens where id = $1', [view.id]);
    expect(JSON.stringify(raw.rows)).not.toContain(token.slice(3));
    expect(Buffer.compare(raw.rows[0].token_hash, hashToken(token))).toBe(0);
    const p = await authenticateToken(database, token, new Date());
    expect(p).toEqual({
      tokenId: view.id,
      name: 'HR sync',
      scopes: ['audit:read', 'jobs:write'],
      scim: null,
    });
    const ev = (await listAudit(database, { subjectType: 'api_token', subjectId: view.id })).items;
    expect(ev.map((e) => e.action)).toEqual(['token.create']);
    expect(JSON.stringify(ev)).not.toContain(token);
  });

  it.each([
    ['gh_short', TokenErrors.invalid],
    ['gh_' + 'A'.repeat(43), TokenErrors.invalid],
    ['x'.repeat(300), TokenErrors.invalid],
    ['has spaces in it and is long enough to pass length', TokenErrors.invalid],
    ['', TokenErrors.invalid],
  ])('refuses %s as %s', async (presented, code) => {
    expect(await codeOf(authenticateToken(database, presented, new Date()))).toBe(code);
  });

  it('refuses a token revoked here at once, even straight after it was used (and cached)', async () => {
    const ctx = testContext();
    const t = await transaction(database, (tx) =>
      createToken(tx, ctx, { name: 'busy', scopes: ['scim:read'] }),
    );
    for (let i = 0; i < 3; i++)
      expect(await authenticateToken(database, t.token, new Date())).toMatchObject({ tokenId: t.view.id });
    await transaction(database, (tx) => revokeToken(tx, ctx, t.view.id));
    expect(await codeOf(authenticateToken(database, t.token, new Date()))).toBe(TokenErrors.revoked);
  });

  it('sees a revocation made by another process once the cached entry is gone', async () => {
    const ctx = testContext();
    const t = await transaction(database, (tx) =>
      createToken(tx, ctx, { name: 'elsewhere', scopes: ['scim:read'] }),
    );
    await authenticateToken(database, t.token, new Date());
    // Another Gatehouse process revokes it (its cache, not this one's, is told).
    await database.pool.query('update api_tokens set revoked_at = now() where id = $1', [t.view.id]);
    // Within TOKEN_CACHE_MS this process may still accept it ...
    expect(await authenticateToken(database, t.token, new Date())).toMatchObject({ tokenId: t.view.id });
    // ... and once the entry has lived its time (here: forgotten), the store decides.
    forgetCachedTokens();
    expect(await codeOf(authenticateToken(database, t.token, new Date()))).toBe(TokenErrors.revoked);
  });

  it('refuses expired and revoked tokens with distinct codes, and audits the revocation', async () => {
    const clock = fixedClock('2026-11-22T10:00:00Z');
    const ctx = testContext({ clock });
    const exp = await transaction(database, (tx) =>
      createToken(tx, ctx, {
        name: 'short-lived',
        scopes: ['audit:read'],
        expiresAt: parseExpiry('1h', clock.now()),
      }),
    );
    expect(await authenticateToken(database, exp.token, clock.now())).toMatchObject({ name: 'short-lived' });
    clock.advance(3_600_000);
    expect(await codeOf(authenticateToken(database, exp.token, clock.now()))).toBe(TokenErrors.expired);

    const rev = await transaction(database, (tx) =>
      createToken(tx, ctx, { name: 'to revoke', scopes: ['admin'] }),
    );
    const v = await transaction(database, (tx) => revokeToken(tx, ctx, rev.view.id, 'laptop lost'));
    expect(v.status).toBe('revoked');
    expect(await codeOf(authenticateToken(database, rev.token, clock.now()))).toBe(TokenErrors.revoked);
    expect(await codeOf(transaction(database, (tx) => revokeToken(tx, ctx, rev.view.id)))).toBe(
      TokenErrors.alreadyRevoked,
    );
    expect(
      await codeOf(
        transaction(database, (tx) => revokeToken(tx, ctx, '00000000-0000-4000-8000-000000000000')),
      ),
    ).toBe(TokenErrors.notFound);
    const revokeEvent = (await listAudit(database, { action: 'token.revoke', subjectId: rev.view.id }))
      .items[0]!;
    expect(revokeEvent).toMatchObject({
      reason: 'laptop lost',
      before: { status: 'active' },
      after: { status: 'revoked' },
    });
    const listed = (await listTokens(database, clock.now())).items;
    expect(listed.find((t) => t.id === rev.view.id)).toBeUndefined();
    expect(
      (await listTokens(database, clock.now(), { includeRevoked: true })).items.find(
        (t) => t.id === rev.view.id,
      )?.status,
    ).toBe('revoked');
    expect(listed.find((t) => t.id === exp.view.id)?.status).toBe('expired');
    expect((await verifyChain(database)).ok).toBe(true);
  });

  it('validates input and names each bad field; nothing is written', async () => {
    const before = (await listTokens(database, new Date(), { includeRevoked: true })).total;
    let err: GatehouseError | undefined;
    try {
      await transaction(database, (tx) =>
        createToken(tx, testContext(), { name: ' ', scopes: ['audit:read', 'root', 'tokens:wrte'] }),
      );
    } catch (e) {
      err = e as GatehouseError;
    }
    expect(err?.problems.map((p) => p.field)).toEqual(['name', 'scopes[1]', 'scopes[2]']);
    expect(err?.problems[1]!.message).toContain('unknown scope "root"');
    expect((await listTokens(database, new Date(), { includeRevoked: true })).total).toBe(before);
  });

  it('gives SCIM clients an HR source and a profile, with defaults, and refuses bad ones by field', async () => {
    const ctx = testContext();
    const plain = await transaction(database, (tx) =>
      createToken(tx, ctx, { name: 'okta', scopes: ['scim:write'] }),
    );
    expect(plain.view.scim).toEqual({ source: 'scim', profile: 'strict' });
    const entra = await transaction(database, (tx) =>
      createToken(tx, ctx, {
        name: 'entra',
        scopes: ['scim:read'],
        scim: { source: 'entra', profile: 'lenient' },
      }),
    );
    expect((await authenticateToken(database, entra.token, new Date())).scim).toEqual({
      source: 'entra',
      profile: 'lenient',
    });
    let err: GatehouseError | undefined;
    try {
      await transaction(database, (tx) =>
        createToken(tx, ctx, {
          name: 'bad',
          scopes: ['scim:write'],
          scim: { source: 'Bad Source!', profile: 'loose' },
        }),
      );
    } catch (e) {
      err = e as GatehouseError;
    }
    expect(err?.code).toBe(TokenErrors.badScim);
    expect(err?.problems.map((p) => p.field)).toEqual(['scim.source', 'scim.profile']);
    expect(
      await codeOf(
        transaction(database, (tx) =>
          createToken(tx, ctx, { name: 'odd', scopes: ['audit:read'], scim: { source: 'x' } }),
        ),
      ),
    ).toBe(TokenErrors.badScim);
  });

  it('searches, sorts and pages on the server', async () => {
    const db = await createTestDatabase();
    try {
      for (const name of ['beta sync', 'alpha sync', 'gamma export', 'delta sync']) {
        await transaction(db, (tx) => createToken(tx, testContext(), { name, scopes: ['audit:read'] }));
      }
      const page1 = await listTokens(db, new Date(), { q: 'SYNC', sort: 'name', order: 'asc', pageSize: 2 });
      expect(page1.items.map((t) => t.name)).toEqual(['alpha sync', 'beta sync']);
      expect(page1.total).toBe(3);
      const page2 = await listTokens(db, new Date(), {
        q: 'sync',
        sort: 'name',
        order: 'asc',
        pageSize: 2,
        page: 2,
      });
      expect(page2.items.map((t) => t.name)).toEqual(['delta sync']);
      expect((await listTokens(db, new Date(), { q: '%' })).total).toBe(0); // a literal %, not a wildcard
    } finally {
      await db.drop();
    }
  });

  it.each([
    ['30d', '2026-12-22T10:00:00.000Z'],
    ['12h', '2026-11-22T22:00:00.000Z'],
    ['2w', '2026-12-06T10:00:00.000Z'],
    ['2027-01-31T00:00:00Z', '2027-01-31T00:00:00.000Z'],
  ])('parseExpiry(%s)', (input, iso) => {
    expect(parseExpiry(input, new Date('2026-11-22T10:00:00Z')).toISOString()).toBe(iso);
  });

  it.each(['soon', '-1d', '2020-01-01T00:00:00Z', '0m'])('parseExpiry refuses %s', (input) => {
    expect(() => parseExpiry(input, new Date('2026-11-22T10:00:00Z'))).toThrow(GatehouseError);
  });
});
