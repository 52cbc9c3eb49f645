import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { systemClock } from '../../src/kit/clock.ts';
import { silentLogger } from '../../src/kit/log.ts';
import { scanDropFolders } from '../../src/hr/index.ts';
import { createTestDatabase, type TestDatabase } from '../../src/testing/db.ts';
import { cleanEnv, runCli } from '../../src/testing/processes.ts';
import { startPublishingJobs } from '../../src/testing/jobs.ts';

/** `gatehouse hr import` as an HR integration script runs it, and the drop folder an SFTP export lands in. */
let database: TestDatabase;
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  database = await createTestDatabase();
  env = cleanEnv({ DATABASE_URL: database.url });
  dir = mkdtempSync(join(tmpdir(), 'gh-hr-cli-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await database.drop();
});

const FILE = [
  '\uFEFFemployee_id,first_name,last_name,department,hire_date,manager_id',
  'C1,Ada,Lovelace,Engineering,2024-01-02,',
  'C2,"Grace ""Amazing""",Hopper,"Research,',
  'and Development",2024-02-03,C1', // an embedded line break inside a quoted value: still row 3
  'C3,Alan,Turing,Engineering,2024-13-01,C1',
  'C4,Edsger,Dijkstra,Engineering,2024-03-04,C99',
].join('\n');

describe('gatehouse hr import', () => {
  it('--dry-run --json reports rows, errors and events, and says the source would be created', async () => {
    const f = join(dir, 'people.csv');
    writeFileSync(f, FILE);
    const r = await runCli(['hr', 'import', f, '--source', 'workday', '--dry-run', '--json'], env);
    const out = JSON.parse(r.stdout);
    expect(r.code, r.stderr).toBe(1); // some rows had errors
    expect(out.rows).toBe(4);
    expect(out.source).toEqual({ name: 'workday', created: false, wouldCreate: true });
    expect(
      out.errors.map((e: { row: number; column: string; code: string }) => [e.row, e.column, e.code]),
    ).toEqual([
      [4, 'hire_date', 'bad_date'],
      [5, 'manager_id', 'unknown_manager'],
    ]);
    expect(out.errors[1]).toMatchObject({ value: 'C99' });
    expect(out.events).toEqual([
      expect.objectContaining({ type: 'joiner', employeeId: 'C1' }),
      expect.objectContaining({ type: 'joiner', employeeId: 'C2' }),
    ]);
    expect(out.events[1].changes.department.to).toBe('Research,\nand Development');
    expect(out.events[1].changes.first_name.to).toBe('Grace "Amazing"');
    const sources = await database.pool.query('select count(*)::int as n from hr_sources');
    expect(sources.rows[0].n).toBe(0);
  });

  it('applies, creating the source and saying so; then a re-import changes nothing', async () => {
    const f = join(dir, 'people.csv');
    const r = await runCli(['hr', 'import', f, '--source', 'workday'], env);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/Created HR source "workday" with the default column mapping/);
    expect(r.stdout).toMatch(/row 4, hire_date: .*2024-13-01/);
    expect(r.stdout).toMatch(/Applied .*2 created/);
    const again = await runCli(['hr', 'import', f, '--source', 'workday', '--json'], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ events: [], unchanged: 2, state: 'applied' });
    const people = await runCli(['people', 'list', '--json'], env);
    expect(
      JSON.parse(people.stdout)
        .items.map((p: { username: string }) => p.username)
        .sort(),
    ).toEqual(['ada.lovelace', 'grace.hopper']);
  });

  it('refuses a missing file, a bad source name and a broken quote, naming each', async () => {
    const missing = await runCli(
      ['hr', 'import', join(dir, 'nope.csv'), '--source', 'workday', '--json'],
      env,
    );
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout).error.message).toMatch(/no such file/);
    const f = join(dir, 'people.csv');
    const badName = await runCli(['hr', 'import', f, '--source', 'Work Day!', '--json'], env);
    expect(badName.code).toBe(2);
    expect(JSON.parse(badName.stdout).error.message).toMatch(/not a valid source name/);
    const broken = join(dir, 'broken.csv');
    writeFileSync(broken, 'employee_id,first_name,last_name\nB1,"Unclosed,Quote\n');
    const b = await runCli(['hr', 'import', broken, '--source', 'workday', '--json'], env);
    expect(b.code).toBe(2);
    expect(JSON.parse(b.stdout).error).toMatchObject({ code: 'hr_csv_malformed' });
    expect(JSON.parse(b.stdout).error.message).toMatch(/row 2/);
  });

  it('holds a truncated file (exit 3) and applies it on approval', async () => {
    const h = 'employee_id,first_name,last_name,status';
    const rows = Array.from({ length: 20 }, (_, i) => `T${i},First${i},Last${i},active`);
    const f = join(dir, 'all.csv');
    writeFileSync(f, [h, ...rows].join('\n'));
    expect((await runCli(['hr', 'import', f, '--source', 'brake'], env)).code).toBe(0);
    writeFileSync(f, [h, ...rows.map((r, i) => (i < 4 ? r.replace('active', 'terminated') : r))].join('\n'));
    const held = await runCli(['hr', 'import', f, '--source', 'brake'], env);
    expect(held.code).toBe(3);
    expect(held.stdout).toMatch(/HELD for approval/);
    expect(held.stdout).toMatch(/terminate 20% of active people \(4 of 20\)/);
    const id = /hr imports approve (\S+)/.exec(held.stdout)?.[1];
    expect(id).toBeDefined();
    const ok = await runCli(['hr', 'imports', 'approve', id!, '--json'], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ state: 'applied', counts: { leaver: 4 } });
  });
});

describe('the drop folder', () => {
  it('imports settled files once, moves them to processed/ or failed/ with the reason, and leaves fresh ones', async () => {
    const drop = join(dir, 'drop');
    mkdirSync(drop);
    const set = await runCli(['hr', 'sources', 'set', 'workday', '--drop-folder', drop, '--json'], env);
    expect(set.code, set.stderr + set.stdout).toBe(0);
    const old = (Date.now() - 60_000) / 1000;
    // Same columns as the last applied file: a file with other columns would be held (tested elsewhere).
    writeFileSync(
      join(drop, 'good.csv'),
      'employee_id,first_name,last_name,department,hire_date,manager_id\nC5,Barbara,Liskov,Engineering,2024-05-06,C1\n',
    );
    utimesSync(join(drop, 'good.csv'), old, old);
    writeFileSync(join(drop, 'bad.csv'), 'first_name,last_name\nNo,Id\n');
    utimesSync(join(drop, 'bad.csv'), old, old);
    writeFileSync(join(drop, 'uploading.csv'), 'employee_id,first_name,last_name\nC6,Still,Writing\n'); // fresh
    writeFileSync(join(drop, 'notes.txt'), 'not a csv');
    utimesSync(join(drop, 'notes.txt'), old, old);
    const jobs = await startPublishingJobs(database, `drop-${randomUUID()}`);
    try {
      const outcomes = await scanDropFolders({ database, jobs, clock: systemClock, log: silentLogger });
      expect(outcomes.map((o) => [o.file, o.state]).sort()).toEqual([
        ['bad.csv', 'failed'],
        ['good.csv', 'applied'],
      ]);
      expect(readdirSync(drop).sort()).toEqual([
        'failed',
        'notes.txt',
        'processed',
        'processing',
        'uploading.csv',
      ]);
      const failed = readdirSync(join(drop, 'failed'));
      expect(failed.find((n) => n.endsWith('bad.csv'))).toBeDefined();
      const reason = readFileSync(
        join(
          drop,
          'failed',
          failed.find((n) => n.endsWith('.error.txt'))!,
        ),
        'utf8',
      );
      expect(reason).toMatch(/employee_id/);
      expect((await scanDropFolders({ database, jobs, clock: systemClock, log: silentLogger })).length).toBe(
        0,
      );
      const p = await database.pool.query(`select username from people where employee_id = 'C5'`);
      expect(p.rows[0].username).toBe('barbara.liskov');
    } finally {
      await jobs.stop(2000);
    }
  });
});
