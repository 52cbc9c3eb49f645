import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import {
  createOperatorInUi,
  firstSignIn,
  launchBrowser,
  screenshot,
  sessionApi,
  startConsoleServer,
  type ConsoleServer,
  type SessionApi,
  type TestBrowser,
  lifecycleSettled,
} from '../../src/testing/browser.ts';
import { slapdSkipReason, startSlapd, type Slapd } from '../../src/testing/slapd.ts';

/**
 * Reconciliation in Chromium against a real `gatehouse serve` and a real OpenLDAP slapd: before anything is
 * connected both pages say what reconciliation is and where to start; an LDAP target with a policy and two HR people
 * (set up through the API) gets an account made directly in slapd (no owner) and an attribute changed there (differs
 * from the policy); "Reconcile now" runs in the background and the page follows it to its counts and run history;
 * the Findings page lists both with their words and colours; fixing the drift plans a change set that waits for
 * someone else; accepting the orphan's risk names a too-short justification at its field, then shows it as
 * accepted under that status; the CSV link carries the filters; an auditor sees the findings but cannot fix, accept,
 * link, reconcile or schedule. Then two more accounts made in slapd: one named like an HR person is linked to them
 * through its suggestion, one is linked by hand through the person search, and "Reconcile now" in the notice closes
 * both findings; a schedule too frequent or in an unknown zone is named at its field, then set, shown with its next
 * runs, and removed.
 */
const ADMIN = { email: 'ada@example.com', password: 'a very long first passphrase' };
const AUDITOR = {
  email: 'audrey@example.com',
  password: 'auditor passphrase that is long',
  name: 'Audrey Auditor',
};
const JUSTIFICATION = 'Service account of the old payroll system, switched off with the migration in June';

const POLICY = `targets:
  corp-ldap:
    account:
      namingAttribute: uid
      attributes:
        uid: person.username
        cn: person.displayName
        sn: person.lastName
        employeeNumber: person.employeeId
roles:
  - name: Staff
    accounts: [corp-ldap]
rules:
  - name: Everyone
    when: person.workerType == "employee"
    roles: [Staff]
`;

const skip = slapdSkipReason();

let server: ConsoleServer;
let tb: TestBrowser;
let page: Page;
let slapd: Slapd;
let admin: SessionApi;

beforeAll(async () => {
  if (skip) return;
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
});

const heading = (p: Page, name: string | RegExp) => p.getByRole('heading', { level: 1, name });
const nav = (p: Page, name: string) => p.getByRole('navigation').getByRole('link', { name, exact: true });
/** The control labelled exactly `text` (a required field's label ends in " *"). */
const field = (scope: Pick<Page, 'getByLabel'>, text: string) =>
  scope.getByLabel(new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( \\*)?$`));
const findings = (p: Page) => p.getByRole('table', { name: 'Findings' });
const findingRow = (p: Page, kind: string): Locator => findings(p).locator(`tr[data-kind="${kind}"]`);
const section = (p: Page, target: string) => p.getByRole('region', { name: target });
/** The open orphan finding of one account (by its uid). */
const orphanRow = (p: Page, uid: string): Locator =>
  findings(p).locator('tr[data-kind="orphan"]', { hasText: new RegExp(`\\b${uid}\\b`) });

/** Run a step; on failure keep a screenshot of where the page was. */
async function step(p: Page, name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    await screenshot(p, `${name}-failed`).catch(() => undefined);
    throw e;
  }
}

/** slapd's accounts: uid → sn, read as the rootdn. */
async function ldapSurnames(): Promise<Record<string, string>> {
  const c = slapd.client('root');
  try {
    const entries = await c.searchAll(slapd.usersDn, {
      scope: 'one',
      filter: '(objectClass=inetOrgPerson)',
      attributes: ['uid', 'sn'],
    });
    return Object.fromEntries(entries.map((e) => [e.attributes.uid![0]!, e.attributes.sn![0]!]));
  } finally {
    await c.close();
  }
}

describe.skipIf(skip)('reconciliation in the console', { timeout: 240_000 }, () => {
  it('before anything is connected, both pages say what reconciliation is and where to start', async () => {
    page = await tb.newPage();
    await firstSignIn(page, server.url, ADMIN);
    await step(page, 'recon-empty', async () => {
      await nav(page, 'Findings').click();
      await heading(page, 'Findings').waitFor();
      await page.getByText('No reconciliation has run yet').waitFor();
      await page.getByText(/reads every account on a connected system/).waitFor();
      await screenshot(page, 'findings-never-run');
      await page.getByRole('link', { name: 'Go to Reconciliation' }).click();
      await heading(page, 'Reconciliation').waitFor();
      await page.getByText('No targets yet').waitFor();
      expect(await page.getByRole('link', { name: 'Targets page' }).getAttribute('href')).toBe('/targets');
      await screenshot(page, 'reconciliation-no-targets');
    });
  });

  it('an account made in slapd and an attribute changed there are found by "Reconcile now"', async () => {
    // Set up through the API as the administrator: a target, two people, then the policy that gives them accounts.
    admin = await sessionApi(page, server.url);
    await admin.post('/targets', { name: 'corp-ldap', connector: 'ldap', config: slapd.connectorConfig() });
    for (const [id, first, last] of [
      ['E1', 'Ann', 'Able'],
      ['E2', 'Bob', 'Baker'],
    ])
      await admin.post('/people?source=hr', {
        employee_id: id,
        first_name: first,
        last_name: last,
        department: 'Sales',
        title: 'Rep',
        worker_type: 'employee',
        hire_date: '2020-01-06',
      });
    // The joiners take effect in a background job; the policy comes after, so it alone provisions them.
    await lifecycleSettled(server);
    const applied = await admin.post<{ changeSet: { id: string } | null }>('/policy', {
      yaml: POLICY,
      comment: 'Everyone gets a directory account',
    });
    expect(applied.changeSet).not.toBeNull();
    await expect
      .poll(
        async () => (await admin.get<{ status: string }>(`/change-sets/${applied.changeSet!.id}`)).status,
        { timeout: 90_000 },
      )
      .toBe('applied');
    expect(await ldapSurnames()).toEqual({ 'ann.able': 'Able', 'bob.baker': 'Baker' });

    // Outside Gatehouse: an account nobody owns, and Bob's surname changed by hand.
    await slapd.apply(
      [
        `dn: uid=intruder,${slapd.usersDn}`,
        'objectClass: inetOrgPerson',
        'uid: intruder',
        'cn: Quentin Zyx',
        'sn: Zyx',
        '',
      ].join('\n'),
      { add: true },
    );
    await slapd.apply(
      [`dn: uid=bob.baker,${slapd.usersDn}`, 'changetype: modify', 'replace: sn', 'sn: Hacker', ''].join(
        '\n',
      ),
    );

    await step(page, 'recon-run', async () => {
      // Loaded afresh (the page was left on Reconciliation, before the target existed).
      await page.goto(`${server.url}/reconciliation`);
      await heading(page, 'Reconciliation').waitFor();
      const ldap = section(page, 'corp-ldap');
      await ldap.getByText('Never reconciled').waitFor();
      await ldap.getByText('No runs yet.').waitFor();
      await screenshot(page, 'reconciliation-never-run');
      await ldap.getByRole('button', { name: /^Reconcile now/ }).click();
      await expect
        .poll(() => ldap.locator('[data-run-status]').first().textContent(), { timeout: 90_000 })
        .toBe('Completed');
      await expect.poll(() => ldap.getByTestId('accounts-seen').innerText()).toBe('3');
      expect(await ldap.getByTestId('without-owner').innerText()).toBe('1');
      expect(await ldap.getByTestId('last-run').innerText()).toMatch(
        /last run #1 finished .* by Administrator/,
      );
      // The open findings by severity, each a link to the filtered list.
      const high = ldap.getByRole('link', { name: '1 open finding of high severity' });
      expect(await high.getAttribute('href')).toBe('/findings?target=corp-ldap&severity=high');
      await ldap.getByRole('link', { name: '1 open finding of medium severity' }).waitFor();
      // The run in the history, with its counts.
      const run = ldap.getByRole('table', { name: 'Runs of corp-ldap' }).locator('tr[data-run="1"]');
      await run.waitFor();
      const cell = (name: string) => run.locator(`td[data-count="${name}"]`).innerText();
      expect(await cell('read')).toBe('3');
      expect(await cell('new')).toBe('3');
      expect(await cell('changed')).toBe('0');
      expect(await cell('gone')).toBe('0');
      expect(await cell('unmatched')).toBe('1');
      expect(await cell('opened')).toBe('2');
      expect(await cell('closed')).toBe('0');
      expect(await run.textContent()).toContain('Completed');
      // "Who has what" for this target.
      expect(await ldap.getByRole('link', { name: 'Who has what (CSV)' }).getAttribute('href')).toBe(
        '/api/v1/reports/access.csv?target=corp-ldap',
      );
      await screenshot(page, 'reconciliation-completed');
    });
  });

  it('the Findings page lists the orphan and the drift in words, with their severity', async () => {
    await step(page, 'findings-list', async () => {
      await nav(page, 'Findings').click();
      await heading(page, 'Findings').waitFor();
      const orphan = findingRow(page, 'orphan');
      const drift = findingRow(page, 'drift');
      await orphan.waitFor();
      await drift.waitFor();
      expect(await findings(page).locator('tbody tr').count()).toBe(2);
      expect(await orphan.innerText()).toContain('No owner');
      expect(await orphan.locator('[data-severity]').getAttribute('data-severity')).toBe('high');
      expect(await orphan.innerText()).toContain('intruder');
      expect(await orphan.innerText()).toContain('Nobody');
      expect(await drift.innerText()).toContain('Differs from policy');
      expect(await drift.locator('[data-severity]').getAttribute('data-severity')).toBe('medium');
      expect(await drift.innerText()).toContain('sn: is “Hacker”, the policy says “Baker”');
      const bob = drift.getByRole('link', { name: 'Bob Baker' });
      expect(await bob.getAttribute('href')).toMatch(/^\/people\/[0-9a-f-]{36}$/);
      expect(await page.getByTestId('findings-total').innerText()).toContain('of 2 findings');
      await screenshot(page, 'findings');
    });
  });

  it('fixing the drift plans a change set that waits for someone else', async () => {
    await step(page, 'findings-fix', async () => {
      const drift = findingRow(page, 'drift');
      const fix = page.getByRole('button', { name: 'Fix selected' });
      expect(await fix.isDisabled()).toBe(true);
      await drift.getByRole('checkbox').check();
      await expect.poll(() => page.getByTestId('selection-count').innerText()).toBe('1 selected');
      await fix.click();
      const dialog = page.getByRole('dialog', { name: 'Fix this finding?' });
      expect(await dialog.innerText()).toContain('waits for approval by someone other than you');
      await screenshot(page, 'findings-fix-confirm');
      await dialog.getByRole('button', { name: 'Plan the fix' }).click();
      await dialog.waitFor({ state: 'hidden' });
      const link = page
        .getByTestId('remediation-result')
        .getByRole('link', { name: /^Change set #\d+ waits for approval by someone else$/ });
      await link.waitFor();
      const seq = /#(\d+)/.exec(await link.innerText())![1]!;
      expect(await link.getAttribute('href')).toMatch(/^\/change-sets\/[0-9a-f-]{36}$/);
      // The finding points at its change set until a run finds it fixed.
      const planned = drift.getByTestId('finding-change-set');
      await expect.poll(() => planned.textContent()).toContain(`Change set #${seq}`);
      expect(await planned.textContent()).toContain('Awaiting approval');
      await screenshot(page, 'findings-fix-planned');
      await link.click();
      await heading(page, `Change set #${seq}`).waitFor();
      await page.getByText('You asked for this change set, so someone else must approve it.').waitFor();
      await page.goBack();
      await heading(page, 'Findings').waitFor();
    });
  });

  it("accepting the orphan's risk names a too-short justification at its field, then lists it as accepted", async () => {
    await step(page, 'findings-accept', async () => {
      const orphan = findingRow(page, 'orphan');
      await orphan.getByRole('button', { name: /^Accept risk/ }).click();
      const dialog = page.getByRole('dialog', { name: /^Accept the risk of finding #\d+\?$/ });
      const justification = field(dialog, 'Justification');
      await justification.fill('ok');
      await dialog.getByRole('button', { name: 'Accept risk' }).click();
      // The server's message, at the field.
      await dialog.getByText('Say why the risk is acceptable (at least 10 characters)').waitFor();
      expect(await justification.getAttribute('aria-invalid')).toBe('true');
      expect(await field(dialog, 'Accepted until').inputValue()).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      await screenshot(page, 'findings-accept-too-short');
      await justification.fill(JUSTIFICATION);
      await dialog.getByRole('button', { name: 'Accept risk' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await expect.poll(() => page.getByTestId('accepted-result').innerText()).toContain('is accepted until');
      // No longer open…
      await expect.poll(() => findingRow(page, 'orphan').count()).toBe(0);
      await findingRow(page, 'drift').waitFor();

      // …but listed as accepted, with who, until when and why.
      await field(page, 'Status').selectOption({ label: 'Risk accepted' });
      await page.waitForURL(/status=accepted/);
      const accepted = findingRow(page, 'orphan').getByTestId('accepted');
      await accepted.waitFor();
      expect(await accepted.innerText()).toContain('Risk accepted by Administrator');
      expect(await accepted.innerText()).toContain(JUSTIFICATION);
      expect(await findingRow(page, 'drift').count()).toBe(0);
      await screenshot(page, 'findings-accepted');

      // The downloads carry the filters; the CSV holds the accepted finding.
      await field(page, 'Target').selectOption('corp-ldap');
      await page.waitForURL(/target=corp-ldap/);
      const csv = page.getByRole('link', { name: 'Download CSV' });
      await expect.poll(() => csv.getAttribute('href')).toContain('target=corp-ldap');
      const href = (await csv.getAttribute('href'))!;
      expect(href).toMatch(/^\/api\/v1\/reports\/findings\.csv\?/);
      expect(href).toContain('status=accepted');
      expect(await page.getByRole('link', { name: 'Download XLSX' }).getAttribute('href')).toBe(
        href.replace('findings.csv', 'findings.xlsx'),
      );
      const file = await page.request.get(`${server.url}${href}`);
      expect(file.status()).toBe(200);
      const text = await file.text();
      expect(text).toContain('intruder');
      expect(text).toContain(JUSTIFICATION);
      expect(text).not.toContain('bob.baker');
    });
  });

  it('an auditor sees the findings and runs but cannot fix, accept or reconcile', async () => {
    await createOperatorInUi(page, server.url, AUDITOR, 'auditor');
    const auditor = await tb.newPage();
    await firstSignIn(auditor, server.url, AUDITOR);
    await step(auditor, 'findings-auditor', async () => {
      await nav(auditor, 'Findings').click();
      await heading(auditor, 'Findings').waitFor();
      await findingRow(auditor, 'drift').waitFor();
      await field(auditor, 'Status').selectOption({ label: 'All' });
      await auditor.waitForURL(/status=all/);
      await findingRow(auditor, 'orphan').waitFor();
      expect(await auditor.getByRole('button', { name: 'Fix selected' }).count()).toBe(0);
      expect(await auditor.getByRole('button', { name: /^Accept risk/ }).count()).toBe(0);
      expect(await auditor.getByRole('button', { name: /^Link to/ }).count()).toBe(0);
      expect(await findings(auditor).getByRole('checkbox').count()).toBe(0);
      await auditor.getByRole('link', { name: 'Download CSV' }).waitFor();
      await screenshot(auditor, 'findings-auditor');

      await nav(auditor, 'Reconciliation').click();
      await heading(auditor, 'Reconciliation').waitFor();
      const ldap = section(auditor, 'corp-ldap');
      await ldap.getByRole('table', { name: 'Runs of corp-ldap' }).locator('tr[data-run="1"]').waitFor();
      expect(await auditor.getByRole('button', { name: /^Reconcile now/ }).count()).toBe(0);
      // The schedule is shown (none yet), without the controls to change it.
      await expect.poll(() => ldap.getByTestId('schedule-summary').innerText()).toContain('Not scheduled');
      expect(await ldap.getByRole('button', { name: /schedule/i }).count()).toBe(0);
    });
    await auditor.context().close();
  });

  it('an orphan is linked to its suggested owner, another to someone found by hand; the next run closes both', async () => {
    // An HR contractor (no role gives them an account) whose account was made by hand, and a service account.
    await admin.post('/people?source=hr', {
      employee_id: 'E3',
      first_name: 'Carla',
      last_name: 'Carter',
      department: 'Finance',
      title: 'Controller',
      worker_type: 'contractor',
      hire_date: '2020-01-06',
    });
    await lifecycleSettled(server);
    await slapd.apply(
      [
        `dn: uid=ccarter,${slapd.usersDn}`,
        'objectClass: inetOrgPerson',
        'uid: ccarter',
        'cn: Carla Carter',
        'sn: Carter',
        '',
        `dn: uid=svc-backup,${slapd.usersDn}`,
        'objectClass: inetOrgPerson',
        'uid: svc-backup',
        'cn: Nightly Tapes',
        'sn: Tapes',
        '',
      ].join('\n'),
      { add: true },
    );
    const run = await admin.post<{ status: string }>('/targets/corp-ldap/reconcile', { wait: true });
    expect(run.status).toBe('completed');
    const personId = async (employeeId: string) =>
      (await server.sql<{ id: string }>(`select id from people where employee_id = $1`, [employeeId]))
        .rows[0]!.id;
    const observed = async (uid: string) =>
      (
        await server.sql<{
          id: string;
          person_id: string | null;
          link: string | null;
          link_detail: string | null;
        }>(`select id, person_id, link, link_detail from recon_objects where name = $1`, [
          `uid=${uid},${slapd.usersDn}`,
        ])
      ).rows[0]!;
    const carla = await personId('E3');
    const bob = await personId('E2');

    await step(page, 'findings-link-suggestion', async () => {
      await page.goto(`${server.url}/findings`);
      await heading(page, 'Findings').waitFor();
      const row = orphanRow(page, 'ccarter');
      await expect
        .poll(() => row.getByTestId('suggested-owner').innerText())
        .toBe('Suggested owner: Carla Carter (E3)');
      expect(await row.getByRole('link', { name: 'Carla Carter' }).getAttribute('href')).toBe(
        `/people/${carla}`,
      );
      await row.getByRole('button', { name: /^Link to Carla Carter/ }).click();
      const dialog = page.getByRole('dialog', { name: 'Link ccarter to Carla Carter?' });
      await dialog.waitFor();
      const text = await dialog.innerText();
      expect(text).toContain('Reconciliation suggests Carla Carter (E3)');
      expect(text).toContain('will be counted as Carla Carter’s');
      expect(text).toContain('The next reconciliation re-checks it');
      await screenshot(page, 'findings-link-confirm');
      await dialog.getByRole('button', { name: 'Link to Carla Carter' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await expect
        .poll(() => page.getByTestId('link-result').innerText())
        .toContain('closes at the next reconciliation of corp-ldap');
      await expect
        .poll(() => row.getByTestId('linked-owner').innerText())
        .toContain('Linked to Carla Carter');
      // A manual link to her, kept across runs, with who made it.
      expect(await observed('ccarter')).toMatchObject({
        person_id: carla,
        link: 'manual',
        link_detail: 'linked by Administrator',
      });
      await screenshot(page, 'findings-linked');
      // After a reload the server says so: the finding knows whom its account is linked to now.
      await page.reload();
      await heading(page, 'Findings').waitFor();
      await expect
        .poll(() => orphanRow(page, 'ccarter').getByTestId('linked-owner').innerText())
        .toContain('Linked to Carla Carter');
      expect(
        await orphanRow(page, 'ccarter')
          .getByRole('button', { name: /^Link to/ })
          .count(),
      ).toBe(0);
    });

    await step(page, 'findings-link-by-hand', async () => {
      const row = orphanRow(page, 'svc-backup');
      await row.getByRole('button', { name: /^Link to its owner…/ }).click();
      const dialog = page.getByRole('dialog', { name: 'Who owns svc-backup on corp-ldap?' });
      await dialog.waitFor();
      // Nobody chosen yet: said at the picker, nothing sent.
      await dialog.getByRole('button', { name: 'Link', exact: true }).click();
      await dialog.getByText('Choose the person who owns this account.').waitFor();
      await field(dialog, 'Find the owner').fill('bob');
      const choice = dialog.getByRole('radio', { name: 'Bob Baker' });
      await choice.check();
      await screenshot(page, 'findings-link-pick');
      await dialog.getByRole('button', { name: 'Link to Bob Baker' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await expect
        .poll(() => page.getByTestId('link-result').innerText())
        .toContain('svc-backup is linked to Bob Baker');
      expect(await observed('svc-backup')).toMatchObject({ person_id: bob, link: 'manual' });
    });

    await step(page, 'findings-link-reconcile', async () => {
      const result = page.getByTestId('link-result');
      await result.getByRole('button', { name: 'Reconcile corp-ldap now' }).click();
      await expect
        .poll(() => result.getByTestId('link-run').innerText(), { timeout: 90_000 })
        .toMatch(/^Run #\d+ of corp-ldap completed: \d+ findings closed/);
      await expect.poll(() => orphanRow(page, 'ccarter').count()).toBe(0);
      await expect.poll(() => orphanRow(page, 'svc-backup').count()).toBe(0);
      const orphans = await server.sql<{ status: string }>(
        `select f.status from findings f join recon_objects o on o.id = f.object_id
         where f.kind = 'orphan' and o.name = any($1::text[])`,
        [[`uid=ccarter,${slapd.usersDn}`, `uid=svc-backup,${slapd.usersDn}`]],
      );
      expect(orphans.rows.map((r) => r.status)).toEqual(['closed', 'closed']);
      // The links outlive the run.
      expect((await observed('ccarter')).link).toBe('manual');
      await screenshot(page, 'findings-link-reconciled');
    });
  });

  it('a schedule too frequent or in an unknown zone is named at its field; set, shown and removed', async () => {
    await step(page, 'reconciliation-schedule', async () => {
      await nav(page, 'Reconciliation').click();
      await heading(page, 'Reconciliation').waitFor();
      const ldap = section(page, 'corp-ldap');
      const summary = ldap.getByTestId('schedule-summary');
      await expect.poll(() => summary.innerText()).toContain('Not scheduled');
      await ldap.getByRole('button', { name: /^Set a schedule/ }).click();
      const dialog = page.getByRole('dialog', { name: 'Reconcile corp-ldap on a schedule' });
      const cron = field(dialog, 'When (cron)');
      const zone = field(dialog, 'Time zone');

      // Every five minutes is too often: the server's reason, at the field.
      await cron.fill('*/5 * * * *');
      await expect.poll(() => dialog.getByTestId('cron-words').innerText()).toBe('Every 5 minutes.');
      await zone.fill('Europe/Berlin');
      await dialog.getByRole('button', { name: 'Save schedule' }).click();
      await dialog.getByText(/^Runs more often than every 15 minutes\. Choose at most one run/).waitFor();
      expect(await cron.getAttribute('aria-invalid')).toBe('true');
      await screenshot(page, 'reconciliation-schedule-too-often');

      // A zone that does not exist.
      await dialog.getByRole('button', { name: 'Every night at 02:00' }).click();
      await expect.poll(() => cron.inputValue()).toBe('0 2 * * *');
      await zone.fill('Mars/Olympus_Mons');
      await dialog.getByRole('button', { name: 'Save schedule' }).click();
      await dialog.getByText(/^Not an IANA time zone/).waitFor();
      expect(await zone.getAttribute('aria-invalid')).toBe('true');
      expect(await cron.getAttribute('aria-invalid')).not.toBe('true');

      await zone.fill('Europe/Berlin');
      await dialog.getByRole('radio', { name: 'Changes only (incremental)' }).check();
      await dialog.getByRole('button', { name: 'Save schedule' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await expect
        .poll(() => summary.innerText())
        .toBe('Every day at 02:00 (Europe/Berlin) · Changes only (incremental)');
      await expect.poll(() => ldap.getByTestId('schedule-next').locator('time').count()).toBe(3);
      const set = await admin.get<{
        items: { target: string; cron: string; timeZone: string; mode: string }[];
      }>('/reconciliation/schedules');
      expect(set.items).toEqual([
        expect.objectContaining({
          target: 'corp-ldap',
          cron: '0 2 * * *',
          timeZone: 'Europe/Berlin',
          mode: 'incremental',
        }),
      ]);
      await screenshot(page, 'reconciliation-scheduled');

      // Editing starts from what is set.
      await ldap.getByRole('button', { name: /^Edit schedule/ }).click();
      await expect.poll(() => cron.inputValue()).toBe('0 2 * * *');
      await expect.poll(() => zone.inputValue()).toBe('Europe/Berlin');
      await expect
        .poll(() => dialog.getByRole('radio', { name: 'Changes only (incremental)' }).isChecked())
        .toBe(true);
      await dialog.getByRole('button', { name: 'Back' }).click();
      await dialog.waitFor({ state: 'hidden' });

      await ldap.getByRole('button', { name: /^Remove schedule/ }).click();
      const confirm = page.getByRole('dialog', { name: 'Stop reconciling corp-ldap on a schedule?' });
      await confirm.getByRole('button', { name: 'Remove schedule' }).click();
      await confirm.waitFor({ state: 'hidden' });
      await expect.poll(() => summary.innerText()).toContain('Not scheduled');
      expect((await admin.get<{ items: unknown[] }>('/reconciliation/schedules')).items).toEqual([]);
    });
  });
});
