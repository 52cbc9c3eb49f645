/**
 * copy-load: loading N (default 1M) identity-shaped rows with COPY into the embedded PostgreSQL — the floor that
 * later HR-import and reconciliation benchmarks are compared to.
 *
 * One fresh cluster, one deterministic row stream, real durability settings (fsync on, logged table):
 *   copy        COPY hr_staging FROM STDIN (text format) via pg-copy-streams, fed by a Readable that generates chunks;
 *   insert      the baseline, the naive approach: multi-row parameterised INSERT, 1000 rows per statement, one
 *               transaction (on a sample of at most INSERT_SAMPLE_MAX rows);
 *   serverSide  INSERT INTO hr_staging SELECT ... FROM generate_series(1, N): equivalent rows made inside
 *               PostgreSQL, no client and no wire cost — the server-side floor;
 * and, to show where COPY's time goes: COPY FROM a server-side file holding the same bytes (no Node, no wire),
 * INSERT ... SELECT * from a table holding COPY's rows (no parsing), and generating the rows in Node alone.
 */
import { chmodSync, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { PostgresServer } from '../src/db/postgres-server.ts';
import { createLogger } from '../src/kit/log.ts';
import type { BenchOptions, BenchResult, MethodFigures } from './types.ts';

const DEFAULT_ROWS = 1_000_000;
/** The INSERT baseline runs on at most this many rows (it is the slow one); its rows/s is what is compared. */
const INSERT_SAMPLE_MAX = 200_000;
const INSERT_BATCH = 1000;
const SEED = 0x6a7e4005;
const WARMUP_ROWS = 5_000;
/** Interleaved rounds of all methods; each method's fastest round is reported. */
const ROUNDS = 2;

const COLUMNS = [
  'employee_id',
  'first_name',
  'last_name',
  'preferred_name',
  'email',
  'mobile',
  'department',
  'title',
  'cost_center',
  'location',
  'time_zone',
  'manager_id',
  'worker_type',
  'status',
  'hire_date',
  'termination_date',
  'attributes',
] as const;

const CREATE_TABLE = `CREATE TABLE hr_staging (
  employee_id text,
  first_name text,
  last_name text,
  preferred_name text,
  email text,
  mobile text,
  department text,
  title text,
  cost_center text,
  location text,
  time_zone text,
  manager_id text,
  worker_type text,
  status text,
  hire_date date,
  termination_date timestamptz,
  attributes jsonb
)`;

// ---------------------------------------------------------------------------------------------------------------
// Deterministic identity-shaped rows
// ---------------------------------------------------------------------------------------------------------------

/** [display name, ASCII form for the e-mail address] */
const FIRST_NAMES: [string, string][] = [
  ['Zoë', 'zoe'],
  ['Łukasz', 'lukasz'],
  ['Søren', 'soren'],
  ['José', 'jose'],
  ['François', 'francois'],
  ['Ana', 'ana'],
  ['Mohammed', 'mohammed'],
  ['Priya', 'priya'],
  ['Wei', 'wei'],
  ['Olivia', 'olivia'],
  ['James', 'james'],
  ['Sophie', 'sophie'],
  ['Björn', 'bjorn'],
  ['Aoife', 'aoife'],
  ['Mateo', 'mateo'],
  ['Chloé', 'chloe'],
  ['Dmitri', 'dmitri'],
  ['Yuki', 'yuki'],
  ['Noah', 'noah'],
  ['Amara', 'amara'],
];
const LAST_NAMES: [string, string][] = [
  ["O'Brien", 'obrien'],
  ['Nowak', 'nowak'],
  ['Kierkegård', 'kierkegard'],
  ['García', 'garcia'],
  ['Müller', 'muller'],
  ['Smith', 'smith'],
  ['Okafor', 'okafor'],
  ['Patel', 'patel'],
  ['Zhang', 'zhang'],
  ['Johansson', 'johansson'],
  ["D'Angelo", 'dangelo'],
  ['Brown', 'brown'],
  ['Wiśniewski', 'wisniewski'],
  ['Nguyen', 'nguyen'],
  ['van der Berg', 'vanderberg'],
  ['Fernández', 'fernandez'],
  ['Kowalczyk', 'kowalczyk'],
  ['Tanaka', 'tanaka'],
  ['Jones', 'jones'],
  ['Dubois', 'dubois'],
];
/** Nicknames: quotes and a comma exercise CSV/TEXT escaping. */
const PREFERRED_NAMES = ['Zo', 'Luke', 'Pepe', '"Frank"', 'Bo', 'Sam, Jr.', 'Liv', 'Mo', "Ann-Marie O'Neil"];
const DEPARTMENTS = [
  'Engineering',
  'Research, Development',
  'Finance',
  'People & Culture',
  'Sales',
  'Marketing',
  'Legal',
  'Customer Success',
  'IT Operations',
  'Security',
  'Facilities',
  'Procurement',
];
const TITLES = [
  'Software Engineer',
  'Engineer, Senior',
  'Staff Engineer',
  'Product Manager',
  'Accountant',
  'HR Business Partner',
  'Account Executive',
  'Designer',
  'Counsel',
  'Support Specialist',
  'Site Reliability Engineer',
  'Director, "Special Projects"',
  'Analyst',
  'Intern',
];
/** [location, IANA time zone] */
const LOCATIONS: [string, string][] = [
  ['London', 'Europe/London'],
  ['Kraków', 'Europe/Warsaw'],
  ['København', 'Europe/Copenhagen'],
  ['São Paulo', 'America/Sao_Paulo'],
  ['Zürich', 'Europe/Zurich'],
  ['New York, NY', 'America/New_York'],
  ['San Francisco, CA', 'America/Los_Angeles'],
  ['Bengaluru', 'Asia/Kolkata'],
  ['Tokyo', 'Asia/Tokyo'],
  ['Lagos', 'Africa/Lagos'],
  ['Dublin', 'Europe/Dublin'],
  ['Remote', 'UTC'],
];
/** A rare multi-line location: a raw newline inside a field. */
const MULTILINE_LOCATION = 'Building 4\nFloor 2, Desk 17';
const WORKER_TYPES = ['employee', 'employee', 'employee', 'employee', 'contractor', 'intern'];
const SKILLS = [
  'sql',
  'typescript',
  'negotiation',
  'audit',
  'kubernetes',
  'design',
  'payroll',
  'go',
  'excel',
];

const DAY_MS = 86_400_000;
const HIRE_EPOCH = Date.UTC(2000, 0, 1);
const HIRE_SPAN_DAYS = 9131; // 2000-01-01 .. 2024-12-31

/** mulberry32: a small, fast, seeded 32-bit PRNG. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Row = (string | null)[];

interface Tally {
  nonAscii: number;
  multiline: number;
  quoted: number;
}

/**
 * Rows 1..n in a fixed order, the same for every consumer constructed with the same seed. Each row is 17 text
 * values (or null) in COLUMNS order; PostgreSQL parses dates, timestamps and JSON from text in every method.
 */
class RowSource {
  readonly idWidth: number;
  private readonly rand: () => number;
  private next = 1;
  readonly tally: Tally = { nonAscii: 0, multiline: 0, quoted: 0 };
  private readonly n: number;

  constructor(n: number, seed = SEED) {
    this.n = n;
    this.idWidth = Math.max(7, String(n).length);
    this.rand = mulberry32(seed);
  }

  get remaining(): number {
    return this.n - this.next + 1;
  }

  employeeId(i: number): string {
    return 'E' + pad(i, this.idWidth);
  }

  /** The next row, or undefined after row n. */
  row(): Row | undefined {
    if (this.next > this.n) return undefined;
    const i = this.next++;
    const r = this.rand;
    const fi = (r() * FIRST_NAMES.length) | 0;
    const li = (r() * LAST_NAMES.length) | 0;
    const [first, firstAscii] = FIRST_NAMES[fi]!;
    const [last, lastAscii] = LAST_NAMES[li]!;
    const pi = r() < 0.15 ? (r() * PREFERRED_NAMES.length) | 0 : -1;
    const multiline = r() < 0.001;
    const ci = (r() * LOCATIONS.length) | 0;
    const [city, tz] = LOCATIONS[ci]!;
    const statusRoll = r();
    const status = statusRoll < 0.88 ? 'active' : statusRoll < 0.95 ? 'terminated' : 'leave';
    const hireDay = (r() * HIRE_SPAN_DAYS) | 0;
    let termination: string | null = null;
    if (status === 'terminated') {
      const day = hireDay + 1 + ((r() * 2000) | 0);
      termination = `${dayString(day)} ${timeOfDay((r() * DAY_MS) | 0)}+00`;
    }
    // attributes as JSON text (jsonb normalises spacing and key order, so any valid JSON spelling loads the same).
    let attributes = `{"badge": "B${pad(r() * 1e6, 6)}", "remote": ${r() < 0.3}, "clearance": ${(r() * 4) | 0}, "skills": [`;
    const nSkills = (r() * 4) | 0;
    for (let k = 0; k < nSkills; k++) attributes += `${k ? ', ' : ''}"${SKILLS[(r() * SKILLS.length) | 0]}"`;
    attributes += ']';
    // A rare free-text note with a tab, a backslash and quotes: JSON escapes them, the COPY text format must too.
    if (r() < 0.002)
      attributes += `, "note": ${JSON.stringify(`Badge reissued\tdesk "B\\17"\nsee ticket #${i}`)}`;
    attributes += '}';
    const row: Row = [
      this.employeeId(i),
      first,
      last,
      pi < 0 ? null : PREFERRED_NAMES[pi]!,
      `${firstAscii}.${lastAscii}.${i}@example.com`,
      r() < 0.1 ? null : '+44 7' + pad(r() * 1e9, 9),
      DEPARTMENTS[(r() * DEPARTMENTS.length) | 0]!,
      TITLES[(r() * TITLES.length) | 0]!,
      'CC-' + (1000 + ((r() * 9000) | 0)),
      multiline ? MULTILINE_LOCATION : city,
      tz,
      i === 1 ? null : this.employeeId(1 + ((r() * (i - 1)) | 0)),
      WORKER_TYPES[(r() * WORKER_TYPES.length) | 0]!,
      status,
      dayString(hireDay),
      termination,
      attributes,
    ];
    if (NON_ASCII_FIRST[fi] || NON_ASCII_LAST[li] || (!multiline && NON_ASCII_CITY[ci]))
      this.tally.nonAscii++;
    if (multiline) this.tally.multiline++;
    if (QUOTED_LAST[li] || (pi >= 0 && QUOTED_PREFERRED[pi])) this.tally.quoted++;
    return row;
  }
}

const ZEROS = '000000000000000000000';
/** floor(x) as a decimal string, left-padded with zeros to `width`. */
function pad(x: number, width: number): string {
  const s = String(Math.floor(x));
  return s.length >= width ? s : ZEROS.slice(0, width - s.length) + s;
}

const DAY_STRINGS: string[] = [];
/** 'YYYY-MM-DD' of HIRE_EPOCH + day days (memoised: a few thousand distinct days). */
function dayString(day: number): string {
  return (DAY_STRINGS[day] ??= new Date(HIRE_EPOCH + day * DAY_MS).toISOString().slice(0, 10));
}

function timeOfDay(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const sec = Math.floor(ms / 1000) % 60;
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(sec, 2)}.${pad(ms % 1000, 3)}`;
}

const hasNonAscii = (s: string) => /[\u0080-\uffff]/.test(s);
const hasQuote = (s: string) => /['"]/.test(s);
const NON_ASCII_FIRST = FIRST_NAMES.map(([f]) => hasNonAscii(f));
const NON_ASCII_LAST = LAST_NAMES.map(([l]) => hasNonAscii(l));
const NON_ASCII_CITY = LOCATIONS.map(([c]) => hasNonAscii(c));
const QUOTED_LAST = LAST_NAMES.map(([l]) => hasQuote(l));
const QUOTED_PREFERRED = PREFERRED_NAMES.map(hasQuote);

/** COPY text format: backslash, newline, carriage return and tab are backslash-escaped; NULL is \N. */
const TEXT_SPECIAL = /[\\\n\r\t]/;
function textField(v: string | null): string {
  if (v === null) return '\\N';
  if (!TEXT_SPECIAL.test(v)) return v;
  return v.replace(/[\\\n\r\t]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t',
  );
}

function textLine(row: Row): string {
  let s = textField(row[0] as string | null);
  for (let k = 1; k < row.length; k++) s += '\t' + textField(row[k] as string | null);
  return s + '\n';
}

const CHUNK_BYTES = 128 * 1024;
/** Longest line we leave room for at the end of a chunk; a longer one would be cut off by Buffer.write, so we check. */
const MAX_LINE_BYTES = 8 * 1024;

/** A byte stream of COPY text-format lines, generated chunk by chunk (~128 KiB) as the consumer reads. */
function copyTextStream(source: RowSource): Readable {
  return new Readable({
    highWaterMark: 4 * CHUNK_BYTES,
    read() {
      const buf = Buffer.allocUnsafe(CHUNK_BYTES + MAX_LINE_BYTES);
      let off = 0;
      while (off < CHUNK_BYTES) {
        const row = source.row();
        if (!row) break;
        const line = textLine(row);
        const written = buf.write(line, off);
        if (written >= MAX_LINE_BYTES)
          throw new Error(`a generated line is longer than ${MAX_LINE_BYTES} bytes`);
        off += written;
      }
      if (off > 0) this.push(buf.subarray(0, off));
      if (source.remaining === 0) this.push(null);
    },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The server-side equivalent: the same vocabulary and shape, produced by generate_series
// ---------------------------------------------------------------------------------------------------------------

function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
function arr(list: readonly string[]): string {
  return `ARRAY[${list.map((s) => `E${lit(s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n'))}`).join(',')}]`;
}

/**
 * Rows built inside PostgreSQL. `h(k)` is a per-row, per-column pseudo-random integer in [0, 2^31) from hashint8;
 * the distributions follow RowSource (15% preferred names, 0.1% multi-line locations, 88/7/5 status split, ...).
 */
function serverSideInsert(n: number, idWidth: number): string {
  const h = (k: number) => `(hashint8(i::int8 * 64 + ${k}) & 2147483647)`;
  const pick = (list: readonly string[], k: number) => `(${arr(list)})[1 + ${h(k)} % ${list.length}]`;
  const u = (k: number) => `(${h(k)}::float8 / 2147483648)`;
  const id = (expr: string) => `'E' || lpad((${expr})::text, ${idWidth}, '0')`;
  return `INSERT INTO hr_staging
SELECT
  ${id('i')},
  fn.first,
  ln.last,
  CASE WHEN ${u(3)} < 0.15 THEN ${pick(PREFERRED_NAMES, 4)} END,
  fn.ascii || '.' || ln.ascii || '.' || i || '@example.com',
  CASE WHEN ${u(5)} < 0.1 THEN NULL ELSE '+44 7' || lpad((${h(6)} % 1000000000)::text, 9, '0') END,
  ${pick(DEPARTMENTS, 7)},
  ${pick(TITLES, 8)},
  'CC-' || (1000 + ${h(9)} % 9000),
  CASE WHEN ${u(10)} < 0.001 THEN ${lit(MULTILINE_LOCATION)} ELSE loc.city END,
  loc.tz,
  CASE WHEN i = 1 THEN NULL ELSE ${id(`1 + ${h(11)} % (i - 1)`)} END,
  ${pick(WORKER_TYPES, 12)},
  st.status,
  date '2000-01-01' + ${h(13)} % ${HIRE_SPAN_DAYS},
  CASE WHEN st.status = 'terminated'
    THEN timestamptz '2000-01-01 00:00:00+00' + (${h(13)} % ${HIRE_SPAN_DAYS} + 1 + ${h(14)} % 2000) * interval '1 day'
         + (${h(15)} % 86400000) * interval '1 millisecond'
  END,
  jsonb_build_object(
    'badge', 'B' || lpad((${h(16)} % 1000000)::text, 6, '0'),
    'remote', ${u(17)} < 0.3,
    'clearance', ${h(18)} % 4,
    'skills', CASE ${h(20)} % 4 WHEN 0 THEN '[]'::jsonb
                WHEN 1 THEN jsonb_build_array(${pick(SKILLS, 40)})
                WHEN 2 THEN jsonb_build_array(${pick(SKILLS, 40)}, ${pick(SKILLS, 41)})
                ELSE jsonb_build_array(${pick(SKILLS, 40)}, ${pick(SKILLS, 41)}, ${pick(SKILLS, 42)}) END
  ) || CASE WHEN ${u(21)} < 0.002
    THEN jsonb_build_object('note', E'Badge reissued\\tdesk "B\\\\17"\\nsee ticket #' || i) ELSE '{}'::jsonb END
FROM generate_series(1, ${n}) AS g(i)
CROSS JOIN LATERAL (SELECT (${arr(FIRST_NAMES.map((f) => f[0]))})[1 + ${h(1)} % ${FIRST_NAMES.length}] AS first,
                           (${arr(FIRST_NAMES.map((f) => f[1]))})[1 + ${h(1)} % ${FIRST_NAMES.length}] AS ascii) fn
CROSS JOIN LATERAL (SELECT (${arr(LAST_NAMES.map((f) => f[0]))})[1 + ${h(2)} % ${LAST_NAMES.length}] AS last,
                           (${arr(LAST_NAMES.map((f) => f[1]))})[1 + ${h(2)} % ${LAST_NAMES.length}] AS ascii) ln
CROSS JOIN LATERAL (SELECT (${arr(LOCATIONS.map((l) => l[0]))})[1 + ${h(22)} % ${LOCATIONS.length}] AS city,
                           (${arr(LOCATIONS.map((l) => l[1]))})[1 + ${h(22)} % ${LOCATIONS.length}] AS tz) loc
CROSS JOIN LATERAL (SELECT CASE WHEN ${u(23)} < 0.88 THEN 'active'
                                WHEN ${u(23)} < 0.95 THEN 'terminated' ELSE 'leave' END AS status) st`;
}

// ---------------------------------------------------------------------------------------------------------------
// Methods
// ---------------------------------------------------------------------------------------------------------------

async function loadWithCopy(client: pg.Client, n: number): Promise<RowSource> {
  const source = new RowSource(n);
  const copy = client.query(copyFrom(`COPY hr_staging (${COLUMNS.join(', ')}) FROM STDIN (FORMAT text)`));
  await pipeline(copyTextStream(source), copy);
  if (copy.rowCount !== n) throw new Error(`COPY reported ${copy.rowCount} rows, expected ${n}`);
  return source;
}

async function loadWithInsert(client: pg.Client, n: number): Promise<RowSource> {
  const source = new RowSource(n);
  const width = COLUMNS.length;
  const head = `INSERT INTO hr_staging (${COLUMNS.join(', ')}) VALUES `;
  const tuples = (rows: number) =>
    Array.from(
      { length: rows },
      (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(',')})`,
    ).join(',');
  const fullBatchSql = head + tuples(INSERT_BATCH);
  await client.query('BEGIN');
  try {
    while (source.remaining > 0) {
      const rows = Math.min(INSERT_BATCH, source.remaining);
      const params: (string | null)[] = new Array(rows * width);
      for (let r = 0; r < rows; r++) {
        const row = source.row()!;
        for (let c = 0; c < width; c++) params[r * width + c] = row[c] as string | null;
      }
      await client.query(rows === INSERT_BATCH ? fullBatchSql : head + tuples(rows), params);
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
  return source;
}

async function loadServerSide(client: pg.Client, n: number, idWidth: number): Promise<void> {
  const res = await client.query(serverSideInsert(n, idWidth));
  if (res.rowCount !== n) throw new Error(`server-side INSERT reported ${res.rowCount} rows, expected ${n}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------------------------

async function scalar(client: pg.Client, sql: string, params: unknown[] = []): Promise<string> {
  const res = await client.query<{ v: string | number | null }>(sql, params);
  return String(res.rows[0]?.v ?? '');
}

async function verifyCount(client: pg.Client, method: string, expected: number): Promise<void> {
  const got = Number(await scalar(client, 'SELECT count(*) AS v FROM hr_staging'));
  if (got !== expected) {
    throw new Error(`${method}: hr_staging holds ${got} rows after the load, expected ${expected}`);
  }
}

/** Order-independent checksum of the rows with employee_id <= lastId (the whole row, as PostgreSQL renders it). */
async function checksum(client: pg.Client, table: string, lastId: string): Promise<string> {
  return scalar(
    client,
    `SELECT count(*)::text || ':' || coalesce(sum(hashtextextended(h::text, 0)), 0)::text AS v FROM ${table} h WHERE employee_id <= $1`,
    [lastId],
  );
}

async function tally(client: pg.Client): Promise<Tally> {
  const res = await client.query<{ non_ascii: string; multiline: string; quoted: string }>(
    `SELECT count(*) FILTER (WHERE first_name || last_name || location ~ '[^\\x01-\\x7f]') AS non_ascii,
            count(*) FILTER (WHERE location LIKE E'%\\n%') AS multiline,
            count(*) FILTER (WHERE last_name || coalesce(preferred_name, '') ~ '[''"]') AS quoted
       FROM hr_staging`,
  );
  const r = res.rows[0]!;
  return { nonAscii: Number(r.non_ascii), multiline: Number(r.multiline), quoted: Number(r.quoted) };
}

async function prepareRun(client: pg.Client): Promise<void> {
  await client.query('TRUNCATE hr_staging');
  // Flush the previous run's dirty pages now, so that they are not written during the next timed run.
  await client.query('CHECKPOINT');
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const result = await fn();
  return [result, (performance.now() - t0) / 1000];
}

/** Figures of one method from its per-round timings: the fastest round counts (the least disturbed by other work). */
function figures(
  rows: number,
  rounds: number[],
  extra: Record<string, number | string | boolean | null> = {},
): MethodFigures {
  const best = Math.min(...rounds);
  return {
    rows,
    seconds: round(best, 3),
    rowsPerSecond: Math.round(rows / best),
    ...extra,
    secondsPerRound: rounds.map((x) => round(x, 3)),
  };
}

function round(x: number, digits: number): number {
  const p = 10 ** digits;
  return Math.round(x * p) / p;
}

function rate(rows: number, seconds: number): string {
  return `${rows} rows in ${seconds.toFixed(2)}s (${Math.round(rows / seconds)} rows/s)`;
}

export default async function run(opts: BenchOptions): Promise<BenchResult> {
  const n = opts.rows ?? DEFAULT_ROWS;
  const insertRows = Math.min(n, INSERT_SAMPLE_MAX);
  const log = opts.log;
  const idWidth = new RowSource(n).idWidth;
  const sampleLastId = new RowSource(n).employeeId(insertRows);

  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-copy-load-'));
  chmodSync(dir, 0o755); // the server runs as the `postgres` user when we are root
  const server = new PostgresServer({
    clusterDir: join(dir, 'pg'),
    port: 0,
    password: randomBytes(18).toString('base64url'),
    log: createLogger({ level: 'warn', name: 'bench' }),
  });
  let client: pg.Client | undefined;
  try {
    log(`starting a fresh embedded PostgreSQL in ${dir}`);
    await server.start();
    client = new pg.Client({ connectionString: server.url, application_name: 'gatehouse-bench' });
    await client.connect();
    const c = client;
    const postgresVersion = await scalar(c, "SELECT current_setting('server_version') AS v");
    const settings = (
      await c.query<{ name: string; setting: string }>(
        `SELECT name, current_setting(name) AS setting FROM pg_settings
          WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_level', 'shared_buffers',
                         'max_wal_size', 'checkpoint_timeout', 'wal_compression')
          ORDER BY name`,
      )
    ).rows
      .map((s) => `${s.name}=${s.setting}`)
      .join(', ');
    log(`PostgreSQL ${postgresVersion}; ${settings}`);
    await c.query(CREATE_TABLE);
    const tableBytes = async () =>
      Number(await scalar(c, `SELECT pg_total_relation_size('hr_staging') AS v`));

    // The same bytes the COPY run streams, in a file the server can read (for COPY FROM a server-side file).
    const rowsFile = join(dir, 'rows.copy');
    await pipeline(copyTextStream(new RowSource(n)), createWriteStream(rowsFile, { mode: 0o644 }));
    const generatedBytes = statSync(rowsFile).size;

    // Warm-up (untimed): each path once on a small sample, so no method pays for a cold catalog or cold code.
    const warm = Math.min(n, WARMUP_ROWS);
    await loadWithCopy(c, warm);
    await c.query('TRUNCATE hr_staging');
    await loadWithInsert(c, warm);
    await c.query('TRUNCATE hr_staging');
    await loadServerSide(c, warm, idWidth);

    const t: Record<
      'generateOnly' | 'copy' | 'insert' | 'serverSide' | 'copyFromServerFile' | 'insertSelectFromTable',
      number[]
    > = {
      generateOnly: [],
      copy: [],
      insert: [],
      serverSide: [],
      copyFromServerFile: [],
      insertSelectFromTable: [],
    };
    let copyBytes = 0;
    let insertBytes = 0;
    let serverBytes = 0;
    let expectedTally: Tally | undefined;

    for (let r = 1; r <= ROUNDS; r++) {
      log(`round ${r} of ${ROUNDS}`);

      // Client-side generation alone (no database): the Node share of the COPY run.
      const [, genSeconds] = await timed(async () => {
        for await (const chunk of copyTextStream(new RowSource(n))) void chunk;
      });
      t.generateOnly.push(genSeconds);
      log(`  generate+encode only: ${rate(n, genSeconds)}`);

      // (a) COPY FROM STDIN
      await prepareRun(c);
      const [copySource, copySeconds] = await timed(() => loadWithCopy(c, n));
      t.copy.push(copySeconds);
      await verifyCount(c, 'COPY', n);
      log(`  copy: ${rate(n, copySeconds)}`);
      if (r === 1) {
        copyBytes = await tableBytes();
        expectedTally = copySource.tally;
        const loaded = await tally(c);
        if (JSON.stringify(loaded) !== JSON.stringify(expectedTally)) {
          throw new Error(
            `COPY: special-character rows differ: generated ${JSON.stringify(expectedTally)}, loaded ${JSON.stringify(loaded)}`,
          );
        }
        // Keep COPY's rows: the reference for INSERT's checksum and the source of insert-select-from-a-table.
        await c.query('ALTER TABLE hr_staging RENAME TO hr_copy_source');
        await c.query(CREATE_TABLE);
      }

      // (b) baseline: multi-row parameterised INSERT, 1000 rows per statement, one transaction
      await prepareRun(c);
      const [, insertSeconds] = await timed(() => loadWithInsert(c, insertRows));
      t.insert.push(insertSeconds);
      await verifyCount(c, 'INSERT', insertRows);
      log(`  insert: ${rate(insertRows, insertSeconds)}`);
      if (r === 1) {
        insertBytes = await tableBytes();
        const copySum = await checksum(c, 'hr_copy_source', sampleLastId);
        const insertSum = await checksum(c, 'hr_staging', sampleLastId);
        if (insertSum !== copySum) {
          throw new Error(
            `the first ${insertRows} rows differ between COPY (${copySum}) and INSERT (${insertSum}): an escaping bug`,
          );
        }
      }

      // (c) server-side floor: INSERT ... SELECT ... FROM generate_series
      await prepareRun(c);
      const [, serverSeconds] = await timed(() => loadServerSide(c, n, idWidth));
      t.serverSide.push(serverSeconds);
      await verifyCount(c, 'server-side INSERT ... SELECT', n);
      if (r === 1) serverBytes = await tableBytes();
      log(`  server-side (generate_series): ${rate(n, serverSeconds)}`);

      // COPY FROM a server-side file: COPY's parsing and storing without Node, the wire or the protocol.
      await prepareRun(c);
      const [, fileSeconds] = await timed(() =>
        c.query(`COPY hr_staging (${COLUMNS.join(', ')}) FROM ${lit(rowsFile)} (FORMAT text)`),
      );
      t.copyFromServerFile.push(fileSeconds);
      await verifyCount(c, 'COPY FROM a server-side file', n);
      log(`  copy from a server file: ${rate(n, fileSeconds)}`);

      // Table to table: the same rows, no row construction and no parsing — storing them (heap, WAL, fsync) alone.
      await prepareRun(c);
      const [, tableSeconds] = await timed(() =>
        c.query('INSERT INTO hr_staging SELECT * FROM hr_copy_source'),
      );
      t.insertSelectFromTable.push(tableSeconds);
      await verifyCount(c, 'INSERT ... SELECT * FROM hr_copy_source', n);
      log(`  insert-select from a table: ${rate(n, tableSeconds)}`);
    }

    await c.query('DROP TABLE hr_copy_source');
    await c.query('TRUNCATE hr_staging');
    rmSync(rowsFile);

    const copy = figures(n, t.copy, {
      format: 'text',
      tableBytesPerRow: Math.round(copyBytes / n),
      wireMiB: round(generatedBytes / 2 ** 20, 1),
    });
    const insert = figures(insertRows, t.insert, {
      batchRows: INSERT_BATCH,
      tableBytesPerRow: Math.round(insertBytes / insertRows),
    });
    const serverSide = figures(n, t.serverSide, { tableBytesPerRow: Math.round(serverBytes / n) });
    const copyFromServerFile = figures(n, t.copyFromServerFile);
    const insertSelectFromTable = figures(n, t.insertSelectFromTable);
    const generateOnly = figures(n, t.generateOnly, { mib: round(generatedBytes / 2 ** 20, 1) });

    const notes = [
      `Same run, same fresh cluster, same deterministic row stream (mulberry32 seed 0x${SEED.toString(16)}); ` +
        `the table is logged (not UNLOGGED) and durability settings are the defaults: ${settings}.`,
      `${ROUNDS} interleaved rounds of: generate only, copy, insert, server-side, copy from a server file, ` +
        `insert-select from a table. Each method's seconds/rowsPerSecond are from its fastest round (least ` +
        `disturbed by other work on the machine); secondsPerRound lists every round. Every timed load starts ` +
        `from TRUNCATE + CHECKPOINT, after an untimed ${WARMUP_ROWS}-row warm-up of each method, and is timed ` +
        `(performance.now) through commit.`,
      `COPY uses the text format through pg-copy-streams, fed by a Readable that generates ` +
        `${CHUNK_BYTES / 1024} KiB chunks; its time includes generating and encoding the rows in Node ` +
        `(figures.generateOnly measures that alone). Node and the backend work in parallel, on separate cores.`,
      insertRows < n
        ? `The INSERT baseline ran on the first ${insertRows} of the ${n} rows (it is the slow method); compare ` +
          `rows/s, not seconds. Its rows were checked identical to COPY's first ${insertRows} rows ` +
          `(order-independent checksum of the rows as PostgreSQL renders them).`
        : `The INSERT baseline loaded all ${n} rows; they were checked identical to COPY's (order-independent ` +
          `checksum of the rows as PostgreSQL renders them).`,
      `INSERT: ${INSERT_BATCH} rows x ${COLUMNS.length} params per statement (unnamed statement, parsed every ` +
        `batch), all batches in one transaction.`,
      `The server-side floor builds rows with the same vocabulary and distributions from hashint8 inside ` +
        `PostgreSQL (similar, not byte-identical rows; compare tableBytesPerRow). It has no client, wire or ` +
        `protocol cost, but one backend process does all the work (making the rows and storing them), while ` +
        `COPY's work is split between Node (making and encoding rows) and the backend (parsing, storing).`,
      `figures.copyFromServerFile: COPY hr_staging FROM '<file>' with the very bytes the COPY run streamed, read by ` +
        `the backend itself: COPY's server-side cost (parsing text into date/timestamptz/jsonb, storing) without Node.`,
      `figures.insertSelectFromTable: INSERT INTO hr_staging SELECT * FROM a table holding the rows COPY loaded ` +
        `(byte-identical rows, no parsing, no row construction): the cost of storing the rows alone.`,
      `COPY's loaded rows held the generated counts of special-character rows: ${JSON.stringify(expectedTally)} ` +
        `(non-ASCII names/locations, raw newlines, quotes).`,
      `Cluster data directory under ${tmpdir()} (fsync on). Absolute numbers depend on the machine, its disk and ` +
        `its other work (see machine.loadAverage1m); ratios within one run are the figures to compare.`,
    ];

    return {
      postgresVersion,
      figures: { copy, insert, serverSide, copyFromServerFile, insertSelectFromTable, generateOnly },
      baseline: {
        name: 'multi-row INSERT',
        description: `Parameterised INSERT ... VALUES with ${INSERT_BATCH} rows per statement, one transaction: the naive approach.`,
        figures: insert,
      },
      ratios: {
        copyVsInsertSpeedup: round(copy.rowsPerSecond / insert.rowsPerSecond, 2),
        copyFractionOfServerFloor: round(copy.rowsPerSecond / serverSide.rowsPerSecond, 2),
        insertFractionOfServerFloor: round(insert.rowsPerSecond / serverSide.rowsPerSecond, 2),
        copyFractionOfCopyFromServerFile: round(copy.rowsPerSecond / copyFromServerFile.rowsPerSecond, 2),
        copyFractionOfInsertSelectFromTable: round(
          copy.rowsPerSecond / insertSelectFromTable.rowsPerSecond,
          2,
        ),
      },
      notes,
    };
  } finally {
    await client?.end().catch(() => undefined);
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
