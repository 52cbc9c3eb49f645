import { uuid } from '../kit/ids.ts';
import type { QueueDefinition } from '../jobs/index.ts';
import { reconcileTarget } from './run.ts';

export const RECONCILE_QUEUE = 'reconcile.run';

export interface ReconcileJob {
  target: string;
  force?: boolean;
  mode?: 'full' | 'incremental';
  trigger?: 'manual' | 'schedule';
  /** Who asked (shown as the run's starter). */
  by?: string;
}

/**
 * Runs a reconciliation in a worker (the console's "Reconcile now" and schedules): it commits its own work in its
 * own transactions, so the job's transaction only marks the job done. One job per target at a time.
 */
export const reconcileQueue: QueueDefinition<ReconcileJob> = {
  name: RECONCILE_QUEUE,
  description: 'Reconcile a target: read every account, correlate, refresh findings',
  policy: { retryLimit: 0, expireInSeconds: 4 * 3600 },
  async handle(jobs, ctx) {
    if (!ctx.secrets) throw new Error('the reconcile queue needs the secret box (Jobs.secrets)');
    for (const job of jobs)
      await reconcileTarget(
        {
          database: ctx.database,
          secrets: ctx.secrets,
          log: ctx.log,
          clock: ctx.clock,
          ids: uuid,
        },
        {
          actor: { type: 'worker', id: 'reconcile', name: job.data.by ?? 'reconciliation' },
          clock: ctx.clock,
          ids: uuid,
        },
        {
          target: job.data.target,
          mode: job.data.mode ?? 'full',
          force: job.data.force ?? false,
          trigger: job.data.trigger ?? 'manual',
        },
      );
  },
};
