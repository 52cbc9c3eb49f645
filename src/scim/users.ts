/**
 * Where SCIM User attributes live in the identity store, for filters and sorting (`compileSql`'s `resolve`). The
 * query runs over `people p`. Names are matched case-insensitively, with or without their schema URN; an attribute
 * of another schema than the one it belongs to is unknown.
 *
 * Two kinds of storage (see docs/design/006-scim-server.md):
 * - HR fields (names, title, department, dates, manager…) are `people` columns, written through the HR pipeline;
 * - what only the SCIM client owns (its userName and externalId, display name, emails, phone numbers, addresses…)
 *   is kept among the person's free-form HR attributes under `scim.<name>` keys (multi-valued ones as JSON text),
 *   so it has history and audit like every other HR value. Where Gatehouse has its own value (username, work
 *   email, display name), that is what a person the client never described shows.
 */
import type { AttrPath } from './filter.ts';
import { scalarAt, type ResolvedAttribute } from './sql.ts';

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
/** Gatehouse's HR extension: what an HR system sends beyond the enterprise extension. */
export const HR_USER = 'urn:ietf:params:scim:schemas:extension:gatehouse:2.0:User';

/** The attribute key under which a client-owned SCIM value is stored (`scim.userName`, `scim.enterprise.division`). */
export function storedKey(schema: string, path: string): string {
  return schema === ENTERPRISE_USER ? `scim.enterprise.${path}` : `scim.${path}`;
}

const scalar = scalarAt;

/**
 * A userName as RFC 8265's UsernameCasePreserved profile prepares it (RFC 7644 §5 asks for PRECIS): fullwidth and
 * halfwidth forms mapped to their ordinary ones, then Unicode NFC — so `Ｂjensen` is `Bjensen`, and an `ë` sent as
 * `e` plus a combining diaeresis is the one `ë`. Compared case-insensitively afterwards, as every userName is, that
 * is the UsernameCaseMapped comparison. (The profile's disallowed characters are not refused.)
 */
export function preparedUserName(v: string): string {
  return v.replace(/[\uFF01-\uFFEE]/g, (c) => c.normalize('NFKC')).normalize('NFC');
}

const stored = (key: string) => `p.attributes ->> '${key}'`;
const storedJson = (key: string) => `(${stored(key)})::jsonb`;

const WORK_EMAILS = `(case when p.work_email is null then '[]'::jsonb
  else jsonb_build_array(jsonb_build_object('value', p.work_email, 'type', 'work', 'primary', true)) end)`;

const MULTI_SUBS = {
  value: { type: 'string', caseExact: false },
  display: { type: 'string', caseExact: false },
  type: { type: 'string', caseExact: false },
  primary: { type: 'boolean', caseExact: false },
} as const;

/** A certificate's `value` is binary (RFC 7643 §4.1.2): base64 DER, compared exactly, no order. */
const CERTIFICATE_SUBS = { ...MULTI_SUBS, value: { type: 'binary', caseExact: true } } as const;

const ADDRESS_SUBS = {
  formatted: { type: 'string', caseExact: false },
  streetAddress: { type: 'string', caseExact: false },
  locality: { type: 'string', caseExact: false },
  region: { type: 'string', caseExact: false },
  postalCode: { type: 'string', caseExact: false },
  country: { type: 'string', caseExact: false },
  type: { type: 'string', caseExact: false },
  primary: { type: 'boolean', caseExact: false },
} as const;

/** Multi-valued attributes the client owns, stored as JSON text under `scim.<name>`. */
export const STORED_MULTI = [
  'phoneNumbers',
  'ims',
  'photos',
  'addresses',
  'entitlements',
  'roles',
  'x509Certificates',
];
/** Single-valued core attributes the client owns (scalars, or sub-attributes of `name`). */
export const STORED_SCALARS = [
  'profileUrl',
  'preferredLanguage',
  'locale',
  'name.middleName',
  'name.honorificPrefix',
  'name.honorificSuffix',
];

function storedMulti(name: string): ResolvedAttribute {
  return {
    kind: 'multi',
    sql: `coalesce(${storedJson(`scim.${name}`)}, '[]'::jsonb)`,
    subAttributes:
      name === 'addresses' ? ADDRESS_SUBS : name === 'x509Certificates' ? CERTIFICATE_SUBS : MULTI_SUBS,
  };
}

const GROUPS = `(select coalesce(jsonb_agg(jsonb_build_object('value', g.id::text, 'display', g.display_name,
  'type', 'direct')), '[]'::jsonb) from person_group_members gm join person_groups g on g.id = gm.group_id
  where gm.person_id = p.id)`;

/** schema URN (lower case) → attribute path (lower case) → storage. */
const USER_ATTRIBUTES: Record<string, Record<string, ResolvedAttribute>> = {
  [CORE_USER.toLowerCase()]: {
    id: scalar('p.id::text', 'string', true),
    externalid: scalar(stored('scim.externalId'), 'string', true),
    username: { ...scalar(`coalesce(${stored('scim.userName')}, p.username)`), prepare: preparedUserName },
    displayname: scalar(`coalesce(${stored('scim.displayName')}, p.display_name)`),
    nickname: scalar('p.preferred_name'),
    'name.formatted': scalar(`coalesce(${stored('scim.name.formatted')}, p.display_name)`),
    'name.givenname': scalar('p.first_name'),
    'name.familyname': scalar('p.last_name'),
    title: scalar('p.title'),
    usertype: scalar(`coalesce(${stored('scim.userType')}, p.worker_type)`),
    timezone: scalar('p.time_zone'),
    active: scalar(`(p.status <> 'terminated')`, 'boolean'),
    emails: {
      kind: 'multi',
      sql: `coalesce(${storedJson('scim.emails')}, ${WORK_EMAILS})`,
      subAttributes: MULTI_SUBS,
    },
    groups: { kind: 'multi', sql: GROUPS, subAttributes: MULTI_SUBS },
    'meta.created': scalar('p.created_at', 'datetime'),
    'meta.lastmodified': scalar('p.updated_at', 'datetime'),
    'meta.resourcetype': scalar(`'User'`, 'string'),
    ...Object.fromEntries(STORED_MULTI.map((n) => [n.toLowerCase(), storedMulti(n)])),
    ...Object.fromEntries(STORED_SCALARS.map((n) => [n.toLowerCase(), scalar(stored(`scim.${n}`))])),
  },
  [ENTERPRISE_USER.toLowerCase()]: {
    employeenumber: scalar('p.employee_id', 'string', true),
    department: scalar('p.department'),
    costcenter: scalar('p.cost_center'),
    organization: scalar(stored(storedKey(ENTERPRISE_USER, 'organization'))),
    division: scalar(stored(storedKey(ENTERPRISE_USER, 'division'))),
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
