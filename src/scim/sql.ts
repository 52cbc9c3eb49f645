/**
 * A parsed SCIM filter compiled to a parameterised SQL condition. Where attributes live is injected (`resolve`), so
 * the same compiler serves Users (people columns, jsonb multi-valued attributes) and Groups. Every value is a bound
 * parameter; `co`/`sw`/`ew` escape LIKE's wildcards so `%` and `_` match themselves; strings compare
 * case-insensitively unless the attribute is case-exact; comparisons are two-valued (a missing attribute is not
 * equal, not greater, not present), so `not (…)` means what people expect.
 */
import { GatehouseError } from '../kit/errors.ts';
import { formatFilter, type AttrPath, type CompareOp, type FilterNode, type FilterValue } from './filter.ts';

/** `binary`: base64 text, compared exactly; it has no order (RFC 7644 §3.4.2.2: `gt` and the like are invalidFilter). */
export type ScalarType = 'string' | 'boolean' | 'number' | 'datetime' | 'binary';

export interface ScalarAttribute {
  kind: 'scalar';
  /** SQL expression of the value (a column, or `e->>'type'` inside a multi-valued element). */
  sql: string;
  type: ScalarType;
  caseExact: boolean;
  /** How a text value compared with it is prepared first, as the stored values were (a userName: PRECIS). */
  prepare?: (v: string) => string;
}

export interface MultiValuedAttribute {
  kind: 'multi';
  /** SQL expression of a jsonb array of objects (`[{ "value": …, "type": … }]`). */
  sql: string;
  /** Sub-attributes of each element; `value` is the one a bare comparison (`emails co "x"`) reads. */
  subAttributes: Record<string, { type: ScalarType; caseExact: boolean }>;
}

export type ResolvedAttribute = ScalarAttribute | MultiValuedAttribute;

/** A scalar attribute at a SQL expression (text, case-insensitive unless said otherwise). */
export function scalarAt(sql: string, type: ScalarType = 'string', caseExact = false): ScalarAttribute {
  return { kind: 'scalar', sql, type, caseExact };
}

/** Where an attribute path lives, or undefined when the resource has no such attribute. */
export type Resolve = (path: AttrPath) => ResolvedAttribute | undefined;

export const ScimSqlErrors = { invalid: 'scim_invalid_filter' } as const;

function invalid(message: string): GatehouseError {
  return new GatehouseError(ScimSqlErrors.invalid, message, {
    status: 400,
    details: { scimType: 'invalidFilter' },
    problems: [{ field: 'filter', message }],
  });
}

const pathText = (p: AttrPath) =>
  `${p.schema ? `${p.schema}:` : ''}${p.attribute}${p.subAttribute ? `.${p.subAttribute}` : ''}`;

/** Escape LIKE wildcards (with `\` as the escape character) so the value matches literally. */
export function likeLiteral(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Case-insensitive comparison folds both sides with ICU's root collation: `lower()` under the database's own locale
 * leaves non-ASCII letters alone in a `C` database (Å stays Å), and SCIM names are full of them. PostgreSQL builds
 * from Debian, Ubuntu, the PGDG packages and the embedded binaries all have ICU.
 *
 * For matching (`eq`, `ne`, `sw`, `co`, `ew`, uniqueness) the folded text is compared byte by byte (`collate "C"`):
 * equality is the same as under ICU's root collation (it is deterministic), and the indexes built on this
 * expression (userName, group displayName) compare keys with memcmp instead of ICU, which cost a 100k-person
 * import ~0.8 s. Ordering (`gt`, `ge`, `lt`, `le`, `sortBy`) keeps ICU's order (`foldedOrderSql`): Ångström sorts
 * with the A's, as people expect, not after z.
 */
export function foldedSql(sql: string): string {
  return `(${foldedOrderSql(sql)} collate "C")`;
}

/** The case-insensitive sort key of a text: folded, in ICU's root order (see `foldedSql`). */
export function foldedOrderSql(sql: string): string {
  return `lower((${sql}) collate "und-x-icu")`;
}

export class SqlParams {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

function compare(
  attr: ScalarAttribute,
  op: CompareOp,
  value: FilterValue,
  params: SqlParams,
  where: string,
  negated: boolean,
): string {
  if (value === null) {
    if (op === 'eq') return `(${attr.sql} is null)`;
    if (op === 'ne') return `(${attr.sql} is not null)`;
    throw invalid(`${where}: "${op}" cannot compare with null`);
  }
  // Prepared before anything else (LIKE's escapes included): a fullwidth ％ becomes a % that is then escaped.
  if (attr.prepare && typeof value === 'string') value = attr.prepare(value);
  const text = attr.type === 'string' && !attr.caseExact;
  const fold = op === 'gt' || op === 'ge' || op === 'lt' || op === 'le' ? foldedOrderSql : foldedSql;
  const col = text ? fold(attr.sql) : attr.sql;
  switch (attr.type) {
    case 'boolean':
      if (typeof value !== 'boolean')
        throw invalid(`${where}: a true/false attribute compares with true or false`);
      if (op !== 'eq' && op !== 'ne') throw invalid(`${where}: a true/false attribute takes only eq and ne`);
      break;
    case 'number':
      if (typeof value !== 'number') throw invalid(`${where}: a number attribute compares with a number`);
      if (['co', 'sw', 'ew'].includes(op)) throw invalid(`${where}: "${op}" needs a text attribute`);
      break;
    case 'datetime':
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value)))
        throw invalid(
          `${where}: a date-time attribute compares with a date-time such as "2011-05-13T04:42:34Z"`,
        );
      if (['co', 'sw', 'ew'].includes(op)) throw invalid(`${where}: "${op}" needs a text attribute`);
      break;
    case 'binary':
      if (typeof value !== 'string')
        throw invalid(`${where}: a binary attribute compares with its base64 text as a "string"`);
      if (op === 'gt' || op === 'ge' || op === 'lt' || op === 'le')
        throw invalid(`${where}: a binary attribute has no order; "${op}" cannot compare it`);
      break;
    case 'string':
      if (typeof value !== 'string') throw invalid(`${where}: a text attribute compares with a "string"`);
  }
  const cast =
    attr.type === 'datetime'
      ? '::timestamptz'
      : attr.type === 'number'
        ? '::numeric'
        : attr.type === 'boolean'
          ? '::boolean'
          : '';
  const bound = (v: unknown) => {
    const p = params.add(v);
    return text ? fold(`${p}::text`) : `${p}${cast}`;
  };
  let sql: string;
  switch (op) {
    case 'eq':
      sql = `${col} = ${bound(value)}`;
      break;
    case 'ne':
      sql = `${col} is distinct from ${bound(value)}`;
      break;
    case 'co':
      sql = `${col} like '%' || ${bound(likeLiteral(value as string))} || '%' escape '\\'`;
      break;
    case 'sw':
      sql = `${col} like ${bound(likeLiteral(value as string))} || '%' escape '\\'`;
      break;
    case 'ew':
      sql = `${col} like '%' || ${bound(likeLiteral(value as string))} escape '\\'`;
      break;
    case 'gt':
      sql = `${col} > ${bound(value)}`;
      break;
    case 'ge':
      sql = `${col} >= ${bound(value)}`;
      break;
    case 'lt':
      sql = `${col} < ${bound(value)}`;
      break;
    case 'le':
      sql = `${col} <= ${bound(value)}`;
      break;
  }
  // Under `not`, a missing value must count as false (two-valued logic); elsewhere SQL's NULL already excludes the
  // row, and the bare comparison is what an expression index (e.g. on the folded userName) can serve.
  return negated ? `coalesce(${sql}, false)` : `(${sql})`;
}

function present(attr: ResolvedAttribute): string {
  if (attr.kind === 'multi') return `coalesce(jsonb_array_length(${attr.sql}) > 0, false)`;
  return attr.type === 'string' ? `coalesce(${attr.sql} <> '', false)` : `(${attr.sql} is not null)`;
}

function element(multi: MultiValuedAttribute, alias: string, sub: string, where: string): ScalarAttribute {
  const key = Object.keys(multi.subAttributes).find((k) => k.toLowerCase() === sub.toLowerCase());
  if (!key)
    throw invalid(`${where}: no sub-attribute "${sub}" (${Object.keys(multi.subAttributes).join(', ')})`);
  const s = multi.subAttributes[key]!;
  const raw = `${alias}->>'${key.replace(/'/g, "''")}'`;
  const sql =
    s.type === 'boolean'
      ? `(${raw})::boolean`
      : s.type === 'number'
        ? `(${raw})::numeric`
        : s.type === 'datetime'
          ? `(${raw})::timestamptz`
          : raw;
  return { kind: 'scalar', sql, type: s.type, caseExact: s.caseExact };
}

/** Compile a filter to a SQL condition; `params` collects the bound values ($1, $2, … from where it stands). */
export function compileSql(
  node: FilterNode,
  resolve: Resolve,
  params: SqlParams,
  depth = 0,
  negated = false,
): string {
  const where = formatFilter(node);
  switch (node.op) {
    case 'and':
    case 'or':
      return `(${compileSql(node.left, resolve, params, depth, negated)} ${node.op} ${compileSql(node.right, resolve, params, depth, negated)})`;
    case 'not':
      return `(not ${compileSql(node.filter, resolve, params, depth, !negated)})`;
    case 'valuePath': {
      const multi = resolve(node.path);
      if (!multi) throw invalid(`${where}: no attribute "${pathText(node.path)}"`);
      if (multi.kind !== 'multi')
        throw invalid(`${where}: "${pathText(node.path)}" is not multi-valued; "[…]" filters its values`);
      const alias = `e${depth}`;
      const inner = compileSql(
        node.filter,
        (p) => (p.subAttribute || p.schema ? undefined : element(multi, alias, p.attribute, where)),
        params,
        depth + 1,
      );
      return `exists (select 1 from jsonb_array_elements(coalesce(${multi.sql}, '[]'::jsonb)) ${alias} where ${inner})`;
    }
    default: {
      const { subAttribute: _sub, ...basePath } = node.path;
      const base = resolve(basePath);
      const full = node.path.subAttribute ? resolve(node.path) : base;
      if (full?.kind === 'scalar')
        return node.op === 'pr' ? present(full) : compare(full, node.op, node.value, params, where, negated);
      const multi = full ?? base;
      if (!multi) throw invalid(`${where}: no attribute "${pathText(node.path)}"`);
      if (multi.kind !== 'multi')
        throw invalid(`${where}: "${node.path.attribute}" has no sub-attribute "${node.path.subAttribute}"`);
      if (node.op === 'pr' && !node.path.subAttribute) return present(multi);
      const alias = `e${depth}`;
      const sub = element(multi, alias, node.path.subAttribute ?? 'value', where);
      const test = node.op === 'pr' ? present(sub) : compare(sub, node.op, node.value, params, where, false);
      return `exists (select 1 from jsonb_array_elements(coalesce(${multi.sql}, '[]'::jsonb)) ${alias} where ${test})`;
    }
  }
}
