import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate as drizzleMigrate } from 'drizzle-orm/node-postgres/migrator';
import { drizzle } from 'drizzle-orm/node-postgres';
import { readdirSync, readFileSync } from 'node:fs';
import type pg from 'pg';
import type { Database } from './pool.ts';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');
const MIGRATION_LOCK = 7_201_001; // advisory lock id: "one migrator at a time"

/** Apply pending SQL migrations. Safe to call from any number of processes at once. */
export async function migrate(database: Database): Promise<{ applied: number; total: number }> {
  const client = await database.pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const before = await countApplied(client);
    await drizzleMigrate(drizzle(client), {
      migrationsFolder: MIGRATIONS_DIR,
      migrationsSchema: 'gatehouse_meta',
    });
    const after = await countApplied(client);
    return { applied: after - before, total: migrationCount() };
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
}

export function migrationCount(): number {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as {
    entries: unknown[];
  };
  return journal.entries.length;
}

async function countApplied(client: pg.PoolClient): Promise<number> {
  const exists = await client.query<{ t: string | null }>(
    `select to_regclass('gatehouse_meta.__drizzle_migrations')::text as t`,
  );
  if (!exists.rows[0]?.t) return 0;
  const r = await client.query<{ n: number }>(
    'select count(*)::int as n from gatehouse_meta.__drizzle_migrations',
  );
  return r.rows[0]?.n ?? 0;
}

/** Number of migrations known to the code that the database has not applied yet (0 = current). */
export async function pendingMigrations(database: Database): Promise<number> {
  const client = await database.pool.connect();
  try {
    return migrationCount() - (await countApplied(client));
  } finally {
    client.release();
  }
}

export function listMigrationFiles(): string[] {
  return readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql'));
}
