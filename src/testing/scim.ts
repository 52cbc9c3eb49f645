import type { FastifyInstance } from 'fastify';

/** The URNs SCIM tests send and expect, spelt out here rather than taken from the code under test. */
export const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const HR = 'urn:ietf:params:scim:schemas:extension:gatehouse:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** A SCIM resource or message as tests read it (loosely typed JSON). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON responses, read field by field
export type ScimJson = Record<string, any>;

/**
 * A request to `/scim/v2<url>` on an app, as a SCIM client sends it: the token as a bearer (none: no
 * Authorization), a body as `application/scim+json` (a string is sent as it is, anything else as JSON).
 */
export function scimRequest(
  app: FastifyInstance,
  token: string | undefined,
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return app.inject({
    method: method as 'GET',
    url: `/scim/v2${url}`,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
}

/** `scimRequest` as one of a test's clients, named by its key in `tokens` (null: no token). */
export function scimClients(tokens: Record<string, string>, app: () => FastifyInstance) {
  return (
    who: string | null,
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => scimRequest(app(), who ? tokens[who] : undefined, method, url, body, headers);
}
