import { appendPrepared, personal, prepareAudit, type PreparedAudit } from '../audit/index.ts';
import { copyRows } from '../db/copy.ts';
import { forEachSliced, WriteBehind } from '../db/write-behind.ts';
import type { Tx } from '../db/pool.ts';
import { flagDuplicates } from '../identities/duplicates.ts';
import { searchTextOf } from '../identities/people.ts';
import type { Jobs } from '../jobs/index.ts';
import type { CommandContext } from '../kit/context.ts';
import { allocateNames, releaseNames, type NamesRead, type NamingPerson } from '../naming/registry.ts';
import type { NamingPolicy } from '../naming/policy.ts';
import { hireStartInstant, joinerInstant } from './effective.ts';
import { LIFECYCLE_QUEUE } from './lifecycle.ts';
import type { ImportPlan, PersonChange } from './plan.ts';
import type { HrSource } from './sources.ts';
import { PERSONAL_FIELDS, type DetectedEvent, type HrRecord } from './types.ts';

export interface ApplyDeps {
  jobs: Jobs;
  naming: NamingPolicy;
  /** The registry rows read ahead for these people's names (`readNamesAhead`), if they were. */
  namesAhead?: NamesRead;
  /**
   * Rows are pushed requests, not file rows (grouped pushes: see `push.ts`): the request each came from, whose
   * correlation id its audit event carries; reasons then name no row.
   */
  correlationOf?: (row: number) => string | undefined;
}

export interface ApplyResult {
  /** The person each changed input row was applied to, by row number. */
  personIds: Map<number, string>;
  created: number;
  updated: number;
  events: number;
  scheduled: number;
  duplicatesFlagged: number;
}

/** Events per lifecycle job. */
const JOB_BATCH = 100;

/** The staging table of people already stored: column and type, in the order of a stage row. */
const STAGE = [
  ['id', 'uuid'],
  ['is_new', 'boolean'],
  ['employee_id', 'text'],
  ['first_name', 'text'],
  ['last_name', 'text'],
  ['preferred_name', 'text'],
  ['department', 'text'],
  ['title', 'text'],
  ['cost_center', 'text'],
  ['location', 'text'],
  ['time_zone', 'text'],
  ['manager_employee_id', 'text'],
  ['worker_type', 'text'],
  ['hr_status', 'text'],
  ['status', 'text'],
  ['hire_date', 'date'],
  ['termination_date', 'text'],
  ['termination_at', 'timestamptz'],
  ['attributes', 'jsonb'],
  ['username', 'text'],
  ['work_email', 'text'],
  ['display_name', 'text'],
  ['hr_hash', 'text'],
  ['search_text', 'text'],
  ['row_hash', 'text'],
  ['personal_email', 'text'],
  ['mobile_phone', 'text'],
  ['birth_date', 'date'],
] as const;
const STAGE_COLUMNS = STAGE.map(([c]) => c);
const STAGE_TYPES = STAGE.map(([, t]) => t);

/** people's own columns, in STAGE_COLUMNS order (without `is_new` and the personal columns at the end). */
const PERSONAL_COLUMNS: readonly string[] = ['personal_email', 'mobile_phone', 'birth_date'];
const PEOPLE_COLUMNS = STAGE_COLUMNS.filter((c) => c !== 'is_new' && !PERSONAL_COLUMNS.includes(c));
/** Where the personal columns start in a stage row. */
const PERSONAL_AT = STAGE_COLUMNS.indexOf('personal_email');

/** The record's fields as stored, by HR field name (personal ones wrapped for the audit trail). */
function auditFields(r: Partial<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    out[k] =
      (PERSONAL_FIELDS as readonly string[]).includes(k) && v !== null && v !== undefined ? personal(v) : v;
  }
  return out;
}

function changesToAudit(events: DetectedEvent[]): {
  before: Record<string, unknown>;
  after: Record<string, unknown>;
} {
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  for (const e of events)
    for (const [k, c] of Object.entries(e.changes ?? {})) {
      before[k] = c.from;
      after[k] = c.to;
    }
  return { before: auditFields(before), after: auditFields(after) };
}

/**
 * Apply a plan in the caller's transaction: people upserted set-based (COPY into a staging table, then one INSERT
 * and one UPDATE), names allocated for newcomers, events stored and published, superseded scheduled events
 * cancelled, one audit event per changed person, duplicates flagged. All or nothing.
 */
export async function applyPlan(
  tx: Tx,
  ctx: CommandContext,
  deps: ApplyDeps,
  source: HrSource,
  plan: ImportPlan,
  importId: string,
): Promise<ApplyResult> {
  // Rows are sent without waiting for each load: Node builds the next ones (and the audit trail) meanwhile.
  const writes = new WriteBehind(tx);
  try {
    return await applyWith(writes, tx, ctx, deps, source, plan, importId);
  } catch (e) {
    // Before the caller rolls back: nothing queued may start after that, outside the transaction.
    await writes.abandon();
    throw e;
  }
}

async function applyWith(
  writes: WriteBehind,
  tx: Tx,
  ctx: CommandContext,
  deps: ApplyDeps,
  source: HrSource,
  plan: ImportPlan,
  importId: string,
): Promise<ApplyResult> {
  const now = ctx.clock.now();
  const changes = plan.changes.filter((c) => c.record !== null || c.before !== null);
  // A bulk import merges thousands of trigram entries into the search index: with more sort memory the GIN
  // pending-list cleanup works in a few large sorted batches instead of many small ones.
  if (changes.length >= 1000) await tx.client.query(`set local work_mem = '128MB'`);
  const ids = new Map<PersonChange, string>();
  for (const c of changes) ids.set(c, c.before?.id ?? ctx.ids());

  // Names for people who need them: newcomers who are not terminated on arrival.
  const needNames = changes.filter((c) => c.before === null && c.record && c.status !== 'terminated');
  const names = await allocateNames(
    tx,
    needNames.map((c) => ({ personId: ids.get(c)!, ...namingPersonOf(c.record!) })),
    deps.naming,
    now,
    writes,
    deps.namesAhead,
  );

  const withRecord = changes.filter((c) => c.record !== null);
  /** The stored form of a change's record: STAGE_COLUMNS order. */
  const stageRow = (c: PersonChange) => {
    const r = c.record!;
    const id = ids.get(c)!;
    const n = names.get(id);
    return [
      id,
      c.before === null,
      r.employeeId,
      r.firstName,
      r.lastName,
      r.preferredName,
      r.department,
      r.title,
      r.costCenter,
      r.location,
      r.timeZone,
      r.managerId,
      r.workerType,
      r.status,
      c.status,
      r.hireDate,
      r.terminationDate,
      c.terminationAt,
      r.attributes,
      n?.username ?? null,
      n?.workEmail ?? null,
      n?.displayName ?? `${r.preferredName ?? r.firstName} ${r.lastName}`,
      c.hash,
      searchTextOf({ ...r, username: n?.username ?? null }), // an existing person's username is added below
      c.rowHash,
      r.personalEmail,
      r.mobilePhone,
      r.birthDate,
    ];
  };

  // Newcomers: straight into their tables with COPY (rows are built while PostgreSQL loads the previous chunk).
  const newcomers = withRecord.filter((c) => c.before === null);
  if (newcomers.length) {
    writes.add(() =>
      copyRows(
        tx.client,
        'people',
        [...PEOPLE_COLUMNS, 'source_id', 'created_at', 'updated_at'],
        (function* () {
          for (const c of newcomers) {
            const row = stageRow(c);
            yield [row[0], ...row.slice(2, PERSONAL_AT), source.id, now, now];
          }
        })(),
      ),
    );
    // A newcomer without personal values has no row there (every reader joins it as optional).
    const withPersonal = newcomers.filter((c) => hasPersonal(c.record!));
    if (withPersonal.length)
      writes.add(() =>
        copyRows(
          tx.client,
          'person_personal',
          ['person_id', 'personal_email', 'mobile_phone', 'birth_date'],
          (function* () {
            for (const c of withPersonal) {
              const r = c.record!;
              yield [ids.get(c)!, r.personalEmail, r.mobilePhone, r.birthDate];
            }
          })(),
        ),
      );
  }

  // People already stored: staged, then one UPDATE and one upsert of their personal data.
  const known = withRecord.filter((c) => c.before !== null);
  let updated: Promise<{ rowCount: number | null }> | null = null;
  if (known.length) {
    writes.add(() =>
      tx.client.query(
        `create temp table hr_stage (${STAGE.map(([c, t]) => `${c} ${t}`).join(', ')}) on commit drop`,
      ),
    );
    writes.add(() => copyRows(tx.client, 'hr_stage', STAGE_COLUMNS, known.map(stageRow), STAGE_TYPES));
    updated = writes.run(() =>
      tx.client.query(
        `update people p set employee_id = s.employee_id, first_name = s.first_name, last_name = s.last_name,
         preferred_name = s.preferred_name, department = s.department, title = s.title, cost_center = s.cost_center,
         location = s.location, time_zone = s.time_zone, manager_employee_id = s.manager_employee_id,
         worker_type = s.worker_type, hr_status = s.hr_status, status = s.status, hire_date = s.hire_date,
         termination_date = s.termination_date, termination_at = s.termination_at, attributes = s.attributes,
         hr_hash = s.hr_hash, row_hash = s.row_hash, search_text = s.search_text || coalesce(' ' || p.username, ''), version = p.version + 1, updated_at = $1
       from hr_stage s where s.id = p.id`,
        [now],
      ),
    );
    writes.add(() =>
      tx.client.query(
        `insert into person_personal (person_id, personal_email, mobile_phone, birth_date)
       select id, personal_email, mobile_phone, birth_date from hr_stage
       on conflict (person_id) do update set personal_email = excluded.personal_email,
         mobile_phone = excluded.mobile_phone, birth_date = excluded.birth_date`,
      ),
    );
  }
  if (plan.rowHashRefresh.length)
    writes.add(() =>
      tx.client.query(
        `update people p set row_hash = r.row_hash from unnest($1::uuid[], $2::text[]) as r(id, row_hash)
         where p.id = r.id`,
        [plan.rowHashRefresh.map((r) => r.id), plan.rowHashRefresh.map((r) => r.rowHash)],
      ),
    );
  // Missing from a full export: terminated now.
  const gone = changes.filter((c) => c.record === null).map((c) => ids.get(c)!);
  if (gone.length)
    writes.add(() =>
      tx.client.query(
        `update people set status = 'terminated', termination_at = $2, version = version + 1, updated_at = $2
         where id = any($1::uuid[])`,
        [gone, now],
      ),
    );

  // Scheduled events that this import supersedes: a moved or cancelled termination, a moved hire date, a rehire.
  const cancelTypes = new Map<string, string[]>();
  for (const c of changes) {
    const b = c.before;
    if (!b) continue;
    const r = c.record;
    const types: string[] = [];
    if (
      !r ||
      r.terminationDate !== b.terminationDate ||
      c.events.some((e) => e.type === 'rehire' || e.type === 'leaver')
    )
      types.push('leaver');
    if (r && r.hireDate !== b.hireDate) types.push('joiner', 'rehire', 'start');
    if (types.length) cancelTypes.set(ids.get(c)!, types);
  }
  const cancelled = new Map<string, Set<string>>();
  if (cancelTypes.size) {
    const res = await writes.run(() =>
      tx.client.query<{ person_id: string; type: string }>(
        `update lifecycle_events e set state = 'cancelled', done_at = $3
       from unnest($1::uuid[], $2::text[]) as c(person_id, types)
       where e.person_id = c.person_id and e.state = 'scheduled' and e.effective_at > $3
         and e.type = any(string_to_array(c.types, ','))
       returning e.person_id, e.type`,
        [[...cancelTypes.keys()], [...cancelTypes.values()].map((t) => t.join(',')), now],
      ),
    );
    for (const r of res.rows)
      cancelled.set(r.person_id, (cancelled.get(r.person_id) ?? new Set()).add(r.type));
  }

  // Events: stored, and published to the queue (future ones with startAfter).
  const eventRows: (string | Date | object | null)[][] = [];
  /** Events that take effect at the same instant share jobs (up to JOB_BATCH each): a bulk import stays cheap. */
  const byInstant = new Map<number, { id: string; row: (string | Date | object | null)[] }[]>();
  let scheduled = 0;
  const addEvent = (personId: string, type: string, changesOf: object | null, effectiveAt: Date) => {
    const id = ctx.ids();
    const future = effectiveAt.getTime() > now.getTime();
    if (future) scheduled += 1;
    const row = [
      id,
      personId,
      type,
      changesOf,
      effectiveAt,
      future ? 'scheduled' : 'pending',
      importId,
      null,
      now,
    ];
    eventRows.push(row);
    const at = future ? effectiveAt.getTime() : now.getTime();
    const list = byInstant.get(at) ?? [];
    list.push({ id, row });
    byInstant.set(at, list);
  };
  await forEachSliced(changes, (c) => {
    const personId = ids.get(c)!;
    for (const e of c.events)
      addEvent(personId, e.type, storedChanges(e), e.effectiveAt ? new Date(e.effectiveAt) : now);
    // A joiner still waiting for its lead time when the hire date moved: scheduled again for the new date.
    const wasWaiting = [...(cancelled.get(personId) ?? [])].find((t) => t === 'joiner' || t === 'rehire');
    if (wasWaiting && c.record && c.status === 'prehire' && !c.events.some((e) => e.type === wasWaiting)) {
      const at = joinerInstant(c.record, source.leadTimeDays, source.defaultTimeZone);
      addEvent(personId, wasWaiting, null, at && at.getTime() > now.getTime() ? at : now);
    }
    // A future start: accounts exist (disabled) from the joiner event; the start enables them on the day.
    const r = c.record;
    const b = c.before;
    if (
      r &&
      c.status === 'prehire' &&
      (!b || b.hireDate !== r.hireDate || b.currentStatus === 'terminated')
    ) {
      const start = hireStartInstant(r, source.defaultTimeZone);
      if (start && start.getTime() > now.getTime()) addEvent(personId, 'start', null, start);
    }
  });
  const jobs: { data: { eventIds: string[] }; startAfter?: Date; id: string }[] = [];
  for (const [at, list] of byInstant)
    for (let i = 0; i < list.length; i += JOB_BATCH) {
      const part = list.slice(i, i + JOB_BATCH);
      const jobId = ctx.ids();
      for (const e of part) e.row[7] = jobId;
      jobs.push({
        id: jobId,
        data: { eventIds: part.map((e) => e.id) },
        ...(at > now.getTime() ? { startAfter: new Date(at) } : {}),
      });
    }
  if (eventRows.length) {
    writes.add(() =>
      copyRows(
        tx.client,
        'lifecycle_events',
        ['id', 'person_id', 'type', 'changes', 'effective_at', 'state', 'import_id', 'job_id', 'created_at'],
        eventRows,
      ),
    );
    // Nothing after them reads the jobs: the audit trail need not wait for pg-boss to send them.
    for (let i = 0; i < jobs.length; i += 5000)
      writes.add(() => deps.jobs.sendMany(LIFECYCLE_QUEUE, jobs.slice(i, i + 5000), { tx }), {
        unordered: true,
      });
  }

  // Leavers effective now give their names back (reusable after the embargo).
  const leftNow = changes
    .filter((c) => c.before && c.before.currentStatus !== 'terminated' && c.status === 'terminated')
    .map((c) => ids.get(c)!);
  if (leftNow.length) writes.add(() => releaseNames(tx, leftNow, now, deps.naming));

  // One audit event per changed person, in the same transaction: prepared while PostgreSQL loads the rows above,
  // then linked into the chain under its lock once they are in.
  const audit: PreparedAudit[] = [];
  await forEachSliced(changes, (c) => {
    const personId = ids.get(c)!;
    const types = c.events.map((e) => e.type);
    const reason = `HR import from ${source.name}${c.row && !deps.correlationOf ? ` (row ${c.row})` : ''}${types.length ? `: ${types.join(', ')}` : ''}`;
    const correlationId = c.row === null ? undefined : deps.correlationOf?.(c.row);
    const request = correlationId ? { correlationId } : {};
    if (!c.before && c.record) {
      const n = names.get(personId);
      audit.push(
        prepareAudit(ctx, {
          action: 'person.created',
          subject: { type: 'person', id: personId },
          after: { ...auditFields(recordFields(c.record)), status: c.status, ...(n ?? {}) },
          reason,
          dataSubject: `person:${personId}`,
          ...request,
        }),
      );
    } else {
      const { before, after } = changesToAudit(c.events);
      if (c.before && c.before.currentStatus !== c.status) {
        before.status = c.before.currentStatus;
        after.status = c.status;
      }
      if (c.strongMatch && c.before && c.record) {
        before.employee_id = c.before.employeeId;
        after.employee_id = c.record.employeeId;
      }
      audit.push(
        prepareAudit(ctx, {
          action: 'person.updated',
          subject: { type: 'person', id: personId },
          before,
          after,
          reason,
          dataSubject: `person:${personId}`,
          ...request,
        }),
      );
    }
  });
  await appendPrepared(tx, ctx, audit, writes);

  // A likely duplicate shares a personal email, mobile or birth date: newcomers with none of them cannot be one.
  const newIds = withRecord
    .filter((c) => c.before === null && hasPersonal(c.record!))
    .map((c) => ids.get(c)!);
  const duplicatesFlagged = await flagDuplicates(tx, newIds, now, ctx.ids);
  const personIds = new Map<number, string>();
  for (const c of changes) if (c.row !== null) personIds.set(c.row, ids.get(c)!);
  return {
    personIds,
    created: newcomers.length,
    updated: ((updated ? (await updated).rowCount : 0) ?? 0) + gone.length,
    events: eventRows.length,
    scheduled,
    duplicatesFlagged,
  };
}

/** The record has a personal value (email, mobile or birth date). */
function hasPersonal(r: HrRecord): boolean {
  return Boolean(r.personalEmail || r.mobilePhone || r.birthDate);
}

/**
 * What an event keeps of its changes: a joiner's are the whole record (already on the person), and personal values
 * stay in person_personal and the audit trail (erasable), so the event only says that they changed.
 */
function storedChanges(e: DetectedEvent): Record<string, { from: string | null; to: string | null }> | null {
  if (e.type === 'joiner' || !e.changes) return null;
  const out: Record<string, { from: string | null; to: string | null }> = {};
  for (const [k, v] of Object.entries(e.changes))
    out[k] = (PERSONAL_FIELDS as readonly string[]).includes(k)
      ? { from: v.from === null ? null : '[personal]', to: v.to === null ? null : '[personal]' }
      : v;
  return out;
}

/** What a person's names are made of, from their record. */
export function namingPersonOf(r: HrRecord): Omit<NamingPerson, 'personId'> {
  return {
    first: r.preferredName ?? r.firstName,
    last: r.lastName,
    legalFirst: r.firstName,
    employeeId: r.employeeId,
  };
}

/** The record as HR field name → value (for the audit trail and previews). */
export function recordFields(r: HrRecord): Record<string, unknown> {
  return {
    employee_id: r.employeeId,
    first_name: r.firstName,
    last_name: r.lastName,
    preferred_name: r.preferredName,
    personal_email: r.personalEmail,
    mobile_phone: r.mobilePhone,
    birth_date: r.birthDate,
    department: r.department,
    title: r.title,
    cost_center: r.costCenter,
    location: r.location,
    time_zone: r.timeZone,
    manager_id: r.managerId,
    worker_type: r.workerType,
    status: r.status,
    hire_date: r.hireDate,
    termination_date: r.terminationDate,
    attributes: r.attributes,
  };
}
