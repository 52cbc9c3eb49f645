import { z } from 'zod';
import { listAudit, verifyChain } from '../../../src/audit/index.ts';
import type { AppDeps, Router } from '../app.ts';

const event = z.object({
  seq: z.number().int(),
  id: z.string(),
  occurredAt: z.string(),
  actor: z.object({ type: z.string(), id: z.string(), name: z.string().nullable() }),
  action: z.string(),
  subject: z.object({ type: z.string(), id: z.string() }),
  before: z.unknown(),
  after: z.unknown(),
  reason: z.string().nullable(),
  correlationId: z.string().nullable(),
  prevHash: z.string(),
  hash: z.string(),
  personalErased: z.boolean(),
});

export const verifyResult = z.object({
  ok: z.boolean(),
  checked: z.number().int(),
  head: z.object({ seq: z.number().int(), hash: z.string() }).nullable(),
  firstBroken: z
    .object({
      seq: z.number().int(),
      id: z.string(),
      action: z.string(),
      occurredAt: z.string(),
      reason: z.enum(['hash_mismatch', 'link_mismatch', 'sequence_gap']),
      message: z.string(),
    })
    .optional(),
});

export async function auditRoutes(app: Router, deps: AppDeps): Promise<void> {
  app.get(
    '/audit/events',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: 'Search the audit trail (newest first, keyset paging with `before`)',
        querystring: z.object({
          actor: z.string().max(200).optional().describe('"type:id" or an id'),
          action: z.string().max(200).optional().describe('Exact action, or a prefix ending in * (token.*)'),
          subjectType: z.string().max(100).optional(),
          subjectId: z.string().max(200).optional(),
          correlationId: z.string().max(200).optional(),
          from: z.iso.datetime({ offset: true }).optional(),
          to: z.iso.datetime({ offset: true }).optional(),
          before: z.coerce.number().int().positive().optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
        }),
        response: { 200: z.object({ items: z.array(event), nextBefore: z.number().int().nullable() }) },
      },
    },
    async (req) => {
      const q = req.query;
      return listAudit(deps.database, {
        ...q,
        from: q.from ? new Date(q.from) : undefined,
        to: q.to ? new Date(q.to) : undefined,
      });
    },
  );
  app.post(
    '/audit/verify',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: 'Recompute the hash chain and name the first broken event',
        response: { 200: verifyResult },
      },
    },
    async () => verifyChain(deps.database),
  );
}
