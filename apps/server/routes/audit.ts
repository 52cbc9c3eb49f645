import { z } from 'zod';
import { getVerification, listAudit, startVerification, verifyChain } from '../../../src/audit/index.ts';
import { transaction } from '../../../src/db/index.ts';
import { contextOf } from '../auth.ts';
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
        summary: 'Search the audit trail (keyset paging: pass nextCursor back as cursor)',
        querystring: z.object({
          actor: z.string().max(200).optional().describe('"type:id" or an id'),
          action: z.string().max(200).optional().describe('Exact action, or a prefix ending in * (token.*)'),
          subjectType: z.string().max(100).optional(),
          subjectId: z.string().max(200).optional(),
          correlationId: z.string().max(200).optional(),
          from: z.iso.datetime({ offset: true }).optional(),
          to: z.iso.datetime({ offset: true }).optional(),
          order: z.enum(['desc', 'asc']).default('desc'),
          cursor: z.coerce.number().int().min(0).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
        }),
        response: { 200: z.object({ items: z.array(event), nextCursor: z.number().int().nullable() }) },
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

export async function auditVerificationRoutes(app: Router, deps: AppDeps): Promise<void> {
  app.post(
    '/audit/verifications',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: 'Start verifying the chain in the background; poll for progress',
        response: { 202: z.object({ id: z.string() }) },
      },
    },
    async (req, reply) => {
      const ctx = contextOf(req, deps);
      const id = await transaction(deps.database, (tx) => startVerification(tx, ctx, deps.jobs));
      return reply.code(202).send({ id });
    },
  );
  app.get(
    '/audit/verifications/:id',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: 'Progress and result of a verification',
        params: z.object({ id: z.uuid() }),
        response: {
          200: z.object({
            id: z.string(),
            state: z.enum(['running', 'done', 'failed']),
            checked: z.number().int(),
            total: z.number().int(),
            startedAt: z.string(),
            startedBy: z.string(),
            finishedAt: z.string().nullable(),
            result: verifyResult.nullable(),
            error: z.string().nullable(),
          }),
        },
      },
    },
    async (req) => getVerification(deps.database, req.params.id),
  );
}
