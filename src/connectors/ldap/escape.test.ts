import { describe, expect, it } from 'vitest';
import { EqualityFilter, ExtensibleFilter, SubstringFilter } from 'ldapts';
import { isConnectorError } from '../kit/errors.ts';
import type { Filter } from '../kit/types.ts';
import { parseFilter } from './client.ts';
import {
  compileFilter,
  dnEquals,
  escapeDnValue,
  escapeFilterValue,
  formatDn,
  isUnder,
  normalizeDn,
  parentDn,
  parseDn,
  rdn,
  rdnValue,
} from './escape.ts';
import vectors from './fixtures/rfc4514-4515.json' with { type: 'json' };
import { UGLY_VALUES } from './fixtures/ugly.ts';

function avas(dn: string): [string, string][][] {
  return parseDn(dn).map((r) => r.map((a) => [a.type, a.value] as [string, string]));
}

describe('RFC 4514 DNs', () => {
  for (const v of vectors.rfc4514Dns) {
    it(`parses ${v.dn}`, () => {
      expect(avas(v.dn)).toEqual(v.rdns);
      // Our own rendering parses back to the same values.
      expect(avas(formatDn(parseDn(v.dn)))).toEqual(v.rdns);
    });
  }

  it('keeps the BER bytes of a #hex value', () => {
    const ava = parseDn('1.3.6.1.4.1.1466.0=#04024869')[0]?.[0];
    expect(ava?.binary?.toString('hex')).toBe('04024869');
    expect(formatDn(parseDn('1.3.6.1.4.1.1466.0=#04024869'))).toBe('1.3.6.1.4.1.1466.0=#04024869');
  });

  it('escapes the RFC example the way the RFC writes it', () => {
    expect(escapeDnValue('James "Jim" Smith, III')).toBe('James \\"Jim\\" Smith\\, III');
    expect(escapeDnValue('Before\rAfter')).toBe('Before\\0DAfter');
    expect(escapeDnValue('#x')).toBe('\\#x');
    expect(escapeDnValue(' x ')).toBe('\\ x\\ ');
    expect(escapeDnValue('a\\b')).toBe('a\\5Cb');
    expect(escapeDnValue('Lučić')).toBe('Lučić');
  });

  for (const value of UGLY_VALUES) {
    it(`round-trips ${JSON.stringify(value)} through rdn() and parseDn()`, () => {
      const dn = `${rdn('cn', value)},ou=people,dc=example,dc=test`;
      expect(parseDn(dn)[0]).toEqual([{ type: 'cn', value }]);
      expect(rdnValue(dn)).toBe(value);
      expect(parentDn(dn)).toBe('ou=people,dc=example,dc=test');
      // No unescaped separator survives, so the value cannot split the DN.
      expect(parseDn(dn)).toHaveLength(4);
    });
  }

  it('compares multi-valued RDNs regardless of order, types and case', () => {
    expect(
      dnEquals('OU=Sales+CN=J.  Smith,DC=example,DC=net', 'cn=j. smith+ou=sales,dc=EXAMPLE,dc=net'),
    ).toBe(true);
    expect(dnEquals('cn=a\\,b,dc=x', 'CN=A\\2Cb,DC=X')).toBe(true);
    expect(dnEquals('cn=a,dc=x', 'cn=b,dc=x')).toBe(false);
    expect(normalizeDn('CN=Lu\\C4\\8Di\\C4\\87')).toBe('cn=lučić');
    expect(isUnder('uid=a,ou=people,dc=x', 'OU=People,DC=x')).toBe(true);
    expect(isUnder('ou=people,dc=x', 'uid=a,ou=people,dc=x')).toBe(false);
  });

  for (const bad of ['cn', 'cn=a,', '=x', 'cn=\\zz', 'c n=x', 'cn=#zz']) {
    it(`refuses ${JSON.stringify(bad)} as schema_violation naming the DN`, () => {
      let error: unknown;
      try {
        parseDn(bad);
      } catch (e) {
        error = e;
      }
      expect(isConnectorError(error, 'schema_violation')).toBe(true);
      expect((error as Error).message).toContain(bad);
    });
  }
});

describe('RFC 4515 filters', () => {
  for (const v of vectors.rfc4515Escapes) {
    it(`escapes ${JSON.stringify(v.value ?? v.hex)}`, () => {
      const input = v.hex ? Buffer.from(v.hex, 'hex') : v.value!;
      expect(escapeFilterValue(input, { escapeNonAscii: v.escapeNonAscii ?? false }).toLowerCase()).toBe(
        v.escaped.toLowerCase(),
      );
    });
  }

  it('keeps non-ASCII text raw by default and never splits a surrogate pair', () => {
    expect(escapeFilterValue('Lučić')).toBe('Lučić');
    expect(escapeFilterValue('🙂*')).toBe('🙂\\2a');
    expect(escapeFilterValue('🙂', { escapeNonAscii: true })).toBe('\\f0\\9f\\99\\82');
  });

  for (const f of vectors.rfc4515Filters) {
    it(`parses ${f}`, () => {
      expect(() => parseFilter(f)).not.toThrow();
    });
  }

  it('decodes \\XX escapes as UTF-8 bytes (ldapts alone would not)', () => {
    const f = parseFilter('(sn=Lu\\c4\\8di\\c4\\87)') as EqualityFilter;
    expect(f).toBeInstanceOf(EqualityFilter);
    expect(f.value).toBe('Lučić');
    expect((parseFilter('(1.3.6.1.4.1.1466.0=\\04\\02\\48\\69)') as EqualityFilter).value).toBe(
      '\u0004\u0002Hi',
    );
    const bin = parseFilter('(objectGUID=\\ff\\fe\\00\\01)') as EqualityFilter;
    expect(Buffer.isBuffer(bin.value)).toBe(true);
    expect((bin.value as unknown as Buffer).toString('hex')).toBe('fffe0001');
    const sub = parseFilter('(o=univ*of*mich*)') as SubstringFilter;
    expect([sub.initial, sub.any, sub.final]).toEqual(['univ', ['of', 'mich'], '']);
    const ext = parseFilter('(sn:dn:2.4.6.8.10:=Barney Rubble)') as ExtensibleFilter;
    expect([ext.matchType, ext.dnAttributes, ext.rule, ext.value]).toEqual([
      'sn',
      true,
      '2.4.6.8.10',
      'Barney Rubble',
    ]);
  });

  for (const bad of ['(cn=a', '(cn=a))', 'cn=(x)', '(cn=\\zz)', '(c n=x)', '(&(cn=a)']) {
    it(`refuses ${bad}`, () => {
      expect(() => parseFilter(bad)).toThrow(/invalid LDAP filter/);
    });
  }
});

describe('compileFilter', () => {
  const cases: [Filter, string][] = [
    [{ op: 'eq', attribute: 'uid', value: 'jdoe' }, '(uid=jdoe)'],
    [{ op: 'ne', attribute: 'uid', value: 'jdoe' }, '(!(uid=jdoe))'],
    [{ op: 'co', attribute: 'cn', value: 'oh' }, '(cn=*oh*)'],
    [{ op: 'sw', attribute: 'cn', value: 'Jo' }, '(cn=Jo*)'],
    [{ op: 'ew', attribute: 'cn', value: 'son' }, '(cn=*son)'],
    [{ op: 'co', attribute: 'cn', value: '' }, '(cn=*)'],
    [{ op: 'ge', attribute: 'uidNumber', value: 1000 }, '(uidNumber>=1000)'],
    [{ op: 'le', attribute: 'uidNumber', value: 1000 }, '(uidNumber<=1000)'],
    [{ op: 'gt', attribute: 'uidNumber', value: 1000 }, '(&(uidNumber>=1000)(!(uidNumber=1000)))'],
    [{ op: 'lt', attribute: 'uidNumber', value: 1000 }, '(&(uidNumber<=1000)(!(uidNumber=1000)))'],
    [{ op: 'pr', attribute: 'mail' }, '(mail=*)'],
    [{ op: 'eq', attribute: 'pwdReset', value: true }, '(pwdReset=TRUE)'],
    [{ op: 'and', filters: [] }, '(objectClass=*)'],
    [{ op: 'or', filters: [] }, '(!(objectClass=*))'],
    [
      {
        op: 'and',
        filters: [
          {
            op: 'or',
            filters: [
              { op: 'eq', attribute: 'sn', value: 'Jensen' },
              { op: 'sw', attribute: 'cn', value: 'Babs J' },
            ],
          },
          { op: 'not', filter: { op: 'eq', attribute: 'cn', value: 'Tim Howes' } },
        ],
      },
      '(&(|(sn=Jensen)(cn=Babs J*))(!(cn=Tim Howes)))',
    ],
    // Injection through values is escaped, never interpreted.
    [{ op: 'eq', attribute: 'uid', value: '*)(uid=*' }, '(uid=\\2a\\29\\28uid=\\2a)'],
    [{ op: 'eq', attribute: 'cn', value: 'C:\\MyFile' }, '(cn=C:\\5cMyFile)'],
    [{ op: 'eq', attribute: 'cn', value: 'Zoë Ångström-Łukasz, "Jr"' }, '(cn=Zoë Ångström-Łukasz, "Jr")'],
    [{ op: 'eq', attribute: 'cn;lang-de', value: 'x' }, '(cn;lang-de=x)'],
  ];
  for (const [filter, want] of cases) {
    it(`${JSON.stringify(filter)} → ${want}`, () => {
      const got = compileFilter(filter);
      expect(got).toBe(want);
      expect(() => parseFilter(got)).not.toThrow();
    });
  }

  it('maps attribute names through a record or a function', () => {
    const f: Filter = {
      op: 'and',
      filters: [
        { op: 'eq', attribute: 'email', value: 'a@x' },
        { op: 'pr', attribute: 'id' },
      ],
    };
    expect(compileFilter(f, { email: 'mail', id: 'entryUUID' })).toBe('(&(mail=a@x)(entryUUID=*))');
    expect(compileFilter(f, (a) => (a === 'id' ? 'objectGUID' : a))).toBe('(&(email=a@x)(objectGUID=*))');
  });

  it('lets a connector encode values (a binary GUID for AD)', () => {
    const guid = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const got = compileFilter({ op: 'eq', attribute: 'objectGUID', value: 'x' }, undefined, {
      value: () => guid,
    });
    expect(got).toBe('(objectGUID=\\00\\11\\22\\33\\44\\55\\66\\77\\88\\99\\aa\\bb\\cc\\dd\\ee\\ff)');
    const parsed = parseFilter(got) as EqualityFilter;
    expect(Buffer.from(parsed.value as unknown as Buffer).equals(guid)).toBe(true);
  });

  for (const attribute of ['cn)(uid=*', 'cn=x', '', '1cn', 'cn name']) {
    it(`refuses the attribute name ${JSON.stringify(attribute)}`, () => {
      expect(() => compileFilter({ op: 'eq', attribute, value: 'x' })).toThrow(/invalid attribute name/);
    });
  }
});
