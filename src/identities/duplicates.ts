import type pg from 'pg';
import { appendAudit } from '../audit/index.ts';
import type { Tx } from '../db/pool.ts';
import type { CommandContext } from '../kit/context.ts';
import { GatehouseError } from '../kit/errors.ts';
import type { IdGenerator } from '../kit/ids.ts';
import { getPersonRow, viewOf, type PersonView } from './people.ts';

export const DuplicateErrors = {
  notFound: 'duplicate_not_found',
  invalidMerge: 'merge_invalid',
} as const;

/** Name similarity (pg_trgm) above which two records with the same personal email, mobile or birth date are flagged. */
export const DUPLICATE_SIMILARITY = 0.6;

/**
 * Flag likely duplicates of the given (new) people: one human under two ids shows as a similar name plus the same
 * personal email, mobile or birth date. Set-based: three equality joins on indexed columns, then the name test.
 * Birth dates are shared by many people, so that join also needs the same first or last name.
 */
export async function flagDuplicates(
  tx: Tx,
  personIds: string[],
  now: Date,
  ids: IdGenerator,
): Promise<number> {
  if (personIds.length === 0) return 0;
  const res = await tx.client.query<{ a: string; b: string; score: number; reasons: string[] }>(
    `with n as (
       select p.id, lower(p.first_name) as f, lower(p.last_name) as l,
              lower(p.first_name || ' ' || p.last_name) as name, pp.personal_email, pp.mobile_phone, pp.birth_date
       from people p join person_personal pp on pp.person_id = p.id
       where p.id = any($1::uuid[])
     ),
     m as (
       select n.id as new_id, o.person_id as other, 'same personal email' as reason
         from n join person_personal o on o.personal_email = n.personal_email and o.person_id <> n.id
       union all
       select n.id, o.person_id, 'same mobile number'
         from n join person_personal o on o.mobile_phone = n.mobile_phone and o.person_id <> n.id
       union all
       select n.id, o.person_id, 'same birth date'
         from n join person_personal o on o.birth_date = n.birth_date and o.person_id <> n.id
         join people op on op.id = o.person_id and (lower(op.first_name) = n.f or lower(op.last_name) = n.l)
     )
     select least(m.new_id, m.other) as a, greatest(m.new_id, m.other) as b,
            max(similarity(n.name, lower(op.first_name || ' ' || op.last_name))) as score,
            array_agg(distinct m.reason order by m.reason) as reasons
     from m join n on n.id = m.new_id join people op on op.id = m.other and op.merged_into is null
     where similarity(n.name, lower(op.first_name || ' ' || op.last_name)) > $2
     group by 1, 2`,
    [personIds, DUPLICATE_SIMILARITY],
  );
  if (res.rows.length === 0) return 0;
  const r = await tx.client.query(
    `insert into person_duplicates (id, person_a, person_b, score, reasons, state, created_at)
     select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::real[], $5::jsonb[], $6::text[], $7::timestamptz[])
     on conflict (person_a, person_b) do nothing`,
    [
      res.rows.map(() => ids()),
      res.rows.map((x) => x.a),
      res.rows.map((x) => x.b),
      res.rows.map((x) => x.score),
      res.rows.map((x) => JSON.stringify(x.reasons)),
      res.rows.map(() => 'open'),
      res.rows.map(() => now),
    ],
  );
  return r.rowCount ?? 0;
}

export interface DuplicateView {
  id: string;
  score: number;
  reasons: string[];
  state: 'open' | 'merged' | 'dismissed';
  createdAt: string;
  a: PersonView;
  b: PersonView;
}

type Q = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export async function listDuplicates(
  db: Q,
  opts: { state?: 'open' | 'merged' | 'dismissed'; personId?: string; withPersonal: boolean },
): Promise<DuplicateView[]> {
  const res = await db.query<{
    id: string;
    person_a: string;
    person_b: string;
    score: number;
    reasons: string[];
    state: DuplicateView['state'];
    created_at: Date;
  }>(
    `select * from person_duplicates where ($1::text is null or state = $1)
       and ($2::uuid is null or person_a = $2 or person_b = $2)
     order by created_at desc limit 200`,
    [opts.state ?? null, opts.personId ?? null],
  );
  const out: DuplicateView[] = [];
  for (const d of res.rows) {
    out.push({
      id: d.id,
      score: d.score,
      reasons: d.reasons,
      state: d.state,
      createdAt: d.created_at.toISOString(),
      a: viewOf(await getPersonRow(db, d.person_a), opts.withPersonal),
      b: viewOf(await getPersonRow(db, d.person_b), opts.withPersonal),
    });
  }
  return out;
}

/** Decide a flagged pair is two people after all. */
export async function dismissDuplicate(tx: Tx, ctx: CommandContext, id: string): Promise<void> {
  const r = await tx.client.query<{ person_a: string; person_b: string }>(
    `update person_duplicates set state = 'dismissed', decided_at = $2, decided_by = $3
     where id = $1 and state = 'open' returning person_a, person_b`,
    [id, ctx.clock.now(), ctx.actor.name ?? ctx.actor.id],
  );
  const row = r.rows[0];
  if (!row)
    throw new GatehouseError(DuplicateErrors.notFound, `no open duplicate flag with id ${id}`, {
      status: 404,
    });
  await appendAudit(tx, ctx, {
    action: 'person.duplicate_dismissed',
    subject: { type: 'person', id: row.person_a },
    after: { other: row.person_b },
  });
}

/**
 * Merge `drop` into `keep`: one human, one person. The dropped record stays (its history is kept under its own id
 * and shown on the kept person's page), marked `merged_into`; its lifecycle events and names move to `keep`.
 * Audited on both people.
 */
export async function mergePeople(
  tx: Tx,
  ctx: CommandContext,
  keepId: string,
  dropId: string,
): Promise<void> {
  if (keepId === dropId)
    throw new GatehouseError(DuplicateErrors.invalidMerge, 'a person cannot be merged into themselves', {
      problems: [{ field: 'drop', message: 'same as keep', value: dropId }],
    });
  const locked = await tx.client.query<{ id: string; merged_into: string | null; employee_id: string }>(
    'select id, merged_into, employee_id from people where id = any($1::uuid[]) order by id for update',
    [[keepId, dropId]],
  );
  const keep = locked.rows.find((r) => r.id === keepId);
  const drop = locked.rows.find((r) => r.id === dropId);
  for (const [field, row, id] of [
    ['keep', keep, keepId],
    ['drop', drop, dropId],
  ] as const) {
    if (!row) throw new GatehouseError('person_not_found', `no person with id ${id}`, { status: 404 });
    if (row.merged_into)
      throw new GatehouseError(
        DuplicateErrors.invalidMerge,
        `${field}: this person was already merged into ${row.merged_into}`,
        {
          status: 409,
          problems: [{ field, message: 'already merged', value: id }],
        },
      );
  }
  const now = ctx.clock.now();
  await tx.client.query(
    `update people set merged_into = $2, status = 'terminated', version = version + 1, updated_at = $3 where id = $1`,
    [dropId, keepId, now],
  );
  await tx.client.query(`update people set merged_into = $2 where merged_into = $1`, [dropId, keepId]);
  await tx.client.query(
    `update lifecycle_events set state = 'cancelled', done_at = $2 where person_id = $1 and state = 'scheduled'`,
    [dropId, now],
  );
  await tx.client.query(`update name_registry set person_id = $2 where person_id = $1`, [dropId, keepId]);
  await tx.client.query(
    `update person_duplicates set state = 'merged', decided_at = $3, decided_by = $4
     where state = 'open' and ((person_a = $1 and person_b = $2) or (person_a = $2 and person_b = $1))`,
    [keepId, dropId, now, ctx.actor.name ?? ctx.actor.id],
  );
  await appendAudit(tx, ctx, [
    {
      action: 'person.merged',
      subject: { type: 'person', id: keepId },
      after: { mergedFrom: dropId, employeeId: drop!.employee_id },
    },
    {
      action: 'person.merged_away',
      subject: { type: 'person', id: dropId },
      before: { mergedInto: null },
      after: { mergedInto: keepId },
    },
  ]);
}
