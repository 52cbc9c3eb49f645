import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

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
 * Load rows into `table` with COPY FROM STDIN on the given client (so it joins the caller's transaction). Table
 * and column names are identifiers written by our code, never user input; they are quoted anyway.
 */
export async function copyRows(
  client: pg.PoolClient | pg.Client,
  table: string,
  columns: readonly string[],
  rows: Iterable<readonly CopyValue[]> | AsyncIterable<readonly CopyValue[]>,
): Promise<void> {
  const ident = (n: string) => `"${n.replace(/"/g, '""')}"`;
  const sql = `COPY ${ident(table)} (${columns.map(ident).join(', ')}) FROM STDIN`;
  const stream = client.query(copyFrom(sql));
  async function* lines() {
    let chunk = '';
    for await (const r of rows) {
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
