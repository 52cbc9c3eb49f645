import type { Job } from 'pg-boss';
import { appendAudit } from '../audit/index.ts';
import type { QueueDefinition } from '../jobs/index.ts';
import type { CommandContext } from '../kit/context.ts';
import { uuid } from '../kit/ids.ts';
import { getNamingPolicy } from '../naming/policy.ts';
import { releaseNames } from '../naming/registry.ts';
import { planForHrEvents } from '../provisioning/plan.ts';

export const LIFECYCLE_QUEUE = 'lifecycle.event';

/** A lifecycle job carries the events that take effect at the same instant. */
export interface LifecycleJob {
  eventIds: string[];
}

export interface LifecycleEventView {
  id: string;
  personId: string;
  type: string;
  changes: Record<string, { from: string | null; to: string | null }> | null;
  effectiveAt: string;
  state: 'scheduled' | 'pending' | 'done' | 'cancelled';
  importId: string | null;
  createdAt: string;
  doneAt: string | null;
}

interface EventRow {
  id: string;
  person_id: string;
  type: string;
  changes: LifecycleEventView['changes'];
  effective_at: Date;
  state: LifecycleEventView['state'];
  import_id: string | null;
  created_at: Date;
  done_at: Date | null;
}

export function eventView(r: EventRow): LifecycleEventView {
  return {
    id: r.id,
    personId: r.person_id,
    type: r.type,
    changes: r.changes,
    effectiveAt: r.effective_at.toISOString(),
    state: r.state,
    importId: r.import_id,
    createdAt: r.created_at.toISOString(),
    doneAt: r.done_at?.toISOString() ?? null,
  };
}

export async function listPersonEvents(
  db: { query: (text: string, values?: unknown[]) => Promise<{ rows: unknown[] }> },
  personIds: string[],
): Promise<LifecycleEventView[]> {
  const r = await db.query(
    `select id, person_id, type, changes, effective_at, state, import_id, created_at, done_at
     from lifecycle_events where person_id = any($1::uuid[]) order by effective_at desc, created_at desc limit 500`,
    [personIds],
  );
  return (r.rows as EventRow[]).map(eventView);
}

/**
 * The lifecycle queue: one job per event, run when it takes effect. This work is the person's own state
 * (a prehire becomes active on the start day; a scheduled leaver is terminated and their names released);
 * then the people concerned are recomputed by provisioning in the same transaction.
 */
export const lifecycleQueue: QueueDefinition<LifecycleJob> = {
  name: LIFECYCLE_QUEUE,
  description: 'Lifecycle events (joiner, mover, leaver, …) when they take effect',
  policy: { retryLimit: 5, retryDelaySeconds: 10, expireInSeconds: 600 },
  batchSize: 10,
  async handle(jobs: Job<LifecycleJob>[], { tx, clock, jobs: queue }) {
    const now = clock.now();
    const ctx: CommandContext = {
      actor: { type: 'system', id: 'lifecycle', name: 'lifecycle scheduler' },
      clock,
      ids: uuid,
    };
    const ids = jobs.flatMap((j) => j.data.eventIds ?? []);
    const res = await tx.client.query<EventRow>(
      `select id, person_id, type, changes, effective_at, state, import_id, created_at, done_at
       from lifecycle_events where id = any($1::uuid[]) and state in ('scheduled', 'pending') for update`,
      [ids],
    );
    const terminated: string[] = [];
    for (const e of res.rows) {
      if (e.type === 'start') {
        const r = await tx.client.query<{ status: string }>(
          `update people set status = 'active', version = version + 1, updated_at = $2
           where id = $1 and status = 'prehire' returning status`,
          [e.person_id, now],
        );
        if (r.rowCount)
          await appendAudit(tx, ctx, {
            action: 'person.updated',
            subject: { type: 'person', id: e.person_id },
            before: { status: 'prehire' },
            after: { status: 'active' },
            reason: 'start date reached',
            dataSubject: `person:${e.person_id}`,
          });
      } else if (e.type === 'leaver') {
        const r = await tx.client.query<{ before: string }>(
          `update people p set status = 'terminated', version = p.version + 1, updated_at = $2
           from people old where p.id = $1 and old.id = p.id and p.status <> 'terminated' returning old.status as before`,
          [e.person_id, now],
        );
        if (r.rowCount) {
          terminated.push(e.person_id);
          await appendAudit(tx, ctx, {
            action: 'person.updated',
            subject: { type: 'person', id: e.person_id },
            before: { status: r.rows[0]?.before },
            after: { status: 'terminated' },
            reason: 'termination date reached',
            dataSubject: `person:${e.person_id}`,
          });
        }
      }
    }
    if (terminated.length) await releaseNames(tx, terminated, now, await getNamingPolicy(tx));
    await tx.client.query(
      `update lifecycle_events set state = 'done', done_at = $2 where id = any($1::uuid[])`,
      [res.rows.map((e) => e.id), now],
    );
    // Provisioning: the people concerned are recomputed, in this transaction (one change set for the batch).
    await planForHrEvents(
      tx,
      ctx,
      { jobs: queue },
      res.rows.map((e) => ({
        id: e.id,
        personId: e.person_id,
        type: e.type,
        effectiveAt: e.effective_at,
        createdAt: e.created_at,
      })),
    );
  },
};
