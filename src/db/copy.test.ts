import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../testing/db.ts';
import { copyRows, type CopyValue } from './copy.ts';

/** copyRows against real PostgreSQL: small loads are written in one piece, large ones streamed; both the same. */
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await database.pool.query('create table copy_t (n int primary key, s text, d timestamptz, j jsonb)');
});
afterAll(async () => {
  await database?.drop();
});

const AWKWARD = ['tab\there', 'line\nbreak', 'back\\slash', 'cr\rhere', 'zoë ångström', '\\N', ''];

function row(n: number): CopyValue[] {
  return [
    n,
    n % 10 === 9 ? null : `${AWKWARD[n % AWKWARD.length]} ${n}`,
    new Date(Date.UTC(2026, 0, 1, 0, 0, n % 60)),
    { n },
  ];
}

async function load(rows: Iterable<CopyValue[]> | AsyncIterable<CopyValue[]>) {
  const client = await database.pool.connect();
  try {
    await client.query('begin');
    await client.query('truncate copy_t');
    await copyRows(client, 'copy_t', ['n', 's', 'd', 'j'], rows);
    await client.query('commit');
  } catch (e) {
    await client.query('rollback');
    throw e;
  } finally {
    client.release();
  }
  const r = await database.pool.query<{ n: number; s: string | null; d: Date; j: { n: number } }>(
    'select n, s, d, j from copy_t order by n',
  );
  return r.rows.map((x) => [x.n, x.s, x.d, x.j]);
}

describe('copyRows', () => {
  it('loads a few rows, with every character COPY treats specially, exactly', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => row(i));
    expect(await load(rows)).toEqual(rows);
  });

  it('loads rows past the size written at once, and from an async source, exactly', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => row(i)); // ~250 KB of text: streamed after the first 64 KB
    expect(await load(rows)).toEqual(rows);
    async function* later() {
      for (const r of rows.slice(0, 300)) yield await Promise.resolve(r);
    }
    expect(await load(later())).toEqual(rows.slice(0, 300));
  });

  it('abandons the COPY when a row cannot be made, leaving the connection usable and nothing loaded', async () => {
    await load([row(1)]);
    function* failing() {
      yield row(2);
      throw new Error('no more rows: the source broke');
    }
    await expect(load(failing())).rejects.toThrow(/source broke/);
    await expect(load([row(3), ['not a number', null, null, null]])).rejects.toThrow(/integer/);
    expect(await load([row(4)])).toEqual([row(4)]);
    const idle = await database.pool.query<{ n: number }>('select count(*)::int as n from copy_t');
    expect(idle.rows[0]!.n).toBe(1);
  });
});
