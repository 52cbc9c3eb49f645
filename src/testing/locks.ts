import { transaction, type Database, type Tx } from '../db/index.ts';
import { eventually } from './processes.ts';

/**
 * Two writers that contend for an advisory lock, in a fixed order: `first` runs in a transaction and, done but not
 * yet committed, holds its locks while `second` starts and is seen waiting for an advisory lock (pg_locks); then
 * `first` commits. What `second` read under the lock must then include what `first` committed: the test of a "lock,
 * then read" done in one statement, which would otherwise read as of before the wait.
 */
export async function afterWaitingForLock<A, B>(
  db: Database,
  first: (tx: Tx) => Promise<A>,
  second: () => Promise<B>,
): Promise<[A, B]> {
  let holding!: () => void;
  const held = new Promise<void>((r) => (holding = r));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const a = transaction(db, async (tx) => {
    const out = await first(tx);
    holding();
    await released;
    return out;
  });
  await held;
  const b = second();
  b.catch(() => undefined); // awaited below, once `first` has committed
  await eventually(
    async () =>
      (
        await db.pool.query<{ n: number }>(
          `select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`,
        )
      ).rows[0]!.n > 0,
    'the second writer to wait for the lock',
    10_000,
  );
  release();
  return [await a, await b];
}
