import type pg from 'pg';
import { GatehouseError } from '../kit/errors.ts';
import { PeopleErrors } from './people.ts';

type Q = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/** What policy expressions see of a person (`person.*` in CEL). */
export interface PersonFactsRow {
  id: string;
  /** The manager's person id, when the manager is a known person of the same source. */
  managerPersonId: string | null;
  facts: {
    id: string;
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
    managerId: string | null;
    workerType: string;
    status: string;
    hireDate: string | null;
    terminationDate: string | null;
    attributes: Record<string, string>;
  };
}

interface Row {
  id: string;
  employee_id: string;
  first_name: string;
  last_name: string;
  preferred_name: string | null;
  display_name: string;
  username: string | null;
  work_email: string | null;
  department: string | null;
  title: string | null;
  cost_center: string | null;
  location: string | null;
  time_zone: string | null;
  manager_employee_id: string | null;
  worker_type: string;
  status: string;
  hire_date: string | null;
  termination_date: string | null;
  attributes: Record<string, string> | null;
  manager_person_id: string | null;
}

const SELECT = `p.id, p.employee_id, p.first_name, p.last_name, p.preferred_name, p.display_name, p.username,
  p.work_email, p.department, p.title, p.cost_center, p.location, p.time_zone, p.manager_employee_id, p.worker_type,
  p.status, to_char(p.hire_date, 'YYYY-MM-DD') as hire_date, p.termination_date, p.attributes,
  m.id as manager_person_id`;
const FROM = `people p left join people m on m.source_id = p.source_id and m.employee_id = p.manager_employee_id
  and m.merged_into is null`;

function factsOf(r: Row): PersonFactsRow {
  return {
    id: r.id,
    managerPersonId: r.manager_person_id,
    facts: {
      id: r.id,
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
      managerId: r.manager_employee_id,
      workerType: r.worker_type,
      status: r.status,
      hireDate: r.hire_date,
      terminationDate: r.termination_date,
      attributes: r.attributes ?? {},
    },
  };
}

/** The facts of these people (merged-away records excluded), with their managers' person ids. */
export async function peopleFacts(db: Q, ids: readonly string[]): Promise<PersonFactsRow[]> {
  if (ids.length === 0) return [];
  const r = await db.query<Row>(
    `select ${SELECT} from ${FROM} where p.id = any($1::uuid[]) and p.merged_into is null`,
    [ids],
  );
  return r.rows.map(factsOf);
}

/** Ids of every person (not merged away), in a stable order, a page at a time: for recomputing everyone. */
export async function personIdsPage(db: Q, after: string | null, limit: number): Promise<string[]> {
  const r = await db.query<{ id: string }>(
    `select id from people where merged_into is null and ($1::uuid is null or id > $1) order by id limit $2`,
    [after, limit],
  );
  return r.rows.map((x) => x.id);
}

/** The direct reports (same HR source, not merged away) of these people. */
export async function directReportsOf(db: Q, managerIds: readonly string[]): Promise<string[]> {
  if (!managerIds.length) return [];
  const r = await db.query<{ id: string }>(
    `select p.id from people m join people p on p.source_id = m.source_id and p.manager_employee_id = m.employee_id
     where m.id = any($1::uuid[]) and p.merged_into is null`,
    [managerIds],
  );
  return r.rows.map((x) => x.id);
}

/** A person by id, employee id or username (as a person would type it on the command line). */
export async function findPersonId(db: Q, who: string): Promise<string> {
  const r = await db.query<{ id: string }>(
    `select id from people where (id::text = $1 or employee_id = $1 or lower(username) = lower($1))
       and merged_into is null limit 2`,
    [who],
  );
  if (r.rows.length !== 1)
    throw new GatehouseError(
      PeopleErrors.notFound,
      r.rows.length
        ? `"${who}" matches more than one person; give the person id`
        : `no person "${who}" (give an id, employee id or username)`,
      { status: 404 },
    );
  return r.rows[0]!.id;
}

/** Refuse ids that are not people (or were merged away), naming each one. */
export async function requirePeople(db: Q, ids: readonly string[]): Promise<void> {
  const r = await db.query<{ id: string }>(
    `select u.id::text as id from unnest($1::uuid[]) as u(id)
     where not exists (select 1 from people p where p.id = u.id and p.merged_into is null)`,
    [ids],
  );
  if (r.rows.length)
    throw new GatehouseError(
      PeopleErrors.notFound,
      `no person with id ${r.rows.map((x) => x.id).join(', ')}`,
      {
        status: 404,
        problems: r.rows.map((x) => ({ field: 'personIds', message: 'no such person', value: x.id })),
      },
    );
}
