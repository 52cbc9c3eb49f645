import { z } from 'zod';
import {
  completeSetup,
  confirmTotpEnrolment,
  login,
  logout,
  resolveSession,
  setupRequired,
  startTotpEnrolment,
  verifySecondFactor,
  SessionErrors,
  csrfMatches,
} from '../../../src/operators/index.ts';
import { GatehouseError } from '../../../src/kit/errors.ts';
import { SESSION_COOKIE, authDeps, clearSessionCookie, setSessionCookie } from '../auth.ts';
import type { AppDeps, Router } from '../app.ts';
import type { FastifyRequest } from 'fastify';

const stage = z.object({ stage: z.enum(['mfa', 'enrol', 'full']) });

/** Console sign-in. These routes are public: each checks the session cookie itself, for its own stage. */
export async function sessionRoutes(app: Router, deps: AppDeps): Promise<void> {
  const a = authDeps(deps);
  const meta = (req: FastifyRequest) => ({
    ip: req.ip,
    userAgent: req.headers['user-agent'] ?? '',
    correlationId: String(req.id),
  });
  // A half-signed-in session may only call these; CSRF still applies once a session exists.
  const csrf = async (req: FastifyRequest) => {
    const s = await resolveSession(a, req.cookies[SESSION_COOKIE]);
    if (!csrfMatches(s.csrfToken, req.headers['x-csrf-token'] as string | undefined)) {
      throw new GatehouseError(
        SessionErrors.csrf,
        'This request is missing its security token. Reload the page and try again.',
        { status: 403 },
      );
    }
  };

  app.get(
    '/session/status',
    {
      config: { scope: 'public' },
      schema: {
        tags: ['session'],
        summary: 'Whether the first administrator still has to be set up',
        security: [],
        response: { 200: z.object({ setupRequired: z.boolean() }) },
      },
    },
    async () => ({ setupRequired: await setupRequired(deps.database) }),
  );
  app.get(
    '/session',
    {
      config: { scope: 'public' },
      schema: {
        tags: ['session'],
        summary: 'The signed-in operator, the sign-in stage and the CSRF token',
        security: [],
        response: {
          200: z.object({
            operator: z.object({
              id: z.string(),
              email: z.string(),
              displayName: z.string(),
              role: z.enum(['administrator', 'agent', 'auditor']),
              scopes: z.array(z.string()),
            }),
            stage: z.enum(['mfa', 'enrol', 'full']),
            csrfToken: z.string(),
            idleTimeoutSeconds: z.number().int(),
          }),
        },
      },
    },
    async (req) => {
      const s = await resolveSession(a, req.cookies[SESSION_COOKIE]);
      return {
        operator: s.operator,
        stage: s.stage,
        csrfToken: s.csrfToken,
        idleTimeoutSeconds: s.idleTimeoutSeconds,
      };
    },
  );
  app.post(
    '/session/login',
    {
      config: { scope: 'public' },
      schema: {
        tags: ['session'],
        summary: 'Sign in with email and password (first step)',
        security: [],
        body: z.object({ email: z.string().min(1).max(320), password: z.string().min(1).max(1024) }),
        response: { 200: stage },
      },
    },
    async (req, reply) => {
      const r = await login(a, { email: req.body.email, password: req.body.password, ...meta(req) });
      setSessionCookie(reply, deps, r.token);
      return { stage: r.stage };
    },
  );
  app.post(
    '/session/mfa',
    {
      config: { scope: 'public' },
      schema: {
        tags: ['session'],
        summary: 'Second step: a code from the authenticator app, or a recovery code',
        security: [],
        body: z
          .object({ code: z.string().max(20).optional(), recoveryCode: z.string().max(40).optional() })
          .refine((b) => b.code || b.recoveryCode, { message: 'send a code or a recoveryCode' }),
        response: { 200: stage },
      },
    },
    async (req) => {
      await csrf(req);
      return verifySecondFactor(a, req.cookies[SESSION_COOKIE], {
        ...req.body,
        correlationId: String(req.id),
      });
    },
  );
  app.post(
    '/session/totp/start',
    {
      config: { scope: 'public' },
      schema: {
        tags: ['session'],
        summary: 'Begin authenticator enrolment: a secret and its QR code',
        security: [],
        response: { 200: z.object({ secret: z.string(), otpauthUrl: z.string(), qrDataUrl: z.string() }) },
      },
    },
    async (req) => {
      await csrf(req);
      return startTotpEnrolment(a, req.cookies[SESSION_COOKIE]);
    },
  );
  app.post(
    '/session/totp/confirm',
    {
      config: { scope: 'public' },
      schema: {
        tags: ['session'],
        summary: 'Finish enrolment with a first code; returns recovery codes once',
        security: [],
        body: z.object({ code: z.string().min(1).max(20) }),
        response: { 200: z.object({ stage: z.enum(['full']), recoveryCodes: z.array(z.string()) }) },
      },
    },
    async (req) => {
      await csrf(req);
      const r = await confirmTotpEnrolment(a, req.cookies[SESSION_COOKIE], {
        code: req.body.code,
        correlationId: String(req.id),
      });
      return { stage: 'full' as const, recoveryCodes: r.recoveryCodes };
    },
  );
  app.post(
    '/session/setup',
    {
      config: { scope: 'public' },
      schema: {
        tags: ['session'],
        summary: 'Create the first administrator with the one-time setup link',
        security: [],
        body: z.object({
          token: z.string().min(1).max(200),
          email: z.string().min(1).max(320),
          displayName: z.string().min(1).max(100),
          password: z.string().min(1).max(1024),
        }),
        response: { 200: stage },
      },
    },
    async (req, reply) => {
      const r = await completeSetup(a, { ...req.body, ...meta(req) });
      setSessionCookie(reply, deps, r.token);
      return { stage: r.stage };
    },
  );
  app.post(
    '/session/logout',
    { config: { scope: 'public' }, schema: { tags: ['session'], summary: 'Sign out', security: [] } },
    async (req, reply) => {
      const token = req.cookies[SESSION_COOKIE];
      if (token) {
        await csrf(req).catch((e: unknown) => {
          // An expired session may always be cleared; a live one needs its CSRF token.
          if (!(
            e instanceof GatehouseError &&
            (e.code === SessionErrors.expired || e.code === SessionErrors.unauthenticated)
          ))
            throw e;
        });
        await logout(a, token, String(req.id));
      }
      clearSessionCookie(reply, deps);
      return reply.code(204).send();
    },
  );
}
