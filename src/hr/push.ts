import { transaction, type Tx } from '../db/pool.ts';
import type { CommandContext } from '../kit/context.ts';
import { GatehouseError } from '../kit/errors.ts';
import { getPersonRow, recordOf, viewOf, type PersonView } from '../identities/people.ts';
import { getNamingPolicy } from '../naming/policy.ts';
import { applyPlan, recordFields } from './apply.ts';
import type { ImportDeps } from './imports.ts';
import { DEFAULT_MAPPING, resolveHeader } from './mapping.ts';
import { loadKnownFor, planImport } from './plan.ts';
import { ensureSource, getSourceById } from './sources.ts';
import { HR_FIELDS, type DetectedEvent, type HrField, type RowError } from './types.ts';
import { hrHash, validateRow } from './validate.ts';

export const PushErrors = {
  invalid: 'person_invalid',
  exists: 'person_exists',
} as const;

/** A person as the API takes it: HR field names (snake_case) → string values, plus free-form `attributes`. */
export type PersonInput = Partial<Record<HrField, string | null>> & { attributes?: Record<string, string> };

export interface PushResult {
  person: PersonView;
  events: DetectedEvent[];
}

function problemsOf(errors: RowError[]) {
  return errors.map((e) => ({ field: e.column, message: e.message, value: e.value, record: e.code }));
}

/**
 * The REST path into the same pipeline as a file: the JSON becomes one row (HR field names as the header), is
 * validated by the same rules, diffed, and applied with the same events and audit. The brake does not apply to a
 * single explicit change; a full-export source's "missing means leaver" rule does not either.
 */
/** What a caller of the push path (the REST API, SCIM) may add inside the push's own transaction. */
export interface PushOptions {
  expect: 'new' | 'existing';
  /** Runs first in the transaction, with the source: lock, check versions and uniqueness; throw to refuse. */
  guard?: (tx: Tx, sourceId: string) => Promise<void>;
  /** Runs last in the transaction, with the stored person: the caller's own rows and audit events. */
  after?: (tx: Tx, personId: string) => Promise<void>;
}

/**
 * One person through the HR pipeline, as a one-row import into `sourceName`: validated, diffed, applied with its
 * events, effective dates and audit, all in one transaction.
 */
export async function pushPerson(
  deps: ImportDeps,
  ctx: CommandContext,
  sourceName: string,
  input: PersonInput,
  opts: PushOptions,
): Promise<PushResult> {
  const expect = opts.expect;
  const now = ctx.clock.now();
  const header: string[] = [];
  const cells: string[] = [];
  for (const f of HR_FIELDS) {
    const v = input[f];
    if (v !== undefined && v !== null) {
      header.push(f);
      cells.push(String(v));
    }
  }
  for (const [k, v] of Object.entries(input.attributes ?? {})) {
    if ((HR_FIELDS as readonly string[]).includes(k.toLowerCase()))
      throw new GatehouseError(
        PushErrors.invalid,
        `attribute "${k}" has the name of an HR field: send it as a field`,
        {
          problems: [{ field: `attributes.${k}`, message: 'reserved name' }],
        },
      );
    header.push(k);
    cells.push(v);
  }
  const resolved = resolveHeader(header, DEFAULT_MAPPING);
  const missing = resolved.problems.filter((p) => p.code === 'missing_required_header');
  if (missing.length)
    throw new GatehouseError(
      PushErrors.invalid,
      `the person is missing ${missing.map((p) => p.column).join(', ')}`,
      {
        problems: missing.map((p) => ({ field: p.column, message: p.message })),
      },
    );
  const v = validateRow(1, cells, resolved, { now });
  if (!v.record)
    throw new GatehouseError(PushErrors.invalid, v.errors.map((e) => e.message).join('; '), {
      problems: problemsOf(v.errors),
    });
  const record = v.record;
  return transaction(deps.database, async (tx) => {
    const { source } = await ensureSource(tx, ctx, sourceName);
    await opts.guard?.(tx, source.id);
    const exists = await tx.client.query<{ id: string }>(
      'select id from people where source_id = $1 and employee_id = $2 and merged_into is null',
      [source.id, record.employeeId],
    );
    if (expect === 'new' && exists.rows[0])
      throw new GatehouseError(
        PushErrors.exists,
        `employee ${record.employeeId} already exists in source ${source.name}`,
        {
          status: 409,
          problems: [{ field: 'employee_id', message: 'already exists', value: record.employeeId }],
          details: { personId: exists.rows[0].id },
        },
      );
    // One person: only they and their manager are looked up (the brake, which counts a source, is not for pushes).
    const known = await loadKnownFor(
      tx.client,
      source.id,
      record.managerId ? [record.employeeId, record.managerId] : [record.employeeId],
    );
    const plan = await planImport(
      tx.client,
      { ...source, fullExport: false, headerFingerprint: null },
      { rows: [{ row: 1, record, hash: hrHash(record) }], errors: [], rowCount: 1, headerFingerprint: null },
      now,
      known,
    );
    if (plan.errors.length)
      throw new GatehouseError(PushErrors.invalid, plan.errors.map((e) => e.message).join('; '), {
        problems: problemsOf(plan.errors),
      });
    const importId = ctx.ids();
    await tx.client.query(
      `insert into hr_imports (id, source_id, origin, rows, state, summary, created_by, created_at, applied_at, decided_by)
       values ($1, $2, 'api', 1, 'applied', $3, $4, $5, $5, $4)`,
      [
        importId,
        source.id,
        JSON.stringify({ rows: 1, events: plan.events }),
        `${ctx.actor.type}:${ctx.actor.name ?? ctx.actor.id}`,
        now,
      ],
    );
    await applyPlan(tx, ctx, { jobs: deps.jobs, naming: await getNamingPolicy(tx) }, source, plan, importId);
    const id = await tx.client.query<{ id: string }>(
      'select id from people where source_id = $1 and employee_id = $2 and merged_into is null',
      [source.id, record.employeeId],
    );
    await opts.after?.(tx, id.rows[0]!.id);
    return { person: viewOf(await getPersonRow(tx.client, id.rows[0]!.id), true), events: plan.events };
  });
}

export function createPerson(deps: ImportDeps, ctx: CommandContext, source: string, input: PersonInput) {
  return pushPerson(deps, ctx, source, input, { expect: 'new' });
}

/** Change some fields of a person: the rest stay as HR last sent them. `null` clears a field. */
export async function updatePerson(
  deps: ImportDeps,
  ctx: CommandContext,
  personId: string,
  patch: PersonInput,
): Promise<PushResult> {
  const row = await getPersonRow(deps.database.pool, personId);
  if (row.merged_into)
    throw new GatehouseError(
      PushErrors.invalid,
      `this person was merged into ${row.merged_into}: change that one`,
      {
        status: 409,
      },
    );
  if (patch.employee_id !== undefined && patch.employee_id !== row.employee_id)
    throw new GatehouseError(PushErrors.invalid, 'the employee id of a person cannot be changed', {
      problems: [{ field: 'employee_id', message: 'read-only', value: patch.employee_id }],
    });
  const current = recordFields(recordOf(row)) as Record<string, unknown>;
  const merged: PersonInput = { attributes: { ...(row.attributes ?? {}), ...(patch.attributes ?? {}) } };
  for (const f of HR_FIELDS) {
    const v = f in patch ? patch[f] : (current[f] as string | null);
    merged[f] = v ?? null;
  }
  const source = await getSourceById(deps.database.pool, row.source_id);
  return pushPerson(deps, ctx, source.name, merged, { expect: 'existing' });
}

/** Terminate a person now or at a given date or instant (through the same path as an HR file). */
export async function terminatePerson(
  deps: ImportDeps,
  ctx: CommandContext,
  personId: string,
  at?: string,
): Promise<PushResult> {
  const when = at ?? ctx.clock.now().toISOString();
  return updatePerson(deps, ctx, personId, { termination_date: when });
}
