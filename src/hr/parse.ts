/**
 * Streaming CSV reading for HR imports. Pure: no database, no network, no environment. `csv-parse` does the
 * parsing (BOM, quotes, embedded newlines); this module picks the delimiter, numbers the rows the way a
 * spreadsheet shows them, skips blank lines, and turns parser failures into a GatehouseError a person can act on.
 */
import { Readable, pipeline } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import type { InfoRecord } from 'csv-parse';
import { GatehouseError } from '../kit/errors.ts';
import { parseCsvFast } from './fast-csv.ts';

/** Error codes of the CSV reader (file-level problems: the file cannot be read at all). */
export const CsvErrors = {
  /** A quote problem (or a runaway quoted field): the file's structure is broken at a given row and line. */
  malformed: 'hr_csv_malformed',
  /** The header row is not valid UTF-8 (data rows report `bad_encoding` per cell instead, see validate.ts). */
  badEncoding: 'hr_csv_bad_encoding',
  /** No header row at all (empty file, or only blank lines). */
  empty: 'hr_csv_empty',
} as const;

export type Delimiter = ',' | ';';

export interface CsvRow {
  /**
   * The record number in the file: the header is row 1, the first data row is row 2. A quoted value with line
   * breaks is one row (records are counted, not lines). Blank lines are skipped but still counted, so the number
   * matches the row a spreadsheet program shows.
   */
  row: number;
  cells: string[];
  /** The record as written, without its line break (only from `parseCsvInMemory` asked with `raw`). */
  raw?: string;
}

export type CsvInput =
  string | Buffer | Iterable<Buffer | string> | AsyncIterable<Buffer | string> | NodeJS.ReadableStream;

export interface ParseOptions {
  /** Field delimiter. When absent, it is detected from the header line: whichever of `,` and `;` occurs more often outside quotes (a tie means `,`). */
  delimiter?: Delimiter;
  /** Called once with the delimiter in use, before the first row is yielded. */
  onDelimiter?: (delimiter: Delimiter) => void;
  /** `parseCsvInMemory` only: each row also carries its text as written. */
  raw?: boolean;
}

/** The longest record accepted (characters). Beyond it a quote was almost certainly left open. */
export const MAX_RECORD_CHARS = 1_000_000;

const REPLACEMENT_CHAR = '\uFFFD';

/** True when a decoded cell contains U+FFFD, i.e. the bytes were not valid UTF-8 (typically a Latin-1 file). */
export function hasBadEncoding(cell: string): boolean {
  return cell.includes(REPLACEMENT_CHAR);
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Scans the first line of `head` (outside quotes). Returns the delimiter when the line is complete (or `final`),
 * otherwise null: more bytes are needed.
 */
function scanHeaderLine(head: Buffer, final: boolean): Delimiter | null {
  let quoting = false;
  let commas = 0;
  let semicolons = 0;
  let content = false;
  for (const byte of head) {
    if (byte === QUOTE) {
      quoting = !quoting;
      content = true;
    } else if (quoting) continue;
    else if (byte === LF || byte === CR) {
      // Leading blank lines do not count as the header line.
      if (content) return semicolons > commas ? ';' : ',';
    } else {
      content = true;
      if (byte === COMMA) commas++;
      else if (byte === SEMICOLON) semicolons++;
    }
  }
  return final ? (semicolons > commas ? ';' : ',') : null;
}

/**
 * Picks `,` or `;` from the first line of a file: whichever appears more often outside quotes; a tie (or neither)
 * means `,`. Leading blank lines are ignored.
 */
export function detectDelimiter(firstBytes: Buffer | string): Delimiter {
  const buf = typeof firstBytes === 'string' ? Buffer.from(firstBytes, 'utf8') : firstBytes;
  return scanHeaderLine(buf, true) ?? ',';
}

function toBuffer(chunk: unknown): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`CSV input chunks must be strings or bytes, got ${typeof chunk}`);
}

async function* chunksOf(input: CsvInput): AsyncGenerator<Buffer> {
  if (typeof input === 'string' || Buffer.isBuffer(input)) {
    yield toBuffer(input);
    return;
  }
  const source = input as AsyncIterable<unknown> | Iterable<unknown>;
  if (Symbol.asyncIterator in source) {
    for await (const chunk of source) yield toBuffer(chunk);
  } else {
    for (const chunk of source) yield toBuffer(chunk);
  }
}

/** Reads just enough of the input to see the whole first line, then replays everything. */
async function withDelimiter(
  input: CsvInput,
  given: Delimiter | undefined,
): Promise<{ delimiter: Delimiter; chunks: AsyncGenerator<Buffer> }> {
  const source = chunksOf(input);
  if (given !== undefined) return { delimiter: given, chunks: source };
  const head: Buffer[] = [];
  let delimiter: Delimiter | null = null;
  let done = false;
  while (delimiter === null) {
    const next = await source.next();
    if (next.done === true) {
      done = true;
      delimiter = scanHeaderLine(Buffer.concat(head), true);
      break;
    }
    head.push(next.value);
    delimiter = scanHeaderLine(Buffer.concat(head), false);
  }
  async function* replay(): AsyncGenerator<Buffer> {
    yield* head;
    if (!done) yield* source;
  }
  return { delimiter: delimiter ?? ',', chunks: replay() };
}

function describeCsvError(err: CsvError): string {
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted value is never closed (the file ends inside quotes): check for a missing closing "';
    case 'INVALID_OPENING_QUOTE':
      return 'a quote (") appears in the middle of a value: put the whole value in quotes and write a quote inside it as ""';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'a quoted value is followed by other characters before the next delimiter: write a quote inside a quoted value as ""';
    case 'CSV_MAX_RECORD_SIZE':
      return `the row is longer than ${MAX_RECORD_CHARS.toLocaleString('en')} characters: a quote was probably opened and never closed`;
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return 'unexpected characters after a closing quote';
    default:
      return `the file cannot be read as CSV (${err.code})`;
  }
}

function malformed(err: CsvError, startLine: number): GatehouseError {
  const records = typeof err.records === 'number' ? err.records : 0;
  const row = records + 1;
  const line = typeof err.lines === 'number' ? err.lines : startLine;
  const reason = describeCsvError(err);
  return new GatehouseError(
    CsvErrors.malformed,
    `The CSV file is malformed at row ${row} (line ${startLine}): ${reason}`,
    {
      status: 400,
      problems: [{ field: `row ${row}`, record: row, message: reason }],
      details: { row, line: startLine, endLine: line, parserCode: err.code },
      cause: err,
    },
  );
}

/**
 * Every record of a CSV file, header included (row 1). Cells are yielded exactly as
 * decoded (the validator trims). Blank records (every cell empty or whitespace) are skipped but counted. Rows
 * with an unexpected number of cells are yielded as they are (the validator reports `bad_row`). A broken quote
 * throws a GatehouseError `hr_csv_malformed` (status 400) naming the row and line; input stream errors pass
 * through unchanged.
 */
export async function* parseCsv(input: CsvInput, opts: ParseOptions = {}): AsyncGenerator<CsvRow> {
  const whole = parseCsvInMemory(input, opts);
  if (whole) {
    yield* whole;
    return;
  }
  const { delimiter, chunks } = await withDelimiter(input, opts.delimiter);
  opts.onDelimiter?.(delimiter);
  // The parser runs ahead of the consumer; `lastLine` is the line the last parsed record ended on, so the record
  // that fails starts on the next line.
  let lastLine = 0;
  const parser = parse({
    bom: true,
    delimiter,
    relax_column_count: true,
    skip_empty_lines: false,
    max_record_size: MAX_RECORD_CHARS,
    on_record: (record: string[], context: InfoRecord) => {
      lastLine = context.lines;
      return record;
    },
  });
  const source = Readable.from(chunks, { objectMode: false });
  // Errors surface through the parser's iterator below; pipeline only wires destruction both ways.
  pipeline(source, parser, () => undefined);
  let row = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      row++;
      if (record.every((cell) => cell.trim() === '')) continue;
      yield { row, cells: record };
    }
  } catch (e) {
    if (e instanceof CsvError) throw malformed(e, lastLine + 1);
    throw e;
  } finally {
    parser.destroy();
    source.destroy();
  }
}

/**
 * A whole file in memory, read synchronously by the fast reader: every record as `parseCsv` yields it, or null when
 * the input is a stream or the file is irregular (then `parseCsv` re-reads it with csv-parse, which names the
 * problem).
 */
export function parseCsvInMemory(input: CsvInput, opts: ParseOptions = {}): CsvRow[] | null {
  if (typeof input !== 'string' && !Buffer.isBuffer(input)) return null;
  const buf = toBuffer(input);
  const delimiter = opts.delimiter ?? detectDelimiter(buf);
  const rows = parseCsvFast(buf.toString('utf8'), delimiter, MAX_RECORD_CHARS, opts.raw);
  if (rows) opts.onDelimiter?.(delimiter);
  return rows;
}

/** Convenience (tests, small files): every record of a CSV text, header included. */
export async function parseCsvText(text: string | Buffer, opts: ParseOptions = {}): Promise<CsvRow[]> {
  const rows: CsvRow[] = [];
  for await (const row of parseCsv(text, opts)) rows.push(row);
  return rows;
}

export interface CsvTable {
  delimiter: Delimiter;
  /** The header cells as decoded (not yet trimmed or matched; see mapping.ts). */
  header: string[];
  /** The header's row number (1 unless the file starts with blank lines). */
  headerRow: number;
  /** The data rows, streamed. Iterate once. */
  rows: AsyncGenerator<CsvRow>;
}

/**
 * Splits a CSV stream into its header and its data rows. Throws `hr_csv_empty` when there is no header and
 * `hr_csv_bad_encoding` when the header is not valid UTF-8 (a Latin-1 or Windows-1252 file).
 */
export async function readCsv(input: CsvInput, opts: ParseOptions = {}): Promise<CsvTable> {
  let delimiter: Delimiter = opts.delimiter ?? ',';
  const rows = parseCsv(input, {
    ...opts,
    onDelimiter: (d) => {
      delimiter = d;
      opts.onDelimiter?.(d);
    },
  });
  const first = await rows.next();
  if (first.done === true) {
    throw new GatehouseError(
      CsvErrors.empty,
      'The CSV file is empty: expected a header row such as employee_id,first_name,last_name',
      {
        status: 400,
        problems: [{ field: 'row 1', record: 1, message: 'no header row' }],
      },
    );
  }
  const { row, cells } = first.value;
  const bad = cells.filter(hasBadEncoding);
  if (bad.length > 0) {
    await rows.return(undefined);
    throw new GatehouseError(
      CsvErrors.badEncoding,
      `The header (row ${row}) is not valid UTF-8: ${bad.map((c) => JSON.stringify(c.trim())).join(', ')} contains characters that cannot be read. Save the file as UTF-8 ("CSV UTF-8" in Excel) and upload it again`,
      {
        status: 400,
        problems: bad.map((c) => ({
          field: `row ${row}`,
          record: row,
          message: 'not valid UTF-8',
          value: c,
        })),
      },
    );
  }
  return { delimiter, header: cells, headerRow: row, rows };
}
