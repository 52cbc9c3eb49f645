/**
 * A name search among tens of thousands of people, where the planner's guess (matches spread evenly through the
 * name order) is wrong: every page must equal what a plain ORDER BY over all the matches gives, whichever way the
 * list finds it (the trigram index for a rare term, the name index walked for a common one, and the trigram index
 * again when a common term's matches all come late in the order).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../testing/db.ts';
import { listPeople, type PeopleQuery } from './people.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await database.pool.query(
    `insert into hr_sources (id, name, mapping, created_at, updated_at)
     values (gen_random_uuid(), 'many', '{}', now(), now())`,
  );
  // 21,000 Adamses first in name order, then 10,500 Zeds: "zed" has more matches than the count's cap of 10,000 and
  // none among the first 20,000 people in name order.
  await database.pool.query(
    `with s as (
       select g, case when g <= 21000 then 'Adams' else 'Zed' end as l,
         'F' || lpad((g * 7919 % 31500)::text, 5, '0') as f from generate_series(1, 31500) g)
     insert into people (id, source_id, employee_id, first_name, last_name, department, title, location, time_zone,
       worker_type, status, attributes, display_name, hr_hash, search_text, created_at, updated_at)
     select gen_random_uuid(), (select id from hr_sources where name = 'many'), 'M' || g, f, l, 'Sales', 'Engineer',
       'Berlin', 'Europe/Berlin', 'employee', case when g % 3 = 0 then 'terminated' else 'active' end, '{}'::jsonb,
       f || ' ' || l, md5(g::text), lower(f || ' ' || l || ' m' || g), now(), now()
     from s`,
  );
  await database.pool.query('analyze people');
}, 60_000);
afterAll(async () => {
  await database.drop();
});

/** The first pages of a search, by cursor. */
async function pages(q: PeopleQuery, count: number): Promise<string[][]> {
  const out: string[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < count; i++) {
    const page = await listPeople(database.pool, { ...q, limit: 50, ...(cursor ? { cursor } : {}) });
    out.push(page.items.map((p) => p.employee_id));
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  return out;
}

/** The same pages by a plain ORDER BY over every match. */
async function expected(like: string, count: number, opts: { desc?: boolean; status?: string } = {}) {
  const dir = opts.desc ? 'desc' : 'asc';
  const r = await database.pool.query<{ employee_id: string }>(
    `select employee_id from people where search_text like $1 and ($2::text is null or status = $2)
     order by last_name ${dir}, first_name ${dir}, id ${dir} limit $3`,
    [like, opts.status ?? null, count * 50],
  );
  const ids = r.rows.map((x) => x.employee_id);
  return Array.from({ length: Math.ceil(ids.length / 50) }, (_, i) => ids.slice(i * 50, i * 50 + 50));
}

describe('searching a large store', () => {
  it('finds a common term whose matches all come late in name order', async () => {
    const got = await pages({ q: 'zed' }, 3);
    expect(got).toEqual(await expected('%zed%', 3));
    expect(got[0]).toHaveLength(50);
    const page = await listPeople(database.pool, { q: 'zed', limit: 50 });
    expect(page.items.every((p) => p.last_name === 'Zed')).toBe(true);
    expect(page).toMatchObject({ total: 10_000, totalCapped: true });
  });

  it('finds a common term near the start, and with a filter, in both directions', async () => {
    expect(await pages({ q: 'adams' }, 3)).toEqual(await expected('%adams%', 3));
    expect(await pages({ q: 'zed', status: ['active'] }, 2)).toEqual(
      await expected('%zed%', 2, { status: 'active' }),
    );
    // Descending, the Zeds come first and the Adamses after them.
    expect(await pages({ q: 'adams', order: 'desc' }, 2)).toEqual(
      await expected('%adams%', 2, { desc: true }),
    );
    expect(await pages({ q: 'zed', order: 'desc' }, 2)).toEqual(await expected('%zed%', 2, { desc: true }));
  });

  it('finds a rare term, and ends a search whose matches run out', async () => {
    expect(await pages({ q: 'm3141' }, 3)).toEqual(await expected('%m3141%', 3));
    const one = await listPeople(database.pool, { q: 'm31415', limit: 50 });
    expect(one.items.map((p) => p.employee_id)).toEqual(['M31415']);
    expect(one).toMatchObject({ nextCursor: null, total: 1, totalCapped: false });
    expect((await listPeople(database.pool, { q: 'nobody', limit: 50 })).items).toEqual([]);
  });
});
