import { describe, expect, it } from 'vitest';
import type { AttributeDelta } from '../kit/types.ts';
import type { ScimProfile } from './config.ts';
import { deltaOps, needsRead, wholeAttributeOps } from './patch.ts';
import {
  ENTERPRISE_USER,
  applyDelta,
  assign,
  extract,
  flatten,
  formatPath,
  parsePath,
  type Json,
} from './paths.ts';

const p = (raw: string) => {
  const parsed = parsePath(raw);
  if (!parsed) throw new Error(`test path ${raw} does not parse`);
  return parsed;
};

describe('SCIM attribute paths', () => {
  it.each([
    ['userName', { attr: 'userName' }],
    ['name.givenName', { attr: 'name', sub: 'givenName' }],
    [
      'emails[type eq "work"].value',
      { attr: 'emails', select: { attr: 'type', value: 'work' }, sub: 'value' },
    ],
    ['emails[primary eq true]', { attr: 'emails', select: { attr: 'primary', value: true } }],
    [`${ENTERPRISE_USER}:department`, { urn: ENTERPRISE_USER, attr: 'department' }],
    [`${ENTERPRISE_USER}:manager.value`, { urn: ENTERPRISE_USER, attr: 'manager', sub: 'value' }],
    ['urn:ietf:params:scim:schemas:core:2.0:User:userName', { attr: 'userName' }],
  ])('%s parses', (raw, want) => {
    expect(parsePath(raw)).toEqual(want);
  });

  it('formats back to the canonical form', () => {
    expect(formatPath(p('emails[type  eq "work"].value'.replace('  ', ' ')))).toBe(
      'emails[type eq "work"].value',
    );
    expect(formatPath(p('urn:ietf:params:scim:schemas:core:2.0:User:name.givenName'))).toBe('name.givenName');
    expect(formatPath(p('x[type eq "a\\"b"].value'))).toBe('x[type eq "a\\"b"].value');
  });

  it.each(['', 'a b', 'a.b.c', 'emails[type ne "x"].value', 'emails[type eq x].value', '1abc', 'a;b'])(
    '%j is refused',
    (raw) => {
      expect(parsePath(raw)).toBeUndefined();
    },
  );
});

const user: Json = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE_USER],
  id: '42',
  userName: 'zoë',
  name: { givenName: 'Zoë', familyName: 'Ångström' },
  active: true,
  emails: [
    { value: 'z@work.example', type: 'work', primary: true },
    { value: 'z@home.example', type: 'home' },
  ],
  entitlements: [{ value: 'a' }, { value: 'b' }],
  groups: [{ value: 'g1', display: 'G1' }],
  [ENTERPRISE_USER]: { department: 'R&D', manager: { value: '7' } },
  meta: {
    resourceType: 'User',
    version: 'W/"3"',
    lastModified: '2026-01-01T00:00:00Z',
    location: 'https://x/Users/42',
  },
};

describe('flatten and extract', () => {
  it('gives the flat view with SCIM paths as names', () => {
    expect(flatten(user)).toEqual({
      userName: 'zoë',
      'name.givenName': 'Zoë',
      'name.familyName': 'Ångström',
      active: true,
      'emails[type eq "work"].value': 'z@work.example',
      'emails[type eq "work"].primary': true,
      'emails[type eq "home"].value': 'z@home.example',
      'entitlements.value': ['a', 'b'],
      [`${ENTERPRISE_USER}:department`]: 'R&D',
      [`${ENTERPRISE_USER}:manager.value`]: '7',
      'meta.version': 'W/"3"',
      'meta.lastModified': '2026-01-01T00:00:00Z',
    });
  });

  it('extracts by path, case-insensitively, null when absent', () => {
    expect(extract(user, p('emails[type eq "WORK"].value'))).toBe('z@work.example');
    expect(extract(user, p('USERNAME'))).toBe('zoë');
    expect(extract(user, p('emails'))).toEqual(['z@work.example', 'z@home.example']);
    expect(extract(user, p('phoneNumbers[type eq "work"].value'))).toBeNull();
    expect(extract(user, p(`${ENTERPRISE_USER}:manager.value`))).toBe('7');
  });
});

describe('assign and applyDelta (local read-modify-write)', () => {
  it('builds a body for create', () => {
    const body: Json = {};
    assign(body, p('userName'), ['a']);
    assign(body, p('name.givenName'), ['Å']);
    assign(body, p('emails[type eq "work"].value'), ['w@x']);
    assign(body, p('emails[type eq "work"].primary'), [true]);
    assign(body, p(`${ENTERPRISE_USER}:department`), ['Ops']);
    assign(body, p('entitlements'), ['e1', 'e2']);
    assign(body, p('nickName'), null);
    expect(body).toEqual({
      userName: 'a',
      name: { givenName: 'Å' },
      emails: [{ type: 'work', value: 'w@x', primary: true }],
      [ENTERPRISE_USER]: { department: 'Ops' },
      entitlements: [{ value: 'e1' }, { value: 'e2' }],
    });
  });

  it('refuses several values for a single-valued attribute', () => {
    expect(() => assign({}, p('displayName'), ['a', 'b'])).toThrow(/exactly one value/);
  });

  it('replaces a typed entry in place and keeps its other sub-attributes', () => {
    const r = structuredClone(user);
    applyDelta(r, p('emails[type eq "work"].value'), { attribute: 'x', op: 'replace', values: ['new@work'] });
    expect(r.emails).toEqual([
      { value: 'new@work', type: 'work', primary: true },
      { value: 'z@home.example', type: 'home' },
    ]);
    applyDelta(r, p('emails[type eq "home"].value'), { attribute: 'x', op: 'replace', values: [] });
    expect(r.emails).toEqual([{ value: 'new@work', type: 'work', primary: true }]);
    applyDelta(r, p('phoneNumbers[type eq "mobile"].value'), { attribute: 'x', op: 'add', values: ['+1'] });
    expect(r.phoneNumbers).toEqual([{ type: 'mobile', value: '+1' }]);
  });

  it('adds and removes values of multi-valued attributes, keeping what stays', () => {
    const r = structuredClone(user);
    applyDelta(r, p('entitlements'), { attribute: 'x', op: 'add', values: ['b', 'c'] });
    expect(r.entitlements).toEqual([{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
    applyDelta(r, p('entitlements'), { attribute: 'x', op: 'remove', values: ['a'] });
    expect(r.entitlements).toEqual([{ value: 'b' }, { value: 'c' }]);
  });

  it('removes a single value only when it is the one there', () => {
    const r = structuredClone(user);
    applyDelta(r, p('userName'), { attribute: 'x', op: 'remove', values: ['someone-else'] });
    expect(r.userName).toBe('zoë');
    applyDelta(r, p(`${ENTERPRISE_USER}:department`), { attribute: 'x', op: 'remove', values: ['r&d'] });
    expect(r[ENTERPRISE_USER]).toEqual({ manager: { value: '7' } });
  });
});

const d = (op: AttributeDelta['op'], values: AttributeDelta['values'] = []): AttributeDelta => ({
  attribute: 'a',
  op,
  values,
});

describe('PATCH operations per profile', () => {
  it.each<[string, ScimProfile, string, AttributeDelta, unknown[]]>([
    ['rfc replace', 'rfc', 'title', d('replace', ['x']), [{ op: 'replace', path: 'title', value: 'x' }]],
    ['rfc clear', 'rfc', 'title', d('replace'), [{ op: 'remove', path: 'title' }]],
    [
      'entra replace is capitalised',
      'entra',
      'title',
      d('replace', ['x']),
      [{ op: 'Replace', path: 'title', value: 'x' }],
    ],
    [
      'entra typed path as is',
      'entra',
      'emails[type eq "work"].value',
      d('add', ['w@x']),
      [{ op: 'Add', path: 'emails[type eq "work"].value', value: 'w@x' }],
    ],
    [
      'rfc add member',
      'rfc',
      'members',
      d('add', ['u1']),
      [{ op: 'add', path: 'members', value: [{ value: 'u1' }] }],
    ],
    [
      'rfc remove member by value filter',
      'rfc',
      'members',
      d('remove', ['u"1']),
      [{ op: 'remove', path: 'members[value eq "u\\"1"]' }],
    ],
    [
      'entra remove member with a value list',
      'entra',
      'members',
      d('remove', ['u1']),
      [{ op: 'Remove', path: 'members', value: [{ value: 'u1' }] }],
    ],
    [
      'okta remove member by value filter',
      'okta',
      'members',
      d('remove', ['u1']),
      [{ op: 'remove', path: 'members[value eq "u1"]' }],
    ],
    [
      'an extension attribute',
      'rfc',
      `${ENTERPRISE_USER}:department`,
      d('replace', ['Ops']),
      [{ op: 'replace', path: `${ENTERPRISE_USER}:department`, value: 'Ops' }],
    ],
    ['add nothing is no operation', 'rfc', 'title', d('add'), []],
  ])('%s', (_, profile, path, delta, want) => {
    expect(needsRead(p(path), delta, profile)).toBe(false);
    expect(deltaOps(p(path), delta, profile)).toEqual(want);
  });

  it('rfc reads first for typed paths and single-value removals; entra never does', () => {
    expect(needsRead(p('emails[type eq "work"].value'), d('replace', ['x']), 'rfc')).toBe(true);
    expect(needsRead(p('title'), d('remove', ['x']), 'rfc')).toBe(true);
    expect(needsRead(p('title'), d('remove', ['x']), 'entra')).toBe(false);
  });

  it('rewrites whole top-level attributes after a local change', () => {
    const after = structuredClone(user);
    applyDelta(after, p('emails[type eq "work"].value'), d('replace', ['n@w']));
    applyDelta(after, p(`${ENTERPRISE_USER}:department`), d('replace'));
    applyDelta(after, p('title'), d('remove', ['not-there']));
    const touched = [p('emails[type eq "work"].value'), p(`${ENTERPRISE_USER}:department`), p('title')];
    expect(wholeAttributeOps(user, after, touched, 'rfc')).toEqual([
      { op: 'replace', path: 'emails', value: (after.emails as unknown[]).slice() },
      { op: 'remove', path: `${ENTERPRISE_USER}:department` },
    ]);
  });
});
