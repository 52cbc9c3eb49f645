/**
 * CEL for rules and mappings: what compiles, what is refused statically (unknown names and fields, with the list
 * of valid ones; parse errors with a position), and what evaluation gives back (plain JS values, errors reported
 * rather than thrown).
 */
import { describe, expect, it } from 'vitest';
import {
  compileExpression,
  MANAGER_FIELDS,
  PERSON_FIELDS,
  type CompiledExpression,
  type ExpressionBindings,
  type ExpressionKind,
  type ManagerFacts,
  type PersonFacts,
} from './expressions.ts';

function facts(overrides: Partial<PersonFacts> = {}): PersonFacts {
  const base = Object.fromEntries(PERSON_FIELDS.map((f) => [f, null])) as unknown as PersonFacts;
  return { ...base, attributes: {}, ...overrides };
}

const MANAGER: ManagerFacts = {
  employeeId: 'E001',
  displayName: 'Erin Boss',
  username: 'eboss',
  workEmail: 'erin@corp.example',
  account: 'uid=eboss',
};

/** Compile and insist that it worked, so evaluation tests read simply. */
function compiled(source: string, kind: ExpressionKind = 'mapping'): CompiledExpression {
  const c = compileExpression(source, kind);
  expect(c.problems).toEqual([]);
  expect(c.compiled).toBeDefined();
  return c.compiled!;
}

function evaluate(source: string, bindings: Partial<ExpressionBindings> = {}, kind?: ExpressionKind) {
  return compiled(source, kind).evaluate({
    person: bindings.person ?? facts(),
    manager: bindings.manager ?? MANAGER,
    target: bindings.target ?? { name: 'corp-ldap' },
  });
}

function valueOf(source: string, bindings: Partial<ExpressionBindings> = {}, kind?: ExpressionKind): unknown {
  const r = evaluate(source, bindings, kind);
  if (!r.ok) throw new Error(`expected a value from ${source}, got error ${r.error}`);
  return r.value;
}

/** Compile and insist that it failed; returns the problems. */
function refused(source: string, kind: ExpressionKind): string[] {
  const c = compileExpression(source, kind);
  expect(c.compiled).toBeUndefined();
  expect(c.problems.length).toBeGreaterThan(0);
  return c.problems;
}

describe('conditions', () => {
  const sales = facts({ department: 'Sales', workerType: 'employee', title: 'Rep' });
  const eng = facts({ department: 'Engineering', workerType: 'contractor' });

  it('evaluates to true or false depending on the person', () => {
    const rule = compiled('person.department == "Sales" && person.workerType == "employee"', 'condition');
    expect(rule.evaluate({ person: sales })).toEqual({ ok: true, value: true });
    expect(rule.evaluate({ person: eng })).toEqual({ ok: true, value: false });
    expect(rule.evaluate({ person: facts({ department: 'Sales', workerType: 'contractor' }) })).toEqual({
      ok: true,
      value: false,
    });
  });

  it('is compiled once and evaluated for many people', () => {
    const rule = compiled('person.department in ["Sales", "Support"]', 'condition');
    const results = ['Sales', 'Support', 'Engineering', null].map((department) =>
      rule.evaluate({ person: facts({ department }) }),
    );
    expect(results).toEqual([
      { ok: true, value: true },
      { ok: true, value: true },
      { ok: true, value: false },
      { ok: true, value: false },
    ]);
    expect(rule.source).toBe('person.department in ["Sales", "Support"]');
  });

  it('reads the free-form attributes map', () => {
    const rule = compiled('"badge" in person.attributes && person.attributes["badge"] == "B7"', 'condition');
    expect(rule.evaluate({ person: facts({ attributes: { badge: 'B7' } }) })).toEqual({
      ok: true,
      value: true,
    });
    expect(rule.evaluate({ person: facts({ attributes: { badge: 'B8' } }) })).toEqual({
      ok: true,
      value: false,
    });
    expect(rule.evaluate({ person: facts({ attributes: {} }) })).toEqual({ ok: true, value: false });
  });

  it('supports has() on the attributes map', () => {
    const rule = compiled('has(person.attributes.badge)', 'condition');
    expect(rule.evaluate({ person: facts({ attributes: { badge: 'x' } }) })).toEqual({
      ok: true,
      value: true,
    });
    expect(rule.evaluate({ person: facts() })).toEqual({ ok: true, value: false });
  });

  it('compares null fields with null', () => {
    const rule = compiled('person.title == null', 'condition');
    expect(rule.evaluate({ person: facts({ title: null }) })).toEqual({ ok: true, value: true });
    expect(rule.evaluate({ person: facts({ title: 'Rep' }) })).toEqual({ ok: true, value: false });
  });

  it('may not read manager or target (only person is bound for rules)', () => {
    expect(refused('manager.account == "x"', 'condition')).toEqual(['unknown name "manager": use person']);
    expect(refused('target.name == "corp-ldap"', 'condition')).toEqual(['unknown name "target": use person']);
  });
});

describe('mappings', () => {
  it('build strings from person, manager and target', () => {
    const person = facts({ firstName: 'Ann', lastName: 'Lee', username: 'alee' });
    expect(valueOf('person.firstName + " " + person.lastName', { person })).toBe('Ann Lee');
    expect(valueOf('manager.account', { person })).toBe('uid=eboss');
    expect(valueOf('manager.displayName + " <" + manager.workEmail + ">"', { person })).toBe(
      'Erin Boss <erin@corp.example>',
    );
    expect(valueOf('person.username + "@" + target.name', { person, target: { name: 'corp-ad' } })).toBe(
      'alee@corp-ad',
    );
  });

  it('uses the strings extension', () => {
    const person = facts({ firstName: 'Ann', lastName: 'McLeod', title: '  Head of Sales ' });
    expect(valueOf('person.lastName.lowerAscii()', { person })).toBe('mcleod');
    expect(valueOf('person.lastName.upperAscii()', { person })).toBe('MCLEOD');
    // ASCII only: non-ASCII letters are left as they are.
    expect(valueOf('person.lastName.upperAscii()', { person: facts({ lastName: 'Müller' }) })).toBe('MüLLER');
    expect(
      valueOf('person.firstName.substring(0, 1).lowerAscii() + person.lastName.lowerAscii()', { person }),
    ).toBe('amcleod');
    expect(valueOf('person.title.trim()', { person })).toBe('Head of Sales');
    expect(valueOf('person.title.trim().replace(" ", "-")', { person })).toBe('Head-of-Sales');
    expect(valueOf('person.lastName.indexOf("L")', { person })).toBe(2);
    expect(valueOf('person.title.trim().split(" ")', { person })).toEqual(['Head', 'of', 'Sales']);
    expect(valueOf('["a", "b", person.firstName].join(",")', { person })).toBe('a,b,Ann');
  });

  it('gives ints back as numbers', () => {
    const n = valueOf('1 + 2');
    expect(n).toBe(3);
    expect(typeof n).toBe('number');
    const size = valueOf('size(person.lastName)', { person: facts({ lastName: 'Lee' }) });
    expect(size).toBe(3);
    expect(typeof size).toBe('number');
    expect(valueOf('-7 * 6')).toBe(-42);
    expect(valueOf('1.5 * 2.0')).toBe(3);
  });

  it('gives uints back as numbers', () => {
    const n = valueOf('2u + 3u');
    expect(n).toBe(5);
    expect(typeof n).toBe('number');
  });

  it('gives lists back as arrays, converting their elements too', () => {
    const list = valueOf('[1, 2, 3]');
    expect(Array.isArray(list)).toBe(true);
    expect(list).toEqual([1, 2, 3]);
    expect(typeof (list as unknown[])[0]).toBe('number');
    expect(valueOf('["x", person.department]', { person: facts({ department: 'Sales' }) })).toEqual([
      'x',
      'Sales',
    ]);
    expect(valueOf('[[1], [2, 3]]')).toEqual([[1], [2, 3]]);
    expect(valueOf('[]')).toEqual([]);
    expect(valueOf('[1, 2, 3].filter(x, x > 1)')).toEqual([2, 3]);
    expect(
      valueOf('person.attributes.map(k, k)', { person: facts({ attributes: { a: '1', b: '2' } }) }),
    ).toEqual(['a', 'b']);
  });

  it('keeps strings, booleans and null as they are', () => {
    expect(valueOf('"x"')).toBe('x');
    expect(valueOf('true')).toBe(true);
    expect(valueOf('person.title', { person: facts({ title: null }) })).toBeNull();
  });

  it('does not turn maps into lists (callers refuse maps)', () => {
    const empty = valueOf('{}');
    expect(Array.isArray(empty)).toBe(false);
    const attrs = valueOf('person.attributes', { person: facts({ attributes: { a: '1' } }) });
    expect(Array.isArray(attrs)).toBe(false);
    expect(valueOf('{"k": 1}')).not.toEqual([['k', 1]]);
  });
});

describe('evaluation errors are reported, never thrown', () => {
  it('a null field in a concatenation', () => {
    const r = evaluate('person.title + "x"', { person: facts({ title: null }) });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(/null/);
      expect(r.error).toMatch(/_\+_/);
    }
    // The same expression works once the field has a value.
    expect(evaluate('person.title + "x"', { person: facts({ title: 'Rep' }) })).toEqual({
      ok: true,
      value: 'Repx',
    });
  });

  it('a method on a null field', () => {
    const r = evaluate('person.lastName.lowerAscii()', { person: facts({ lastName: null }) });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/null/);
  });

  it('a missing key of attributes, division by zero, an unknown function', () => {
    for (const source of [
      'person.attributes.missing',
      'person.attributes["missing"]',
      '1 / 0',
      'nosuchfn(1)',
    ]) {
      const r = evaluate(source);
      expect(r, source).toMatchObject({ ok: false });
      if (!r.ok) expect(r.error, source).not.toBe('');
    }
  });

  it('a null field in a condition', () => {
    const r = compiled('person.title.startsWith("Head")', 'condition').evaluate({
      person: facts({ title: null }),
    });
    expect(r.ok).toBe(false);
  });
});

describe('unknown names and fields are rejected statically', () => {
  it('names the misspelt field and lists every field of person', () => {
    const problems = refused('person.departmnet == "Sales"', 'condition');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^person\.departmnet does not exist; person has /);
    for (const f of PERSON_FIELDS) expect(problems[0]).toContain(f);
    expect(problems[0]).toContain(PERSON_FIELDS.join(', '));
  });

  it('lists the fields of manager and target in mappings', () => {
    const [m] = refused('manager.acount', 'mapping');
    expect(m).toBe(`manager.acount does not exist; manager has ${MANAGER_FIELDS.join(', ')}`);
    expect(refused('target.nme', 'mapping')).toEqual(['target.nme does not exist; target has name']);
  });

  it('names an unknown variable and the ones that exist', () => {
    expect(refused('foo == 1', 'condition')).toEqual(['unknown name "foo": use person']);
    expect(refused('foo.bar', 'mapping')).toEqual(['unknown name "foo": use person, manager, target']);
    expect(refused('persn.department == "x"', 'condition')).toEqual(['unknown name "persn": use person']);
  });

  it('reports every problem of one expression', () => {
    const problems = refused('person.a == "x" && person.b == "y" || zz', 'condition');
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^person\.a does not exist/);
    expect(problems[1]).toMatch(/^person\.b does not exist/);
    expect(problems[2]).toBe('unknown name "zz": use person');
  });

  it('finds them anywhere in the expression', () => {
    const sources = [
      'size(person.nope) > 0',
      '[person.nope]',
      '{"k": person.nope}',
      '{person.nope: 1}',
      'person.nope.lowerAscii()',
      'person.nope.inner == 1',
      'has(person.nope)',
      'true ? person.nope : ""',
      '!(person.nope == "x")',
      '["a"].exists(x, x == person.nope)',
      'person.nope.exists(k, k == "x")',
    ];
    for (const source of sources) {
      const problems = refused(source, 'mapping');
      expect(problems, source).toHaveLength(1);
      expect(problems[0], source).toMatch(/^person\.nope does not exist/);
    }
  });

  it('accepts every known field', () => {
    for (const f of PERSON_FIELDS)
      expect(compileExpression(`person.${f}`, 'condition').problems, f).toEqual([]);
    for (const f of MANAGER_FIELDS)
      expect(compileExpression(`manager.${f}`, 'mapping').problems, f).toEqual([]);
  });
});

describe('comprehension variables', () => {
  it('are not unknown names inside their comprehension', () => {
    const keys = compiled('person.attributes.exists(k, k == "x")', 'condition');
    expect(keys.evaluate({ person: facts({ attributes: { x: '1' } }) })).toEqual({ ok: true, value: true });
    expect(keys.evaluate({ person: facts({ attributes: { y: '1' } }) })).toEqual({ ok: true, value: false });

    const list = compiled('["a", "b"].exists(x, x == person.department)', 'condition');
    expect(list.evaluate({ person: facts({ department: 'b' }) })).toEqual({ ok: true, value: true });
    expect(list.evaluate({ person: facts({ department: 'c' }) })).toEqual({ ok: true, value: false });
  });

  it('work with all, exists_one, map, filter and nesting', () => {
    expect(valueOf('[1, 2, 3].all(n, n > 0)', {}, 'condition')).toBe(true);
    expect(valueOf('[1, 2, 3].exists_one(n, n > 2)', {}, 'condition')).toBe(true);
    expect(valueOf('[1, 2].exists(x, [3].exists(y, x + y == 5))', {}, 'condition')).toBe(true);
    expect(valueOf('["a", "b"].map(s, s.upperAscii())')).toEqual(['A', 'B']);
  });

  it('may shadow a variable name without hiding real problems', () => {
    expect(valueOf('["a"].exists(person, person == "a")', {}, 'condition')).toBe(true);
    // Once the comprehension is over, person is the person again and its fields are checked.
    const problems = refused('["a"].exists(person, person == "a") && person.nope == "x"', 'condition');
    expect(problems).toEqual([expect.stringMatching(/^person\.nope does not exist/)]);
  });

  it('are unknown outside their comprehension', () => {
    expect(refused('[1].exists(x, x == 1) && x == 1', 'condition')).toEqual(['unknown name "x": use person']);
    expect(refused('[1, 2].exists(x, [3].exists(y, x + y == 5)) && y == 1', 'condition')).toEqual([
      'unknown name "y": use person',
    ]);
    expect(refused('["a", "b"].exists(x, x == y)', 'condition')).toEqual(['unknown name "y": use person']);
  });
});

describe('parse errors', () => {
  it('say where the expression breaks (line:column)', () => {
    const [p] = refused('person.department ==', 'condition');
    expect(p).toMatch(/^does not parse: at 1:\d+: /);
    expect(p).not.toContain('<input>');
  });

  it('point at the right line of a multi-line expression', () => {
    const [p] = refused('person.department == "x"\n&& person.title == ', 'condition');
    expect(p).toMatch(/^does not parse: at 2:\d+: /);
  });

  it('points further right for a later mistake', () => {
    const col = (source: string) => Number(/at 1:(\d+)/.exec(refused(source, 'condition')[0]!)![1]);
    expect(col('(person.department')).toBeGreaterThan(col('person.'));
  });

  it('refuse unterminated strings and unbalanced parentheses', () => {
    for (const source of ['"unterminated', '(person.department', 'person.department == "x")', 'person.'])
      expect(refused(source, 'condition')[0], source).toMatch(/^does not parse: at \d+:\d+/);
  });
});
