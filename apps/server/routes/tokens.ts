import { z } from 'zod';
import { transaction } from '../../../src/db/index.ts';
import {
  SCOPES,
  TOKEN_SORTS,
  createToken,
  getToken,
  listTokens,
  parseExpiry,
  revokeToken,
} from '../../../src/tokens/index.ts';
import { contextOf } from '../auth.ts';
import type { AppDeps, Router } from '../app.ts';

export const tokenView = z.object({
  id: z.uuid(),
  name: z.string(),
  hint: z.string().describe('First and last characters of the token, to recognise it'),
  scopes: z.array(z.string()),
  createdAt: z.string(),
  createdBy: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  revokedBy: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  status: z.enum(['active', 'expired', 'revoked']),
  scim: z.object({ source: z.string(), profile: z.enum(['strict', 'lenient']) }).nullable(),
});

export async function tokenRoutes(app: Router, deps: AppDeps): Promise<void> {
  app.get(
    '/tokens',
    {
      config: { scope: 'tokens:read' },
      schema: {
        tags: ['tokens'],
        summary: 'List API tokens (never their secrets): search, sort and page on the server',
        querystring: z.object({
          includeRevoked: z.enum(['true', 'false']).default('false'),
          q: z.string().max(200).optional(),
          sort: z.enum(TOKEN_SORTS).optional(),
          order: z.enum(['asc', 'desc']).optional(),
          page: z.coerce.number().int().min(1).default(1),
          pageSize: z.coerce.number().int().min(1).max(500).default(100),
        }),
        response: {
          200: z.object({
            items: z.array(tokenView),
            total: z.number().int(),
            page: z.number().int(),
            pageSize: z.number().int(),
          }),
        },
      },
    },
    async (req) =>
      listTokens(deps.database, deps.clock.now(), {
        ...req.query,
        includeRevoked: req.query.includeRevoked === 'true',
      }),
  );
  app.get(
    '/tokens/scopes',
    {
      config: { scope: 'tokens:read' },
      schema: {
        tags: ['tokens'],
        summary: 'The scopes a token can carry',
        response: {
          200: z.object({ items: z.array(z.object({ scope: z.string(), description: z.string() })) }),
        },
      },
    },
    async () => ({ items: Object.entries(SCOPES).map(([scope, description]) => ({ scope, description })) }),
  );
  app.get(
    '/tokens/:id',
    {
      config: { scope: 'tokens:read' },
      schema: {
        tags: ['tokens'],
        summary: 'One API token',
        params: z.object({ id: z.uuid() }),
        response: { 200: tokenView },
      },
    },
    async (req) => getToken(deps.database, req.params.id, deps.clock.now()),
  );
  app.post(
    '/tokens',
    {
      config: { scope: 'tokens:write' },
      schema: {
        tags: ['tokens'],
        summary: 'Create an API token; the secret is in this response only',
        body: z.object({
          name: z.string().min(1).max(100),
          scopes: z.array(z.string()).min(1),
          expiresIn: z
            .string()
            .optional()
            .describe('Duration (30d, 12h) or ISO 8601 date-time; omitted = never expires'),
          scim: z
            .object({ source: z.string().max(100).optional(), profile: z.string().optional() })
            .optional()
            .describe(
              'For a token with a scim: scope: its HR source (default "scim") and profile (strict, lenient)',
            ),
        }),
        response: { 201: z.object({ token: z.string(), tokenInfo: tokenView }) },
      },
    },
    async (req, reply) => {
      const ctx = contextOf(req, deps);
      const expiresAt = req.body.expiresIn ? parseExpiry(req.body.expiresIn, deps.clock.now()) : null;
      const r = await transaction(deps.database, (tx) =>
        createToken(tx, ctx, {
          name: req.body.name,
          scopes: req.body.scopes,
          expiresAt,
          scim: req.body.scim,
        }),
      );
      return reply.code(201).send({ token: r.token, tokenInfo: r.view });
    },
  );
  app.post(
    '/tokens/:id/revoke',
    {
      config: { scope: 'tokens:write' },
      schema: {
        tags: ['tokens'],
        summary: 'Revoke an API token (immediately; cannot be undone)',
        params: z.object({ id: z.uuid() }),
        body: z.object({ reason: z.string().max(500).optional() }).optional(),
        response: { 200: tokenView },
      },
    },
    async (req) => {
      const ctx = contextOf(req, deps);
      return transaction(deps.database, (tx) => revokeToken(tx, ctx, req.params.id, req.body?.reason));
    },
  );
}
