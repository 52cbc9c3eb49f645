import type pg from 'pg';
import { GatehouseError } from '../kit/errors.ts';
import { transliterate } from '../naming/templates.ts';
import type { HrRecord, PersonStatus, StoredPerson, WorkerType } from '../hr/types.ts';

export const PeopleErrors = {
  notFound: 'person_not_found',
  invalidQuery: 'people_query_invalid',
} as const;

/** The columns of `people` (and `person_personal`) that hold the HR record, in one place. */
export const PERSON_SELECT = `p.id, p.source_id, p.employee_id, p.first_name, p.last_name, p.preferred_name,
  p.department, p.title, p.cost_center, p.location, p.time_zone, p.manager_employee_id, p.worker_type,
  p.hr_status, p.status, to_char(p.hire_date, 'YYYY-MM-DD') as hire_date, p.termination_date, p.termination_at,
  p.attributes, p.username, p.work_email, p.display_name, p.hr_hash, p.merged_into, p.version, p.created_at,
  p.updated_at, pp.personal_email, pp.mobile_phone, to_char(pp.birth_date, 'YYYY-MM-DD') as birth_date`;
export const PERSON_FROM = `people p left join person_personal pp on pp.person_id = p.id`;

export interface PersonRow {
  id: string;
  source_id: string;
  employee_id: string;
  first_name: string;
  last_name: string;
  preferred_name: string | null;
  department: string | null;
  title: string | null;
  cost_center: string | null;
  location: string | null;
  time_zone: string | null;
  manager_employee_id: string | null;
  worker_type: WorkerType;
  hr_status: PersonStatus | null;
  status: PersonStatus;
  hire_date: string | null;
  termination_date: string | null;
  termination_at: Date | null;
  attributes: Record<string, string>;
  username: string | null;
  work_email: string | null;
  display_name: string;
  hr_hash: string;
  merged_into: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
  personal_email: string | null;
  mobile_phone: string | null;
  birth_date: string | null;
}

/** What the people search matches: names as written and transliterated, employee id, username; lower-cased. */
export function searchTextOf(p: {
  firstName: string;
  lastName: string;
  preferredName: string | null;
  employeeId: string;
  username: string | null;
}): string {
  const names = [p.firstName, p.lastName, p.preferredName ?? ''].join(' ').trim();
  const ascii = transliterate(names);
  return [names, ascii === names.toLowerCase() ? '' : ascii, p.employeeId, p.username ?? '']
    .filter(Boolean)
    .join(' ')
    .toLowerCase();
}

export function recordOf(r: PersonRow): HrRecord {
  return {
    employeeId: r.employee_id,
    firstName: r.first_name,
    lastName: r.last_name,
    preferredName: r.preferred_name,
    personalEmail: r.personal_email,
    mobilePhone: r.mobile_phone,
    birthDate: r.birth_date,
    department: r.department,
    title: r.title,
    costCenter: r.cost_center,
    location: r.location,
    timeZone: r.time_zone,
    managerId: r.manager_employee_id,
    workerType: r.worker_type,
    status: r.hr_status,
    hireDate: r.hire_date,
    terminationDate: r.termination_date,
    attributes: r.attributes ?? {},
  };
}

export function storedOf(r: PersonRow): StoredPerson {
  return { ...recordOf(r), id: r.id, currentStatus: r.status };
}

/** What the API and console show for a person. Personal data only when the caller may see it. */
export interface PersonView {
  id: string;
  sourceId: string;
  employeeId: string;
  firstName: string;
  lastName: string;
  preferredName: string | null;
  displayName: string;
  username: string | null;
  workEmail: string | null;
  department: string | null;
  title: string | null;
  costCenter: string | null;
  location: string | null;
  timeZone: string | null;
  managerEmployeeId: string | null;
  workerType: WorkerType;
  status: PersonStatus;
  hireDate: string | null;
  terminationDate: string | null;
  terminationAt: string | null;
  attributes: Record<string, string>;
  personal: { personalEmail: string | null; mobilePhone: string | null; birthDate: string | null } | null;
  mergedInto: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export function viewOf(r: PersonRow, withPersonal: boolean): PersonView {
  return {
    id: r.id,
    sourceId: r.source_id,
    employeeId: r.employee_id,
    firstName: r.first_name,
    lastName: r.last_name,
    preferredName: r.preferred_name,
    displayName: r.display_name,
    username: r.username,
    workEmail: r.work_email,
    department: r.department,
    title: r.title,
    costCenter: r.cost_center,
    location: r.location,
    timeZone: r.time_zone,
    managerEmployeeId: r.manager_employee_id,
    workerType: r.worker_type,
    status: r.status,
    hireDate: r.hire_date,
    terminationDate: r.termination_date,
    terminationAt: r.termination_at?.toISOString() ?? null,
    attributes: r.attributes ?? {},
    personal: withPersonal
      ? { personalEmail: r.personal_email, mobilePhone: r.mobile_phone, birthDate: r.birth_date }
      : null,
    mergedInto: r.merged_into,
    version: r.version,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export async function getPersonRow(db: Queryable, id: string): Promise<PersonRow> {
  const res = await db.query<PersonRow>(`select ${PERSON_SELECT} from ${PERSON_FROM} where p.id = $1`, [id]);
  const row = res.rows[0];
  if (!row) throw new GatehouseError(PeopleErrors.notFound, `no person with id ${id}`, { status: 404 });
  return row;
}

/** Several people's rows by id, in one query. */
export async function getPersonRows(db: Queryable, ids: readonly string[]): Promise<Map<string, PersonRow>> {
  const res = await db.query<PersonRow>(
    `select ${PERSON_SELECT} from ${PERSON_FROM} where p.id = any($1::uuid[])`,
    [ids],
  );
  return new Map(res.rows.map((r) => [r.id, r]));
}

/** Stored people by id (any number: fetched in chunks of 10,000). */
export async function loadPeople(db: Queryable, ids: readonly string[]): Promise<StoredPerson[]> {
  const out: StoredPerson[] = [];
  for (let i = 0; i < ids.length; i += 10_000) {
    const r = await db.query<PersonRow>(
      `select ${PERSON_SELECT} from ${PERSON_FROM} where p.id = any($1::uuid[])`,
      [ids.slice(i, i + 10_000)],
    );
    for (const row of r.rows) out.push(storedOf(row));
  }
  return out;
}

export interface PeopleQuery {
  q?: string;
  status?: PersonStatus[];
  department?: string;
  workerType?: WorkerType[];
  sourceId?: string;
  hiredFrom?: string;
  hiredTo?: string;
  sort?: 'name' | 'hire_date' | 'employee_id';
  order?: 'asc' | 'desc';
  limit?: number;
  cursor?: string;
  includeMerged?: boolean;
}

export interface PeoplePage {
  items: PersonRow[];
  nextCursor: string | null;
  /** Matches, exact up to `totalCap`; beyond it `totalCapped` is true and the figure is a lower bound. */
  total: number;
  totalCapped: boolean;
}

const TOTAL_CAP = 10_000;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The people list: filters, substring search (trigram index) and keyset paging. Sort keys are (key, id) so the
 * cursor is exact.
 */
export async function listPeople(db: Queryable, query: PeopleQuery): Promise<PeoplePage> {
  const limit = Math.min(Math.max(query.limit ?? 50, 1), 500);
  const where: string[] = [];
  const args: unknown[] = [];
  const arg = (v: unknown) => {
    args.push(v);
    return `$${args.length}`;
  };
  if (!query.includeMerged) where.push('p.merged_into is null');
  if (query.status?.length) where.push(`p.status = any(${arg(query.status)}::text[])`);
  if (query.workerType?.length) where.push(`p.worker_type = any(${arg(query.workerType)}::text[])`);
  if (query.department) where.push(`p.department = ${arg(query.department)}`);
  if (query.sourceId) where.push(`p.source_id = ${arg(query.sourceId)}`);
  for (const [k, v] of [
    ['hiredFrom', query.hiredFrom],
    ['hiredTo', query.hiredTo],
  ] as const) {
    if (v !== undefined && !DATE_RE.test(v))
      throw new GatehouseError(PeopleErrors.invalidQuery, `${k} "${v}" is not a date: use YYYY-MM-DD`, {
        problems: [{ field: k, message: 'expected YYYY-MM-DD', value: v }],
      });
  }
  if (query.hiredFrom) where.push(`p.hire_date >= ${arg(query.hiredFrom)}::date`);
  if (query.hiredTo) where.push(`p.hire_date <= ${arg(query.hiredTo)}::date`);
  const q = query.q?.trim().toLowerCase();
  // Substring match through the trigram index (pg_trgm serves LIKE '%…%'). search_text holds names as written and
  // transliterated, so "angstrom" finds Ångström and "ångström" does too.
  const likeSql = q ? `p.search_text like ${arg(`%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)}` : null;
  if (likeSql) where.push(likeSql);
  // Count on the filters alone, capped: an exact count of a million rows is not worth its cost on every page.
  const filterSql = where.length ? `where ${where.join(' and ')}` : '';
  const filterArgs = [...args];
  const order = query.order === 'desc' ? 'desc' : 'asc';
  const cmp = order === 'asc' ? '>' : '<';
  const key =
    query.sort === 'hire_date'
      ? ['p.hire_date', 'p.id']
      : query.sort === 'employee_id'
        ? ['p.employee_id', 'p.id']
        : ['p.last_name', 'p.first_name', 'p.id'];
  const orderBy = key.map((k) => `${k} ${order}${k === 'p.hire_date' ? ' nulls last' : ''}`).join(', ');
  if (query.cursor) {
    const values = decodeKeyset(query.cursor, key.length);
    if (query.sort === 'hire_date') {
      const [d, id] = values;
      // nulls last: a null hire date sorts after every date, in either direction
      where.push(
        d === null || d === undefined
          ? `(p.hire_date is null and p.id ${cmp} ${arg(id)}::uuid)`
          : `(p.hire_date ${cmp} ${arg(d)}::date or (p.hire_date = $${args.length}::date and p.id ${cmp} ${arg(id)}::uuid) or p.hire_date is null)`,
      );
    } else {
      const casts = key.map((k) => (k === 'p.id' ? '::uuid' : ''));
      where.push(`(${key.join(', ')}) ${cmp} (${values.map((v, i) => `${arg(v)}${casts[i]}`).join(', ')})`);
    }
  }
  const whereSql = where.length ? `where ${where.join(' and ')}` : '';
  const countSql = `select count(*)::int as n from (select 1 from people p ${filterSql} limit ${TOTAL_CAP + 1}) c`;
  let counted: { rows: { n: number }[] };
  let rows: { rows: PersonRow[] };
  if (likeSql && query.sort !== 'hire_date' && query.sort !== 'employee_id') {
    // A search in name order: how many match decides how the page is found.
    counted = await db.query<{ n: number }>(countSql, filterArgs);
    rows = await searchByName(db, {
      where,
      likeSql,
      orderBy,
      args,
      limit,
      common: (counted.rows[0]?.n ?? 0) > TOTAL_CAP,
    });
  } else {
    // The count and the page run side by side (on two connections when `db` is a pool).
    [counted, rows] = await Promise.all([
      db.query<{ n: number }>(countSql, filterArgs),
      db.query<PersonRow>(
        `select ${PERSON_SELECT} from ${PERSON_FROM} ${whereSql} order by ${orderBy} limit ${limit + 1}`,
        args,
      ),
    ]);
  }
  const items = rows.rows.slice(0, limit);
  let nextCursor: string | null = null;
  const last = items[items.length - 1];
  if (rows.rows.length > limit && last) {
    if (query.sort === 'hire_date') nextCursor = encode({ k: [last.hire_date, last.id] });
    else if (query.sort === 'employee_id') nextCursor = encode({ k: [last.employee_id, last.id] });
    else nextCursor = encode({ k: [last.last_name, last.first_name, last.id] });
  }
  const n = counted.rows[0]?.n ?? 0;
  return { items, nextCursor, total: Math.min(n, TOTAL_CAP), totalCapped: n > TOTAL_CAP };
}

/** How many people in name order a common search term is looked for among before its matches are all fetched. */
const SEARCH_WALK = 20_000;

/**
 * A page of a name search, in name order. The planner assumes a term's matches are spread evenly through the name
 * order, and they are not: every "Smith" of a million people may come after 900,000 others. So:
 * - a term with at most TOTAL_CAP matches: they all come from the trigram index and are sorted (fast when few);
 * - a common term: the name index is walked from the page's start, testing each row, for up to SEARCH_WALK rows,
 *   which finds the page at once where matches are dense; where they are not, all the matches are fetched and
 *   sorted after all.
 */
async function searchByName(
  db: Queryable,
  x: { where: string[]; likeSql: string; orderBy: string; args: unknown[]; limit: number; common: boolean },
): Promise<{ rows: PersonRow[] }> {
  let ids: string[] | null = null;
  if (x.common) {
    const others = x.where.filter((w) => w !== x.likeSql);
    // The walk stops as soon as the page is found; fewer than a page in SEARCH_WALK rows means the matches are sparse
    // here (or there are no more), and the trigram index answers instead.
    const walked = await db.query<{ id: string }>(
      `select id from (select p.id, p.last_name, p.first_name, ${x.likeSql} as m from people p
         ${others.length ? `where ${others.join(' and ')}` : ''} order by ${x.orderBy} limit ${SEARCH_WALK}) p
       where m order by ${x.orderBy} limit ${x.limit + 1}`,
      x.args,
    );
    if (walked.rows.length > x.limit) ids = walked.rows.map((r) => r.id);
  }
  if (!ids) {
    // offset 0 keeps the planner from walking the name index: the matches come from the trigram index.
    const all = await db.query<{ id: string }>(
      `select id from (select p.id, p.last_name, p.first_name from people p where ${x.where.join(' and ')} offset 0) p
       order by ${x.orderBy} limit ${x.limit + 1}`,
      x.args,
    );
    ids = all.rows.map((r) => r.id);
  }
  if (!ids.length) return { rows: [] };
  const full = await db.query<PersonRow>(
    `select ${PERSON_SELECT} from ${PERSON_FROM} where p.id = any($1::uuid[])`,
    [ids],
  );
  const byId = new Map(full.rows.map((r) => [r.id, r]));
  return { rows: ids.map((id) => byId.get(id)).filter((r): r is PersonRow => r !== undefined) };
}

function encode(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

function badCursor(): GatehouseError {
  return new GatehouseError(PeopleErrors.invalidQuery, 'the cursor is not valid for this list: start again', {
    problems: [{ field: 'cursor', message: 'not a cursor from this list' }],
  });
}

function decodeKeyset(cursor: string, n: number): (string | null)[] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown };
    if (Array.isArray(v.k) && v.k.length === n && v.k.every((x) => x === null || typeof x === 'string'))
      return v.k as (string | null)[];
  } catch {
    // fall through
  }
  throw badCursor();
}
