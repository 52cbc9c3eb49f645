import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/kit/clock.ts';
import { uuid } from '../../src/kit/ids.ts';
import { bootstrap } from '../../src/system/index.ts';
import { startTestApi, type TestApi } from '../../src/testing/api.ts';
import { createTestDatabase, superuser, type TestDatabase } from '../../src/testing/db.ts';
import { cleanEnv, runCli } from '../../src/testing/processes.ts';

/** The CLI as a script would use it: --json documents, meaningful exit codes, local or remote. */
let database: TestDatabase;
let env: Record<string, string>;

beforeAll(async () => {
  database = await createTestDatabase();
  env = cleanEnv({ DATABASE_URL: database.url });
});
afterAll(async () => database.drop());

describe('gatehouse CLI against a database (DATABASE_URL)', () => {
  it('db migrate reports the state as JSON', async () => {
    const r = await runCli(['db', 'migrate', '--json'], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ applied: 0, database: 'external' });
  });

  it('token create --json prints {"token": ...}; token list never shows secrets', async () => {
    const r = await runCli(
      [
        'token',
        'create',
        '--name',
        'HR feed',
        '--scopes',
        'audit:read,jobs:write',
        '--expires-in',
        '90d',
        '--json',
      ],
      env,
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.token).toMatch(/^gh_[A-Za-z0-9_-]{43}$/);
    expect(out.scopes).toEqual(['audit:read', 'jobs:write']);
    const list = await runCli(['token', 'list', '--json'], env);
    expect(list.stdout).not.toContain(out.token);
    expect(JSON.parse(list.stdout).items.find((t: { id: string }) => t.id === out.id)).toMatchObject({
      name: 'HR feed',
      status: 'active',
    });
    const human = await runCli(['token', 'list'], env);
    expect(human.stdout).toMatch(/^ID\s+NAME\s+HINT\s+SCOPES/m);
    const revoke = await runCli(['token', 'revoke', out.id, '--reason', 'test'], env);
    expect(revoke.code).toBe(0);
    expect(revoke.stdout).toContain('Revoked token "HR feed"');
  });

  it.each([
    [
      ['token', 'create', '--name', 'x', '--scopes', 'audit:read,root'],
      2,
      /scopes\[1\]: unknown scope "root"/,
    ],
    [
      ['token', 'create', '--name', 'x', '--scopes', 'admin', '--expires-in', 'someday'],
      2,
      /expiry "someday"/,
    ],
    [['token', 'create', '--scopes', 'admin'], 2, /required option '--name <name>'/],
    [['token', 'revoke', '00000000-0000-4000-8000-000000000000'], 2, /no API token with id/],
    [['token', 'frobnicate'], 2, /unknown command 'frobnicate'/],
    [['jobs', 'probe', '--count', 'many'], 2, /--count must be a whole number/],
    [['audit', 'list', '--limit', 'abc'], 2, /--limit must be a whole number from 1 to 500 \(got "abc"\)/],
    [['audit', 'list', '--from', 'yesterday'], 2, /--from must be an ISO 8601 date-time/],
    [
      ['audit', 'list', '--to', '2026-02-30T00:00:00'],
      2,
      /--to must be an ISO 8601 date-time with an offset/,
    ],
  ])('%j exits %i with a clear message', async (args, code, message) => {
    const r = await runCli(args, env);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
  });

  it('errors are a JSON document on stdout with --json', async () => {
    const r = await runCli(['token', 'create', '--name', 'x', '--scopes', 'nope', '--json'], env);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({
      error: { code: 'token_scope_unknown', problems: [{ field: 'scopes[0]' }] },
    });
  });

  it('audit verify passes, then names the tampered event and exits 3', async () => {
    const ok = await runCli(['audit', 'verify'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/The audit chain is intact: \d+ event\(s\) verified/);
    await superuser(database, async (c) => {
      await c.query('set session_replication_role = replica');
      await c.query(`update audit_events set reason = 'nothing to see' where seq = 2`);
    });
    const bad = await runCli(['audit', 'verify', '--json'], env);
    expect(bad.code).toBe(3);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      ok: false,
      checked: 1,
      firstBroken: { seq: 2, reason: 'hash_mismatch' },
    });
    const human = await runCli(['audit', 'verify'], env);
    expect(human.code).toBe(3);
    expect(human.stdout).toContain('The audit chain is BROKEN at event #2');
  });

  it('audit list filters', async () => {
    const r = await runCli(['audit', 'list', '--action', 'token.*', '--json'], env);
    expect(r.code).toBe(0);
    const actions = JSON.parse(r.stdout).items.map((e: { action: string }) => e.action);
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.every((a: string) => a.startsWith('token.'))).toBe(true);
  });

  it('jobs probe says plainly when no worker is running', async () => {
    const r = await runCli(['jobs', 'probe', '--count', '3', '--timeout', '1'], env);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('is "gatehouse serve" or "gatehouse worker" running');
  });

  it('serve refuses to start on an external database without GATEHOUSE_SECRET_KEY', async () => {
    const r = await runCli(['serve'], { ...env, PORT: '1' });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('GATEHOUSE_SECRET_KEY: is required when DATABASE_URL is set');
  });

  it('config check shows the configuration with secrets masked', async () => {
    const r = await runCli(['config', 'check', '--json'], {
      ...env,
      GATEHOUSE_BOOTSTRAP_TOKEN: 's'.repeat(40),
    });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('s'.repeat(40));
    expect(r.stdout).not.toContain(new URL(database.url).password);
  });

  it.each([
    [[]],
    [['--help']],
    [['serve', '--help']],
    [['worker', '--help']],
    [['db', 'migrate', '--help']],
    [['token', 'create', '--help']],
    [['token', 'list', '--help']],
    [['token', 'revoke', '--help']],
    [['audit', 'verify', '--help']],
    [['audit', 'list', '--help']],
    [['jobs', 'probe', '--help']],
    [['config', 'check', '--help']],
  ])('%j prints usage and exits 0', async (args) => {
    const r = await runCli(args, env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: gatehouse/);
  });
});

describe('gatehouse CLI against a server (GATEHOUSE_URL + GATEHOUSE_TOKEN)', () => {
  let api: TestApi;
  let remote: TestDatabase;
  let base: string;
  const admin = 'r'.repeat(40);

  beforeAll(async () => {
    remote = await createTestDatabase();
    api = await startTestApi(remote, { workerId: 'remote-worker', listen: true });
    await bootstrap(
      remote,
      { actor: { type: 'system', id: 'bootstrap' }, clock: systemClock, ids: uuid },
      { bootstrapToken: admin },
    );
    base = api.url!;
  });
  afterAll(async () => {
    await api.close();
    await remote.drop();
  });

  it('creates tokens, verifies the chain and probes the queue through the API', async () => {
    // No DATABASE_URL at all: everything goes through HTTP.
    const renv = cleanEnv({
      GATEHOUSE_URL: base,
      GATEHOUSE_TOKEN: admin,
      GATEHOUSE_DATA_DIR: '/nonexistent/never-used',
    });
    const created = await runCli(
      ['token', 'create', '--name', 'remote', '--scopes', 'audit:read', '--json'],
      renv,
    );
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout).token).toMatch(/^gh_/);
    const verify = await runCli(['audit', 'verify', '--json'], renv);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, checked: 3 });
    const probe = await runCli(['jobs', 'probe', '--count', '20', '--json'], renv);
    expect(probe.code).toBe(0);
    expect(JSON.parse(probe.stdout)).toMatchObject({ done: 20, distinctJobs: 20 });
    const events = await runCli(
      ['audit', 'list', '--actor', 'token:' + JSON.parse(created.stdout).id, '--json'],
      renv,
    );
    expect(events.code).toBe(0);
  });

  it('a refused token exits 77; an unreachable server exits 69', async () => {
    const denied = await runCli(
      ['audit', 'verify'],
      cleanEnv({ GATEHOUSE_URL: base, GATEHOUSE_TOKEN: 'gh_' + 'z'.repeat(43) }),
    );
    expect(denied.code).toBe(77);
    expect(denied.stderr).toContain('the API token is not known');
    const away = await runCli(
      ['audit', 'verify'],
      cleanEnv({ GATEHOUSE_URL: 'http://127.0.0.1:1', GATEHOUSE_TOKEN: admin }),
    );
    expect(away.code).toBe(69);
    expect(away.stderr).toContain('GATEHOUSE_URL: cannot reach http://127.0.0.1:1');
  });
});
