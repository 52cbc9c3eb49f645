import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KEY,
  LDAP_ACCOUNT,
  hrRow,
  opLines,
  provisioningHarness,
  type ProvisioningHarness,
} from '../../src/provisioning/test-support.ts';
import { listFindings, type FindingQuery } from '../../src/reconcile/index.ts';
import { cleanEnv, runCli } from '../../src/testing/processes.ts';
import { slapdSkipReason, startSlapd, type Slapd } from '../../src/testing/slapd.ts';

/**
 * `gatehouse reconcile` and `gatehouse findings` as an administrator's script runs them, against a real slapd and a
 * database whose accounts Gatehouse provisioned: the run as JSON (exit 0), a read that finds half the accounts
 * (the target pointed at a sub-OU) refused with exit 3 and the reason until --force, findings listed and filtered,
 * a risk accepted until a date, a report written as XLSX, and a remediation waiting for approval. Usage mistakes
 * exit 2 naming the option.
 */
let h: ProvisioningHarness;
let slapd: Slapd;
let env: Record<string, string>;
let dir: string;

const json = (r: { stdout: string }) => JSON.parse(r.stdout);
const cli = (...args: string[]) => runCli(args, env);
const daysAhead = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
/** What the database holds (read in this process: the checks do not depend on the CLI under test). */
const listed = async (q: FindingQuery = {}) =>
  (await listFindings(h.database.pool, { limit: 500, ...q })).items;
const byKind = async (kind: FindingQuery['kind'], q: FindingQuery = {}) => {
  const [f, ...rest] = await listed({ kind, ...q });
  expect(rest).toEqual([]);
  expect(f, kind).toBeDefined();
  return f!;
};

const row = (id: string, first: string, last: string, status = 'active', term = '') =>
  hrRow(id, first, last, { status, term });

const entry = (dn: string, uid: string, cn: string, extra: string[] = []) =>
  [`dn: ${dn}`, 'objectClass: inetOrgPerson', `uid: ${uid}`, `cn: ${cn}`, `sn: ${cn}`, ...extra, ''].join(
    '\n',
  );

describe.skipIf(slapdSkipReason())('gatehouse reconcile and findings', { timeout: 300_000 }, () => {
  beforeAll(async () => {
    h = await provisioningHarness();
    slapd = await startSlapd();
    env = cleanEnv({ DATABASE_URL: h.database.url, GATEHOUSE_SECRET_KEY: KEY.toString('base64') });
    dir = mkdtempSync(join(tmpdir(), 'gh-reconcile-cli-'));
    await h.addTarget('corp-ldap', 'ldap', slapd.connectorConfig());
    await h.addGroups('corp-ldap', ['staff']);
    await h.setPolicy({
      settings: { massChange: { threshold: 1, minimum: 1000 } },
      targets: {
        'corp-ldap': {
          account: LDAP_ACCOUNT,
          reconcile: { maxDrop: 0.2, inactiveDays: 90 },
        },
      },
      roles: [{ name: 'Staff', grants: [{ target: 'corp-ldap', entitlement: 'staff' }] }],
      rules: [{ name: 'Everyone', when: 'person.status != "terminated"', roles: ['Staff'] }],
    });
    const seq = await h.lastSeq();
    await h.importHr([
      row('E1', 'Ann', 'Able'),
      row('E2', 'Bob', 'Baker'),
      row('E3', 'Cy', 'Cole'),
      // Left before Gatehouse existed; someone made her an account by hand.
      row('E9', 'Dora', 'Gone', 'terminated', '2024-06-30'),
    ]);
    const set = await h.settled(seq, 'joiners');
    expect(set.status, (await opLines(h.database, set.id)).join('\n')).toBe('applied');
    await slapd.apply(
      entry(`uid=intruder,${slapd.usersDn}`, 'intruder', 'Zed Quorx') +
        '\n' +
        entry(`uid=dora.gone,${slapd.usersDn}`, 'dora.gone', 'Dora Gone', ['employeeNumber: E9']),
      { add: true, as: 'root' },
    );
  }, 180_000);
  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await h?.close();
    await slapd?.stop();
  });

  it('reconcile --json prints the run and exits 0; the human output says what it found', async () => {
    const r = await cli('reconcile', 'corp-ldap', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({
      seq: 1,
      target: 'corp-ldap',
      mode: 'full',
      status: 'completed',
      reason: null,
      findingsOpened: 2,
      findingsClosed: 0,
      counts: { read: 5, new: 5, managed: 3, rule: 1, unmatched: 1, previous: null },
    });
    const human = await cli('reconcile', 'corp-ldap');
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('Run #2 of corp-ldap (full): completed.');
    expect(human.stdout).toContain(
      '5 accounts read (0 new, 0 changed, 0 gone); owners: 3 managed by Gatehouse, 1 by rule, 0 linked by hand, 1 without owner.',
    );
    expect(human.stdout).toContain(
      'Findings: 0 opened, 0 closed. See them with: gatehouse findings list --target corp-ldap',
    );
  });

  it('reconcile of an unknown target exits 2 naming it', async () => {
    const r = await cli('reconcile', 'nope');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('there is no target named "nope"');
    const j = await cli('reconcile', 'nope', '--json');
    expect(j.code).toBe(2);
    expect(json(j).error).toMatchObject({ code: 'target_not_found' });
  });

  it('findings list shows them as a table, and refuses an unknown kind naming --kind', async () => {
    const all = await listed();
    expect(all.map((f) => `${f.severity} ${f.kind} ${f.account}`)).toEqual([
      `critical terminated_active uid=dora.gone,${slapd.usersDn}`,
      `high orphan uid=intruder,${slapd.usersDn}`,
    ]);
    const table = await cli('findings', 'list');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^#\s+SEVERITY\s+KIND\s+TARGET\s+SUMMARY/im);
    expect(table.stdout).toMatch(
      new RegExp(
        `^${all[0]!.seq}\\s+critical\\s+terminated_active\\s+corp-ldap\\s+Dora Gone left \\(2024-06-30\\) and still has the enabled account`,
        'm',
      ),
    );
    expect(table.stdout).toMatch(
      new RegExp(`^${all[1]!.seq}\\s+high\\s+orphan\\s+corp-ldap\\s+Account uid=intruder`, 'm'),
    );
    const orphans = await cli('findings', 'list', '--kind', 'orphan');
    expect(orphans.code, orphans.stderr).toBe(0);
    expect(orphans.stdout).toContain('uid=intruder');
    expect(orphans.stdout).not.toContain('dora.gone');
    const none = await cli('findings', 'list', '--severity', 'low');
    expect(none.stdout).toContain('No findings.');

    const bad = await cli('findings', 'list', '--kind', 'bogus');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--kind: one of orphan, terminated_active');
    const badJson = await cli('findings', 'list', '--kind', 'bogus', '--json');
    expect(badJson.code).toBe(2);
    expect(json(badJson).error).toMatchObject({ code: 'usage_invalid', problems: [{ field: '--kind' }] });
    const badLimit = await cli('findings', 'list', '--limit', '0');
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toContain('--limit: a whole number from 1 to 500');
  });

  it('findings accept takes a justification and a date; a date that is not one exits 2', async () => {
    const orphan = await byKind('orphan');
    const until = daysAhead(60);
    const why = 'Break-glass account of the security team';
    const accept = (...args: string[]) => cli('findings', 'accept', String(orphan.seq), ...args);
    const bad = await accept('--justification', why, '--until', 'tomorrowish');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--until: a date as YYYY-MM-DD');
    const far = await accept('--justification', why, '--until', daysAhead(500));
    expect(far.code).toBe(2);
    expect(far.stderr).toContain('until at most 366 days ahead');
    const short = await accept('--justification', 'ok', '--until', until);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('justification say why the risk is acceptable');
    const missing = await accept('--until', until);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--justification <text>'");
    expect((await byKind('orphan')).status).toBe('open');

    const ok = await accept('--justification', why, '--until', until);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(
      `Finding #${orphan.seq} accepted until ${until}T00:00:00.000Z by gatehouse CLI.`,
    );
    expect(await byKind('orphan', { status: 'accepted' })).toMatchObject({
      seq: orphan.seq,
      status: 'accepted',
      acceptedBy: 'gatehouse CLI',
      acceptedUntil: `${until}T00:00:00.000Z`,
      justification: why,
    });
    const again = await accept('--justification', why, '--until', until);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(
      `finding #${orphan.seq} is accepted: only an open finding can be accepted`,
    );
  });

  it('findings remediate prints the change set that waits for approval', async () => {
    const leaver = await byKind('terminated_active');
    const accepted = await byKind('orphan', { status: 'accepted' });
    const refused = await cli('findings', 'remediate', String(accepted.seq));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`finding #${accepted.seq}: it is accepted, not open`);
    const unknown = await cli('findings', 'remediate', '424242');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no finding 424242');

    const r = await cli('findings', 'remediate', String(leaver.seq));
    expect(r.code, r.stderr).toBe(0);
    const m =
      /^Change set #(\d+): 1 operation, waiting for approval\. Review it with: gatehouse changes show (\d+)$/m.exec(
        r.stdout,
      );
    expect(m, r.stdout).not.toBeNull();
    expect(m![2]).toBe(m![1]);
    const seq = Number(m![1]);
    expect(seq).toBe(await h.lastSeq());
    const set = await h.database.pool.query<{ status: string; trigger: string; title: string }>(
      'select status, trigger, title from change_sets where seq = $1',
      [seq],
    );
    expect(set.rows).toEqual([
      { status: 'awaiting_approval', trigger: 'remediation', title: 'Fix 1 finding' },
    ]);
    expect(await byKind('terminated_active')).toMatchObject({ seq: leaver.seq, changeSetSeq: seq });
  });

  it('findings report writes an XLSX that loads; another extension exits 2', async () => {
    const file = join(dir, 'findings.xlsx');
    const r = await cli('findings', 'report', '-o', file, '--status', 'all');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Wrote 2 rows to ${file}.`);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file);
    expect(wb.worksheets.map((s) => s.name)).toEqual(['findings', 'About']);
    const data = wb.getWorksheet('findings')!;
    expect(data.rowCount).toBe(3);
    expect((data.getRow(1).values as unknown[]).slice(1, 4)).toEqual(['Number', 'Severity', 'Kind']);
    const kinds = [2, 3].map((n) => String(data.getRow(n).getCell(3).value)).sort();
    expect(kinds).toEqual(['orphan', 'terminated_active']);
    const about = new Map<string, string>();
    wb.getWorksheet('About')!.eachRow((x) =>
      about.set(String(x.getCell(1).value), String(x.getCell(2).value)),
    );
    expect(about.get('Report')).toBe('Reconciliation findings');
    expect(about.get('Filter')).toBe('status=all');
    expect(about.get('Run of corp-ldap')).toMatch(/^#2, completed \d{4}-/);

    const text = join(dir, 'findings.txt');
    const bad = await cli('findings', 'report', '-o', text);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--output: the file name must end in .csv or .xlsx');
    expect(existsSync(text)).toBe(false);
    const kind = await cli('findings', 'report', '-o', join(dir, 'x.csv'), '--kind', 'bogus');
    expect(kind.code).toBe(2);
    expect(kind.stderr).toContain('--kind: one of');
    expect(existsSync(join(dir, 'x.csv'))).toBe(false);

    // Who has what for one role: everyone who holds Staff now, with the roles beside the groups.
    const staffFile = join(dir, 'staff.csv');
    const staff = await cli('findings', 'report', '--access', '--role', 'Staff', '-o', staffFile);
    expect(staff.code, staff.stderr).toBe(0);
    const [header, ...rows] = readFileSync(staffFile, 'utf8')
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    expect(header).toContain(',Roles,Groups,');
    expect(rows.length).toBeGreaterThan(0);
    expect(staff.stdout).toContain(`Wrote ${rows.length} rows to ${staffFile}.`);
    expect(rows.every((x) => x.includes(',Staff,'))).toBe(true);
    const none = await cli('findings', 'report', '--access', '--role', 'Astronaut', '-o', join(dir, 'y.csv'));
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('there is no role "Astronaut" in the policy');
    expect(existsSync(join(dir, 'y.csv'))).toBe(false);
  });

  it('a read that finds half the accounts (a sub-OU) exits 3 with the reason; --force merges it', async () => {
    // Five more accounts in a sub-OU: ten in all, five of them under ou=emea.
    await slapd.apply(
      [
        [`dn: ou=emea,${slapd.usersDn}`, 'objectClass: organizationalUnit', 'ou: emea', ''].join('\n'),
        ...['e1', 'e2', 'e3', 'e4', 'e5'].map((u) => entry(`uid=${u},ou=emea,${slapd.usersDn}`, u, u)),
      ].join('\n'),
      { add: true, as: 'root' },
    );
    const full = await cli('reconcile', 'corp-ldap', '--json');
    expect(full.code, full.stderr).toBe(0);
    expect(json(full)).toMatchObject({
      status: 'completed',
      counts: { read: 10, new: 5 },
      findingsOpened: 5,
    });
    const before = await listed({ status: 'all' });

    const set = await cli(
      'targets',
      'set',
      'corp-ldap',
      '--config',
      JSON.stringify({ usersDn: `ou=emea,${slapd.usersDn}` }),
    );
    expect(set.code, set.stderr).toBe(0);
    const bad = await cli('reconcile', 'corp-ldap');
    expect(bad.code).toBe(3);
    expect(bad.stdout).toMatch(/^Run #\d+ of corp-ldap \(full\): aborted\.$/m);
    expect(bad.stdout).toContain(
      `the read found 5 accounts, 50% fewer than the 10 of run #${json(full).seq} (the limit is 20%)`,
    );
    expect(bad.stdout).toContain('no account was marked orphaned');
    expect(bad.stdout).not.toContain('accounts read');
    const badJson = await cli('reconcile', 'corp-ldap', '--json');
    expect(badJson.code).toBe(3);
    expect(json(badJson)).toMatchObject({ status: 'aborted', counts: { read: 5, previous: 10 } });
    // Nothing changed.
    expect(await listed({ status: 'all' })).toEqual(before);

    const forced = await cli('reconcile', 'corp-ldap', '--force', '--json');
    expect(forced.code, forced.stderr).toBe(0);
    expect(json(forced)).toMatchObject({ status: 'completed', counts: { read: 5, gone: 5, previous: 10 } });
    // The accounts outside the sub-OU are gone now: their findings closed, the missing accounts found.
    expect((await listed({ kind: 'missing_account' })).map((f) => f.personName).sort()).toEqual([
      'Ann Able',
      'Bob Baker',
      'Cy Cole',
    ]);
    expect(await listed({ kind: 'terminated_active' })).toEqual([]);
    expect((await listed({ kind: 'orphan' })).map((f) => f.account).sort()).toEqual(
      ['e1', 'e2', 'e3', 'e4', 'e5'].map((u) => `uid=${u},ou=emea,${slapd.usersDn}`),
    );
  });

  it('findings list, accept and remediate with --json print one document and exit 0', async () => {
    const list = await cli('findings', 'list', '--kind', 'orphan', '--json');
    const doc = json(list) as { items: { seq: number; account: string }[]; total: number };
    expect(doc.total).toBe(5);
    expect(doc.items.map((f) => f.account).sort()).toEqual(
      ['e1', 'e2', 'e3', 'e4', 'e5'].map((u) => `uid=${u},ou=emea,${slapd.usersDn}`),
    );
    const [first, second] = doc.items;
    const accepted = await cli(
      'findings',
      'accept',
      String(first!.seq),
      '--justification',
      'Service account of the EMEA team',
      '--until',
      daysAhead(30),
      '--json',
    );
    expect(json(accepted)).toMatchObject({
      seq: first!.seq,
      status: 'accepted',
      acceptedBy: 'gatehouse CLI',
    });
    const remediated = await cli('findings', 'remediate', String(second!.seq), '--json');
    expect(json(remediated).changeSet).toMatchObject({ status: 'awaiting_approval', opCount: 1 });
    // Each printed its document and nothing else, and succeeded.
    for (const r of [list, accepted, remediated]) expect([r.code, r.stderr]).toEqual([0, '']);
  });

  it('reconcile --incremental reads only the changes; reconcile-schedule sets, shows and removes a schedule', async () => {
    await slapd.apply(
      [`dn: uid=ann.able,${slapd.usersDn}`, 'changetype: modify', 'replace: sn', 'sn: Changed', ''].join(
        '\n',
      ),
      { as: 'root' },
    );
    const inc = await cli('reconcile', 'corp-ldap', '--incremental', '--json');
    expect(inc.code, inc.stderr).toBe(0);
    const run = json(inc) as { mode: string; status: string; counts: { read: number } };
    expect(run).toMatchObject({ mode: 'incremental', status: 'completed' });
    expect(run.counts.read).toBeLessThan(3);

    const none = await cli('reconcile-schedule', 'corp-ldap');
    expect([none.code, none.stdout.trim()]).toEqual([
      0,
      'corp-ldap is not reconciled on a schedule. Set one with: gatehouse reconcile-schedule corp-ldap --cron "0 2 * * *" --zone Europe/Berlin',
    ]);
    const set = await cli(
      'reconcile-schedule',
      'corp-ldap',
      '--cron',
      '30 1 * * 1-5',
      '--zone',
      'Europe/Berlin',
      '--incremental',
    );
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(
      /^TARGET +CRON +TIME ZONE +MODE +NEXT RUN\ncorp-ldap +30 1 \* \* 1-5 +Europe\/Berlin +incremental +\d{4}-/,
    );
    const all = await cli('reconcile-schedule', '--json');
    expect(json(all)).toMatchObject([
      { target: 'corp-ldap', cron: '30 1 * * 1-5', timeZone: 'Europe/Berlin', mode: 'incremental' },
    ]);
    // Mistakes are named: too frequent (the field), both --cron and --off, a change without a target.
    const often = await cli('reconcile-schedule', 'corp-ldap', '--cron', '*/5 * * * *');
    expect(often.code).not.toBe(0);
    expect(often.stderr).toContain('runs more often than every 15 minutes');
    const both = await cli('reconcile-schedule', 'corp-ldap', '--cron', '0 2 * * *', '--off');
    expect([both.code, both.stderr]).toEqual([2, expect.stringContaining('give --cron or --off, not both')]);
    const noTarget = await cli('reconcile-schedule', '--off');
    expect([noTarget.code, noTarget.stderr]).toEqual([
      2,
      expect.stringContaining('name the target whose schedule to change'),
    ]);
    const off = await cli('reconcile-schedule', 'corp-ldap', '--off');
    expect([off.code, off.stdout.trim()]).toEqual([0, 'corp-ldap is no longer reconciled on a schedule.']);
    expect(json(await cli('reconcile-schedule', '--json'))).toEqual([]);
  });
});
