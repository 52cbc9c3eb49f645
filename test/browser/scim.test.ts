import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import {
  createOperatorInUi,
  firstSignIn,
  launchBrowser,
  screenshot,
  startConsoleServer,
  type ConsoleServer,
  type TestBrowser,
} from '../../src/testing/browser.ts';

/**
 * The SCIM page in Chromium against a real `gatehouse serve`: the base URL and what the server supports (as its
 * own /ServiceProviderConfig says); the empty list explains what a SCIM client is; a lenient client for the HR
 * source "entra" is connected, its secret shown once with the Entra ID and Okta setup; the secret works (a User
 * POSTed to /scim/v2/Users arrives as a person of that source, the client shows "last used", its audit trail
 * lists what it did); a bad source name is named at its field with the input kept; an auditor sees the clients
 * but cannot connect or revoke; revoking (after confirmation) removes the client and its secret stops working.
 */
const ADMIN = { email: 'ops@example.com', password: 'a very long first passphrase' };
const AUDITOR = {
  email: 'audrey@example.com',
  password: 'auditor passphrase that is long',
  name: 'Audrey Auditor',
};
const ADA = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  userName: 'ada@example.com',
  name: { givenName: 'Ada', familyName: 'Lovelace' },
};

let server: ConsoleServer;
let tb: TestBrowser;
let page: Page;
let baseUrl: string;
/** The secret of the connected client, as the page showed it once. */
let secret: string;
let tokenId: string;

beforeAll(async () => {
  tb = await launchBrowser();
  server = await startConsoleServer({
    GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
  });
  baseUrl = `${server.url}/scim/v2`;
});
afterAll(async () => {
  await tb?.close();
  await server?.stop();
});

const heading = (p: Page, name: string) => p.getByRole('heading', { level: 1, name });

/** The control labelled exactly `text` (a required field's label ends in " *"). */
const field = (scope: Pick<Page, 'getByLabel'>, text: string) =>
  scope.getByLabel(new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( \\*)?$`));

const clients = (p: Page) => p.getByRole('table', { name: 'SCIM clients' });
const row = (p: Page, name: string): Locator =>
  clients(p)
    .getByRole('row')
    .filter({ has: p.getByText(name, { exact: true }) });

function postUser(token: string) {
  return fetch(`${baseUrl}/Users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
    body: JSON.stringify(ADA),
  });
}

describe('SCIM in the console', () => {
  it('shows the base URL and what the server supports, and says what a SCIM client is', async () => {
    page = await tb.newPage();
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await firstSignIn(page, server.url, ADMIN);
    await page.getByRole('navigation').getByRole('link', { name: 'SCIM', exact: true }).click();
    await heading(page, 'SCIM').waitFor();
    expect(await page.getByTestId('scim-base-url').innerText()).toBe(baseUrl);

    // What the page says must be what the server's discovery endpoint says.
    const spc = (await (await fetch(`${baseUrl}/ServiceProviderConfig`)).json()) as {
      bulk: { maxOperations: number };
      filter: { maxResults: number };
      etag: { supported: boolean };
      patch: { supported: boolean };
    };
    const supports = page.getByRole('table', { name: 'What this server supports' });
    await supports.waitFor();
    const fact = (name: string) => supports.getByRole('row', { name: new RegExp(`^${name}`) });
    const n = (v: number) => v.toLocaleString('en-GB');
    expect(await fact('Bulk').innerText()).toContain(
      `Up to ${n(spc.bulk.maxOperations)} operations per request`,
    );
    expect(await fact('Filter').innerText()).toContain(`Up to ${n(spc.filter.maxResults)} results per page`);
    expect(await fact('ETags').innerText()).toContain(spc.etag.supported ? 'Supported' : 'Not supported');
    expect(await fact('PATCH').innerText()).toContain(spc.patch.supported ? 'Supported' : 'Not supported');

    await page.getByText('No SCIM clients yet.').waitFor();
    await page.getByText(/A SCIM client is a system that sends people to Gatehouse on its own/).waitFor();
    expect(await clients(page).count()).toBe(0);

    await page.getByRole('button', { name: 'Copy base URL' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(baseUrl);
    await screenshot(page, 'scim-empty');
  });

  it('connects a lenient client for the source "entra": the secret is shown once, with the setup steps', async () => {
    // Both "Connect a SCIM client" buttons (header and empty state) open the same dialog.
    await page.getByRole('button', { name: 'Connect a SCIM client' }).last().click();
    const dialog = page.getByRole('dialog', { name: 'Connect a SCIM client' });
    await field(dialog, 'Name').fill('Entra ID');
    expect(await field(dialog, 'HR source').inputValue(), 'the default source').toBe('scim');
    await field(dialog, 'HR source').fill('entra');
    await dialog.getByText('Entra ID and Okta: Lenient.').waitFor();
    await dialog.getByRole('radio', { name: 'Lenient', exact: true }).check();
    expect(await dialog.getByRole('radio', { name: 'Read and write', exact: true }).isChecked()).toBe(true);
    await dialog.getByRole('button', { name: 'Connect client' }).click();

    const setup = page.getByRole('dialog', { name: 'Set up your SCIM client' });
    await setup.waitFor();
    secret = (await setup.getByTestId('scim-secret').innerText()).trim();
    expect(secret).toMatch(/^\S{30,}$/);
    await setup.getByText('The secret token is shown only once').waitFor();
    await setup.getByRole('button', { name: 'Copy secret token' }).click();
    await setup.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret);

    // A lenient client opens on Entra ID's steps: Tenant URL = the base URL.
    const entra = setup.getByRole('tabpanel', { name: 'Entra ID' });
    await entra.getByText('Tenant URL:').waitFor();
    expect(await entra.locator('code', { hasText: baseUrl }).count()).toBeGreaterThan(0);
    await entra.getByText('Secret Token', { exact: true }).waitFor();
    await setup.getByRole('tab', { name: 'Okta' }).click();
    const okta = setup.getByRole('tabpanel', { name: 'Okta' });
    await okta.getByText('SCIM connector base URL:').waitFor();
    expect(await okta.locator('code', { hasText: baseUrl }).count()).toBeGreaterThan(0);
    expect(await okta.innerText()).toMatch(/Unique identifier field for users: userName/);
    expect(await okta.innerText()).toMatch(/Authentication Mode: HTTP Header/);
    expect(await okta.innerText()).toContain('Bearer');
    await screenshot(page, 'scim-secret');
    await setup.getByRole('button', { name: 'Done' }).click();
    await setup.waitFor({ state: 'hidden' });

    const entraRow = row(page, 'Entra ID');
    await entraRow.waitFor();
    tokenId = (await entraRow.getAttribute('data-token-id'))!;
    expect(tokenId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await entraRow.locator('[data-col="source"] code').innerText()).toBe('entra');
    expect(await entraRow.locator('[data-col="profile"]').innerText()).toMatch(
      /^Lenient\s+Accepts how Entra ID/i,
    );
    expect(await entraRow.locator('[data-col="access"]').innerText()).toBe('Read and write');
    expect(await entraRow.locator('[data-col="status"]').innerText()).toMatch(/^Active\s+expires /i);
    expect(await entraRow.locator('[data-col="last-used"]').innerText()).toBe('Never used');
    // Shown once: gone from the page, and not in what the server lists.
    expect(await page.content()).not.toContain(secret);
    const listed = await page.evaluate(async () => (await fetch('/api/v1/tokens')).text());
    expect(listed).toContain('"source":"entra"');
    expect(listed).not.toContain(secret);

    // The API tokens page says which tokens are SCIM clients.
    await page.getByRole('navigation').getByRole('link', { name: 'API tokens' }).click();
    const tokenRow = page
      .getByRole('table', { name: 'API tokens' })
      .locator(`tr[data-token-id="${tokenId}"]`);
    await tokenRow.getByText('SCIM client', { exact: true }).waitFor();
    expect(await tokenRow.getByTestId('scim-source').innerText()).toBe('entra');
    expect(await tokenRow.innerText()).toContain('Lenient profile');
  });

  it('the secret works: a User pushed over SCIM arrives as a person of the source, and the client was used', async () => {
    const r = await postUser(secret);
    expect(r.status, await r.clone().text()).toBe(201);

    await page.goto(`${server.url}/scim`);
    const entraRow = row(page, 'Entra ID');
    await entraRow.waitFor();
    const used = entraRow.locator('[data-col="last-used"] time');
    await used.waitFor();
    const at = Date.parse((await used.getAttribute('datetime'))!);
    expect(Math.abs(Date.now() - at)).toBeLessThan(5 * 60_000);
    await expect.poll(() => entraRow.getByTestId('source-people').innerText()).toBe('1 person');
    await screenshot(page, 'scim-client-used');

    // What it did is in the audit trail, under its name.
    await entraRow.getByRole('link', { name: 'Audit trail of Entra ID' }).click();
    await heading(page, 'Audit trail').waitFor();
    expect(new URL(page.url()).searchParams.get('actor')).toBe(`token:${tokenId}`);
    const events = page.getByRole('table', { name: 'Audit events' });
    await events.waitFor();
    const rows = events.locator('tbody tr[data-seq]');
    await expect.poll(() => rows.count()).toBeGreaterThan(0);
    for (const text of await rows.allInnerTexts()) expect(text).toContain('Entra ID');

    // The person is one of everyone (the People page has no source filter: see the SCIM page's count).
    await page.goto(`${server.url}/people?q=Lovelace`);
    await page.getByRole('table', { name: 'People' }).getByRole('link', { name: 'Ada Lovelace' }).waitFor();
  });

  it('a bad source name is named at its field, in words, and the input is kept', async () => {
    await page.goto(`${server.url}/scim`);
    await row(page, 'Entra ID').waitFor();
    await page.getByRole('button', { name: 'Connect a SCIM client' }).click();
    const dialog = page.getByRole('dialog', { name: 'Connect a SCIM client' });
    await field(dialog, 'Name').fill('Workday');
    await field(dialog, 'HR source').fill('Bad Source!');
    await dialog.getByRole('radio', { name: 'Read only', exact: true }).check();
    await dialog.getByRole('button', { name: 'Connect client' }).click();

    await dialog
      .getByRole('alert')
      .getByText('The client was not connected. Correct the field marked below and try again.')
      .waitFor();
    const source = field(dialog, 'HR source');
    await expect.poll(() => source.getAttribute('aria-invalid')).toBe('true');
    const message = dialog.getByText(/“Bad Source!” cannot be used as an HR source name/);
    await message.waitFor();
    expect(await message.innerText()).toContain('for example “bad-source”');
    // The message is the field's description for assistive technology.
    const described = (await source.getAttribute('aria-describedby')) ?? '';
    const ids = described.split(/\s+/).filter(Boolean);
    const texts = await Promise.all(ids.map((id) => dialog.locator(`[id="${id}"]`).innerText()));
    expect(texts.join(' ')).toContain('cannot be used as an HR source name');
    expect(await source.inputValue()).toBe('Bad Source!');
    expect(await field(dialog, 'Name').inputValue()).toBe('Workday');
    expect(await dialog.getByRole('radio', { name: 'Read only', exact: true }).isChecked()).toBe(true);
    expect(await field(dialog, 'Name').getAttribute('aria-invalid')).not.toBe('true');
    await screenshot(page, 'scim-bad-source');

    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await clients(page).getByRole('row').count(), 'a header and the one client').toBe(2);
  });

  it('an auditor sees the clients but cannot connect or revoke one', async () => {
    await createOperatorInUi(page, server.url, AUDITOR, 'auditor');
    const auditor = await tb.newPage();
    await firstSignIn(auditor, server.url, AUDITOR);
    await auditor.getByRole('navigation').getByRole('link', { name: 'SCIM', exact: true }).click();
    await heading(auditor, 'SCIM').waitFor();
    await row(auditor, 'Entra ID').waitFor();
    expect(await row(auditor, 'Entra ID').locator('[data-col="source"] code').innerText()).toBe('entra');
    expect(await auditor.getByRole('button', { name: 'Connect a SCIM client' }).count()).toBe(0);
    expect(await auditor.getByRole('button', { name: /^Revoke/ }).count()).toBe(0);
    await auditor.context().close();
  });

  it('revokes a client after asking: it leaves the list and its secret stops working', async () => {
    await page.goto(`${server.url}/scim`);
    await row(page, 'Entra ID').getByRole('button', { name: 'Revoke Entra ID' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke “Entra ID”?' });
    await dialog.getByText(/People it already sent stay in Gatehouse/).waitFor();
    // Cancelling changes nothing.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await row(page, 'Entra ID').waitFor();

    await row(page, 'Entra ID').getByRole('button', { name: 'Revoke Entra ID' }).click();
    await dialog.getByLabel('Reason (optional)').fill('Entra tenant moved');
    await dialog.getByRole('button', { name: 'Revoke client' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByText('No SCIM clients yet.').waitFor();
    expect(await clients(page).count()).toBe(0);
    expect((await postUser(secret)).status).toBe(401);

    // In the history it is there, revoked.
    await page.getByLabel('Show revoked and expired clients').check();
    const revoked = row(page, 'Entra ID');
    await revoked.waitFor();
    expect(await revoked.locator('[data-col="status"]').innerText()).toMatch(/^Revoked/i);
    expect(await revoked.getByRole('button', { name: 'Revoke Entra ID' }).count()).toBe(0);
  });
});
