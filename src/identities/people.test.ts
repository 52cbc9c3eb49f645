import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Jobs } from '../jobs/index.ts';
import { fixedClock } from '../kit/clock.ts';
import { runImport } from '../hr/index.ts';
import { createTestDatabase, type TestDatabase } from '../testing/db.ts';
import { testContext } from '../testing/context.ts';
import { listPeople, type PeopleQuery } from './people.ts';
import { startPublishingJobs } from '../testing/jobs.ts';

let database: TestDatabase;
let jobs: Jobs;
const clock = fixedClock('2026-11-02T12:00:00Z');

beforeAll(async () => {
  database = await createTestDatabase();
  jobs = await startPublishingJobs(database, 't', clock);
  const rows = ['employee_id,first_name,last_name,department,worker_type,status,hire_date'];
  for (let i = 0; i < 37; i++)
    rows.push(
      `P${String(i).padStart(2, '0')},First${i % 5},Last${String(i % 9).padStart(2, '0')},${i % 2 ? 'Sales' : 'Legal'},${i % 3 ? 'employee' : 'contractor'},${i % 4 ? 'active' : 'on_leave'},${i % 6 ? `2024-01-${String(1 + (i % 20)).padStart(2, '0')}` : ''}`,
    );
  rows.push('Z1,Zoë,Ångström,Sales,employee,active,2027-02-01');
  const r = await runImport({ database, jobs }, testContext({ clock }), {
    source: 'list',
    origin: 'cli',
    content: Buffer.from(rows.join('\n')),
  });
  expect(r.errors).toEqual([]);
});
afterAll(async () => {
  await jobs.stop(2000);
  await database.drop();
});

async function all(q: PeopleQuery): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 100; guard++) {
    const page = await listPeople(database.pool, { ...q, limit: 5, ...(cursor ? { cursor } : {}) });
    out.push(...page.items.map((p) => p.employee_id));
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
  throw new Error('paging did not end');
}

describe('the people list', () => {
  it('pages through everyone exactly once in name order, in both directions', async () => {
    const asc = await all({});
    expect(asc).toHaveLength(38);
    expect(new Set(asc).size).toBe(38);
    const rows = await database.pool.query<{ employee_id: string }>(
      'select employee_id from people order by last_name, first_name, id',
    );
    expect(asc).toEqual(rows.rows.map((r) => r.employee_id));
    expect(await all({ order: 'desc' })).toEqual([...asc].reverse());
  });

  it('pages by start date with people without one last', async () => {
    const byHire = await all({ sort: 'hire_date' });
    expect(byHire).toHaveLength(38);
    const rows = await database.pool.query<{ employee_id: string }>(
      'select employee_id from people order by hire_date nulls last, id',
    );
    expect(byHire).toEqual(rows.rows.map((r) => r.employee_id));
  });

  it('filters on status, department, worker type and start date; counts the matches', async () => {
    const page = await listPeople(database.pool, {
      status: ['on_leave'],
      department: 'Legal',
      workerType: ['contractor'],
      limit: 50,
    });
    const expected = Array.from({ length: 37 }, (_, i) => i).filter(
      (i) => i % 4 === 0 && i % 2 === 0 && i % 3 === 0,
    );
    expect(page.items.map((p) => p.employee_id).sort()).toEqual(
      expected.map((i) => `P${String(i).padStart(2, '0')}`),
    );
    expect(page.total).toBe(expected.length);
    const hired = await listPeople(database.pool, {
      hiredFrom: '2024-01-19',
      hiredTo: '2024-01-20',
      limit: 50,
    });
    expect(hired.items.every((p) => p.hire_date === '2024-01-19' || p.hire_date === '2024-01-20')).toBe(true);
    expect(hired.items.length).toBeGreaterThan(0);
  });

  it('searches names (any case, accents as typed), employee ids and usernames', async () => {
    expect((await listPeople(database.pool, { q: 'ångström' })).items.map((p) => p.employee_id)).toEqual([
      'Z1',
    ]);
    expect((await listPeople(database.pool, { q: 'zoe.ang' })).items.map((p) => p.employee_id)).toEqual([
      'Z1',
    ]);
    expect((await listPeople(database.pool, { q: 'p07' })).items.map((p) => p.employee_id)).toEqual(['P07']);
    // Four people are called Last03; in name order their first names are First0 … First3.
    expect(await all({ q: 'last03' })).toEqual(['P30', 'P21', 'P12', 'P03']);
    expect((await listPeople(database.pool, { q: '100%_' })).items).toEqual([]);
  });

  it('refuses a forged cursor and a bad date by name', async () => {
    await expect(listPeople(database.pool, { cursor: 'bm9wZQ' })).rejects.toMatchObject({
      code: 'people_query_invalid',
    });
    await expect(listPeople(database.pool, { hiredFrom: '01/02/2024' })).rejects.toMatchObject({
      code: 'people_query_invalid',
      problems: [{ field: 'hiredFrom' }],
    });
  });
});
