import { z } from 'zod';
import { auditStats } from '../../../src/audit/index.ts';
import { operatorStats } from '../../../src/operators/index.ts';
import { readiness } from '../../../src/runtime/index.ts';
import { tokenStats } from '../../../src/tokens/index.ts';
import type { AppDeps, Router } from '../app.ts';
import { queueStats } from './jobs.ts';

const check = z.object({ ok: z.boolean(), detail: z.string().optional() });

export async function dashboardRoutes(app: Router, deps: AppDeps): Promise<void> {
  app.get(
    '/dashboard',
    {
      config: { scope: 'authenticated' },
      schema: {
        tags: ['system'],
        summary: 'Figures for the console dashboard',
        response: {
          200: z.object({
            operators: z.object({
              total: z.number(),
              active: z.number(),
              lockedOut: z.number(),
              withoutMfa: z.number(),
            }),
            tokens: z.object({ active: z.number(), expiringSoon: z.number() }),
            audit: z.object({ events: z.number(), last24h: z.number() }),
            jobs: z.array(queueStats),
            health: z.object({ ready: z.boolean(), checks: z.record(z.string(), check) }),
            system: z.object({ version: z.string(), database: z.string(), postgresVersion: z.string() }),
          }),
        },
      },
    },
    async () => {
      const now = deps.clock.now();
      const [operators, tokens, audit, jobs, health, pg] = await Promise.all([
        operatorStats(deps.database, now),
        tokenStats(deps.database, now),
        auditStats(deps.database, now),
        deps.jobs.isStarted ? deps.jobs.stats() : Promise.resolve([]),
        readiness(deps, deps.workers),
        deps.database.pool.query<{ v: string }>(`select current_setting('server_version') as v`),
      ]);
      return {
        operators,
        tokens,
        audit,
        jobs,
        health,
        system: {
          version: deps.version,
          database: deps.databaseMode,
          postgresVersion: pg.rows[0]?.v ?? 'unknown',
        },
      };
    },
  );
}
