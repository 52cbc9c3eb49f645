import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '../kit/errors.ts';
import { ScimTypes, scimError } from './errors.ts';
import {
  CORE_GROUP,
  CORE_USER,
  ENTERPRISE_USER,
  ENTERPRISE_USER_SCHEMA,
  GROUP_RESOURCE,
  HR_USER,
  HR_USER_SCHEMA,
  USER_RESOURCE,
  USER_SCHEMA,
  checkValue,
  findAttribute,
  normalizeResource,
  project,
  resourceTypeById,
  resourceTypesResponse,
  schemaById,
  schemaResources,
  serviceProviderConfig,
  type AttributeDef,
  type ResourceTypeDef,
} from './schema.ts';

type Json = Record<string, unknown>;
const BASE = 'https://gatehouse.example/scim/v2';

function failure(f: () => unknown): { scimType: string; message: string; field?: string } {
  try {
    f();
  } catch (e) {
    if (!isGatehouseError(e)) throw e;
    expect(e.status).toBe(400);
    return { scimType: e.details.scimType as string, message: e.message, field: e.problems[0]?.field };
  }
  throw new Error('expected a SCIM error, got success');
}

const strict = (body: unknown) => normalizeResource(USER_RESOURCE, body, { lenient: false });
const lenient = (body: unknown) => normalizeResource(USER_RESOURCE, body, { lenient: true });
const body = (extra: Json = {}) => ({ schemas: [CORE_USER], userName: 'bjensen', ...extra });
/** A self-signed X.509 certificate, base64 DER (`openssl req -x509 -newkey ec … -subj "/CN=Babs Jensen/O=Example"`). */
const CERTIFICATE = [
  'MIIBpzCCAU2gAwIBAgIUbShBOE2s7s6EO8uxoz9FbgACTiQwCgYIKoZIzj0EAwIwKDEUMBIGA1UEAwwLQmFicyBKZW5zZW4xEDAO',
  'BgNVBAoMB0V4YW1wbGUwIBcNMjYxMTI0MDU0NzE1WhgPMjEyNjEwMzEwNTQ3MTVaMCgxFDASBgNVBAMMC0JhYnMgSmVuc2VuMRAw',
  'DgYDVQQKDAdFeGFtcGxlMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEenZ28yeCL8Xp/0kjn13kxDHin02ctjueu72mXSgfgYwc',
  'w9I9f4lFf8nouqDoP+HgulrI5bnfwu//d8CQn3jQK6NTMFEwHQYDVR0OBBYEFBVAtZkdERrcJZsIhqOHuZQWlL4hMB8GA1UdIwQY',
  'MBaAFBVAtZkdERrcJZsIhqOHuZQWlL4hMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhALciQxI5el6MQvagVFTV',
  '8uowKMMob5JJUWGIl3OpW2bzAiBX31yHTicpAX+ydnpMbeED6iy9yH+XZBh+s18HvezPvQ==',
].join('');

describe('scimError', () => {
  it('carries code, status, scimType and the field', () => {
    const e = scimError(400, ScimTypes.mutability, 'id is read-only', 'id');
    expect(e.code).toBe('scim_mutability');
    expect(e.status).toBe(400);
    expect(e.details).toEqual({ scimType: 'mutability' });
    expect(e.problems).toEqual([{ field: 'id', message: 'id is read-only' }]);
    const n = scimError(404, null, 'User 1 not found');
    expect(n.code).toBe('scim_error');
    expect(n.details).toEqual({});
    expect(n.problems).toEqual([]);
    expect(scimError(501, null, 'no').status).toBe(501);
    expect(Object.values(ScimTypes)).toEqual([
      'invalidFilter',
      'tooMany',
      'uniqueness',
      'mutability',
      'invalidSyntax',
      'invalidPath',
      'noTarget',
      'invalidValue',
      'invalidVers',
      'sensitive',
    ]);
  });
});

describe('normalizeResource', () => {
  it('an unknown attribute: strict invalidSyntax naming it and the known ones; lenient drops and lists it', () => {
    const f = failure(() => strict(body({ adreses: [] })));
    expect(f.scimType).toBe('invalidSyntax');
    expect(f.field).toBe('adreses');
    expect(f.message).toMatch(
      new RegExp(
        `^unknown attribute "adreses" in ${CORE_USER}; known: id, externalId, meta, userName, name,`,
      ),
    );
    expect(f.message).toContain('addresses');
    expect(lenient(body({ adreses: [], name: { givenName: 'B', nick: 'x' } }))).toEqual({
      value: { schemas: [CORE_USER], userName: 'bjensen', name: { givenName: 'B' } },
      ignored: ['adreses', 'name.nick'],
    });
    expect(failure(() => strict(body({ [`${ENTERPRISE_USER}`]: { dept: 'x' } }))).message).toMatch(
      `unknown attribute "dept" in ${ENTERPRISE_USER}`,
    );
    expect(failure(() => strict(body({ 'urn:example:ext:1.0:User': { a: 1 } }))).message).toMatch(
      /unknown schema/,
    );
    expect(lenient(body({ 'urn:example:ext:1.0:User': { a: 1 } })).ignored).toEqual([
      'urn:example:ext:1.0:User',
    ]);
  });

  it('"True"/"False" for booleans: lenient coerces, strict invalidValue naming attribute and value', () => {
    expect(lenient(body({ active: 'True' })).value.active).toBe(true);
    expect(lenient(body({ active: 'false' })).value.active).toBe(false);
    const f = failure(() => strict(body({ active: 'True' })));
    expect(f).toMatchObject({ scimType: 'invalidValue', field: 'active' });
    expect(f.message).toBe('active must be true or false, not "True"');
    expect(failure(() => lenient(body({ active: 'yes' }))).scimType).toBe('invalidValue');
  });

  it('a bare string, or one object, where a multi-valued complex attribute is expected: lenient only', () => {
    expect(lenient(body({ emails: 'b@x.org' })).value.emails).toEqual([{ value: 'b@x.org' }]);
    expect(lenient(body({ emails: ['b@x.org'] })).value.emails).toEqual([{ value: 'b@x.org' }]);
    expect(lenient(body({ emails: { value: 'b@x.org', type: 'work' } })).value.emails).toEqual([
      { value: 'b@x.org', type: 'work' },
    ]);
    expect(failure(() => strict(body({ emails: 'b@x.org' }))).message).toBe(
      'emails is multi-valued: give an array, not "b@x.org"',
    );
    expect(failure(() => strict(body({ emails: ['b@x.org'] }))).message).toMatch(
      /^emails\[0\] must be an object .*"b@x.org"/,
    );
    expect(failure(() => strict(body({ emails: { value: 'b@x.org' } }))).scimType).toBe('invalidValue');
    expect(failure(() => strict(body({ nickName: ['a'] }))).message).toMatch(/nickName is single-valued/);
  });

  it('read-only attributes are ignored (RFC 7643 §2.2), in both profiles; kept for a stored resource', () => {
    const given = body({
      id: 'client-chosen',
      meta: { resourceType: 'User' },
      groups: [{ value: 'g1' }],
      [ENTERPRISE_USER]: { manager: { value: 'm1', displayName: 'Boss' } },
      [HR_USER]: { status: 'terminated', location: 'Oslo' },
    });
    const expected = {
      schemas: [CORE_USER, ENTERPRISE_USER, HR_USER],
      userName: 'bjensen',
      [ENTERPRISE_USER]: { manager: { value: 'm1' } },
      [HR_USER]: { location: 'Oslo' },
    };
    expect(strict(given)).toEqual({ value: expected, ignored: [] });
    expect(lenient(given).value).toEqual(expected);
    const stored = normalizeResource(USER_RESOURCE, given, { lenient: false, stored: true }).value;
    expect(stored.id).toBe('client-chosen');
    expect(stored.groups).toEqual([{ value: 'g1' }]);
    expect(stored[HR_USER]).toEqual({ status: 'terminated', location: 'Oslo' });
  });

  it('required attributes must be there (invalidValue naming them)', () => {
    expect(failure(() => strict({ schemas: [CORE_USER], name: { givenName: 'B' } }))).toMatchObject({
      scimType: 'invalidValue',
      field: 'userName',
      message: 'userName is required',
    });
    expect(failure(() => lenient({ userName: null }))).toMatchObject({ field: 'userName' });
    const g = (b: unknown) => normalizeResource(GROUP_RESOURCE, b, { lenient: false });
    expect(failure(() => g({ schemas: [CORE_GROUP], members: [] })).message).toBe('displayName is required');
    expect(
      g({ schemas: [CORE_GROUP], displayName: 'Tour Guides', members: [{ value: 'u1', type: 'User' }] }),
    ).toEqual({
      value: { schemas: [CORE_GROUP], displayName: 'Tour Guides', members: [{ value: 'u1', type: 'User' }] },
      ignored: [],
    });
  });

  it('dateTime values must be real ISO 8601 date-times (lenient also takes a date)', () => {
    const hr = (hireDate: unknown) => body({ [HR_USER]: { hireDate } });
    for (const bad of [
      '2024-02-30T00:00:00Z',
      '2024-13-01T00:00:00Z',
      '2024-01-01T25:00:00Z',
      'yesterday',
      20240101,
    ])
      expect(
        failure(() => strict(hr(bad))),
        String(bad),
      ).toMatchObject({
        scimType: 'invalidValue',
        field: `${HR_USER}:hireDate`,
      });
    for (const good of ['2024-02-29T00:00:00Z', '2011-05-13T04:42:34.123+02:00', '2011-05-13T04:42:34'])
      expect((strict(hr(good)).value[HR_USER] as Json).hireDate).toBe(good);
    expect(failure(() => strict(hr('2024-01-15'))).scimType).toBe('invalidValue');
    expect((lenient(hr('2024-01-15')).value[HR_USER] as Json).hireDate).toBe('2024-01-15');
  });

  it('at most one primary value per attribute', () => {
    const emails = [
      { value: 'a@x.org', primary: true },
      { value: 'b@x.org', primary: true },
    ];
    for (const f of [strict, lenient])
      expect(failure(() => f(body({ emails })))).toMatchObject({ scimType: 'invalidValue', field: 'emails' });
    expect(
      strict(body({ emails: [emails[0], { value: 'b@x.org', primary: false }] })).value.emails,
    ).toHaveLength(2);
  });

  it('keeps each (type, value) combination once (RFC 7643 §2.4); the one kept is primary if a repeat was', () => {
    const r = strict(
      body({
        emails: [
          { value: 'babs@example.com', type: 'work' },
          { value: 'babs@jensen.org', type: 'home' },
          { value: 'BABS@example.com', type: 'Work', primary: true },
          { value: 'babs@example.com', type: 'home' },
        ],
        x509Certificates: [{ value: CERTIFICATE }, { value: CERTIFICATE }],
        addresses: [
          { locality: 'Paris', type: 'work' },
          { locality: 'Paris', type: 'work' },
        ],
      }),
    ).value;
    expect(r.emails).toEqual([
      { value: 'babs@example.com', type: 'work', primary: true },
      { value: 'babs@jensen.org', type: 'home' },
      { value: 'babs@example.com', type: 'home' },
    ]);
    expect(r.x509Certificates).toEqual([{ value: CERTIFICATE }]);
    // A certificate is another one in another case (binary: base64 is case-sensitive); lenient, which does not
    // check that it is one.
    const other = CERTIFICATE.toLowerCase();
    expect(
      lenient(body({ x509Certificates: [{ value: CERTIFICATE }, { value: other }, { value: other }] })).value
        .x509Certificates,
    ).toEqual([{ value: CERTIFICATE }, { value: other }]);
    // Addresses have no value: nothing to compare them by, so both stay.
    expect(r.addresses).toHaveLength(2);
  });

  it('emails are addresses (RFC 5321, with RFC 6531 Unicode) in the strict profile; lenient keeps any text', () => {
    const emails = (value: string, f = strict) =>
      (f(body({ emails: [{ value, type: 'work' }] })).value.emails as Json[])[0]!.value;
    for (const good of [
      'bjensen@example.com',
      'b.jensen+scim@mail.example.co.uk',
      'zoë@exämple.fr',
      '"b jensen"@example.com',
      'bjensen@[192.0.2.1]',
    ])
      expect(emails(good)).toBe(good);
    for (const bad of [
      'bjensen',
      'b jensen@example.com',
      'bjensen@',
      '@example.com',
      'b@@example.com',
      'b..jensen@example.com',
      'bjensen@exa mple.com',
      'bjensen@-example.com',
      `${'b'.repeat(250)}@x.org`,
    ])
      expect(
        failure(() => emails(bad)),
        bad,
      ).toMatchObject({
        scimType: 'invalidValue',
        field: 'emails[0].value',
        message: expect.stringMatching(/must be an email address/),
      });
    expect(emails('bjensen', lenient)).toBe('bjensen');
  });

  it('a certificate is one X.509 certificate (RFC 7643 §4.1.2) in the strict profile; lenient keeps any base64', () => {
    const certificates = (value: string, f = strict) =>
      (f(body({ x509Certificates: [{ value }] })).value.x509Certificates as Json[])[0]!.value;
    expect(certificates(CERTIFICATE)).toBe(CERTIFICATE);
    const two = Buffer.concat([
      Buffer.from(CERTIFICATE, 'base64'),
      Buffer.from(CERTIFICATE, 'base64'),
    ]).toString('base64');
    expect(failure(() => certificates(two)).message).toMatch(/one X\.509 certificate, not several/);
    const cut = Buffer.from(CERTIFICATE, 'base64').subarray(0, 200).toString('base64');
    for (const bad of ['TUlJQw==', cut])
      expect(failure(() => certificates(bad))).toMatchObject({
        scimType: 'invalidValue',
        field: 'x509Certificates[0].value',
        message: expect.stringMatching(/must be an X\.509 certificate/),
      });
    expect(certificates(two, lenient)).toBe(two);
  });

  it('a country is an ISO 3166-1 alpha-2 code in the strict profile (RFC 7643 §4.1.2); lenient keeps any text', () => {
    const country = (c: string, f = strict) =>
      (f(body({ addresses: [{ locality: 'Berlin', country: c }] })).value.addresses as Json[])[0]!.country;
    expect(country('DE')).toBe('DE');
    expect(country('de')).toBe('DE');
    for (const bad of ['Germany', 'DEU', 'UK', 'XK', 'ZZ', ''])
      expect(
        failure(() => country(bad)),
        bad,
      ).toMatchObject({
        scimType: 'invalidValue',
        field: 'addresses[0].country',
        message: expect.stringMatching(/ISO 3166-1 alpha-2/),
      });
    // Microsoft's collection sends names: the lenient profile keeps them, and still writes a code in its case.
    expect(country('Bermuda', lenient)).toBe('Bermuda');
    expect(country('bm', lenient)).toBe('BM');
    const shown = schemaResources(`${BASE}/`).Resources.find((x) => x.id === CORE_USER)!;
    const addresses = (shown.attributes as Json[]).find((a) => a.name === 'addresses')!;
    const codes = (addresses.subAttributes as Json[]).find((a) => a.name === 'country')!
      .canonicalValues as string[];
    expect(codes).toHaveLength(249);
    expect(codes).toEqual(expect.arrayContaining(['DE', 'GB', 'US', 'BM', 'SS', 'AX']));
  });

  it('canonical values in another case are stored in their canonical spelling (RFC 7643 §2.4)', () => {
    const r = strict(
      body({
        emails: [
          { value: 'a@x.org', type: 'Work' },
          { value: 'b@x.org', type: 'HOME' },
          { value: 'c@x.org', type: 'Holiday' },
        ],
        phoneNumbers: [{ value: '+33 1 23 45 67 89', type: 'Mobile' }],
        [HR_USER]: { workerType: 'Contractor' },
      }),
    ).value;
    expect((r.emails as Json[]).map((e) => e.type)).toEqual(['work', 'home', 'Holiday']);
    expect((r.phoneNumbers as Json[])[0]!.type).toBe('mobile');
    expect((r[HR_USER] as Json).workerType).toBe('contractor');
    // Not a canonical attribute: as sent.
    expect(strict(body({ title: 'Work' })).value.title).toBe('Work');
  });

  it('names in any case are rewritten to their canonical case', () => {
    const r = strict({
      Schemas: [CORE_USER.toUpperCase()],
      USERNAME: 'bjensen',
      Name: { GivenName: 'Barbara', FAMILYNAME: 'Jensen' },
      Emails: [{ Value: 'b@x.org', Primary: true, TYPE: 'work' }],
      'URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER': { EmployeeNumber: '701984' },
    });
    expect(r.value).toEqual({
      schemas: [CORE_USER, ENTERPRISE_USER],
      userName: 'bjensen',
      name: { givenName: 'Barbara', familyName: 'Jensen' },
      emails: [{ value: 'b@x.org', type: 'work', primary: true }],
      [ENTERPRISE_USER]: { employeeNumber: '701984' },
    });
    expect(failure(() => strict(body({ UserName: 'x' }))).message).toMatch(/userName is given twice/);
  });

  it('fully-qualified attribute names are accepted as top-level members', () => {
    const r = strict(
      body({
        [`${ENTERPRISE_USER}:employeeNumber`]: '701984',
        [`${ENTERPRISE_USER}:department`]: 'Tour Operations',
        [`${CORE_USER}:displayName`]: 'Babs Jensen',
        [`${HR_USER}:workerType`]: 'employee',
      }),
    );
    expect(r.value).toEqual({
      schemas: [CORE_USER, ENTERPRISE_USER, HR_USER],
      userName: 'bjensen',
      displayName: 'Babs Jensen',
      [ENTERPRISE_USER]: { employeeNumber: '701984', department: 'Tour Operations' },
      [HR_USER]: { workerType: 'employee' },
    });
    expect(
      failure(() =>
        strict(
          body({ [`${ENTERPRISE_USER}:employeeNumber`]: '1', [ENTERPRISE_USER]: { employeeNumber: '2' } }),
        ),
      ).message,
    ).toMatch(/given twice/);
  });

  it('schemas: strict needs it, with the core schema and only known schemas; lenient does not', () => {
    expect(failure(() => strict({ userName: 'b' }))).toMatchObject({
      scimType: 'invalidSyntax',
      field: 'schemas',
    });
    expect(failure(() => strict({ schemas: [ENTERPRISE_USER], userName: 'b' })).message).toBe(
      `"schemas" must contain ${CORE_USER}`,
    );
    expect(failure(() => strict({ schemas: CORE_USER, userName: 'b' })).scimType).toBe('invalidSyntax');
    expect(failure(() => strict({ schemas: [CORE_USER, 'urn:x:y'], userName: 'b' })).message).toMatch(
      /unknown schema "urn:x:y"/,
    );
    expect(lenient({ userName: 'b' }).value).toEqual({ schemas: [CORE_USER], userName: 'b' });
    expect(lenient({ schemas: [CORE_USER, 'urn:x:y'], userName: 'b' }).ignored).toEqual(['schemas: urn:x:y']);
    // Extensions listed without values are dropped from schemas; ones with values are added.
    expect(strict({ schemas: [CORE_USER, HR_USER], userName: 'b' }).value.schemas).toEqual([CORE_USER]);
    expect(failure(() => strict([body()])).message).toMatch(/JSON object/);
  });

  it('null and empty values are unassigned', () => {
    expect(strict(body({ nickName: null, emails: [], name: {}, [ENTERPRISE_USER]: {} })).value).toEqual({
      schemas: [CORE_USER],
      userName: 'bjensen',
    });
  });

  it('checks every type', () => {
    const o = { lenient: false, readOnly: 'drop' as const, ignored: [] };
    const def = (type: AttributeDef['type']): AttributeDef => ({
      ...USER_SCHEMA.attributes[3]!,
      name: 'x',
      type,
    });
    expect(checkValue(def('integer'), 3, 'x', o)).toBe(3);
    expect(failure(() => checkValue(def('integer'), 3.5, 'x', o)).message).toBe(
      'x must be an integer, not 3.5',
    );
    expect(checkValue(def('decimal'), 3.5, 'x', o)).toBe(3.5);
    expect(failure(() => checkValue(def('decimal'), '3.5', 'x', o)).scimType).toBe('invalidValue');
    expect(checkValue(def('binary'), 'TUlJQw==', 'x', o)).toBe('TUlJQw==');
    expect(failure(() => checkValue(def('binary'), 'not base64!', 'x', o)).scimType).toBe('invalidValue');
    expect(failure(() => checkValue(def('reference'), 42, 'x', o)).scimType).toBe('invalidValue');
    expect(checkValue(def('string'), 42, 'x', { ...o, lenient: true })).toBe('42');
  });

  it('references are absolute or relative URIs (RFC 7643 §2.3.7); lenient keeps any text', () => {
    const o = { lenient: false, readOnly: 'drop' as const, ignored: [] };
    const profileUrl = USER_SCHEMA.attributes.find((a) => a.name === 'profileUrl')!;
    for (const uri of [
      'https://example.com/~bjensen?tab=1#top',
      'Users/2819c223-7f76-453a-919d-413861904646',
      'urn:ietf:params:scim:schemas:core:2.0:User',
      'https://example.com/J%C3%A9r%C3%B4me',
      '',
    ])
      expect(checkValue(profileUrl, uri, 'profileUrl', o)).toBe(uri);
    for (const bad of ['not a uri', 'https://example.com/Jérôme', 'https://example.com/100%', 'a\nb', 'x<y>'])
      expect(failure(() => checkValue(profileUrl, bad, 'profileUrl', o))).toMatchObject({
        scimType: 'invalidValue',
        field: 'profileUrl',
        message: expect.stringMatching(/absolute or relative URI/),
      });
    expect(checkValue(profileUrl, 'not a uri', 'profileUrl', { ...o, lenient: true })).toBe('not a uri');
    // Through a whole body, naming the value's place.
    expect(
      failure(() => strict(body({ photos: [{ value: 'https://example.com/a photo.jpg', type: 'photo' }] }))),
    ).toMatchObject({ scimType: 'invalidValue', field: 'photos[0].value' });
  });
});

describe('findAttribute', () => {
  it('finds attributes by name in any case, qualified or not, core first', () => {
    expect(findAttribute(USER_RESOURCE, { attribute: 'USERNAME' })).toMatchObject({
      schema: CORE_USER,
      attr: { name: 'userName' },
    });
    expect(findAttribute(USER_RESOURCE, { attribute: 'name', subAttribute: 'GIVENNAME' })).toMatchObject({
      schema: CORE_USER,
      attr: { name: 'name' },
      sub: { name: 'givenName' },
    });
    expect(findAttribute(USER_RESOURCE, { attribute: 'costCenter' })).toMatchObject({
      schema: ENTERPRISE_USER,
    });
    expect(findAttribute(USER_RESOURCE, { attribute: 'workerType' })).toMatchObject({ schema: HR_USER });
    expect(
      findAttribute(USER_RESOURCE, {
        schema: ENTERPRISE_USER.toLowerCase(),
        attribute: 'manager',
        subAttribute: '$ref',
      }),
    ).toMatchObject({ schema: ENTERPRISE_USER, sub: { name: '$ref', referenceTypes: ['User'] } });
    expect(findAttribute(USER_RESOURCE, { schema: CORE_USER, attribute: 'costCenter' })).toBeUndefined();
    expect(findAttribute(USER_RESOURCE, { attribute: 'name', subAttribute: 'nope' })).toBeUndefined();
    expect(findAttribute(USER_RESOURCE, { attribute: 'members' })).toBeUndefined();
    expect(
      findAttribute(GROUP_RESOURCE, { attribute: 'members', subAttribute: 'value' })?.sub?.mutability,
    ).toBe('immutable');
  });
});

describe('project', () => {
  const stored: Json = {
    schemas: [CORE_USER, ENTERPRISE_USER],
    id: 'u1',
    meta: { resourceType: 'User', version: 'W/"1"' },
    userName: 'bjensen',
    password: 'secret',
    name: { givenName: 'Barbara', familyName: 'Jensen' },
    emails: [
      { value: 'b@example.com', type: 'work', primary: true },
      { value: 'babs@jensen.org', type: 'home' },
    ],
    [ENTERPRISE_USER]: { employeeNumber: '701984', department: 'Tours' },
  };

  it('by default: everything but returned-never attributes (password)', () => {
    const copy = structuredClone(stored);
    const { password: _, ...rest } = stored;
    expect(project(USER_RESOURCE, stored)).toEqual(rest);
    expect(stored).toEqual(copy);
  });

  it('attributes: the named ones (and sub-attributes) plus the always ones', () => {
    expect(project(USER_RESOURCE, stored, { attributes: ['userName'] })).toEqual({
      schemas: [CORE_USER],
      id: 'u1',
      userName: 'bjensen',
    });
    expect(
      project(USER_RESOURCE, stored, { attributes: ['Name.GivenName', 'emails.value', ' password '] }),
    ).toEqual({
      schemas: [CORE_USER],
      id: 'u1',
      name: { givenName: 'Barbara' },
      emails: [{ value: 'b@example.com' }, { value: 'babs@jensen.org' }],
    });
    expect(project(USER_RESOURCE, stored, { attributes: ['name.givenName', 'name'] }).name).toEqual(
      stored.name,
    );
    expect(project(USER_RESOURCE, stored, { attributes: ['nope'] })).toEqual({
      schemas: [CORE_USER],
      id: 'u1',
    });
  });

  it('attributes with a value filter (Microsoft sends emails[type eq "work"]) select the whole attribute', () => {
    expect(project(USER_RESOURCE, stored, { attributes: ['emails[type eq "work"]'] })).toEqual({
      schemas: [CORE_USER],
      id: 'u1',
      emails: stored.emails,
    });
    expect(project(USER_RESOURCE, stored, { attributes: ['emails[type eq "work"].value'] }).emails).toEqual([
      { value: 'b@example.com' },
      { value: 'babs@jensen.org' },
    ]);
  });

  it('schema-qualified names, and a schema URN for all of its attributes', () => {
    expect(
      project(USER_RESOURCE, stored, {
        attributes: [`${ENTERPRISE_USER}:department`, `${CORE_USER}:userName`],
      }),
    ).toEqual({
      schemas: [CORE_USER, ENTERPRISE_USER],
      id: 'u1',
      userName: 'bjensen',
      [ENTERPRISE_USER]: { department: 'Tours' },
    });
    expect(project(USER_RESOURCE, stored, { attributes: [ENTERPRISE_USER] })).toEqual({
      schemas: [CORE_USER, ENTERPRISE_USER],
      id: 'u1',
      [ENTERPRISE_USER]: stored[ENTERPRISE_USER],
    });
  });

  it('excludedAttributes removes the named ones, never an always one; an emptied extension leaves schemas', () => {
    const r = project(USER_RESOURCE, stored, {
      excludedAttributes: [
        'emails',
        'name.familyName',
        'ID',
        'meta',
        `${ENTERPRISE_USER}:employeeNumber`,
        'department',
      ],
    });
    expect(r).toEqual({
      schemas: [CORE_USER],
      id: 'u1',
      userName: 'bjensen',
      name: { givenName: 'Barbara' },
    });
    expect(project(USER_RESOURCE, stored, { excludedAttributes: [ENTERPRISE_USER] }).schemas).toEqual([
      CORE_USER,
    ]);
  });

  it('returned: request attributes only when named', () => {
    const resource: ResourceTypeDef = {
      ...USER_RESOURCE,
      definitions: [
        {
          ...USER_SCHEMA,
          attributes: USER_SCHEMA.attributes.map((a) =>
            a.name === 'nickName' ? { ...a, returned: 'request' as const } : a,
          ),
        },
        ENTERPRISE_USER_SCHEMA,
        HR_USER_SCHEMA,
      ],
    };
    const v = { ...stored, nickName: 'Babs' };
    expect(project(resource, v).nickName).toBeUndefined();
    expect(project(resource, v, { excludedAttributes: ['title'] }).nickName).toBeUndefined();
    expect(project(resource, v, { attributes: ['nickName'] }).nickName).toBe('Babs');
  });
});

describe('discovery documents', () => {
  /** Every attribute of a schema definition, with its path. */
  const walk = (attrs: AttributeDef[], prefix = ''): [string, AttributeDef][] =>
    attrs.flatMap((a) => [[`${prefix}${a.name}`, a], ...walk(a.subAttributes ?? [], `${prefix}${a.name}.`)]);
  const shown = (attrs: Json[], prefix = ''): [string, Json][] =>
    attrs.flatMap((a) => [
      [`${prefix}${a.name as string}`, a],
      ...shown((a.subAttributes as Json[] | undefined) ?? [], `${prefix}${a.name as string}.`),
    ]);

  it('holds to RFC 7643 §2.3–2.4: its types only, no complex sub-attributes, the usual sub-attributes as meant', () => {
    const TYPES = ['string', 'boolean', 'decimal', 'integer', 'dateTime', 'reference', 'complex', 'binary'];
    const all = schemaResources(`${BASE}/`).Resources.flatMap((s) => shown(s.attributes));
    expect(all.length).toBeGreaterThan(50);
    for (const [path, a] of all) {
      // §2.3 (L443): no new data types, the extensions included.
      expect(TYPES, path).toContain(a.type);
      const subs = (a.subAttributes as Json[] | undefined) ?? [];
      // §2.4 (L608): what has sub-attributes is complex; §2.3.8 (L595): no sub-attribute is.
      if (subs.length) expect(a.type, path).toBe('complex');
      for (const sub of subs) expect(sub.type, `${path}.${sub.name as string}`).not.toBe('complex');
      // §2.4 (L612): a multi-valued complex attribute's `type` is a label, `primary` a boolean, `display` a
      // read-only-or-writable string, and `value` what the values are (never complex).
      if (a.type === 'complex' && a.multiValued) {
        const sub = (n: string) => subs.find((x) => x.name === n);
        if (sub('primary')) expect(sub('primary')!.type, path).toBe('boolean');
        if (sub('type')) expect(sub('type')!.type, path).toBe('string');
        if (sub('display')) expect(sub('display')!.type, path).toBe('string');
        if (sub('value')) expect(['string', 'reference', 'binary'], path).toContain(sub('value')!.type);
      }
    }
  });

  it('/Schemas shows every attribute with all its characteristics (RFC 7643 §7)', () => {
    const list = schemaResources(`${BASE}/`);
    expect(list.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:ListResponse']);
    expect(list.totalResults).toBe(4);
    expect(list.Resources.map((s) => s.id)).toEqual([CORE_USER, ENTERPRISE_USER, HR_USER, CORE_GROUP]);
    const defs = [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, HR_USER_SCHEMA];
    for (const s of list.Resources) {
      expect(s.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:Schema']);
      expect(s.meta).toEqual({ resourceType: 'Schema', location: `${BASE}/Schemas/${s.id}` });
      const def = defs.find((d) => d.id === s.id) ?? GROUP_RESOURCE.definitions[0]!;
      const out = new Map(shown(s.attributes));
      const expected = walk(def.attributes);
      expect([...out.keys()]).toEqual(expected.map(([p]) => p));
      for (const [path, a] of expected) {
        const o = out.get(path)!;
        for (const k of [
          'name',
          'type',
          'multiValued',
          'description',
          'required',
          'caseExact',
          'mutability',
          'returned',
          'uniqueness',
        ])
          expect(o[k], `${path}.${k}`).toEqual(a[k as keyof AttributeDef]);
        if (a.type === 'complex') expect(o.subAttributes, path).toHaveLength(a.subAttributes!.length);
        if (a.type === 'reference') expect((o.referenceTypes as string[]).length, path).toBeGreaterThan(0);
        expect(o.canonicalValues, path).toEqual(a.canonicalValues);
      }
    }
    const user = new Map(shown(list.Resources[0]!.attributes));
    expect(user.get('userName')).toMatchObject({ required: true, uniqueness: 'server', caseExact: false });
    expect(user.get('password')).toMatchObject({ mutability: 'writeOnly', returned: 'never' });
    expect(user.get('id')).toMatchObject({ mutability: 'readOnly', returned: 'always', caseExact: true });
    expect(user.get('groups')).toMatchObject({ mutability: 'readOnly', multiValued: true });
    expect(user.get('emails.type')).toMatchObject({ canonicalValues: ['work', 'home', 'other'] });
    expect(user.get('x509Certificates.value')).toMatchObject({ type: 'binary' });
    expect(new Map(shown(list.Resources[1]!.attributes)).get('manager.displayName')).toMatchObject({
      mutability: 'readOnly',
    });
    expect(new Map(shown(list.Resources[2]!.attributes)).get('workerType')).toMatchObject({
      canonicalValues: ['employee', 'contractor', 'intern', 'partner'],
    });
    expect(new Map(shown(list.Resources[3]!.attributes)).get('members.value')).toMatchObject({
      mutability: 'immutable',
    });
    expect(list.Resources[0]!.attributes.map((a) => a.name)).toEqual(
      expect.arrayContaining([
        'name',
        'emails',
        'phoneNumbers',
        'ims',
        'photos',
        'addresses',
        'entitlements',
        'roles',
      ]),
    );
  });

  it('/Schemas/{id} and /ResourceTypes', () => {
    expect(schemaById(ENTERPRISE_USER.toLowerCase(), BASE)?.name).toBe('EnterpriseUser');
    expect(schemaById('urn:nope', BASE)).toBeUndefined();
    const types = resourceTypesResponse(BASE);
    expect(types.totalResults).toBe(2);
    expect(types.Resources[0]).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'User',
      name: 'User',
      description: 'User Account',
      endpoint: '/Users',
      schema: CORE_USER,
      schemaExtensions: [
        { schema: ENTERPRISE_USER, required: false },
        { schema: HR_USER, required: false },
      ],
      meta: { resourceType: 'ResourceType', location: `${BASE}/ResourceTypes/User` },
    });
    expect(resourceTypeById('group', BASE)).toMatchObject({
      id: 'Group',
      endpoint: '/Groups',
      schema: CORE_GROUP,
    });
    expect(resourceTypeById('Role', BASE)).toBeUndefined();
  });

  it('/ServiceProviderConfig', () => {
    const c = serviceProviderConfig(BASE, { maxOperations: 100, maxPayloadSize: 1048576, maxResults: 200 });
    expect(c).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      bulk: { supported: true, maxOperations: 100, maxPayloadSize: 1048576 },
      filter: { supported: true, maxResults: 200 },
      changePassword: { supported: false },
      sort: { supported: true },
      etag: { supported: true },
      meta: { resourceType: 'ServiceProviderConfig', location: `${BASE}/ServiceProviderConfig` },
    });
    expect(c.documentationUri).toMatch(/^https:\/\//);
    expect(c.authenticationSchemes).toEqual([
      expect.objectContaining({ type: 'oauthbearertoken', primary: true }),
    ]);
  });
});
