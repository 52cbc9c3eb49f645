import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CommonErrors, GatehouseError } from '../../src/kit/errors.ts';
import type { CommandContext } from '../../src/kit/context.ts';
import {
  SessionErrors,
  csrfMatches,
  resolveSession,
  type AuthDeps,
  type Role,
} from '../../src/operators/index.ts';
import { authenticateToken, hasScope, type Scope } from '../../src/tokens/index.ts';
import type { AppDeps } from './app.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * What a caller needs: a scope; `authenticated` (any signed-in caller); or `public`. Every /api route must say
     * which — the server refuses to start otherwise.
     */
    scope?: Scope | 'public' | 'authenticated';
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Who is calling: an API token or a signed-in operator. Both carry scopes; an operator's come from their role. */
export interface Principal {
  kind: 'token' | 'operator';
  id: string;
  name: string;
  scopes: string[];
  role?: Role;
}

export const SESSION_COOKIE = 'gh_session';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function authDeps(deps: Pick<AppDeps, 'database' | 'secrets' | 'clock' | 'ids' | 'config'>): AuthDeps {
  return {
    database: deps.database,
    secrets: deps.secrets,
    clock: deps.clock,
    ids: deps.ids,
    idleMinutes: deps.config.sessionIdleMinutes,
    maxHours: deps.config.sessionMaxHours,
  };
}

export function setSessionCookie(reply: FastifyReply, deps: AppDeps, token: string): void {
  reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure: deps.config.publicUrl?.startsWith('https:') ?? false,
  });
}

export function clearSessionCookie(reply: FastifyReply, deps: AppDeps): void {
  reply.clearCookie(SESSION_COOKIE, {
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure: deps.config.publicUrl?.startsWith('https:') ?? false,
  });
}

/**
 * Authentication and authorisation for every route. A bearer token, or the console's session cookie (fully
 * signed in, and with the session's CSRF token in `x-csrf-token` on unsafe methods).
 */
export function registerAuth(app: FastifyInstance, deps: AppDeps): void {
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/api/') && route.config?.scope === undefined && route.method !== 'HEAD') {
      throw new Error(
        `route ${String(route.method)} ${route.url} declares no scope (config.scope): refusing to start`,
      );
    }
  });
  app.addHook('onRequest', async (req) => {
    const scope = req.routeOptions.config?.scope;
    if (scope === undefined || scope === 'public') return;
    const principal = await authenticate(req, deps);
    if (scope !== 'authenticated' && !hasScope(principal.scopes, scope)) {
      const who =
        principal.kind === 'token' ? `the API token "${principal.name}"` : `your role (${principal.role})`;
      throw new GatehouseError(
        CommonErrors.forbidden,
        `You don't have permission to do this: ${who} lacks the "${scope}" permission.`,
        { status: 403 },
      );
    }
    req.principal = principal;
  });
}

async function authenticate(req: FastifyRequest, deps: AppDeps): Promise<Principal> {
  const header = req.headers.authorization;
  if (header) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m)
      throw new GatehouseError(
        CommonErrors.unauthenticated,
        'send an API token as "Authorization: Bearer <token>"',
        { status: 401 },
      );
    const t = await authenticateToken(deps.database, m[1]!, deps.clock.now());
    return { kind: 'token', id: t.tokenId, name: t.name, scopes: t.scopes };
  }
  const cookie = req.cookies[SESSION_COOKIE];
  if (!cookie) {
    throw new GatehouseError(
      CommonErrors.unauthenticated,
      'Sign in to the console, or send an API token as "Authorization: Bearer <token>".',
      { status: 401 },
    );
  }
  const s = await resolveSession(authDeps(deps), cookie);
  if (s.stage !== 'full')
    throw new GatehouseError(SessionErrors.unauthenticated, 'Finish signing in (second factor) first.', {
      status: 401,
    });
  if (
    UNSAFE.has(req.method) &&
    !csrfMatches(s.csrfToken, req.headers['x-csrf-token'] as string | undefined)
  ) {
    throw new GatehouseError(
      SessionErrors.csrf,
      'This request is missing its security token. Reload the page and try again.',
      { status: 403 },
    );
  }
  return {
    kind: 'operator',
    id: s.operator.id,
    name: s.operator.displayName,
    scopes: s.operator.scopes,
    role: s.operator.role,
  };
}

/** The command context for a request: the caller acts; the request id correlates. */
export function contextOf(req: FastifyRequest, deps: AppDeps): CommandContext {
  const p = req.principal;
  if (!p) throw new GatehouseError(CommonErrors.unauthenticated, 'not authenticated', { status: 401 });
  return {
    actor: { type: p.kind, id: p.id, name: p.name },
    correlationId: String(req.id),
    clock: deps.clock,
    ids: deps.ids,
  };
}
