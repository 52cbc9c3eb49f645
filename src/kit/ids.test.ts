import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../testing/db.ts';
import { uuid, uuidV7 } from './ids.ts';

const SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The 48-bit millisecond timestamp of a version 7 UUID. */
const msOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

// Ids from one process only ever increase, so each test below works at a later millisecond than the one before
// (tests in a file run in order), far ahead of the real clock.

describe('uuid (version 7)', () => {
  it('has the version 7 and RFC 9562 variant bits, and the given millisecond in its first 48 bits', () => {
    for (const ms of [Date.UTC(2026, 10, 23, 9, 30), 2 ** 47, 2 ** 48 - 1_000_000_000]) {
      const id = uuidV7(ms);
      expect(id).toMatch(SHAPE);
      expect(msOf(id)).toBe(ms);
    }
  });

  it('counts up within one millisecond and borrows the next one when the counter runs out', () => {
    const ms = 2 ** 48 - 900_000_000;
    const ids = Array.from({ length: 10_000 }, () => uuidV7(ms));
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(msOf(ids[0]!)).toBe(ms);
    // 10,000 ids need more than the 4,096 values of one millisecond's counter, and at most three milliseconds.
    expect(msOf(ids.at(-1)!)).toBeGreaterThan(ms);
    expect(msOf(ids.at(-1)!)).toBeLessThanOrEqual(ms + 3);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keeps increasing when the clock goes back', () => {
    const ahead = uuidV7(2 ** 48 - 800_000_000);
    const after = uuidV7(2 ** 48 - 800_001_000);
    expect(after > ahead).toBe(true);
    expect(msOf(after)).toBe(msOf(ahead));
  });

  it('is random past the counter, so an id cannot be guessed from its neighbour', () => {
    const tails = Array.from({ length: 1_000 }, () => uuid().slice(19));
    expect(new Set(tails).size).toBe(tails.length);
    // 62 random bits: the first hex digit of the last group is spread over all sixteen values.
    expect(new Set(tails.map((t) => t[5])).size).toBe(16);
  });

  describe('in PostgreSQL', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase();
    });
    afterAll(async () => {
      await db.drop();
    });

    it('is a valid uuid whose sort order is the order it was made in', async () => {
      const ids = Array.from({ length: 2_000 }, () => uuid());
      const shuffled = [...ids].sort(() => Math.random() - 0.5);
      const r = await db.pool.query<{ id: string }>(
        'select id::text from unnest($1::uuid[]) as t(id) order by id',
        [shuffled],
      );
      expect(r.rows.map((x) => x.id)).toEqual(ids);
    });
  });
});
