import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
 * People from HR in Chromium against a real `gatehouse serve`: the empty People page, an HR file uploaded for a
 * preview (events, a row error with its row number, the errors CSV), applied; search (accents either way), a
 * status filter in the URL, a person's page with their history; then a file that would terminate too many people
 * is held by the brake and applied only after an explicit approval.
 */
const ADMIN = { email: 'ada@example.com', password: 'a very long first passphrase' };

const AUDITOR = {
  email: 'audrey@example.com',
  password: 'auditor passphrase that is long',
  name: 'Audrey Auditor',
};

const HEADER =
  'employee_id,first_name,last_name,preferred_name,personal_email,department,title,worker_type,hire_date,termination_date';
const COLUMNS = HEADER.split(',').length;
const NEXT_YEAR = new Date().getUTCFullYear() + 1;
/** Seven people who have started, one who starts next year (pre-hire). */
const PEOPLE = [
  ['E1001', 'Zoë', 'Ångström', '', 'zoe@home.example', 'Engineering', 'Engineer', 'employee', '2021-03-01'],
  ['E1002', 'Ben', 'Baker', '', '', 'Sales', 'Account Manager', 'employee', '2020-05-02'],
  ['E1003', 'Carla', 'Cruz', '', '', 'Engineering', 'Lead', 'contractor', '2019-09-01'],
  ['E1004', 'Dan', 'Diaz', '', '', 'Finance', 'Analyst', 'employee', '2022-01-10'],
  ['E1005', 'Erin', 'Evans', '', '', 'Sales', 'Sales Rep', 'intern', '2023-06-15'],
  ['E1006', 'Femi', 'Fashola', '', '', 'Engineering', 'Engineer', 'employee', '2018-11-20'],
  ['E1007', 'Gita', 'Gupta', '', 'gita@home.example', 'Finance', 'Controller', 'employee', '2017-04-03'],
  ['E1008', 'Hugo', 'Hall', '', '', 'Sales', 'Sales Rep', 'employee', `${NEXT_YEAR}-01-15`],
];
const BAD_DATE_ROW = ['E1009', 'Ivy', 'Ingram', '', '', 'Sales', 'Sales Rep', 'employee', '15/03/2021'];
/** The header is row 1, so the ninth data line is row 10. */
const BAD_DATE_ROW_NUMBER = '10';
const LEAVING = ['E1002', 'E1003', 'E1004', 'E1005'];
/** Gita again under a second employee ID, with the same personal email: a likely duplicate. */
const GITA_AGAIN = [
  'E2007',
  'Gita',
  'Gupta',
  '',
  'gita@home.example',
  'Finance',
  'Controller',
  'employee',
  '2024-02-01',
];

let server: ConsoleServer;
let tb: TestBrowser;
let page: Page;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-hr-files-'));
  tb = await launchBrowser();
  server = await startConsoleServer({
    GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
  });
});
afterAll(async () => {
  await tb?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const heading = (p: Page, name: string | RegExp) => p.getByRole('heading', { level: 1, name });

/** Rows without a termination date get an empty last cell. */
function writeCsv(name: string, rows: string[][]): string {
  const path = join(dir, name);
  const lines = rows.map((r) => (r.length < COLUMNS ? [...r, ''] : r).join(','));
  writeFileSync(path, [HEADER, ...lines].join('\n') + '\n', 'utf8');
  return path;
}

/** Upload a file on the HR imports page and wait for its preview. */
async function uploadForPreview(p: Page, file: string, fileName: string): Promise<void> {
  await p.goto(`${server.url}/hr/imports`);
  await heading(p, 'HR imports').waitFor();
  await expect.poll(() => p.getByRole('combobox', { name: 'Source' }).inputValue()).toBe('hr');
  await p.getByLabel('HR file').setInputFiles(file);
  await p.getByRole('button', { name: 'Preview', exact: true }).click();
  await p.waitForURL(/\/hr\/imports\/[0-9a-f-]{36}$/);
  await heading(p, `HR import: ${fileName}`).waitFor();
}

describe('people from HR in the console', () => {
  it('People starts empty and points to the HR import', async () => {
    page = await tb.newPage();
    await firstSignIn(page, server.url, ADMIN);
    await page.getByRole('navigation').getByRole('link', { name: 'People' }).click();
    await heading(page, 'People').waitFor();
    await page.getByText('No people yet — import an HR file').waitFor();
    await screenshot(page, 'people-empty');
    await page.getByRole('link', { name: 'Import an HR file' }).click();
    await heading(page, 'HR imports').waitFor();
    await page.getByText('No HR imports yet.').waitFor();
  });

  it('an HR file is previewed with its events and row errors, then applied', async () => {
    const file = writeCsv('joiners.csv', [...PEOPLE, BAD_DATE_ROW]);
    await uploadForPreview(page, file, 'joiners.csv');

    const events = page.getByRole('table', { name: 'Events in this import' });
    await events.getByRole('cell', { name: 'E1001', exact: true }).waitFor();
    for (const [id] of PEOPLE)
      expect(await events.getByRole('cell', { name: id, exact: true }).count()).toBe(1);
    expect(await events.getByText('Zoë').count()).toBeGreaterThan(0);
    expect(await page.getByText('8 joiners', { exact: true }).isVisible()).toBe(true);

    const errors = page.getByRole('table', { name: 'Rows with errors' });
    const badRow = errors.getByRole('row').filter({ hasText: '15/03/2021' });
    await badRow.waitFor();
    expect(await badRow.getByRole('cell').first().innerText()).toBe(BAD_DATE_ROW_NUMBER);
    expect(await badRow.innerText()).toContain('hire_date');
    expect(await badRow.innerText()).toContain('is not a date');

    const download = page.getByRole('link', { name: 'Download errors as CSV' });
    const href = await download.getAttribute('href');
    expect(href).toMatch(/\/api\/v1\/hr\/imports\/[0-9a-f-]{36}\/errors\.csv$/);
    const csv = await page.request.get(`${server.url}${href}`);
    expect(csv.status()).toBe(200);
    const csvText = await csv.text();
    expect(csvText).toContain('15/03/2021');
    expect(csvText).toContain(`"${BAD_DATE_ROW_NUMBER}"`);
    await screenshot(page, 'hr-import-preview');

    await page.getByRole('button', { name: 'Apply import' }).click();
    const applied = page.getByTestId('import-applied');
    await expect.poll(() => applied.innerText()).toContain('8 people created');
    await screenshot(page, 'hr-import-applied');
    await applied.getByRole('link', { name: 'Go to People' }).click();
    await heading(page, 'People').waitFor();
    const table = page.getByRole('table', { name: 'People' });
    await table.getByText('Zoë Ångström').waitFor();
    for (const [, first, last] of PEOPLE)
      expect(await table.getByText(`${first} ${last}`, { exact: true }).count()).toBe(1);
    expect(await table.getByText('Ivy Ingram').count()).toBe(0);
    await expect.poll(() => page.getByTestId('people-total').innerText()).toContain('of 8 people');
    await screenshot(page, 'people');
  });

  it('search finds Zoë with or without the accents, and the status filter lives in the URL', async () => {
    await page.goto(`${server.url}/people`);
    const table = page.getByRole('table', { name: 'People' });
    await table.getByText('Ben Baker').waitFor();
    await page.getByLabel('Search people').fill('zoe');
    await page.waitForURL(/[?&]q=zoe/);
    await expect.poll(() => table.getByText('Ben Baker').count()).toBe(0);
    expect(await table.getByText('Zoë Ångström').count()).toBe(1);
    await page.getByLabel('Search people').fill('Ångström');
    await page.waitForURL((u) => u.searchParams.get('q') === 'Ångström');
    await table.getByText('Zoë Ångström').waitFor();
    expect(await table.getByText('Ben Baker').count()).toBe(0);

    await page.getByRole('button', { name: 'Clear filters' }).first().click();
    await table.getByText('Ben Baker').waitFor();
    await page.getByRole('group', { name: 'Status' }).getByLabel('Pre-hire').check();
    await page.waitForURL(/[?&]status=prehire/);
    await expect.poll(() => table.getByText('Ben Baker').count()).toBe(0);
    expect(await table.getByText('Hugo Hall').count()).toBe(1);
    await screenshot(page, 'people-filtered');
    // The URL is the view.
    await page.goto(page.url());
    await page.getByRole('table', { name: 'People' }).getByText('Hugo Hall').waitFor();
    expect(await page.getByRole('group', { name: 'Status' }).getByLabel('Pre-hire').isChecked()).toBe(true);
    expect(await page.getByRole('table', { name: 'People' }).getByText('Zoë Ångström').count()).toBe(0);
  });

  it("a person's page shows their names, work data and history", async () => {
    await page.goto(`${server.url}/people?q=E1001`);
    const row = page
      .getByRole('table', { name: 'People' })
      .getByRole('row')
      .filter({ hasText: 'Zoë Ångström' });
    await row.waitFor();
    // A click anywhere on the row opens the person.
    await row.getByText('Engineering').click();
    await page.waitForURL(/\/people\/[0-9a-f-]{36}$/);
    await heading(page, 'Zoë Ångström').waitFor();
    const names = page.getByRole('region', { name: 'Names' });
    await expect.poll(() => names.innerText()).toContain('zoe.angstrom');
    expect(await page.getByRole('region', { name: 'Work' }).innerText()).toContain('Engineering');
    const history = page.getByRole('region', { name: 'History' });
    await expect.poll(() => history.innerText()).toContain('person.created');
    await screenshot(page, 'person');

    await page.goto(`${server.url}/people/00000000-0000-4000-8000-000000000000`);
    await heading(page, 'This person does not exist').waitFor();
  });

  it('a file that would terminate many people is held, and applied only after approval', async () => {
    const leaving = PEOPLE.filter(([id]) => LEAVING.includes(id!)).map((r) => [...r, '2024-12-31']);
    const file = writeCsv('leavers.csv', leaving);
    await uploadForPreview(page, file, 'leavers.csv');
    const held = page.getByTestId('held-warning');
    await expect.poll(() => held.innerText()).toContain('truncated');
    expect(await page.getByText('4 leavers', { exact: true }).isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Apply import' }).count()).toBe(0);
    await screenshot(page, 'hr-import-held');

    await page.getByRole('button', { name: 'Approve and apply' }).click();
    const dialog = page.getByRole('dialog', { name: 'Approve this held import?' });
    await dialog.waitFor();
    expect(await dialog.innerText()).toContain('brake');
    await screenshot(page, 'hr-import-approve');
    await dialog.getByRole('button', { name: 'Approve and apply' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => page.getByTestId('import-applied').innerText()).toContain('4 people updated');

    await page.goto(`${server.url}/people?status=terminated`);
    const table = page.getByRole('table', { name: 'People' });
    await table.getByText('Ben Baker').waitFor();
    await expect.poll(() => page.getByTestId('people-total').innerText()).toContain('of 4 people');

    await page.goto(`${server.url}/hr/imports`);
    const recent = page.getByRole('table', { name: 'Recent imports' });
    await recent.getByText('leavers.csv').waitFor();
    expect(await recent.getByText('Applied', { exact: true }).count()).toBe(2);
    await screenshot(page, 'hr-imports');
  });

  it('possible duplicates are shown side by side and merged', async () => {
    const file = writeCsv('gita-again.csv', [GITA_AGAIN]);
    await uploadForPreview(page, file, 'gita-again.csv');
    await page.getByRole('button', { name: 'Apply import' }).click();
    const applied = page.getByTestId('import-applied');
    await expect.poll(() => applied.innerText()).toContain('1 possible duplicate');
    await applied.getByRole('link', { name: 'Review possible duplicates' }).click();
    await heading(page, 'Possible duplicates').waitFor();
    const pair = page.getByRole('region', { name: 'Gita Gupta and Gita Gupta' });
    await expect.poll(() => pair.innerText()).toContain('same personal email');
    expect(await pair.innerText()).toContain('E1007');
    expect(await pair.innerText()).toContain('E2007');
    await screenshot(page, 'duplicates');
    await pair.getByRole('button', { name: 'Merge (keep left)' }).click();
    const dialog = page.getByRole('dialog', { name: 'Merge Gita Gupta into Gita Gupta?' });
    await dialog.getByRole('button', { name: 'Merge', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByText('No possible duplicates to review').waitFor();

    // The kept record (E1007, on the left as the older one) lists the merged one.
    await page.goto(`${server.url}/people?q=gupta`);
    const table = page.getByRole('table', { name: 'People' });
    await expect.poll(() => table.getByRole('row').count()).toBe(2);
    await table.getByRole('link', { name: 'Gita Gupta' }).click();
    await heading(page, 'Gita Gupta').waitFor();
    await expect.poll(() => page.getByText('Merged records').isVisible()).toBe(true);
    expect(await page.getByRole('link', { name: 'employee ID E2007' }).count()).toBe(1);
  });

  it('an auditor sees people without personal data and cannot import', async () => {
    await createOperatorInUi(page, server.url, AUDITOR, 'auditor');
    const auditor = await tb.newPage();
    await firstSignIn(auditor, server.url, AUDITOR);
    await auditor.getByRole('navigation').getByRole('link', { name: 'People' }).click();
    await heading(auditor, 'People').waitFor();
    expect(await auditor.getByRole('link', { name: 'Import HR file' }).count()).toBe(0);
    await auditor.getByLabel('Search people').fill('zoe');
    await auditor.getByRole('table', { name: 'People' }).getByRole('link', { name: 'Zoë Ångström' }).click();
    await heading(auditor, 'Zoë Ångström').waitFor();
    const personal = auditor.getByRole('region', { name: 'Personal data' });
    await expect
      .poll(() => personal.innerText())
      .toContain("Hidden — you don't have permission to see personal data");
    expect(await auditor.content()).not.toContain('zoe@home.example');
    await screenshot(auditor, 'person-auditor');

    await auditor.getByRole('navigation').getByRole('link', { name: 'HR imports' }).click();
    await heading(auditor, 'HR imports').waitFor();
    await auditor.getByRole('table', { name: 'Recent imports' }).getByText('joiners.csv').waitFor();
    expect(await auditor.getByRole('button', { name: 'Preview', exact: true }).count()).toBe(0);
    expect(await auditor.getByLabel('HR file').count()).toBe(0);
    // Reading an import is allowed; its personal values are not shown to someone without people:personal.
    await auditor.getByRole('link', { name: /^Open import of joiners\.csv/ }).click();
    await heading(auditor, 'HR import: joiners.csv').waitFor();
    await auditor.getByRole('table', { name: 'Events in this import' }).getByText('Zoë').waitFor();
    expect(await auditor.getByText('zoe@home.example').count()).toBe(0);
    expect(await auditor.getByRole('button', { name: 'Apply import' }).count()).toBe(0);
    await auditor.context().close();
  });
});
