import { describe, expect, it } from 'vitest';
import { DEFAULT_NAMING_POLICY, validateNamingPolicy } from './policy.ts';
import { isGatehouseError } from '../kit/errors.ts';
import {
  candidateName,
  candidateNames,
  isCandidateOf,
  isReserved,
  renderTemplate,
  templateProblems,
  transliterate,
} from './templates.ts';

const id = (first: string, last: string, template = '{first}.{last}', maxLength = 64) =>
  renderTemplate(template, { first, last }, 'identifier', { maxLength });

describe('transliterate', () => {
  it('uses the letters users expect before any-ascii', () => {
    expect(transliterate('äöüøåæœłßđðþı')).toBe('aouoaaeoelssddthi');
    expect(transliterate('ÄÖÜØÅÆŒŁĐÐÞ')).toBe('AOUOAAeOeLDDTh');
    expect(transliterate('Ærøskøbing')).toBe('Aeroskobing');
    expect(transliterate('Straße')).toBe('Strasse');
  });

  it('gives deterministic ASCII for any script', () => {
    expect(transliterate('Nguyễn')).toBe('Nguyen');
    expect(transliterate('Александр')).toBe('Aleksandr');
    expect(transliterate('王秀英')).toMatch(/^[\x20-\x7e]+$/);
    expect(transliterate('王秀英')).toBe(transliterate('王秀英'));
    expect(transliterate('Δημήτρης')).toBe('Dimitris');
  });

  it('treats composed and decomposed forms alike and drops emoji', () => {
    expect(transliterate('Zoe\u0308')).toBe(transliterate('Zoë'));
    expect(transliterate('Ana 🙂')).toBe('Ana  ');
  });
});

describe('renderTemplate (identifier)', () => {
  it('renders the required examples', () => {
    expect(id('Zoë', 'Ångström')).toBe('zoe.angstrom');
    expect(id('Łukasz', 'Żółć')).toBe('lukasz.zolc');
    expect(id('Nguyễn', 'Nguyễn')).toBe('nguyen.nguyen');
    expect(renderTemplate('{last}', { first: 'Thi', last: 'Nguyễn' }, 'identifier')).toBe('nguyen');
    expect(id('Siobhán', "O'Brien")).toBe('siobhan.obrien');
    expect(id('José María', 'García-López')).toBe('jose.garcia-lopez');
    expect(id('Pieter', 'van der Berg')).toBe('pieter.vanderberg');
    expect(id('Александр', 'Пушкин')).toBe('aleksandr.pushkin');
  });

  it('strips apostrophes of every kind and keeps hyphens inside a name only', () => {
    expect(id('D’Arcy', 'O‘Neil')).toBe('darcy.oneil');
    expect(id('Jean-Paul', 'Sartre')).toBe('jean-paul.sartre');
    expect(id('-Ann-', '--Lee--Smith--')).toBe('ann.lee-smith');
    expect(id('Mary', 'Smith – Jones')).toBe('mary.smith-jones');
  });

  it('supports {first:N}, {legal_first}, {employee_id} and literal text', () => {
    const name = { first: 'Łukasz', last: 'Żółć', legalFirst: 'Ærling', employeeId: 'E-00042' };
    expect(renderTemplate('{first:1}{last}', name, 'identifier')).toBe('lzolc');
    expect(renderTemplate('{first:2}.{last:3}', name, 'identifier')).toBe('lu.zol');
    // N counts characters after transliteration: Æ → ae.
    expect(renderTemplate('{legal_first:2}{last}', name, 'identifier')).toBe('aezolc');
    expect(renderTemplate('{employee_id}', name, 'identifier')).toBe('e-00042');
    expect(renderTemplate('x_{last}', name, 'identifier')).toBe('x_zolc');
    expect(renderTemplate('{legal_first}', { first: 'Kim', last: 'Lee' }, 'identifier')).toBe('kim');
  });

  it('collapses repeated separators and trims them at the ends', () => {
    const name = { first: 'Ann', last: 'Lee', legalFirst: '', employeeId: '' };
    expect(renderTemplate('{first}.{legal_first}.{last}', name, 'identifier')).toBe('ann.lee');
    expect(renderTemplate('{first}.{legal_first}-{last}', name, 'identifier')).toBe('ann.lee');
    expect(renderTemplate('{employee_id}.{first}', name, 'identifier')).toBe('ann');
    expect(renderTemplate('{first}.{last}', { first: '', last: 'Lee' }, 'identifier')).toBe('lee');
  });

  it('truncates to maxLength without ending in a separator', () => {
    expect(id('Christopher', 'Montgomery-Alexander', '{first}.{last}', 20)).toBe('christopher.montgome');
    expect(id('Christopher', 'Montgomery-Alexander', '{first}.{last}', 12)).toBe('christopher');
    expect(id('Alexandria', 'Montgomery-Alexander', '{last}', 11)).toBe('montgomery');
  });

  it('never gives an empty name: a name with no ASCII form falls back to u + a short hash', () => {
    const a = id('🙂', '🙃');
    expect(a).toMatch(/^u[0-9a-f]{8}$/);
    expect(id('🙂', '🙃')).toBe(a); // deterministic
    expect(id('🙂', '😀')).not.toBe(a);
    expect(id("'", '---')).toMatch(/^u[0-9a-f]{8}$/);
    expect(id('', '')).toMatch(/^u[0-9a-f]{8}$/);
    expect(id('🙂', '🙃', '{first}.{last}', 3)).toBe(a.slice(0, 3));
  });

  it('is deterministic for non-Latin scripts (fixed expectations, not just equal within a run)', () => {
    expect(id('秀英', '王')).toBe('xiuying.wang');
    expect(id('민준', '김')).toBe('minjun.gim');
    expect(id('さくら', '山田')).toBe('sakura.shantian');
    expect(id('محمد', 'علي')).toBe('mhmd.ly');
  });
});

describe('renderTemplate (display)', () => {
  it('keeps Unicode and case, trims and collapses spaces', () => {
    expect(
      renderTemplate('{first} {last}', { first: '  José   María ', last: 'García-López\t' }, 'display'),
    ).toBe('José María García-López');
    expect(renderTemplate('{last}, {first}', { first: 'Zoë', last: 'Ångström' }, 'display')).toBe(
      'Ångström, Zoë',
    );
    expect(
      renderTemplate(
        '{first} {legal_first} {last}',
        { first: 'Ann', last: 'Lee', legalFirst: '' },
        'display',
      ),
    ).toBe('Ann Lee');
    expect(renderTemplate('{first:1}. {last}', { first: 'Łukasz', last: 'Żółć' }, 'display')).toBe('Ł. Żółć');
  });
});

describe('templateProblems', () => {
  it('accepts the default templates', () => {
    expect(templateProblems('{first}.{last}', 'identifier')).toEqual([]);
    expect(templateProblems('{first:1}{last}', 'identifier')).toEqual([]);
    expect(templateProblems('{first} {last}', 'display')).toEqual([]);
  });

  it('names an unknown token', () => {
    expect(templateProblems('{first}.{middle}', 'identifier')[0]).toMatch(/unknown token "\{middle\}"/);
    expect(templateProblems('{firstname}', 'identifier')[0]).toMatch(/"\{firstname\}"/);
  });

  it('refuses bad lengths, unbalanced braces, empty output and constant templates', () => {
    expect(templateProblems('{first:0}', 'identifier')[0]).toMatch(/"\{first:0\}".*1 to 64/);
    expect(templateProblems('{first:x}', 'identifier')[0]).toMatch(/"\{first:x\}"/);
    expect(templateProblems('{first.{last}', 'identifier')[0]).toMatch(/never closed at position 1/);
    expect(templateProblems('first}.{last}', 'identifier')[0]).toMatch(/"\}" without a matching "\{"/);
    expect(templateProblems('', 'identifier')).toEqual(['must not be empty']);
    expect(templateProblems('...', 'identifier')[0]).toMatch(/produces an empty name/);
    expect(templateProblems('{}', 'identifier')[0]).toMatch(/empty token/);
    expect(templateProblems('admin', 'identifier')[0]).toMatch(/no name token/);
  });
});

describe('candidates', () => {
  it('gives base, base2, base3, …', () => {
    expect(candidateNames('jane.doe', 4, 20)).toEqual(['jane.doe', 'jane.doe2', 'jane.doe3', 'jane.doe4']);
  });

  it('cuts the base, not the suffix, and never leaves a separator before it', () => {
    const c = candidateNames('christopher.montgom', 11, 20);
    expect(c[1]).toBe('christopher.montgom2');
    expect(c[9]).toBe('christopher.montgo10');
    expect(candidateName('abcd.efgh', 2, 5)).toBe('abcd2');
    expect(candidateName('abc.d', 10, 5)).toBe('abc10');
    expect(candidateName('ab.cd', 10, 5)).toBe('ab10');
    for (const x of c) expect(x.length).toBeLessThanOrEqual(20);
  });

  it('puts a "-" before the suffix of a base ending in a digit', () => {
    expect(candidateNames('e1234', 3, 20)).toEqual(['e1234', 'e1234-2', 'e1234-3']);
  });

  it('stops when no room is left for the base', () => {
    expect(candidateNames('abc', 200, 3)).toHaveLength(99);
    expect(candidateName('abc', 100, 3)).toBeNull();
  });

  it('recognises the candidates of a base', () => {
    expect(isCandidateOf('jane.doe', 'jane.doe', 20)).toBe(true);
    expect(isCandidateOf('jane.doe7', 'jane.doe', 20)).toBe(true);
    expect(isCandidateOf('jane.doe1', 'jane.doe', 20)).toBe(false);
    expect(isCandidateOf('jane.doe07', 'jane.doe', 20)).toBe(false);
    expect(isCandidateOf('jane.smith', 'jane.doe', 20)).toBe(false);
    expect(isCandidateOf('christopher.montgo10', 'christopher.montgom', 20)).toBe(true);
  });
});

describe('isReserved', () => {
  it('matches exactly, case-insensitively, and on the local part of an email', () => {
    const p = DEFAULT_NAMING_POLICY;
    expect(isReserved('admin', p)).toBe(true);
    expect(isReserved('Admin', p)).toBe(true);
    expect(isReserved('postmaster@example.com', p)).toBe(true);
    expect(isReserved('admin2', p)).toBe(false);
    expect(isReserved('jane.doe', p)).toBe(false);
    for (const r of ['root', 'krbtgt', 'guest', 'sa', 'no-reply', 'noreply', 'everyone']) {
      expect(isReserved(r, p)).toBe(true);
    }
  });
});

describe('namingPolicySchema', () => {
  const problemsOf = (policy: unknown) => {
    try {
      validateNamingPolicy(policy);
      return [];
    } catch (e) {
      if (!isGatehouseError(e, 'naming_policy_invalid')) throw e;
      return e.problems.map((p) => `${p.field}: ${p.message}`);
    }
  };

  it('accepts the default and normalises domain and reserved names', () => {
    expect(validateNamingPolicy(DEFAULT_NAMING_POLICY)).toEqual(DEFAULT_NAMING_POLICY);
    const p = validateNamingPolicy({
      ...DEFAULT_NAMING_POLICY,
      email: { ...DEFAULT_NAMING_POLICY.email, domain: ' Corp.Example.COM ' },
      reserved: ['Admin', 'admin', ' ceo '],
    });
    expect(p.email.domain).toBe('corp.example.com');
    expect(p.reserved).toEqual(['admin', 'ceo']);
  });

  it('names each problem precisely', () => {
    const problems = problemsOf({
      ...DEFAULT_NAMING_POLICY,
      username: { template: '{first}.{surname}', maxLength: 2 },
      email: { template: '---', domain: 'not a domain', maxLength: 65 },
      displayName: { template: '{first} {last}' },
      reserved: ['admin', 'ad min'],
      embargoDays: -1,
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^username\.template: unknown token "\{surname\}"/),
        'username.maxLength: must be at least 3',
        expect.stringMatching(/^email\.template: produces an empty name/),
        expect.stringMatching(/^email\.domain: "not a domain" is not a domain name/),
        'email.maxLength: must be at most 64',
        expect.stringMatching(/^reserved\[1\]: "ad min" can never be generated/),
        'embargoDays: must be at least 0',
      ]),
    );
  });

  it('refuses unknown keys, missing sections and non-integers', () => {
    expect(problemsOf({ ...DEFAULT_NAMING_POLICY, colour: 'blue' })[0]).toMatch(/colour/);
    const { displayName: _, ...noDisplay } = DEFAULT_NAMING_POLICY;
    expect(problemsOf(noDisplay)[0]).toMatch(/^displayName/);
    expect(problemsOf({ ...DEFAULT_NAMING_POLICY, embargoDays: 1.5 })).toEqual([
      'embargoDays: must be a whole number from 0 to 3650',
    ]);
  });
});
