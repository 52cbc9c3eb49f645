import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '../kit/errors.ts';
import { MAX_DEPTH, formatFilter, parseFilter, type FilterNode } from './filter.ts';

/** RFC 7644 §3.4.2.2 Figure 2, verbatim (the example filters, one per line). */
const FIGURE_2 = [
  'userName eq "bjensen"',
  'name.familyName co "O\'Malley"',
  'userName sw "J"',
  'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"',
  'title pr',
  'meta.lastModified gt "2011-05-13T04:42:34Z"',
  'meta.lastModified ge "2011-05-13T04:42:34Z"',
  'meta.lastModified lt "2011-05-13T04:42:34Z"',
  'meta.lastModified le "2011-05-13T04:42:34Z"',
  'title pr and userType eq "Employee"',
  'title pr or userType eq "Intern"',
  'schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"',
  'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
  'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
  'userType eq "Employee" and (emails.type eq "work")',
  'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
  'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
];

function error(text: string, lenient = false): string {
  try {
    parseFilter(text, { lenient });
  } catch (e) {
    expect(isGatehouseError(e, 'scim_invalid_filter')).toBe(true);
    expect((e as { details: { scimType: string } }).details.scimType).toBe('invalidFilter');
    return (e as Error).message;
  }
  throw new Error(`"${text}" parsed`);
}

const eq = (attribute: string, value: unknown, extra: object = {}) => ({
  op: 'eq',
  path: { attribute, ...extra },
  value,
});

describe('SCIM filter parser', () => {
  it('parses every filter of RFC 7644 Figure 2, and its own output back to the same tree', () => {
    for (const f of FIGURE_2) {
      const tree = parseFilter(f);
      expect(parseFilter(formatFilter(tree)), f).toEqual(tree);
    }
  });

  it('builds the right trees for the Figure 2 shapes', () => {
    expect(parseFilter('userName eq "bjensen"')).toEqual(eq('userName', 'bjensen'));
    expect(parseFilter('name.familyName co "O\'Malley"')).toEqual({
      op: 'co',
      path: { attribute: 'name', subAttribute: 'familyName' },
      value: "O'Malley",
    });
    expect(parseFilter('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"')).toEqual({
      op: 'sw',
      path: { schema: 'urn:ietf:params:scim:schemas:core:2.0:User', attribute: 'userName' },
      value: 'J',
    });
    expect(parseFilter('title pr')).toEqual({ op: 'pr', path: { attribute: 'title' } });
    expect(
      parseFilter(
        'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
      ),
    ).toEqual({
      op: 'and',
      left: { op: 'ne', path: { attribute: 'userType' }, value: 'Employee' },
      right: {
        op: 'not',
        filter: {
          op: 'or',
          left: { op: 'co', path: { attribute: 'emails' }, value: 'example.com' },
          right: { op: 'co', path: { attribute: 'emails', subAttribute: 'value' }, value: 'example.org' },
        },
      },
    });
    expect(
      parseFilter(
        'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
      ),
    ).toEqual({
      op: 'or',
      left: {
        op: 'valuePath',
        path: { attribute: 'emails' },
        filter: {
          op: 'and',
          left: eq('type', 'work'),
          right: { op: 'co', path: { attribute: 'value' }, value: '@example.com' },
        },
      },
      right: {
        op: 'valuePath',
        path: { attribute: 'ims' },
        filter: {
          op: 'and',
          left: eq('type', 'xmpp'),
          right: { op: 'co', path: { attribute: 'value' }, value: '@foo.com' },
        },
      },
    });
  });

  it('binds "and" tighter than "or" (SCIMMY: A or B and C is A or (B and C)), and left to right', () => {
    const t = parseFilter('userName eq "Test" or displayName co "Bob" and quota gt 5') as FilterNode & {
      op: 'or';
    };
    expect(t.op).toBe('or');
    expect(t.left).toEqual(eq('userName', 'Test'));
    expect(t.right).toEqual({
      op: 'and',
      left: { op: 'co', path: { attribute: 'displayName' }, value: 'Bob' },
      right: { op: 'gt', path: { attribute: 'quota' }, value: 5 },
    });
    const chain = parseFilter('a pr or b pr or c pr');
    expect(chain).toEqual({
      op: 'or',
      left: {
        op: 'or',
        left: { op: 'pr', path: { attribute: 'a' } },
        right: { op: 'pr', path: { attribute: 'b' } },
      },
      right: { op: 'pr', path: { attribute: 'c' } },
    });
  });

  it('reads operators and keywords in any case, and values as JSON (numbers, true, false, null)', () => {
    expect(parseFilter('userName Eq "john"')).toEqual(eq('userName', 'john'));
    expect(parseFilter('Username eq "john"')).toEqual(eq('Username', 'john'));
    expect(parseFilter('title PR AND active EQ TRUE')).toEqual({
      op: 'and',
      left: { op: 'pr', path: { attribute: 'title' } },
      right: eq('active', true),
    });
    expect(parseFilter('quota gt 2e2')).toEqual({ op: 'gt', path: { attribute: 'quota' }, value: 200 });
    expect(parseFilter('quota le -1.5')).toEqual({ op: 'le', path: { attribute: 'quota' }, value: -1.5 });
    expect(parseFilter('manager eq null')).toEqual(eq('manager', null));
    expect(parseFilter('active ne false')).toEqual({ op: 'ne', path: { attribute: 'active' }, value: false });
    // The RFC's PATCH example 6 has no space before the value.
    expect(parseFilter('value eq"2819c223"')).toEqual(eq('value', '2819c223'));
  });

  it('keeps hostile values as values: quotes, backslashes, "or 1=1", SQL comments and unicode', () => {
    expect(parseFilter('userName eq "x\\" or 1=1 --"')).toEqual(eq('userName', 'x" or 1=1 --'));
    expect(parseFilter('userName eq "a\\\\"')).toEqual(eq('userName', 'a\\'));
    expect(parseFilter('userName eq "\'; drop table people; --"')).toEqual(
      eq('userName', "'; drop table people; --"),
    );
    expect(parseFilter('displayName eq "Zoë Ångström \\u00e9 😀"')).toEqual(
      eq('displayName', 'Zoë Ångström é 😀'),
    );
    expect(parseFilter('userName co "%_"')).toEqual({
      op: 'co',
      path: { attribute: 'userName' },
      value: '%_',
    });
    // A closing quote smuggled in does not end the string: the rest is not parsed as more clauses.
    expect(error('userName eq "x" or 1=1 --"')).toBe('invalid filter at 21: unexpected character "="');
  });

  it('says where a filter is wrong and what was expected', () => {
    expect(error('')).toBe('invalid filter at 1: the filter is empty');
    expect(error('userName eq "bjensen')).toBe('invalid filter at 13: a string that is never closed');
    expect(error('userName eq')).toBe('invalid filter at 11: expected a value after "eq", found the end');
    expect(error('userName is "x"')).toBe(
      'invalid filter at 10: "is" is not an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)',
    );
    expect(error('userName')).toBe(
      'invalid filter at 8: expected an operator after "userName", found the end',
    );
    expect(error('(userName pr')).toBe(
      'invalid filter at 12: expected ")" to close the "(" at 1, found the end',
    );
    expect(error('userName pr userName pr')).toBe(
      'invalid filter at 13: expected "and", "or" or the end, found "userName"',
    );
    expect(error('emails[type eq "work"')).toBe(
      'invalid filter at 21: expected "]" to close the "[" at 7, found the end',
    );
    expect(error('emails[type[value pr] pr]')).toBe(
      'invalid filter at 12: a value filter cannot hold another value filter',
    );
    expect(error('name.given.x eq "a"')).toMatch(/is not an attribute path/);
    expect(error('userName eq "a\\q"')).toMatch(/invalid escape/);
    expect(error('userName eq "a" & title pr')).toBe('invalid filter at 17: unexpected character "&"');
    expect(error('userName eq and')).toMatch(/expected a value/);
  });

  it('is strict by default and lenient on request: unquoted values and single quotes (Entra, RFC §3.4.3)', () => {
    const entra =
      'name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)';
    expect(error(entra)).toBe(
      'invalid filter at 20: expected a value (a "string", a number, true, false or null), found "Employee"',
    );
    expect(parseFilter(entra, { lenient: true })).toEqual({
      op: 'and',
      left: eq('name', 'Employee', { subAttribute: 'FamilyName' }),
      right: {
        op: 'or',
        left: { op: 'co', path: { attribute: 'emails', subAttribute: 'Value' }, value: 'example.com' },
        right: { op: 'co', path: { attribute: 'emails', subAttribute: 'Value' }, value: 'example.org' },
      },
    });
    expect(parseFilter('meta.Created gt 2015-10-10T14:38:21.8617979-07:00', { lenient: true })).toEqual({
      op: 'gt',
      path: { attribute: 'meta', subAttribute: 'Created' },
      value: '2015-10-10T14:38:21.8617979-07:00',
    });
    expect(error("displayName sw 'Group'")).toBe(
      'invalid filter at 16: strings are written in double quotes ("…")',
    );
    expect(parseFilter("displayName sw 'Group'", { lenient: true })).toEqual({
      op: 'sw',
      path: { attribute: 'displayName' },
      value: 'Group',
    });
    expect(parseFilter("displayName eq 'it\\'s \"x\"'", { lenient: true })).toEqual(
      eq('displayName', 'it\'s "x"'),
    );
  });

  it('refuses filters too long or nested too deep to be queries', () => {
    expect(error(`userName eq "${'a'.repeat(5000)}"`)).toMatch(/at most 4096 characters/);
    const deep = `${'('.repeat(MAX_DEPTH + 2)}title pr${')'.repeat(MAX_DEPTH + 2)}`;
    expect(error(deep)).toMatch(/nested deeper than 32 levels/);
    const fine = `${'('.repeat(10)}title pr${')'.repeat(10)}`;
    expect(parseFilter(fine)).toEqual({ op: 'pr', path: { attribute: 'title' } });
  });
});
