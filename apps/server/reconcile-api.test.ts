import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transaction } from '../../src/db/index.ts';
import { scopesOf } from '../../src/operators/index.ts';
import {
  KEY,
  LDAP_ACCOUNT,
  hrRow,
  opLines,
  provisioningHarness,
  type ProvisioningHarness,
} from '../../src/provisioning/test-support.ts';
import { startTestApi, type TestApi } from '../../src/testing/api.ts';
import { testContext } from '../../src/testing/context.ts';
import { eventually } from '../../src/testing/processes.ts';
import { slapdSkipReason, startSlapd, type Slapd } from '../../src/testing/slapd.ts';
import { createToken } from '../../src/tokens/index.ts';

/**
 * Reconciliation and findings over HTTP, against a real slapd: every route needs its scope (an agent cannot accept a
 * risk, an auditor cannot reconcile, remediate or link); a run answers with its counts when waited for and is queued
 * for a worker otherwise; findings filter, page by number and refuse a bad filter naming it; remediation refuses
 * what a change set cannot fix (an SoD conflict, a closed finding) naming the finding; accepting a risk is validated
 * field by field; the reports come back as a CSV and an XLSX that read back.
 */
let h: ProvisioningHarness;
let api: TestApi;
let app: FastifyInstance;
let slapd: Slapd;
const tokens: Record<string, string> = {};

interface Finding {
  id: string;
  seq: number;
  kind: string;
  severity: string;
  status: string;
  account: string | null;
  personName: string | null;
  objectId: string | null;
  acceptedBy: string | null;
  acceptedUntil: string | null;
  justification: string | null;
  changeSetSeq: number | null;
  changeSetStatus: string | null;
  evidence: Record<string, unknown>;
}

async function token(name: string, scopes: string[]): Promise<string> {
  return (await transaction(h.database, (tx) => createToken(tx, testContext(), { name, scopes }))).token;
}

function call(who: string | null, method: string, url: string, body?: unknown) {
  return app.inject({
    method: method as 'GET',
    url: `/api/v1${url}`,
    headers: who ? { authorization: `Bearer ${tokens[who]}` } : {},
    ...(body !== undefined ? { payload: body as object } : {}),
  });
}

const findings = async (query = ''): Promise<Finding[]> => {
  const r = await call('auditor', 'GET', `/findings${query}`);
  expect(r.statusCode, r.body).toBe(200);
  return r.json().items as Finding[];
};
const one = async (kind: string, query = ''): Promise<Finding> => {
  const list = (await findings(`?kind=${kind}${query}`)).filter((f) => f.kind === kind);
  expect(list, kind).toHaveLength(1);
  return list[0]!;
};
const reconcile = async (body: Record<string, unknown> = { wait: true }) => {
  const r = await call('agent', 'POST', '/targets/corp-ldap/reconcile', body);
  expect(r.statusCode, r.body).toBe(200);
  return r.json();
};
const daysAhead = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);

const row = (id: string, first: string, last: string, dept: string) =>
  hrRow(id, first, last, { dept, title: 'Clerk' });

const policy = (sod: boolean) => ({
  settings: { massChange: { threshold: 1, minimum: 1000 } },
  targets: {
    'corp-ldap': {
      account: LDAP_ACCOUNT,
      reconcile: { maxDrop: 0.2, inactiveDays: 90 },
    },
  },
  roles: [
    { name: 'Staff', grants: [{ target: 'corp-ldap', entitlement: 'staff' }] },
    { name: 'Payer', grants: [{ target: 'corp-ldap', entitlement: 'pay' }] },
    { name: 'Approver', grants: [{ target: 'corp-ldap', entitlement: 'approve' }] },
  ],
  rules: [
    { name: 'Everyone', when: 'person.status != "terminated"', roles: ['Staff'] },
    { name: 'Finance', when: 'person.department == "Finance"', roles: ['Payer', 'Approver'] },
  ],
  sod: sod
    ? [
        {
          name: 'Pay and approve',
          reason: 'whoever makes a payment must not approve it',
          left: [{ target: 'corp-ldap', entitlement: 'pay' }],
          right: [{ target: 'corp-ldap', entitlement: 'approve' }],
          action: 'approve' as const,
        },
      ]
    : [],
});

const person = (uid: string, cn: string) =>
  [
    `dn: uid=${uid},${slapd.usersDn}`,
    'objectClass: inetOrgPerson',
    `uid: ${uid}`,
    `cn: ${cn}`,
    `sn: ${cn.split(' ').pop()}`,
    '',
  ].join('\n');

describe.skipIf(slapdSkipReason())('reconciliation API', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    h = await provisioningHarness();
    slapd = await startSlapd();
    // The API's secret box is the harness's: the target's credentials sealed by one open in the other.
    api = await startTestApi(h.database, { env: { GATEHOUSE_SECRET_KEY: KEY.toString('base64') } });
    app = api.app;
    tokens.admin = await token('admin', ['admin']);
    tokens.agent = await token('agent', scopesOf('agent'));
    tokens.auditor = await token('auditor', scopesOf('auditor'));
    tokens.other = await token('other', ['people:read']);
    await h.addTarget('corp-ldap', 'ldap', slapd.connectorConfig());
    await h.addGroups('corp-ldap', ['staff', 'pay', 'approve']);
    await h.setPolicy(policy(false));
    const seq = await h.lastSeq();
    await h.importHr([
      row('E1', 'Ann', 'Able', 'Sales'),
      row('E2', 'Bob', 'Baker', 'Sales'),
      row('E5', 'Fay', 'Finn', 'Finance'),
    ]);
    const set = await h.settled(seq, 'joiners');
    expect(set.status, (await opLines(h.database, set.id)).join('\n')).toBe('applied');
    // Fay holds both sides of a conflict declared after she got them; an account was made by hand.
    await h.setPolicy(policy(true));
    await slapd.apply(person('intruder', 'Zed Quorx'), { add: true, as: 'root' });
  }, 180_000);
  afterAll(async () => {
    await api?.close();
    await h?.close();
    await slapd?.stop();
  });

  it('every route refuses without a token (401) and without its scope (403)', async () => {
    const some = '00000000-0000-4000-8000-000000000001';
    const routes: [string, string, string, unknown?][] = [
      ['POST', '/targets/corp-ldap/reconcile', 'recon:write', { wait: true }],
      ['GET', '/reconciliation', 'recon:read'],
      ['GET', '/reconciliation/schedules', 'recon:read'],
      ['PUT', '/targets/corp-ldap/reconcile-schedule', 'recon:write', { cron: '0 3 * * *' }],
      ['DELETE', '/targets/corp-ldap/reconcile-schedule', 'recon:write'],
      ['GET', '/reconciliation/runs', 'recon:read'],
      ['GET', '/findings', 'recon:read'],
      ['GET', '/findings/1', 'recon:read'],
      ['POST', '/findings/remediate', 'recon:write', { ids: [some] }],
      ['POST', '/findings/1/accept', 'findings:approve', { justification: 'x', until: '2030-01-01' }],
      ['POST', `/recon-objects/${some}/link`, 'recon:write', { personId: some }],
      ['GET', '/reports/findings.csv', 'recon:read'],
      ['GET', '/reports/access.xlsx', 'recon:read'],
    ];
    for (const [method, url, scope, body] of routes) {
      const anonymous = await call(null, method, url, body);
      expect(anonymous.statusCode, `${method} ${url}`).toBe(401);
      expect(anonymous.json().code).toBe('unauthenticated');
      const denied = await call('other', method, url, body);
      expect(denied.statusCode, `${method} ${url}`).toBe(403);
      expect(denied.json()).toMatchObject({
        code: 'forbidden',
        detail: expect.stringContaining(`"${scope}"`),
      });
    }
    // An agent runs, links and remediates, but cannot accept a risk.
    const agentAccept = await call('agent', 'POST', '/findings/1/accept', {
      justification: 'long enough to pass',
      until: daysAhead(10),
    });
    expect(agentAccept.statusCode).toBe(403);
    expect(agentAccept.json().detail).toContain('"findings:approve"');
    expect((await call('agent', 'GET', '/findings')).statusCode).toBe(200);
    // An auditor reads everything, and changes nothing.
    expect((await call('auditor', 'GET', '/findings')).statusCode).toBe(200);
    expect((await call('auditor', 'GET', '/reconciliation')).statusCode).toBe(200);
    for (const [method, url, body] of [
      ['POST', '/targets/corp-ldap/reconcile', { wait: true }],
      ['POST', '/findings/remediate', { ids: [some] }],
      ['POST', `/recon-objects/${some}/link`, { personId: some }],
      ['PUT', '/targets/corp-ldap/reconcile-schedule', { cron: '0 3 * * *' }],
      ['POST', '/findings/1/accept', { justification: 'long enough to pass', until: daysAhead(10) }],
    ] as const) {
      const r = await call('auditor', method, url, body);
      expect(r.statusCode, url).toBe(403);
      expect(r.json().detail).toMatch(/lacks the "(recon:write|findings:approve)" permission/);
    }
    // Nothing ran.
    expect((await call('admin', 'GET', '/reconciliation/runs')).json().items).toEqual([]);
  });

  it('reconciles and answers with the run when asked to wait', async () => {
    const run = await reconcile();
    expect(run).toMatchObject({
      seq: 1,
      target: 'corp-ldap',
      mode: 'full',
      status: 'completed',
      reason: null,
      findingsOpened: 2,
      findingsClosed: 0,
      counts: { read: 4, new: 4, changed: 0, gone: 0, managed: 3, rule: 0, unmatched: 1 },
    });
    const status = (await call('auditor', 'GET', '/reconciliation')).json().items;
    expect(status).toEqual([
      expect.objectContaining({
        target: 'corp-ldap',
        connector: 'ldap',
        accounts: 4,
        unmatched: 1,
        open: { critical: 0, high: 2, medium: 0, low: 0 },
        lastRun: expect.objectContaining({ seq: 1, status: 'completed', startedBy: 'agent' }),
      }),
    ]);
  });

  it('without wait the run is queued (202) and a worker runs it; an unknown target is 404', async () => {
    const queued = await call('agent', 'POST', '/targets/corp-ldap/reconcile', {});
    expect(queued.statusCode, queued.body).toBe(202);
    expect(queued.json()).toEqual({ queued: true, target: 'corp-ldap' });
    const done = await eventually(async () => {
      const [last] = (await call('auditor', 'GET', '/reconciliation/runs?target=corp-ldap&limit=1')).json()
        .items as { seq: number; status: string }[];
      return last && last.seq === 2 && last.status !== 'running' ? last : undefined;
    }, 'the queued run');
    expect(done).toMatchObject({
      seq: 2,
      status: 'completed',
      trigger: 'manual',
      startedBy: 'agent',
      findingsOpened: 0,
      counts: { read: 4, new: 0 },
    });

    const unknown = await call('agent', 'POST', '/targets/nope/reconcile', { wait: true });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({
      code: 'target_not_found',
      detail: expect.stringContaining('"nope"'),
    });
    const bad = await call('agent', 'POST', '/targets/corp-ldap/reconcile', { wait: 'yes' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors.map((e: { field: string }) => e.field)).toEqual(['body.wait']);
  });

  it('a problem that goes away closes its finding on the next run', async () => {
    await slapd.apply(person('temp', 'Tem Porary'), { add: true, as: 'root' });
    expect(await reconcile()).toMatchObject({ status: 'completed', findingsOpened: 1, findingsClosed: 0 });
    await slapd.apply(`dn: uid=temp,${slapd.usersDn}\nchangetype: delete\n`, { as: 'root' });
    expect(await reconcile()).toMatchObject({
      status: 'completed',
      findingsOpened: 0,
      findingsClosed: 1,
      counts: { read: 4, gone: 1 },
    });
    const closed = await findings('?status=closed');
    expect(closed.map((f) => [f.kind, f.status, f.account])).toEqual([
      ['orphan', 'closed', `uid=temp,${slapd.usersDn}`],
    ]);
  });

  it('lists findings with filters, refuses a bad filter naming it, and shows one by number', async () => {
    const open = await findings();
    expect(open.map((f) => `${f.severity} ${f.kind} ${f.account ?? f.personName}`).sort()).toEqual([
      `high orphan uid=intruder,${slapd.usersDn}`,
      `high sod_violation uid=fay.finn,${slapd.usersDn}`,
    ]);
    const all = await call('auditor', 'GET', '/findings?status=all');
    expect(all.json().total).toBe(3);
    expect(
      all
        .json()
        .items.map((f: Finding) => f.status)
        .sort(),
    ).toEqual(['closed', 'open', 'open']);
    const orphans = await findings('?kind=orphan');
    expect(orphans.map((f) => f.account)).toEqual([`uid=intruder,${slapd.usersDn}`]);
    expect(await findings('?severity=critical')).toEqual([]);
    expect((await findings('?kind=sod_violation&severity=high')).map((f) => f.personName)).toEqual([
      'Fay Finn',
    ]);
    expect(await findings('?kind=drift')).toEqual([]);

    const bad = await call('auditor', 'GET', '/findings?kind=bogus');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('validation_failed');
    expect(bad.json().errors.map((e: { field: string }) => e.field)).toEqual(['querystring.kind']);
    expect(bad.json().detail).toContain('kind');
    const badStatus = await call('auditor', 'GET', '/findings?status=done');
    expect(badStatus.statusCode).toBe(400);
    expect(badStatus.json().errors.map((e: { field: string }) => e.field)).toEqual(['querystring.status']);

    const sod = orphans[0]!.seq === open[0]!.seq ? open[1]! : open[0]!;
    const bySeq = await call('auditor', 'GET', `/findings/${sod.seq}`);
    expect(bySeq.statusCode).toBe(200);
    expect(bySeq.json()).toMatchObject({
      id: sod.id,
      seq: sod.seq,
      kind: 'sod_violation',
      status: 'open',
      evidence: { rule: 'Pay and approve', reason: 'whoever makes a payment must not approve it' },
    });
    expect((await call('auditor', 'GET', `/findings/${sod.id}`)).json().seq).toBe(sod.seq);
    const missing = await call('auditor', 'GET', '/findings/424242');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'finding_not_found', detail: 'no finding 424242' });
  });

  it('linking an observed account to a person who does not exist is 404', async () => {
    const orphan = await one('orphan');
    const ghost = crypto.randomUUID();
    const r = await call('agent', 'POST', `/recon-objects/${orphan.objectId}/link`, { personId: ghost });
    expect(r.statusCode).toBe(404);
    expect(r.json().detail).toBe(`no person ${ghost}`);
    const noObject = await call('agent', 'POST', `/recon-objects/${ghost}/link`, {
      personId: await h.personId('E1'),
    });
    expect(noObject.statusCode).toBe(404);
    expect(noObject.json().code).toBe('recon_object_not_found');
    // Nothing was linked.
    expect((await one('orphan')).objectId).toBe(orphan.objectId);
    expect((await one('orphan')).status).toBe('open');
  });

  it('remediation refuses unknown, SoD and closed findings naming them, and plans a held change set', async () => {
    const ghost = crypto.randomUUID();
    const unknown = await call('agent', 'POST', '/findings/remediate', { ids: [ghost] });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'finding_not_found', detail: `no finding ${ghost}` });

    const sod = await one('sod_violation');
    const conflict = await call('agent', 'POST', '/findings/remediate', { ids: [sod.id] });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({
      code: 'finding_wrong_state',
      detail: expect.stringContaining(`finding #${sod.seq}: sod_violation has no automatic fix`),
    });
    expect(conflict.json().errors).toEqual([
      {
        field: `finding #${sod.seq}`,
        message: expect.stringContaining('sod_violation has no automatic fix'),
      },
    ]);

    const [closed] = await findings('?status=closed');
    const orphan = await one('orphan');
    const mixed = await call('agent', 'POST', '/findings/remediate', { ids: [orphan.id, closed!.id] });
    expect(mixed.statusCode).toBe(409);
    expect(mixed.json().errors).toEqual([
      { field: `finding #${closed!.seq}`, message: 'it is closed, not open' },
    ]);
    expect(mixed.json().detail).toContain(`finding #${closed!.seq}: it is closed, not open`);
    // Refused as a whole: the orphan has no change set.
    expect((await one('orphan')).changeSetSeq).toBeNull();

    const bad = await call('agent', 'POST', '/findings/remediate', { ids: [] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors.map((e: { field: string }) => e.field)).toEqual(['body.ids']);

    const ok = await call('agent', 'POST', '/findings/remediate', { ids: [orphan.id] });
    expect(ok.statusCode, ok.body).toBe(200);
    const set = ok.json().changeSet;
    expect(set).toMatchObject({ status: 'awaiting_approval', opCount: 1 });
    const fixed = (await call('auditor', 'GET', `/findings/${orphan.seq}`)).json();
    expect(fixed).toMatchObject({
      status: 'open',
      changeSetSeq: set.seq,
      changeSetStatus: 'awaiting_approval',
    });
    const view = (await call('agent', 'GET', `/change-sets/${set.seq}`)).json();
    expect(view).toMatchObject({ trigger: 'remediation', title: 'Fix 1 finding' });
    expect(view.ops.map((o: { kind: string; status: string }) => `${o.kind} ${o.status}`)).toEqual([
      'disable_account pending',
    ]);
    // The orphan is now an account Gatehouse manages: it is no longer linked by hand.
    const link = await call('agent', 'POST', `/recon-objects/${orphan.objectId}/link`, {
      personId: await h.personId('E1'),
    });
    expect(link.statusCode).toBe(409);
    expect(link.json().detail).toContain('is an account Gatehouse manages');
  });

  it('accepting a risk needs a real justification and a date within a year; the approver is who accepts', async () => {
    const sod = await one('sod_violation');
    const accept = (body: Record<string, unknown>) =>
      call('admin', 'POST', `/findings/${sod.seq}/accept`, body);
    const fields = (r: { json(): { errors: { field: string }[] } }) => r.json().errors.map((e) => e.field);

    const short = await accept({ justification: 'ok', until: daysAhead(30) });
    expect(short.statusCode).toBe(400);
    expect(short.json().code).toBe('recon_invalid');
    expect(fields(short)).toEqual(['justification']);
    const past = await accept({ justification: 'Two approvers sign every payment', until: '2020-01-01' });
    expect(past.statusCode).toBe(400);
    expect(past.json().errors).toEqual([
      expect.objectContaining({ field: 'until', message: 'must be in the future' }),
    ]);
    const far = await accept({ justification: 'Two approvers sign every payment', until: daysAhead(400) });
    expect(far.statusCode).toBe(400);
    expect(far.json().errors).toEqual([
      expect.objectContaining({ field: 'until', message: expect.stringContaining('at most 366 days ahead') }),
    ]);
    const both = await accept({ justification: ' ', until: '2020-01-01' });
    expect(fields(both)).toEqual(['justification', 'until']);
    const notADate = await accept({ justification: 'Two approvers sign every payment', until: 'soon' });
    expect(notADate.statusCode).toBe(400);
    expect(fields(notADate)).toEqual(['body.until']);
    expect((await one('sod_violation')).status).toBe('open');

    const until = daysAhead(90);
    const ok = await accept({ justification: '  Two approvers sign every payment  ', until });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({
      id: sod.id,
      status: 'accepted',
      acceptedBy: 'admin',
      acceptedUntil: `${until}T00:00:00.000Z`,
      justification: 'Two approvers sign every payment',
    });
    expect((await findings('?status=accepted')).map((f) => f.seq)).toEqual([sod.seq]);
    const again = await accept({ justification: 'Two approvers sign every payment', until });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({
      code: 'finding_wrong_state',
      detail: `finding #${sod.seq} is accepted: only an open finding can be accepted`,
    });
    const missing = await call('admin', 'POST', '/findings/424242/accept', {
      justification: 'Two approvers sign every payment',
      until,
    });
    expect(missing.statusCode).toBe(404);
    // The next run keeps it accepted.
    expect(await reconcile()).toMatchObject({ findingsOpened: 0, findingsClosed: 0 });
    expect((await one('sod_violation', '&status=accepted')).status).toBe('accepted');
  });

  it('reports the findings as CSV', async () => {
    const orphan = await one('orphan');
    const r = await call('auditor', 'GET', '/reports/findings.csv');
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(r.headers['content-disposition']).toMatch(
      /^attachment; filename="findings-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    const rows = parse(r.body, { bom: true }) as string[][];
    const header = rows[0]!;
    expect(header).toHaveLength(15);
    expect(header).toEqual(
      expect.arrayContaining([
        'Severity',
        'Kind',
        'Status',
        'Target',
        'Account',
        'Person',
        'Employee id',
        'Suggested fix',
        'Monthly cost',
        'Opened',
        'Accepted by',
        'Accepted until',
        'Justification',
      ]),
    );
    const cell = (x: string[], name: string) => x[header.indexOf(name)];
    // Open findings only (the accepted SoD conflict is not among them): the orphan.
    expect(rows).toHaveLength(2);
    const orphanRow = rows[1]!;
    expect(orphanRow[0]).toBe(String(orphan.seq));
    expect(
      ['Severity', 'Kind', 'Status', 'Target', 'Account', 'Person'].map((name) => cell(orphanRow, name)),
    ).toEqual(['high', 'orphan', 'open', 'corp-ldap', `uid=intruder,${slapd.usersDn}`, '']);
    expect(orphanRow).toContain(`Account uid=intruder,${slapd.usersDn} on corp-ldap has no owner`);
    expect(new Date(cell(orphanRow, 'Opened')!).toISOString()).toBe(cell(orphanRow, 'Opened'));
    const accepted = parse((await call('auditor', 'GET', '/reports/findings.csv?status=accepted')).body, {
      bom: true,
    }) as string[][];
    expect(
      accepted.slice(1).map((x) => ['Kind', 'Accepted by', 'Justification'].map((name) => cell(x, name))),
    ).toEqual([['sod_violation', 'admin', 'Two approvers sign every payment']]);
    const bad = await call('auditor', 'GET', '/reports/findings.csv?kind=bogus');
    expect(bad.statusCode).toBe(400);
    expect((await call('auditor', 'GET', '/reports/findings.pdf')).statusCode).toBe(400);
  });

  it('reports who has what as XLSX with an About sheet naming the run', async () => {
    const r = await call('auditor', 'GET', '/reports/access.xlsx');
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers['content-type']).toBe(
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    );
    expect(r.headers['content-disposition']).toMatch(
      /^attachment; filename="who-has-what-\d{4}-\d{2}-\d{2}\.xlsx"$/,
    );
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(r.rawPayload as unknown as ExcelJS.Buffer);
    expect(wb.worksheets.map((s) => s.name)).toEqual(['who-has-what', 'About']);
    const data = wb.getWorksheet('who-has-what')!;
    const values = (n: number) => (data.getRow(n).values as unknown[]).slice(1);
    expect(values(1)).toEqual([
      'Target',
      'Account',
      'Enabled',
      'Owner',
      'Employee id',
      'Department',
      'Title',
      'HR status',
      'Owner found by',
      'Roles',
      'Groups',
      'Last sign-in',
    ]);
    expect(data.rowCount).toBe(5);
    const accounts = [2, 3, 4, 5].map((n) => values(n));
    // Sorted by owner (no owner first): the orphan, then Ann, Bob and Fay with their groups.
    expect(accounts.map((a) => [a[1], a[3] ?? null, a[8]])).toEqual([
      [`uid=intruder,${slapd.usersDn}`, null, 'no owner'],
      [`uid=ann.able,${slapd.usersDn}`, 'Ann Able', 'Gatehouse'],
      [`uid=bob.baker,${slapd.usersDn}`, 'Bob Baker', 'Gatehouse'],
      [`uid=fay.finn,${slapd.usersDn}`, 'Fay Finn', 'Gatehouse'],
    ]);
    // Fay's roles (why she has access) beside her groups (what she has).
    expect(accounts[3]!.slice(9, 11)).toEqual(['Approver; Payer; Staff', 'approve; pay; staff']);
    expect(accounts[0]![9]).toBeUndefined();
    const about = wb.getWorksheet('About')!;
    const meta = new Map<string, string>();
    about.eachRow((x) => meta.set(String(x.getCell(1).value), String(x.getCell(2).value)));
    expect(meta.get('Report')).toBe('Who has what (accounts as the last reconciliation read them)');
    expect(meta.get('Rows')).toBe('4');
    const [last] = (await call('auditor', 'GET', '/reconciliation/runs?limit=1')).json().items as {
      seq: number;
    }[];
    expect(meta.get('Run of corp-ldap')).toMatch(new RegExp(`^#${last!.seq}, completed \\d{4}-`));
    // Filtered by department: only Finance's account.
    const finance = await call('auditor', 'GET', '/reports/access.csv?department=Finance');
    expect(finance.headers['content-type']).toBe('text/csv; charset=utf-8');
    const rows = parse(finance.body, { bom: true }) as string[][];
    expect(rows.slice(1).map((x) => x[3])).toEqual(['Fay Finn']);
    // By role: whoever holds Payer now (by the Finance rule); a role the policy lacks is named.
    const payers = parse((await call('auditor', 'GET', '/reports/access.csv?role=Payer')).body, {
      bom: true,
    }) as string[][];
    expect(payers.slice(1).map((x) => [x[3], x[9]])).toEqual([['Fay Finn', 'Approver; Payer; Staff']]);
    const staff = parse((await call('auditor', 'GET', '/reports/access.csv?role=Staff')).body, {
      bom: true,
    }) as string[][];
    expect(staff.slice(1).map((x) => x[3])).toEqual(['Ann Able', 'Bob Baker', 'Fay Finn']);
    const unknown = await call('auditor', 'GET', '/reports/access.csv?role=Astronaut');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({
      code: 'recon_invalid',
      errors: [{ field: 'role', message: 'no such role in the policy', value: 'Astronaut' }],
    });
  });

  it('a POST without a body queues a run with the defaults (force and wait false)', async () => {
    const runs = async () =>
      (await call('auditor', 'GET', '/reconciliation/runs?limit=1')).json().items as {
        seq: number;
        status: string;
      }[];
    const [before] = await runs();
    const r = await call('agent', 'POST', '/targets/corp-ldap/reconcile');
    expect(r.statusCode, r.body).toBe(202);
    expect(r.json()).toEqual({ queued: true, target: 'corp-ldap' });
    await eventually(async () => {
      const [last] = await runs();
      return last && last.seq > before!.seq && last.status !== 'running';
    }, 'the queued run');
  });

  it('an id that is neither a number nor a uuid is not found, not an internal error', async () => {
    const person = await h.personId('E1');
    const answers: string[] = [];
    for (const [method, url, body] of [
      ['GET', '/findings/not-a-finding', undefined],
      [
        'POST',
        '/findings/not-a-finding/accept',
        { justification: 'long enough to pass', until: daysAhead(10) },
      ],
      ['POST', '/recon-objects/not-an-object/link', { personId: person }],
    ] as const)
      answers.push(`${method} ${url} → ${(await call('admin', method, url, body)).statusCode}`);
    expect(answers.filter((a) => !/→ 40[04]$/.test(a))).toEqual([]);
  });

  it('an agent links an orphan to its owner by hand; the next run keeps the link', async () => {
    await slapd.apply(person('ann2', 'Ann Able'), { add: true, as: 'root' });
    const run = await reconcile();
    expect(run).toMatchObject({ findingsOpened: 1, counts: { unmatched: 2 } });
    const orphan = (await findings('?kind=orphan')).find((f) => f.account?.startsWith('uid=ann2,'))!;
    expect(orphan.evidence.suggestion).toMatchObject({ employeeId: 'E1', name: 'Ann Able' });
    const ann = await h.personId('E1');
    const r = await call('agent', 'POST', `/recon-objects/${orphan.objectId}/link`, { personId: ann });
    expect(r.statusCode, r.body).toBe(204);
    const after = await reconcile();
    expect(after).toMatchObject({
      findingsOpened: 1,
      findingsClosed: 1,
      counts: { manual: 1, unmatched: 1 },
    });
    // Ann already has the account Gatehouse gave her: this one is a second account, no longer an orphan.
    const second = await one('outside_grant');
    expect(second).toMatchObject({
      personName: 'Ann Able',
      account: `uid=ann2,${slapd.usersDn}`,
      severity: 'high',
    });
    expect((await findings('?kind=orphan')).map((f) => f.account)).toEqual([`uid=intruder,${slapd.usersDn}`]);
    const audit = await h.database.pool.query<{ actor_name: string }>(
      `select actor_name from audit_events where action = 'account.linked' and subject_id = $1`,
      [orphan.objectId],
    );
    expect(audit.rows.map((x) => x.actor_name)).toEqual(['agent']);
  });

  it('pages through the findings with `before`, every one exactly once', async () => {
    // A medium finding opened after the high ones: severity orders the list, `before` must still reach it.
    await slapd.apply(`dn: uid=bob.baker,${slapd.usersDn}\nchangetype: modify\nreplace: sn\nsn: Hacker\n`, {
      as: 'root',
    });
    expect(await reconcile()).toMatchObject({ findingsOpened: 1 });
    const all = (await call('auditor', 'GET', '/findings?status=all&limit=500')).json();
    expect(all.items.map((f: Finding) => f.kind)).toContain('drift');
    const seen: number[] = [];
    let next: number | null = null;
    for (let page = 0; page < 20; page++) {
      const r = await call('auditor', 'GET', `/findings?status=all&limit=1${next ? `&before=${next}` : ''}`);
      const body = r.json() as { items: Finding[]; next: number | null };
      seen.push(...body.items.map((f) => f.seq));
      next = body.next;
      if (next === null) break;
    }
    expect(seen).toEqual(all.items.map((f: Finding) => f.seq));
    expect(seen).toHaveLength(all.total);
  });
});
