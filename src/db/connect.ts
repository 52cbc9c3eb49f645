import { join } from 'node:path';
import pg from 'pg';
import type { Config } from '../config/index.ts';
import { redactUrl } from '../config/index.ts';
import { GatehouseError, describeError } from '../kit/errors.ts';
import type { Logger } from '../kit/log.ts';
import {
  acquireLock,
  embeddedPassword,
  isLive,
  readLock,
  releaseLock,
  updateLock,
  type LockInfo,
} from './data-dir.ts';
import { waitForDatabase } from './pool.ts';
import { PostgresServer } from './postgres-server.ts';

export const ConnectErrors = { unreachable: 'database_unreachable' } as const;

export const EMBEDDED_DATABASE = 'gatehouse';

/**
 * How this process reaches PostgreSQL:
 * - external: DATABASE_URL is set; every process is a peer on that server.
 * - embedded-owner: this process owns the data directory and runs (and supervises) its PostgreSQL.
 * - embedded-attached: another live Gatehouse process owns the directory; connect to its PostgreSQL.
 */
export interface DatabaseConnection {
  url: string;
  mode: 'external' | 'embedded-owner' | 'embedded-attached';
  server?: PostgresServer;
  owner?: LockInfo;
  /** Stop the embedded server (owner) and release the directory. Idempotent. */
  release(): Promise<void>;
}

export async function connectDatabase(
  config: Config,
  log: Logger,
  opts: { command: string; onServerRestart?: (ok: boolean) => void } = { command: 'gatehouse' },
): Promise<DatabaseConnection> {
  if (config.databaseUrl) {
    try {
      await waitForDatabase(config.databaseUrl, config.dbConnectTimeoutMs);
    } catch (e) {
      throw new GatehouseError(
        ConnectErrors.unreachable,
        `DATABASE_URL: cannot connect to ${redactUrl(config.databaseUrl)}: ${describeError(e)}`,
        { cause: e, status: 503, retryable: true },
      );
    }
    return { url: config.databaseUrl, mode: 'external', release: async () => undefined };
  }

  const dataDir = config.dataDir;
  const got = acquireLock(dataDir, opts.command);
  if (!got.acquired) return attach(config, got.owner);

  let server: PostgresServer | undefined;
  try {
    const password = embeddedPassword(dataDir, true);
    server = new PostgresServer({
      clusterDir: join(dataDir, 'pg'),
      port: config.embeddedPgPort,
      password,
      log: log.child({ component: 'embedded-postgres' }),
      onRestart: opts.onServerRestart,
    });
    const firstStart = !server.isInitialised();
    if (firstStart) log.info({ dataDir }, 'creating the embedded PostgreSQL cluster (first start)');
    await server.start();
    await ensureDatabase(server.url, EMBEDDED_DATABASE);
    updateLock(dataDir, { ...got.lock, pgPort: server.port });
    log.info({ port: server.port, dataDir }, 'embedded PostgreSQL is running');
  } catch (e) {
    await server?.stop().catch(() => undefined);
    releaseLock(dataDir);
    throw e;
  }
  const url = withDatabase(server.url, EMBEDDED_DATABASE);
  let released = false;
  return {
    url,
    mode: 'embedded-owner',
    server,
    release: async () => {
      if (released) return;
      released = true;
      await server.stop();
      releaseLock(dataDir);
    },
  };
}

async function attach(config: Config, owner: LockInfo): Promise<DatabaseConnection> {
  // The owner writes its port once its PostgreSQL is up; wait for that (it may be starting right now).
  const deadline = Date.now() + Math.max(config.dbConnectTimeoutMs, 60_000);
  let lock: LockInfo | undefined = owner;
  while (lock?.pgPort === undefined && isLive(lock) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    lock = readLock(config.dataDir);
  }
  if (!isLive(lock) || lock.pgPort === undefined) {
    throw new GatehouseError(
      ConnectErrors.unreachable,
      `GATEHOUSE_DATA_DIR: ${config.dataDir} is owned by process ${owner.pid} (${owner.command}) but its database did not become available`,
      { status: 503, retryable: true },
    );
  }
  const password = embeddedPassword(config.dataDir, false);
  const url = `postgres://gatehouse:${encodeURIComponent(password)}@127.0.0.1:${lock.pgPort}/${EMBEDDED_DATABASE}`;
  try {
    await waitForDatabase(url, config.dbConnectTimeoutMs);
  } catch (e) {
    throw new GatehouseError(
      ConnectErrors.unreachable,
      `GATEHOUSE_DATA_DIR: cannot reach the embedded database of process ${lock.pid} on port ${lock.pgPort}: ${describeError(e)}`,
      { cause: e, status: 503, retryable: true },
    );
  }
  return { url, mode: 'embedded-attached', owner: lock, release: async () => undefined };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function ensureDatabase(serverUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const r = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (r.rowCount === 0) await client.query(`create database ${pg.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}
