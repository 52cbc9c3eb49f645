import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../hr/index.ts';
import { Jobs } from '../jobs/index.ts';
import { testContext } from '../testing/context.ts';
import { createTestDatabase, type TestDatabase } from '../testing/db.ts';
import { parseFilter } from './filter.ts';
import { SqlParams, compileSql } from './sql.ts';
import { ENTERPRISE_USER, HR_USER, resolveUserAttribute } from './users.ts';
import { startPublishingJobs } from '../testing/jobs.ts';

/**
 * SCIM User filters over the real identity store: people loaded by an HR import, queried with filters compiled to
 * SQL over `people` — core, enterprise and Gatehouse HR attributes, schema-qualified or not.
 */
let database: TestDatabase;
let jobs: Jobs;

const CSV = [
  'employee_id,first_name,last_name,department,title,cost_center,manager_id,worker_type,status,hire_date,termination_date',
  'E1,Barbara,Jensen,Sales,Tour Guide,CC1,,employee,active,2020-01-01,',
  'E2,Jim,Smith,Sales,Rep,CC1,E1,contractor,active,2021-06-01,',
  "E3,Sean,O'Malley,Engineering,Engineer,CC2,E1,employee,terminated,2019-01-01,2025-01-31",
  'E4,Zoë,Ångström,Engineering,,CC2,E1,intern,active,2026-01-05,',
].join('\n');

async function employees(filter: string): Promise<string[]> {
  const params = new SqlParams();
  const where = compileSql(parseFilter(filter), resolveUserAttribute, params);
  const r = await database.pool.query<{ employee_id: string }>(
    `select p.employee_id from people p where ${where} order by p.employee_id`,
    params.values,
  );
  return r.rows.map((x) => x.employee_id);
}

beforeAll(async () => {
  database = await createTestDatabase();
  jobs = await startPublishingJobs(database, 'scim-test');
  const r = await runImport({ database, jobs }, testContext(), {
    source: 'workday',
    origin: 'cli',
    fileName: 'hr.csv',
    content: Buffer.from(CSV),
    dryRun: false,
  });
  expect(r.errors).toEqual([]);
});
afterAll(async () => {
  await jobs?.stop(5000);
  await database?.drop();
});

describe('SCIM User filters over people', () => {
  it('filters on core attributes: userName, name, emails, active, externalId', async () => {
    expect(await employees('userName eq "barbara.jensen"')).toEqual(['E1']);
    expect(await employees('USERNAME eq "BARBARA.JENSEN"')).toEqual(['E1']);
    expect(await employees('name.familyName co "O\'Malley"')).toEqual(['E3']);
    expect(await employees('name.givenName sw "j"')).toEqual(['E2']);
    // Sean arrived already terminated: he never got a work email.
    expect(await employees('emails[type eq "work" and value ew "@example.com"]')).toEqual(['E1', 'E2', 'E4']);
    expect(await employees('emails pr')).toEqual(['E1', 'E2', 'E4']);
    expect(await employees('emails.value eq "jim.smith@example.com"')).toEqual(['E2']);
    expect(await employees('active eq false')).toEqual(['E3']);
    // externalId is the client's own: people from a CSV have none (RFC 7643 §3.1: not set by the provider).
    expect(await employees('externalId pr')).toEqual([]);
    expect(await employees(`${ENTERPRISE_USER}:employeeNumber eq "E4"`)).toEqual(['E4']);
    expect(await employees(`${ENTERPRISE_USER}:employeeNumber eq "e4"`)).toEqual([]);
    expect(await employees('userType eq "intern" or title pr and not (title eq "Rep")')).toEqual([
      'E1',
      'E3',
      'E4',
    ]);
    expect(await employees('displayName co "ångström"')).toEqual(['E4']);
  });

  it('filters on the enterprise and Gatehouse HR extensions, qualified or not', async () => {
    expect(await employees(`${ENTERPRISE_USER}:department eq "Engineering"`)).toEqual(['E3', 'E4']);
    expect(await employees('costCenter eq "CC1"')).toEqual(['E1', 'E2']);
    expect(await employees(`${HR_USER}:workerType eq "contractor"`)).toEqual(['E2']);
    expect(await employees(`${HR_USER}:hireDate ge "2021-01-01T00:00:00Z"`)).toEqual(['E2', 'E4']);
    expect(await employees(`${HR_USER}:terminationDate pr`)).toEqual(['E3']);
    const barbara = (await database.pool.query(`select id from people where employee_id = 'E1'`)).rows[0]
      .id as string;
    expect(await employees(`${ENTERPRISE_USER}:manager.value eq "${barbara}"`)).toEqual(['E2', 'E3', 'E4']);
  });

  it("orders text case-insensitively in ICU order: Ångström sorts with the A's, not after z", async () => {
    expect(await employees('name.familyName lt "b"')).toEqual(['E4']);
    expect(await employees('name.familyName gt "s"')).toEqual(['E2']);
    expect(await employees('name.familyName ge "ANGSTROM"')).toEqual(['E1', 'E2', 'E3', 'E4']);
  });

  it('serves userName eq and sw from the folded userName index (byte order)', async () => {
    const plan = async (filter: string) => {
      const params = new SqlParams();
      const where = compileSql(parseFilter(filter), resolveUserAttribute, params);
      const client = await database.pool.connect();
      try {
        // Four people: the planner would rather read the table, so sequential scans are priced out.
        await client.query('begin');
        await client.query('set local enable_seqscan = off');
        const r = await client.query<{ 'QUERY PLAN': string }>(
          `explain select p.id from people p where ${where}`,
          params.values,
        );
        return r.rows.map((x) => x['QUERY PLAN']).join('\n');
      } finally {
        await client.query('rollback');
        client.release();
      }
    };
    expect(await plan('userName eq "Barbara.Jensen"')).toMatch(/people_scim_username_idx/);
    expect(await plan('userName sw "barb"')).toMatch(/people_scim_username_idx/);
    // A comparison the index cannot serve is still planned (as a filter): the test can tell the two apart.
    expect(await plan('title eq "Rep"')).not.toMatch(/people_scim_username_idx/);
  });

  it('prepares a userName filter value as PRECIS does (RFC 7644 §5): width-mapped and NFC, before LIKE escapes', async () => {
    // Fullwidth letters are their ordinary ones.
    expect(await employees('userName eq "ｂａｒｂａｒａ.jensen"')).toEqual(['E1']);
    expect(await employees('userName sw "ＢＡＲＢ"')).toEqual(['E1']);
    // A fullwidth percent is a percent sign, matched literally, not LIKE's wildcard.
    expect(await employees('userName sw "％"')).toEqual([]);
    expect(await employees('userName co "_"')).toEqual([]);
  });

  it('compares a certificate (binary) exactly and refuses to order it (RFC 7644 §3.4.2.2)', async () => {
    const der = 'MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx';
    await database.pool.query(
      `update people set attributes = coalesce(attributes, '{}'::jsonb) || jsonb_build_object('scim.x509Certificates', $1::text)
       where employee_id = 'E2'`,
      [JSON.stringify([{ value: der }])],
    );
    expect(await employees(`x509Certificates.value eq "${der}"`)).toEqual(['E2']);
    expect(await employees(`x509Certificates[value sw "MIIDQz"]`)).toEqual(['E2']);
    // base64 is case-sensitive: another case is another certificate.
    expect(await employees(`x509Certificates.value eq "${der.toLowerCase()}"`)).toEqual([]);
    for (const op of ['gt', 'ge', 'lt', 'le'])
      expect(() =>
        compileSql(parseFilter(`x509Certificates.value ${op} "M"`), resolveUserAttribute, new SqlParams()),
      ).toThrow(
        expect.objectContaining({
          code: 'scim_invalid_filter',
          message: expect.stringMatching(/has no order/),
        }),
      );
    // Other multi-valued text still orders.
    expect(await employees('emails.value gt "y"')).toEqual(['E4']);
  });

  it('keeps injection attempts as values and refuses attributes Users do not have', async () => {
    expect(await employees(`userName eq "barbara.jensen' or '1'='1"`)).toEqual([]);
    expect(await employees('name.familyName co "%"')).toEqual([]);
    expect(() =>
      compileSql(parseFilter(`${ENTERPRISE_USER}:userName eq "x"`), resolveUserAttribute, new SqlParams()),
    ).toThrow(/no attribute/);
    expect(() => compileSql(parseFilter('password eq "x"'), resolveUserAttribute, new SqlParams())).toThrow(
      /no attribute/,
    );
  });
});
