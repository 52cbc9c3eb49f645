import { answeredLater, pipelinedTransaction, statementsSent, together, type Tx } from '../db/pool.ts';
import type { CommandContext } from '../kit/context.ts';
import { GatehouseError, isGatehouseError } from '../kit/errors.ts';
import {
  getPersonRow,
  getPersonRows,
  recordOf,
  viewOf,
  type PersonRow,
  type PersonView,
} from '../identities/people.ts';
import { getNamingPolicy, type NamingPolicy } from '../naming/policy.ts';
import { readNamesAhead } from '../naming/registry.ts';
import { applyPlan, namingPersonOf, recordFields } from './apply.ts';
import type { ImportDeps } from './imports.ts';
import { DEFAULT_MAPPING, resolveHeader } from './mapping.ts';
import { loadKnownFor, planImport, type ImportPlan } from './plan.ts';
import { ensureSource, getSourceById } from './sources.ts';
import { HR_FIELDS, type DetectedEvent, type HrField, type HrRecord, type RowError } from './types.ts';
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

/** A push's outcome for a caller that reads the person itself (SCIM builds its own resource): no read-back. */
export interface PushedId {
  personId: string;
  events: DetectedEvent[];
  /** What the push's `read` found for the person, when it has one (undefined if the read did not find them). */
  stored?: unknown;
}

/** What a group's transaction settles each push with. */
interface Pushed {
  personId: string;
  events: DetectedEvent[];
  /** The push's `read`, answered by the time the commit is (called only once it is). */
  stored?: () => Promise<unknown>;
}

function problemsOf(errors: RowError[]) {
  return errors.map((e) => ({ field: e.column, message: e.message, value: e.value, record: e.code }));
}

/** What a caller of the push path (the REST API, SCIM) may add inside the push's own transaction. */
export interface PushOptions {
  expect: 'new' | 'existing';
  /** Runs first in the transaction, with the source: lock, check versions and uniqueness; throw to refuse. */
  guard?: (tx: Tx, sourceId: string) => Promise<void>;
  /** Runs last in the transaction, with the stored person: the caller's own rows and audit events. */
  after?: (tx: Tx, personId: string) => Promise<void>;
  /** A check made once for all the pushes of a group that name the same one (after their guards). */
  check?: { by: GroupCheck; arg: unknown };
  /**
   * What else this push claims besides its employee id (e.g. a SCIM userName): two pushes that share a key never
   * go in the same transaction, so the second sees the first (and its guard can refuse it).
   */
  keys?: string[];
  /**
   * How the caller reads what this push stored, in the group's transaction after every write and `after` (one
   * statement for the pushes of a group that name the same one): the push then answers with it (`PushedId.stored`).
   * On a pipelined transaction the statement goes out before the COMMIT and is not waited for, so the caller has
   * the person with the commit instead of reading it in a round trip of its own afterwards.
   */
  read?: GroupRead;
}

/** A read of stored people by id, for `PushOptions.read`: each id's row (an id not found is left out). */
export interface GroupRead {
  run(tx: Tx, personIds: string[]): Promise<Map<string, unknown>>;
}

/**
 * A check over several pushes at once, inside their transaction (e.g. one query for the uniqueness of every SCIM
 * userName in a group): for each push's argument, in order, why it is refused, or null.
 */
export interface GroupCheck {
  run(tx: Tx, sourceId: string, args: unknown[]): Promise<(GatehouseError | null)[]>;
}

/**
 * The REST path into the same pipeline as a file: the JSON becomes one row (HR field names as the header), is
 * validated by the same rules, diffed, and applied with the same events and audit. The brake does not apply to a
 * single explicit change; a full-export source's "missing means leaver" rule does not either.
 *
 * Pushes to one source are serialised by the source's lock, so concurrent ones are grouped (group commit): while
 * one transaction runs, the pushes that arrive wait, and the next transaction applies them together as a
 * many-row import. Each push still succeeds or fails on its own — a guard's refusal, a validation error or an
 * existing employee id fails only that push — and if the group's transaction fails for any other reason, its
 * pushes are applied again one at a time, so that only the one at fault fails.
 */
export async function pushPerson(
  deps: ImportDeps,
  ctx: CommandContext,
  sourceName: string,
  input: PersonInput,
  opts: PushOptions,
): Promise<PushResult> {
  const r = await pushPersonId(deps, ctx, sourceName, input, { ...opts, read: PERSON_READ });
  const row = r.stored as PersonRow | undefined;
  if (!row) throw new Error(`pushed person ${r.personId} was not stored`);
  return { person: viewOf(row, true), events: r.events };
}

/** The stored person as the REST API answers with it (`pushPerson`). */
const PERSON_READ: GroupRead = { run: (tx, ids) => getPersonRows(tx.client, ids) };

/**
 * `pushPerson` answering with the person's id, and with what the push's own `read` found (`stored`), if it has one:
 * the group's transaction reads nothing else back.
 */
export async function pushPersonId(
  deps: ImportDeps,
  ctx: CommandContext,
  sourceName: string,
  input: PersonInput,
  opts: PushOptions,
): Promise<PushedId> {
  const record = validatedRecord(input, ctx.clock.now());
  const r = await new Promise<Pushed>((resolve, reject) => {
    enqueue({
      deps,
      ctx,
      sourceName,
      record,
      opts,
      keys: [`employee:${record.employeeId}`, ...(opts.keys ?? [])],
      resolve,
      reject,
    });
  });
  return { personId: r.personId, events: r.events, ...(r.stored ? { stored: await r.stored() } : {}) };
}

/** The JSON as one validated row (HR field names as the header), or an error naming each bad field. */
function validatedRecord(input: PersonInput, now: Date): HrRecord {
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
  return v.record;
}

/** A validated push waiting for its source's transaction. */
interface Pending {
  deps: ImportDeps;
  ctx: CommandContext;
  sourceName: string;
  record: HrRecord;
  opts: PushOptions;
  keys: string[];
  resolve: (r: Pushed) => void;
  reject: (e: unknown) => void;
}

/** The naming policy each database's last group read (for reading the registry ahead: `applyPushes`). */
const namingPolicies = new WeakMap<object, NamingPolicy>();
/** Each database's HR sources by name, as its last group saw them: name → id. */
const sourceIds = new WeakMap<object, Map<string, string>>();

/** Most pushes in one transaction. */
const MAX_GROUP = 200;

/** Pushes waiting, per database, per source and actor (a transaction's audit events have one actor). */
const lanes = new WeakMap<object, Map<string, { waiting: Pending[]; running: boolean }>>();

function enqueue(p: Pending): void {
  let byLane = lanes.get(p.deps.database);
  if (!byLane) lanes.set(p.deps.database, (byLane = new Map()));
  const name = `${p.sourceName}\u0000${p.ctx.actor.type}:${p.ctx.actor.id}`;
  let lane = byLane.get(name);
  if (!lane) byLane.set(name, (lane = { waiting: [], running: false }));
  lane.waiting.push(p);
  if (lane.running) return;
  lane.running = true;
  const run = lane;
  void (async () => {
    try {
      while (run.waiting.length) await applyGroup(takeGroup(run.waiting));
    } catch (e) {
      for (const w of run.waiting.splice(0)) w.reject(e); // not expected: applyGroup settles its own pushes
    } finally {
      run.running = false;
      byLane.delete(name);
    }
  })();
}

/**
 * The next group, in arrival order: pushes that share no key with an earlier one still waiting (so two pushes for
 * one person, or one SCIM userName, are applied in order, in separate transactions) and that have the same
 * clock and id generator as the first.
 */
function takeGroup(waiting: Pending[]): Pending[] {
  const first = waiting[0]!;
  const group: Pending[] = [];
  const rest: Pending[] = [];
  const claimed = new Set<string>();
  for (const p of waiting) {
    const fits =
      group.length < MAX_GROUP &&
      p.ctx.clock === first.ctx.clock &&
      p.ctx.ids === first.ctx.ids &&
      p.keys.every((k) => !claimed.has(k));
    (fits ? group : rest).push(p);
    for (const k of p.keys) claimed.add(k); // a push left waiting keeps later ones with its keys behind it
  }
  waiting.splice(0, waiting.length, ...rest);
  return group;
}

type Outcome = { ok: true; result: Pushed } | { ok: false; error: unknown };

async function applyGroup(group: Pending[]): Promise<void> {
  let outcomes: Outcome[];
  try {
    outcomes = await pipelinedTransaction(group[0]!.deps.database, (tx) => applyPushes(tx, group));
  } catch (e) {
    if (group.length === 1) {
      group[0]!.reject(e);
      return;
    }
    // Something no single push was refused for: apply them one at a time, so that only the one at fault fails.
    for (const p of group) await applyGroup([p]);
    return;
  }
  group.forEach((p, i) => {
    const o = outcomes[i]!;
    if (o.ok) p.resolve(o.result);
    else p.reject(o.error);
  });
}

/**
 * Several pushes to one source as one many-row import, in one transaction: each push's guard, then one lookup of
 * who exists, one plan (a push the plan refuses is dropped and the rest planned again: another may have named it as
 * manager), one apply (each audit event carrying its own request's correlation id), each push's `after`, and one
 * statement per `read` for the pushes that answer with what they stored.
 */
async function applyPushes(tx: Tx, group: Pending[]): Promise<Outcome[]> {
  const { deps, ctx, sourceName } = group[0]!;
  const now = ctx.clock.now();
  const outcome = new Map<Pending, Outcome>();
  const refuse = (p: Pending, error: unknown) => outcome.set(p, { ok: false, error });
  // The naming policy seen last: with it, the registry rows that naming these people could need are read with the
  // rest (under the naming lock), and used if the policy read then is still the same.
  const lastPolicy = namingPolicies.get(deps.database);
  /**
   * What the group reads under the source's lock, sent together (one round trip on a pipelined connection): the
   * group checks (one call each for all the pushes that name it), who of these people and their managers is stored
   * (the brake, which counts a source, is not for pushes), the naming policy, and the names read ahead.
   */
  const readUnderLock = (sourceId: string, pushes: Pending[]) => {
    const checks = [
      ...Map.groupBy(
        pushes.filter((p) => p.opts.check),
        (p) => p.opts.check!.by,
      ),
    ];
    return together(
      tx,
      async () => {
        const refusals: (GatehouseError | null)[][] = await together(
          tx,
          ...checks.map(
            ([check, of]) =>
              () =>
                check.run(
                  tx,
                  sourceId,
                  of.map((p) => p.opts.check!.arg),
                ),
          ),
        );
        return { checks, refusals };
      },
      () =>
        loadKnownFor(tx.client, sourceId, [
          ...new Set(
            pushes.flatMap((p) =>
              p.record.managerId ? [p.record.employeeId, p.record.managerId] : [p.record.employeeId],
            ),
          ),
        ]),
      () => getNamingPolicy(tx),
      async () =>
        lastPolicy && tx.pipelined
          ? readNamesAhead(
              tx,
              pushes.map((p) => namingPersonOf(p.record)),
              lastPolicy,
              now,
            )
          : undefined,
    );
  };
  // The source's id as last seen: with no guards to run first, the reads go out with the lock, and are read again
  // in the rare case that the source is not the one seen (deleted and created again meanwhile).
  // (Only when the lock's statement went out first: the reads must run after it is granted.)
  const seenId = sourceIds.get(deps.database)?.get(sourceName);
  const sentBefore = statementsSent(tx);
  const ensured = ensureSource(tx, ctx, sourceName);
  const early =
    seenId && statementsSent(tx) !== sentBefore && group.every((p) => !p.opts.guard)
      ? readUnderLock(seenId, group)
      : null;
  early?.catch(() => undefined); // the lock's failure, if it failed, is the one reported
  const { source } = await ensured;
  let byDatabase = sourceIds.get(deps.database);
  if (!byDatabase) sourceIds.set(deps.database, (byDatabase = new Map()));
  byDatabase.set(sourceName, source.id);
  let live: Pending[] = [];
  for (const p of group) {
    try {
      await p.opts.guard?.(tx, source.id);
      live.push(p);
    } catch (e) {
      if (!isGatehouseError(e)) throw e;
      refuse(p, e);
    }
  }
  // Nothing left to apply: no more statements (a guard's failed one may have ended the transaction).
  const settled = () => group.map((p) => outcome.get(p)!);
  if (!live.length) return settled();
  const [{ checks, refusals }, known, naming, namesAhead] = await (early && source.id === seenId
    ? early
    : readUnderLock(source.id, live));
  namingPolicies.set(deps.database, naming);
  checks.forEach(([, pushes], c) =>
    pushes.forEach((p, i) => {
      const refusal = refusals[c]![i];
      if (refusal) refuse(p, refusal);
    }),
  );
  live = live.filter((p) => !outcome.has(p));
  if (!live.length) return settled();
  live = live.filter((p) => {
    const existing = known.get(p.record.employeeId);
    if (p.opts.expect !== 'new' || !existing) return true;
    refuse(
      p,
      new GatehouseError(
        PushErrors.exists,
        `employee ${p.record.employeeId} already exists in source ${source.name}`,
        {
          status: 409,
          problems: [{ field: 'employee_id', message: 'already exists', value: p.record.employeeId }],
          details: { personId: existing.id },
        },
      ),
    );
    return false;
  });
  let plan: ImportPlan | null = null;
  while (live.length) {
    plan = await planImport(
      tx.client,
      { ...source, fullExport: false, headerFingerprint: null },
      {
        rows: live.map((p, i) => ({ row: i + 1, record: p.record, hash: hrHash(p.record) })),
        errors: [],
        rowCount: live.length,
        headerFingerprint: null,
      },
      now,
      known,
    );
    if (!plan.errors.length) break;
    const errorsOf = Map.groupBy(plan.errors, (e) => e.row);
    live = live.filter((p, i) => {
      const errors = errorsOf.get(i + 1);
      if (!errors) return true;
      refuse(
        p,
        new GatehouseError(PushErrors.invalid, errors.map((e) => e.message).join('; '), {
          problems: problemsOf(errors),
        }),
      );
      return false;
    });
    plan = null;
  }
  if (plan) {
    const importId = ctx.ids();
    const pushes = live;
    // Recorded without waiting on a pipelined connection: the names are looked up meanwhile.
    await answeredLater(
      tx,
      tx.client.query({
        name: 'hr_import_pushed',
        text: `insert into hr_imports (id, source_id, origin, rows, state, summary, created_by, created_at, applied_at,
           decided_by) values ($1, $2, 'api', $3, 'applied', $4, $5, $6, $6, $5)`,
        values: [
          importId,
          source.id,
          live.length,
          JSON.stringify({ rows: live.length, events: plan.events }),
          `${ctx.actor.type}:${ctx.actor.name ?? ctx.actor.id}`,
          now,
        ],
      }),
    );
    const applied = await applyPlan(
      tx,
      ctx,
      {
        jobs: deps.jobs,
        naming,
        ...(namesAhead ? { namesAhead } : {}),
        correlationOf: (row) => pushes[row - 1]?.ctx.correlationId,
      },
      source,
      plan,
      importId,
    );
    // A push that changed nothing is the person it names, as stored.
    const idOf = (p: Pending, i: number) =>
      applied.personIds.get(i + 1) ?? known.get(p.record.employeeId)!.id;
    for (const [i, p] of live.entries()) await p.opts.after?.(tx, idOf(p, i));
    const stored = await readStored(tx, live, idOf);
    const eventsOf = new Map(plan.changes.map((c) => [c.row, c.events]));
    live.forEach((p, i) => {
      outcome.set(p, {
        ok: true,
        result: {
          personId: idOf(p, i),
          events: eventsOf.get(i + 1) ?? [],
          ...(stored.has(p) ? { stored: stored.get(p)! } : {}),
        },
      });
    });
  }
  return settled();
}

/**
 * Send each `read` of the pushes (one statement per reader for all of its pushes) without waiting for it on a
 * pipelined transaction: the transaction checks it before it reports the commit, by when its answer is in.
 */
async function readStored(
  tx: Tx,
  live: Pending[],
  idOf: (p: Pending, i: number) => string,
): Promise<Map<Pending, () => Promise<unknown>>> {
  const out = new Map<Pending, () => Promise<unknown>>();
  const byReader = new Map<GroupRead, { p: Pending; id: string }[]>();
  live.forEach((p, i) => {
    const reader = p.opts.read;
    if (!reader) return;
    let of = byReader.get(reader);
    if (!of) byReader.set(reader, (of = []));
    of.push({ p, id: idOf(p, i) });
  });
  for (const [reader, of] of byReader) {
    const sent = reader.run(
      tx,
      of.map((x) => x.id),
    );
    sent.catch(() => undefined); // a failure fails the transaction, which reports it
    await answeredLater(tx, sent);
    for (const { p, id } of of) out.set(p, () => sent.then((rows) => rows.get(id)));
  }
  return out;
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
