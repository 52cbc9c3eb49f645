/**
 * `npm test`: the whole suite, the same on a laptop and in CI.
 *   1. typecheck (server and console)  2. lint  3. format check  4. build the console
 *   5. every test against the embedded PostgreSQL (the default deployment), including the browser tests that drive
 *      the console in Debian's Chromium
 *   6. the database-backed tests again against Debian's PostgreSQL server (the oldest supported major, 15), so that
 *      production-version differences show up. Required when CI=true; skipped with a hint otherwise.
 * Ends with one summary line: "tests: N passed, N failed, N skipped". A test file that fails outside its tests
 * (e.g. in beforeAll) counts as a failure, never as skipped tests.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const ci = process.env.CI === 'true' || process.env.CI === '1';
const bin = (name: string) => join('node_modules', '.bin', name);
const failures: string[] = [];
const totals = { passed: 0, failed: 0, skipped: 0 };

function step(name: string, cmd: string, args: string[], env: Record<string, string> = {}): boolean {
  process.stdout.write(`\n▶ ${name}\n`);
  // Run every tool with this script's Node (24), whatever `node` is first on PATH.
  const argv = cmd === process.execPath ? args : [cmd, ...args];
  const r = spawnSync(process.execPath, argv, { stdio: 'inherit', env: { ...process.env, ...env } });
  const ok = r.status === 0;
  if (!ok) failures.push(name);
  return ok;
}

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numTotalTests: number;
  testResults: { name: string; status: string; message?: string; assertionResults: { status: string }[] }[];
}

function countResults(file: string, label: string): void {
  if (!existsSync(file)) {
    failures.push(`${label} (no results written)`);
    totals.failed += 1;
    return;
  }
  const r = JSON.parse(readFileSync(file, 'utf8')) as VitestJson;
  // A file that failed before or around its tests (setup, beforeAll) has no failed assertion of its own.
  const brokenFiles = r.testResults.filter(
    (f) => f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed'),
  );
  const skippedInBrokenFiles = brokenFiles.reduce(
    (n, f) => n + f.assertionResults.filter((a) => a.status !== 'passed').length,
    0,
  );
  totals.passed += r.numPassedTests;
  totals.failed +=
    r.numFailedTests +
    skippedInBrokenFiles +
    brokenFiles.filter((f) => f.assertionResults.length === 0).length;
  totals.skipped += r.numPendingTests + r.numTodoTests - skippedInBrokenFiles;
  for (const f of brokenFiles)
    failures.push(`${label}: ${f.name.replace(process.cwd() + '/', '')} failed to run its tests`);
  if (r.numTotalTests === 0 && only.length === 0) failures.push(`${label} ran no tests`);
}

function systemPostgres(): string | undefined {
  for (const v of ['15', '16', '17']) if (existsSync(`/usr/lib/postgresql/${v}/bin/postgres`)) return v;
  return undefined;
}

const only = process.argv.slice(2); // optional vitest filters, e.g. `npm test -- src/audit`
rmSync('test-results', { recursive: true, force: true });
mkdirSync('test-results', { recursive: true });

if (only.length === 0) {
  step('typecheck (tsc --noEmit)', bin('tsc'), ['--noEmit', '-p', '.']);
  step('typecheck console (tsc --noEmit -p apps/web)', bin('tsc'), ['--noEmit', '-p', 'apps/web']);
  step('lint (eslint)', bin('eslint'), ['.', '--max-warnings=0']);
  step('format (prettier --check)', bin('prettier'), ['--check', '.', '--log-level', 'warn']);
}

// The browser tests need the built console.
step('build console', 'scripts/build-web.ts', []);

const vitest = (label: string, out: string, pg: string, extra: string[]) => {
  step(
    label,
    bin('vitest'),
    [
      'run',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${out}`,
      ...extra,
      ...(only.length ? ['--passWithNoTests'] : []),
      ...only,
    ],
    { GATEHOUSE_TEST_PG: pg },
  );
  countResults(out, label);
};

vitest('tests on embedded PostgreSQL', 'test-results/embedded.json', 'embedded', []);

const pgv = systemPostgres();
if (pgv) {
  // The embedded-lifecycle and browser tests run their own embedded server; everything else runs again on Debian's.
  vitest(`tests on Debian PostgreSQL ${pgv}`, 'test-results/system.json', 'system', [
    '--exclude',
    'test/process/embedded.test.ts',
    '--exclude',
    'test/browser/**',
  ]);
} else if (ci) {
  failures.push('Debian PostgreSQL server not installed (CI requires it: apt-get install postgresql-15)');
} else {
  process.stdout.write(
    '\n(skipping the second pass on Debian PostgreSQL: install it with "apt-get install postgresql-15")\n',
  );
}

process.stdout.write('\n');
if (failures.length) process.stdout.write(`Failed steps: ${failures.join('; ')}\n`);
process.stdout.write(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exit(failures.length ? 1 : 0);
