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
  const line = (r: readonly CopyValue[]) => r.map(copyText).join('\t') + '\n';
  // Rows in memory that come to little text (a few people pushed together): written in one piece, without the
  // stream pipeline's per-chunk turns of the event loop.
  if (Symbol.iterator in rows) {
    const it = rows[Symbol.iterator]();
    let text = '';
    try {
      for (let r = it.next(); !r.done; r = it.next()) {
        text += line(r.value);
        if (text.length > SMALL_COPY) {
          const rest = (function* () {
            for (let n = it.next(); !n.done; n = it.next()) yield n.value;
          })();
          await pipeline(Readable.from(chunks(rest, text)), stream);
          return;
        }
      }
    } catch (e) {
      // A row that cannot be written: the COPY is abandoned (CopyFail), so the connection is free for ROLLBACK.
      if (!stream.destroyed)
        await new Promise<void>((resolve) => {
          // The server's answer to the CopyFail ("COPY … canceled") is expected: the caller gets its own error.
          stream.once('error', () => resolve());
          stream.once('close', () => resolve());
          stream.destroy(e as Error);
        });
      throw e;
    }
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('finish', resolve);
      stream.end(text);
    });
    return;
  }
  await pipeline(Readable.from(chunks(rows, '')), stream);

  async function* chunks(
    from: Iterable<readonly CopyValue[]> | AsyncIterable<readonly CopyValue[]>,
    first: string,
  ) {
    let chunk = first;
    for await (const r of from) {
      chunk += line(r);
      if (chunk.length > 256 * 1024) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
}

/** Text up to this size is written at once; a larger load is streamed in 256 KiB chunks. */
const SMALL_COPY = 64 * 1024;
