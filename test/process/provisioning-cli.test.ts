import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRET_KEY } from '../../src/testing/api.ts';
import { createTestDatabase, type TestDatabase } from '../../src/testing/db.ts';
import { cleanEnv, runCli } from '../../src/testing/processes.ts';
import { slapdSkipReason, startSlapd, type Slapd } from '../../src/testing/slapd.ts';

/**
 * `gatehouse policy`, `entitlements`, `changes` and `access` as an administrator runs them: policy as code with
 * errors that name file, line and path (exit 2), a dry run that shows who would gain what, applying it, and the
 * change set it produced — against a real slapd.
 */
let database: TestDatabase;
let slapd: Slapd;
let env: Record<string, string>;
let dir: string;

const json = (r: { stdout: string }) => JSON.parse(r.stdout);

const POLICY = `settings:
  massChange: { threshold: 0.9, minimum: 10 }
targets:
  corp-ldap:
    account:
      attributes:
        uid: person.username
        cn: person.displayName
        sn: person.lastName
roles:
  - name: Staff
    grants: [{ target: corp-ldap, entitlement: staff }]
rules:
  - name: Everyone
    when: person.workerType == "employee"
    roles: [Staff]
`;

describe.skipIf(slapdSkipReason())('provisioning CLI', () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    slapd = await startSlapd({
      extraLdif: `dn: cn=staff,${'ou=groups,dc=example,dc=test'}\nobjectClass: groupOfNames\ncn: staff\nmember: \n`,
    });
    env = cleanEnv({ DATABASE_URL: database.url, GATEHOUSE_SECRET_KEY: TEST_SECRET_KEY });
    dir = mkdtempSync(join(tmpdir(), 'gh-policy-cli-'));
    const { bindPassword, ...config } = slapd.connectorConfig();
    writeFileSync(join(dir, 'ldap.json'), JSON.stringify(config));
    writeFileSync(join(dir, 'ldap.secrets'), `bindPassword=${bindPassword}\n`);
    const added = await runCli(
      [
        'targets',
        'add',
        'corp-ldap',
        '--connector',
        'ldap',
        '--config',
        join(dir, 'ldap.json'),
        '--secrets-file',
        join(dir, 'ldap.secrets'),
      ],
      env,
    );
    expect(added.code, added.stderr).toBe(0);
    writeFileSync(
      join(dir, 'hr.csv'),
      'employee_id,first_name,last_name,worker_type,hire_date\nE1,Ada,Lovelace,employee,2020-01-01\nE2,Alan,Turing,employee,2020-01-01\n',
    );
    const hr = await runCli(['hr', 'import', join(dir, 'hr.csv'), '--source', 'workday', '--json'], env);
    expect(hr.code, hr.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await slapd?.stop();
    await database?.drop();
  });

  it('discovers entitlements and lists them', async () => {
    const d = await runCli(['entitlements', 'discover', 'corp-ldap'], env);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toContain('corp-ldap: 1 groups read; 1 added, 0 updated, 0 no longer found.');
    const list = json(await runCli(['entitlements', 'list', '--json'], env));
    expect(list.items.map((e: { key: string }) => e.key)).toEqual(['staff']);
  });

  it('refuses a bad policy file with the line and path of each problem (exit 2), and changes nothing', async () => {
    writeFileSync(
      join(dir, 'bad.yaml'),
      POLICY.replace('person.lastName', 'person.surname').replace('[Staff]', '[Staf]'),
    );
    const r = await runCli(['policy', 'apply', '-f', join(dir, 'bad.yaml'), '--dry-run'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad.yaml:9:13: targets.corp-ldap.account.attributes.sn');
    expect(r.stderr).toContain('person.surname does not exist');
    expect(r.stderr).toMatch(/bad\.yaml:16:\d+: rules\[0\]\.roles\[0\]/);
    const j = await runCli(['policy', 'apply', '-f', join(dir, 'bad.yaml'), '--json'], env);
    expect(j.code).toBe(2);
    expect(json(j).error.code).toBe('policy_invalid');
    expect(json(await runCli(['policy', 'export', '--json'], env)).version).toBe(0);
  });

  it('a dry run shows who would gain what; apply records the change set; export gives the file back', async () => {
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    const dry = await runCli(['policy', 'apply', '-f', join(dir, 'policy.yaml'), '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('policy.yaml is valid. Dry run — nothing was changed.');
    expect(dry.stdout).toContain('2 of 2 people affected: 4 gains, 0 losses, 4 operations');
    expect(dry.stdout).toContain('+ Ada Lovelace: corp-ldap staff (rule "Everyone" → Staff)');

    const applied = await runCli(
      ['policy', 'apply', '-f', join(dir, 'policy.yaml'), '--comment', 'first', '--json'],
      env,
    );
    expect(applied.code, applied.stderr).toBe(0);
    const a = json(applied);
    expect(a).toMatchObject({ dryRun: false, version: 1, changeSet: { status: 'approved', opCount: 4 } });

    const list = await runCli(['changes', 'list'], env);
    expect(list.stdout).toMatch(/1\s+approved\s+Policy version 1: first\s+2\s+4/);
    const show = await runCli(['changes', 'show', '1'], env);
    expect(show.stdout).toContain('Ada Lovelace');
    expect(show.stdout).toContain('corp-ldap: create account on corp-ldap');
    expect(show.stdout).toContain('corp-ldap: add to staff');

    const out = join(dir, 'exported.yaml');
    expect((await runCli(['policy', 'export', '-o', out], env)).code).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('naming:');
    expect(text).toContain('when: person.workerType == "employee"');
    // The exported file applies again with nothing to change.
    const again = json(await runCli(['policy', 'apply', '-f', out, '--dry-run', '--json'], env));
    expect(again.impact).toMatchObject({ gainCount: 0, lossCount: 0 });
  });

  it('shows a person’s access and why, and refuses an unknown person', async () => {
    const r = await runCli(['access', 'E1'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Roles: Staff (rule "Everyone")');
    expect(r.stdout).toContain('corp-ldap: no account');
    expect(r.stdout).toContain('+ missing staff ← rule "Everyone" → Staff');
    const none = await runCli(['access', 'nobody'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no person "nobody"');
  });
});
