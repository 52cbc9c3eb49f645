import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { totpNow } from '../operators/index.ts';
import { freePort } from '../db/index.ts';
import { ROOT, cleanEnv, gatehouse, httpGet, tempDataDir, type Spawned } from './processes.ts';

/**
 * Browser tests drive a real `gatehouse serve` (embedded PostgreSQL, built console) with Debian's Chromium through
 * playwright-core. Nothing is downloaded: the browser must be installed (`apt-get install chromium`).
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');

export interface ConsoleServer {
  url: string;
  proc: Spawned;
  dataDir: string;
  /** A superuser connection to the server's embedded database (to tamper, as an attacker with DB access could). */
  sql<T extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<T>>;
  stop(): Promise<void>;
}

/** Wait until every HR lifecycle event has taken effect (the background job that plans provisioning has run). */
export async function lifecycleSettled(server: Pick<ConsoleServer, 'sql'>): Promise<void> {
  await expect
    .poll(
      async () =>
        (
          await server.sql<{ n: number }>(
            `select count(*)::int as n from lifecycle_events where state not in ('done', 'cancelled')`,
          )
        ).rows[0]!.n,
      { timeout: 90_000 },
    )
    .toBe(0);
}

export async function startConsoleServer(env: Record<string, string>): Promise<ConsoleServer> {
  if (!existsSync(join(ROOT, 'apps', 'web', 'dist', 'index.html'))) {
    throw new Error('the console is not built: run "node scripts/build-web.ts" (npm test does it)');
  }
  const data = tempDataDir();
  const port = await freePort();
  const proc = gatehouse(['serve'], cleanEnv({ GATEHOUSE_DATA_DIR: data.dir, PORT: String(port), ...env }));
  await proc.waitFor(/Gatehouse is running at/, 120_000);
  const url = `http://127.0.0.1:${port}`;
  if ((await httpGet(`${url}/readyz`)).status !== 200) throw new Error('server not ready');
  const lock = JSON.parse(readFileSync(join(data.dir, 'gatehouse.lock'), 'utf8')) as { pgPort: number };
  const password = readFileSync(join(data.dir, 'secrets', 'pg-password'), 'utf8').trim();
  // One connection, so that session settings (e.g. session_replication_role) apply to the statements that follow.
  const client = new pg.Client({
    connectionString: `postgres://gatehouse:${encodeURIComponent(password)}@127.0.0.1:${lock.pgPort}/gatehouse`,
  });
  client.on('error', () => undefined); // the server stopping ends this connection; that is not a test failure
  await client.connect();
  return {
    url,
    proc,
    dataDir: data.dir,
    sql: (text, values) => client.query(text, values),
    stop: async () => {
      await client.end();
      proc.child.kill('SIGTERM');
      await proc.exited;
      data.cleanup();
    },
  };
}

export interface TestBrowser {
  browser: Browser;
  /** A fresh, isolated context (own cookies) with a page at the given viewport. */
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium`);
  const profile = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    browser,
    newPage: async (viewport = { width: 1280, height: 860 }) => {
      const ctx = await browser.newContext({ viewport, locale: 'en-GB', timezoneId: 'Europe/Berlin' });
      return ctx.newPage();
    },
    close: async () => {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * A new operator's first sign-in through the console: password, then enrol an authenticator (reading the key the
 * page shows), then the recovery codes, ending on the dashboard. With `shots`, screenshots of each step are taken
 * under that prefix. Returns the TOTP secret.
 */
export async function firstSignIn(
  page: Page,
  baseUrl: string,
  who: { email: string; password: string },
  shots?: string,
): Promise<string> {
  await page.goto(`${baseUrl}/`);
  await page.waitForURL(/\/login/);
  await expect.poll(() => page.getByLabel('Email').isVisible()).toBe(true);
  if (shots) await screenshot(page, `${shots}-login`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel(/^Password( \*)?$/).fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/login\/enrol/);
  const secretEl = page.getByTestId('totp-secret');
  await secretEl.waitFor();
  await expect.poll(() => page.getByRole('img', { name: /QR code/i }).isVisible()).toBe(true);
  if (shots) await screenshot(page, `${shots}-enrol`);
  const secret = (await secretEl.innerText()).replace(/\s+/g, '');
  await page.getByLabel('Authentication code').fill(await totpNow(secret, new Date()));
  await page.getByRole('button', { name: 'Verify' }).click();
  const codes = page.getByTestId('recovery-codes');
  await codes.waitFor();
  expect(await codes.locator('li').count()).toBe(10);
  if (shots) await screenshot(page, `${shots}-recovery-codes`);
  await page.getByLabel('I have saved these codes').check();
  await page.getByRole('button', { name: 'Continue to the dashboard' }).click();
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
  return secret;
}

/** An administrator creates an operator through the Operators page; resolves once the new row is listed. */
export async function createOperatorInUi(
  page: Page,
  baseUrl: string,
  who: { email: string; password: string; name: string },
  role: string,
): Promise<void> {
  await page.goto(`${baseUrl}/operators`);
  await page.getByRole('heading', { level: 1, name: 'Operators' }).waitFor();
  await page.getByRole('button', { name: 'Create operator' }).first().click();
  const dialog = page.getByRole('dialog', { name: 'Create operator' });
  await dialog.getByLabel('Display name').fill(who.name);
  await dialog.getByLabel('Email').fill(who.email);
  await dialog.getByLabel('Role').selectOption(role);
  await dialog.getByLabel('Password', { exact: true }).fill(who.password);
  await dialog.getByRole('button', { name: 'Create operator' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByRole('table', { name: 'Operators' }).getByText(who.email).waitFor();
}

export interface SessionApi {
  get<T = unknown>(path: string): Promise<T>;
  post<T = unknown>(path: string, body?: unknown): Promise<T>;
}

/**
 * The API as the operator signed in on `page` (their session cookie and CSRF token), for setting things up in a
 * test without clicking through every screen. `path` is under /api/v1; a failure throws with the problem body.
 */
export async function sessionApi(page: Page, baseUrl: string): Promise<SessionApi> {
  const session = await page.request.get(`${baseUrl}/api/v1/session`);
  if (!session.ok()) throw new Error(`not signed in on this page (${session.status()})`);
  const { csrfToken } = (await session.json()) as { csrfToken: string };
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const res = await page.request.fetch(`${baseUrl}/api/v1${path}`, {
      method,
      headers: { 'x-csrf-token': csrfToken },
      ...(body === undefined ? {} : { data: body }),
    });
    const text = await res.text();
    if (!res.ok()) throw new Error(`${method} ${path}: HTTP ${res.status()} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  return { get: (path) => call('GET', path), post: (path, body) => call('POST', path, body ?? {}) };
}
