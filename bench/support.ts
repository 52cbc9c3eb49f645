/**
 * What database benches share: a throwaway embedded PostgreSQL in a temp directory, migrated, with the job system
 * started without workers (jobs a bench's imports publish stay queued), a secret box and a CLI-like context.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate, openDatabase, PostgresServer, type Database } from '../src/db/index.ts';
import { Jobs } from '../src/jobs/index.ts';
import { systemClock, type Clock } from '../src/kit/clock.ts';
import type { CommandContext } from '../src/kit/context.ts';
import { createLogger, silentLogger } from '../src/kit/log.ts';
import { secretBox, type SecretBox } from '../src/kit/secret-box.ts';
import { ALL_QUEUES } from '../src/runtime/queues.ts';

export interface BenchDatabase {
  server: PostgresServer;
  db: Database;
  jobs: Jobs;
  secrets: SecretBox;
  clock: Clock;
  ctx: CommandContext;
  /** Stop everything and remove the directory (never throws). */
  close(): Promise<void>;
}

export async function startBenchDatabase(name: string, opts: { max?: number } = {}): Promise<BenchDatabase> {
  const dir = mkdtempSync(join(tmpdir(), `gh-bench-${name}-`));
  const server = new PostgresServer({
    clusterDir: join(dir, 'pg'),
    port: 0,
    password: randomBytes(18).toString('base64url'),
    log: createLogger({ level: 'warn', name: 'bench' }),
  });
  await server.start();
  const db = openDatabase(server.url, { max: opts.max ?? 4 });
  const clock = systemClock;
  const jobs = new Jobs({
    pool: db.pool,
    log: silentLogger,
    clock,
    queues: ALL_QUEUES,
    workerId: 'bench',
    concurrency: 1,
  });
  const close = async () => {
    await jobs.stop(2000).catch(() => undefined);
    await db.close().catch(() => undefined);
    await server.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await migrate(db);
    await jobs.start({ work: false });
  } catch (e) {
    await close();
    throw e;
  }
  return {
    server,
    db,
    jobs,
    secrets: secretBox(randomBytes(32), 'bench'),
    clock,
    ctx: { actor: { type: 'cli', id: 'bench', name: 'bench' }, clock, ids: randomUUID },
    close,
  };
}
