import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { openDatabase, withDatabase, type Database } from '../db/index.ts';

export interface TestDatabase extends Database {
  name: string;
  /** Drop the database (closes the pool first). */
  drop(): Promise<void>;
}

/** A fresh database cloned from the migrated template: isolated per test file (or per test). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = inject('pgServerUrl');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name} template ${inject('pgTemplate')}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(serverUrl, name);
  const database = openDatabase(url, { max: 20 });
  return {
    ...database,
    name,
    drop: async () => {
      await database.close().catch(() => undefined);
      const a = new pg.Client({ connectionString: serverUrl });
      await a.connect();
      try {
        await a.query(`drop database if exists ${name} with (force)`);
      } finally {
        await a.end();
      }
    },
  };
}

/** A superuser session on a test database, e.g. to tamper with rows the way an attacker with DB access could. */
export async function superuser<T>(
  database: Pick<Database, 'url'>,
  fn: (c: pg.Client) => Promise<T>,
): Promise<T> {
  const c = new pg.Client({ connectionString: database.url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
