import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../testing/db.ts';
import { copyRows } from './copy.ts';
import { transaction } from './pool.ts';
import { forEachSliced, WriteBehind } from './write-behind.ts';

describe('WriteBehind', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('runs queued writes in order: a later statement sees the rows an earlier one loaded', async () => {
    const seen = await transaction(db, async (tx) => {
      const writes = new WriteBehind();
      writes.add(() => tx.client.query('create temp table wb (n int primary key) on commit drop'));
      // A small load (one INSERT) and a large one (COPY), queued without waiting.
      writes.add(() => copyRows(tx.client, 'wb', ['n'], [[1], [2]]));
      writes.add(() =>
        copyRows(
          tx.client,
          'wb',
          ['n'],
          Array.from({ length: 5_000 }, (_, i) => [i + 10]),
        ),
      );
      const count = writes.run(() => tx.client.query<{ n: number }>('select count(*)::int as n from wb'));
      await writes.done();
      return (await count).rows[0]!.n;
    });
    expect(seen).toBe(5_002);
  });

  it('reports the first failure, not the "transaction is aborted" of the statements after it', async () => {
    const started: string[] = [];
    const failure = await transaction(db, async (tx) => {
      const writes = new WriteBehind();
      writes.add(() => tx.client.query('create temp table wb2 (n int primary key) on commit drop'));
      writes.add(() => copyRows(tx.client, 'wb2', ['n'], [[1], [1]])); // duplicate key: 23505
      writes.add(() => {
        started.push('after');
        return tx.client.query('select 1');
      });
      const needed = writes.run(() => {
        started.push('needed');
        return tx.client.query('select 2');
      });
      const fromRun = await needed.then(
        () => null,
        (e: unknown) => e as { code?: string },
      );
      const fromDone = await writes.done().then(
        () => null,
        (e: unknown) => e as { code?: string },
      );
      return { fromRun, fromDone };
    }).catch((e: unknown) => ({ escaped: e }));
    expect(failure).toMatchObject({ fromRun: { code: '23505' }, fromDone: { code: '23505' } });
    // Nothing queued after the failure was started.
    expect(started).toEqual([]);
  });

  it('abandon(): waits for the write in progress, and nothing queued after it starts (it would run after a ROLLBACK)', async () => {
    const c = await db.pool.connect();
    try {
      const events: string[] = [];
      const writes = new WriteBehind();
      let started!: () => void;
      const inProgress = new Promise<void>((resolve) => (started = resolve));
      writes.add(async () => {
        started();
        await c.query('select pg_sleep(0.2)');
        events.push('in progress: finished');
      });
      writes.add(async () => {
        events.push('queued: started');
        await c.query('select 1');
      });
      const later = writes.run(async () => {
        events.push('needed: started');
        return 1;
      });
      await inProgress;
      await writes.abandon();
      events.push('abandon returned');
      expect(events).toEqual(['in progress: finished', 'abandon returned']);
      await expect(later).rejects.toThrow(/abandoned/);
    } finally {
      c.release();
    }
  });

  it('leaves no unhandled rejection when nobody waits for a failed write until later', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const writes = new WriteBehind();
      writes.add(() => Promise.reject(new Error('first')));
      const later = writes.run(() => Promise.resolve(1));
      await new Promise((r) => setTimeout(r, 50));
      await expect(later).rejects.toThrow('first');
      await expect(writes.done()).rejects.toThrow('first');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });
});

describe('forEachSliced', () => {
  it('calls fn on every item in order and lets other work run between slices', async () => {
    const order: number[] = [];
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 0);
    try {
      await forEachSliced(
        Array.from({ length: 2_000 }, (_, i) => i),
        (i) => {
          order.push(i);
          const until = performance.now() + 0.05; // work: 2,000 × 50 µs = 100 ms in all
          while (performance.now() < until);
        },
        5,
      );
    } finally {
      clearInterval(timer);
    }
    expect(order).toEqual(Array.from({ length: 2_000 }, (_, i) => i));
    // Without the turns between slices the timer could not have fired during the 100 ms of work.
    expect(ticks).toBeGreaterThan(2);
  });
});
