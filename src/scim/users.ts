/**
 * Where SCIM User attributes live in the identity store, for filters and sorting (`compileSql`'s `resolve`). The
 * query runs over `people p` (one HR source's people, or all). Names are matched case-insensitively, with or
 * without their schema URN; an attribute of another schema than the one it belongs to is unknown.
 */
import type { AttrPath } from './filter.ts';
import type { ResolvedAttribute, ScalarType } from './sql.ts';

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
/** Gatehouse's HR extension: what an HR system sends beyond the enterprise extension. */
export const HR_USER = 'urn:ietf:params:scim:schemas:extension:gatehouse:2.0:User';

const scalar = (sql: string, type: ScalarType = 'string', caseExact = false): ResolvedAttribute => ({
  kind: 'scalar',
  sql,
  type,
  caseExact,
});

const WORK_EMAILS = `(case when p.work_email is null then '[]'::jsonb
  else jsonb_build_array(jsonb_build_object('value', p.work_email, 'type', 'work', 'primary', true)) end)`;

/** schema URN (lower case) → attribute path (lower case) → storage. */
const USER_ATTRIBUTES: Record<string, Record<string, ResolvedAttribute>> = {
  [CORE_USER.toLowerCase()]: {
    id: scalar('p.id::text', 'string', true),
    externalid: scalar('p.employee_id', 'string', true),
    username: scalar('p.username'),
    displayname: scalar('p.display_name'),
    nickname: scalar('p.preferred_name'),
    'name.formatted': scalar('p.display_name'),
    'name.givenname': scalar('p.first_name'),
    'name.familyname': scalar('p.last_name'),
    title: scalar('p.title'),
    usertype: scalar('p.worker_type'),
    timezone: scalar('p.time_zone'),
    active: scalar(`(p.status <> 'terminated')`, 'boolean'),
    emails: {
      kind: 'multi',
      sql: WORK_EMAILS,
      subAttributes: {
        value: { type: 'string', caseExact: false },
        type: { type: 'string', caseExact: false },
        primary: { type: 'boolean', caseExact: false },
      },
    },
    'meta.created': scalar('p.created_at', 'datetime'),
    'meta.lastmodified': scalar('p.updated_at', 'datetime'),
    'meta.resourcetype': scalar(`'User'`, 'string'),
  },
  [ENTERPRISE_USER.toLowerCase()]: {
    employeenumber: scalar('p.employee_id', 'string', true),
    department: scalar('p.department'),
    costcenter: scalar('p.cost_center'),
    'manager.value': scalar(
      `(select m.id::text from people m where m.source_id = p.source_id and m.employee_id = p.manager_employee_id)`,
      'string',
      true,
    ),
  },
  [HR_USER.toLowerCase()]: {
    workertype: scalar('p.worker_type'),
    status: scalar('p.status'),
    location: scalar('p.location'),
    hiredate: scalar(`p.hire_date::timestamptz`, 'datetime'),
    terminationdate: scalar(`p.termination_at`, 'datetime'),
    managerid: scalar('p.manager_employee_id', 'string', true),
  },
};

/** Where a User attribute path lives; undefined for attributes Users do not have. */
export function resolveUserAttribute(path: AttrPath): ResolvedAttribute | undefined {
  const key = `${path.attribute}${path.subAttribute ? `.${path.subAttribute}` : ''}`.toLowerCase();
  if (path.schema) return USER_ATTRIBUTES[path.schema.toLowerCase()]?.[key];
  for (const attrs of Object.values(USER_ATTRIBUTES)) {
    const a = attrs[key];
    if (a) return a;
  }
  return undefined;
}
