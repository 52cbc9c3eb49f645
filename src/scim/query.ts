/**
 * RFC 7644 §3.4.2 list queries, all in SQL: the filter compiled to a parameterised condition, `sortBy` on the same
 * attribute resolution, `startIndex`/`count` as OFFSET/LIMIT, and `totalResults` counted by the same condition.
 * Nothing is filtered in memory.
 */
import type pg from 'pg';
import type { Statements } from '../db/pipeline.ts';
import { statementName } from '../db/statement-name.ts';
import { parseFilter } from './filter.ts';
import { scimError } from './errors.ts';
import { SqlParams, compileSql, foldedOrderSql, type Resolve } from './sql.ts';

/**
 * A named (prepared) statement for a query text: each connection parses and plans it once, not per request. The
 * text depends only on the filter's shape (values are parameters), so a client's few query shapes are reused.
 */
export function prepared(text: string, values: unknown[]): pg.QueryConfig {
  const name = statementName('scim', text);
  // Bounded: filters of ever new shapes must not grow every connection's statement cache without end.
  if (!PREPARED.has(name)) {
    if (PREPARED.size >= MAX_PREPARED) return { text, values };
    PREPARED.add(name);
  }
  return { name, text, values };
}

const MAX_PREPARED = 200;
const PREPARED = new Set<string>();

export interface ListQuery {
  filter?: string | undefined;
  sortBy?: string | undefined;
  sortOrder?: string | undefined;
  startIndex?: number | undefined;
  count?: number | undefined;
}

/** Where one resource type's rows come from. */
export interface ResourceTable {
  /** `from` clause, the main table aliased (e.g. `people p left join …`). */
  from: string;
  columns: string;
  resolve: Resolve;
  /** The rows this client may see, as a condition using `params` (e.g. its HR source, not deleted). */
  visible: (params: SqlParams) => string;
  /** Stable tie-breaker and default order (RFC: order is the server's when no sortBy). */
  key: string;
}

export interface ListOptions {
  lenient: boolean;
  maxResults: number;
}

/** Query parameters as RFC 7644 §3.4.2.4 reads them: startIndex < 1 is 1, count < 0 is 0, count capped. */
export function pageOf(q: ListQuery, maxResults: number): { startIndex: number; count: number } {
  const startIndex = q.startIndex === undefined || q.startIndex < 1 ? 1 : Math.floor(q.startIndex);
  const count = q.count === undefined ? maxResults : Math.min(Math.max(0, Math.floor(q.count)), maxResults);
  return { startIndex, count };
}

function sortSql(table: ResourceTable, sortBy: string, lenient: boolean): string {
  // sortBy is an attribute path: reuse the filter grammar to read it (`name.familyName`, schema-qualified names).
  const node = parseFilter(`${sortBy} pr`, { lenient });
  if (node.op !== 'pr')
    throw scimError(400, 'invalidValue', `sortBy "${sortBy}" is not an attribute path`, 'sortBy');
  const a = table.resolve(node.path);
  if (!a) throw scimError(400, 'invalidValue', `sortBy "${sortBy}": no such attribute`, 'sortBy');
  if (a.kind === 'scalar') return a.type === 'string' && !a.caseExact ? foldedOrderSql(a.sql) : a.sql;
  // A multi-valued attribute sorts by its primary value, else its first (RFC 7644 §3.4.2.3).
  return foldedOrderSql(
    `coalesce((select e->>'value' from jsonb_array_elements(${a.sql}) e where (e->>'primary')::boolean limit 1),
      (${a.sql})->0->>'value')`,
  );
}

export async function listRows<R extends pg.QueryResultRow>(
  db: Statements,
  table: ResourceTable,
  q: ListQuery,
  opts: ListOptions,
): Promise<{ totalResults: number; startIndex: number; rows: R[] }> {
  const params = new SqlParams();
  const where = [table.visible(params)];
  const filter = q.filter?.trim() ? q.filter : undefined;
  if (filter !== undefined)
    where.push(compileSql(parseFilter(filter, { lenient: opts.lenient }), table.resolve, params));
  const { startIndex, count } = pageOf(q, opts.maxResults);
  const condition = where.map((w) => `(${w})`).join(' and ');
  // The condition's values only: the page's limit and offset are added after.
  const conditionValues = [...params.values];
  const countAll = async () => {
    const total = await db.query<{ n: number }>(
      `select count(*)::int as n from ${table.from} where ${condition}`,
      conditionValues,
    );
    return total.rows[0]?.n ?? 0;
  };
  if (count === 0) return { totalResults: await countAll(), startIndex, rows: [] };
  const descending = q.sortOrder?.toLowerCase() === 'descending';
  if (q.sortOrder !== undefined && !['ascending', 'descending'].includes(q.sortOrder.toLowerCase()))
    throw scimError(400, 'invalidValue', `sortOrder must be "ascending" or "descending"`, 'sortOrder');
  const order = q.sortBy
    ? `${sortSql(table, q.sortBy, opts.lenient)} ${descending ? 'desc' : 'asc'} nulls last, ${table.key}`
    : table.key;
  const limit = params.add(count);
  const offset = params.add(startIndex - 1);
  const page = `from ${table.from} where ${condition} order by ${order} limit ${limit} offset ${offset}`;
  if (filter !== undefined) {
    // A filter mostly finds a few (`userName eq …`, the lookup every client makes): read the page alone. Its total
    // is then known — the rows before it plus the rows on it — unless the page is full or past the end.
    const rows = await db.query<R>(prepared(`select ${table.columns} ${page}`, params.values));
    const n = rows.rows.length;
    const known = n < count && (n > 0 || startIndex === 1);
    return { totalResults: known ? startIndex - 1 + n : await countAll(), startIndex, rows: rows.rows };
  }
  // The page and the total in one round trip: the count is an uncorrelated sub-select (its aliases shadow the outer
  // ones), run once. A page past the end has no row to carry the total, so that case counts apart.
  const rows = await db.query<R & { total_results__: number }>(
    prepared(
      `select ${table.columns}, (select count(*)::int from ${table.from} where ${condition}) as total_results__ ${page}`,
      params.values,
    ),
  );
  const totalResults = rows.rows[0]?.total_results__ ?? (startIndex > 1 ? await countAll() : 0);
  for (const r of rows.rows) delete (r as Partial<typeof r>).total_results__;
  return { totalResults, startIndex, rows: rows.rows };
}
