import { createHash, hash } from 'node:crypto';
import type pg from 'pg';
import { appendAudit } from '../audit/index.ts';
import { copyRows } from '../db/copy.ts';
import { transaction, type Database, type Tx } from '../db/pool.ts';
import type { Jobs } from '../jobs/index.ts';
import type { CommandContext } from '../kit/context.ts';
import { GatehouseError } from '../kit/errors.ts';
import { getNamingPolicy } from '../naming/policy.ts';
import { applyPlan, type ApplyResult } from './apply.ts';
import { headerFingerprint, resolveHeader, type Mapping } from './mapping.ts';
import { parseCsv, parseCsvInMemory } from './parse.ts';
import {
  loadKnown,
  planImport,
  type ImportPlan,
  type InputRow,
  type KnownPerson,
  type PresentColumns,
  type SkippedRow,
} from './plan.ts';
import { defaultSource, ensureSource, findSource, checkSourceName, type HrSource } from './sources.ts';
import { PERSONAL_FIELDS, type DetectedEvent, type EventType, type HrField, type RowError } from './types.ts';
import { hrHash, validateRow } from './validate.ts';

export const ImportErrors = {
  headerInvalid: 'hr_header_invalid',
  empty: 'hr_file_empty',
  notFound: 'hr_import_not_found',
  notPending: 'hr_import_not_pending',
  allOrNothing: 'hr_import_rejected',
} as const;

export type ImportOrigin = 'cli' | 'upload' | 'drop_folder' | 'api';
export type ImportState = 'previewed' | 'held' | 'applied' | 'rejected' | 'failed';

export interface ImportRequest {
  source: string;
  origin: ImportOrigin;
  fileName?: string;
  content: Buffer;
  /** Work out and report, change nothing (not even the source). */
  dryRun?: boolean;
  /** Store the preview for a later apply (the console's upload → preview → apply). */
  previewOnly?: boolean;
}

export interface ImportReport {
  importId: string | null;
  source: { name: string; created: boolean; wouldCreate?: boolean };
  state: ImportState | 'dry_run';
  rows: number;
  valid: number;
  unchanged: number;
  errors: RowError[];
  events: DetectedEvent[];
  counts: Partial<Record<EventType, number>>;
  heldReasons: string[];
  applied: ApplyResult | null;
}

export interface ImportDeps {
  database: Pick<Database, 'pool' | 'db'>;
  jobs: Jobs;
}

/** What a file holds, read and validated: see `readImportFile`. */
export interface ImportFile {
  rows: InputRow[];
  errors: RowError[];
  rowCount: number;
  headerFingerprint: string;
  present: PresentColumns;
  /** Rows exactly as they were when their person was last stored from a file: not validated (see `planImport`). */
  skipped: SkippedRow[];
  /** Validate a skipped row after all (its person changed since the row hashes were read). */
  revalidate(row: SkippedRow): { input: InputRow | null; errors: RowError[] };
}

/** Bump when validation or normalisation changes, so that every row is validated again once. */
const ROW_HASH_VERSION = 'r2';

/**
 * Parse and validate a file (outside any transaction): valid records with their hashes, and every row error.
 *
 * `stored` (the source's people by employee id, from `loadKnown`) lets a re-import skip what has not changed: a
 * row whose text hashes (with the header, the delimiter and the mapping) to what its person was last stored from is
 * not validated again. `planImport` checks those hashes against the store it plans with. It may still be loading
 * (a promise): the file is parsed and hashed meanwhile, and the caller awaits the same promise for its plan.
 */
export async function readImportFile(
  content: Buffer,
  mapping: Mapping,
  now: Date,
  stored?:
    | ReadonlyMap<string, { rowHash: string | null }>
    | Promise<ReadonlyMap<string, { rowHash: string | null }>>,
): Promise<ImportFile> {
  // An unusable file throws before `stored` is awaited: its rejection, if any, must not go unhandled meanwhile.
  if (stored instanceof Promise) stored.catch(() => undefined);
  let delimiter = '';
  const parseOpts = { raw: true, onDelimiter: (d: string) => (delimiter = d) };
  // A file in memory is read synchronously (no await per row); an irregular one through csv-parse's precise errors.
  let records = parseCsvInMemory(content, parseOpts);
  if (!records) {
    records = [];
    for await (const r of parseCsv(content, parseOpts)) records.push(r);
  }
  const headerCells = records[0]?.cells;
  if (!headerCells)
    throw new GatehouseError(
      ImportErrors.empty,
      'the file is empty: it needs a header row and one row per person',
      {
        problems: [{ field: 'file', message: 'no header row' }],
      },
    );
  const header = resolveHeader(headerCells, mapping);
  const fingerprint = headerFingerprint(headerCells);
  if (header.problems.length)
    throw new GatehouseError(
      ImportErrors.headerInvalid,
      `the header row of this file cannot be used: ${header.problems.map((p) => p.message).join('; ')}`,
      { problems: header.problems.map((p) => ({ field: p.column, record: 1, message: p.message })) },
    );
  // The header, the delimiter and the mapping decide what a row's text means: folded into a short key that
  // prefixes every row. A row is hashed as written where the fast reader kept its text, else by its cells.
  const salt = hash(
    'sha1',
    `${ROW_HASH_VERSION}\u0001${delimiter}\u0001${JSON.stringify(mapping)}\u0001${fingerprint}`,
    'base64',
  );
  const idIndex = header.index.employee_id;
  const hashed = new Array<{ row: number; cells: string[]; rowHash: string; employeeId: string | undefined }>(
    records.length - 1,
  );
  for (let i = 1; i < records.length; i++) {
    const { row, cells, raw } = records[i]!;
    hashed[i - 1] = {
      row,
      cells,
      rowHash: hash(
        'sha1',
        raw === undefined ? `${salt}\u0002${cells.join('\u0001')}` : `${salt}\u0001${raw}`,
        'base64',
      ),
      employeeId: idIndex === undefined ? undefined : cells[idIndex]?.trim(),
    };
  }
  const known = await stored;

  const validate = (row: number, cells: string[], rowHash: string) => {
    const v = validateRow(row, cells, header, { now });
    return {
      input: v.record ? { row, record: v.record, hash: hrHash(v.record), rowHash } : null,
      errors: v.errors,
    };
  };
  const rows: InputRow[] = [];
  const errors: RowError[] = [];
  const skipped: SkippedRow[] = [];
  for (const { row, cells, rowHash, employeeId } of hashed) {
    if (employeeId && known?.get(employeeId)?.rowHash === rowHash) {
      skipped.push({ row, employeeId, rowHash, cells });
      continue;
    }
    const v = validate(row, cells, rowHash);
    if (v.input) rows.push(v.input);
    for (const e of v.errors) errors.push(e);
  }
  return {
    rows,
    errors,
    rowCount: hashed.length,
    headerFingerprint: fingerprint,
    present: {
      fields: new Set(Object.keys(header.index) as HrField[]),
      attributes: new Set(header.attributes.map((a) => a.name)),
    },
    skipped,
    revalidate: (s) => validate(s.row, s.cells, s.rowHash),
  };
}

/**
 * Events with personal values replaced by "[personal]": what is stored in an import's summary (erasure cannot
 * reach it) and what a caller without permission to see personal data receives.
 */
export function maskPersonal(events: DetectedEvent[]): DetectedEvent[] {
  return events.map((e) => {
    if (!e.changes || !PERSONAL_FIELDS.some((f) => f in e.changes!)) return e;
    const changes = { ...e.changes };
    for (const f of PERSONAL_FIELDS)
      if (changes[f])
        changes[f] = {
          from: changes[f].from === null ? null : '[personal]',
          to: changes[f].to === null ? null : '[personal]',
        };
    return { ...e, changes };
  });
}

function countEvents(events: DetectedEvent[]): Partial<Record<EventType, number>> {
  const out: Partial<Record<EventType, number>> = {};
  for (const e of events) out[e.type] = (out[e.type] ?? 0) + 1;
  return out;
}

function reportOf(
  plan: ImportPlan,
  base: Pick<ImportReport, 'importId' | 'source' | 'state'>,
  applied: ApplyResult | null,
): ImportReport {
  return {
    ...base,
    rows: plan.rows,
    valid: plan.valid,
    unchanged: plan.unchanged,
    errors: plan.errors,
    events: plan.events,
    counts: countEvents(plan.events),
    heldReasons: plan.heldReasons,
    applied,
  };
}

function summaryOf(plan: ImportPlan, applied: ApplyResult | null) {
  return {
    rows: plan.rows,
    valid: plan.valid,
    unchanged: plan.unchanged,
    errors: plan.errors.length,
    counts: countEvents(plan.events),
    activeBefore: plan.activeBefore,
    terminations: plan.terminations,
    missing: plan.missing,
    heldReasons: plan.heldReasons,
    events: maskPersonal(plan.events.slice(0, 1000)),
    eventsTruncated: plan.events.length > 1000,
    ...(applied ? { applied } : {}),
  };
}

/**
 * Import an HR file: in one transaction lock the source, load what the store has, parse and validate (skipping rows
 * unchanged since they were stored), diff, and either report (dry run), store a preview, hold it (brake), or apply
 * it.
 */
export async function runImport(
  deps: ImportDeps,
  ctx: CommandContext,
  req: ImportRequest,
): Promise<ImportReport> {
  checkSourceName(req.source);
  const now = ctx.clock.now();
  if (req.dryRun) {
    const client = await deps.database.pool.connect();
    try {
      await client.query('begin transaction read only');
      const existing = await findSource(client, req.source);
      const source = existing ?? defaultSource(req.source, now);
      // The store is read while the file is parsed and hashed.
      const knownP = existing
        ? loadKnown(client, existing.id)
        : Promise.resolve(new Map<string, KnownPerson>());
      const file = await readImportFile(req.content, source.mapping, now, knownP);
      const plan = await planImport(client, source, file, now, await knownP);
      return reportOf(
        plan,
        {
          importId: null,
          source: { name: req.source, created: false, ...(existing ? {} : { wouldCreate: true }) },
          state: 'dry_run',
        },
        null,
      );
    } finally {
      await client.query('rollback').catch(() => undefined);
      client.release();
    }
  }

  return transaction(deps.database, async (tx) => {
    const { source, created } = await ensureSource(tx, ctx, req.source);
    // Read under the source's lock, against the store as this transaction sees it, while the file is parsed.
    const knownP = loadKnown(tx.client, source.id);
    const file = await readImportFile(req.content, source.mapping, now, knownP);
    const plan = await planImport(tx.client, source, file, now, await knownP);
    const importId = ctx.ids();
    const sha256 = createHash('sha256').update(req.content).digest('hex');
    const allOrNothingFail = source.allOrNothing && plan.errors.length > 0;
    const state: ImportState = req.previewOnly
      ? 'previewed'
      : allOrNothingFail
        ? 'rejected'
        : plan.heldReasons.length
          ? 'held'
          : 'applied';
    if (allOrNothingFail && !req.previewOnly) {
      plan.heldReasons = [
        `This source is all-or-nothing and ${plan.errors.length} row(s) have errors: nothing was applied. Fix the rows and import the file again.`,
      ];
    }
    const applied =
      state === 'applied' ? await applyPlan(tx, ctx, await deps2(tx, deps), source, plan, importId) : null;
    await recordImport(tx, ctx, {
      importId,
      source,
      req,
      sha256,
      plan,
      state,
      applied,
      keepFile: state === 'previewed' || state === 'held',
    });
    if (state === 'applied')
      await tx.client.query('update hr_sources set header_fingerprint = $2, updated_at = $3 where id = $1', [
        source.id,
        file.headerFingerprint,
        now,
      ]);
    return reportOf(plan, { importId, source: { name: source.name, created }, state }, applied);
  });
}

async function deps2(tx: Tx, deps: ImportDeps) {
  return { jobs: deps.jobs, naming: await getNamingPolicy(tx) };
}

async function recordImport(
  tx: Tx,
  ctx: CommandContext,
  x: {
    importId: string;
    source: HrSource;
    req: ImportRequest;
    sha256: string;
    plan: ImportPlan;
    state: ImportState;
    applied: ApplyResult | null;
    keepFile: boolean;
  },
): Promise<void> {
  const now = ctx.clock.now();
  await tx.client.query(
    `insert into hr_imports (id, source_id, origin, file_name, sha256, rows, state, summary, held_reason, created_by,
       created_at, applied_at, decided_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [
      x.importId,
      x.source.id,
      x.req.origin,
      x.req.fileName ?? null,
      x.sha256,
      x.plan.rows,
      x.state,
      JSON.stringify(summaryOf(x.plan, x.applied)),
      x.plan.heldReasons.join('\n') || null,
      actorName(ctx),
      now,
      x.state === 'applied' ? now : null,
      x.state === 'applied' ? actorName(ctx) : null,
    ],
  );
  if (x.plan.errors.length)
    await copyRows(
      tx.client,
      'hr_import_errors',
      ['import_id', 'seq', 'row', 'column', 'value', 'code', 'message'],
      x.plan.errors.map((e, i) => [x.importId, i, e.row, e.column, e.value, e.code, e.message]),
    );
  if (x.keepFile)
    await tx.client.query('insert into hr_import_files (import_id, content) values ($1, $2)', [
      x.importId,
      x.req.content,
    ]);
  if (x.state !== 'previewed')
    await appendAudit(tx, ctx, {
      action: `hr.import_${x.state}`,
      subject: { type: 'hr_import', id: x.importId },
      after: {
        source: x.source.name,
        file: x.req.fileName ?? null,
        sha256: x.sha256,
        rows: x.plan.rows,
        errors: x.plan.errors.length,
        counts: countEvents(x.plan.events),
      },
      ...(x.plan.heldReasons.length ? { reason: x.plan.heldReasons.join(' ') } : {}),
    });
}

function actorName(ctx: CommandContext): string {
  return `${ctx.actor.type}:${ctx.actor.name ?? ctx.actor.id}`;
}

export interface ImportView {
  id: string;
  source: string;
  origin: ImportOrigin;
  fileName: string | null;
  sha256: string | null;
  rows: number;
  state: ImportState;
  summary: ReturnType<typeof summaryOf>;
  heldReason: string | null;
  createdBy: string;
  createdAt: string;
  decidedBy: string | null;
  appliedAt: string | null;
}

interface ImportRow {
  id: string;
  source: string;
  origin: ImportOrigin;
  file_name: string | null;
  sha256: string | null;
  rows: number;
  state: ImportState;
  summary: ReturnType<typeof summaryOf>;
  held_reason: string | null;
  created_by: string;
  created_at: Date;
  decided_by: string | null;
  applied_at: Date | null;
}

function importView(r: ImportRow): ImportView {
  return {
    id: r.id,
    source: r.source,
    origin: r.origin,
    fileName: r.file_name,
    sha256: r.sha256,
    rows: r.rows,
    state: r.state,
    summary: r.summary,
    heldReason: r.held_reason,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    decidedBy: r.decided_by,
    appliedAt: r.applied_at?.toISOString() ?? null,
  };
}

type Q = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;
const IMPORT_SELECT = `select i.*, s.name as source from hr_imports i join hr_sources s on s.id = i.source_id`;

export async function getImport(db: Q, id: string): Promise<ImportView> {
  const r = await db.query<ImportRow>(`${IMPORT_SELECT} where i.id = $1`, [id]);
  if (!r.rows[0])
    throw new GatehouseError(ImportErrors.notFound, `no HR import with id ${id}`, { status: 404 });
  return importView(r.rows[0]);
}

export async function listImports(
  db: Q,
  opts: { limit?: number; state?: ImportState } = {},
): Promise<ImportView[]> {
  const r = await db.query<ImportRow>(
    `${IMPORT_SELECT} where ($1::text is null or i.state = $1) order by i.created_at desc limit $2`,
    [opts.state ?? null, Math.min(Math.max(opts.limit ?? 50, 1), 200)],
  );
  return r.rows.map(importView);
}

export async function importErrors(db: Q, id: string, opts: { limit?: number } = {}): Promise<RowError[]> {
  const r = await db.query<RowError>(
    `select row, "column", value, code, message from hr_import_errors where import_id = $1 order by seq limit $2`,
    [id, opts.limit ?? 1_000_000],
  );
  return r.rows;
}

function csvCell(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  // Quote always; neutralise spreadsheet formulas (CSV injection) by prefixing a quote mark.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return `"${safe.replace(/"/g, '""')}"`;
}

/** The errors of an import as CSV (row, column, value, code, message), ready for a spreadsheet. */
export async function importErrorsCsv(db: Q, id: string): Promise<string> {
  await getImport(db, id);
  const errors = await importErrors(db, id);
  const lines = ['row,column,value,code,message'];
  for (const e of errors) lines.push([e.row, e.column, e.value, e.code, e.message].map(csvCell).join(','));
  return lines.join('\r\n') + '\r\n';
}

/**
 * Apply a previewed or held import: the stored file is read again and diffed against the store as it is now (so
 * what is applied is what the store needs today). The brake is overridden by this decision, which is audited.
 */
export async function decideImport(
  deps: ImportDeps,
  ctx: CommandContext,
  id: string,
  decision: 'apply' | 'reject',
  opts: { approve?: boolean } = {},
): Promise<ImportReport> {
  const now = ctx.clock.now();
  return transaction(deps.database, async (tx) => {
    const r = await tx.client.query<ImportRow & { source_id: string; content: Buffer | null }>(
      `select i.*, s.name as source, f.content from hr_imports i join hr_sources s on s.id = i.source_id
       left join hr_import_files f on f.import_id = i.id where i.id = $1 for update of i`,
      [id],
    );
    const row = r.rows[0];
    if (!row) throw new GatehouseError(ImportErrors.notFound, `no HR import with id ${id}`, { status: 404 });
    if ((row.state !== 'previewed' && row.state !== 'held') || !row.content)
      throw new GatehouseError(
        ImportErrors.notPending,
        `this import is ${row.state}: only a previewed or held import can be applied or rejected`,
        {
          status: 409,
          details: { state: row.state },
        },
      );
    const source = (await findSource(tx.client, row.source, { lock: true }))!;
    const knownP = loadKnown(tx.client, source.id);
    const file = await readImportFile(row.content, source.mapping, now, knownP);
    const plan = await planImport(tx.client, source, file, now, await knownP);
    let applied: ApplyResult | null = null;
    let state: ImportState = 'rejected';
    if (decision === 'apply' && plan.heldReasons.length && !opts.approve) {
      // The brake holds this import as it stands today: applying it needs an explicit approval.
      await tx.client.query(
        `update hr_imports set state = 'held', held_reason = $2, summary = $3 where id = $1`,
        [id, plan.heldReasons.join('\n'), JSON.stringify(summaryOf(plan, null))],
      );
      if (row.state !== 'held')
        await appendAudit(tx, ctx, {
          action: 'hr.import_held',
          subject: { type: 'hr_import', id },
          before: { state: row.state },
          after: { state: 'held' },
          reason: plan.heldReasons.join(' '),
        });
      return reportOf(
        plan,
        { importId: id, source: { name: source.name, created: false }, state: 'held' },
        null,
      );
    }
    if (decision === 'apply') {
      if (source.allOrNothing && plan.errors.length)
        throw new GatehouseError(
          ImportErrors.allOrNothing,
          `this source is all-or-nothing and ${plan.errors.length} row(s) have errors`,
          {
            status: 409,
          },
        );
      applied = await applyPlan(tx, ctx, await deps2(tx, deps), source, plan, id);
      state = 'applied';
      await tx.client.query('update hr_sources set header_fingerprint = $2, updated_at = $3 where id = $1', [
        source.id,
        file.headerFingerprint,
        now,
      ]);
    }
    await tx.client.query(
      `update hr_imports set state = $2, decided_by = $3, applied_at = $4, summary = $5 where id = $1`,
      [id, state, actorName(ctx), state === 'applied' ? now : null, JSON.stringify(summaryOf(plan, applied))],
    );
    await tx.client.query('delete from hr_import_files where import_id = $1', [id]);
    await appendAudit(tx, ctx, {
      action: `hr.import_${state}`,
      subject: { type: 'hr_import', id },
      before: { state: row.state, heldReason: row.held_reason },
      after: { state, counts: countEvents(plan.events), errors: plan.errors.length },
      ...(row.state === 'held' && decision === 'apply'
        ? { reason: 'held import approved: brake overridden' }
        : {}),
    });
    return reportOf(plan, { importId: id, source: { name: source.name, created: false }, state }, applied);
  });
}
