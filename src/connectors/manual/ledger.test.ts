import { describe, expect, it } from 'vitest';
import type { Attributes, AttributeValue, Filter, Scalar } from '../kit/types.ts';
import type { LedgerObject } from './book.ts';
import { applyDelta, applyTask, LedgerConflict, matchesFilter } from './ledger.ts';

describe('applyDelta', () => {
  const cases: [AttributeValue, 'replace' | 'add' | 'remove', Scalar[], AttributeValue][] = [
    [null, 'replace', ['a'], 'a'],
    ['a', 'replace', ['b', 'c'], ['b', 'c']],
    ['a', 'replace', [], null],
    [null, 'add', ['a'], 'a'],
    ['a', 'add', ['b'], ['a', 'b']],
    [['a'], 'add', ['A'], ['a']], // no duplicates, case-insensitively
    [['a', 'b'], 'remove', ['b'], ['a']],
    ['a', 'remove', ['a'], null],
    [['a', 'b'], 'remove', [], null], // no values: the whole attribute
    [5, 'replace', [6], 6],
  ];
  it.each(cases)('%j %s %j → %j', (current, op, values, want) => {
    expect(applyDelta(current, op, values)).toEqual(want);
  });
});

describe('matchesFilter', () => {
  const attrs: Attributes = { login: 'Zoë', mail: ['a@x.test', 'b@x.test'], age: 41, title: '' };
  const cases: [Filter, boolean][] = [
    [{ op: 'eq', attribute: 'login', value: 'zoë' }, true],
    [{ op: 'eq', attribute: 'LOGIN', value: 'Zoë' }, true],
    [{ op: 'eq', attribute: 'mail', value: 'b@x.test' }, true],
    [{ op: 'ne', attribute: 'mail', value: 'b@x.test' }, false],
    [{ op: 'sw', attribute: 'login', value: 'zo' }, true],
    [{ op: 'ew', attribute: 'mail', value: '@x.test' }, true],
    [{ op: 'co', attribute: 'login', value: 'OË' }, true],
    [{ op: 'gt', attribute: 'age', value: 40 }, true],
    [{ op: 'le', attribute: 'age', value: 40 }, false],
    [{ op: 'pr', attribute: 'title' }, false],
    [{ op: 'pr', attribute: 'missing' }, false],
    [{ op: 'pr', attribute: 'login' }, true],
    [
      {
        op: 'and',
        filters: [
          { op: 'eq', attribute: 'login', value: 'zoë' },
          { op: 'not', filter: { op: 'pr', attribute: 'missing' } },
        ],
      },
      true,
    ],
    [
      {
        op: 'or',
        filters: [
          { op: 'eq', attribute: 'login', value: 'x' },
          { op: 'eq', attribute: 'age', value: 41 },
        ],
      },
      true,
    ],
  ];
  it.each(cases)('%j → %s', (filter, want) => {
    expect(matchesFilter(filter, attrs)).toBe(want);
  });
});

describe('applyTask', () => {
  const obj: LedgerObject = {
    objectClass: 'account',
    id: 'a1',
    name: 'zoe',
    attributes: { login: 'zoe', title: 'Engineer' },
    enabled: true,
    locked: true,
    memberOf: ['g1'],
  };
  const task = (operation: string, details: Record<string, unknown> = {}) => ({
    operation,
    objectClass: 'account',
    objectId: 'a1',
    objectName: 'zoe',
    details: { steps: ['…'], ...details },
  });

  it('a completed create puts the object in the ledger, enabled as asked', () => {
    const e = applyTask(
      undefined,
      task('create', {
        attributes: { login: 'zoe' },
        enabled: false,
        temporaryPassword: true,
        mustChangePassword: true,
      }),
    );
    expect(e).toEqual({
      kind: 'put',
      object: {
        objectClass: 'account',
        id: 'a1',
        name: 'zoe',
        attributes: { login: 'zoe' },
        enabled: false,
        locked: false,
        memberOf: [],
      },
    });
  });

  it('updates, renames, enables, unlocks and changes memberships', () => {
    const put = (e: ReturnType<typeof applyTask>) => (e.kind === 'put' ? e.object : undefined);
    expect(
      put(
        applyTask(
          obj,
          task('update', { changes: [{ attribute: 'title', op: 'replace', values: ['Lead'] }] }),
        ),
      )?.attributes,
    ).toEqual({ login: 'zoe', title: 'Lead' });
    const renamed = put(applyTask(obj, task('rename', { from: 'zoe', to: 'zoe2', attribute: 'login' })));
    expect([renamed?.name, renamed?.attributes.login]).toEqual(['zoe2', 'zoe2']);
    expect(put(applyTask(obj, task('disable')))?.enabled).toBe(false);
    expect(put(applyTask(obj, task('unlock')))?.locked).toBe(false);
    expect(put(applyTask(obj, task('addMember', { group: { id: 'g2', name: 'Two' } })))?.memberOf).toEqual([
      'g1',
      'g2',
    ]);
    expect(put(applyTask(obj, task('removeMember', { group: { id: 'g1', name: 'One' } })))?.memberOf).toEqual(
      [],
    );
    expect(applyTask(obj, task('setPassword', { mustChangePassword: true }))).toEqual({ kind: 'none' });
    expect(applyTask(obj, task('delete'))).toEqual({ kind: 'delete', object: obj });
    expect(obj.attributes.title, 'the current object is not changed in place').toBe('Engineer');
  });

  it('refuses what cannot apply: a missing object, a second create, details it did not write', () => {
    const reason = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof LedgerConflict ? e.reason : 'other';
      }
      return 'none';
    };
    expect(reason(() => applyTask(undefined, task('disable')))).toBe('missing');
    expect(
      reason(() =>
        applyTask(
          obj,
          task('create', {
            attributes: {},
            enabled: true,
            temporaryPassword: false,
            mustChangePassword: false,
          }),
        ),
      ),
    ).toBe('exists');
    expect(reason(() => applyTask(obj, task('update', { changes: 'everything' })))).toBe('malformed');
    expect(reason(() => applyTask(obj, task('reboot')))).toBe('malformed');
  });
});
