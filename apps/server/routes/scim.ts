/**
 * The SCIM 2.0 service provider (RFC 7643/7644) under /scim/v2: its own Fastify scope, because SCIM has its own
 * error body (`urn:…:Error` with `scimType`), media type (`application/scim+json`) and authentication (bearer API
 * tokens with a `scim:` scope, 401 with `WWW-Authenticate`). The work is in `src/scim`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CommonErrors, GatehouseError, isGatehouseError } from '../../../src/kit/errors.ts';
import { authenticateToken, hasScope, DEFAULT_SCIM_SOURCE, ALL_SOURCES } from '../../../src/tokens/index.ts';
import { scimError } from '../../../src/scim/errors.ts';
import { runBulk, BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD } from '../../../src/scim/bulk.ts';
import {
  GROUP_RESOURCE,
  LIST_RESPONSE,
  USER_RESOURCE,
  project,
  resourceTypeById,
  resourceTypesResponse,
  schemaById,
  schemaResources,
  serviceProviderConfig,
  type ResourceTypeDef,
} from '../../../src/scim/schema.ts';
import {
  MAX_RESULTS,
  createGroup,
  createUser,
  deleteGroup,
  deleteUser,
  etagMatches,
  getGroup,
  getUser,
  listGroups,
  listUsers,
  patchGroup,
  patchUser,
  replaceGroup,
  replaceUser,
  searchAll,
  type ScimCall,
} from '../../../src/scim/service.ts';
import type { ListQuery } from '../../../src/scim/query.ts';
import { versionOf } from '../../../src/scim/user-records.ts';
import type { AppDeps } from '../app.ts';

export const SCIM_PREFIX = '/scim/v2';
const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
const SEARCH_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const MEDIA_TYPE = 'application/scim+json; charset=utf-8';

type Json = Record<string, unknown>;

declare module 'fastify' {
  interface FastifyRequest {
    scim?: ScimCall;
  }
  interface FastifyContextConfig {
    /** A SCIM discovery endpoint: no authentication (RFC 7643 §5). Every other SCIM route needs a SCIM token. */
    scimPublic?: boolean;
  }
}

const ENDPOINTS = ['Users', 'Groups', 'Schemas', 'ResourceTypes', 'ServiceProviderConfig', 'Bulk', 'Me'];
const ENDPOINT_BY_LOWER = new Map(ENDPOINTS.map((e) => [e.toLowerCase(), e]));

/** `/scim/v2/users?…` → `/scim/v2/Users?…`: SCIM endpoint names are matched without regard to case. */
export function canonicalScimUrl(url: string): string {
  const m = /^\/scim\/v2\/([A-Za-z]+)(?=[/?]|$)/.exec(url);
  if (!m) return url;
  const canonical = ENDPOINT_BY_LOWER.get(m[1]!.toLowerCase());
  return canonical && canonical !== m[1] ? `${SCIM_PREFIX}/${canonical}${url.slice(m[0].length)}` : url;
}

function send(reply: FastifyReply, status: number, body: unknown, headers: Record<string, string> = {}) {
  for (const [k, v] of Object.entries(headers)) reply.header(k, v);
  return reply.code(status).type(MEDIA_TYPE).send(JSON.stringify(body));
}

/** RFC 7644 §3.12: `{ schemas: [Error], status: "400", scimType?, detail }`. */
function errorBody(status: number, detail: string, scimType?: string): Json {
  return { schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail };
}

function baseUrlOf(req: FastifyRequest, deps: AppDeps): string {
  const configured = deps.config.publicUrl?.replace(/\/+$/, '');
  return `${configured ?? `${req.protocol}://${req.host}`}${SCIM_PREFIX}`;
}

/** Bearer token with a SCIM scope (or admin); `scim:write` includes reading. */
async function authenticateScim(req: FastifyRequest, deps: AppDeps, write: boolean): Promise<ScimCall> {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!m)
    throw new GatehouseError(
      CommonErrors.unauthenticated,
      'send a Gatehouse SCIM token as "Authorization: Bearer <token>"',
      { status: 401 },
    );
  const t = await authenticateToken(deps.database, m[1]!, deps.clock.now());
  const allowed = write
    ? hasScope(t.scopes, 'scim:write')
    : hasScope(t.scopes, 'scim:read') || hasScope(t.scopes, 'scim:write');
  if (!allowed)
    throw new GatehouseError(
      CommonErrors.forbidden,
      `the API token "${t.name}" lacks the "${write ? 'scim:write' : 'scim:read'}" scope`,
      { status: 403 },
    );
  const settings = t.scim ?? { source: DEFAULT_SCIM_SOURCE, profile: 'strict' as const };
  return {
    deps: { database: deps.database, jobs: deps.jobs },
    ctx: {
      actor: { type: 'token', id: t.tokenId, name: t.name },
      correlationId: String(req.id),
      clock: deps.clock,
      ids: deps.ids,
    },
    client: { source: settings.source, profile: settings.profile, readAll: settings.source === ALL_SOURCES },
    baseUrl: baseUrlOf(req, deps),
  };
}

function call(req: FastifyRequest): ScimCall {
  if (!req.scim) throw new GatehouseError(CommonErrors.unauthenticated, 'not authenticated', { status: 401 });
  return req.scim;
}

const list = (v: unknown): string[] | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v.split(',').map((s) => s.trim()) : undefined;

function int(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n))
    throw scimError(400, 'invalidValue', `${name} must be an integer, not "${String(v)}"`, name);
  return n;
}

interface Projection {
  attributes?: string[];
  excludedAttributes?: string[];
}

/** Query parameters (or a SearchRequest's members), each checked: a repeated or mistyped one is a 400 naming it. */
function readQuery(src: Json): { query: ListQuery; projection: Projection } {
  const text = (name: string): string | undefined => {
    const v = src[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string')
      throw scimError(400, 'invalidValue', `${name} must be given once, as a string`, name);
    return v;
  };
  const names = (name: string): string[] | undefined => {
    const v = src[name];
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.map((x) => x.trim());
    if (Array.isArray(v))
      throw scimError(400, 'invalidValue', `${name} must be attribute names (strings)`, name);
    return list(text(name));
  };
  const attributes = names('attributes');
  const excluded = names('excludedAttributes');
  return {
    query: {
      filter: text('filter'),
      sortBy: text('sortBy'),
      sortOrder: text('sortOrder'),
      startIndex: int(src.startIndex, 'startIndex'),
      count: int(src.count, 'count'),
    },
    projection: {
      ...(attributes ? { attributes } : {}),
      ...(excluded ? { excludedAttributes: excluded } : {}),
    },
  };
}

/** Whether the projection needs a group's members (big groups are only loaded when asked for). */
function wantsMembers(p: Projection): boolean {
  const named = (names: string[] | undefined) =>
    names?.some((n) => /(^|:)members(\.|\[|$)/i.test(n)) ?? false;
  if (named(p.excludedAttributes)) return false;
  return p.attributes ? named(p.attributes) : true;
}

function listResponse(
  resource: ResourceTypeDef | null,
  r: { totalResults: number; startIndex: number; resources: Json[] },
  p: Projection,
) {
  return {
    schemas: [LIST_RESPONSE],
    totalResults: r.totalResults,
    startIndex: r.startIndex,
    itemsPerPage: r.resources.length,
    Resources: r.resources.map((x) =>
      project(resource ?? ((x.meta as Json).resourceType === 'Group' ? GROUP_RESOURCE : USER_RESOURCE), x, p),
    ),
  };
}

/** A single resource's headers: its version, and its URL as `Location` and as `Content-Location` (RFC 7643 §3.1). */
function etagHeaders(resource: Json): Record<string, string> {
  const meta = resource.meta as Json;
  const location = String(meta.location);
  return { etag: String(meta.version), location, 'content-location': location };
}

function ifMatch(req: FastifyRequest): string | undefined {
  const h = req.headers['if-match'];
  return typeof h === 'string' ? h : undefined;
}

export async function scimRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  // SCIM clients send application/scim+json (and sometimes plain JSON): both are JSON here.
  app.addContentTypeParser(
    ['application/scim+json', 'application/json'],
    { parseAs: 'string', bodyLimit: BULK_MAX_PAYLOAD },
    (_req, body, done) => {
      if (body === '' || body === undefined) return done(null, undefined);
      try {
        done(null, JSON.parse(String(body)));
      } catch (e) {
        done(scimError(400, 'invalidSyntax', `the body is not valid JSON: ${(e as Error).message}`));
      }
    },
  );

  app.setErrorHandler((err, req, reply) => {
    if (isGatehouseError(err)) {
      if (err.status >= 500) req.log.error({ err }, 'SCIM request failed');
      const scimType = typeof err.details.scimType === 'string' ? err.details.scimType : undefined;
      const headers: Record<string, string> =
        err.status === 401 ? { 'www-authenticate': 'Bearer realm="Gatehouse SCIM"' } : {};
      return send(reply, err.status, errorBody(err.status, err.message, scimType), headers);
    }
    const fe = err as { statusCode?: number; code?: string; message?: string };
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      const scimType = fe.statusCode === 400 ? 'invalidSyntax' : undefined;
      return send(reply, fe.statusCode, errorBody(fe.statusCode, fe.message ?? 'bad request', scimType));
    }
    req.log.error({ err }, 'SCIM request failed');
    return send(reply, 500, errorBody(500, 'internal error: the request id is in the x-request-id header'));
  });

  app.setNotFoundHandler((req, reply) =>
    send(reply, 404, errorBody(404, `no SCIM endpoint ${req.method} ${req.url.split('?')[0]}`)),
  );

  // Authentication for everything but discovery (RFC 7643 §5: the service provider's configuration is public).
  app.addHook('onRequest', async (req) => {
    if (req.routeOptions.config?.scimPublic) return;
    req.scim = await authenticateScim(
      req,
      deps,
      req.method !== 'GET' && !req.url.split('?')[0]!.endsWith('/.search'),
    );
  });

  const pub = { config: { scimPublic: true } };
  const auth = {};
  // SCIM is described by its own /Schemas, not by the OpenAPI document of /api.
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, hide: true };
  });

  // ---------- discovery ----------
  const spc = (req: FastifyRequest) =>
    serviceProviderConfig(baseUrlOf(req, deps), {
      maxOperations: BULK_MAX_OPERATIONS,
      maxPayloadSize: BULK_MAX_PAYLOAD,
      maxResults: MAX_RESULTS,
    });
  app.get('/ServiceProviderConfig', pub, async (req, reply) => send(reply, 200, spc(req)));
  // Microsoft's SCIM validator asks for this non-standard name; it is the same document.
  app.get('/serviceConfiguration', pub, async (req, reply) => send(reply, 200, spc(req)));
  app.get('/Schemas', pub, async (req, reply) => send(reply, 200, schemaResources(baseUrlOf(req, deps))));
  app.get<{ Params: { id: string } }>('/Schemas/:id', pub, async (req, reply) => {
    const s = schemaById(req.params.id, baseUrlOf(req, deps));
    if (!s) throw scimError(404, null, `no schema ${req.params.id}`);
    return send(reply, 200, s);
  });
  app.get('/ResourceTypes', pub, async (req, reply) =>
    send(reply, 200, resourceTypesResponse(baseUrlOf(req, deps))),
  );
  app.get<{ Params: { id: string } }>('/ResourceTypes/:id', pub, async (req, reply) => {
    const r = resourceTypeById(req.params.id, baseUrlOf(req, deps));
    if (!r) throw scimError(404, null, `no resource type ${req.params.id}`);
    return send(reply, 200, r);
  });
  for (const url of ['/ServiceProviderConfig', '/Schemas', '/ResourceTypes'])
    app.route({
      method: ['POST', 'PUT', 'PATCH', 'DELETE'],
      url,
      ...pub,
      handler: async (req, reply) =>
        send(reply, 405, errorBody(405, `${url} is read-only: ${req.method} is not allowed`), {
          allow: 'GET',
        }),
    });

  // ---------- Users and Groups ----------
  const kinds = [
    {
      path: '/Users',
      resource: USER_RESOURCE,
      list: (c: ScimCall, q: ListQuery) => listUsers(c, q),
      get: (c: ScimCall, id: string) => getUser(c, id),
      create: createUser,
      replace: replaceUser,
      patch: patchUser,
      remove: deleteUser,
    },
    {
      path: '/Groups',
      resource: GROUP_RESOURCE,
      list: (c: ScimCall, q: ListQuery, p: Projection) => listGroups(c, q, wantsMembers(p)),
      get: (c: ScimCall, id: string, p: Projection) => getGroup(c, id, wantsMembers(p)),
      create: createGroup,
      replace: replaceGroup,
      patch: patchGroup,
      remove: deleteGroup,
    },
  ];
  for (const k of kinds) {
    app.get(k.path, auth, async (req, reply) => {
      const { query, projection } = readQuery(req.query as Json);
      return send(
        reply,
        200,
        listResponse(k.resource, await k.list(call(req), query, projection), projection),
      );
    });
    app.post(`${k.path}/.search`, auth, async (req, reply) => {
      const body = searchBody(req.body);
      const { query, projection } = readQuery(body);
      return send(
        reply,
        200,
        listResponse(k.resource, await k.list(call(req), query, projection), projection),
      );
    });
    app.get<{ Params: { id: string } }>(`${k.path}/:id`, auth, async (req, reply) => {
      const { projection } = readQuery(req.query as Json);
      const r = await k.get(call(req), req.params.id, projection);
      const version = versionOf(r);
      const inm = req.headers['if-none-match'];
      if (typeof inm === 'string' && etagMatches(inm, version))
        return reply
          .code(304)
          .header('etag', String((r.meta as Json).version))
          .send();
      return send(reply, 200, project(k.resource, r, projection), etagHeaders(r));
    });
    app.post(k.path, auth, async (req, reply) => {
      const { projection } = readQuery(req.query as Json);
      const r = await k.create(call(req), req.body);
      return send(reply, 201, project(k.resource, r, projection), etagHeaders(r));
    });
    app.put<{ Params: { id: string } }>(`${k.path}/:id`, auth, async (req, reply) => {
      const { projection } = readQuery(req.query as Json);
      const r = await k.replace(call(req), req.params.id, req.body, ifMatch(req));
      return send(reply, 200, project(k.resource, r, projection), etagHeaders(r));
    });
    app.patch<{ Params: { id: string } }>(`${k.path}/:id`, auth, async (req, reply) => {
      const { projection } = readQuery(req.query as Json);
      const c = call(req);
      const r = await k.patch(c, req.params.id, req.body, ifMatch(req));
      // RFC 7644 §3.5.2: 200 with the resource, or 204. The lenient profile answers 204 as Entra's reference does.
      if (c.client.profile === 'lenient' && !projection.attributes)
        return reply
          .code(204)
          .header('etag', String((r.resource.meta as Json).version))
          .send();
      return send(reply, 200, project(k.resource, r.resource, projection), etagHeaders(r.resource));
    });
    app.delete<{ Params: { id: string } }>(`${k.path}/:id`, auth, async (req, reply) => {
      await k.remove(call(req), req.params.id, ifMatch(req));
      return reply.code(204).send();
    });
  }

  // ---------- search across resource types, and bulk ----------
  app.post('/.search', auth, async (req, reply) => {
    const { query, projection } = readQuery(searchBody(req.body));
    return send(
      reply,
      200,
      listResponse(null, await searchAll(call(req), query, wantsMembers(projection)), projection),
    );
  });

  app.post('/Bulk', auth, async (req, reply) => send(reply, 200, await runBulk(call(req), req.body, kinds)));

  // RFC 7644 §3.11: a provider without /Me answers 501.
  app.all('/Me', auth, async () => {
    throw scimError(501, null, '/Me is not supported: Gatehouse SCIM clients are systems, not people');
  });
}

function searchBody(body: unknown): Json {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw scimError(400, 'invalidSyntax', 'a search is a JSON object (SearchRequest)');
  const b = body as Json;
  if (Array.isArray(b.schemas) && !b.schemas.includes(SEARCH_REQUEST))
    throw scimError(400, 'invalidSyntax', `schemas must contain ${SEARCH_REQUEST}`, 'schemas');
  return b;
}
