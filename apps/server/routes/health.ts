import { z } from 'zod';
import { readiness } from '../../../src/runtime/index.ts';
import type { AppDeps, Router } from '../app.ts';

const check = z.object({ ok: z.boolean(), detail: z.string().optional() });

export async function healthRoutes(app: Router, deps: AppDeps): Promise<void> {
  app.get(
    '/healthz',
    {
      config: { scope: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process is up',
        security: [],
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    {
      config: { scope: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Readiness: database reachable, migrations current, workers running',
        security: [],
        response: {
          200: z.object({ status: z.literal('ready'), checks: z.record(z.string(), check) }),
          503: z.object({ status: z.literal('not_ready'), checks: z.record(z.string(), check) }),
        },
      },
    },
    async (_req, reply) => {
      const r = await readiness(deps, deps.workers);
      if (r.ready) return { status: 'ready' as const, checks: r.checks };
      return reply.code(503).send({ status: 'not_ready' as const, checks: r.checks });
    },
  );
}
