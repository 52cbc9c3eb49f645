/**
 * What database benches share: a throwaway embedded PostgreSQL in a temp directory, migrated, with the job system
 * started without workers (jobs a bench's imports publish stay queued), a secret box and a CLI-like context.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

/**
 * CPU seconds used so far by a process and all its live descendants, plus what its reaped children used
 * (/proc/PID/stat fields utime, stime, cutime, cstime in clock ticks). Undefined where /proc cannot be read.
 */
export function processTreeCpuSeconds(rootPid: number | undefined): number | undefined {
  if (!rootPid) return undefined;
  const stats = new Map<number, { ppid: number; ticks: number }>();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return undefined;
  }
  for (const e of entries) {
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // After the command: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
      stats.set(Number(e), {
        ppid: Number(f[1]),
        ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
      });
    } catch {
      // The process ended while we were reading.
    }
  }
  if (!stats.has(rootPid)) return undefined;
  const children = new Map<number, number[]>();
  for (const [pid, s] of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  let ticks = 0;
  const todo = [rootPid];
  while (todo.length) {
    const pid = todo.pop()!;
    ticks += stats.get(pid)?.ticks ?? 0;
    todo.push(...(children.get(pid) ?? []));
  }
  return ticks / 100;
}
