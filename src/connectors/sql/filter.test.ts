import { describe, expect, it } from 'vitest';
import { isConnectorError } from '../kit/errors.ts';
import type { Filter } from '../kit/types.ts';
import type { Catalog, Column, ColumnKind } from './catalog.ts';
import { compileFilter, escapeLike } from './filter.ts';
import { Params, TableMap } from './mapping.ts';

const column = (name: string, kind: ColumnKind, maxLength: number | null = null): Column => ({
  table: 'users',
  name,
  kind,
  dataType: kind,
  nullable: true,
  hasDefault: false,
  maxLength,
});

const catalog: Catalog = {
  serverVersion: '17',
  database: 'app',
  user: 'app',
  checks: new Map(),
  tables: new Map([
    [
      'users',
      new Map([
        ['id', column('id', 'integer')],
        ['login', column('login', 'string', 8)],
        ['Full Name', column('Full Name', 'string')],
        ['age', column('age', 'integer')],
        ['active', column('active', 'boolean')],
      ]),
    ],
  ]),
};

const map = new TableMap(
  'account',
  'app',
  {
    table: 'users',
    id: { column: 'id', generated: true },
    name: { column: 'login', attribute: 'userName' },
    attributes: { fullName: 'Full Name', age: 'age', active: 'active' },
  },
  catalog,
);

function compile(f: Filter): [string, unknown[]] {
  const p = new Params();
  return [compileFilter(f, map, p), p.values];
}

describe('compileFilter', () => {
  const cases: [string, Filter, string, unknown[]][] = [
    ['eq', { op: 'eq', attribute: 'userName', value: 'a' }, 't."login" = $1', ['a']],
    ['quoted column', { op: 'eq', attribute: 'fullName', value: 'x"y' }, 't."Full Name" = $1', ['x"y']],
    [
      'attribute names match case-insensitively',
      { op: 'eq', attribute: 'USERNAME', value: 'a' },
      't."login" = $1',
      ['a'],
    ],
    [
      'ne keeps absent values',
      { op: 'ne', attribute: 'age', value: 3 },
      't."age" is distinct from $1',
      ['3'],
    ],
    ['gt', { op: 'gt', attribute: 'age', value: '30' }, 't."age" > $1', ['30']],
    ['le', { op: 'le', attribute: 'age', value: 30 }, 't."age" <= $1', ['30']],
    [
      'co escapes',
      { op: 'co', attribute: 'userName', value: '50%_\\' },
      `t."login" ilike $1 escape '\\'`,
      ['%50\\%\\_\\\\%'],
    ],
    ['sw', { op: 'sw', attribute: 'userName', value: 'ab' }, `t."login" ilike $1 escape '\\'`, ['ab%']],
    [
      'ew on a non-text column',
      { op: 'ew', attribute: 'age', value: 7 },
      `t."age"::text ilike $1 escape '\\'`,
      ['%7'],
    ],
    [
      'pr on text is non-empty',
      { op: 'pr', attribute: 'fullName' },
      `(t."Full Name" is not null and t."Full Name" <> '')`,
      [],
    ],
    ['pr on boolean', { op: 'pr', attribute: 'active' }, 't."active" is not null', []],
    ['boolean from text', { op: 'eq', attribute: 'active', value: 'TRUE' }, 't."active" = $1', [true]],
    [
      'and / or / not',
      {
        op: 'and',
        filters: [
          {
            op: 'or',
            filters: [
              { op: 'eq', attribute: 'age', value: 1 },
              { op: 'eq', attribute: 'age', value: 2 },
            ],
          },
          { op: 'not', filter: { op: 'eq', attribute: 'userName', value: 'x' } },
        ],
      },
      '((t."age" = $1) or (t."age" = $2)) and (not coalesce((t."login" = $3), false))',
      ['1', '2', 'x'],
    ],
    ['empty and', { op: 'and', filters: [] }, 'true', []],
    ['empty or', { op: 'or', filters: [] }, 'false', []],
    [
      'a filter value longer than the column is allowed',
      { op: 'eq', attribute: 'userName', value: 'x'.repeat(20) },
      't."login" = $1',
      ['x'.repeat(20)],
    ],
  ];
  for (const [name, filter, sql, values] of cases) {
    it(name, () => {
      expect(compile(filter)).toEqual([sql, values]);
    });
  }

  it('refuses unknown attributes and values of the wrong type, naming them', () => {
    const unknown = (() => {
      try {
        compile({ op: 'eq', attribute: 'x) or (1=1', value: 1 });
      } catch (e) {
        return e;
      }
    })();
    expect(isConnectorError(unknown, 'schema_violation')).toBe(true);
    expect((unknown as Error).message).toBe(
      "cannot filter on unknown account attribute 'x) or (1=1'; the mapping of users has: userName, fullName, age, active",
    );
    expect(() => compile({ op: 'gt', attribute: 'age', value: '1; drop table users' })).toThrow(
      'attribute age (column users.age) needs an integer, got "1; drop table users"',
    );
  });

  it('escapeLike escapes the escape character first', () => {
    expect(escapeLike('\\%_plain')).toBe('\\\\\\%\\_plain');
  });
});
