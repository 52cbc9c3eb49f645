import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  createOperatorInUi,
  firstSignIn,
  launchBrowser,
  screenshot,
  startConsoleServer,
  type ConsoleServer,
  type TestBrowser,
  lifecycleSettled,
} from '../../src/testing/browser.ts';
import { slapdSkipReason, startSlapd, type Slapd } from '../../src/testing/slapd.ts';

/**
 * Provisioning in Chromium against a real `gatehouse serve` and a real OpenLDAP slapd: the empty Change sets and
 * Policy pages say what they are for; an LDAP target's groups are discovered into the catalog and one is marked
 * privileged; the policy editor names a mistake at its line, then shows who would gain what, and applies it; the
 * change set that grants the privileged group waits — its requester cannot approve it, a second operator does and
 * it is applied to slapd; an HR joiner becomes a change set shown per person, with access withheld by an SoD rule
 * named with its reason; a person's page says why they have each group; an applied change set is undone from its
 * page and slapd is back as before.
 */
const ADMIN = { email: 'ada@example.com', password: 'a very long first passphrase' };
const SECOND = {
  email: 'sam@example.com',
  password: 'second approver passphrase',
  name: 'Sam Second',
};

const HEADER =
  'employee_id,first_name,last_name,preferred_name,personal_email,department,title,worker_type,hire_date,termination_date';
const STAFF = [
  ['E1', 'Alice', 'Able', '', '', 'Sales', 'Account Manager', 'employee', '2020-01-06', ''],
  ['E2', 'Bob', 'Brown', '', '', 'Engineering', 'Engineer', 'employee', '2020-02-03', ''],
  ['E3', 'Carl', 'Cole', '', '', 'IT', 'Administrator', 'employee', '2020-03-02', ''],
];
/** Sales and Administrator: the SoD rule withholds the conflicting groups. */
const JOINER = ['E4', 'Dana', 'Diaz', '', '', 'Sales', 'Administrator', 'employee', '2021-04-01', ''];

const POLICY = `targets:
  corp-ldap:
    account:
      namingAttribute: uid
      attributes:
        uid: person.username
        cn: person.displayName
        sn: person.lastName
        mail: person.workEmail
    deprovision: { action: disable, quarantineDays: 30 }
roles:
  - name: Staff
    accounts: [corp-ldap]
    grants: [{ target: corp-ldap, entitlement: all-staff }]
  - name: Sales
    grants: [{ target: corp-ldap, entitlement: sales }]
  - name: Admins
    grants: [{ target: corp-ldap, entitlement: admins }]
rules:
  - name: Everyone
    when: person.workerType == "employee"
    roles: [Staff]
  - name: Sales department
    when: person.department == "Sales"
    roles: [Sales]
  - name: IT administrators
    when: person.title == "Administrator"
    roles: [Admins]
sod:
  - name: Sell and administer
    reason: Whoever sells must not also administer the systems that record sales
    left: [{ role: Sales }]
    right: [{ target: corp-ldap, entitlement: admins }]
    action: block
`;
/** The same policy with a typo in an entitlement key. */
const TYPO = POLICY.replace('entitlement: admins }]\nrules', 'entitlement: admin }]\nrules');
const TYPO_LINE = TYPO.split('\n').findIndex((l) => l.includes('entitlement: admin }')) + 1;

const skip = slapdSkipReason();

let server: ConsoleServer;
let tb: TestBrowser;
let page: Page;
let slapd: Slapd;
let dir: string;

beforeAll(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-prov-files-'));
  slapd = await startSlapd();
  tb = await launchBrowser();
  server = await startConsoleServer({
    GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
  });
});
afterAll(async () => {
  await tb?.close();
  await server?.stop();
  await slapd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const heading = (p: Page, name: string | RegExp) => p.getByRole('heading', { level: 1, name });
const nav = (p: Page, name: string) => p.getByRole('navigation').getByRole('link', { name });
const field = (scope: Pick<Page, 'getByLabel'>, text: string) =>
  scope.getByLabel(new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( \\*)?$`));

function writeCsv(name: string, rows: string[][]): string {
  const path = join(dir, name);
  writeFileSync(path, [HEADER, ...rows.map((r) => r.join(','))].join('\n') + '\n', 'utf8');
  return path;
}

/** Upload an HR file in the console, apply it, and wait until its lifecycle events have taken effect. */
async function importHr(p: Page, rows: string[][], fileName: string): Promise<void> {
  await p.goto(`${server.url}/hr/imports`);
  await heading(p, 'HR imports').waitFor();
  await expect.poll(() => p.getByRole('combobox', { name: 'Source' }).inputValue()).toBe('hr');
  await p.getByLabel('HR file').setInputFiles(writeCsv(fileName, rows));
  await p.getByRole('button', { name: 'Preview', exact: true }).click();
  await heading(p, `HR import: ${fileName}`).waitFor();
  await p.getByRole('button', { name: 'Apply import' }).click();
  await expect.poll(() => p.getByTestId('import-applied').innerText()).toContain('created');
  // The events take effect in a background job (which plans provisioning); wait until it has run.
  await lifecycleSettled(server);
}

/** The page's status badge of a change set, once it reads `label` (the page follows along by itself). */
async function waitForStatus(p: Page, label: string): Promise<void> {
  await expect.poll(() => p.locator('[data-status]').first().textContent(), { timeout: 90_000 }).toBe(label);
}

/** slapd's people: uid → groups (by cn), read as the rootdn. */
async function ldapPeople(): Promise<Record<string, string[]>> {
  const c = slapd.client('root');
  try {
    const entries = await c.searchAll(slapd.usersDn, {
      scope: 'one',
      filter: '(objectClass=inetOrgPerson)',
      attributes: ['uid', 'memberOf'],
    });
    const out: Record<string, string[]> = {};
    for (const e of entries)
      out[e.attributes.uid![0]!] = (e.attributes.memberOf ?? [])
        .map((g) => /^cn=([^,]+)/i.exec(g)![1]!)
        .sort();
    return out;
  } finally {
    await c.close();
  }
}

describe.skipIf(skip)('provisioning in the console', { timeout: 240_000 }, () => {
  it('starts empty: no change sets, no policy, and says what they are for', async () => {
    page = await tb.newPage();
    await firstSignIn(page, server.url, ADMIN);
    await nav(page, 'Change sets').click();
    await heading(page, 'Change sets').waitFor();
    await page.getByText('No change sets yet.').waitFor();
    await page.getByText(/Gatehouse makes a change set whenever someone's access should change/).waitFor();
    await page.getByTestId('latency-empty').waitFor();
    await screenshot(page, 'change-sets-empty');

    await nav(page, 'Policy').click();
    await heading(page, 'Policy').waitFor();
    await page.getByText('No policy yet').waitFor();
    await expect
      .poll(() => page.getByTestId('policy-empty').innerText())
      .toContain('gives nobody an account');
    await screenshot(page, 'policy-empty');
  });

  it("discovers an LDAP target's groups and marks one privileged, with an owner and a cost", async () => {
    await nav(page, 'Targets').click();
    await heading(page, 'Targets').waitFor();
    await page.getByRole('button', { name: 'Add target' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Add target' });
    await dialog.getByLabel('Kind of system').selectOption({ label: 'LDAP directory' });
    const cfg = slapd.connectorConfig();
    await field(dialog, 'Name').fill('corp-ldap');
    await field(dialog, 'URL').fill(cfg.url);
    await field(dialog, 'Bind DN').fill(cfg.bindDn);
    await field(dialog, 'Bind password').fill(cfg.bindPassword);
    await field(dialog, 'Base DN').fill(cfg.baseDn);
    await field(dialog, 'Users DN').fill(cfg.usersDn);
    await field(dialog, 'Groups DN').fill(cfg.groupsDn);
    await dialog.getByRole('button', { name: 'Add target' }).click();
    await dialog.waitFor({ state: 'hidden' });

    await page.getByRole('table', { name: 'Targets' }).getByRole('link', { name: 'corp-ldap' }).click();
    await heading(page, 'corp-ldap').waitFor();
    await page.getByText('No entitlements yet.').waitFor();
    await screenshot(page, 'entitlements-empty');

    // The groups exist in the directory first.
    await slapd.apply(
      ['all-staff', 'sales', 'admins']
        .map((cn) => `dn: cn=${cn},${slapd.groupsDn}\nobjectClass: groupOfNames\ncn: ${cn}\nmember:\n`)
        .join('\n'),
      { add: true },
    );
    await page.getByRole('button', { name: 'Discover groups' }).click();
    const result = page.getByTestId('discovery-result');
    await expect.poll(() => result.innerText()).toContain('Found 3 groups on corp-ldap');
    expect(await result.innerText()).toContain('3 added, 0 updated, 0 no longer found');
    const table = page.getByRole('table', { name: 'Entitlements on corp-ldap' });
    for (const key of ['all-staff', 'sales', 'admins'])
      await table.locator(`tr[data-entitlement="${key}"]`).waitFor();

    await page.getByRole('button', { name: 'Edit admins' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit “admins”' });
    await edit.getByRole('checkbox', { name: 'Privileged' }).check();
    await field(edit, 'Owner').fill('IT security');
    await field(edit, 'Monthly cost').fill('12.5');
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'hidden' });
    const admins = table.locator('tr[data-entitlement="admins"]');
    // textContent: badges show their words in capitals.
    await expect.poll(() => admins.textContent()).toContain('Privileged');
    expect(await admins.textContent()).toContain('IT security');
    expect(await admins.textContent()).toContain('12.50');
    expect(await table.locator('tr[data-entitlement="sales"]').textContent()).not.toContain('Privileged');
    await screenshot(page, 'entitlements');
  });

  it('the policy editor names a mistake at its line, then shows the impact of a valid policy and applies it', async () => {
    // People first (no policy yet, so nothing is provisioned for them).
    await importHr(page, STAFF, 'staff.csv');
    expect((await server.sql('select 1 from change_sets')).rowCount).toBe(0);

    await nav(page, 'Policy').click();
    await heading(page, 'Policy').waitFor();
    const editor = page.getByLabel('Policy (YAML)');
    // Not even YAML: a key given twice is named at its line.
    await editor.fill('roles: []\nrules: []\nroles: []\n');
    await page.getByRole('button', { name: 'Check impact' }).click();
    const problems = page.getByTestId('policy-problems');
    await expect.poll(() => problems.innerText()).toContain('Line 3, column 1');
    expect(await problems.innerText()).toMatch(/unique/i);

    await editor.fill(TYPO);
    await page.getByRole('button', { name: 'Check impact' }).click();
    await expect.poll(() => problems.innerText()).toContain(`Line ${TYPO_LINE}`);
    expect(await problems.innerText()).toContain('roles[2].grants[0].entitlement');
    expect(await problems.innerText()).toContain(
      'target "corp-ldap" has no entitlement "admin" in its catalog',
    );
    // The problem takes the cursor to its line.
    await problems.getByRole('button', { name: `Go to line ${TYPO_LINE}` }).click();
    // The page's own textarea (no DOM types in this project: a structural type is enough).
    const selected = await editor.evaluate((ta) => {
      const t = ta as unknown as { value: string; selectionStart: number; selectionEnd: number };
      return t.value.slice(t.selectionStart, t.selectionEnd);
    });
    expect(selected).toContain('admin');
    expect(await page.getByRole('button', { name: 'Apply…' }).isDisabled()).toBe(true);
    await screenshot(page, 'policy-problem');

    await editor.fill(POLICY);
    await page.getByRole('button', { name: 'Check impact' }).click();
    const impact = page.getByTestId('policy-impact');
    await expect.poll(() => impact.innerText()).toContain('of 3 people affected');
    const perItem = impact.getByRole('table', { name: 'Changes per access' });
    const count = async (item: string) =>
      (await perItem.getByRole('row').filter({ hasText: item }).first().innerText()).replace(/\s+/g, ' ');
    expect(await count('Account')).toContain('+3');
    expect(await count('all-staff')).toContain('+3');
    expect(await count('sales')).toContain('+1');
    expect(await count('admins')).toContain('+1');
    const gains = impact.getByRole('list', { name: 'Who gains' });
    expect(await gains.innerText()).toContain('Alice Able gets sales on corp-ldap');
    expect(await gains.innerText()).toContain('rule "Sales department" → Sales');
    await screenshot(page, 'policy-impact');

    await page.getByRole('button', { name: 'Apply…' }).click();
    const confirm = page.getByRole('dialog', { name: 'Apply this policy?' });
    await expect.poll(() => confirm.getByTestId('impact-summary').innerText()).toContain('3');
    expect(await confirm.innerText()).toContain('privileged access');
    await field(confirm, 'Comment (optional)').fill('First policy: staff, sales and IT administrators');
    await screenshot(page, 'policy-apply-confirm');
    await confirm.getByRole('button', { name: 'Apply policy' }).click();
    await confirm.waitFor({ state: 'hidden' });
    const applied = page.getByTestId('policy-applied');
    await expect.poll(() => applied.innerText()).toContain('Version 1 is in force');
    expect(await applied.innerText()).toContain('awaiting approval');
    // The policy in words: rules, and roles with the privileged group marked.
    await page.getByRole('table', { name: 'Rules' }).getByText('Sales department').waitFor();
    const roles = page.getByRole('table', { name: 'Roles' });
    expect(await roles.getByRole('row').filter({ hasText: 'Admins' }).textContent()).toContain('Privileged');
    await page
      .getByRole('table', { name: 'Separation-of-duties rules' })
      .getByText('Sell and administer')
      .waitFor();
    await screenshot(page, 'policy-applied');
    await applied.getByRole('link', { name: /^Change set #\d+$/ }).click();
  });

  it('the change set with a privileged grant waits: its requester cannot approve it, a second operator does', async () => {
    await heading(page, /^Change set #\d+$/).waitFor();
    await waitForStatus(page, 'Awaiting approval');
    const id = new URL(page.url()).pathname.split('/').pop()!;
    const reasons = page.getByTestId('approval-reasons');
    expect(await reasons.innerText()).toContain('Privileged access');
    expect(await reasons.innerText()).toContain(
      'Carl Cole would get the privileged entitlement admins on corp-ldap',
    );
    const carl = page.getByRole('region', { name: 'Carl Cole' });
    expect(await carl.innerText()).toContain('create account on corp-ldap');
    expect(await carl.innerText()).toContain('add to admins');
    expect(await page.getByRole('region', { name: 'Alice Able' }).innerText()).toContain('add to sales');
    // The navigation counts what waits.
    await expect.poll(() => page.getByTestId('awaiting-badge').innerText()).toBe('1');
    // The requester is told, and the server refuses it too.
    expect(await page.getByRole('button', { name: 'Approve' }).isDisabled()).toBe(true);
    await page.getByText('You asked for this change set, so someone else must approve it.').waitFor();
    const { csrfToken } = (await (await page.request.get(`${server.url}/api/v1/session`)).json()) as {
      csrfToken: string;
    };
    const refused = await page.request.post(`${server.url}/api/v1/change-sets/${id}/approve`, {
      headers: { 'x-csrf-token': csrfToken },
      data: { note: 'my own' },
    });
    expect(refused.status()).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe('changeset_self_approval');
    await screenshot(page, 'change-set-awaiting');

    await createOperatorInUi(page, server.url, SECOND, 'administrator');
    const second = await tb.newPage();
    await firstSignIn(second, server.url, SECOND);
    await expect.poll(() => nav(second, 'Change sets').innerText()).toContain('1');
    await nav(second, 'Change sets').click();
    await heading(second, 'Change sets').waitFor();
    await second.getByRole('button', { name: 'Show the ones awaiting approval' }).click();
    await second.waitForURL(/status=awaiting_approval/);
    const list = second.getByRole('table', { name: 'Change sets' });
    await list.getByRole('link', { name: /^Policy version 1/ }).click();
    await heading(second, /^Change set #\d+$/).waitFor();
    await second.getByRole('button', { name: 'Approve' }).click();
    const approve = second.getByRole('dialog', { name: /^Approve change set #\d+\?$/ });
    expect(await approve.innerText()).toContain('Carl Cole would get the privileged entitlement admins');
    await field(approve, 'Note (optional)').fill('Carl runs the directory');
    await approve.getByRole('button', { name: 'Approve and apply' }).click();
    await approve.waitFor({ state: 'hidden' });
    await waitForStatus(second, 'Applied');
    await second.getByText('All 8 operations are done').waitFor();
    expect(await second.getByText('“Carl runs the directory”').count()).toBe(1);
    await screenshot(second, 'change-set-applied');
    await second.context().close();

    expect(await ldapPeople()).toEqual({
      'alice.able': ['all-staff', 'sales'],
      'bob.brown': ['all-staff'],
      'carl.cole': ['admins', 'all-staff'],
    });
  });

  it('an HR joiner becomes a change set, shown per person, with access withheld by an SoD rule', async () => {
    await importHr(page, [JOINER], 'joiner.csv');
    await page.goto(`${server.url}/change-sets`);
    await heading(page, 'Change sets').waitFor();
    const list = page.getByRole('table', { name: 'Change sets' });
    const joiner = list.getByRole('row').filter({ hasText: 'HR: 1 joiner' });
    await joiner.waitFor();
    await joiner.getByRole('link', { name: 'HR: 1 joiner' }).click();
    await heading(page, /^Change set #\d+$/).waitFor();
    await waitForStatus(page, 'Applied');
    const dana = page.getByRole('region', { name: 'Dana Diaz' });
    const ops = await dana.innerText();
    expect(ops).toContain('corp-ldap');
    expect(ops).toContain('create account on corp-ldap');
    expect(ops).toContain('add to all-staff');
    expect(ops).not.toContain('add to admins');
    const blocked = page.getByTestId('blocked-grants');
    expect(await blocked.innerText()).toContain('Sell and administer');
    expect(await blocked.innerText()).toContain(
      'Whoever sells must not also administer the systems that record sales',
    );
    expect(await blocked.innerText()).toContain('admins (corp-ldap)');
    await screenshot(page, 'change-set-joiner');
    expect((await ldapPeople())['dana.diaz']).toEqual(['all-staff']);

    // HR-triggered changes feed the timings on the list page.
    await nav(page, 'Change sets').click();
    const latency = page.getByRole('table', { name: 'Time from HR event to target' });
    await latency.locator('tr[data-latency-target="corp-ldap"]').waitFor();
    await expect.poll(() => list.getByRole('row').count()).toBe(3); // the header, the joiner and the policy
    await screenshot(page, 'change-sets');
  });

  it("a person's access says what they have and why; recomputing finds nothing to change", async () => {
    await page.goto(`${server.url}/people?q=E1`);
    await page.getByRole('table', { name: 'People' }).getByRole('link', { name: 'Alice Able' }).click();
    await heading(page, 'Alice Able').waitFor();
    const access = page.getByRole('region', { name: 'Access' });
    const ldap = access.getByRole('region', { name: 'corp-ldap' });
    await expect.poll(() => ldap.innerText()).toContain('alice.able');
    expect(await ldap.textContent()).toContain('Active');
    const sales = ldap.locator('tr[data-entitlement="sales"]');
    expect((await sales.innerText()).replace(/\s+/g, ' ')).toContain(
      'Yes Yes rule “Sales department” → role Sales',
    );
    expect(await access.getByRole('list', { name: 'Roles' }).innerText()).toContain(
      'Staff — rule “Everyone” → role Staff',
    );
    await access
      .getByRole('table', { name: 'Change sets for this person' })
      .getByText('Policy version 1')
      .waitFor();
    await access.getByRole('button', { name: 'Recompute now' }).click();
    await expect
      .poll(() => access.getByTestId('recompute-result').innerText())
      .toContain("Nothing to change: Alice Able's accounts already match the policy.");
    await screenshot(page, 'person-access');

    await page.goto(`${server.url}/people?q=E4`);
    await page.getByRole('table', { name: 'People' }).getByRole('link', { name: 'Dana Diaz' }).click();
    await heading(page, 'Dana Diaz').waitFor();
    const sod = page.getByRole('region', { name: 'Access' }).getByTestId('access-sod');
    await expect.poll(() => sod.innerText()).toContain('Sell and administer');
    expect(await sod.innerText()).toContain('the conflicting access is withheld');
    await screenshot(page, 'person-access-sod');
  });

  it('undoes the joiner change set from its page: slapd is back as before', async () => {
    await page.goto(`${server.url}/change-sets`);
    await page
      .getByRole('table', { name: 'Change sets' })
      .getByRole('link', { name: 'HR: 1 joiner' })
      .click();
    await heading(page, /^Change set #\d+$/).waitFor();
    const undone = await page.getByRole('heading', { level: 1 }).innerText();
    await page.getByRole('button', { name: 'Undo' }).click();
    const dialog = page.getByRole('dialog', { name: /^Undo change set #\d+\?$/ });
    expect(await dialog.innerText()).toContain('as a new change set');
    await screenshot(page, 'change-set-undo-confirm');
    const before = page.url();
    await dialog.getByRole('button', { name: 'Undo changes' }).click();
    await page.waitForURL((u) => u.toString() !== before);
    await heading(page, /^Change set #\d+$/).waitFor();
    const undoHeading = await page.getByRole('heading', { level: 1 }).innerText();
    await expect
      .poll(() => page.getByTestId('change-set-title').innerText())
      .toMatch(/^Undo #\d+: HR: 1 joiner$/);
    await waitForStatus(page, 'Applied');
    await page.getByRole('link', { name: undone, exact: true }).waitFor();
    await screenshot(page, 'change-set-undone');
    expect(await ldapPeople()).not.toHaveProperty('dana.diaz');

    await page.getByRole('link', { name: undone, exact: true }).click();
    await heading(page, undone).waitFor();
    // The original links to the change set that undid it, by number.
    await page.getByRole('link', { name: undoHeading, exact: true }).waitFor();
    expect(await page.getByRole('button', { name: 'Undo' }).count()).toBe(0);
  });
});
