import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Job } from 'pg-boss';
import { verifyChain } from '../audit/index.ts';
import { transaction } from '../db/index.ts';
import { Jobs, type QueueDefinition } from '../jobs/index.ts';
import { fixedClock } from '../kit/clock.ts';
import { silentLogger } from '../kit/log.ts';
import { createTestDatabase, type TestDatabase } from '../testing/db.ts';
import { testContext } from '../testing/context.ts';
import { decideImport, runImport, updateSource, lifecycleQueue, type ImportReport } from './index.ts';
import { readImportFile } from './imports.ts';
import { loadKnown, planImport } from './plan.ts';
import { updatePerson } from './push.ts';
import { findSource } from './sources.ts';
import type { LifecycleJob } from './lifecycle.ts';
import { startPublishingJobs } from '../testing/jobs.ts';

let database: TestDatabase;
let jobs: Jobs;
const clock = fixedClock('2026-11-02T12:00:00Z');
const ctx = () => testContext({ clock });
const deps = () => ({ database, jobs });

const HEADER =
  'employee_id,first_name,last_name,preferred_name,personal_email,mobile_phone,department,title,cost_center,location,time_zone,manager_id,worker_type,status,hire_date,termination_date';

const BASE = [
  HEADER,
  'E005,Erin,Boss,,erin@home.example,,Management,Director,CC1,Berlin,Europe/Berlin,,employee,active,2020-01-01,',
  'E001,Alice,Able,,alice@home.example,+49 170 1234567,Engineering,Engineer,CC2,Berlin,Europe/Berlin,E005,employee,active,2021-03-01,',
  'E002,Bob,Brown,,bob@home.example,,Engineering,Engineer,CC2,Berlin,Europe/Berlin,E005,employee,active,2021-04-01,',
  'E003,Carol,Cole,,carol@home.example,,Support,Agent,CC3,Berlin,Europe/Berlin,E005,contractor,terminated,2019-05-01,2025-06-30',
  'E004,Dan,Dale,,dan@home.example,,Support,Agent,CC3,Berlin,Europe/Berlin,E005,employee,active,2022-01-01,',
].join('\n');

/** The 10-row file: a joiner, a mover, a leaver, a rehire, a future hire, a unicode name, a duplicate id, a bad date. */
const TEN = [
  HEADER,
  'E001,Alice,Able,,alice@home.example,+49 170 1234567,Sales,Engineer,CC2,Berlin,Europe/Berlin,E005,employee,active,2021-03-01,', // row 2: mover
  'E002,Bob,Brown,,bob@home.example,,Engineering,Engineer,CC2,Berlin,Europe/Berlin,E005,employee,active,2021-04-01,2026-11-30', // row 3: leaver
  'E003,Carol,Cole,,carol@home.example,,Support,Agent,CC3,Berlin,Europe/Berlin,E005,contractor,active,2026-11-02,', // row 4: rehire
  'E004,Dan,Dale,,dan@home.example,,Support,Agent,CC3,Berlin,Europe/Berlin,E005,employee,active,2022-01-01,', // row 5: unchanged
  'E005,Erin,Boss,,erin@home.example,,Management,Director,CC1,Berlin,Europe/Berlin,,employee,active,2020-01-01,', // row 6: unchanged
  'E010,Frank,Future,,frank@home.example,,Engineering,Engineer,CC2,New York,America/New_York,E005,employee,,2027-01-15,', // row 7: future hire
  'E011,Zoë,Ångström,,zoe@home.example,,Engineering,Engineer,CC2,Stockholm,Europe/Stockholm,E005,employee,active,2026-10-01,', // row 8: unicode joiner
  'E012,Greg,Gray,,greg@home.example,,Sales,Rep,CC4,Berlin,Europe/Berlin,E005,employee,active,2026-10-01,', // row 9: duplicate id
  'E012,Gregory,Gray,,greg2@home.example,,Sales,Rep,CC4,Berlin,Europe/Berlin,E005,employee,active,2026-10-01,', // row 10: duplicate id
  'E013,Hank,Hill,,hank@home.example,,Sales,Rep,CC4,Berlin,Europe/Berlin,E005,employee,active,2026-02-30,', // row 11: bad date
].join('\n');

async function importText(
  text: string,
  opts: { dryRun?: boolean; source?: string } = {},
): Promise<ImportReport> {
  return runImport(deps(), ctx(), {
    source: opts.source ?? 'workday',
    origin: 'cli',
    fileName: 'hr.csv',
    content: Buffer.from(text),
    dryRun: opts.dryRun ?? false,
  });
}

async function person(employeeId: string) {
  const r = await database.pool.query(
    `select p.*, to_char(p.hire_date, 'YYYY-MM-DD') as hire, pp.personal_email from people p
     left join person_personal pp on pp.person_id = p.id where employee_id = $1`,
    [employeeId],
  );
  return r.rows[0] as Record<string, unknown> | undefined;
}

beforeAll(async () => {
  database = await createTestDatabase();
  jobs = await startPublishingJobs(database, 'test', clock);
});
afterAll(async () => {
  await jobs.stop(5000);
  await database.drop();
});

describe('HR import: the 10-row file', () => {
  beforeEach(async () => {
    clock.set('2026-11-02T12:00:00Z');
  });

  it('creates the source on first use and loads the base file', async () => {
    const r = await importText(BASE);
    expect(r.source).toEqual({ name: 'workday', created: true });
    expect(r.errors).toEqual([]);
    expect(r.state).toBe('applied');
    // Carol arrives already terminated: stored, no event.
    expect(r.events.map((e) => [e.type, e.employeeId]).sort()).toEqual([
      ['joiner', 'E001'],
      ['joiner', 'E002'],
      ['joiner', 'E004'],
      ['joiner', 'E005'],
    ]);
    expect((await person('E003'))?.status).toBe('terminated');
    expect((await person('E001'))?.username).toBe('alice.able');
  });

  it('dry run reports exactly the events and errors, with row numbers, and changes nothing', async () => {
    const before = await database.pool.query('select count(*)::int as n from people');
    const auditBefore = await database.pool.query('select count(*)::int as n from audit_events');
    const r = await importText(TEN, { dryRun: true });
    expect(r.state).toBe('dry_run');
    expect(r.rows).toBe(10);
    expect(r.errors.map((e) => [e.row, e.column, e.code])).toEqual([
      [9, 'employee_id', 'duplicate_in_file'],
      [10, 'employee_id', 'duplicate_in_file'],
      [11, 'hire_date', 'bad_date'],
    ]);
    expect(r.errors[2]?.value).toBe('2026-02-30');
    expect(r.errors[0]?.message).toMatch(/E012.*9.*10/);
    const events = r.events.map((e) => [e.type, e.employeeId]);
    expect(events).toHaveLength(5);
    expect(events).toEqual(
      expect.arrayContaining([
        ['mover', 'E001'],
        ['leaver', 'E002'],
        ['rehire', 'E003'],
        ['joiner', 'E010'],
        ['joiner', 'E011'],
      ]),
    );
    const mover = r.events.find((e) => e.type === 'mover');
    expect(mover?.changes).toEqual({ department: { from: 'Engineering', to: 'Sales' } });
    // Leaver: end of 30 Nov in Berlin (CET, UTC+1).
    expect(r.events.find((e) => e.type === 'leaver')?.effectiveAt).toBe('2026-11-30T22:59:59.000Z');
    // Future hire: joiner 7 days before 15 Jan, at midnight New York time (UTC−5).
    expect(r.events.find((e) => e.employeeId === 'E010')?.effectiveAt).toBe('2027-01-08T05:00:00.000Z');
    expect((await database.pool.query('select count(*)::int as n from people')).rows[0]).toEqual(
      before.rows[0],
    );
    expect((await database.pool.query('select count(*)::int as n from audit_events')).rows[0]).toEqual(
      auditBefore.rows[0],
    );
  });

  it('applying it changes the store accordingly, audited, with events queued', async () => {
    const r = await importText(TEN);
    expect(r.state).toBe('applied');
    expect(r.applied).toMatchObject({ created: 2, updated: 3 });
    expect((await person('E001'))?.department).toBe('Sales');
    const bob = await person('E002');
    expect(bob?.status).toBe('active'); // until 30 Nov, end of day
    expect((bob?.termination_at as Date).toISOString()).toBe('2026-11-30T22:59:59.000Z');
    expect((await person('E003'))?.status).toBe('active');
    const frank = await person('E010');
    expect(frank?.status).toBe('prehire');
    expect(frank?.hire).toBe('2027-01-15');
    const zoe = await person('E011');
    expect(zoe).toMatchObject({ first_name: 'Zoë', last_name: 'Ångström', username: 'zoe.angstrom' });
    expect(await person('E012')).toBeUndefined();
    expect(await person('E013')).toBeUndefined();

    const events = await database.pool.query<{ type: string; state: string; employee_id: string }>(
      `select e.type, e.state, p.employee_id from lifecycle_events e join people p on p.id = e.person_id
       where e.import_id = $1 order by p.employee_id, e.type`,
      [r.importId],
    );
    expect(events.rows.map((e) => `${e.employee_id}:${e.type}:${e.state}`)).toEqual([
      'E001:mover:pending',
      'E002:leaver:scheduled',
      'E003:rehire:pending',
      'E010:joiner:scheduled',
      'E010:start:scheduled',
      'E011:joiner:pending',
    ]);
    // Every event is published: due ones together now, scheduled ones at their instant.
    const queued = await database.pool.query<{ event_id: string; start_after: Date }>(
      `select e.event_id, j.start_after from pgboss.job j, jsonb_array_elements_text(j.data->'eventIds') e(event_id)
       where j.name = 'lifecycle.event'`,
    );
    const stored = await database.pool.query<{ id: string; effective_at: Date; state: string }>(
      'select id, effective_at, state from lifecycle_events where import_id = $1',
      [r.importId],
    );
    for (const e of stored.rows) {
      const job = queued.rows.find((q) => q.event_id === e.id);
      expect(job, `event ${e.id} is published`).toBeDefined();
      if (e.state === 'scheduled') expect(job?.start_after.toISOString()).toBe(e.effective_at.toISOString());
    }
    const audit = await database.pool.query<{ action: string; subject_id: string }>(
      `select action, subject_id from audit_events where correlation_id is null and action like 'person.%' and subject_id = $1`,
      [zoe?.id],
    );
    expect(audit.rows.map((a) => a.action)).toEqual(['person.created']);
    const errors = await database.pool.query(
      'select row, code from hr_import_errors where import_id = $1 order by seq',
      [r.importId],
    );
    expect(errors.rows).toEqual([
      { row: 9, code: 'duplicate_in_file' },
      { row: 10, code: 'duplicate_in_file' },
      { row: 11, code: 'bad_date' },
    ]);
    expect((await verifyChain(database)).ok).toBe(true);
  });

  it('re-importing the same file produces no events (idempotent)', async () => {
    const r = await importText(TEN);
    expect(r.events).toEqual([]);
    expect(r.unchanged).toBe(7);
    expect(r.applied).toMatchObject({ created: 0, updated: 0, events: 0 });
  });

  it('a scheduled start and a scheduled termination take effect when their jobs run (injected clock)', async () => {
    const due = async (at: string) => {
      clock.set(at);
      const r = await database.pool.query<{ id: string }>(
        `select id from lifecycle_events where state = 'scheduled' and effective_at <= $1`,
        [clock.now()],
      );
      await transaction(database, (tx) =>
        (lifecycleQueue as QueueDefinition<LifecycleJob>).handle(
          [{ data: { eventIds: r.rows.map((x) => x.id) } } as Job<LifecycleJob>],
          { tx, database, log: silentLogger, workerId: 'test', clock, jobs },
        ),
      );
    };
    await due('2026-11-30T22:59:58Z');
    expect((await person('E002'))?.status).toBe('active');
    await due('2026-11-30T23:00:00Z');
    expect((await person('E002'))?.status).toBe('terminated');
    await due('2027-01-15T04:59:00Z');
    expect((await person('E010'))?.status).toBe('prehire');
    await due('2027-01-15T05:00:00Z');
    expect((await person('E010'))?.status).toBe('active');
  });
});

describe('HR import: effective-date changes reschedule or cancel', () => {
  it('moving a future hire date reschedules; cancelling a termination cancels it', async () => {
    clock.set('2026-11-02T12:00:00Z');
    const src = `s${randomUUID().slice(0, 8)}`;
    const h = 'employee_id,first_name,last_name,hire_date,termination_date,time_zone';
    await importText([h, 'F1,Fay,Far,2027-03-01,,UTC', 'F2,Gil,Gone,2020-01-01,2027-02-01,UTC'].join('\n'), {
      source: src,
    });
    const scheduled = async (emp: string) =>
      (
        await database.pool.query<{ type: string; effective_at: Date }>(
          `select e.type, e.effective_at from lifecycle_events e join people p on p.id = e.person_id
           where p.employee_id = $1 and e.state = 'scheduled' order by e.type`,
          [emp],
        )
      ).rows.map((r) => `${r.type}@${r.effective_at.toISOString()}`);
    expect(await scheduled('F1')).toEqual([
      'joiner@2027-02-22T00:00:00.000Z',
      'start@2027-03-01T00:00:00.000Z',
    ]);
    expect(await scheduled('F2')).toEqual(['leaver@2027-02-01T23:59:59.000Z']);
    const r = await importText([h, 'F1,Fay,Far,2027-04-01,,UTC', 'F2,Gil,Gone,2020-01-01,,UTC'].join('\n'), {
      source: src,
    });
    expect(r.events.map((e) => e.type).sort()).toEqual(['attribute_change', 'attribute_change']);
    expect(await scheduled('F1')).toEqual([
      'joiner@2027-03-25T00:00:00.000Z',
      'start@2027-04-01T00:00:00.000Z',
    ]);
    expect(await scheduled('F2')).toEqual([]);
  });
});

describe('HR import: the safety brake', () => {
  it('holds a file that would terminate 20% of people, explains why, and applies only when approved', async () => {
    clock.set('2026-11-02T12:00:00Z');
    const src = `b${randomUUID().slice(0, 8)}`;
    const h = 'employee_id,first_name,last_name,status';
    const rows = Array.from({ length: 20 }, (_, i) => `B${i},Person${i},Number${i},active`);
    expect((await importText([h, ...rows].join('\n'), { source: src })).state).toBe('applied');
    const terminated = rows.map((r, i) => (i < 4 ? r.replace(',active', ',terminated') : r));
    const held = await importText([h, ...terminated].join('\n'), { source: src });
    expect(held.state).toBe('held');
    expect(held.heldReasons.join(' ')).toMatch(/terminate 20% of active people \(4 of 20\).*truncated/);
    const still = await database.pool.query(
      `select count(*)::int as n from people p join hr_sources s on s.id = p.source_id
       where s.name = $1 and p.status = 'terminated'`,
      [src],
    );
    expect(still.rows[0].n).toBe(0);
    const notApproved = await decideImport(deps(), ctx(), held.importId!, 'apply');
    expect(notApproved.state).toBe('held'); // the brake still holds without an explicit approval
    const approved = await decideImport(deps(), ctx(), held.importId!, 'apply', { approve: true });
    expect(approved.state).toBe('applied');
    const after = await database.pool.query(
      `select count(*)::int as n from people p join hr_sources s on s.id = p.source_id
       where s.name = $1 and p.status = 'terminated'`,
      [src],
    );
    expect(after.rows[0].n).toBe(4);
    await expect(
      decideImport(deps(), ctx(), held.importId!, 'apply', { approve: true }),
    ).rejects.toMatchObject({
      code: 'hr_import_not_pending',
    });
  });

  it('holds a full export missing more than the threshold, and a file with unexpected columns', async () => {
    const src = `f${randomUUID().slice(0, 8)}`;
    const h = 'employee_id,first_name,last_name';
    const rows = Array.from({ length: 10 }, (_, i) => `M${i},Mia${i},Miller${i}`);
    await importText([h, ...rows].join('\n'), { source: src });
    await transaction(database, (tx) => updateSource(tx, ctx(), src, { fullExport: true }));
    const truncated = await importText([h, ...rows.slice(0, 6)].join('\n'), { source: src });
    expect(truncated.state).toBe('held');
    expect(truncated.heldReasons.join(' ')).toMatch(/missing 40%.*truncated export/);
    expect(truncated.events.filter((e) => e.type === 'leaver')).toHaveLength(4);
    const odd = await importText(
      ['employee_id,first_name,last_name,shoe_size', 'M0,Mia0,Miller0,42'].join('\n'),
      {
        source: src,
      },
    );
    expect(odd.state).toBe('held');
    expect(odd.heldReasons.join(' ')).toMatch(/columns of this file differ/);
  });
});

describe('HR import: a file with fewer columns', () => {
  it('keeps what the store has for the columns the file lacks: a termination-only file makes only leavers', async () => {
    clock.set('2026-11-02T12:00:00Z');
    const src = `p${randomUUID().slice(0, 8)}`;
    await importText(
      [
        'employee_id,first_name,last_name,department,title,personal_email,badge',
        'K1,Kim,Kay,Sales,Rep,kim@home.example,B1',
        'K2,Lee,Lo,Legal,Counsel,lee@home.example,B2',
      ].join('\n'),
      { source: src },
    );
    const r = await runImport(deps(), ctx(), {
      source: src,
      origin: 'cli',
      content: Buffer.from(
        'employee_id,first_name,last_name,termination_date\nK1,Kim,Kay,2026-12-31\nK2,Lee,Lo,\n',
      ),
    });
    expect(r.events.map((e) => `${e.type}:${e.employeeId}`)).toEqual(['leaver:K1']);
    expect(r.unchanged).toBe(1);
    // Other columns than last time: held for a look first, then approved.
    expect(r.state).toBe('held');
    const applied = await decideImport(deps(), ctx(), r.importId!, 'apply', { approve: true });
    expect(applied.events.map((e) => `${e.type}:${e.employeeId}`)).toEqual(['leaver:K1']);
    const k1 = await database.pool.query(
      `select p.department, p.title, p.attributes, pp.personal_email, p.termination_date from people p
       join person_personal pp on pp.person_id = p.id join hr_sources s on s.id = p.source_id
       where s.name = $1 and p.employee_id = 'K1'`,
      [src],
    );
    expect(k1.rows[0]).toEqual({
      department: 'Sales',
      title: 'Rep',
      attributes: { badge: 'B1' },
      personal_email: 'kim@home.example',
      termination_date: '2026-12-31',
    });
  });
});

describe('HR import: unchanged file rows are not validated again', () => {
  const FILE = [
    'employee_id,first_name,last_name,department,manager_id',
    'R1,Ria,Roe,Sales,',
    'R2,Sam,Soo,Sales,R1',
    'R3,Tia,Tan,Legal,R1',
  ].join('\n');
  const src = () => `rh${randomUUID().slice(0, 8)}`;
  const rowHashes = async (source: string) =>
    (
      await database.pool.query<{ employee_id: string; row_hash: string | null }>(
        `select p.employee_id, p.row_hash from people p join hr_sources s on s.id = p.source_id
         where s.name = $1 order by p.employee_id`,
        [source],
      )
    ).rows;

  it('stores each row hash, skips identical rows, and still counts them as valid and unchanged', async () => {
    clock.set('2026-11-02T12:00:00Z');
    const s = src();
    await importText(FILE, { source: s });
    const stored = await rowHashes(s);
    expect(stored.map((r) => r.employee_id)).toEqual(['R1', 'R2', 'R3']);
    expect(new Set(stored.map((r) => r.row_hash)).size).toBe(3);
    const again = await importText(FILE.replace('R3,Tia,Tan,Legal', 'R3,Tia,Tan,Sales'), { source: s });
    expect(again.events.map((e) => `${e.type}:${e.employeeId}`)).toEqual(['mover:R3']);
    expect([again.valid, again.unchanged, again.errors.length]).toEqual([3, 2, 0]);
    // Only the changed row got a new hash.
    const after = await rowHashes(s);
    expect(after[0]!.row_hash).toBe(stored[0]!.row_hash);
    expect(after[2]!.row_hash).not.toBe(stored[2]!.row_hash);
  });

  it('a row written differently (quoted, spaced) is read again, changes nothing, and is skipped from then on', async () => {
    clock.set('2026-11-02T12:00:00Z');
    const s = src();
    await importText(FILE, { source: s });
    const stored = await rowHashes(s);
    const requoted = FILE.replace('R1,Ria,Roe,Sales,', '"R1","Ria",Roe ,Sales,');
    const r = await importText(requoted, { source: s });
    expect([r.events, r.unchanged, r.errors]).toEqual([[], 3, []]);
    const after = await rowHashes(s);
    expect(after[0]!.row_hash).not.toBe(stored[0]!.row_hash);
    expect(after.slice(1)).toEqual(stored.slice(1));
    const source = (await findSource(database.pool, s))!;
    const file = await readImportFile(
      Buffer.from(requoted),
      source.mapping,
      clock.now(),
      loadKnown(database.pool, source.id),
    );
    expect(file.skipped.map((x) => x.employeeId)).toEqual(['R1', 'R2', 'R3']);
  });

  it('a person changed through the API is compared again when the same file comes back', async () => {
    clock.set('2026-11-02T12:00:00Z');
    const s = src();
    await importText(FILE, { source: s });
    const id = (
      await database.pool.query<{ id: string }>(
        `select p.id from people p join hr_sources h on h.id = p.source_id where h.name = $1 and employee_id = 'R2'`,
        [s],
      )
    ).rows[0]!.id;
    await updatePerson(deps(), ctx(), id, { department: 'Legal' });
    expect((await rowHashes(s))[1]!.row_hash).toBeNull();
    const back = await importText(FILE, { source: s });
    expect(back.events.map((e) => `${e.type}:${e.employeeId}`)).toEqual(['mover:R2']);
    expect((await rowHashes(s))[1]!.row_hash).not.toBeNull();
  });

  it('an unchanged row that now shares its employee id with another row is rejected with it', async () => {
    clock.set('2026-11-02T12:00:00Z');
    const s = src();
    await importText(FILE, { source: s });
    const r = await importText(`${FILE}\nR1,Rita,Roe,Sales,`, { source: s, dryRun: true });
    expect(r.errors.map((e) => `${e.row}:${e.code}`)).toEqual(['2:duplicate_in_file', '5:duplicate_in_file']);
    expect(r.events).toEqual([]);
  });

  it('a changed mapping reads every row again', async () => {
    clock.set('2026-11-02T12:00:00Z');
    const s = src();
    await importText(FILE, { source: s });
    await transaction(database, (tx) =>
      updateSource(tx, ctx(), s, {
        mapping: { columns: { department: 'manager_id', manager_id: 'department' } },
      }),
    );
    // With department and manager swapped, the same bytes mean something else: nothing may be skipped.
    const r = await importText(FILE, { source: s, dryRun: true });
    expect(r.unchanged).toBe(0);
    expect(r.errors.map((e) => `${e.row}:${e.code}`)).toEqual([
      '2:unknown_manager',
      '3:unknown_manager',
      '4:unknown_manager',
    ]);
  });

  it('a skipped row whose person changed after the hashes were read is validated under the lock', async () => {
    clock.set('2026-11-02T12:00:00Z');
    const s = src();
    await importText(FILE, { source: s });
    const source = (await findSource(database.pool, s))!;
    const file = await readImportFile(
      Buffer.from(FILE.replace('R3,Tia,Tan,Legal', 'R3,Tia,Tan,Sales')),
      source.mapping,
      clock.now(),
      await loadKnown(database.pool, source.id),
    );
    expect(file.skipped.map((r) => r.employeeId)).toEqual(['R1', 'R2']);
    // Meanwhile R2 changes through another path, which clears its row hash.
    await database.pool.query(
      `update people set row_hash = null where source_id = $1 and employee_id = 'R2'`,
      [source.id],
    );
    const plan = await planImport(database.pool, source, file, clock.now());
    expect(plan.unchanged).toBe(2); // R1 skipped; R2 validated again and found equal by its record hash
    expect(plan.valid).toBe(3);
    expect(plan.events.map((e) => `${e.type}:${e.employeeId}`)).toEqual(['mover:R3']);
    expect(plan.rowHashRefresh.map((r) => r.rowHash)).toEqual([file.skipped[1]!.rowHash]);
  });
});

describe('HR import: personal values', () => {
  const personalRow = async (source: string, employeeId: string) =>
    (
      await database.pool.query(
        `select pp.personal_email, pp.mobile_phone from person_personal pp join people p on p.id = pp.person_id
         join hr_sources s on s.id = p.source_id where s.name = $1 and p.employee_id = $2`,
        [source, employeeId],
      )
    ).rows;

  it('are stored for a newcomer who has some, and a newcomer without any has no row until they do', async () => {
    clock.set('2026-11-02T12:00:00Z');
    const source = `personal-${randomUUID().slice(0, 8)}`;
    const row = (id: string, first: string, email: string, mobile: string) =>
      `${id},${first},Private,,${email},${mobile},Legal,Counsel,CC9,Berlin,Europe/Berlin,,employee,active,2021-01-01,`;
    const first = await importText(
      [HEADER, row('P1', 'Pia', 'pia@home.example', ''), row('P2', 'Per', '', '')].join('\n'),
      { source },
    );
    expect(first.errors).toEqual([]);
    expect(await personalRow(source, 'P1')).toEqual([
      { personal_email: 'pia@home.example', mobile_phone: null },
    ]);
    expect(await personalRow(source, 'P2')).toEqual([]);
    // Read as a person, the one without a row has no personal values (not a missing person).
    const p2 = await database.pool.query(
      `select p.first_name, pp.personal_email from people p left join person_personal pp on pp.person_id = p.id
       join hr_sources s on s.id = p.source_id where s.name = $1 and p.employee_id = 'P2'`,
      [source],
    );
    expect(p2.rows).toEqual([{ first_name: 'Per', personal_email: null }]);
    // A later file gives P2 a mobile: the row is made then.
    const second = await importText(
      [HEADER, row('P1', 'Pia', 'pia@home.example', ''), row('P2', 'Per', '', '+49 170 7654321')].join('\n'),
      { source },
    );
    expect(second.errors).toEqual([]);
    expect(await personalRow(source, 'P2')).toEqual([
      { personal_email: null, mobile_phone: '+491707654321' },
    ]);
  });
});
