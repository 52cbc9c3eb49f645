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
  if (!input) {
    await deps.jobs.unschedule(RECONCILE_QUEUE, target.name);
  } else {
    let next: Date[];
    try {
      next = await deps.jobs.previewSchedule(input.cron, input.timeZone, 3);
    } catch (e) {
      throw new GatehouseError(ReconErrors.invalid, `the schedule is not valid: ${describeError(e)}`, {
        status: 400,
        problems: [{ field: 'cron', message: describeError(e), value: input.cron }],
      });
    }
    if (next.length >= 2 && next[1]!.getTime() - next[0]!.getTime() < 15 * 60_000)
      throw new GatehouseError(ReconErrors.invalid, 'reconcile at most every 15 minutes', {
        status: 400,
        problems: [{ field: 'cron', message: 'runs more often than every 15 minutes', value: input.cron }],
      });
    const data: ReconcileJob = { target: target.name, mode: input.mode, trigger: 'schedule', by: 'schedule' };
    await deps.jobs.schedule(RECONCILE_QUEUE, input.cron, data, {
      timeZone: input.timeZone,
      key: target.name,
    });
  }
  await transaction(deps.database, (tx) =>
    appendAudit(tx, ctx, {
      action: input ? 'recon.scheduled' : 'recon.unscheduled',
      subject: { type: 'target', id: target.id },
      after: input ? { ...input } : null,
    }),
  );
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
