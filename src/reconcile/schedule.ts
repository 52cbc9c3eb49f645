/**
 * Scheduled reconciliations: one cron schedule per target (pg-boss keeps it; any worker runs it), audited. A
 * schedule of a target that no longer exists simply fails its run with "no target named …".
 */
import { appendAudit } from '../audit/index.ts';
import { transaction, type Database } from '../db/index.ts';
import type { Jobs } from '../jobs/index.ts';
import type { CommandContext } from '../kit/context.ts';
import { GatehouseError, describeError } from '../kit/errors.ts';
import { getTarget } from '../targets/index.ts';
import { ReconErrors } from './errors.ts';
import { RECONCILE_QUEUE, type ReconcileJob } from './queue.ts';

export interface ScheduleInput {
  cron: string;
  timeZone: string;
  mode: 'full' | 'incremental';
}

export interface ScheduleView extends ScheduleInput {
  target: string;
  /** The next three runs. */
  next: string[];
}

type Deps = {
  database: Pick<Database, 'pool'>;
  jobs: Pick<Jobs, 'schedule' | 'unschedule' | 'schedules' | 'previewSchedule'>;
};

/** Set (or with null, remove) the schedule of a target's reconciliation. */
export async function setReconcileSchedule(
  deps: Deps,
  ctx: CommandContext,
  targetName: string,
  input: ScheduleInput | null,
): Promise<ScheduleView | null> {
  const target = await getTarget(deps.database.pool, targetName);
  if (input) await checkSchedule(deps, input);
  // Audited in the same transaction as the change: if pg-boss refuses, no audit event says it happened.
  await transaction(deps.database, async (tx) => {
    await appendAudit(tx, ctx, {
      action: input ? 'recon.scheduled' : 'recon.unscheduled',
      subject: { type: 'target', id: target.id },
      after: input ? { ...input } : null,
    });
    if (!input) await deps.jobs.unschedule(RECONCILE_QUEUE, target.name);
    else {
      const data: ReconcileJob = {
        target: target.name,
        mode: input.mode,
        trigger: 'schedule',
        by: 'schedule',
      };
      await deps.jobs.schedule(RECONCILE_QUEUE, input.cron, data, {
        timeZone: input.timeZone,
        key: target.name,
      });
    }
  });
  return input ? ((await listReconcileSchedules(deps)).find((s) => s.target === target.name) ?? null) : null;
}

export async function listReconcileSchedules(deps: Deps): Promise<ScheduleView[]> {
  const all = (await deps.jobs.schedules()).filter((s) => s.name === RECONCILE_QUEUE);
  const out: ScheduleView[] = [];
  for (const s of all) {
    const next = await deps.jobs.previewSchedule(s.cron, s.timezone, 3);
    out.push({
      target: s.key,
      cron: s.cron,
      timeZone: s.timezone,
      mode: (s.data as Partial<ReconcileJob>).mode ?? 'full',
      next: next.map((d) => d.toISOString()),
    });
  }
  return out.sort((a, b) => a.target.localeCompare(b.target));
}

/** A zone the runtime knows, a cron expression pg-boss can read, and at most one run per 15 minutes. */
async function checkSchedule(deps: Deps, input: ScheduleInput): Promise<void> {
  const invalid = (field: string, message: string, value: string) =>
    new GatehouseError(ReconErrors.invalid, `the schedule is not valid: ${field}: ${message}`, {
      status: 400,
      problems: [{ field, message, value }],
    });
  try {
    new Intl.DateTimeFormat('en', { timeZone: input.timeZone });
  } catch {
    throw invalid('timeZone', 'not an IANA time zone (e.g. Europe/Berlin, UTC)', input.timeZone);
  }
  let next: Date[];
  try {
    next = await deps.jobs.previewSchedule(input.cron, input.timeZone, 3);
  } catch (e) {
    throw invalid(
      'cron',
      `cannot be read (${describeError(e)}): five fields are needed — minute, hour, day of month, month, day of ` +
        `week — for example "0 2 * * *" for every night at 02:00`,
      input.cron,
    );
  }
  if (next.length >= 2 && next[1]!.getTime() - next[0]!.getTime() < 15 * 60_000)
    throw invalid(
      'cron',
      'runs more often than every 15 minutes. Choose at most one run every 15 minutes, for example "0 * * * *" for every hour',
      input.cron,
    );
}
