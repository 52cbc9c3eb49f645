import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, isProcessAlive } from '../../src/db/index.ts';
import {
  cleanEnv,
  eventually,
  gatehouse,
  httpGet,
  runCli,
  tempDataDir,
  type Spawned,
} from '../../src/testing/processes.ts';

/**
 * The README's promise, as processes: `gatehouse serve` on a data directory with no DATABASE_URL starts its own
 * PostgreSQL, keeps data across restarts, survives SIGKILL, owns its directory, and restarts a crashed database.
 */
const running: Spawned[] = [];
const dirs: (() => void)[] = [];
afterEach(() => {
  for (const p of running.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});
afterAll(async () => {
  // Stop any PostgreSQL a SIGKILLed test server left behind, then remove the directories.
  await new Promise((r) => setTimeout(r, 200));
  for (const cleanup of dirs) cleanup();
});

function dataDir(): string {
  const d = tempDataDir();
  dirs.push(() => {
    const pidFile = join(d.dir, 'pg', 'postmaster.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      if (isProcessAlive(pid)) process.kill(pid, 'SIGQUIT');
    }
    d.cleanup();
  });
  return d.dir;
}

async function startServer(
  dir: string,
  extra: Record<string, string> = {},
): Promise<{ p: Spawned; url: string; env: Record<string, string> }> {
  const port = await freePort();
  const env = cleanEnv({ GATEHOUSE_DATA_DIR: dir, PORT: String(port), ...extra });
  const p = gatehouse(['serve'], env);
  running.push(p);
  await p.waitFor(/Gatehouse is running at/, 90_000);
  const url = `http://127.0.0.1:${port}`;
  expect((await httpGet(`${url}/readyz`)).status).toBe(200);
  return { p, url, env };
}

function lockOf(dir: string): { pid: number; pgPort: number } | undefined {
  const f = join(dir, 'gatehouse.lock');
  return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : undefined;
}

function postmasterPid(dir: string): number {
  return Number(readFileSync(join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

describe('gatehouse serve with the embedded PostgreSQL', () => {
  it('starts, prints a one-time admin token, keeps data across a clean restart', async () => {
    const dir = dataDir();
    const first = await startServer(dir);
    const admin = (await first.p.waitFor(/\b(gh_[A-Za-z0-9_-]{43})\b/))[1]!;
    expect((await httpGet(`${first.url}/api/v1/me`, admin)).body).toMatchObject({
      name: 'bootstrap admin',
      scopes: ['admin'],
    });
    expect(first.p.stderr()).not.toContain(admin); // the token is printed once to the terminal, never logged

    // The CLI works while the server runs: it attaches to the server's PostgreSQL through the data directory.
    const created = await runCli(
      ['token', 'create', '--name', 'made while running', '--scopes', 'audit:read', '--json'],
      first.env,
    );
    expect(created.code).toBe(0);
    const cliToken = JSON.parse(created.stdout).token as string;
    expect(cliToken).toMatch(/^gh_/);
    expect((await httpGet(`${first.url}/api/v1/audit/events`, cliToken)).status).toBe(200);

    const pgPid = postmasterPid(dir);
    first.p.child.kill('SIGTERM');
    expect(await first.p.exited).toBe(0);
    expect(lockOf(dir)).toBeUndefined();
    expect(isProcessAlive(pgPid)).toBe(false);

    const second = await startServer(dir);
    expect(second.p.stdout()).not.toMatch(/gh_[A-Za-z0-9_-]{43}/); // bootstrap happens once
    expect((await httpGet(`${second.url}/api/v1/me`, admin)).status).toBe(200);
    expect((await httpGet(`${second.url}/api/v1/me`, cliToken)).body).toMatchObject({
      name: 'made while running',
    });
    // No console administrator yet: each start prints a fresh one-time setup link (the old one stops working).
    const links = [first, second].map((s) => s.p.stdout().match(/\/setup#([A-Za-z0-9_-]+)/)?.[1]);
    expect(links[0]).toBeTruthy();
    expect(links[1]).toBeTruthy();
    expect(links[1]).not.toBe(links[0]);
    const verified = await runCli(['audit', 'verify', '--json'], second.env);
    expect(verified.code).toBe(0);
    // token.create + system.bootstrap + setup link (1st start), token.create (CLI), setup link (2nd start)
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, checked: 5 });
    const actions = JSON.parse((await runCli(['audit', 'list', '--json'], second.env)).stdout).items.map(
      (e: { action: string }) => e.action,
    );
    expect(actions).toEqual([
      'system.setup_link_issued',
      'token.create',
      'system.setup_link_issued',
      'system.bootstrap',
      'token.create',
    ]);
    second.p.child.kill('SIGINT');
    expect(await second.p.exited).toBe(0);
  });

  it('recovers after SIGKILL: no stale lock, no lost committed data', async () => {
    const dir = dataDir();
    const bootstrap = 'k'.repeat(40);
    const first = await startServer(dir, { GATEHOUSE_BOOTSTRAP_TOKEN: bootstrap });
    const res = await fetch(`${first.url}/api/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bootstrap}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'committed before the crash', scopes: ['audit:read'] }),
    });
    expect(res.status).toBe(201);
    const orphanPg = postmasterPid(dir);
    first.p.child.kill('SIGKILL');
    await first.p.exited;
    expect(lockOf(dir)?.pid).toBe(first.p.child.pid); // stale lock left behind
    expect(isProcessAlive(orphanPg)).toBe(true); // and an orphaned PostgreSQL

    const second = await startServer(dir, { GATEHOUSE_BOOTSTRAP_TOKEN: bootstrap });
    expect(lockOf(dir)?.pid).toBe(second.p.child.pid);
    expect(isProcessAlive(orphanPg)).toBe(false);
    const list = (await httpGet(`${second.url}/api/v1/tokens`, bootstrap)).body as {
      items: { name: string }[];
    };
    expect(list.items.map((t) => t.name)).toContain('committed before the crash');
    const verified = await runCli(['audit', 'verify', '--json'], second.env);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true });
    second.p.child.kill('SIGTERM');
    expect(await second.p.exited).toBe(0);
  });

  it('has one owner per data directory; others attach, and leave when the owner stops', async () => {
    const dir = dataDir();
    const owner = await startServer(dir);
    const guest = await startServer(dir, { GATEHOUSE_SHUTDOWN_TIMEOUT_MS: '2000' });
    expect(guest.p.stdout()).toContain('database: embedded-attached');
    expect(owner.p.stdout()).toContain('database: embedded-owner');
    expect(lockOf(dir)?.pid).toBe(owner.p.child.pid);
    owner.p.child.kill('SIGTERM');
    expect(await owner.p.exited).toBe(0);
    expect(await guest.p.exited).toBe(1);
    expect(guest.p.stderr()).toContain('owns the embedded database');
  });

  it('restarts the embedded PostgreSQL when it crashes', async () => {
    const dir = dataDir();
    const s = await startServer(dir, { GATEHOUSE_BOOTSTRAP_TOKEN: 'c'.repeat(40) });
    const before = postmasterPid(dir);
    process.kill(before, 'SIGKILL');
    await s.p.waitFor(/running again/, 60_000);
    const after = postmasterPid(dir);
    expect(after).not.toBe(before);
    await eventually(
      async () => (await httpGet(`${s.url}/readyz`)).status === 200,
      'readiness after the restart',
    );
    expect((await httpGet(`${s.url}/api/v1/me`, 'c'.repeat(40))).status).toBe(200);
    s.p.child.kill('SIGTERM');
    expect(await s.p.exited).toBe(0);
  });
});

describe('bad configuration', () => {
  it.each([
    [{ PORT: 'abc' }, 78, /PORT: expected a whole number \(got "abc"\)/],
    [
      { PORT: '99999', GATEHOUSE_LOG_LEVEL: 'chatty' },
      78,
      /PORT: must be at most 65535[\s\S]*GATEHOUSE_LOG_LEVEL/,
    ],
    [
      { DATABASE_URL: 'postgres://gh:topsecret@127.0.0.1:1/gh', GATEHOUSE_DB_CONNECT_TIMEOUT_MS: '500' },
      69,
      /DATABASE_URL: cannot connect to postgres:\/\/gh:\*\*\*@127\.0\.0\.1:1\/gh/,
    ],
    [{ GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: 'admin@example.com' }, 78, /set both or neither/],
    [
      {
        GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: 'admin@example.com',
        GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: 'admin password 2026',
      },
      78,
      /GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: must not contain your email name/,
    ],
    [{ GATEHOUSE_SECRET_KEY: 'too-short' }, 78, /GATEHOUSE_SECRET_KEY: expected 32 random bytes/],
  ])('%o exits %i naming the setting', async (env, code, message) => {
    const r = await runCli(['serve'], cleanEnv({ GATEHOUSE_DATA_DIR: dataDir(), ...env }));
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr + r.stdout).not.toContain('topsecret');
  });

  it('refuses a port that is taken, naming PORT', async () => {
    const dir = dataDir();
    const s = await startServer(dir);
    const port = new URL(s.url).port;
    const r = await runCli(['serve'], cleanEnv({ GATEHOUSE_DATA_DIR: dir, PORT: port }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`PORT: 127.0.0.1:${port} is already in use`);
    s.p.child.kill('SIGTERM');
    expect(await s.p.exited).toBe(0);
  });
});
