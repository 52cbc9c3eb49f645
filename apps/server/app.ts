import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import swagger from '@fastify/swagger';
import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Config } from '../../src/config/index.ts';
import type { Database } from '../../src/db/index.ts';
import type { Jobs } from '../../src/jobs/index.ts';
import type { Clock } from '../../src/kit/clock.ts';
import { CommonErrors, GatehouseError } from '../../src/kit/errors.ts';
import type { IdGenerator } from '../../src/kit/ids.ts';
import type { Logger } from '../../src/kit/log.ts';
import type { SecretBox } from '../../src/kit/secret-box.ts';
import { registerAuth } from './auth.ts';
import { sendProblem, toProblem } from './problem.ts';
import { healthRoutes } from './routes/health.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { auditRoutes, auditVerificationRoutes } from './routes/audit.ts';
import { sessionRoutes } from './routes/session.ts';
import { operatorRoutes } from './routes/operators.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { jobRoutes } from './routes/jobs.ts';
import { systemRoutes } from './routes/system.ts';
import { peopleRoutes } from './routes/people.ts';
import { hrRoutes } from './routes/hr.ts';
import { namingRoutes } from './routes/naming.ts';
import { targetRoutes } from './routes/targets.ts';
import { provisioningRoutes } from './routes/provisioning.ts';
import { reconcileRoutes } from './routes/reconcile.ts';
import { SCIM_PREFIX, canonicalScimUrl, scimRoutes } from './routes/scim.ts';
import { plainHttpRefusal } from './tls.ts';

export interface AppDeps {
  config: Config;
  log: Logger;
  database: Database;
  jobs: Jobs;
  clock: Clock;
  ids: IdGenerator;
  secrets: SecretBox;
  /** Whether this process runs job workers (readiness then requires them). */
  workers: boolean;
  degraded: () => string | undefined;
  /** How this process reaches PostgreSQL (shown on the dashboard). */
  databaseMode: string;
  version: string;
  /** Where the built console lives (default apps/web/dist). */
  webRoot?: string;
}

export const WEB_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'web', 'dist');

const CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'", // the component library sets inline styles
  "script-src 'self'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** A Fastify scope whose routes are typed from their zod schemas. */
export type Router = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** What a browser reaching the console over plain HTTP from outside sees (GATEHOUSE_REQUIRE_TLS). */
const TLS_REQUIRED_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Gatehouse: use HTTPS</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>This Gatehouse is reached over HTTPS only</h1>
<p>You opened it with a plain <code>http://</code> address, which would send your password unprotected. Use its
<code>https://</code> address instead. If you do not know it, ask whoever runs Gatehouse for you.</p>
<p style="color: #555">For administrators: put a TLS proxy in front of Gatehouse and set GATEHOUSE_TRUST_PROXY=true,
or see GATEHOUSE_REQUIRE_TLS.</p></body></html>`;

/** Paths of the API, SCIM and probes (answered as data); any other path is the console's. */
function isApi(url: string): boolean {
  return (
    url.startsWith('/api/') ||
    url === '/api' ||
    url === '/healthz' ||
    url === '/readyz' ||
    url.startsWith('/scim/')
  );
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'http' }) as FastifyBaseLogger,
    trustProxy: deps.config.trustProxy,
    // Accept a caller's request id when it is safe to echo; otherwise make one.
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && REQUEST_ID_RE.test(h) ? h : randomUUID();
    },
    bodyLimit: 10 * 1024 * 1024,
    // `/scim/v2/Users/?filter=…` is how Microsoft's SCIM validator (and some clients) ask for a list.
    routerOptions: { ignoreTrailingSlash: true },
    // SCIM endpoint names in any case (`/scim/v2/users` is what Microsoft's validator sends).
    rewriteUrl: (req) => canonicalScimUrl(req.url ?? '/'),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Before anything reads a credential: a request over plain HTTP from where it must not be (GATEHOUSE_REQUIRE_TLS).
  app.addHook('onRequest', async (req, reply) => {
    const refusal = plainHttpRefusal(deps.config.requireTls, req);
    if (!refusal) return;
    // A person at a browser gets a page that says what to do; API and SCIM clients get their own error bodies.
    if (!isApi(req.url) && /text\/html/.test(req.headers.accept ?? ''))
      return reply.code(403).type('text/html; charset=utf-8').send(TLS_REQUIRED_PAGE);
    throw refusal;
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gatehouse API',
        version: '1',
        description:
          'Identity lifecycle and access governance. Errors are RFC 9457 problem+json with a stable `code`.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API token (gh_…)' } },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  await app.register(cookie);
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', String(req.id));
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('content-security-policy', CSP);
    const isAsset = req.url.startsWith('/assets/');
    if (!isAsset) reply.header('cache-control', 'no-store');
  });
  registerAuth(app, deps);

  app.setErrorHandler((err, req, reply) => {
    const problem = toProblem(err, req);
    if (problem.status >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ code: problem.code, status: problem.status }, 'request refused');
    return sendProblem(reply, problem);
  });
  // The console: built files at their paths; any other GET that is not the API gets index.html (client routing).
  const webRoot = deps.webRoot ?? WEB_ROOT;
  const hasConsole = existsSync(join(webRoot, 'index.html'));
  if (hasConsole) {
    await app.register(fastifyStatic, {
      root: webRoot,
      wildcard: false,
      index: false,
      maxAge: '365d',
      immutable: true,
    });
  }
  app.setNotFoundHandler((req, reply) => {
    if (req.method === 'GET' && !isApi(req.url)) {
      if (hasConsole)
        return reply
          .header('cache-control', 'no-store')
          .sendFile('index.html', webRoot, { maxAge: 0, immutable: false });
      return reply
        .code(503)
        .type('text/html; charset=utf-8')
        .send(
          '<!doctype html><title>Gatehouse</title><p>The console has not been built. Start Gatehouse with <code>npm start</code>, which builds it.</p>',
        );
    }
    return sendProblem(
      reply,
      toProblem(
        new GatehouseError(
          CommonErrors.notFound,
          `no such endpoint: ${req.method} ${req.url.split('?')[0]}`,
          { status: 404 },
        ),
        req,
      ),
    );
  });

  const z = app.withTypeProvider<ZodTypeProvider>();
  await app.register(async (scope) => healthRoutes(scope.withTypeProvider<ZodTypeProvider>(), deps));
  // Every capability's routes, under /api/v1. A capability adds its module here.
  const v1: ((r: Router, d: AppDeps) => Promise<void>)[] = [
    sessionRoutes,
    systemRoutes,
    dashboardRoutes,
    operatorRoutes,
    tokenRoutes,
    auditRoutes,
    auditVerificationRoutes,
    jobRoutes,
    peopleRoutes,
    hrRoutes,
    namingRoutes,
    targetRoutes,
    provisioningRoutes,
    reconcileRoutes,
  ];
  for (const routes of v1) {
    await app.register(async (scope) => routes(scope.withTypeProvider<ZodTypeProvider>(), deps), {
      prefix: '/api/v1',
    });
  }
  await app.register(async (scope) => scimRoutes(scope, deps), { prefix: SCIM_PREFIX });
  z.get('/api/openapi.json', { schema: { hide: true }, config: { scope: 'public' } }, async () =>
    app.swagger(),
  );
  await app.ready();
  return app;
}
