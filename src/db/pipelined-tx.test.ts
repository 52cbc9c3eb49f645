import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../testing/db.ts';
import { copyRows } from './copy.ts';
import { pipelinedTransaction, statementsSent, together, transaction, type Tx } from './pool.ts';
import { WriteBehind } from './write-behind.ts';

/** Pipelined write transactions against real PostgreSQL: fewer round trips, the same all-or-nothing. */
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query('create table pt (n int primary key, s text)');
});
afterAll(async () => {
  await db?.drop();
});

const count = async () =>
  (await db.pool.query<{ n: number }>('select count(*)::int as n from pt')).rows[0]!.n;

describe('pipelinedTransaction', () => {
  it('commits what it wrote, on a pipelined connection', async () => {
    await db.pool.query('truncate pt');
    const pipelined = await pipelinedTransaction(db, async (tx) => {
      await tx.client.query('insert into pt values (1, $1)', ['one']);
      return tx.pipelined;
    });
    expect(pipelined).toBe(true);
    expect(await count()).toBe(1);
  });

  it('rolls back everything when the function throws', async () => {
    await db.pool.query('truncate pt');
    await expect(
      pipelinedTransaction(db, async (tx) => {
        await tx.client.query('insert into pt values (1, $1)', ['one']);
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(await count()).toBe(0);
  });

  it('fails with a statement nobody waited for, and commits nothing (COMMIT of an aborted transaction only rolls back)', async () => {
    await db.pool.query('truncate pt');
    const failure = await pipelinedTransaction(db, async (tx) => {
      await tx.client.query('insert into pt values (1, $1)', ['one']);
      tx.unanswered!(tx.client.query('insert into pt values (1, $1)', ['again'])); // duplicate key
      return 'returned';
    }).catch((e: unknown) => e as { code?: string });
    expect(failure).toMatchObject({ code: '23505' });
    expect(await count()).toBe(0);
  });

  it('ends a transaction its COMMIT ended without a ROLLBACK after it (no "no transaction in progress")', async () => {
    await db.pool.query('truncate pt');
    const notices: string[] = [];
    const listen = (client: { on(e: 'notice', f: (n: { message?: string }) => void): void }) =>
      client.on('notice', (n) => notices.push(n.message ?? ''));
    db.pipelined!.on('acquire', listen);
    try {
      for (let i = 0; i < 3; i++) {
        const failure = await pipelinedTransaction(db, async (tx) => {
          tx.unanswered!(tx.client.query('insert into pt values (1, null), (1, null)')); // 23505
          return 'returned';
        }).catch((e: unknown) => e as { code?: string });
        expect(failure).toMatchObject({ code: '23505' });
      }
      // The connection is still usable, and a transaction's own failure before COMMIT is still rolled back.
      await expect(
        pipelinedTransaction(db, async (tx) => {
          await tx.client.query('insert into pt values (2, null)');
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
      await pipelinedTransaction(db, async (tx) => {
        await tx.client.query('insert into pt values (3, null)');
      });
    } finally {
      db.pipelined!.off('acquire', listen);
    }
    expect(notices).toEqual([]);
    expect((await db.pool.query('select n from pt')).rows).toEqual([{ n: 3 }]);
  });

  it('reports the first failure when the statements after it fail too', async () => {
    await db.pool.query('truncate pt');
    const failure = await pipelinedTransaction(db, async (tx) => {
      tx.unanswered!(tx.client.query('insert into pt values (1, null), (1, null)')); // 23505
      await tx.client.query('select 1'); // 25P02: the transaction is aborted
    }).catch((e: unknown) => e as { code?: string });
    expect(failure).toMatchObject({ code: '23505' });
    expect(await count()).toBe(0);
  });

  it('leaves the connection usable after a failure', async () => {
    await db.pool.query('truncate pt');
    for (let i = 0; i < 6; i++)
      await pipelinedTransaction(db, async (tx) => {
        await tx.client.query('select 1/0');
      }).catch(() => undefined);
    await pipelinedTransaction(db, async (tx) => {
      await tx.client.query('insert into pt values (7, null)');
    });
    expect(await count()).toBe(1);
  });

  it('falls back to an ordinary transaction for a handle without pipelined connections', async () => {
    await db.pool.query('truncate pt');
    const pipelined = await pipelinedTransaction({ pool: db.pool }, async (tx) => {
      await tx.client.query('insert into pt values (1, null)');
      return tx.pipelined ?? false;
    });
    expect(pipelined).toBe(false);
    expect(await count()).toBe(1);
  });
});

describe('together', () => {
  it('sends every statement before the first answer on a pipelined connection, one by one otherwise', async () => {
    const sentAtOnce = await pipelinedTransaction(db, async (tx) => {
      const before = statementsSent(tx)!;
      const answers = together(
        tx,
        () => tx.client.query<{ a: number }>('select 1 as a'),
        () => tx.client.query<{ b: string }>('select $1::text as b', ['two']),
      );
      const sent = statementsSent(tx)! - before;
      const [a, b] = await answers;
      expect([a.rows[0]!.a, b.rows[0]!.b]).toEqual([1, 'two']);
      return sent;
    });
    expect(sentAtOnce).toBe(2);
    const [a, b] = await transaction(db, (tx) =>
      together(
        tx,
        () => tx.client.query<{ a: number }>('select 1 as a'),
        () => tx.client.query<{ b: number }>('select 2 as b'),
      ),
    );
    expect([a.rows[0]!.a, b.rows[0]!.b]).toEqual([1, 2]);
  });

  it('fails with the earliest statement’s failure', async () => {
    const failure = await pipelinedTransaction(db, (tx) =>
      together(
        tx,
        () => tx.client.query('select 1/0'),
        () => tx.client.query('select 1'),
      ),
    ).catch((e: unknown) => e as { code?: string });
    expect(failure).toMatchObject({ code: '22012' });
  });
});

describe('WriteBehind on a pipelined transaction', () => {
  it('sends each write when queued, and a later statement still sees what an earlier one loaded', async () => {
    const { sent, seen } = await pipelinedTransaction(db, async (tx) => {
      const writes = new WriteBehind(tx);
      const before = statementsSent(tx)!;
      writes.add(() => tx.client.query('create temp table wbp (n int primary key) on commit drop'));
      // More rows than one INSERT takes elsewhere (COPY, which a pipelined connection refuses): one INSERT here.
      writes.add(() =>
        copyRows(
          tx.client,
          'wbp',
          ['n'],
          Array.from({ length: 500 }, (_, i) => [i]),
          ['integer'],
        ),
      );
      const counted = writes.run(() => tx.client.query<{ n: number }>('select count(*)::int as n from wbp'));
      const sent = statementsSent(tx)! - before;
      await writes.done();
      return { sent, seen: (await counted).rows[0]!.n };
    });
    expect(sent).toBe(3);
    expect(seen).toBe(500);
  });

  it('waits for a write that sent nothing when called before starting the next (their order holds)', async () => {
    const order = await pipelinedTransaction(db, async (tx) => {
      const writes = new WriteBehind(tx);
      writes.add(() =>
        tx.client.query(
          'create temp table wbq (n int, at timestamptz default clock_timestamp()) on commit drop',
        ),
      );
      writes.add(async () => {
        await new Promise((r) => setTimeout(r, 30)); // sends its statement late
        await tx.client.query('insert into wbq (n) values (1)');
      });
      writes.add(() => tx.client.query('insert into wbq (n) values (2)'));
      const rows = writes.run(() => tx.client.query<{ n: number }>('select n from wbq order by at'));
      await writes.done();
      return (await rows).rows.map((r) => r.n);
    });
    expect(order).toEqual([1, 2]);
  });

  it('lets an unordered write be overtaken, and still reports its failure', async () => {
    const failure = await pipelinedTransaction(db, async (tx: Tx) => {
      const writes = new WriteBehind(tx);
      const sentBefore = statementsSent(tx)!;
      writes.add(
        async () => {
          await new Promise((r) => setTimeout(r, 10));
          await tx.client.query('select 1/0');
        },
        { unordered: true },
      );
      writes.add(() => tx.client.query('select 1'));
      expect(statementsSent(tx)! - sentBefore).toBe(1); // the second went out at once
      await writes.done();
    }).catch((e: unknown) => e as { code?: string });
    expect(failure).toMatchObject({ code: '22012' });
  });

  it('sends COMMIT only once every write has sent its statement: a late one is inside the transaction', async () => {
    await db.pool.query('truncate pt');
    let answered = false;
    await pipelinedTransaction(db, async (tx) => {
      const writes = new WriteBehind(tx);
      writes.add(() => tx.client.query('insert into pt values (1, txid_current()::text)'));
      // Unordered and late: nobody waits for it, and the function returns before it sends anything.
      writes.add(
        async () => {
          await new Promise((r) => setTimeout(r, 30));
          await tx.client.query('insert into pt values (2, txid_current()::text)');
          answered = true;
        },
        { unordered: true },
      );
      // Ordered behind a late one: queued now, started (and sent) only when that has finished.
      writes.add(async () => {
        await new Promise((r) => setTimeout(r, 10));
        await tx.client.query('insert into pt values (3, txid_current()::text)');
      });
      writes.add(() => tx.client.query('insert into pt values (4, txid_current()::text)'));
    });
    expect(answered).toBe(true);
    const rows = await db.pool.query<{ n: number; s: string }>('select n, s from pt order by n');
    expect(rows.rows.map((r) => r.n)).toEqual([1, 2, 3, 4]);
    expect(new Set(rows.rows.map((r) => r.s)).size).toBe(1); // one transaction wrote them all
  });

  it('rolls back a late write with the rest when a statement fails', async () => {
    await db.pool.query('truncate pt');
    const failure = await pipelinedTransaction(db, async (tx) => {
      const writes = new WriteBehind(tx);
      writes.add(
        async () => {
          await new Promise((r) => setTimeout(r, 20));
          await tx.client.query('insert into pt values (1, null)');
        },
        { unordered: true },
      );
      tx.unanswered!(writes.run(() => tx.client.query('insert into pt values (2, null), (2, null)')));
    }).catch((e: unknown) => e as { code?: string });
    // The late write went out behind the failed one: its own failure (25P02) is what an unordered write reports.
    expect(failure).toMatchObject({ code: expect.stringMatching(/^(23505|25P02)$/) });
    expect(await count()).toBe(0);
  });

  it('reports the first failure, not the "transaction is aborted" of the statements sent behind it', async () => {
    const failure = await pipelinedTransaction(db, async (tx) => {
      const writes = new WriteBehind(tx);
      writes.add(() => tx.client.query('insert into pt values (100, null), (100, null)'));
      writes.add(() => tx.client.query('select 1'));
      const needed = writes.run(() => tx.client.query('select 2'));
      const fromRun = await needed.then(
        () => null,
        (e: unknown) => e as { code?: string },
      );
      expect(fromRun).toMatchObject({ code: '23505' });
      await writes.done();
    }).catch((e: unknown) => e as { code?: string });
    expect(failure).toMatchObject({ code: '23505' });
  });
});

describe('copyRows on a pipelined connection', () => {
  it('prepares its INSERT once per connection, but not a temporary table’s (made anew by each transaction)', async () => {
    await db.pool.query('truncate pt');
    const prepared = await pipelinedTransaction(db, async (tx) => {
      await copyRows(tx.client, 'pt', ['n', 's'], [[500, 'x']]);
      await tx.client.query('create temp table pt_tmp (n int) on commit drop');
      await copyRows(tx.client, 'pt_tmp', ['n'], [[1]], ['integer']);
      const r = await tx.client.query<{ statement: string }>(
        `select statement from pg_prepared_statements where name like 'ins\\_%'`,
      );
      return r.rows.map((x) => x.statement);
    });
    expect(prepared.filter((t) => t.includes('insert into "pt" '))).toHaveLength(1);
    expect(prepared.filter((t) => t.includes('pt_tmp'))).toEqual([]);
    expect(await count()).toBe(1);
  });

  it('refuses a table whose column types it does not know (a lookup first would let later writes overtake it)', async () => {
    const failure = await pipelinedTransaction(db, async (tx) => {
      await tx.client.query('create temp table unknown_types (n int) on commit drop');
      await copyRows(tx.client, 'unknown_types', ['n'], [[1]]);
    }).catch((e: unknown) => e as Error);
    expect(String(failure)).toMatch(/column types of unknown_types are not known/);
  });
});
