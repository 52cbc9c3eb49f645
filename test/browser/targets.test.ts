import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openDatabase, type Database } from '../../src/db/index.ts';
import { openTargetForTest } from '../../src/targets/test-support.ts';
import {
  launchBrowser,
  screenshot,
  startConsoleServer,
  type ConsoleServer,
  type TestBrowser,
  firstSignIn,
} from '../../src/testing/browser.ts';

/**
 * Targets and tasks in Chromium against a real `gatehouse serve`: the empty Targets page explains what a target
 * is; a SQL target is added through the form built from the connector's schema (its connection URL, a credential,
 * typed into a password field and never shown again), a bad setting is named at its field; "Test connection"
 * reaches the real database, and an LDAP target on a closed port fails with a sentence a non-engineer can act on.
 * A manual target's task appears on the Tasks page and is completed with a required note.
 */
const ADMIN = { email: 'ada@example.com', password: 'a very long first passphrase' };
const LDAP_PASSWORD = 'ldap bind password 123';

let server: ConsoleServer;
let tb: TestBrowser;
let page: Page;
let database: Database;
let dbUrl: string;

beforeAll(async () => {
  tb = await launchBrowser();
  server = await startConsoleServer({
    GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
  });
  // The SQL target is the server's own embedded database, with an application table in it.
  const lock = JSON.parse(readFileSync(join(server.dataDir, 'gatehouse.lock'), 'utf8')) as { pgPort: number };
  const password = readFileSync(join(server.dataDir, 'secrets', 'pg-password'), 'utf8').trim();
  dbUrl = `postgres://gatehouse:${encodeURIComponent(password)}@127.0.0.1:${lock.pgPort}/gatehouse`;
  await server.sql('create table app_users (id serial primary key, login text unique not null)');
  database = openDatabase(dbUrl, { max: 2 });
});
afterAll(async () => {
  await database?.close();
  await tb?.close();
  await server?.stop();
});

const heading = (p: Page, name: string | RegExp) => p.getByRole('heading', { level: 1, name });

/** The control labelled exactly `text` (a required field's label ends in " *"). */
const field = (scope: Pick<Page, 'getByLabel'>, text: string) =>
  scope.getByLabel(new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( \\*)?$`));

async function openAddDialog(p: Page, kind: string, name: string) {
  await p.getByRole('button', { name: 'Add target' }).first().click();
  const dialog = p.getByRole('dialog', { name: 'Add target' });
  await dialog.getByLabel('Kind of system').selectOption({ label: kind });
  await field(dialog, 'Name').fill(name);
  return dialog;
}

function row(p: Page, name: string) {
  return p.getByRole('table', { name: 'Targets' }).locator(`tr[data-target="${name}"]`);
}

describe('targets in the console', () => {
  it('starts empty and says what a target is', async () => {
    page = await tb.newPage();
    await firstSignIn(page, server.url, ADMIN);
    await page.getByRole('navigation').getByRole('link', { name: 'Targets' }).click();
    await heading(page, 'Targets').waitFor();
    await page.getByText('No targets yet.').waitFor();
    await page.getByText(/A target is a system where people get accounts/).waitFor();
    await screenshot(page, 'targets-empty');
  });

  it('adds a SQL target from its schema: the credential is a password field, a bad setting is named', async () => {
    const dialog = await openAddDialog(page, 'SQL table (PostgreSQL)', 'app-db');
    const url = field(dialog, 'URL');
    expect(await url.getAttribute('type'), 'the connection URL is a credential').toBe('password');
    await url.fill('mysql://app.example.test/app');
    const accounts = dialog.getByRole('group', { name: 'Accounts' });
    await field(accounts, 'Table').fill('app_users');
    await accounts
      .getByRole('group', { name: 'ID', exact: true })
      .getByLabel(/^Column/)
      .fill('id');
    await accounts
      .getByRole('group', { name: 'Name', exact: true })
      .getByLabel(/^Column/)
      .fill('login');
    await accounts.getByRole('group', { name: 'Name', exact: true }).getByLabel('Attribute').fill('login');
    await dialog.getByRole('button', { name: 'Add target' }).click();
    await dialog.getByRole('alert').getByText('Some settings need attention:').waitFor();
    await dialog.getByText('must be a postgres:// or postgresql:// connection URL').first().waitFor();
    await expect.poll(() => url.getAttribute('aria-invalid')).toBe('true');
    await screenshot(page, 'targets-add-invalid');

    await url.fill(dbUrl);
    await dialog.getByRole('button', { name: 'Add target' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await row(page, 'app-db').getByText('Never tested').waitFor();
    await expect.poll(() => row(page, 'app-db').innerText()).toContain('SQL table (PostgreSQL)');
    expect(await page.content()).not.toContain(dbUrl);
  });

  it('tests the connection: the real database answers', async () => {
    await page.getByRole('button', { name: 'Test connection to app-db' }).click();
    const ok = page.getByRole('status').filter({ hasText: 'The connection to “app-db” works' });
    await ok.waitFor();
    await ok.getByText('accounts: app_users').waitFor();
    await row(page, 'app-db').getByText('Connected').waitFor();
  });

  it('changes settings without ever showing the stored credential', async () => {
    await page.getByRole('button', { name: 'Settings of app-db' }).click();
    const dialog = page.getByRole('dialog', { name: 'Settings of “app-db”' });
    await dialog.getByText('Stored encrypted; kept unless you replace it.').waitFor();
    expect(await dialog.getByRole('button', { name: 'Replace URL' }).isVisible()).toBe(true);
    expect(await field(dialog, 'Table').inputValue()).toBe('app_users');
    await dialog.getByRole('checkbox', { name: 'Enabled' }).uncheck();
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await row(page, 'app-db').getByText('Disabled').waitFor();
    await page.getByRole('button', { name: 'Test connection to app-db' }).click();
    await page.getByRole('status').filter({ hasText: 'The connection to “app-db” works' }).waitFor();
    expect(await page.content()).not.toContain(dbUrl);
  });

  it('a target that cannot be reached fails with a sentence that says what to check', async () => {
    const dialog = await openAddDialog(page, 'LDAP directory', 'corp-ldap');
    await field(dialog, 'URL').fill('ldap://127.0.0.1:1');
    await field(dialog, 'Bind DN').fill('cn=admin,dc=example,dc=test');
    const secret = field(dialog, 'Bind password');
    expect(await secret.getAttribute('type')).toBe('password');
    await secret.fill(LDAP_PASSWORD);
    await field(dialog, 'Base DN').fill('dc=example,dc=test');
    await field(dialog, 'Users DN').fill('ou=people,dc=example,dc=test');
    await field(dialog, 'Groups DN').fill('ou=groups,dc=example,dc=test');
    await dialog.getByRole('button', { name: 'Add target' }).click();
    await dialog.waitFor({ state: 'hidden' });

    await page.getByRole('button', { name: 'Test connection to corp-ldap' }).click();
    const failed = page.getByRole('alert').filter({ hasText: 'The connection to “corp-ldap” failed' });
    await failed.waitFor();
    await failed.getByText(/Gatehouse could not reach “corp-ldap”\. Check the address and port/).waitFor();
    await failed.getByText('unreachable', { exact: true }).waitFor();
    await row(page, 'corp-ldap').getByText('Failed').waitFor();
    expect(await page.content()).not.toContain(LDAP_PASSWORD);
    await screenshot(page, 'targets-test-failed');
  });

  it('removes a target after asking', async () => {
    await page.getByRole('button', { name: 'Remove corp-ldap' }).click();
    const dialog = page.getByRole('dialog', { name: 'Remove “corp-ldap”?' });
    await dialog.getByRole('button', { name: 'Remove target' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => row(page, 'corp-ldap').count()).toBe(0);
  });
});

describe('tasks in the console', () => {
  it('starts with no open tasks and says where they come from', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Tasks' }).click();
    await heading(page, 'Tasks').waitFor();
    await page.getByText('No open tasks.').waitFor();
    await page.getByText(/in an application it cannot reach \(a manual target\)/).waitFor();
  });

  it('a manual target turns a change into a task; it is completed with a required note', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Targets' }).click();
    const dialog = await openAddDialog(page, 'Manual (tasks for a person)', 'payroll');
    await field(dialog, 'Application').fill('Payroll');
    await dialog.getByRole('button', { name: 'Add target' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await row(page, 'payroll').waitFor();

    // What provisioning will do: open the target's connector and make a change; here it becomes a task.
    const c = await openTargetForTest(database, 'payroll');
    await c.create('account', { login: 'grace', displayName: 'Grace Hopper' });
    await c.close();

    await page.getByRole('navigation').getByRole('link', { name: 'Tasks' }).click();
    const task = page.getByRole('listitem').filter({ hasText: 'Create the account "grace" in Payroll' });
    await task.waitFor();
    await task
      .getByText('Create the account "grace" with: login "grace"; displayName "Grace Hopper".')
      .waitFor();
    await screenshot(page, 'tasks-open');
    await task.getByRole('button', { name: /^Mark as done/ }).click();
    const done = page.getByRole('dialog', { name: 'Mark the task as done' });
    await done.getByRole('button', { name: 'Mark as done' }).click();
    await done.getByText('Write what you did, so that others can follow it later').waitFor();
    await field(done, 'Note').fill('Created in Payroll; password handed over in person');
    await done.getByRole('button', { name: 'Mark as done' }).click();
    await done.waitFor({ state: 'hidden' });
    await page.getByText('No open tasks.').waitFor();

    await page.getByLabel('Status').selectOption('done');
    await page.waitForURL(/status=done/);
    const finished = page.getByRole('listitem').filter({ hasText: 'Create the account "grace" in Payroll' });
    await finished.getByText(/“Created in Payroll; password handed over in person”/).waitFor();
    const ledger = await database.pool.query(`select name from manual_objects`);
    expect(ledger.rows).toEqual([{ name: 'grace' }]);
  });
});
