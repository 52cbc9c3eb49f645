import type pg from 'pg';
import { z } from 'zod';
import { appendAudit } from '../audit/index.ts';
import type { Tx } from '../db/pool.ts';
import type { CommandContext } from '../kit/context.ts';
import { GatehouseError } from '../kit/errors.ts';
import { DEFAULT_MAPPING, type Mapping } from './mapping.ts';
import { HR_FIELDS } from './types.ts';

export const SourceErrors = {
  notFound: 'hr_source_not_found',
  invalid: 'hr_source_invalid',
} as const;

export interface HrSource {
  id: string;
  name: string;
  mapping: Mapping;
  fullExport: boolean;
  allOrNothing: boolean;
  brakeRatio: number;
  brakeMinCount: number;
  leadTimeDays: number;
  defaultTimeZone: string;
  headerFingerprint: string | null;
  dropFolder: string | null;
  createdAt: string;
  updatedAt: string;
}

interface SourceRow {
  id: string;
  name: string;
  mapping: Mapping;
  full_export: boolean;
  all_or_nothing: boolean;
  brake_ratio: number;
  brake_min_count: number;
  lead_time_days: number;
  default_time_zone: string;
  header_fingerprint: string | null;
  drop_folder: string | null;
  created_at: Date;
  updated_at: Date;
}

function toSource(r: SourceRow): HrSource {
  return {
    id: r.id,
    name: r.name,
    mapping: r.mapping,
    fullExport: r.full_export,
    allOrNothing: r.all_or_nothing,
    brakeRatio: r.brake_ratio,
    brakeMinCount: r.brake_min_count,
    leadTimeDays: r.lead_time_days,
    defaultTimeZone: r.default_time_zone,
    headerFingerprint: r.header_fingerprint,
    dropFolder: r.drop_folder,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

export const SOURCE_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export const sourceSettingsSchema = z
  .object({
    mapping: z
      .object({
        columns: z.partialRecord(z.enum(HR_FIELDS), z.string().trim().min(1).max(128)),
      })
      .optional(),
    fullExport: z.boolean().optional(),
    allOrNothing: z.boolean().optional(),
    brakeRatio: z.number().min(0).max(1).optional(),
    brakeMinCount: z.number().int().min(0).max(1_000_000).optional(),
    leadTimeDays: z.number().int().min(0).max(365).optional(),
    defaultTimeZone: z
      .string()
      .refine((z) => Intl.supportedValuesOf('timeZone').includes(z) || z === 'UTC', {
        message: 'not a known IANA time zone (e.g. Europe/Berlin)',
      })
      .optional(),
    dropFolder: z.string().trim().min(1).max(1024).nullable().optional(),
  })
  .strict();
export type SourceSettings = z.infer<typeof sourceSettingsSchema>;

type Q = Pick<pg.PoolClient, 'query'> | Pick<pg.Pool, 'query'>;

export async function listSources(db: Q): Promise<HrSource[]> {
  const r = await db.query<SourceRow>('select * from hr_sources order by name');
  return r.rows.map(toSource);
}

export async function findSource(
  db: Q,
  name: string,
  opts: { lock?: boolean } = {},
): Promise<HrSource | null> {
  const r = await db.query<SourceRow>({
    name: opts.lock ? 'hr_source_locked' : 'hr_source',
    text: `select * from hr_sources where name = $1${opts.lock ? ' for update' : ''}`,
    values: [name],
  });
  return r.rows[0] ? toSource(r.rows[0]) : null;
}

export async function getSourceById(db: Q, id: string): Promise<HrSource> {
  const r = await db.query<SourceRow>('select * from hr_sources where id = $1', [id]);
  if (!r.rows[0])
    throw new GatehouseError(SourceErrors.notFound, `no HR source with id ${id}`, { status: 404 });
  return toSource(r.rows[0]);
}

export function checkSourceName(name: string): void {
  if (!SOURCE_NAME_RE.test(name))
    throw new GatehouseError(
      SourceErrors.invalid,
      `"${name}" is not a valid source name: use lower-case letters, digits, ".", "_" or "-" (up to 63)`,
      { problems: [{ field: 'source', message: 'invalid source name', value: name }] },
    );
}

/** A source with the default mapping and rules, as if it had been set up; not stored (for dry runs). */
export function defaultSource(name: string, now: Date): HrSource {
  return {
    id: '00000000-0000-0000-0000-000000000000',
    name,
    mapping: DEFAULT_MAPPING,
    fullExport: false,
    allOrNothing: false,
    brakeRatio: 0.05,
    brakeMinCount: 3,
    leadTimeDays: 7,
    defaultTimeZone: 'UTC',
    headerFingerprint: null,
    dropFolder: null,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
}

/** Find the source by name, creating it with the default mapping when it does not exist (audited). */
export async function ensureSource(
  tx: Tx,
  ctx: CommandContext,
  name: string,
): Promise<{ source: HrSource; created: boolean }> {
  checkSourceName(name);
  const existing = await findSource(tx.client, name, { lock: true });
  if (existing) return { source: existing, created: false };
  const now = ctx.clock.now();
  const s = defaultSource(name, now);
  s.id = ctx.ids();
  const r = await tx.client.query<SourceRow>(
    `insert into hr_sources (id, name, mapping, created_at, updated_at) values ($1, $2, $3, $4, $4)
     on conflict (name) do nothing returning *`,
    [s.id, name, JSON.stringify(s.mapping), now],
  );
  if (!r.rows[0]) {
    // Created concurrently by another import: use that one.
    const again = await findSource(tx.client, name, { lock: true });
    if (!again)
      throw new GatehouseError('hr_source_race', `could not create source "${name}"`, { status: 409 });
    return { source: again, created: false };
  }
  const created = toSource(r.rows[0]);
  await appendAudit(tx, ctx, {
    action: 'hr.source_created',
    subject: { type: 'hr_source', id: created.id },
    after: settingsOf(created),
    reason: 'created with the default mapping by the first import naming it',
  });
  return { source: created, created: true };
}

function settingsOf(s: HrSource) {
  return {
    name: s.name,
    mapping: s.mapping,
    fullExport: s.fullExport,
    allOrNothing: s.allOrNothing,
    brakeRatio: s.brakeRatio,
    brakeMinCount: s.brakeMinCount,
    leadTimeDays: s.leadTimeDays,
    defaultTimeZone: s.defaultTimeZone,
    dropFolder: s.dropFolder,
  };
}

/** Change a source's settings (audited, before and after). */
export async function updateSource(
  tx: Tx,
  ctx: CommandContext,
  name: string,
  input: unknown,
): Promise<HrSource> {
  const parsed = sourceSettingsSchema.safeParse(input);
  if (!parsed.success)
    throw new GatehouseError(SourceErrors.invalid, 'the source settings are not valid', {
      problems: parsed.error.issues.map((i) => ({
        field: i.path.join('.') || 'settings',
        message: i.message,
      })),
    });
  const before = await findSource(tx.client, name, { lock: true });
  if (!before)
    throw new GatehouseError(SourceErrors.notFound, `no HR source named "${name}"`, { status: 404 });
  const p = parsed.data;
  const after: HrSource = {
    ...before,
    ...(p.mapping ? { mapping: { columns: { ...p.mapping.columns } } as Mapping } : {}),
    ...(p.fullExport !== undefined ? { fullExport: p.fullExport } : {}),
    ...(p.allOrNothing !== undefined ? { allOrNothing: p.allOrNothing } : {}),
    ...(p.brakeRatio !== undefined ? { brakeRatio: p.brakeRatio } : {}),
    ...(p.brakeMinCount !== undefined ? { brakeMinCount: p.brakeMinCount } : {}),
    ...(p.leadTimeDays !== undefined ? { leadTimeDays: p.leadTimeDays } : {}),
    ...(p.defaultTimeZone !== undefined ? { defaultTimeZone: p.defaultTimeZone } : {}),
    ...(p.dropFolder !== undefined ? { dropFolder: p.dropFolder } : {}),
  };
  const now = ctx.clock.now();
  await tx.client.query(
    `update hr_sources set mapping = $2, full_export = $3, all_or_nothing = $4, brake_ratio = $5,
       brake_min_count = $6, lead_time_days = $7, default_time_zone = $8, drop_folder = $9, updated_at = $10
     where id = $1`,
    [
      before.id,
      JSON.stringify(after.mapping),
      after.fullExport,
      after.allOrNothing,
      after.brakeRatio,
      after.brakeMinCount,
      after.leadTimeDays,
      after.defaultTimeZone,
      after.dropFolder,
      now,
    ],
  );
  await appendAudit(tx, ctx, {
    action: 'hr.source_changed',
    subject: { type: 'hr_source', id: before.id },
    before: settingsOf(before),
    after: settingsOf(after),
  });
  return { ...after, updatedAt: now.toISOString() };
}
