import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transaction, type Tx } from '../db/index.ts';
import { isGatehouseError } from '../kit/errors.ts';
import { createTestDatabase, type TestDatabase } from '../testing/db.ts';
import { afterWaitingForLock } from '../testing/locks.ts';
import { DEFAULT_NAMING_POLICY, type NamingPolicy } from './policy.ts';
import {
  allocateNames,
  baseNames,
  nameTaken,
  previewRename,
  readNamesAhead,
  releaseNames,
  renameNames,
  type NamingPerson,
} from './registry.ts';
import { candidateName, isCandidateOf, isReserved } from './templates.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database.drop());

const T0 = new Date('2026-01-05T09:00:00Z');
const DAY = 86_400_000;
const policy: NamingPolicy = {
  ...DEFAULT_NAMING_POLICY,
  email: { ...DEFAULT_NAMING_POLICY.email, domain: 'corp.test' },
};

function person(first: string, last: string, extra: Partial<NamingPerson> = {}): NamingPerson {
  return { personId: randomUUID(), first, last, legalFirst: first, employeeId: '', ...extra };
}

async function allocate(people: NamingPerson[], at = T0, p = policy, db: TestDatabase = database) {
  return transaction(db, (tx) => allocateNames(tx, people, p, at));
}

async function holderOf(kind: 'username' | 'email', value: string, db: TestDatabase = database) {
  const r = await db.pool.query<{ person_id: string; released_at: Date | null; reusable_after: Date | null }>(
    'select person_id, released_at, reusable_after from name_registry where kind = $1 and value = $2',
    [kind, value],
  );
  return r.rows[0];
}

/** Register names as held by someone outside the test's batch: values with an "@" are emails, the rest usernames. */
async function heldByOther(values: string[]): Promise<void> {
  await database.pool.query(
    `insert into name_registry (kind, value, person_id, created_at)
     select case when v like '%@%' then 'email' else 'username' end, v, $1, now() from unnest($2::text[]) as t(v)`,
    [randomUUID(), values],
  );
}

/** CPU time (ms) a process has used, from /proc (Linux); null elsewhere. */
function cpuMsOf(pid: number): number | null {
  const path = `/proc/${pid}/stat`;
  if (!existsSync(path)) return null;
  // Fields after the command name: utime and stime are the 12th and 13th, in clock ticks (100 a second).
  const fields = readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Run an allocation in one transaction and log its time. This machine is shared (other test runs and benches),
 * so the wall time is logged with the CPU time Node and the PostgreSQL backend used: their sum is what the
 * allocation costs on an otherwise idle machine. Logged, never asserted.
 */
async function timed<T>(label: string, db: TestDatabase, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return transaction(db, async (tx) => {
    const pid = (await tx.client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    const pg0 = cpuMsOf(pid);
    const node0 = process.cpuUsage();
    const t0 = performance.now();
    const out = await fn(tx);
    const wall = Math.round(performance.now() - t0);
    const node = process.cpuUsage(node0);
    const nodeMs = Math.round((node.user + node.system) / 1000);
    const pg1 = cpuMsOf(pid);
    const pgMs = pg0 === null || pg1 === null ? null : pg1 - pg0;
    console.log(
      `allocateNames, ${label}: ${wall} ms wall; CPU: node ${nodeMs} ms + postgres ${pgMs ?? '?'} ms` +
        ` (load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} CPUs)`,
    );
    return out;
  });
}

describe('allocateNames (real PostgreSQL)', () => {
  it('handles collisions within a batch and across batches, with the same suffix for both names', async () => {
    const [a, b] = [person('Jane', 'Doe'), person('Jane', 'Doe')];
    const first = await allocate([a, b]);
    expect(first.get(a.personId)).toEqual({
      username: 'jane.doe',
      workEmail: 'jane.doe@corp.test',
      displayName: 'Jane Doe',
    });
    expect(first.get(b.personId)).toEqual({
      username: 'jane.doe2',
      workEmail: 'jane.doe2@corp.test',
      displayName: 'Jane Doe',
    });
    const c = person('Jäne', 'Döe');
    expect((await allocate([c])).get(c.personId)).toMatchObject({
      username: 'jane.doe3',
      workEmail: 'jane.doe3@corp.test',
      displayName: 'Jäne Döe',
    });
    expect((await holderOf('username', 'jane.doe2'))?.person_id).toBe(b.personId);
    expect((await holderOf('email', 'jane.doe3@corp.test'))?.person_id).toBe(c.personId);
  });

  it('finds every taken variant of a base among its neighbours in byte order', async () => {
    await heldByOther([
      'ada.byte',
      'ada.byte12',
      'ada.byte-x',
      'ada.byte.jr',
      'ada.bytes',
      'ada.byte2@corp.test',
      'ada.byte@other.test',
      'ada.byte.jr@corp.test',
    ]);
    const [a, b] = [person('Ada', 'Byte'), person('Ada', 'Byte')];
    const got = await allocate([a, b]);
    // ada.byte is taken as a username, ada.byte2 as an email: the first Ada cannot have one suffix for both.
    expect(got.get(a.personId)).toMatchObject({ username: 'ada.byte2', workEmail: 'ada.byte@corp.test' });
    expect(got.get(b.personId)).toMatchObject({ username: 'ada.byte3', workEmail: 'ada.byte3@corp.test' });
  });

  it('finds the taken variants of a base ending in digits, apart from the other bases with its key', async () => {
    // anna.load1, anna.load12 and anna.load1-2 all have the index key "anna.load" or "anna.load1-"; the base
    // anna.load1 has the candidates anna.load1, anna.load1-2, anna.load1-3…
    await heldByOther([
      'anna.load1',
      'anna.load12',
      'anna.load1-2',
      'anna.load1@corp.test',
      'anna.load1-3@corp.test',
    ]);
    const [a, b] = [person('Anna', 'Load1'), person('Anna', 'Load12')];
    const got = await allocate([a, b]);
    // No suffix is free for both (anna.load1-3@ is taken): each gets its smallest free candidate.
    expect(got.get(a.personId)).toMatchObject({
      username: 'anna.load1-3',
      workEmail: 'anna.load1-2@corp.test',
    });
    expect(got.get(b.personId)).toMatchObject({
      username: 'anna.load12-2',
      workEmail: 'anna.load12-2@corp.test',
    });
  });

  it('reads a base ending in digits exactly: none of the other bases that begin with it', async () => {
    await heldByOther([
      'bo.load123',
      'bo.load1230',
      'bo.load12345',
      'bo.load123-2',
      'bo.load123@corp.test',
      'bo.load1239@corp.test',
      'bo.load123-4@corp.test',
    ]);
    const read = await transaction(database, (tx) =>
      readNamesAhead(tx, [{ first: 'Bo', last: 'Load123', legalFirst: 'Bo', employeeId: '' }], policy, T0),
    );
    expect(read.rows.map((r) => `${r.kind}:${r.value}`).sort()).toEqual([
      'email:bo.load123-4@corp.test',
      'email:bo.load123@corp.test',
      'username:bo.load123',
      'username:bo.load123-2',
    ]);
    // …and naming with what was read ahead gives the smallest candidate free for both.
    const b = person('Bo', 'Load123');
    const got = await transaction(database, async (tx) =>
      allocateNames(tx, [b], policy, T0, undefined, await readNamesAhead(tx, [b], policy, T0)),
    );
    expect(got.get(b.personId)).toMatchObject({
      username: 'bo.load123-3',
      workEmail: 'bo.load123-3@corp.test',
    });
  });

  it('reads the first thousand candidates of a cut base, and all of them only when a base runs past those', async () => {
    // alexandra.load12345 is cut to fit 20 characters; its candidate 10000 is "alexandra.load10000", another base.
    await heldByOther(['alexandra.load10000', 'alexandra.load12', 'alexandra.load1234-2']);
    const read = await transaction(database, (tx) =>
      readNamesAhead(
        tx,
        [{ first: 'Alexandra', last: 'Load12345', legalFirst: 'Alexandra', employeeId: '' }],
        policy,
        T0,
      ),
    );
    expect(read.rows.map((r) => r.value)).toEqual(['alexandra.load1234-2']);

    // 1,000 holders of one cut base: the next one is named from every candidate, read once the first ones ran out.
    const base = baseNames(person('Alexandra', 'Thousandfold'), policy).username;
    expect(base).toBe('alexandra.thousandfo');
    const taken = Array.from({ length: 1000 }, (_, i) => candidateName(base, i + 1, 20)!);
    expect(taken[999]).toBe('alexandra.thousa1000');
    await heldByOther(taken);
    const a = person('Alexandra', 'Thousandfold');
    expect((await allocate([a])).get(a.personId)).toMatchObject({
      username: 'alexandra.thousa1001',
      workEmail: 'alexandra.thousandfold1001@corp.test',
    });
    const renamed = await previewRename(
      database,
      { ...person('Alexandra', 'Thousandfold'), username: null, workEmail: null },
      policy,
      T0,
    );
    expect(renamed).toMatchObject({
      username: 'alexandra.thousa1002',
      workEmail: 'alexandra.thousandfold1002@corp.test',
    });
  });

  it('names with what was read ahead for more people than it names, and for fewer (the rest read then)', async () => {
    await heldByOther([
      'cy.ahead',
      'cy.ahead@corp.test',
      'di.ahead',
      'di.ahead2',
      'ed.ahead',
      'ed.ahead@corp.test',
    ]);
    const [cy, di, ed] = [person('Cy', 'Ahead'), person('Di', 'Ahead'), person('Ed', 'Ahead')];
    // Read ahead for Cy and Di; named: Cy alone (Di's rows are among those read), then Ed and Cy's twin (Ed's not).
    const got = await transaction(database, async (tx) => {
      const ahead = await readNamesAhead(tx, [cy, di], policy, T0);
      const first = await allocateNames(tx, [cy], policy, T0, undefined, ahead);
      const twin = person('Cy', 'Ahead');
      const second = await allocateNames(tx, [ed, twin], policy, T0, undefined, ahead);
      return [first.get(cy.personId), second.get(ed.personId), second.get(twin.personId)];
    });
    expect(got).toEqual([
      { username: 'cy.ahead2', workEmail: 'cy.ahead2@corp.test', displayName: 'Cy Ahead' },
      { username: 'ed.ahead2', workEmail: 'ed.ahead2@corp.test', displayName: 'Ed Ahead' },
      // The read-ahead's rows do not know Cy's first names (taken since): read again, they are.
      { username: 'cy.ahead3', workEmail: 'cy.ahead3@corp.test', displayName: 'Cy Ahead' },
    ]);
  });

  it('prefers the same suffix for username and email, else allocates them independently', async () => {
    // An address taken outside Gatehouse's templates (e.g. imported): jane.roe@ is taken, the username is not.
    await database.pool.query(
      `insert into name_registry (kind, value, person_id, created_at) values ('email', 'jane.roe@corp.test', $1, $2)`,
      [randomUUID(), T0],
    );
    const a = person('Jane', 'Roe');
    expect((await allocate([a])).get(a.personId)).toMatchObject({
      username: 'jane.roe2',
      workEmail: 'jane.roe2@corp.test',
    });
    // Usernames jane.roe (free), jane.roe3 (taken), emails jane.roe@ taken, jane.roe3@ free: no common suffix
    // without skipping a free name, so each gets its smallest free candidate.
    await database.pool.query(
      `insert into name_registry (kind, value, person_id, created_at) values ('username', 'jane.roe3', $1, $2)`,
      [randomUUID(), T0],
    );
    const b = person('Jane', 'Roe');
    expect((await allocate([b])).get(b.personId)).toMatchObject({
      username: 'jane.roe',
      workEmail: 'jane.roe3@corp.test',
    });
  });

  it('skips reserved names: a reserved base gets suffix 2', async () => {
    const p2: NamingPolicy = { ...policy, username: { template: '{last}', maxLength: 20 } };
    const [root, admin] = [person('Ann', 'Root'), person('Bob', 'Admin')];
    const names = await allocate([root, admin], T0, {
      ...p2,
      email: { ...p2.email, template: '{last}' },
    });
    expect(names.get(root.personId)).toMatchObject({ username: 'root2', workEmail: 'root2@corp.test' });
    expect(names.get(admin.personId)).toMatchObject({ username: 'admin2', workEmail: 'admin2@corp.test' });
    expect(await holderOf('username', 'root')).toBeUndefined();
  });

  it('keeps a leaver’s names for the embargo, then reuses them (injected dates)', async () => {
    const leaver = person('Kim', 'Park');
    await allocate([leaver]);
    const leftAt = new Date(T0.getTime() + 30 * DAY);
    const released = await transaction(database, (tx) => releaseNames(tx, [leaver.personId], leftAt, policy));
    expect(released).toBe(2);
    const row = await holderOf('username', 'kim.park');
    expect(row?.released_at?.toISOString()).toBe(leftAt.toISOString());
    expect(row?.reusable_after?.toISOString()).toBe(new Date(leftAt.getTime() + 365 * DAY).toISOString());

    const during = new Date(leftAt.getTime() + 364 * DAY);
    expect(await nameTaken(database, 'username', 'kim.park', during)).toBe(true);
    const early = person('Kim', 'Park');
    expect((await allocate([early], during)).get(early.personId)?.username).toBe('kim.park2');

    const after = new Date(leftAt.getTime() + 365 * DAY);
    expect(await nameTaken(database, 'username', 'kim.park', after)).toBe(false);
    expect(await nameTaken(database, 'email', 'KIM.PARK@corp.test', after)).toBe(false);
    const late = person('Kim', 'Park');
    expect((await allocate([late], after)).get(late.personId)).toMatchObject({
      username: 'kim.park',
      workEmail: 'kim.park@corp.test',
    });
    const reused = await holderOf('username', 'kim.park');
    expect(reused).toEqual({ person_id: late.personId, released_at: null, reusable_after: null });
    expect(await nameTaken(database, 'username', 'kim.park', after)).toBe(true);
  });

  it('gives a rehire within the embargo their own names back', async () => {
    const p = person('Lea', 'Holm');
    await allocate([p]);
    await transaction(database, (tx) => releaseNames(tx, [p.personId], T0, policy));
    const again = await allocate([p], new Date(T0.getTime() + 10 * DAY));
    expect(again.get(p.personId)).toMatchObject({ username: 'lea.holm', workEmail: 'lea.holm@corp.test' });
    expect((await holderOf('username', 'lea.holm'))?.released_at).toBeNull();
  });

  it('cuts long names to the limit, the base and not the suffix', async () => {
    const people = [1, 2, 3].map(() => person('Christopher', 'Montgomery-Alexander'));
    const names = await allocate(people);
    expect(people.map((p) => names.get(p.personId)!.username)).toEqual([
      'christopher.montgome',
      'christopher.montgom2',
      'christopher.montgom3',
    ]);
  });

  it('serialises concurrent allocations (no lost update, no duplicate)', async () => {
    const [a, b] = [person('Ola', 'Nordmann'), person('Ola', 'Nordmann')];
    const [ra, rb] = await Promise.all([allocate([a]), allocate([b])]);
    expect([ra.get(a.personId)!.username, rb.get(b.personId)!.username].sort()).toEqual([
      'ola.nordmann',
      'ola.nordmann2',
    ]);
  });

  it('names a batch that waited for the naming lock after the names committed while it waited', async () => {
    const [a, b] = [person('Kari', 'Waitlock'), person('Kari', 'Waitlock')];
    const [ra, rb] = await afterWaitingForLock(
      database,
      (tx) => allocateNames(tx, [a], policy, T0),
      () => allocate([b]),
    );
    expect(ra.get(a.personId)!.username).toBe('kari.waitlock');
    expect(rb.get(b.personId)).toMatchObject({
      username: 'kari.waitlock2',
      workEmail: 'kari.waitlock2@corp.test',
    });
  });

  it('refuses a person listed twice', async () => {
    const a = person('Dup', 'Licate');
    const e = await allocate([a, a]).catch((x: unknown) => x);
    expect(isGatehouseError(e, 'naming_input_invalid')).toBe(true);
    expect(await holderOf('username', 'dup.licate')).toBeUndefined();
  });

  it('names 10,000 people in one batch correctly (many collisions, some pre-existing names)', async () => {
    const db = await createTestDatabase();
    try {
      const firsts = [
        'Anna',
        'Ánna',
        'Björn',
        'Chloé',
        'Dmitri',
        'Émile',
        'Fatima',
        'Giulia',
        '秀英',
        'Hana',
      ];
      const lasts = ['Smith', 'Øster', 'García-López', 'Nguyễn', 'van der Berg', "O'Neil", 'Иванов', 'Admin'];
      // Pre-existing holders: some bases already have a few variants; some are past their embargo.
      const before = await allocate(
        Array.from({ length: 200 }, (_, i) => person(firsts[i % 10]!, lasts[i % 8]!)),
        T0,
        policy,
        db,
      );
      const leavers = [...before.keys()].filter((_, i) => i % 3 === 0);
      await transaction(db, (tx) => releaseNames(tx, leavers, T0, { ...policy, embargoDays: 10 }));

      const people = Array.from({ length: 10_000 }, (_, i) =>
        person(firsts[i % 10]!, lasts[Math.floor(i / 10) % 8]!, { employeeId: String(i) }),
      );
      const now = new Date(T0.getTime() + 11 * DAY);
      const names = await timed('10,000 people', db, (tx) => allocateNames(tx, people, policy, now));
      expect(names.size).toBe(10_000);

      const usernames = new Set<string>();
      const emails = new Set<string>();
      const byBase = new Map<string, number[]>();
      for (const p of people) {
        const n = names.get(p.personId)!;
        const b = baseNames(p, policy);
        expect(isCandidateOf(n.username, b.username, policy.username.maxLength)).toBe(true);
        expect(n.workEmail.endsWith('@corp.test')).toBe(true);
        expect(isReserved(n.username, policy) || isReserved(n.workEmail, policy)).toBe(false);
        usernames.add(n.username);
        emails.add(n.workEmail);
        byBase.set(b.username, [
          ...(byBase.get(b.username) ?? []),
          Number(/(\d*)$/.exec(n.username)![1] || 1),
        ]);
      }
      expect(usernames.size).toBe(10_000);
      expect(emails.size).toBe(10_000);
      // In input order, each base's suffixes only go up.
      for (const suffixes of byBase.values()) {
        for (let i = 1; i < suffixes.length; i++) expect(suffixes[i]!).toBeGreaterThan(suffixes[i - 1]!);
      }
      // A leaver's name past its embargo went to someone in this batch; a current holder's name did not.
      const r = await db.pool.query<{ n: number; leftover: number; dup: number }>(
        `select count(*)::int as n,
                count(*) filter (where person_id = any($1::uuid[]))::int as leftover,
                (select count(*) from (select 1 from name_registry group by person_id, kind having count(*) > 1) d)::int as dup
         from name_registry`,
        [leavers],
      );
      const { n, leftover, dup } = r.rows[0]!;
      const takenOver = 2 * leavers.length - leftover;
      expect(dup).toBe(0);
      expect(takenOver).toBeGreaterThan(0);
      expect(n).toBe(2 * 10_000 + 2 * 200 - takenOver);
    } finally {
      await db.drop();
    }
  });

  it('names 100,000 people in one transaction (the time is logged, not asserted)', async () => {
    const db = await createTestDatabase();
    try {
      const firsts = [
        'James',
        'Mary',
        'Zoë',
        'Łukasz',
        'Siobhán',
        'José María',
        'Александр',
        '秀英',
        'Ana',
        'Jörg',
      ];
      const syllables = ['ka', 'lö', 'mi', 'ne', 'ro', 'sü', 'ta', 'vi', 'ø', 'ján'];
      const lasts = syllables.flatMap((a) => syllables.flatMap((b) => syllables.map((c) => `${a}${b}-${c}`)));
      // 10 × 1,000 = 10,000 bases, ten people each.
      const people = Array.from({ length: 100_000 }, (_, i) =>
        person(firsts[i % firsts.length]!, lasts[Math.floor(i / firsts.length) % lasts.length]!),
      );
      const names = await timed('100,000 people', db, (tx) => allocateNames(tx, people, policy, T0));
      expect(new Set([...names.values()].map((n) => n.username)).size).toBe(100_000);
      // A second batch on top of the first: every base is now heavily taken.
      const more = people.slice(0, 20_000).map((p) => ({ ...p, personId: randomUUID() }));
      await timed('20,000 more people over 100,000 taken names', db, (tx) =>
        allocateNames(tx, more, policy, T0),
      );
      const r = await db.pool.query<{ n: number }>(
        'select count(distinct value)::int as n from name_registry',
      );
      expect(r.rows[0]!.n).toBe(240_000);
    } finally {
      await db.drop();
    }
  });
});

describe('renames', () => {
  it('previews without reserving, and says when no rename is needed', async () => {
    const p = person('Maria', 'Lind');
    const twin = person('Maria', 'Lind');
    const names = await allocate([p, twin]);
    const current = { ...p, ...names.get(p.personId)! };
    const twinNow = { ...twin, ...names.get(twin.personId)! };
    expect(await previewRename(database, current, policy, T0)).toBeNull();
    expect(await previewRename(database, twinNow, policy, T0)).toBeNull(); // maria.lind2 still fits
    const married = { ...current, last: 'Berg-Lind' };
    const preview = await previewRename(database, married, policy, T0);
    expect(preview).toEqual({
      username: 'maria.berg-lind',
      workEmail: 'maria.berg-lind@corp.test',
      displayName: 'Maria Berg-Lind',
    });
    expect(await nameTaken(database, 'username', 'maria.berg-lind', T0)).toBe(false);
  });

  it('keeps the name whose base did not change', async () => {
    const p = person('Otto', 'Kask');
    await allocate([p]);
    const names = { username: 'otto.kask', workEmail: 'otto.kask@corp.test' };
    const byIdPolicy: NamingPolicy = { ...policy, username: { template: 'x{employee_id}', maxLength: 20 } };
    const preview = await previewRename(
      database,
      { ...p, ...names, employeeId: '77', last: 'Kaskinen' },
      { ...byIdPolicy, username: policy.username },
      T0,
    );
    expect(preview).toMatchObject({ username: 'otto.kaskinen', workEmail: 'otto.kaskinen@corp.test' });
    const onlyEmail = await previewRename(
      database,
      { ...p, username: 'x77', workEmail: names.workEmail, employeeId: '77', last: 'Kaskinen' },
      byIdPolicy,
      T0,
    );
    expect(onlyEmail).toMatchObject({ username: 'x77', workEmail: 'otto.kaskinen@corp.test' });
  });

  it('reserves the new names and keeps the old ones reserved to the person for the embargo', async () => {
    const p = person('Sara', 'Eklund');
    await allocate([p]);
    const at = new Date(T0.getTime() + 5 * DAY);
    const preview = (await previewRename(
      database,
      { ...p, last: 'Nilsson', username: 'sara.eklund', workEmail: 'sara.eklund@corp.test' },
      policy,
      at,
    ))!;
    const { released } = await transaction(database, (tx) =>
      renameNames(tx, p.personId, policy, at, preview),
    );
    expect(released.map((r) => r.value).sort()).toEqual(['sara.eklund', 'sara.eklund@corp.test']);
    expect((await holderOf('username', 'sara.nilsson'))?.person_id).toBe(p.personId);
    const old = await holderOf('username', 'sara.eklund');
    expect(old).toMatchObject({ person_id: p.personId, released_at: at });
    expect(old?.reusable_after?.getTime()).toBe(at.getTime() + 365 * DAY);
    // Someone else named Sara Eklund meanwhile gets a suffix.
    const other = person('Sara', 'Eklund');
    expect((await allocate([other], new Date(at.getTime() + DAY))).get(other.personId)?.username).toBe(
      'sara.eklund2',
    );
    // Renaming back within the embargo gives the person their old names again.
    const back = await transaction(database, (tx) =>
      renameNames(tx, p.personId, policy, new Date(at.getTime() + 2 * DAY), {
        username: 'sara.eklund',
        workEmail: 'sara.eklund@corp.test',
      }),
    );
    expect(back.released.map((r) => r.value).sort()).toEqual(['sara.nilsson', 'sara.nilsson@corp.test']);
    expect(await holderOf('username', 'sara.eklund')).toEqual({
      person_id: p.personId,
      released_at: null,
      reusable_after: null,
    });
  });

  it('refuses names held by someone else, reserved or malformed', async () => {
    const [a, b] = [person('Per', 'Ek'), person('Pål', 'Ek')];
    await allocate([a, b]);
    const rename = (names: { username: string; workEmail: string }) =>
      transaction(database, (tx) => renameNames(tx, b.personId, policy, T0, names)).catch((e: unknown) => e);
    const taken = await rename({ username: 'per.ek', workEmail: 'pal.ek@corp.test' });
    expect(isGatehouseError(taken, 'naming_name_taken')).toBe(true);
    expect(
      isGatehouseError(await rename({ username: 'admin', workEmail: 'x@corp.test' }), 'naming_name_reserved'),
    ).toBe(true);
    expect(
      isGatehouseError(await rename({ username: 'per ek', workEmail: 'x@corp.test' }), 'naming_name_invalid'),
    ).toBe(true);
    expect(
      isGatehouseError(
        await rename({ username: 'pal.ek.x', workEmail: 'no-at-sign' }),
        'naming_name_invalid',
      ),
    ).toBe(true);
    expect((await holderOf('username', 'pal.ek'))?.released_at).toBeNull();
  });
});
