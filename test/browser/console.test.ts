import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  launchBrowser,
  screenshot,
  startConsoleServer,
  type ConsoleServer,
  type TestBrowser,
  createOperatorInUi,
  firstSignIn,
} from '../../src/testing/browser.ts';

/**
 * The console in Debian's Chromium against a real `gatehouse serve` (embedded PostgreSQL, built console):
 * sign-in with password + TOTP, role enforcement, and a tampered audit trail shown as broken.
 */
const ADMIN = { email: 'ada@example.com', password: 'a very long first passphrase' };
const AGENT = { email: 'agnes@example.com', password: 'agent passphrase that is long', name: 'Agnes Agent' };
const AUDITOR = {
  email: 'audrey@example.com',
  password: 'auditor passphrase that is long',
  name: 'Audrey Auditor',
};

let server: ConsoleServer;
let tb: TestBrowser;
let admin: Page;

beforeAll(async () => {
  tb = await launchBrowser();
  server = await startConsoleServer({
    GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
  });
});
afterAll(async () => {
  await tb?.close();
  await server?.stop();
});

const heading = (page: Page, name: string | RegExp) => page.getByRole('heading', { level: 1, name });

/** Call the API from inside the signed-in page, the way the console does (cookie + CSRF header). */
async function apiFromPage(
  page: Page,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; code?: string }> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const s = (await fetch('/api/v1/session').then((r) => r.json())) as { csrfToken: string };
      const r = await fetch(path, {
        method,
        headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const j = (await r.json().catch(() => ({}))) as { code?: string };
      return { status: r.status, code: j.code };
    },
    { method, path, body },
  );
}

describe('the console in Chromium', () => {
  it('the bootstrap administrator signs in with password + TOTP enrolment and sees the dashboard', async () => {
    admin = await tb.newPage();
    await firstSignIn(admin, server.url, ADMIN, 'signin');
    await expect.poll(() => admin.title()).toContain('Dashboard');
    await admin.getByText('events recorded').waitFor();
    await screenshot(admin, 'dashboard');
    // Every page has a URL; reloading keeps you where you are (the session survives a reload).
    await admin.reload();
    await heading(admin, 'Dashboard').waitFor();
  });

  it('an administrator creates an agent and an auditor in the console', async () => {
    await createOperatorInUi(admin, server.url, AGENT, 'agent');
    await createOperatorInUi(admin, server.url, AUDITOR, 'auditor');
    await screenshot(admin, 'operators');
  });

  it('a wrong authenticator code is refused with a plain message', async () => {
    const page = await tb.newPage();
    await page.goto(`${server.url}/login`);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password', { exact: true }).fill('not the right password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByTestId('login-error').innerText()).toContain('not correct');
    await page.context().close();
  });

  it('an auditor can read the audit trail but is refused a write', async () => {
    const page = await tb.newPage();
    await firstSignIn(page, server.url, AUDITOR);
    await page.getByRole('navigation').getByRole('link', { name: 'Audit trail' }).click();
    await heading(page, 'Audit trail').waitFor();
    const table = page.getByRole('table', { name: 'Audit events' });
    await table.getByText('operator.create').first().waitFor();
    // The console offers no write actions to an auditor…
    await page.goto(`${server.url}/tokens`);
    await heading(page, 'API tokens').waitFor();
    expect(await page.getByRole('button', { name: 'Create token' }).count()).toBe(0);
    await page.goto(`${server.url}/operators`);
    await heading(page, 'Operators').waitFor();
    expect(await page.getByRole('button', { name: 'Create operator' }).count()).toBe(0);
    // …and the server refuses them anyway.
    expect(await apiFromPage(page, 'POST', '/api/v1/tokens', { name: 'sneaky', scopes: ['admin'] })).toEqual({
      status: 403,
      code: 'forbidden',
    });
    expect(
      await apiFromPage(page, 'POST', '/api/v1/operators', {
        email: 'x@example.com',
        displayName: 'X',
        role: 'administrator',
        password: 'long enough password 1',
      }),
    ).toEqual({ status: 403, code: 'forbidden' });
    await page.context().close();
  });

  it('an agent cannot manage operators', async () => {
    const page = await tb.newPage();
    await firstSignIn(page, server.url, AGENT);
    const nav = page.getByRole('navigation');
    expect(await nav.getByRole('link', { name: 'Operators' }).count()).toBe(0);
    await page.goto(`${server.url}/operators`);
    await expect
      .poll(() =>
        page
          .getByText(/permission/i)
          .first()
          .isVisible(),
      )
      .toBe(true);
    expect(await page.getByRole('button', { name: 'Create operator' }).count()).toBe(0);
    const r = await apiFromPage(page, 'POST', '/api/v1/operators', {
      email: 'y@example.com',
      displayName: 'Y',
      role: 'administrator',
      password: 'long enough password 2',
    });
    expect(r).toEqual({ status: 403, code: 'forbidden' });
    await page.context().close();
  });

  it('verifies an intact chain, then shows the break after a row is tampered with', async () => {
    await admin.goto(`${server.url}/audit`);
    await heading(admin, 'Audit trail').waitFor();
    await admin.getByRole('button', { name: 'Verify chain' }).click();
    const result = admin.getByTestId('verify-result');
    await expect
      .poll(() => result.innerText(), { timeout: 60_000 })
      .toMatch(/Audit chain intact — \d+ events verified/);
    await screenshot(admin, 'audit');
    // An attacker with database superuser rights edits event #3 behind Gatehouse's back.
    await server.sql('set session_replication_role = replica');
    const before = await server.sql<{ after: { role?: string } }>(
      'select after from audit_events where seq = 3',
    );
    expect(before.rows[0]!.after.role).not.toBe('auditor');
    const tampered = await server.sql<{ seq: number }>(
      `update audit_events set after = jsonb_set(coalesce(after, '{}'), '{role}', '"auditor"') where seq = 3 returning seq`,
    );
    expect(tampered.rows).toEqual([{ seq: 3 }]);
    await admin.getByRole('button', { name: 'Verify chain' }).click();
    await expect
      .poll(() => result.innerText(), { timeout: 60_000 })
      .toMatch(/Audit chain BROKEN at event #3/);
    await screenshot(admin, 'audit-broken');
  });

  it('tables filter on the server and keep their state in the URL', async () => {
    await admin.goto(`${server.url}/operators`);
    const table = admin.getByRole('table', { name: 'Operators' });
    await table.getByText(AUDITOR.email).waitFor();
    await admin.getByLabel('Search operators').fill('agnes');
    await admin.waitForURL(/[?&]q=agnes/);
    await expect.poll(() => table.getByText(AUDITOR.email).count()).toBe(0);
    expect(await table.getByText(AGENT.email).count()).toBe(1);
    // The URL is the view: opening it fresh shows the same filtered table.
    await admin.goto(admin.url());
    await expect.poll(() => admin.getByLabel('Search operators').inputValue()).toBe('agnes');
    await admin.goto(`${server.url}/tokens`);
    await heading(admin, 'API tokens').waitFor();
    await admin.getByLabel('Show revoked and expired tokens').check();
    await admin.waitForURL(/[?&]includeRevoked=true/);
  });

  it('screens work at tablet width, and the remaining pages render', async () => {
    await admin.goto(`${server.url}/tokens`);
    await heading(admin, 'API tokens').waitFor();
    await screenshot(admin, 'tokens');
    await admin.goto(`${server.url}/settings`);
    await heading(admin, 'Settings').waitFor();
    const row = admin.locator('tr[data-env="GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD"]');
    await row.waitFor();
    expect(await row.innerText()).not.toContain(ADMIN.password);
    expect(await admin.content()).not.toContain(ADMIN.password);
    await screenshot(admin, 'settings');
    const tablet = await tb.newPage({ width: 768, height: 1024 });
    await tablet.context().addCookies(await admin.context().cookies());
    await tablet.goto(`${server.url}/audit`);
    await heading(tablet, 'Audit trail').waitFor();
    await screenshot(tablet, 'audit-tablet');
    await tablet.context().close();
  });
});
