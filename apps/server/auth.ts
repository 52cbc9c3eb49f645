import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CommonErrors, GatehouseError } from '../../src/kit/errors.ts';
import type { CommandContext } from '../../src/kit/context.ts';
import { authenticateToken, hasScope, type Scope, type TokenPrincipal } from '../../src/tokens/index.ts';
import type { AppDeps } from './app.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a caller needs; `public` routes need none. Every /api route must say which. */
    scope?: Scope | 'public' | 'authenticated';
  }
  interface FastifyRequest {
    principal?: TokenPrincipal;
  }
}

/**
 * Authentication and authorisation for every route. A route under /api that does not declare `config.scope`
 * fails at start-up (secure by default): no endpoint can be added unauthenticated by accident.
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
    const header = req.headers.authorization;
    const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) {
      throw new GatehouseError(
        CommonErrors.unauthenticated,
        'this endpoint needs an API token: send "Authorization: Bearer <token>"',
        { status: 401 },
      );
    }
    const principal = await authenticateToken(deps.database, m[1]!, deps.clock.now());
    if (scope !== 'authenticated' && !hasScope(principal.scopes, scope)) {
      throw new GatehouseError(
        CommonErrors.forbidden,
        `the API token "${principal.name}" lacks the scope "${scope}" that this needs`,
        { status: 403 },
      );
    }
    req.principal = principal;
  });
}

/** The command context for a request: the authenticated token acts; the request id correlates. */
export function contextOf(req: FastifyRequest, deps: AppDeps): CommandContext {
  const p = req.principal;
  if (!p) throw new GatehouseError(CommonErrors.unauthenticated, 'not authenticated', { status: 401 });
  return {
    actor: { type: 'token', id: p.tokenId, name: p.name },
    correlationId: String(req.id),
    clock: deps.clock,
    ids: deps.ids,
  };
}
