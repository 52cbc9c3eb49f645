import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../audit/index.ts';
import { transaction, type Tx } from '../db/pool.ts';
import { DEFAULT_NAMING_POLICY, setNamingPolicy } from '../naming/policy.ts';
import { Jobs } from '../jobs/index.ts';
import { GatehouseError } from '../kit/errors.ts';
import { testContext } from '../testing/context.ts';
import { createTestDatabase, type TestDatabase } from '../testing/db.ts';
import {
  pushPerson,
  pushPersonId,
  type GroupCheck,
  type GroupRead,
  type PersonInput,
  type PushOptions,
} from './push.ts';
import { startPublishingJobs } from '../testing/jobs.ts';

/**
 * Concurrent pushes to one source share transactions (group commit). The pushes below are all made in one tick, so
 * the grouping is deterministic: the first goes alone (nothing else is waiting yet), every later one waits for the
 * first to commit and then goes in the second group, unless it shares a key with an earlier push of that group.
 */
let database: TestDatabase;
let jobs: Jobs;
const deps = () => ({ database, jobs });

beforeAll(async () => {
  database = await createTestDatabase();
  jobs = await startPublishingJobs(database, 'push-test');
});
afterAll(async () => {
  await jobs?.stop(5000);
  await database?.drop();
});

function person(id: string, first: string, last: string, extra: PersonInput = {}): PersonInput {
  return { employee_id: id, first_name: first, last_name: last, hire_date: '2024-01-01', ...extra };
}

function push(source: string, n: number, input: PersonInput, opts: Partial<PushOptions> = {}) {
  return pushPerson(deps(), testContext({ correlationId: `req-${n}` }), source, input, {
    expect: 'new',
    ...opts,
  });
}

async function importsOf(source: string): Promise<number[]> {
  const r = await database.pool.query<{ rows: number }>(
    `select i.rows from hr_imports i join hr_sources s on s.id = i.source_id where s.name = $1
     order by i.created_at, i.rows`,
    [source],
  );
  return r.rows.map((x) => x.rows);
}

async function stored(source: string): Promise<Record<string, string | null>> {
  const r = await database.pool.query<{ employee_id: string; manager_employee_id: string | null }>(
    `select p.employee_id, p.manager_employee_id from people p join hr_sources s on s.id = p.source_id
     where s.name = $1 order by p.employee_id`,
    [source],
  );
  return Object.fromEntries(r.rows.map((x) => [x.employee_id, x.manager_employee_id]));
}

describe('concurrent pushes to one source', () => {
  it('share a transaction, and each succeeds or fails on its own', async () => {
    const s = 'grouped';
    const refused = new GatehouseError('test_refused', 'the guard says no', { status: 409 });
    const results = await Promise.allSettled([
      push(s, 0, person('B0', 'Bea', 'First')),
      push(s, 1, person('M1', 'Mia', 'Manager')),
      push(s, 2, person('R1', 'Rob', 'Report', { manager_id: 'M1' })), // manager pushed in the same group
      push(s, 3, person('R2', 'Rae', 'Report', { manager_id: 'NOBODY' })), // refused by the plan
      push(s, 4, person('R1', 'Roberta', 'Again')), // same employee id as #2: next group, where R1 exists
      push(s, 5, person('G1', 'Gus', 'Guarded'), {
        guard: () => Promise.reject(refused),
      }),
      push(s, 6, person('Z9', 'Zoë', 'Ångström')),
    ]);
    const status = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as GatehouseError).code));
    expect(status).toEqual(['ok', 'ok', 'ok', 'person_invalid', 'person_exists', 'test_refused', 'ok']);
    expect((results[3] as PromiseRejectedResult).reason.message).toMatch(/NOBODY/);
    const created = results[6] as PromiseFulfilledResult<Awaited<ReturnType<typeof push>>>;
    expect(created.value.person).toMatchObject({ employeeId: 'Z9', username: 'zoe.angstrom' });
    expect(created.value.events.map((e) => e.type)).toEqual(['joiner']);
    // One transaction for B0, one for M1, R1 and Z9 (the refused ones left nothing), none for the second R1.
    expect(await importsOf(s)).toEqual([1, 3]);
    expect(await stored(s)).toEqual({ B0: null, M1: null, R1: 'M1', Z9: null });
    // Each audit event carries its own request's correlation id, in one verifiable chain.
    const audit = await database.pool.query<{ correlation_id: string; reason: string }>(
      `select a.correlation_id, a.reason from audit_events a join people p on p.id::text = a.subject_id
       where a.action = 'person.created' and p.employee_id in ('M1', 'R1', 'Z9') order by p.employee_id`,
    );
    expect(audit.rows.map((r) => r.correlation_id)).toEqual(['req-1', 'req-2', 'req-6']);
    expect(audit.rows[0]!.reason).not.toMatch(/row/);
    expect((await verifyChain(database)).ok).toBe(true);
  });

  it('apply a group again one push at a time when it fails as a whole, so only the push at fault fails', async () => {
    const s = 'retried';
    const results = await Promise.allSettled([
      push(s, 0, person('A0', 'Ann', 'First')),
      push(s, 1, person('A1', 'Ada', 'Fine')),
      push(s, 2, person('A2', 'Abe', 'Broken'), {
        after: async (tx) => {
          await tx.client.query('select 1/0'); // fails the transaction, not just this push
        },
      }),
      push(s, 3, person('A3', 'Amy', 'Fine')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/division by zero/);
    expect(await stored(s)).toEqual({ A0: null, A1: null, A3: null });
    // The failed group left nothing: A1 and A3 were each applied alone afterwards.
    expect(await importsOf(s)).toEqual([1, 1, 1]);
    const names = await database.pool.query(
      `select value from name_registry where value like 'abe.%' or value like 'abe@%'`,
    );
    expect(names.rows).toEqual([]);
  });

  it("refuse a push whose guard failed a statement with the guard's own error, alone or in a group", async () => {
    const s = 'guard-failed';
    const guard = async (tx: Tx) => {
      try {
        await tx.client.query('select 1/0');
      } catch (e) {
        throw new GatehouseError('test_guard', 'could not check', { cause: e });
      }
    };
    const results = await Promise.allSettled([
      push(s, 0, person('H0', 'Hal', 'Alone'), { guard }),
      push(s, 1, person('H1', 'Hal', 'Fine')),
      push(s, 2, person('H2', 'Hal', 'Grouped'), { guard }),
      push(s, 3, person('H3', 'Hal', 'Also')),
    ]);
    const status = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as GatehouseError).code));
    expect(status).toEqual(['test_guard', 'ok', 'test_guard', 'ok']);
    expect(Object.keys(await stored(s))).toEqual(['H1', 'H3']);
  });

  it('read the stored person back only for the pushes that answer with it', async () => {
    const s = 'read-back';
    type Client = { query: (...args: unknown[]) => unknown };
    const spied: { client: Client; query: Client['query'] }[] = [];
    const statements: string[] = [];
    // The guard runs first in the transaction: it records the statements sent on the transaction's connection.
    const guard = (tx: Tx) => {
      const client = tx.client as unknown as Client;
      if (!spied.some((x) => x.client === client)) {
        const query = client.query;
        spied.push({ client, query });
        client.query = function (this: unknown, config: unknown, ...rest: unknown[]) {
          statements.push(typeof config === 'string' ? config : String((config as { text?: string }).text));
          return query.call(this, config, ...rest);
        };
      }
      return Promise.resolve();
    };
    const readsBack = () => statements.filter((q) => /where p\.id = any\(\$1::uuid\[\]\)/.test(q)).length;
    try {
      const id = await pushPersonId(deps(), testContext(), s, person('I0', 'Ida', 'Only'), {
        expect: 'new',
        guard,
      });
      expect(id.events.map((e) => e.type)).toEqual(['joiner']);
      const row = await database.pool.query<{ employee_id: string }>(
        'select employee_id from people where id = $1',
        [id.personId],
      );
      expect(row.rows).toEqual([{ employee_id: 'I0' }]);
      expect(statements.length).toBeGreaterThan(5);
      expect(readsBack()).toBe(0);
      const full = await pushPerson(deps(), testContext(), s, person('I1', 'Ivo', 'Full'), {
        expect: 'new',
        guard,
      });
      expect(full.person).toMatchObject({ employeeId: 'I1', username: 'ivo.full' });
      expect(readsBack()).toBe(1);
    } finally {
      for (const x of spied) x.client.query = x.query;
    }
  });

  it('answer each push with its read: one statement per group and reader, in the transaction after every write', async () => {
    const s = 'answered';
    const calls: Record<string, string[][]> = { a: [], b: [] };
    const txOfAfter = new Map<string, string>();
    const reader = (name: 'a' | 'b'): GroupRead => ({
      run: async (tx, ids) => {
        calls[name]!.push(ids);
        const r = await tx.client.query<{ id: string; department: string | null; tx: string }>(
          `select id::text, department, txid_current()::text as tx from people where id = any($1::uuid[])`,
          [ids],
        );
        return new Map(r.rows.map((row) => [row.id, row]));
      },
    });
    const [a, b] = [reader('a'), reader('b')];
    // `after` changes the person in the same transaction: the read sees it.
    const after = async (tx: Tx, personId: string) => {
      const r = await tx.client.query<{ tx: string }>(
        `update people set department = 'After' where id = $1 returning txid_current()::text as tx`,
        [personId],
      );
      txOfAfter.set(personId, r.rows[0]!.tx);
    };
    const pushed = await Promise.all(
      (
        [
          ['A0', a],
          ['A1', a],
          ['A2', a],
          ['B3', b],
          ['N4', undefined],
        ] as const
      ).map(([id, read], n) =>
        pushPersonId(deps(), testContext({ correlationId: `req-${n}` }), s, person(id, 'An', `Swer${n}`), {
          expect: 'new',
          after,
          ...(read ? { read } : {}),
        }),
      ),
    );
    const ids = pushed.map((p) => p.personId);
    expect(calls).toEqual({ a: [[ids[0]], [ids[1], ids[2]]], b: [[ids[3]]] });
    expect(await importsOf(s)).toEqual([1, 4]);
    pushed
      .slice(0, 4)
      .forEach((p) =>
        expect(p.stored).toEqual({ id: p.personId, department: 'After', tx: txOfAfter.get(p.personId) }),
      );
    expect('stored' in pushed[4]!).toBe(false);
  });

  it('fail only the push whose read failed, and store nothing of it', async () => {
    const s = 'answer-fails';
    const failing: GroupRead = {
      run: async (tx) => {
        await tx.client.query('select 1 / 0');
        return new Map();
      },
    };
    const good: GroupRead = { run: () => Promise.resolve(new Map([['x', 'y']])) };
    const results = await Promise.allSettled(
      (
        [
          ['F0', good],
          ['F1', good],
          ['F2', failing],
          ['F3', good],
        ] as const
      ).map(([id, read], n) =>
        pushPersonId(deps(), testContext(), s, person(id, 'Fay', `Ling${n}`), { expect: 'new', read }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: '22012' });
    expect(Object.keys(await stored(s))).toEqual(['F0', 'F1', 'F3']);
  });

  it('make a group check once for all the pushes of a group that name it', async () => {
    const s = 'checked';
    const calls: unknown[][] = [];
    const check: GroupCheck = {
      run: (_tx, _source, args) => {
        calls.push(args);
        return Promise.resolve(
          args.map((a) => (a === 'no' ? new GatehouseError('test_taken', `"${a}" is taken`) : null)),
        );
      },
    };
    const results = await Promise.allSettled([
      push(s, 0, person('C0', 'Cy', 'Zero'), { check: { by: check, arg: 'first' } }),
      push(s, 1, person('C1', 'Cy', 'One'), { check: { by: check, arg: 'yes' } }),
      push(s, 2, person('C2', 'Cy', 'Two'), { check: { by: check, arg: 'no' } }),
      push(s, 3, person('C3', 'Cy', 'Three'), { check: { by: check, arg: 'also' }, keys: ['k'] }),
      push(s, 4, person('C4', 'Cy', 'Four'), { check: { by: check, arg: 'later' }, keys: ['k'] }),
    ]);
    expect(calls).toEqual([['first'], ['yes', 'no', 'also'], ['later']]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: 'test_taken' });
    expect(Object.keys(await stored(s))).toEqual(['C0', 'C1', 'C3', 'C4']);
  });

  it('name people after those of earlier groups, and by the naming policy in force when it changed between groups', async () => {
    const s = 'named';
    const first = await push(s, 0, person('N0', 'Jane', 'Doe'));
    // Later groups read the registry ahead with the policy the first one saw.
    const [second, third] = await Promise.all([
      push(s, 1, person('N1', 'Jane', 'Doe')),
      push(s, 2, person('N2', 'Jane', 'Doe')),
    ]);
    expect([first, second, third].map((r) => r.person.username)).toEqual([
      'jane.doe',
      'jane.doe2',
      'jane.doe3',
    ]);
    await transaction(database, (tx) =>
      setNamingPolicy(tx, testContext(), {
        ...DEFAULT_NAMING_POLICY,
        username: { template: '{last}.{first}', maxLength: 20 },
        email: { ...DEFAULT_NAMING_POLICY.email, template: '{last}.{first}' },
      }),
    );
    try {
      const [fourth, fifth] = await Promise.all([
        push(s, 3, person('N3', 'Jane', 'Doe')),
        push(s, 4, person('N4', 'Jane', 'Doe')),
      ]);
      expect([fourth, fifth].map((r) => [r.person.username, r.person.workEmail])).toEqual([
        ['doe.jane', 'doe.jane@example.com'],
        ['doe.jane2', 'doe.jane2@example.com'],
      ]);
    } finally {
      await transaction(database, (tx) => setNamingPolicy(tx, testContext(), DEFAULT_NAMING_POLICY));
    }
  });
});
