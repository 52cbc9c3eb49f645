import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpNow } from '../../src/operators/index.ts';
import {
  launchBrowser,
  screenshot,
  startConsoleServer,
  type ConsoleServer,
  type TestBrowser,
} from '../../src/testing/browser.ts';

/**
 * The README's path for a newcomer, with no settings at all: the first start prints a one-time setup link; opening
 * it creates the first administrator, who enrols an authenticator and lands on the dashboard.
 */
let server: ConsoleServer;
let tb: TestBrowser;

beforeAll(async () => {
  tb = await launchBrowser();
  server = await startConsoleServer({});
});
afterAll(async () => {
  await tb?.close();
  await server?.stop();
});

describe('first start with nothing configured', () => {
  it('the printed setup link creates the first administrator, who enrols TOTP and sees the dashboard', async () => {
    const link = server.proc.stdout().match(/(http:\/\/\S+\/setup#[A-Za-z0-9_-]+)/)?.[1];
    expect(link, server.proc.stdout()).toBeTruthy();
    const page = await tb.newPage();

    // Before setup, the sign-in page says where the link is.
    await page.goto(`${server.url}/login`);
    await expect
      .poll(() =>
        page
          .getByText(/setup link/i)
          .first()
          .isVisible(),
      )
      .toBe(true);

    await page.goto(link!);
    await page.getByRole('heading', { level: 1, name: 'Set up Gatehouse' }).waitFor();
    await page.getByLabel('Display name').fill('Ingrid Admin');
    await page.getByLabel('Email').fill('ingrid@example.com');
    await page.getByLabel('Password', { exact: true }).fill('first light over the fjord');
    await page.getByLabel('Confirm password').fill('first light over the fjord');
    await screenshot(page, 'setup');
    await page.getByRole('button', { name: 'Create administrator' }).click();

    await page.waitForURL(/\/login\/enrol/);
    const secret = (await page.getByTestId('totp-secret').innerText()).replace(/\s+/g, '');
    await page.getByLabel('Authentication code').fill(await totpNow(secret, new Date()));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByTestId('recovery-codes').waitFor();
    await page.getByLabel('I have saved these codes').check();
    await page.getByRole('button', { name: 'Continue to the dashboard' }).click();
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
    await expect.poll(() => page.getByText('Ingrid Admin').first().isVisible()).toBe(true);

    // The link was for one use only.
    const reuse = await page.evaluate(async (token) => {
      const r = await fetch('/api/v1/session/setup', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          token,
          email: 'mallory@example.com',
          displayName: 'M',
          password: 'another long passphrase',
        }),
      });
      return ((await r.json()) as { code: string }).code;
    }, link!.split('#')[1]);
    expect(reuse).toBe('setup_already_done');
  });
});
