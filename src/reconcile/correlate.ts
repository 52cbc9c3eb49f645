/**
 * Correlation: who owns each observed account of one target, decided set-based over the whole target.
 * Order: Gatehouse's own accounts (it created or adopted them) → an agent's manual link (kept across runs) → the
 * policy's correlation rules in order (only a unique match links) → for what is left, a pg_trgm suggestion (word similarity of
 * the account's display name to a person's names) that an agent can confirm.
 */
import type pg from 'pg';
import type { CompiledTarget } from '../policy/compile.ts';
import { CORRELATION_FIELDS, type CorrelationField } from '../policy/index.ts';

/** Person columns a rule may compare with (a closed set: never built from input). */
const COLUMN: Record<CorrelationField, string> = {
  employeeId: 'employee_id',
  username: 'username',
  workEmail: 'work_email',
};

export interface CorrelationRule {
  attribute: string;
  person: CorrelationField;
}

const BARE = /^\s*person\.(employeeId|username|workEmail)\s*$/;

/** The target's rules: as configured, or every attribute mapped straight from one of the correlation fields. */
export function correlationRules(target: CompiledTarget | undefined): CorrelationRule[] {
  if (!target) return [];
  const configured = target.policy.reconcile.correlation;
  if (configured) return configured;
  const mapped: CorrelationRule[] = [];
  for (const [attribute, expr] of Object.entries(target.policy.account.attributes)) {
    const m = BARE.exec(expr);
    if (m) mapped.push({ attribute, person: m[1] as CorrelationField });
  }
  return mapped.sort((a, b) => CORRELATION_FIELDS.indexOf(a.person) - CORRELATION_FIELDS.indexOf(b.person));
}

export const describeRule = (r: CorrelationRule): string => `${r.attribute} = person.${r.person}`;

/** The first value of an attribute, whether stored as a scalar or a list. */
const firstValue = (col: string) =>
  `(case jsonb_typeof(${col}) when 'array' then ${col} ->> 0 else ${col} #>> '{}' end)`;

export interface CorrelationCounts {
  managed: number;
  manual: number;
  rule: number;
  unmatched: number;
  suggested: number;
}

/** Most unmatched accounts given a fuzzy suggestion per run (each is an index probe over all people). */
export const SUGGESTION_LIMIT = 2000;
const SUGGESTION_THRESHOLD = 0.6;

export async function correlate(
  db: Pick<pg.PoolClient, 'query'>,
  targetId: string,
  rules: readonly CorrelationRule[],
): Promise<CorrelationCounts> {
  // 1. Accounts Gatehouse manages: the owner is the account's person (null for an adopted orphan).
  await db.query(
    `update recon_objects o set person_id = a.person_id, link = 'account', link_detail = null
     from accounts a
     where o.target_id = $1 and a.target_id = $1 and a.object_id = o.object_id and a.state <> 'deleted'
       and (o.link is distinct from 'account' or o.person_id is distinct from a.person_id)`,
    [targetId],
  );
  // A managed account that Gatehouse no longer manages (deleted row) falls back to the rules.
  await db.query(
    `update recon_objects o set person_id = null, link = null, link_detail = null
     where o.target_id = $1 and o.link = 'account'
       and not exists (select 1 from accounts a where a.target_id = $1 and a.object_id = o.object_id and a.state <> 'deleted')`,
    [targetId],
  );
  // 2. Manual links stay. 3. Rules, in order, for the rest: computed first, then written only where different.
  await db.query(
    `create temp table if not exists recon_corr (id uuid primary key, person_id uuid, detail text)`,
  );
  await db.query(`truncate recon_corr`);
  for (const rule of rules) {
    const col = COLUMN[rule.person];
    await db.query(
      `insert into recon_corr (id, person_id, detail)
       select o.id, (array_agg(p.id))[1], $3
       from recon_objects o
       join people p on lower(p.${col}) = lower(${firstValue(`o.attributes -> $2`)}) and p.merged_into is null
       where o.target_id = $1 and o.gone_at is null and (o.link is null or o.link = 'rule')
         and not exists (select 1 from recon_corr c where c.id = o.id)
       group by o.id having count(*) = 1`,
      [targetId, rule.attribute, describeRule(rule)],
    );
  }
  // Fresh statistics for the join below: without them PostgreSQL may loop over the whole stage per account.
  await db.query('analyze recon_corr');
  await db.query(
    `update recon_objects o set person_id = c.person_id, link = case when c.id is null then null else 'rule' end,
       link_detail = c.detail
     from recon_objects o2 left join recon_corr c on c.id = o2.id
     where o.id = o2.id and o2.target_id = $1 and (o2.link is null or o2.link = 'rule')
       and (o2.person_id is distinct from c.person_id or o2.link_detail is distinct from c.detail)`,
    [targetId],
  );
  // 4. Suggestions for the unmatched that have none yet: the closest person by name (trigram similarity).
  await db.query(
    `update recon_objects o set suggested_person_id = null, suggestion_score = null
     where o.target_id = $1 and o.person_id is not null and o.suggested_person_id is not null`,
    [targetId],
  );
  await db.query(
    `with todo as (
       select o.id, lower(coalesce(o.attributes ->> 'displayName', ${firstValue(`o.attributes -> 'cn'`)}, o.name)) as q
       from recon_objects o
       where o.target_id = $1 and o.gone_at is null and o.person_id is null and o.suggested_person_id is null
       order by o.first_seen_at desc limit $2
     )
     update recon_objects o set suggested_person_id = s.person_id, suggestion_score = s.score
     from todo t cross join lateral (
       select p.id as person_id, word_similarity(t.q, p.search_text) as score
       from people p where t.q <% p.search_text and p.merged_into is null
       order by word_similarity(t.q, p.search_text) desc, p.id limit 1
     ) s
     where o.id = t.id and s.score >= $3`,
    [targetId, SUGGESTION_LIMIT, SUGGESTION_THRESHOLD],
  );
  const r = await db.query<CorrelationCounts>(
    `select count(*) filter (where link = 'account' and person_id is not null)::int as managed,
            count(*) filter (where link = 'manual')::int as manual,
            count(*) filter (where link = 'rule')::int as rule,
            count(*) filter (where person_id is null)::int as unmatched,
            count(*) filter (where person_id is null and suggested_person_id is not null)::int as suggested
     from recon_objects where target_id = $1 and gone_at is null`,
    [targetId],
  );
  return r.rows[0]!;
}
