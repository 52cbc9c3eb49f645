import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../testing/db.ts';
import { copyRows, textArray, type CopyValue } from './copy.ts';

/** copyRows against real PostgreSQL: small loads are written in one piece, large ones streamed; both the same. */
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await database.pool.query(
    'create table copy_t (n int primary key, s text, d timestamptz, j jsonb, t jsonb, b boolean, day date)',
  );
});
afterAll(async () => {
  await database?.drop();
});

const AWKWARD = [
  'tab\there',
  'line\nbreak',
  'back\\slash',
  'cr\rhere',
  'zoë ångström',
  '\\N',
  '',
  'quo"ted',
  'NULL',
  '{a,b}',
];

function row(n: number): CopyValue[] {
  return [
    n,
    n % 10 === 9 ? null : `${AWKWARD[n % AWKWARD.length]} ${n}`,
    new Date(Date.UTC(2026, 0, 1, 0, 0, n % 60)),
    { n, s: 'zoë\ttab' },
    `{"as":"text","n":${n}}`, // JSON text for a jsonb column, as the audit trail passes it
    n % 2 === 0,
    '2026-02-28',
  ];
}

/** What a row reads back as. */
function stored(r: CopyValue[]): unknown[] {
  return [r[0], r[1], r[2], r[3], JSON.parse(r[4] as string), r[5], r[6]];
}

async function load(rows: Iterable<CopyValue[]> | AsyncIterable<CopyValue[]>) {
  const client = await database.pool.connect();
  try {
    await client.query('begin');
    await client.query('truncate copy_t');
    await copyRows(client, 'copy_t', ['n', 's', 'd', 'j', 't', 'b', 'day'], rows);
    await client.query('commit');
  } catch (e) {
    await client.query('rollback');
    throw e;
  } finally {
    client.release();
  }
  const r = await database.pool.query<{
    n: number;
    s: string | null;
    d: Date;
    j: object;
    t: object;
    b: boolean;
    day: string;
  }>(`select n, s, d, j, t, b, to_char(day, 'YYYY-MM-DD') as day from copy_t order by n`);
  return r.rows.map((x) => [x.n, x.s, x.d, x.j, x.t, x.b, x.day]);
}

describe('textArray', () => {
  it('writes a text[] literal that PostgreSQL reads back as the same elements, nulls and all', async () => {
    const values = [...AWKWARD, null, 'a\\"b\\\\', ' spaced ', '"', '\\', 'NULL', null];
    const r = await database.pool.query<{ a: (string | null)[] }>('select $1::text[] as a', [
      textArray(values),
    ]);
    expect(r.rows[0]!.a).toEqual(values);
    const empty = await database.pool.query<{ a: string[] }>('select $1::text[] as a', [textArray([])]);
    expect(empty.rows[0]!.a).toEqual([]);
  });
});

describe('copyRows', () => {
  it('loads a few rows (one INSERT), with every character COPY treats specially, exactly as COPY would', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => row(i));
    expect(await load(rows)).toEqual(rows.map(stored));
  });

  it('loads more rows than one INSERT takes with COPY, and rows from an async source, exactly', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => row(i)); // ~250 KB of text: streamed after the first 64 KB
    expect(await load(rows)).toEqual(rows.map(stored));
    async function* later() {
      for (const r of rows.slice(0, 300)) yield await Promise.resolve(r);
    }
    expect(await load(later())).toEqual(rows.slice(0, 300).map(stored));
    // Exactly as many as go in one statement, and one more (the first to be copied).
    expect(await load(rows.slice(0, 200))).toEqual(rows.slice(0, 200).map(stored));
    expect(await load(rows.slice(0, 201))).toEqual(rows.slice(0, 201).map(stored));
  });

  it('abandons the COPY when a row cannot be made, leaving the connection usable and nothing loaded', async () => {
    await load([row(1)]);
    function* failing() {
      yield row(2);
      throw new Error('no more rows: the source broke');
    }
    await expect(load(failing())).rejects.toThrow(/source broke/);
    await expect(load([row(3), ['not a number', null, null, null, null, null, null]])).rejects.toThrow(
      /integer/,
    );
    function* failingLate() {
      for (let i = 0; i < 300; i++) yield row(i);
      throw new Error('the source broke while being copied');
    }
    await expect(load(failingLate())).rejects.toThrow(/broke while being copied/);
    expect(await load([row(4)])).toEqual([stored(row(4))]);
    const idle = await database.pool.query<{ n: number }>('select count(*)::int as n from copy_t');
    expect(idle.rows[0]!.n).toBe(1);
  });
});
