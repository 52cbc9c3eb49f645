import { uuid } from '../kit/ids.ts';
import type { QueueDefinition } from '../jobs/index.ts';
import type { CommandContext } from '../kit/context.ts';
import { PLAN_QUEUE, planAndRecord } from './plan.ts';

export interface PlanJob {
  personIds: string[];
  reason?: string;
}

/** Scheduled recomputes (the end of a quarantine, an assignment's expiry): plan and record, like an HR event. */
export const planQueue: QueueDefinition<PlanJob> = {
  name: PLAN_QUEUE,
  description: 'Recompute people at a scheduled time (end of quarantine, expiring assignments)',
  policy: { retryLimit: 5, retryDelaySeconds: 10, expireInSeconds: 900 },
  batchSize: 50,
  async handle(jobs, { tx, clock, jobs: queue }) {
    const ctx: CommandContext = {
      actor: { type: 'system', id: 'provisioning', name: 'provisioning scheduler' },
      clock,
      ids: uuid,
    };
    const personIds = [...new Set(jobs.flatMap((j) => j.data.personIds ?? []))];
    const reasons = [...new Set(jobs.map((j) => j.data.reason).filter(Boolean))];
    await planAndRecord(
      tx,
      ctx,
      { jobs: queue },
      personIds,
      `Scheduled: ${reasons.join(', ') || 'recompute'}`,
      {
        trigger: 'schedule',
      },
    );
  },
};
