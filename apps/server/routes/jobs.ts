import { z } from 'zod';
import { probeReport, sendProbes } from '../../../src/system/index.ts';
import type { AppDeps, Router } from '../app.ts';

/** One queue's backlog (also on the dashboard). */
export const queueStats = z.object({
  name: z.string(),
  queued: z.number(),
  active: z.number(),
  deferred: z.number(),
  total: z.number(),
});

export const probeReportSchema = z.object({
  batch: z.string(),
  expected: z.number().int(),
  done: z.number().int(),
  distinctJobs: z.number().int(),
  byWorker: z.record(z.string(), z.number().int()),
  latencyMs: z.object({ p50: z.number(), p95: z.number(), max: z.number() }).nullable(),
});

export async function jobRoutes(app: Router, deps: AppDeps): Promise<void> {
  app.get(
    '/jobs/queues',
    {
      config: { scope: 'jobs:read' },
      schema: {
        tags: ['jobs'],
        summary: 'Job queues and their backlog',
        response: {
          200: z.object({
            items: z.array(queueStats),
          }),
        },
      },
    },
    async () => ({ items: await deps.jobs.stats() }),
  );
  app.post(
    '/jobs/probe',
    {
      config: { scope: 'jobs:write' },
      schema: {
        tags: ['jobs'],
        summary: 'Send a batch of probe jobs through the queue; poll the report to see them done',
        body: z.object({ count: z.number().int().min(1).max(100_000).default(10) }),
        response: { 202: z.object({ batch: z.string(), count: z.number().int() }) },
      },
    },
    async (req, reply) => {
      const batch = await sendProbes(deps.jobs, deps.clock, req.body.count);
      return reply.code(202).send({ batch, count: req.body.count });
    },
  );
  app.get(
    '/jobs/probe/:batch',
    {
      config: { scope: 'jobs:read' },
      schema: {
        tags: ['jobs'],
        summary: 'How far a probe batch has got',
        params: z.object({ batch: z.uuid() }),
        querystring: z.object({ expected: z.coerce.number().int().min(0).default(0) }),
        response: { 200: probeReportSchema },
      },
    },
    async (req) => probeReport(deps.database, req.params.batch, req.query.expected),
  );
}
