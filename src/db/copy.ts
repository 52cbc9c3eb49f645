import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { statementName } from './statement-name.ts';

export type CopyValue = string | number | boolean | Date | null | undefined | object;

/** One value in COPY text format: `\N` for null, backslash escapes for the characters COPY treats specially. */
export function copyText(v: CopyValue): string {
  if (v === null || v === undefined) return '\\N';
  let s: string;
  if (typeof v === 'string') s = v;
  else if (v instanceof Date) s = v.toISOString();
  else if (typeof v === 'object') s = JSON.stringify(v);
  else s = String(v);
  return /[\\\t\n\r]/.test(s)
    ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
    : s;
}

/**
 * Load rows into `table` on the given client (so it joins the caller's transaction): up to `SMALL_ROWS` rows held
 * in memory with one INSERT (one round trip: a few people pushed together), more with COPY FROM STDIN, streamed in
 * 256 KiB chunks (two round trips, but the fastest way to load thousands). Table and column names are identifiers
 * written by our code, never user input; they are quoted anyway.
 *
 * On a pipelined connection (which refuses COPY) every row goes in the one INSERT, and the INSERT is sent before
 * this returns (so the writes after it keep their order): the column types must be known by then — loaded for
 * every table (`loadColumnTypes`), or given as `types` (a temporary table's).
 */
export async function copyRows(
  client: pg.PoolClient | pg.Client,
  table: string,
  columns: readonly string[],
  rows: Iterable<readonly CopyValue[]> | AsyncIterable<readonly CopyValue[]>,
  types?: readonly string[],
): Promise<void> {
  if (types) {
    if (types.length !== columns.length)
      throw new Error(`copyRows ${table}: ${types.length} types given for ${columns.length} columns`);
    columnTypes.set(table, new Map(columns.map((c, i) => [c, types[i]!])));
    temporary.add(table);
  }
  const cols = columns.map(ident).join(', ');
  let source = rows;
  if (isPipelined(client)) {
    if (!(Symbol.iterator in rows))
      throw new Error(`rows for ${table} on a pipelined connection must be in memory`);
    const all = [...rows];
    if (all.length) await insertRows(client, table, columns, all);
    return;
  }
  if (Symbol.iterator in rows) {
    const it = rows[Symbol.iterator]();
    const head: (readonly CopyValue[])[] = [];
    for (;;) {
      const r = it.next();
      if (r.done) {
        if (head.length === 0) return;
        await insertRows(client, table, columns, head);
        return;
      }
      head.push(r.value);
      if (head.length > SMALL_ROWS) break;
    }
    source = (function* () {
      yield* head;
      for (let n = it.next(); !n.done; n = it.next()) yield n.value;
    })();
  }
  const stream = client.query(copyFrom(`COPY ${ident(table)} (${cols}) FROM STDIN`));
  async function* lines() {
    let chunk = '';
    for await (const r of source) {
      chunk += r.map(copyText).join('\t') + '\n';
      if (chunk.length > 256 * 1024) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  await pipeline(Readable.from(lines()), stream);
}

/** A quoted identifier (table and column names are ours, never user input). */
function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Rows in memory up to this many are inserted with one statement; more are loaded with COPY. */
const SMALL_ROWS = 200;

/** Column types by table name: what an INSERT of text values casts each to (looked up once per process). */
const columnTypes = new Map<string, Map<string, string>>();
let allTablesLoaded = false;

function isPipelined(client: pg.PoolClient | pg.Client): boolean {
  return (client as { pipeline?: boolean }).pipeline === true;
}

/** The column types of every table in the schema, in one statement, once per process (for pipelined INSERTs). */
export async function loadColumnTypes(client: pg.PoolClient | pg.Client): Promise<void> {
  if (allTablesLoaded) return;
  const r = await client.query<{ table: string; name: string; type: string }>(
    `select c.relname as table, a.attname as name, format_type(a.atttypid, a.atttypmod) as type
       from pg_attribute a join pg_class c on c.oid = a.attrelid
      where c.relnamespace = current_schema()::regnamespace and c.relkind in ('r', 'p')
        and a.attnum > 0 and not a.attisdropped`,
  );
  for (const x of r.rows) {
    let t = columnTypes.get(x.table);
    if (!t) columnTypes.set(x.table, (t = new Map()));
    t.set(x.name, x.type);
  }
  allTablesLoaded = true;
}

/**
 * One INSERT of rows given as text, each column an array parameter cast to the column's type: the values are
 * converted by the types' input functions exactly as COPY converts them (dates as ISO text, objects as JSON).
 */
async function insertRows(
  client: pg.PoolClient | pg.Client,
  table: string,
  columns: readonly string[],
  rows: (readonly CopyValue[])[],
): Promise<void> {
  let types = columnTypes.get(table);
  if (!types || columns.some((c) => !types!.has(c))) {
    // A lookup first would let the writes queued after this one overtake its INSERT.
    if (isPipelined(client))
      throw new Error(
        `the column types of ${table} are not known: give them to copyRows on a pipelined connection`,
      );
    const r = await client.query<{ name: string; type: string }>(
      `select attname as name, format_type(atttypid, atttypmod) as type from pg_attribute
        where attrelid = $1::regclass and attnum > 0 and not attisdropped`,
      [ident(table)],
    );
    types = new Map(r.rows.map((x) => [x.name, x.type]));
    columnTypes.set(table, types);
  }
  const known = types;
  const values = columns.map((_, i) =>
    textArray(
      rows.map((row) => {
        const v = row[i];
        if (v === null || v === undefined) return null;
        if (typeof v === 'string') return v;
        if (v instanceof Date) return v.toISOString();
        return typeof v === 'object' ? JSON.stringify(v) : String(v);
      }),
    ),
  );
  const text = `insert into ${ident(table)} (${columns.map(ident).join(', ')})
     select ${columns.map((c, i) => `x.c${i}::${known.get(c)}`).join(', ')}
     from unnest(${columns.map((_, i) => `$${i + 1}::text[]`).join(', ')}) as x(${columns.map((_, i) => `c${i}`).join(', ')})`;
  // On a pipelined connection (a group of pushes, many times a second) the statement is prepared once per
  // connection instead of parsed and planned every time; not for a temporary table, made anew by each transaction.
  await client.query(
    isPipelined(client) && !temporary.has(table)
      ? { name: statementName('ins', text), text, values }
      : { text, values },
  );
}

/**
 * An array parameter as PostgreSQL's array literal, written here rather than by pg (which runs two regular
 * expressions over every element): each element quoted, a backslash or double quote in it escaped, null (or
 * undefined) as NULL. For any array type whose elements' input takes their text (text[], uuid[], jsonb[], …).
 */
export function textArray(values: readonly (string | null | undefined)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else if (v.includes('\\') || v.includes('"')) out += `"${v.replace(/[\\"]/g, '\\$&')}"`;
    else out += `"${v}"`;
  }
  return out + '}';
}

/** Tables whose column types a caller gave (temporary ones): their INSERTs are never prepared. */
const temporary = new Set<string>();
