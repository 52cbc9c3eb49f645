/**
 * `npm test`: the whole suite, the same on a laptop and in CI.
 *   1. typecheck  2. lint  3. format check
 *   4. every test against the embedded PostgreSQL (the default deployment)
 *   (the console is built first: the browser tests in test/browser drive it in Debian's Chromium)
 *   5. the database-backed tests again against Debian's PostgreSQL server (the oldest supported major, 15),
 *      so that production-version differences show up. Required when CI=true; skipped with a hint otherwise.
 * Ends with one summary line: "tests: N passed, N failed, N skipped".
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
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  const ok = r.status === 0;
  if (!ok) failures.push(name);
  return ok;
}

function countResults(file: string, label: string): void {
  if (!existsSync(file)) {
    failures.push(`${label} (no results written)`);
    return;
  }
  const r = JSON.parse(readFileSync(file, 'utf8')) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
    numTotalTests: number;
  };
  totals.passed += r.numPassedTests;
  totals.failed += r.numFailedTests;
  totals.skipped += r.numPendingTests + r.numTodoTests;
  if (r.numTotalTests === 0) failures.push(`${label} ran no tests`);
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

step(
  'tests on embedded PostgreSQL',
  bin('vitest'),
  ['run', '--reporter=default', '--reporter=json', '--outputFile.json=test-results/embedded.json', ...only],
  {
    GATEHOUSE_TEST_PG: 'embedded',
  },
);
countResults('test-results/embedded.json', 'embedded pass');

const pgv = systemPostgres();
if (pgv) {
  // The embedded-lifecycle tests exercise the embedded server itself; everything else runs again on Debian's.
  step(
    `tests on Debian PostgreSQL ${pgv}`,
    bin('vitest'),
    [
      'run',
      '--reporter=default',
      '--reporter=json',
      '--outputFile.json=test-results/system.json',
      '--exclude',
      'test/process/embedded.test.ts',
      ...only,
    ],
    {
      GATEHOUSE_TEST_PG: 'system',
    },
  );
  countResults('test-results/system.json', 'system PostgreSQL pass');
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
