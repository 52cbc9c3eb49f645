import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../kit/errors.ts';
import type { Filter } from '../kit/types.ts';
import { compileFilter } from './filter.ts';
import { resolver } from './paths.ts';

const resolve = resolver({
  mail: 'emails[type eq "work"].value',
  dept: `${'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'}:department`,
});
const compile = (f: Filter) => compileFilter(f, resolve);

describe('compileFilter', () => {
  it.each<[string, Filter, string]>([
    ['a plain eq', { op: 'eq', attribute: 'userName', value: 'bjensen' }, 'userName eq "bjensen"'],
    [
      'a quote cannot end the string',
      { op: 'eq', attribute: 'userName', value: 'a"b' },
      'userName eq "a\\"b"',
    ],
    ['a backslash is doubled', { op: 'eq', attribute: 'userName', value: 'c\\d' }, 'userName eq "c\\\\d"'],
    [
      'an injected clause stays inside the string',
      { op: 'eq', attribute: 'userName', value: 'x" or 1 eq 1 or userName eq "y' },
      'userName eq "x\\" or 1 eq 1 or userName eq \\"y"',
    ],
    [
      'unquoted operators are just text',
      { op: 'co', attribute: 'displayName', value: 'a or 1 eq 1' },
      'displayName co "a or 1 eq 1"',
    ],
    [
      'control characters are escaped',
      { op: 'eq', attribute: 'title', value: 'a\nb\tc\u0001' },
      'title eq "a\\nb\\tc\\u0001"',
    ],
    [
      'unicode travels as is',
      { op: 'sw', attribute: 'userName', value: 'Zoë Ångström-Łukasz 東京 🦊' },
      'userName sw "Zoë Ångström-Łukasz 東京 🦊"',
    ],
    [
      'numbers and booleans are bare',
      {
        op: 'and',
        filters: [
          { op: 'eq', attribute: 'active', value: true },
          { op: 'gt', attribute: 'x', value: 5 },
        ],
      },
      '(active eq true) and (x gt 5)',
    ],
    ['pr', { op: 'pr', attribute: 'title' }, 'title pr'],
    [
      'not and or nest with parentheses',
      {
        op: 'not',
        filter: {
          op: 'or',
          filters: [
            { op: 'ew', attribute: 'userName', value: '@x' },
            { op: 'pr', attribute: 'name.givenName' },
          ],
        },
      },
      'not ((userName ew "@x") or (name.givenName pr))',
    ],
    [
      'a single-member and is the member',
      { op: 'and', filters: [{ op: 'ne', attribute: 'userName', value: 'a' }] },
      'userName ne "a"',
    ],
    ['an empty and matches everything', { op: 'and', filters: [] }, 'id pr'],
    ['an empty or matches nothing', { op: 'or', filters: [] }, 'not (id pr)'],
    [
      'a mapped typed path becomes a value filter',
      { op: 'eq', attribute: 'mail', value: 'z@x' },
      'emails[type eq "work" and value eq "z@x"]',
    ],
    [
      'a typed path given directly',
      { op: 'pr', attribute: 'phoneNumbers[type eq "mobile"].value' },
      'phoneNumbers[type eq "mobile" and value pr]',
    ],
    [
      'an extension attribute keeps its URN',
      { op: 'eq', attribute: 'dept', value: 'R&D' },
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "R&D"',
    ],
    [
      'meta attributes',
      { op: 'ge', attribute: 'meta.lastModified', value: '2026-01-01T00:00:00Z' },
      'meta.lastModified ge "2026-01-01T00:00:00Z"',
    ],
  ])('%s', (_, filter, want) => {
    expect(compile(filter)).toBe(want);
  });

  it.each([
    'userName eq "x" or userName',
    'userName) or (1 eq 1',
    'user name',
    '',
    'emails[type eq "work" or 1 eq 1].value',
    'name.givenName.more',
  ])('refuses the attribute name %j before anything is sent', (attribute) => {
    let error: unknown;
    try {
      compile({ op: 'eq', attribute, value: 'x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as ConnectorError).code).toBe('schema_violation');
  });

  it('refuses numbers JSON cannot carry', () => {
    expect(() => compile({ op: 'eq', attribute: 'x', value: Number.NaN })).toThrow(ConnectorError);
  });
});
