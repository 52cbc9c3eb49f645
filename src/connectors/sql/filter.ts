/**
 * Kit filters → a parameterised WHERE clause. Column names come from the validated mapping and are quoted; every
 * value is a bound parameter. Substring operators (co/sw/ew) use ILIKE with `\`, `%` and `_` escaped, so a value
 * matches literally and case-insensitively; eq/ne/gt/ge/lt/le compare with the column's own type and collation.
 */
import type { Filter } from '../kit/types.ts';
import { q, toParam, type MappedAttribute, type Params, type TableMap } from './mapping.ts';

export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const COMPARE = { eq: '=', gt: '>', ge: '>=', lt: '<', le: '<=' } as const;

export function compileFilter(filter: Filter, map: TableMap, p: Params, alias = 't'): string {
  const col = (a: MappedAttribute) => `${alias}.${q(a.column.name)}`;
  switch (filter.op) {
    case 'and':
    case 'or': {
      if (filter.filters.length === 0) return filter.op === 'and' ? 'true' : 'false';
      const parts = filter.filters.map((f) => `(${compileFilter(f, map, p, alias)})`);
      return parts.join(filter.op === 'and' ? ' and ' : ' or ');
    }
    case 'not':
      // SQL's NULL would drop rows where the attribute is absent; "not (x)" must keep them.
      return `not coalesce((${compileFilter(filter.filter, map, p, alias)}), false)`;
    case 'pr': {
      const a = map.require(filter.attribute, 'filter on');
      return a.column.kind === 'string'
        ? `(${col(a)} is not null and ${col(a)} <> '')`
        : `${col(a)} is not null`;
    }
    case 'co':
    case 'sw':
    case 'ew': {
      const a = map.require(filter.attribute, 'filter on');
      const v = escapeLike(String(filter.value));
      const pattern = filter.op === 'co' ? `%${v}%` : filter.op === 'sw' ? `${v}%` : `%${v}`;
      const target = a.column.kind === 'string' ? col(a) : `${col(a)}::text`;
      return `${target} ilike ${p.add(pattern)} escape '\\'`;
    }
    case 'ne': {
      const a = map.require(filter.attribute, 'filter on');
      return `${col(a)} is distinct from ${p.add(toParam(a, filter.value, 'filter'))}`;
    }
    default: {
      const a = map.require(filter.attribute, 'filter on');
      return `${col(a)} ${COMPARE[filter.op]} ${p.add(toParam(a, filter.value, 'filter'))}`;
    }
  }
}
