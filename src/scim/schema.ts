/**
 * The SCIM resource schemas as data (RFC 7643 §4, §7, §8.7), the discovery documents built from them (/Schemas,
 * /ResourceTypes, /ServiceProviderConfig), input normalisation (POST/PUT bodies: names to their canonical case,
 * values type-checked, read-only attributes ignored) and output projection (`attributes` / `excludedAttributes`,
 * `returned`). Pure: no database, no HTTP.
 *
 * A resource value is held in its SCIM JSON form: core attributes at the top level, each extension's attributes
 * in an object under the extension's URN, `schemas` listing the core schema and the extensions present. An absent
 * attribute is unassigned (null and empty arrays are normalised away, RFC 7643 §2.5).
 */
import { X509Certificate } from 'node:crypto';
import { scimError, ScimTypes } from './errors.ts';
import { CORE_USER, ENTERPRISE_USER, HR_USER } from './users.ts';

export { CORE_USER, ENTERPRISE_USER, HR_USER };
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

export const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';
export const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
export const SERVICE_PROVIDER_CONFIG_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

export type AttributeType =
  'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary';

/** One attribute with its characteristics (RFC 7643 §2.2, §7). */
export interface AttributeDef {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  required: boolean;
  caseExact: boolean;
  mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned: 'always' | 'never' | 'default' | 'request';
  uniqueness: 'none' | 'server' | 'global';
  description: string;
  subAttributes?: AttributeDef[];
  canonicalValues?: string[];
  referenceTypes?: string[];
  /**
   * What the value must be beyond its type, checked in the strict profile (Gatehouse's own; not part of the RFC
   * representation): an email address (RFC 5321/6531), one X.509 certificate (RFC 7643 §4.1.2), or an ISO 3166-1
   * alpha-2 country code (RFC 7643 §4.1.2).
   */
  format?: 'email' | 'x509' | 'country';
}

export interface SchemaDef {
  id: string;
  name: string;
  description: string;
  attributes: AttributeDef[];
}

export interface ResourceTypeDef {
  id: 'User' | 'Group';
  name: string;
  description: string;
  endpoint: '/Users' | '/Groups';
  /** The core schema's URN. */
  schema: string;
  schemaExtensions: { schema: string; required: boolean }[];
  /** The schemas themselves: the core schema first, then each extension (not part of the RFC representation). */
  definitions: SchemaDef[];
}

// ---------------------------------------------------------------------------------------------------------------
// The schemas

/**
 * The 249 ISO 3166-1 alpha-2 codes officially assigned (the regions ICU names, less its deprecated, reserved and
 * private-use codes such as UK, EU, XK and ZZ).
 */
const ISO_3166_ALPHA_2 = (
  'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ ' +
  'CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO ' +
  'FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE ' +
  'JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO ' +
  'MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW ' +
  'PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM ' +
  'TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW'
).split(' ');

type Opts = Partial<Omit<AttributeDef, 'name' | 'type' | 'description'>>;

function a(name: string, type: AttributeType, description: string, opts: Opts = {}): AttributeDef {
  return {
    name,
    type,
    multiValued: false,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    description,
    ...opts,
  };
}

const str = (name: string, description: string, opts: Opts = {}) => a(name, 'string', description, opts);
const complex = (name: string, description: string, subAttributes: AttributeDef[], opts: Opts = {}) =>
  a(name, 'complex', description, { ...opts, subAttributes });

/** A multi-valued complex attribute of the usual shape (value, display, type, primary). */
function plural(
  name: string,
  description: string,
  types: string[],
  value: AttributeDef = str('value', `The value of one of the ${name}.`),
): AttributeDef {
  return complex(
    name,
    description,
    [
      value,
      str('display', 'A human-readable name, primarily used for display purposes.'),
      str(
        'type',
        `A label indicating the attribute's function.`,
        types.length ? { canonicalValues: types } : {},
      ),
      a('primary', 'boolean', 'Whether this is the preferred value (at most one value is primary).'),
    ],
    { multiValued: true },
  );
}

/** id, externalId and meta: the common attributes of every resource (RFC 7643 §3.1). */
function common(): AttributeDef[] {
  return [
    str('id', 'Unique identifier of the resource, issued by the service provider.', {
      caseExact: true,
      mutability: 'readOnly',
      returned: 'always',
      uniqueness: 'server',
    }),
    str('externalId', 'Identifier of the resource as defined by the provisioning client.', {
      caseExact: true,
    }),
    complex(
      'meta',
      'Resource metadata maintained by the service provider.',
      [
        str('resourceType', 'The name of the resource type of the resource.', {
          caseExact: true,
          mutability: 'readOnly',
        }),
        a('created', 'dateTime', 'When the resource was added to the service provider.', {
          mutability: 'readOnly',
        }),
        a('lastModified', 'dateTime', 'When the resource was last updated.', { mutability: 'readOnly' }),
        a('location', 'reference', 'The URI of the resource being returned.', {
          caseExact: true,
          mutability: 'readOnly',
          referenceTypes: ['uri'],
        }),
        str('version', 'The version (ETag) of the resource.', { caseExact: true, mutability: 'readOnly' }),
      ],
      { mutability: 'readOnly' },
    ),
  ];
}

export const USER_SCHEMA: SchemaDef = {
  id: CORE_USER,
  name: 'User',
  description: 'User Account',
  attributes: [
    ...common(),
    str('userName', 'Unique identifier for the User, used to authenticate.', {
      required: true,
      uniqueness: 'server',
    }),
    complex('name', "The components of the user's real name.", [
      str('formatted', 'The full name, formatted for display.'),
      str('familyName', 'The family name of the User.'),
      str('givenName', 'The given name of the User.'),
      str('middleName', 'The middle name(s) of the User.'),
      str('honorificPrefix', 'The honorific prefix(es) of the User (e.g. "Ms.").'),
      str('honorificSuffix', 'The honorific suffix(es) of the User (e.g. "III").'),
    ]),
    str('displayName', 'The name of the User, suitable for display to end-users.'),
    str('nickName', 'The casual way to address the user.'),
    a('profileUrl', 'reference', "A URI of the User's online profile.", { referenceTypes: ['external'] }),
    str('title', 'The user\'s title, such as "Vice President".'),
    str('userType', 'The relationship between the organization and the user.'),
    str('preferredLanguage', 'The User\'s preferred written or spoken language (e.g. "en-US").'),
    str('locale', 'The User\'s default location for localisation (e.g. "en-US").'),
    str('timezone', 'The User\'s time zone in IANA format (e.g. "America/Los_Angeles").'),
    a('active', 'boolean', "The User's administrative status."),
    str('password', "The User's cleartext password, to set or replace it; never returned.", {
      mutability: 'writeOnly',
      returned: 'never',
    }),
    plural(
      'emails',
      'Email addresses for the user.',
      ['work', 'home', 'other'],
      str('value', 'Email address for the User (RFC 5321).', { format: 'email' }),
    ),
    plural('phoneNumbers', 'Phone numbers for the User.', [
      'work',
      'home',
      'mobile',
      'fax',
      'pager',
      'other',
    ]),
    plural('ims', 'Instant messaging addresses for the User.', [
      'aim',
      'gtalk',
      'icq',
      'xmpp',
      'msn',
      'skype',
      'qq',
      'yahoo',
    ]),
    plural(
      'photos',
      'URLs of photos of the User.',
      ['photo', 'thumbnail'],
      a('value', 'reference', 'URL of a photo of the User.', { referenceTypes: ['external'] }),
    ),
    complex(
      'addresses',
      'A physical mailing address for this User.',
      [
        str('formatted', 'The full mailing address, formatted for display.'),
        str('streetAddress', 'The full street address component.'),
        str('locality', 'The city or locality component.'),
        str('region', 'The state or region component.'),
        str('postalCode', 'The zip code or postal code component.'),
        str('country', 'The country name component (ISO 3166-1 alpha-2).', {
          canonicalValues: ISO_3166_ALPHA_2,
          format: 'country',
        }),
        str('type', "A label indicating the attribute's function.", {
          canonicalValues: ['work', 'home', 'other'],
        }),
        a('primary', 'boolean', 'Whether this is the preferred mailing address.'),
      ],
      { multiValued: true },
    ),
    complex(
      'groups',
      'The groups the user belongs to, directly or indirectly (maintained by the service provider).',
      [
        str('value', 'The identifier of the group.', { mutability: 'readOnly' }),
        a('$ref', 'reference', 'The URI of the group.', {
          mutability: 'readOnly',
          referenceTypes: ['User', 'Group'],
        }),
        str('display', 'A human-readable name of the group.', { mutability: 'readOnly' }),
        str('type', 'Direct or indirect membership.', {
          mutability: 'readOnly',
          canonicalValues: ['direct', 'indirect'],
        }),
      ],
      { multiValued: true, mutability: 'readOnly' },
    ),
    plural('entitlements', 'A list of entitlements for the User.', []),
    plural('roles', 'A list of roles for the User.', []),
    plural(
      'x509Certificates',
      'A list of certificates issued to the User.',
      [],
      a('value', 'binary', 'The value of an X.509 certificate (base64 DER).', { format: 'x509' }),
    ),
  ],
};

export const ENTERPRISE_USER_SCHEMA: SchemaDef = {
  id: ENTERPRISE_USER,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    str('employeeNumber', 'Numeric or alphanumeric identifier assigned to a person by the organization.', {
      mutability: 'immutable',
    }),
    str('costCenter', 'Identifies the name of a cost center.'),
    str('organization', 'Identifies the name of an organization.'),
    str('division', 'Identifies the name of a division.'),
    str('department', 'Identifies the name of a department.'),
    complex('manager', "The User's manager.", [
      str('value', "The id of the SCIM resource representing the User's manager."),
      a('$ref', 'reference', "The URI of the SCIM resource representing the User's manager.", {
        referenceTypes: ['User'],
      }),
      str('displayName', "The displayName of the User's manager.", { mutability: 'readOnly' }),
    ]),
  ],
};

export const HR_USER_SCHEMA: SchemaDef = {
  id: HR_USER,
  name: 'GatehouseUser',
  description: 'Gatehouse HR extension: what an HR system sends beyond the enterprise extension.',
  attributes: [
    str('workerType', 'The kind of worker.', {
      canonicalValues: ['employee', 'contractor', 'intern', 'partner'],
    }),
    str('status', 'The employment status, maintained by Gatehouse from the dates and active.', {
      mutability: 'readOnly',
      canonicalValues: ['prehire', 'active', 'on_leave', 'terminated'],
    }),
    str('location', 'The work location.'),
    a('hireDate', 'dateTime', 'The first day of work.'),
    a('terminationDate', 'dateTime', 'When the work ends (or ended).'),
    str('managerId', "The manager's employee id (employeeNumber).", { caseExact: true }),
  ],
};

export const GROUP_SCHEMA: SchemaDef = {
  id: CORE_GROUP,
  name: 'Group',
  description: 'Group',
  attributes: [
    ...common(),
    str('displayName', 'A human-readable name for the Group.', { required: true }),
    complex(
      'members',
      'A list of members of the Group.',
      [
        str('value', 'Identifier of the member of this Group.', { mutability: 'immutable' }),
        a('$ref', 'reference', 'The URI of the member resource.', {
          mutability: 'immutable',
          referenceTypes: ['User', 'Group'],
        }),
        str('display', 'A human-readable name of the member.'),
        str('type', 'The type of the member.', {
          mutability: 'immutable',
          canonicalValues: ['User', 'Group'],
        }),
      ],
      { multiValued: true },
    ),
  ],
};

export const USER_RESOURCE: ResourceTypeDef = {
  id: 'User',
  name: 'User',
  description: 'User Account',
  endpoint: '/Users',
  schema: CORE_USER,
  schemaExtensions: [
    { schema: ENTERPRISE_USER, required: false },
    { schema: HR_USER, required: false },
  ],
  definitions: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, HR_USER_SCHEMA],
};

export const GROUP_RESOURCE: ResourceTypeDef = {
  id: 'Group',
  name: 'Group',
  description: 'Group',
  endpoint: '/Groups',
  schema: CORE_GROUP,
  schemaExtensions: [],
  definitions: [GROUP_SCHEMA],
};

const RESOURCES = [USER_RESOURCE, GROUP_RESOURCE];
const SCHEMAS = [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, HR_USER_SCHEMA, GROUP_SCHEMA];

// ---------------------------------------------------------------------------------------------------------------
// Discovery documents

const trim = (baseUrl: string) => baseUrl.replace(/\/+$/, '');

const listResponse = <T>(resources: T[]) => ({
  schemas: [LIST_RESPONSE],
  totalResults: resources.length,
  itemsPerPage: resources.length,
  startIndex: 1,
  Resources: resources,
});

/** An attribute as RFC 7643 §7 shows it: every characteristic, sub-attributes recursively. */
function attributeRepresentation(d: AttributeDef): Record<string, unknown> {
  return {
    name: d.name,
    type: d.type,
    multiValued: d.multiValued,
    description: d.description,
    required: d.required,
    caseExact: d.caseExact,
    mutability: d.mutability,
    returned: d.returned,
    uniqueness: d.uniqueness,
    ...(d.canonicalValues ? { canonicalValues: d.canonicalValues } : {}),
    ...(d.referenceTypes ? { referenceTypes: d.referenceTypes } : {}),
    ...(d.subAttributes ? { subAttributes: d.subAttributes.map(attributeRepresentation) } : {}),
  };
}

function schemaRepresentation(s: SchemaDef, baseUrl: string) {
  return {
    schemas: [SCHEMA_SCHEMA],
    id: s.id,
    name: s.name,
    description: s.description,
    attributes: s.attributes.map(attributeRepresentation),
    meta: { resourceType: 'Schema', location: `${trim(baseUrl)}/Schemas/${s.id}` },
  };
}

/** The /Schemas ListResponse body. */
export function schemaResources(baseUrl: string) {
  return listResponse(SCHEMAS.map((s) => schemaRepresentation(s, baseUrl)));
}

/** One schema (/Schemas/{urn}, the URN matched case-insensitively), or undefined. */
export function schemaById(id: string, baseUrl: string) {
  const s = SCHEMAS.find((x) => lc(x.id) === lc(id));
  return s ? schemaRepresentation(s, baseUrl) : undefined;
}

function resourceTypeRepresentation(r: ResourceTypeDef, baseUrl: string) {
  return {
    schemas: [RESOURCE_TYPE_SCHEMA],
    id: r.id,
    name: r.name,
    description: r.description,
    endpoint: r.endpoint,
    schema: r.schema,
    schemaExtensions: r.schemaExtensions.map((e) => ({ schema: e.schema, required: e.required })),
    meta: { resourceType: 'ResourceType', location: `${trim(baseUrl)}/ResourceTypes/${r.id}` },
  };
}

/** The /ResourceTypes ListResponse body. */
export function resourceTypesResponse(baseUrl: string) {
  return listResponse(RESOURCES.map((r) => resourceTypeRepresentation(r, baseUrl)));
}

/** One resource type (/ResourceTypes/User), or undefined. */
export function resourceTypeById(id: string, baseUrl: string) {
  const r = RESOURCES.find((x) => lc(x.id) === lc(id));
  return r ? resourceTypeRepresentation(r, baseUrl) : undefined;
}

/** The /ServiceProviderConfig body (RFC 7643 §5). */
export function serviceProviderConfig(
  baseUrl: string,
  opts: { maxOperations: number; maxPayloadSize: number; maxResults: number; documentationUri?: string },
) {
  return {
    schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
    documentationUri: opts.documentationUri ?? 'https://datatracker.ietf.org/doc/html/rfc7644',
    patch: { supported: true },
    bulk: { supported: true, maxOperations: opts.maxOperations, maxPayloadSize: opts.maxPayloadSize },
    filter: { supported: true, maxResults: opts.maxResults },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'Authentication with a Gatehouse SCIM API token sent as a bearer token.',
        specUri: 'https://www.rfc-editor.org/info/rfc6750',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${trim(baseUrl)}/ServiceProviderConfig` },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Attribute lookup

export const lc = (s: string) => s.toLowerCase();

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** An object's keys by their lower-case form (the first key of each form), for case-insensitive lookups. */
function keysByLowerCase(o: Record<string, unknown>): Map<string, string> {
  const m = new Map<string, string>();
  for (const k of Object.keys(o)) {
    const l = lc(k);
    if (!m.has(l)) m.set(l, k);
  }
  return m;
}

/** The schema of a resource with this URN (case-insensitive), or undefined. */
export function schemaOf(resource: ResourceTypeDef, urn: string): SchemaDef | undefined {
  return resource.definitions.find((s) => lc(s.id) === lc(urn));
}

/** The extension schema with this URN (case-insensitive), or undefined (the core schema is not an extension). */
export function extensionOf(resource: ResourceTypeDef, urn: string): SchemaDef | undefined {
  const s = schemaOf(resource, urn);
  return s && s.id !== resource.schema ? s : undefined;
}

export const subOf = (attr: AttributeDef, name: string) =>
  attr.subAttributes?.find((s) => lc(s.name) === lc(name));

/**
 * An attribute by name (case-insensitive), schema-qualified or not: an unqualified name is looked up in the core
 * schema, then in each extension.
 */
export function findAttribute(
  resource: ResourceTypeDef,
  path: { schema?: string; attribute: string; subAttribute?: string },
): { schema: string; attr: AttributeDef; sub?: AttributeDef } | undefined {
  const defs = path.schema
    ? resource.definitions.filter((s) => lc(s.id) === lc(path.schema!))
    : resource.definitions;
  for (const def of defs) {
    const attr = def.attributes.find((x) => lc(x.name) === lc(path.attribute));
    if (!attr) continue;
    if (path.subAttribute === undefined) return { schema: def.id, attr };
    const sub = subOf(attr, path.subAttribute);
    return sub ? { schema: def.id, attr, sub } : undefined;
  }
  return undefined;
}

/**
 * A top-level member name of a resource body: `schemas`, an extension's URN (its object of attributes), a core
 * attribute (`userName`), or a fully-qualified attribute (`urn:…:enterprise:2.0:User:employeeNumber`, also a
 * sub-attribute `urn:…:User:manager.value` or, when `dotted`, `name.givenName`). Undefined when unknown.
 */
export function resolveMember(
  resource: ResourceTypeDef,
  key: string,
  dotted = false,
):
  | { kind: 'schemas' }
  | { kind: 'extension'; schema: SchemaDef }
  | { kind: 'attribute'; schema: string; attr: AttributeDef; sub?: AttributeDef }
  | undefined {
  if (lc(key) === 'schemas') return { kind: 'schemas' };
  const ext = extensionOf(resource, key);
  if (ext) return { kind: 'extension', schema: ext };
  const colon = key.lastIndexOf(':');
  const schema = colon >= 0 ? key.slice(0, colon) : undefined;
  const name = colon >= 0 ? key.slice(colon + 1) : key;
  const parts = name.split('.');
  if (parts.length > 2 || (parts.length === 2 && !dotted && schema === undefined)) return undefined;
  const found = findAttribute(resource, {
    ...(schema !== undefined ? { schema } : {}),
    attribute: parts[0]!,
    ...(parts[1] !== undefined ? { subAttribute: parts[1] } : {}),
  });
  return found ? { kind: 'attribute', ...found } : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Values

/** How values are checked. */
export interface CheckOptions {
  /** Accept what Entra and Okta send: "True", a bare string for a complex value, one object for an array. */
  lenient: boolean;
  /**
   * Read-only attributes: dropped (client input, RFC 7643 §2.2) or kept (a stored resource, which is also read with
   * its repeated values as they are).
   */
  readOnly: 'drop' | 'keep';
  /** Names dropped as unknown (lenient only). */
  ignored: string[];
}

export const show = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
};

const invalidValue = (message: string, field: string) =>
  scimError(400, ScimTypes.invalidValue, message, field);

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))?)?$/i;

/** An xsd:dateTime (RFC 7643 §2.3.5): a real calendar date and time, time zone optional. */
export function isDateTime(s: string, allowDate = false): boolean {
  const m = DATE_TIME.exec(s);
  if (!m || (m[4] === undefined && !allowDate)) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > days) return false;
  if (m[4] === undefined) return true;
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) return false;
  return m[7] === undefined || (Number(m[7]) <= 14 && Number(m[8]) <= 59);
}

/** An RFC 3986 URI-reference, by its characters: unreserved, reserved and %-escapes only (no spaces, no raw Unicode). */
const URI_REFERENCE = /^(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * A value in its canonical spelling when it is one of the attribute's canonical values in another case (RFC 7643
 * §2.4: `"type": "Work"` is stored and returned as `work`); any other value as sent.
 */
function canonical(attr: AttributeDef, v: string): string {
  if (!attr.canonicalValues) return v;
  const lower = v.toLowerCase();
  return attr.canonicalValues.find((c) => c.toLowerCase() === lower) ?? v;
}

function checkScalar(attr: AttributeDef, v: unknown, where: string, o: CheckOptions): unknown {
  const value = checkType(attr, v, where, o);
  if (attr.format && !o.lenient && typeof value === 'string') {
    const wrong = FORMATS[attr.format](value);
    if (wrong) throw invalidValue(`${where} must be ${wrong}, not ${show(v)}`, where);
  }
  return value;
}

/**
 * An email address as RFC 5321 has it, with RFC 6531's Unicode: a dot-atom or quoted local part, @, and a domain
 * of letter-digit-hyphen labels (or an address literal); 254 characters at most.
 */
const EMAIL =
  /^(?:[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*|"(?:[^"\\\r\n]|\\.)+")@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)*|\[[^\]\s]+\])$/u;

const COUNTRIES = new Set(ISO_3166_ALPHA_2);

/** Each format's check: what the value must be, or null when it is. */
const FORMATS: Record<NonNullable<AttributeDef['format']>, (v: string) => string | null> = {
  // Already in its canonical (upper) case if it is one (`canonical`).
  country: (v) => (COUNTRIES.has(v) ? null : 'an ISO 3166-1 alpha-2 country code such as "DE"'),
  email: (v) => (v.length <= 254 && EMAIL.test(v) ? null : 'an email address (RFC 5321)'),
  x509: (v) => {
    const der = Buffer.from(v.replace(/\s+/g, ''), 'base64');
    // One DER SEQUENCE spanning the whole value: more bytes after it are another certificate.
    const spans = derLength(der);
    if (spans !== null && spans < der.length) return 'one X.509 certificate, not several (RFC 7643 §4.1.2)';
    try {
      new X509Certificate(der);
      return spans === der.length ? null : 'an X.509 certificate (base64 DER)';
    } catch {
      return 'an X.509 certificate (base64 DER)';
    }
  },
};

/** The length of the DER SEQUENCE at the start of `der`, header included, or null when it does not start with one. */
function derLength(der: Buffer): number | null {
  if (der.length < 2 || der[0] !== 0x30) return null;
  const first = der[1]!;
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 4 || der.length < 2 + n) return null;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + der[2 + i]!;
  return 2 + n + len;
}

function checkType(attr: AttributeDef, v: unknown, where: string, o: CheckOptions): unknown {
  const bad = (expected: string) => invalidValue(`${where} must be ${expected}, not ${show(v)}`, where);
  switch (attr.type) {
    case 'string':
      if (typeof v === 'string') return canonical(attr, v);
      if (o.lenient && typeof v === 'number' && Number.isFinite(v)) return String(v);
      throw bad('a string');
    case 'reference': {
      const text =
        typeof v === 'string'
          ? v
          : o.lenient && typeof v === 'number' && Number.isFinite(v)
            ? String(v)
            : undefined;
      if (text === undefined) throw bad('a URI');
      // RFC 7643 §2.3.7: an absolute or relative URI. Lenient: kept as sent, so one odd photo URL does not hold up
      // the rest of a person's provisioning.
      if (!o.lenient && !URI_REFERENCE.test(text)) throw bad('an absolute or relative URI (RFC 3986)');
      return text;
    }
    case 'binary':
      if (typeof v !== 'string' || !BASE64.test(v.replace(/\s+/g, ''))) throw bad('base64 text');
      return v;
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (o.lenient && typeof v === 'string' && /^(true|false)$/i.test(v)) return lc(v) === 'true';
      throw bad('true or false');
    case 'integer':
      if (typeof v === 'number' && Number.isInteger(v)) return v;
      throw bad('an integer');
    case 'decimal':
      if (typeof v === 'number' && Number.isFinite(v)) return v;
      throw bad('a number');
    case 'dateTime':
      if (typeof v === 'string' && isDateTime(v, o.lenient)) return v;
      throw bad('a date-time such as "2025-05-13T04:42:34Z"');
    case 'complex':
      throw new Error(`${where} is complex`);
  }
}

function checkComplex(attr: AttributeDef, v: unknown, where: string, o: CheckOptions): unknown {
  const subs = attr.subAttributes ?? [];
  if (o.lenient && (typeof v === 'string' || typeof v === 'number') && subOf(attr, 'value')) v = { value: v };
  if (!isObject(v))
    throw invalidValue(
      `${where} must be an object (${subs.map((s) => s.name).join(', ')}), not ${show(v)}`,
      where,
    );
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const [key, raw] of Object.entries(v)) {
    const sub = subOf(attr, key);
    if (!sub) {
      if (o.lenient) {
        o.ignored.push(`${where}.${key}`);
        continue;
      }
      throw scimError(
        400,
        ScimTypes.invalidSyntax,
        `unknown attribute "${key}" in ${where}; known: ${subs.map((s) => s.name).join(', ')}`,
        `${where}.${key}`,
      );
    }
    if (seen.has(sub.name))
      throw scimError(
        400,
        ScimTypes.invalidSyntax,
        `${where}.${sub.name} is given twice`,
        `${where}.${sub.name}`,
      );
    seen.add(sub.name);
    if (sub.mutability === 'readOnly' && o.readOnly === 'drop') continue;
    const value = checkValue(sub, raw, `${where}.${sub.name}`, o);
    if (value !== undefined) out[sub.name] = value;
  }
  if (!Object.keys(out).length) return undefined;
  for (const sub of subs)
    if (sub.required && out[sub.name] === undefined)
      throw invalidValue(`${where}.${sub.name} is required`, `${where}.${sub.name}`);
  // Sub-attributes in definition order.
  return Object.fromEntries(subs.filter((s) => out[s.name] !== undefined).map((s) => [s.name, out[s.name]]));
}

/**
 * One attribute's value, checked against its definition and returned in canonical form (sub-attribute names in
 * their canonical case, lenient coercions applied); undefined when it is unassigned (null, [], {}).
 */
export function checkValue(attr: AttributeDef, v: unknown, where: string, o: CheckOptions): unknown {
  if (v === null || v === undefined) return undefined;
  const one = (x: unknown, w: string) =>
    attr.type === 'complex'
      ? checkComplex(attr, x, w, o)
      : x === null
        ? undefined
        : checkScalar(attr, x, w, o);
  if (!attr.multiValued) {
    if (Array.isArray(v)) throw invalidValue(`${where} is single-valued, not an array: ${show(v)}`, where);
    return one(v, where);
  }
  if (!Array.isArray(v)) {
    if (!o.lenient) throw invalidValue(`${where} is multi-valued: give an array, not ${show(v)}`, where);
    v = [v];
  }
  const list = v as unknown[];
  const out: unknown[] = [];
  list.forEach((x, i) => {
    const value = one(x, `${where}[${i}]`);
    if (value !== undefined) out.push(value);
  });
  if (!out.length) return undefined;
  if (out.filter((x) => isObject(x) && x.primary === true).length > 1)
    throw invalidValue(`${where}: at most one value may be primary (RFC 7643 §2.4)`, where);
  return o.readOnly === 'keep' ? out : withoutRepeats(attr, out);
}

/**
 * A multi-valued complex attribute's values with each (type, value) combination once (RFC 7643 §2.4: it "SHOULD
 * NOT" be returned twice): the first stays, and is the primary one if a repeat of it was. `value` is compared as
 * its sub-attribute says (an email in any case is the same email; a certificate only byte for byte), `type` in any
 * case; values without a `value` (addresses) are all kept.
 */
function withoutRepeats(attr: AttributeDef, values: unknown[]): unknown[] {
  const valueDef = attr.subAttributes?.find((s) => s.name === 'value');
  if (attr.type !== 'complex' || !valueDef) return values;
  const keyOf = (x: Record<string, unknown>) => {
    const exact = valueDef.caseExact || valueDef.type === 'binary';
    const v = typeof x.value === 'string' && !exact ? x.value.toLowerCase() : JSON.stringify(x.value);
    return `${typeof x.type === 'string' ? x.type.toLowerCase() : ''}\u0000${v}`;
  };
  const first = new Map<string, Record<string, unknown>>();
  const out: unknown[] = [];
  for (const x of values) {
    if (!isObject(x) || x.value === undefined) {
      out.push(x);
      continue;
    }
    const key = keyOf(x);
    const kept = first.get(key);
    if (!kept) {
      first.set(key, x);
      out.push(x);
    } else if (x.primary === true) kept.primary = true;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Normalisation of a resource body

export interface NormalizeOptions {
  /** Accept what Entra and Okta send (see checkValue); unknown attributes are dropped and listed in `ignored`. */
  lenient: boolean;
  /**
   * The value is a resource as held (a stored resource, a PATCH result), not client input: read-only attributes
   * are kept and `schemas` may be missing.
   */
  stored?: boolean;
}

const invalidSyntax = (message: string, field?: string) =>
  scimError(400, ScimTypes.invalidSyntax, message, field);

function checkSchemas(resource: ResourceTypeDef, schemas: unknown, o: CheckOptions, stored: boolean) {
  if (schemas === undefined) {
    if (o.lenient || stored) return;
    throw invalidSyntax(`"schemas" is missing; it must list ${resource.schema}`, 'schemas');
  }
  if (!Array.isArray(schemas) || schemas.some((s) => typeof s !== 'string')) {
    if (o.lenient) return;
    throw invalidSyntax(`"schemas" must be an array of schema URNs, not ${show(schemas)}`, 'schemas');
  }
  if (!schemas.some((s) => lc(s as string) === lc(resource.schema)) && !o.lenient && !stored)
    throw invalidSyntax(`"schemas" must contain ${resource.schema}`, 'schemas');
  for (const s of schemas as string[]) {
    if (schemaOf(resource, s)) continue;
    if (o.lenient) o.ignored.push(`schemas: ${s}`);
    else
      throw invalidSyntax(
        `unknown schema "${s}" in "schemas"; known: ${resource.definitions.map((d) => d.id).join(', ')}`,
        'schemas',
      );
  }
}

/** `schemas` for a value: the core schema, then each extension that has attributes. */
export function schemasOf(resource: ResourceTypeDef, value: Record<string, unknown>): string[] {
  return [
    resource.schema,
    ...resource.schemaExtensions
      .map((e) => e.schema)
      .filter((s) => isObject(value[s]) && Object.keys(value[s]).length > 0),
  ];
}

/**
 * A POST/PUT body checked and normalised (RFC 7643 §2, §3): every name in its canonical case, extension attributes
 * under their URN (a fully-qualified `urn:…:User:employeeNumber` member is accepted too), values type-checked,
 * read-only attributes dropped, required attributes present, at most one primary value per attribute, `schemas`
 * rewritten to the core schema plus the extensions that have values. Throws a 400 SCIM error otherwise.
 */
export function normalizeResource(
  resource: ResourceTypeDef,
  body: unknown,
  opts: NormalizeOptions,
): { value: Record<string, unknown>; ignored: string[] } {
  const stored = opts.stored === true;
  const o: CheckOptions = { lenient: opts.lenient, readOnly: stored ? 'keep' : 'drop', ignored: [] };
  if (!isObject(body)) throw invalidSyntax(`the body must be a JSON object, not ${show(body)}`);
  const found = Object.keys(body).find((k) => lc(k) === 'schemas');
  checkSchemas(resource, found === undefined ? undefined : body[found], o, stored);

  /** schema URN → attribute name → raw value */
  const given = new Map<string, Map<string, { attr: AttributeDef; raw: unknown; where: string }>>();
  const put = (schema: string, attr: AttributeDef, raw: unknown, where: string) => {
    const m = given.get(schema) ?? new Map();
    given.set(schema, m);
    if (m.has(attr.name)) throw invalidSyntax(`${where} is given twice`, where);
    m.set(attr.name, { attr, raw, where });
  };
  const core = schemaOf(resource, resource.schema)!;
  /** An unknown member: `name` in `schema` (undefined: the member names a schema the resource does not have). */
  const unknown = (key: string, name: string, schema: SchemaDef | undefined) => {
    if (o.lenient) return void o.ignored.push(key);
    const known = (list: { id?: string; name: string }[]) => list.map((x) => x.id ?? x.name).join(', ');
    throw invalidSyntax(
      schema
        ? `unknown attribute "${name}" in ${schema.id}; known: ${known(schema.attributes)}`
        : `unknown schema in "${key}"; known: ${known(resource.definitions)}`,
      key,
    );
  };

  for (const [key, raw] of Object.entries(body)) {
    const m = resolveMember(resource, key);
    if (m?.kind === 'schemas') continue;
    if (m?.kind === 'extension') {
      if (raw === null) continue;
      if (!isObject(raw)) throw invalidValue(`${key} must be an object of attributes, not ${show(raw)}`, key);
      for (const [k, v] of Object.entries(raw)) {
        const attr = m.schema.attributes.find((x) => lc(x.name) === lc(k));
        if (attr) put(m.schema.id, attr, v, `${m.schema.id}:${attr.name}`);
        else unknown(`${m.schema.id}:${k}`, k, m.schema);
      }
    } else if (m?.kind === 'attribute' && !m.sub) {
      put(m.schema, m.attr, raw, m.schema === resource.schema ? m.attr.name : `${m.schema}:${m.attr.name}`);
    } else {
      const colon = key.lastIndexOf(':');
      unknown(key, key.slice(colon + 1), colon >= 0 ? schemaOf(resource, key.slice(0, colon)) : core);
    }
  }

  const value: Record<string, unknown> = { schemas: [] };
  for (const def of resource.definitions) {
    const m = given.get(def.id);
    const target: Record<string, unknown> = def.id === resource.schema ? value : {};
    for (const attr of def.attributes) {
      const g = m?.get(attr.name);
      if (!g || (attr.mutability === 'readOnly' && !stored)) continue;
      const v = checkValue(attr, g.raw, g.where, o);
      if (v !== undefined) target[attr.name] = v;
    }
    const present = def.id === resource.schema || Object.keys(target).length > 0;
    if (def.id !== resource.schema && present) value[def.id] = target;
    if (!present && !resource.schemaExtensions.some((e) => e.schema === def.id && e.required)) continue;
    for (const attr of def.attributes)
      if (attr.required && attr.mutability !== 'readOnly' && target[attr.name] === undefined) {
        const field = def.id === resource.schema ? attr.name : `${def.id}:${attr.name}`;
        throw invalidValue(`${field} is required`, field);
      }
  }
  value.schemas = schemasOf(resource, value);
  return { value, ignored: o.ignored };
}

// ---------------------------------------------------------------------------------------------------------------
// Projection

export interface ProjectOptions {
  /** RFC 7644 §3.9 `attributes`, already split on commas. */
  attributes?: string[];
  /** RFC 7644 §3.9 `excludedAttributes`, already split on commas. */
  excludedAttributes?: string[];
}

/** Names selected by `attributes` or `excludedAttributes`: schema URN → attribute → 'all' or sub-attribute names. */
type Selection = Map<string, Map<string, 'all' | Set<string>>>;

/**
 * Parse attribute names. A value filter (`emails[type eq "work"]`, which Microsoft's validator sends) selects the
 * whole attribute: `attributes` chooses which attributes are returned, never which values (RFC 7644 §3.9 names
 * attributes only), so `emails[type eq "work"]` is `emails` and `emails[type eq "work"].value` is `emails.value`.
 * A schema URN on its own names all of that schema's attributes. Unknown names select nothing.
 */
function selection(resource: ResourceTypeDef, names: string[] | undefined): Selection | undefined {
  const list = (names ?? []).map((n) => n.trim()).filter(Boolean);
  if (!list.length) return undefined;
  const sel: Selection = new Map();
  for (const raw of list) {
    const name = raw.replace(/\[.*\]/, '');
    const whole = schemaOf(resource, name);
    const bucket = (schema: string) => sel.get(schema) ?? sel.set(schema, new Map()).get(schema)!;
    if (whole) {
      for (const attr of whole.attributes) bucket(whole.id).set(attr.name, 'all');
      continue;
    }
    const colon = name.lastIndexOf(':');
    const [attribute, subAttribute] = name.slice(colon + 1).split('.');
    const found = findAttribute(resource, {
      ...(colon >= 0 ? { schema: name.slice(0, colon) } : {}),
      attribute: attribute!,
      ...(subAttribute !== undefined ? { subAttribute } : {}),
    });
    if (!found) continue;
    const b = bucket(found.schema);
    const had = b.get(found.attr.name);
    if (!found.sub || had === 'all') b.set(found.attr.name, 'all');
    else b.set(found.attr.name, (had ?? new Set()).add(found.sub.name));
  }
  return sel;
}

/**
 * A resource as returned (RFC 7644 §3.4.2.5, §3.9): `returned: never` attributes never, `always` ones always,
 * `request` ones only when named in `attributes`; with `attributes`, only the named attributes (and sub-attributes)
 * besides the `always` ones; `excludedAttributes` removes the named ones (never an `always` one). `schemas` is kept,
 * without the extensions left empty. The input is not changed.
 */
export function project(
  resource: ResourceTypeDef,
  value: Record<string, unknown>,
  opts: ProjectOptions = {},
): Record<string, unknown> {
  const include = selection(resource, opts.attributes);
  const exclude = selection(resource, opts.excludedAttributes);

  /** One attribute's (or sub-attribute's) value as returned, or undefined; `inc`/`exc`: what the lists name. */
  const keep = (
    attr: AttributeDef,
    v: unknown,
    inc?: 'all' | Set<string>,
    exc?: 'all' | Set<string>,
  ): unknown => {
    if (v === undefined || v === null || attr.returned === 'never') return undefined;
    const skipped = exc === 'all' || (include ? inc === undefined : attr.returned === 'request');
    if (attr.returned !== 'always' && skipped) return undefined;
    if (attr.type !== 'complex') return v;
    // Named as a whole (or returned always and not narrowed to some sub-attributes): every sub-attribute.
    const all = inc === 'all' || (inc === undefined && (attr.returned === 'always' || !include));
    const subs = (x: unknown) => {
      if (!isObject(x)) return undefined;
      const out: Record<string, unknown> = {};
      const keys = keysByLowerCase(x);
      for (const sub of attr.subAttributes ?? []) {
        const k = keys.get(lc(sub.name));
        if (k === undefined) continue;
        const r = keep(
          sub,
          x[k],
          all || (inc instanceof Set && inc.has(sub.name)) ? 'all' : undefined,
          exc instanceof Set && exc.has(sub.name) ? 'all' : undefined,
        );
        if (r !== undefined) out[sub.name] = r;
      }
      return Object.keys(out).length ? out : undefined;
    };
    if (!attr.multiValued) return subs(v);
    const list = (Array.isArray(v) ? v : [v]).map(subs).filter((x) => x !== undefined);
    return list.length ? list : undefined;
  };

  const out: Record<string, unknown> = {};
  const valueKeys = keysByLowerCase(value);
  for (const def of resource.definitions) {
    const core = def.id === resource.schema;
    const key = core ? undefined : valueKeys.get(lc(def.id));
    const source = core ? value : key === undefined ? undefined : value[key];
    if (!isObject(source)) continue;
    const target: Record<string, unknown> = {};
    const sourceKeys = core ? valueKeys : keysByLowerCase(source);
    for (const attr of def.attributes) {
      const k = sourceKeys.get(lc(attr.name));
      if (k === undefined) continue;
      const r = keep(
        attr,
        source[k],
        include?.get(def.id)?.get(attr.name),
        exclude?.get(def.id)?.get(attr.name),
      );
      if (r !== undefined) target[attr.name] = r;
    }
    if (core) Object.assign(out, target);
    else if (Object.keys(target).length) out[def.id] = target;
  }
  return { schemas: schemasOf(resource, out), ...out };
}
