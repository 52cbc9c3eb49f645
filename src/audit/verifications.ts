import { eq } from 'drizzle-orm';
import type { Job } from 'pg-boss';
import type { Database, Tx } from '../db/pool.ts';
import type { Jobs, QueueDefinition } from '../jobs/index.ts';
import type { CommandContext } from '../kit/context.ts';
import { GatehouseError, describeError } from '../kit/errors.ts';
import { uuid } from '../kit/ids.ts';
import { auditVerifications } from './schema.ts';
import { appendAudit, verifyChain, type VerifyResult } from './store.ts';

export const VERIFY_QUEUE = 'audit.verify';

export interface VerificationView {
  id: string;
  state: 'running' | 'done' | 'failed';
  checked: number;
  total: number;
  startedAt: string;
  startedBy: string;
  finishedAt: string | null;
  result: VerifyResult | null;
  error: string | null;
}

function view(r: typeof auditVerifications.$inferSelect): VerificationView {
  return {
    id: r.id,
    state: r.state,
    checked: r.checked,
    total: r.total,
    startedAt: r.startedAt.toISOString(),
    startedBy: r.startedBy,
    finishedAt: r.finishedAt?.toISOString() ?? null,
    result: (r.result as VerifyResult | null) ?? null,
    error: r.error,
  };
}

/** Start a verification in the background (enqueued in the same transaction as its record). */
export async function startVerification(tx: Tx, ctx: CommandContext, jobs: Jobs): Promise<string> {
  const id = ctx.ids();
  await tx.db.insert(auditVerifications).values({
    id,
    state: 'running',
    startedAt: ctx.clock.now(),
    startedBy: `${ctx.actor.type}:${ctx.actor.name ?? ctx.actor.id}`,
  });
  await jobs.send(
    VERIFY_QUEUE,
    { verificationId: id, actor: ctx.actor, correlationId: ctx.correlationId ?? null },
    { tx },
  );
  return id;
}

export async function getVerification(database: Pick<Database, 'db'>, id: string): Promise<VerificationView> {
  const [r] = await database.db.select().from(auditVerifications).where(eq(auditVerifications.id, id));
  if (!r)
    throw new GatehouseError('audit_verification_not_found', `no audit verification with id ${id}`, {
      status: 404,
    });
  return view(r);
}

interface VerifyJob {
  verificationId: string;
  actor: CommandContext['actor'];
  correlationId: string | null;
}

export const verifyQueue: QueueDefinition<VerifyJob> = {
  name: VERIFY_QUEUE,
  description: 'Verify the audit hash chain, recording progress for the console',
  policy: { retryLimit: 1, retryDelaySeconds: 5, expireInSeconds: 3600 },
  async handle(jobs: Job<VerifyJob>[], ctx) {
    for (const job of jobs) {
      const id = job.data.verificationId;
      // Progress goes through the pool (visible at once); the outcome commits with the job.
      let lastWrite = 0;
      try {
        const result = await verifyChain(ctx.database, {
          batchSize: 2000,
          onProgress: (checked, total) => {
            const now = Date.now();
            if (now - lastWrite < 250 && checked < total) return;
            lastWrite = now;
            void ctx.database.db
              .update(auditVerifications)
              .set({ checked, total })
              .where(eq(auditVerifications.id, id))
              .catch(() => undefined);
          },
        });
        await ctx.tx.db
          .update(auditVerifications)
          .set({
            state: 'done',
            checked: result.checked,
            total: Math.max(result.checked, 0),
            finishedAt: ctx.clock.now(),
            result,
          })
          .where(eq(auditVerifications.id, id));
        await appendAudit(
          ctx.tx,
          {
            actor: job.data.actor,
            clock: ctx.clock,
            ids: uuid,
            ...(job.data.correlationId ? { correlationId: job.data.correlationId } : {}),
          },
          {
            action: 'audit.chain_verified',
            subject: { type: 'audit_chain', id: 'main' },
            after: {
              ok: result.ok,
              checked: result.checked,
              head: result.head,
              ...(result.firstBroken
                ? { firstBroken: { seq: result.firstBroken.seq, reason: result.firstBroken.reason } }
                : {}),
            },
          },
        );
      } catch (e) {
        await ctx.database.db
          .update(auditVerifications)
          .set({ state: 'failed', finishedAt: ctx.clock.now(), error: describeError(e) })
          .where(eq(auditVerifications.id, id));
        throw e;
      }
    }
  },
};
