import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transaction } from '../../src/db/index.ts';
import { openTargetForTest } from '../../src/targets/test-support.ts';
import { createToken } from '../../src/tokens/index.ts';
import { startTestApi, TEST_SECRET_KEY, type TestApi } from '../../src/testing/api.ts';
import { testContext } from '../../src/testing/context.ts';
import { createTestDatabase, superuser, type TestDatabase } from '../../src/testing/db.ts';
import { BIN, cleanEnv, runCli } from '../../src/testing/processes.ts';

/**
 * `gatehouse targets` and `gatehouse tasks` as an administrator's script runs them: credentials from a file or stdin
 * (never needed on the command line), --json documents, exit codes (3: the connection test failed), locally and
 * against a server. The SQL target is this test's own database, so its URL holds a real password.
 */
let database: TestDatabase;
let env: Record<string, string>;
let dir: string;
let dbPassword: string;

/** Run the CLI with `input` on stdin (runCli gives it none). */
function runWithStdin(
  args: string[],
  input: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const json = (r: { stdout: string }) => JSON.parse(r.stdout);

beforeAll(async () => {
  database = await createTestDatabase();
  dbPassword = decodeURIComponent(new URL(database.url).password);
  await superuser(database, (c) =>
    c.query('create table app_users (id serial primary key, login text unique not null)'),
  );
  env = cleanEnv({ DATABASE_URL: database.url, GATEHOUSE_SECRET_KEY: TEST_SECRET_KEY });
  dir = mkdtempSync(join(tmpdir(), 'gh-targets-cli-'));
  writeFileSync(
    join(dir, 'app-db.json'),
    JSON.stringify({
      accounts: { table: 'app_users', id: { column: 'id' }, name: { column: 'login', attribute: 'login' } },
      connectTimeoutMs: 5000,
    }),
  );
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await database.drop();
});

describe('gatehouse targets', () => {
  it('lists the connector types and starts with no targets', async () => {
    const types = await runCli(['targets', 'types', '--json'], env);
    expect(types.code, types.stderr).toBe(0);
    expect(json(types).items.map((t: { type: string }) => t.type)).toEqual(
      expect.arrayContaining(['ldap', 'active-directory', 'scim', 'sql', 'manual']),
    );
    const list = await runCli(['targets', 'list'], env);
    expect(list.stdout).toMatch(/No targets yet/);
  });

  it('adds a target with its credential from a secrets file; it is never printed', async () => {
    const secrets = join(dir, 'app-db.secrets');
    writeFileSync(secrets, `# the application database\nurl=${database.url}\n`);
    const r = await runCli(
      [
        'targets',
        'add',
        'app-db',
        '--connector',
        'sql',
        '--config',
        join(dir, 'app-db.json'),
        '--secrets-file',
        secrets,
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Added target "app-db" \(sql\)/);
    const show = await runCli(['targets', 'show', 'app-db', '--json'], env);
    expect(json(show)).toMatchObject({
      name: 'app-db',
      secrets: { url: 'set' },
      config: { accounts: { table: 'app_users' } },
    });
    const text = await runCli(['targets', 'show', 'app-db'], env);
    expect(text.stdout).toMatch(/url\s+set \(credential\)/);
    for (const out of [r.stdout + r.stderr, show.stdout, text.stdout]) expect(out).not.toContain(dbPassword);
    const ok = await runCli(['targets', 'test', 'app-db'], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/The connection to "app-db" works/);
    expect(ok.stdout).toMatch(/accounts\s+app_users/);
  });

  it('replaces a credential read from stdin; a failing test exits 3 with the reason and what the target said', async () => {
    const wrong = new URL(database.url);
    wrong.password = 'wrong-password';
    const set = await runWithStdin(['targets', 'set', 'app-db', '--secret', 'url'], `${wrong}\n`);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stderr).toBe('');
    const failed = await runCli(['targets', 'test', 'app-db'], env);
    expect(failed.code).toBe(3);
    expect(failed.stderr).toMatch(/the connection to "app-db" failed: .*\[auth_failed\]/);
    expect(failed.stderr).toMatch(/the target said: .*password authentication failed/);
    expect(failed.stderr).not.toContain('wrong-password');
    const asJson = await runCli(['targets', 'test', 'app-db', '--json'], env);
    expect(asJson.code).toBe(3);
    expect(json(asJson)).toMatchObject({
      ok: false,
      error: { code: 'auth_failed', targetMessage: expect.any(String) },
    });
    const list = await runCli(['targets', 'list'], env);
    expect(list.stdout).toMatch(/app-db\s+sql\s+true\s+FAILED: auth_failed/);
  });

  it('warns when a credential is given on the command line, and names every bad setting', async () => {
    const inline = await runCli(['targets', 'set', 'app-db', '--secret', `url=${database.url}`], env);
    expect(inline.code, inline.stderr).toBe(0);
    expect(inline.stderr).toMatch(/warning: --secret url=… puts the value in the process list/);
    expect(inline.stderr).not.toContain(dbPassword);
    const bad = await runCli(
      [
        'targets',
        'add',
        'bad',
        '--connector',
        'sql',
        '--config',
        '{"url": "mysql://x", "poolSize": 0}',
        '--json',
      ],
      env,
    );
    expect(bad.code).toBe(2);
    expect(json(bad).error.problems.map((p: { field: string }) => p.field)).toEqual(
      expect.arrayContaining(['config.url', 'config.accounts', 'config.poolSize']),
    );
    const missing = await runCli(
      ['targets', 'add', 'x', '--connector', 'manual', '--config', join(dir, 'nope.json')],
      env,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--config: no such file/);
    const noValue = await runWithStdin(['targets', 'set', 'app-db', '--secret', 'url'], '');
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toMatch(/--secret url: no value on line 1 of stdin/);
  });
});

describe('gatehouse tasks', () => {
  let ids: string[];
  beforeAll(async () => {
    const r = await runCli(
      ['targets', 'add', 'payroll', '--connector', 'manual', '--config', '{"application": "Payroll"}'],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const c = await openTargetForTest(database, 'payroll');
    await c.create('account', { login: 'ada', displayName: 'Ada Lovelace' });
    await c.create('account', { login: 'bob' });
    await c.close();
  });

  it('lists, shows and completes tasks with a note; a second completion is refused', async () => {
    const list = await runCli(['tasks', 'list', '--status', 'open', '--json'], env);
    expect(list.code, list.stderr).toBe(0);
    ids = json(list).items.map((t: { id: string }) => t.id);
    expect(json(list).items.map((t: { summary: string }) => t.summary)).toEqual([
      'Create the account "ada" in Payroll',
      'Create the account "bob" in Payroll',
    ]);
    const show = await runCli(['tasks', 'show', ids[0]!], env);
    expect(show.stdout).toMatch(/^Create the account "ada" in Payroll/);
    expect(show.stdout).toMatch(
      /1\. Create the account "ada" with: login "ada"; displayName "Ada Lovelace"\./,
    );
    const noNote = await runCli(['tasks', 'complete', ids[0]!], env);
    expect(noNote.code).toBe(2);
    expect(noNote.stderr).toMatch(/--note/);
    const done = await runCli(['tasks', 'complete', ids[0]!, '--note', 'made by hand in Payroll'], env);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/Done: Create the account "ada" in Payroll\./);
    const again = await runCli(['tasks', 'complete', ids[0]!, '--note', 'again', '--json'], env);
    expect(again.code).toBe(2);
    expect(json(again).error.code).toBe('task_not_open');
    const bad = await runCli(['tasks', 'list', '--status', 'finished'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--status must be one of open, done, cancelled/);
  });

  describe('against a server (GATEHOUSE_URL + GATEHOUSE_TOKEN)', () => {
    let api: TestApi;
    let remote: Record<string, string>;
    beforeAll(async () => {
      api = await startTestApi(database, { listen: true });
      const t = await transaction(database, (tx) =>
        createToken(tx, testContext(), {
          name: 'ops script',
          scopes: ['targets:read', 'targets:write', 'tasks:read', 'tasks:write'],
        }),
      );
      remote = cleanEnv({ GATEHOUSE_URL: api.url, GATEHOUSE_TOKEN: t.token });
    });
    afterAll(() => api?.close());

    it('lists targets, tests one (exit 3 with the target message), cancels a task and removes a target', async () => {
      const list = await runCli(['targets', 'list', '--json'], remote);
      expect(list.code, list.stderr).toBe(0);
      expect(json(list).items.map((t: { name: string }) => t.name)).toEqual(['app-db', 'payroll']);
      const wrong = new URL(database.url);
      wrong.password = 'still-wrong';
      const set = await runCli(['targets', 'set', 'app-db', '--secret', `url=${wrong}`], remote);
      expect(set.code, set.stderr).toBe(0);
      const test = await runCli(['targets', 'test', 'app-db', '--json'], remote);
      expect(test.code).toBe(3);
      expect(json(test).error).toMatchObject({
        code: 'auth_failed',
        targetMessage: expect.stringMatching(/password/),
      });
      const refused = await runCli(['targets', 'remove', 'payroll'], remote);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/still has 1 open task/);
      const cancel = await runCli(['tasks', 'cancel', ids[1]!, '--note', 'Bob did not join'], remote);
      expect(cancel.code, cancel.stderr).toBe(0);
      expect(cancel.stdout).toMatch(/Cancelled: Create the account "bob" in Payroll\./);
      const removed = await runCli(['targets', 'remove', 'payroll', '--json'], remote);
      expect(removed.code, removed.stderr).toBe(0);
      expect(json(removed)).toEqual({ removed: 'payroll' });
      const gone = await runCli(['targets', 'show', 'payroll'], remote);
      expect(gone.code).toBe(2);
      expect(gone.stderr).toMatch(/there is no target named "payroll"/);
    });
  });
});
