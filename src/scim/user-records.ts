/**
 * A person ↔ a SCIM User. Reading: the `people` row (plus the client-owned `scim.*` attributes, the manager's id and
 * the person's groups) becomes the User representation. Writing: a User (already checked against the schema) becomes
 * one HR record for the push path — HR fields for what HR owns, `scim.*` attributes for what only the client owns.
 * Passwords are never stored: Gatehouse does not keep people's passwords.
 */
import { isDeepStrictEqual } from 'node:util';
import type { PersonInput } from '../hr/push.ts';
import { WORKER_TYPES, type PersonStatus } from '../hr/types.ts';
import type { PersonRow } from '../identities/people.ts';
import { scimError } from './errors.ts';
import { CORE_USER, ENTERPRISE_USER, HR_USER, STORED_MULTI, STORED_SCALARS, storedKey } from './users.ts';

type Json = Record<string, unknown>;

/** The columns a User is read from (`people p`): see USER_COLUMNS. */
export interface UserRow extends Pick<
  PersonRow,
  | 'id'
  | 'employee_id'
  | 'first_name'
  | 'last_name'
  | 'preferred_name'
  | 'department'
  | 'title'
  | 'cost_center'
  | 'location'
  | 'time_zone'
  | 'manager_employee_id'
  | 'worker_type'
  | 'status'
  | 'hire_date'
  | 'termination_date'
  | 'termination_at'
  | 'attributes'
  | 'username'
  | 'work_email'
  | 'display_name'
  | 'version'
  | 'created_at'
  | 'updated_at'
> {
  manager_person_id: string | null;
  manager_display_name: string | null;
  groups: { value: string; display: string }[];
}

export const USER_COLUMNS = `p.id, p.employee_id, p.first_name, p.last_name, p.preferred_name, p.department, p.title,
  p.cost_center, p.location, p.time_zone, p.manager_employee_id, p.worker_type, p.status,
  to_char(p.hire_date, 'YYYY-MM-DD') as hire_date, p.termination_date, p.termination_at, p.attributes, p.username,
  p.work_email, p.display_name, p.version, p.created_at, p.updated_at,
  m.id::text as manager_person_id, m.display_name as manager_display_name,
  (select coalesce(jsonb_agg(jsonb_build_object('value', g.id::text, 'display', g.display_name)
     order by g.display_name), '[]'::jsonb)
   from person_group_members gm join person_groups g on g.id = gm.group_id where gm.person_id = p.id) as groups`;

/** `people p` with the manager joined (same source, not merged away). */
export const USER_FROM = `people p left join people m on m.source_id = p.source_id
  and m.employee_id = p.manager_employee_id and m.merged_into is null`;

export const etagOf = (version: number) => `W/"${version}"`;

/** The version a resource's `meta.version` (its ETag) carries. */
export function versionOf(resource: Record<string, unknown>): number {
  const meta = (resource.meta ?? {}) as Record<string, unknown>;
  return Number(/^W\/"(\d+)"$/.exec(String(meta.version))?.[1] ?? Number.NaN);
}

function parseJsonArray(text: string | undefined): unknown[] | undefined {
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The object without its undefined and null members. */
function compact(o: Json): Json {
  const out: Json = {};
  for (const k in o) {
    const v = o[k];
    if (v !== undefined && v !== null) out[k] = v;
  }
  return out;
}

/** The full User representation (every attribute; `project` trims it to what was asked). */
export function userResource(r: UserRow, baseUrl: string): Json {
  const a = r.attributes ?? {};
  const s = (path: string) => a[`scim.${path}`];
  const name = compact({
    formatted: s('name.formatted') ?? r.display_name,
    familyName: r.last_name,
    givenName: r.first_name,
    middleName: s('name.middleName'),
    honorificPrefix: s('name.honorificPrefix'),
    honorificSuffix: s('name.honorificSuffix'),
  });
  const emails =
    parseJsonArray(s('emails')) ??
    (r.work_email ? [{ value: r.work_email, type: 'work', primary: true }] : undefined);
  const multi: Json = {};
  for (const n of STORED_MULTI) {
    const v = parseJsonArray(s(n));
    if (v !== undefined) multi[n] = v;
  }
  const scalars: Json = {};
  for (const n of STORED_SCALARS) if (!n.startsWith('name.') && s(n) !== undefined) scalars[n] = s(n);
  const enterprise = compact({
    employeeNumber: r.employee_id,
    department: r.department,
    costCenter: r.cost_center,
    organization: a[storedKey(ENTERPRISE_USER, 'organization')],
    division: a[storedKey(ENTERPRISE_USER, 'division')],
    manager: r.manager_person_id
      ? {
          value: r.manager_person_id,
          $ref: `${baseUrl}/Users/${r.manager_person_id}`,
          displayName: r.manager_display_name,
        }
      : a[storedKey(ENTERPRISE_USER, 'manager')]
        ? { value: a[storedKey(ENTERPRISE_USER, 'manager')] }
        : undefined,
  });
  const hr = compact({
    workerType: r.worker_type,
    status: r.status,
    location: r.location,
    hireDate: r.hire_date ? `${r.hire_date}T00:00:00Z` : undefined,
    terminationDate: r.termination_at?.toISOString(),
    managerId: r.manager_employee_id,
  });
  return compact({
    schemas: [CORE_USER, ENTERPRISE_USER, HR_USER],
    id: r.id,
    externalId: s('externalId'),
    userName: s('userName') ?? r.username ?? r.employee_id,
    name,
    displayName: s('displayName') ?? r.display_name,
    nickName: r.preferred_name,
    title: r.title,
    userType: s('userType') ?? r.worker_type,
    timezone: r.time_zone,
    active: r.status !== 'terminated',
    emails,
    ...multi,
    ...scalars,
    groups: r.groups.length
      ? r.groups.map((g) => ({
          value: g.value,
          display: g.display,
          $ref: `${baseUrl}/Groups/${g.value}`,
          type: 'direct',
        }))
      : undefined,
    [ENTERPRISE_USER]: enterprise,
    [HR_USER]: hr,
    meta: {
      resourceType: 'User',
      created: r.created_at.toISOString(),
      lastModified: r.updated_at.toISOString(),
      location: `${baseUrl}/Users/${r.id}`,
      version: etagOf(r.version),
    },
  });
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});

/** An ISO date-time (or date) → the date part, for HR's date fields. */
function datePart(v: unknown, attribute: string): string | null {
  const t = str(v);
  if (t === undefined) return null;
  const m = /^(\d{4}-\d{2}-\d{2})/.exec(t);
  if (!m) throw scimError(400, 'invalidValue', `${attribute} "${t}" is not a date`, attribute);
  return m[1]!;
}

export interface WriteContext {
  /** The person as stored now (PUT/PATCH), or null (POST). */
  current: {
    attributes: Record<string, string>;
    termination_date: string | null;
    status: PersonStatus;
  } | null;
  employeeId: string;
  /** The manager's employee id, resolved by the caller from `manager.value` (a person id) or `managerId`. */
  managerEmployeeId: string | null;
  now: Date;
  /**
   * What Gatehouse itself would show for this person (its username, work email, display name…): a client value
   * equal to it is not stored as the client's own, so Gatehouse's keeps following renames.
   */
  defaults?: Json;
}

/**
 * A checked User → one HR record (every HR field: a PUT replaces, so what is absent is cleared). `active: false`
 * makes a leaver now (or keeps an earlier termination); `active: true` on a leaver clears the termination (a rehire).
 */
export function personInputOf(user: Json, w: WriteContext): PersonInput {
  const name = obj(user.name);
  const ent = obj(user[ENTERPRISE_USER]);
  const hr = obj(user[HR_USER]);
  const givenName = str(name.givenName);
  const familyName = str(name.familyName);
  if (!givenName || !familyName) {
    const missing = !givenName ? 'name.givenName' : 'name.familyName';
    throw scimError(
      400,
      'invalidValue',
      `${missing} is required: Gatehouse keeps people with a given and a family name, as HR records them`,
      missing,
    );
  }
  const userType = str(user.userType);
  const workerType =
    str(hr.workerType)?.toLowerCase() ??
    (userType && (WORKER_TYPES as readonly string[]).includes(userType.toLowerCase())
      ? userType.toLowerCase()
      : undefined);
  const active = user.active !== false;
  const currentlyTerminated = w.current?.status === 'terminated';
  // An active User keeps a termination only if it is still to come (a scheduled leaver); one already past is what
  // the client re-activates (a rehire), even when it sends the date back unchanged, as PATCH does.
  const given = str(hr.terminationDate);
  const pending = given !== undefined && (!active || !(Date.parse(given) <= w.now.getTime()));
  const terminationDate = pending
    ? given
    : active
      ? null
      : currentlyTerminated && w.current?.termination_date
        ? w.current.termination_date
        : w.now.toISOString();

  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(w.current?.attributes ?? {}))
    if (!k.startsWith('scim.')) attributes[k] = v;
  const d = w.defaults ?? {};
  const dName = obj(d.name);
  const keep = (key: string, v: unknown, gatehouse?: unknown) => {
    if (gatehouse !== undefined && v === gatehouse) return;
    if (typeof v === 'string' && v !== '') attributes[key] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') attributes[key] = String(v);
  };
  keep('scim.userName', user.userName, d.userName);
  keep('scim.externalId', user.externalId, d.externalId);
  keep('scim.displayName', user.displayName, d.displayName);
  keep('scim.name.formatted', name.formatted, dName.formatted);
  keep('scim.userType', userType, d.userType);
  for (const n of STORED_SCALARS)
    keep(`scim.${n}`, n.startsWith('name.') ? name[n.slice(5)] : (user as Json)[n]);
  for (const n of [...STORED_MULTI, 'emails']) {
    const v = user[n];
    if (Array.isArray(v) && v.length && !isDeepStrictEqual(v, d[n]))
      attributes[`scim.${n}`] = JSON.stringify(v);
  }
  // A manager the client named but Gatehouse could not resolve (lenient profile) is kept as sent, not lost.
  const manager = obj(ent.manager);
  if (w.managerEmployeeId === null && typeof manager.value === 'string')
    keep(storedKey(ENTERPRISE_USER, 'manager'), manager.value);
  keep(storedKey(ENTERPRISE_USER, 'organization'), ent.organization);
  keep(storedKey(ENTERPRISE_USER, 'division'), ent.division);

  return {
    employee_id: w.employeeId,
    first_name: givenName,
    last_name: familyName,
    preferred_name: str(user.nickName) ?? null,
    title: str(user.title) ?? null,
    time_zone: str(user.timezone) ?? null,
    department: str(ent.department) ?? null,
    cost_center: str(ent.costCenter) ?? null,
    location: str(hr.location) ?? null,
    manager_id: w.managerEmployeeId,
    worker_type: workerType ?? null,
    status: active ? null : 'terminated',
    hire_date: datePart(hr.hireDate, `${HR_USER}:hireDate`),
    termination_date: terminationDate,
    attributes,
  };
}
