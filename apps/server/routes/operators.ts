import { z } from 'zod';
import { transaction } from '../../../src/db/index.ts';
import {
  OPERATOR_SORTS,
  ROLES,
  createOperator,
  getOperator,
  listOperators,
  resetOperatorMfa,
  setOperatorPassword,
  unlockOperator,
  updateOperator,
} from '../../../src/operators/index.ts';
import { contextOf } from '../auth.ts';
import type { AppDeps, Router } from '../app.ts';

export const operatorView = z.object({
  id: z.uuid(),
  email: z.string(),
  displayName: z.string(),
  role: z.enum(ROLES),
  status: z.enum(['active', 'disabled']),
  mfaEnrolled: z.boolean(),
  lockedUntil: z.string().nullable(),
  lastLoginAt: z.string().nullable(),
  createdAt: z.string(),
});

const idParam = z.object({ id: z.uuid() });

export async function operatorRoutes(app: Router, deps: AppDeps): Promise<void> {
  app.get(
    '/operators',
    {
      config: { scope: 'operators:read' },
      schema: {
        tags: ['operators'],
        summary: 'Console operators (search, filter, sort and page on the server)',
        querystring: z.object({
          q: z.string().max(200).optional(),
          role: z.enum(ROLES).optional(),
          status: z.enum(['active', 'disabled']).optional(),
          sort: z.enum(OPERATOR_SORTS).default('email'),
          order: z.enum(['asc', 'desc']).default('asc'),
          page: z.coerce.number().int().min(1).default(1),
          pageSize: z.coerce.number().int().min(1).max(200).default(25),
        }),
        response: {
          200: z.object({
            items: z.array(operatorView),
            total: z.number().int(),
            page: z.number().int(),
            pageSize: z.number().int(),
          }),
        },
      },
    },
    async (req) => listOperators(deps.database, req.query, deps.clock.now()),
  );
  app.get(
    '/operators/:id',
    {
      config: { scope: 'operators:read' },
      schema: {
        tags: ['operators'],
        summary: 'One operator',
        params: idParam,
        response: { 200: operatorView },
      },
    },
    async (req) => getOperator(deps.database, req.params.id, deps.clock.now()),
  );
  app.post(
    '/operators',
    {
      config: { scope: 'operators:write' },
      schema: {
        tags: ['operators'],
        summary: 'Create an operator (they enrol an authenticator at first sign-in)',
        body: z.object({
          email: z.string().max(320),
          displayName: z.string().max(200),
          role: z.string(),
          password: z.string().max(1024),
        }),
        response: { 201: operatorView },
      },
    },
    async (req, reply) => {
      const ctx = contextOf(req, deps);
      return reply
        .code(201)
        .send(await transaction(deps.database, (tx) => createOperator(tx, ctx, req.body)));
    },
  );
  app.patch(
    '/operators/:id',
    {
      config: { scope: 'operators:write' },
      schema: {
        tags: ['operators'],
        summary:
          'Change display name, role or status (never leaves Gatehouse without an active administrator)',
        params: idParam,
        body: z.object({
          displayName: z.string().max(200).optional(),
          role: z.string().optional(),
          status: z.string().optional(),
        }),
        response: { 200: operatorView },
      },
    },
    async (req) => {
      const ctx = contextOf(req, deps);
      return transaction(deps.database, (tx) => updateOperator(tx, ctx, req.params.id, req.body));
    },
  );
  app.post(
    '/operators/:id/unlock',
    {
      config: { scope: 'operators:write' },
      schema: {
        tags: ['operators'],
        summary: 'Clear a sign-in lockout',
        params: idParam,
        response: { 200: operatorView },
      },
    },
    async (req) => {
      const ctx = contextOf(req, deps);
      return transaction(deps.database, (tx) => unlockOperator(tx, ctx, req.params.id));
    },
  );
  app.post(
    '/operators/:id/reset-mfa',
    {
      config: { scope: 'operators:write' },
      schema: {
        tags: ['operators'],
        summary: 'Remove the authenticator; the operator enrols again at next sign-in',
        params: idParam,
        body: z.object({ reason: z.string().max(500).optional() }).optional(),
        response: { 200: operatorView },
      },
    },
    async (req) => {
      const ctx = contextOf(req, deps);
      return transaction(deps.database, (tx) => resetOperatorMfa(tx, ctx, req.params.id, req.body?.reason));
    },
  );
  app.post(
    '/operators/:id/password',
    {
      config: { scope: 'operators:write' },
      schema: {
        tags: ['operators'],
        summary: 'Set a new password (ends their sessions)',
        params: idParam,
        body: z.object({ password: z.string().max(1024) }),
        response: { 200: operatorView },
      },
    },
    async (req) => {
      const ctx = contextOf(req, deps);
      return transaction(deps.database, (tx) =>
        setOperatorPassword(tx, ctx, req.params.id, req.body.password),
      );
    },
  );
}
