import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transaction, type Tx } from '../db/index.ts';
import { pipelinedTransaction } from '../db/pool.ts';
import { afterWaitingForLock } from '../testing/locks.ts';
import { createTestDatabase, superuser, type TestDatabase } from '../testing/db.ts';
import { testContext } from '../testing/context.ts';
import { appendAudit, erasePersonalData, listAudit, personal, verifyChain } from './index.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database.drop());

async function fresh(): Promise<TestDatabase> {
  return createTestDatabase();
}

describe('audit chain (real PostgreSQL)', () => {
  it('writes events in the caller transaction: a rollback leaves no event', async () => {
    const db = await fresh();
    try {
      await expect(
        transaction(db, async (tx) => {
          await appendAudit(tx, testContext(), {
            action: 'test.change',
            subject: { type: 't', id: '1' },
            after: { x: 1 },
          });
          throw new Error('the change failed');
        }),
      ).rejects.toThrow('the change failed');
      expect((await listAudit(db, {})).items).toHaveLength(0);
      await transaction(db, (tx) =>
        appendAudit(tx, testContext(), { action: 'test.change', subject: { type: 't', id: '1' } }),
      );
      const items = (await listAudit(db, {})).items;
      expect(items).toHaveLength(1);
      expect(items[0]!.seq).toBe(1); // no gap left by the rolled-back attempt
    } finally {
      await db.drop();
    }
  });

  it.each([
    ['a bulk append (COPY, linked here)', 260, transaction],
    ['an append linked by the database', 150, transaction],
    [
      'an append on a pipelined transaction (linked by the database, not waited for)',
      150,
      pipelinedTransaction,
    ],
  ] as const)(
    '%s stores what it hashed: the chain verifies and values read back as given',
    async (_what, n, run) => {
      const db = await fresh();
      try {
        const inputs = Array.from({ length: n }, (_, i) => ({
          action: i % 2 ? 'person.updated' : 'person.created',
          subject: { type: 'person', id: `p${i} "ü" 😀` },
          before: i % 3 ? { department: 'Sales', n: i, tags: ['a', null] } : null,
          after: {
            department: `Légal ${i}\t"x"\\`,
            '10': 'ten',
            mobile: personal(`+49 ${i}`),
            z: { é: true },
          },
          ...(i % 5 ? {} : { reason: `row ${i}: "quoted" \\ 😀` }),
          ...(i % 7 ? {} : { correlationId: `req-${i}` }),
          dataSubject: `person:p${i}`,
        }));
        const ctx = testContext({
          correlationId: 'bulk-1',
          actor: { type: 'operator', id: 'op-1', name: 'Zoë "Ops" O\'Neil' },
        });
        // Two appends in one transaction: the second links to the first.
        await run(db, async (tx: Tx) => {
          expect(tx.pipelined ?? false).toBe(run === pipelinedTransaction);
          await appendAudit(tx, ctx, inputs.slice(0, n - 3));
          await appendAudit(tx, ctx, inputs.slice(n - 3));
        });
        expect(await verifyChain(db, { batchSize: 100 })).toMatchObject({ ok: true, checked: n });
        const items = (await listAudit(db, { limit: 300 })).items;
        expect(items.map((e) => e.seq)).toEqual(Array.from({ length: n }, (_, i) => n - i));
        const seventh = items.find((e) => e.subject.id === 'p7 "ü" 😀')!;
        expect(seventh).toMatchObject({
          before: { department: 'Sales', n: 7, tags: ['a', null] },
          after: { department: 'Légal 7\t"x"\\', '10': 'ten', mobile: '+49 7', z: { é: true } },
          correlationId: 'req-7',
          actor: { type: 'operator', id: 'op-1', name: 'Zoë "Ops" O\'Neil' },
        });
        expect(items.find((e) => e.subject.id === 'p10 "ü" 😀')).toMatchObject({
          reason: 'row 10: "quoted" \\ 😀',
          correlationId: 'bulk-1',
        });
        const last = items.find((e) => e.subject.id === `p${n - 1} "ü" 😀`)!;
        expect(last.after).toMatchObject({ mobile: `+49 ${n - 1}` }); // a personal value of the second append
      } finally {
        await db.drop();
      }
    },
  );

  it('chains events and verifies an untouched chain', async () => {
    const db = await fresh();
    try {
      for (let i = 0; i < 5; i++) {
        await transaction(db, (tx) =>
          appendAudit(tx, testContext({ correlationId: `req-${i}` }), [
            {
              action: 'test.a',
              subject: { type: 'thing', id: String(i) },
              before: { n: i },
              after: { n: i + 1 },
              reason: 'because',
            },
            { action: 'test.b', subject: { type: 'thing', id: String(i) } },
          ]),
        );
      }
      const r = await verifyChain(db, { batchSize: 3 }); // several batches
      expect(r).toMatchObject({ ok: true, checked: 10 });
      expect(r.head?.seq).toBe(10);
      const items = (await listAudit(db, { limit: 100 })).items;
      for (let i = 0; i < items.length - 1; i++) expect(items[i]!.prevHash).toBe(items[i + 1]!.hash);
    } finally {
      await db.drop();
    }
  });

  it('refuses UPDATE, DELETE and TRUNCATE on the trail', async () => {
    await transaction(database, (tx) =>
      appendAudit(tx, testContext(), { action: 'test.x', subject: { type: 't', id: 'x' } }),
    );
    for (const stmt of [
      'update audit_events set action = $1',
      'delete from audit_events where action = $1',
      'truncate audit_events',
    ]) {
      await expect(database.pool.query(stmt, stmt.includes('$1') ? ['test.x'] : []), stmt).rejects.toThrow(
        /append-only/,
      );
    }
  });

  it.each([
    ['a changed field', `update audit_events set after = '{"n": 999}' where seq = 3`, 3, 'hash_mismatch', 2],
    ['a changed actor', `update audit_events set actor_id = 'mallory' where seq = 2`, 2, 'hash_mismatch', 1],
    ['a deleted event', `delete from audit_events where seq = 3`, 4, 'sequence_gap', 2],
    [
      'a rewritten hash',
      `update audit_events set hash = repeat('a', 64) where seq = 3`,
      3,
      'hash_mismatch',
      2,
    ],
    [
      'a re-linked event',
      `update audit_events set prev_hash = repeat('b', 64) where seq = 4`,
      4,
      'link_mismatch',
      3,
    ],
  ])('names the first broken event after %s', async (_what, tamper, seq, reason, checkedBefore) => {
    const db = await fresh();
    try {
      for (let i = 1; i <= 6; i++) {
        await transaction(db, (tx) =>
          appendAudit(tx, testContext(), {
            action: `test.e${i}`,
            subject: { type: 't', id: String(i) },
            after: { n: i },
          }),
        );
      }
      expect((await verifyChain(db)).ok).toBe(true);
      // An attacker with superuser access can bypass the append-only triggers…
      await superuser(db, async (c) => {
        await c.query('set session_replication_role = replica');
        await c.query(tamper);
      });
      // …but not the chain.
      const r = await verifyChain(db);
      expect(r.ok).toBe(false);
      expect(r.firstBroken).toMatchObject({ seq, reason });
      expect(r.checked).toBe(checkedBefore);
    } finally {
      await db.drop();
    }
  });

  it('keeps personal data out of the hashed bytes, so erasing it keeps the chain valid', async () => {
    const db = await fresh();
    try {
      await transaction(db, (tx) =>
        appendAudit(tx, testContext(), {
          action: 'person.update',
          subject: { type: 'person', id: 'E100' },
          before: { email: personal('old@example.com'), department: 'Sales' },
          after: { email: personal('ana@example.com'), department: 'Sales' },
          dataSubject: 'person:E100',
        }),
      );
      const raw = await db.pool.query<{ after: unknown; before: unknown }>(
        'select before, after from audit_events where seq = 1',
      );
      expect(JSON.stringify(raw.rows[0])).not.toContain('example.com');
      // The event's two values are one row, the placeholders their places in it.
      const stored = await db.pool.query<{ ref: string; value: unknown }>(
        'select ref::text, value from audit_personal_values',
      );
      expect(stored.rows).toEqual([
        { ref: expect.any(String), value: { $values: ['old@example.com', 'ana@example.com'] } },
      ]);
      expect(raw.rows[0]).toEqual({
        before: { email: { $personal: `${stored.rows[0]!.ref}#0` }, department: 'Sales' },
        after: { email: { $personal: `${stored.rows[0]!.ref}#1` }, department: 'Sales' },
      });
      const listed = (await listAudit(db, {})).items[0]!;
      expect(listed.before).toEqual({ email: 'old@example.com', department: 'Sales' });
      expect(listed.after).toEqual({ email: 'ana@example.com', department: 'Sales' });

      const erased = await transaction(db, (tx) =>
        erasePersonalData(tx, testContext(), 'person:E100', 'data subject request DSR-1'),
      );
      expect(erased).toBe(2);
      const after = (await listAudit(db, { action: 'person.update' })).items[0]!;
      expect(after.after).toEqual({ email: '[erased]', department: 'Sales' });
      expect(after.personalErased).toBe(true);
      expect(await verifyChain(db)).toMatchObject({ ok: true, checked: 2 });
      expect((await listAudit(db, { action: 'audit.personal_data.erase' })).items[0]!.after).toEqual({
        erasedValues: 2,
      });
    } finally {
      await db.drop();
    }
  });

  it('serialises concurrent writers into one unbroken chain', async () => {
    const db = await fresh();
    try {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          transaction(db, (tx) =>
            appendAudit(tx, testContext(), {
              action: 'test.concurrent',
              subject: { type: 't', id: String(i) },
            }),
          ),
        ),
      );
      expect(await verifyChain(db)).toMatchObject({ ok: true, checked: 20 });
    } finally {
      await db.drop();
    }
  });

  it('links a writer that waited for the chain lock to the event committed while it waited', async () => {
    const db = await fresh();
    try {
      const append = (tx: Tx, id: string) =>
        appendAudit(tx, testContext(), { action: 'test.wait', subject: { type: 't', id } });
      await afterWaitingForLock(
        db,
        (tx) => append(tx, 'first'),
        () => transaction(db, (tx) => append(tx, 'second')),
      );
      const [b, a] = (await listAudit(db, {})).items;
      expect(a).toMatchObject({ seq: 1, subject: { id: 'first' } });
      expect(b).toMatchObject({ seq: 2, subject: { id: 'second' }, prevHash: a!.hash });
      expect(await verifyChain(db)).toMatchObject({ ok: true, checked: 2 });
    } finally {
      await db.drop();
    }
  });

  it('filters and pages on the server', async () => {
    const db = await fresh();
    try {
      const ctxA = testContext({ actor: { type: 'token', id: 'tok-a' }, correlationId: 'corr-1' });
      const ctxB = testContext({ actor: { type: 'cli', id: 'root' } });
      await transaction(db, async (tx) => {
        for (let i = 0; i < 7; i++)
          await appendAudit(tx, ctxA, {
            action: 'token.create',
            subject: { type: 'api_token', id: `t${i}` },
          });
        await appendAudit(tx, ctxB, { action: 'token.revoke', subject: { type: 'api_token', id: 't1' } });
        await appendAudit(tx, ctxB, {
          action: 'system.bootstrap',
          subject: { type: 'system', id: 'gatehouse' },
        });
      });
      expect((await listAudit(db, { action: 'token.*' })).items).toHaveLength(8);
      expect((await listAudit(db, { actor: 'cli:root' })).items.map((e) => e.action)).toEqual([
        'system.bootstrap',
        'token.revoke',
      ]);
      expect((await listAudit(db, { subjectType: 'api_token', subjectId: 't1' })).items).toHaveLength(2);
      expect((await listAudit(db, { correlationId: 'corr-1' })).items).toHaveLength(7);
      const page1 = await listAudit(db, { limit: 4 });
      expect(page1.items.map((e) => e.seq)).toEqual([9, 8, 7, 6]);
      const page2 = await listAudit(db, { limit: 4, cursor: page1.nextCursor! });
      expect(page2.items.map((e) => e.seq)).toEqual([5, 4, 3, 2]);
      const page3 = await listAudit(db, { limit: 4, cursor: page2.nextCursor! });
      expect(page3.items.map((e) => e.seq)).toEqual([1]);
      expect(page3.nextCursor).toBeNull();
      const asc1 = await listAudit(db, { limit: 4, order: 'asc', action: 'token.*' });
      expect(asc1.items.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      const asc2 = await listAudit(db, {
        limit: 4,
        order: 'asc',
        action: 'token.*',
        cursor: asc1.nextCursor!,
      });
      expect(asc2.items.map((e) => e.seq)).toEqual([5, 6, 7, 8]);
      // action prefixes are literal: "%" and "_" do not act as wildcards
      expect((await listAudit(db, { action: 'token_*' })).items).toHaveLength(0);
      await expect(
        listAudit(db, { from: new Date('2030-01-01'), to: new Date('2020-01-01') }),
      ).rejects.toMatchObject({ code: 'audit_query_invalid' });
    } finally {
      await db.drop();
    }
  });
});
