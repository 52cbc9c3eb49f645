import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../audit/index.ts';
import { transaction } from '../db/index.ts';
import { isGatehouseError } from '../kit/errors.ts';
import { testContext } from '../testing/context.ts';
import { createTestDatabase, type TestDatabase } from '../testing/db.ts';
import {
  DEFAULT_NAMING_POLICY,
  NAMING_POLICY_KEY,
  getNamingPolicy,
  setNamingPolicy,
  type NamingPolicy,
} from './policy.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database.drop());

describe('naming policy (real PostgreSQL)', () => {
  it('is the default until set; setting it is audited with before and after', async () => {
    expect(await getNamingPolicy(database)).toEqual(DEFAULT_NAMING_POLICY);
    const next: NamingPolicy = {
      ...DEFAULT_NAMING_POLICY,
      username: { template: '{first:1}{last}', maxLength: 12 },
      reserved: ['ceo', 'CFO'],
      embargoDays: 30,
    };
    const stored = await transaction(database, (tx) =>
      setNamingPolicy(tx, testContext({ actor: { type: 'operator', id: 'op-1', name: 'Ada' } }), next),
    );
    expect(stored.reserved).toEqual(['ceo', 'cfo']);
    expect(await getNamingPolicy(database)).toEqual(stored);

    const events = (await listAudit(database, { action: 'naming.policy_changed' })).items;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      subject: { type: 'naming_policy', id: 'default' },
      actor: { type: 'operator', id: 'op-1' },
      before: { username: { template: '{first}.{last}', maxLength: 20 }, embargoDays: 365 },
      after: { username: { template: '{first:1}{last}', maxLength: 12 }, embargoDays: 30 },
    });

    // Setting the same policy again changes nothing and records nothing.
    await transaction(database, (tx) => setNamingPolicy(tx, testContext(), stored));
    expect((await listAudit(database, { action: 'naming.policy_changed' })).items).toHaveLength(1);
  });

  it('refuses an invalid policy and leaves the stored one (and the audit trail) alone', async () => {
    const before = await getNamingPolicy(database);
    const e = await transaction(database, (tx) =>
      setNamingPolicy(tx, testContext(), {
        ...before,
        email: { ...before.email, template: '{first}.{nickname}' },
      }),
    ).catch((x: unknown) => x);
    expect(isGatehouseError(e, 'naming_policy_invalid')).toBe(true);
    expect((e as { problems: unknown[] }).problems).toEqual([
      { field: 'email.template', message: expect.stringContaining('unknown token "{nickname}"') },
    ]);
    expect(await getNamingPolicy(database)).toEqual(before);
  });

  it('fills sections a stored policy lacks from the default, and names a broken stored policy', async () => {
    const db = await createTestDatabase();
    try {
      await db.pool.query(`insert into system_state (key, value, updated_at) values ($1, $2, now())`, [
        NAMING_POLICY_KEY,
        JSON.stringify({ username: { template: '{last}' }, embargoDays: 10 }),
      ]);
      expect(await getNamingPolicy(db)).toEqual({
        ...DEFAULT_NAMING_POLICY,
        username: { template: '{last}', maxLength: 20 },
        embargoDays: 10,
      });
      await db.pool.query(`update system_state set value = $2 where key = $1`, [
        NAMING_POLICY_KEY,
        JSON.stringify({ embargoDays: 'soon' }),
      ]);
      const e = await getNamingPolicy(db).catch((x: unknown) => x);
      expect(isGatehouseError(e, 'naming_policy_invalid')).toBe(true);
      expect((e as Error).message).toMatch(/embargoDays/);
    } finally {
      await db.drop();
    }
  });
});
