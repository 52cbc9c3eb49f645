/**
 * The kit's connector-neutral Filter compiled to a SCIM filter (RFC 7644 §3.4.2.2). Values become JSON literals
 * (quotes, backslashes and control characters escaped, so a value can never end its string and add clauses), and
 * attribute names must be SCIM attribute paths, so they cannot smuggle operators either.
 */
import { ConnectorError } from '../kit/errors.ts';
import type { Filter } from '../kit/types.ts';
import { formatPath, literal, type ScimPath } from './paths.ts';

const ALL = 'id pr';

export function compileFilter(filter: Filter, resolve: (attribute: string) => ScimPath): string {
  switch (filter.op) {
    case 'and':
    case 'or': {
      if (filter.filters.length === 0) return filter.op === 'and' ? ALL : `not (${ALL})`;
      if (filter.filters.length === 1) return compileFilter(filter.filters[0]!, resolve);
      return filter.filters.map((f) => `(${compileFilter(f, resolve)})`).join(` ${filter.op} `);
    }
    case 'not':
      return `not (${compileFilter(filter.filter, resolve)})`;
    case 'pr':
      return comparison(resolve(filter.attribute), 'pr');
    case 'eq':
    case 'ne':
    case 'co':
    case 'sw':
    case 'ew':
    case 'gt':
    case 'ge':
    case 'lt':
    case 'le':
      return comparison(resolve(filter.attribute), `${filter.op} ${literal(filter.value)}`);
    default: {
      const op = (filter as { op: unknown }).op;
      throw new ConnectorError('schema_violation', `unknown filter operator ${JSON.stringify(op)}`);
    }
  }
}

/**
 * `attr op value`; a path with a value selection becomes a complex filter:
 * `emails[type eq "work"].value eq "x"` → `emails[type eq "work" and value eq "x"]`.
 */
function comparison(p: ScimPath, rest: string): string {
  if (!p.select) return `${formatPath(p)} ${rest}`;
  const base = formatPath({ ...(p.urn ? { urn: p.urn } : {}), attr: p.attr });
  return `${base}[${p.select.attr} eq ${literal(p.select.value)} and ${p.sub ?? 'value'} ${rest}]`;
}
