/**
 * RFC 7644 §3.7 Bulk. Each operation runs through the same service functions as a single request (so each is its
 * own transaction: one failing operation does not undo the others, as §3.7 says), in the order sent — except that
 * an operation referring to a `bulkId:` not yet created waits until it is (§3.7.1), and references that can never
 * resolve (unknown, or to an operation that failed) fail with 409 invalidValue. Circular references are resolved
 * as §3.7.1 asks: when every operation left waits on another, the first POST among them is created without the
 * parts that name a resource not created yet (array values, or the object holding the reference), the rest follow,
 * and then it gets those parts by a PATCH `add` (the RFC's own example, §3.7.2). `failOnErrors` stops after that
 * many errors.
 */
import { isGatehouseError } from '../kit/errors.ts';
import { scimError } from './errors.ts';
import { PATCH_OP } from './patch.ts';
import type { ScimCall } from './service.ts';

export const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
export const BULK_MAX_OPERATIONS = 1000;
export const BULK_MAX_PAYLOAD = 1_048_576;

type Json = Record<string, unknown>;

/** What Bulk needs of a resource type: the same operations as its endpoint. */
export interface BulkKind {
  path: string;
  create: (c: ScimCall, body: unknown) => Promise<Json>;
  replace: (c: ScimCall, id: string, body: unknown, ifMatch?: string) => Promise<Json>;
  patch: (
    c: ScimCall,
    id: string,
    body: unknown,
    ifMatch?: string,
  ) => Promise<{ resource: Json; changed: boolean }>;
  remove: (c: ScimCall, id: string, ifMatch?: string) => Promise<void>;
}

interface Operation {
  method: string;
  bulkId?: string;
  version?: string;
  path: string;
  data?: unknown;
}

const BULK_REF = /^bulkId:(.+)$/;

/** Every `bulkId:x` reference in a value (strings anywhere, e.g. members[].value or a path segment). */
function refsIn(v: unknown, out = new Set<string>()): Set<string> {
  if (typeof v === 'string') {
    const m = BULK_REF.exec(v);
    if (m) out.add(m[1]!);
    for (const seg of v.split('/')) {
      const s = BULK_REF.exec(seg);
      if (s) out.add(s[1]!);
    }
  } else if (Array.isArray(v)) v.forEach((x) => refsIn(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => refsIn(x, out));
  return out;
}

function substitute(v: unknown, ids: Map<string, string>): unknown {
  if (typeof v === 'string')
    return v
      .split('/')
      .map((seg) => {
        const m = BULK_REF.exec(seg);
        return m && ids.has(m[1]!) ? ids.get(m[1]!)! : seg;
      })
      .join('/');
  if (Array.isArray(v)) return v.map((x) => substitute(x, ids));
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, ids)]));
  return v;
}

/**
 * `v` split into what can be sent now and what names a bulkId that is `waiting` (same shape, undefined when
 * nothing): an array value that names one goes whole to `later`; so does a string, or an object left empty.
 */
function splitWaiting(v: unknown, waiting: (bulkId: string) => boolean): { now: unknown; later: unknown } {
  const names = (x: unknown) => [...refsIn(x)].some(waiting);
  if (!names(v)) return { now: v, later: undefined };
  if (Array.isArray(v)) return { now: v.filter((x) => !names(x)), later: v.filter(names) };
  if (!v || typeof v !== 'object') return { now: undefined, later: v };
  const now: Json = {};
  const later: Json = {};
  for (const [k, x] of Object.entries(v)) {
    const part = splitWaiting(x, waiting);
    const empty = part.now && typeof part.now === 'object' && !Object.keys(part.now).length;
    if (part.now !== undefined && !empty) now[k] = part.now;
    if (part.later !== undefined) later[k] = part.later;
  }
  return { now: Object.keys(now).length ? now : undefined, later };
}

function parseRequest(body: unknown): { ops: Operation[]; failOnErrors: number } {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw scimError(400, 'invalidSyntax', 'a bulk request is a JSON object (BulkRequest)');
  const b = body as Json;
  if (!Array.isArray(b.schemas) || !b.schemas.includes(BULK_REQUEST))
    throw scimError(400, 'invalidSyntax', `schemas must contain ${BULK_REQUEST}`, 'schemas');
  if (!Array.isArray(b.Operations) || b.Operations.length === 0)
    throw scimError(400, 'invalidSyntax', 'Operations must be a non-empty array', 'Operations');
  if (b.Operations.length > BULK_MAX_OPERATIONS)
    throw scimError(
      413,
      null,
      `a bulk request may have at most ${BULK_MAX_OPERATIONS} operations; this one has ${b.Operations.length}`,
    );
  const failOnErrors = b.failOnErrors === undefined ? Number.POSITIVE_INFINITY : Number(b.failOnErrors);
  if (!Number.isInteger(failOnErrors) && failOnErrors !== Number.POSITIVE_INFINITY)
    throw scimError(400, 'invalidValue', 'failOnErrors must be an integer', 'failOnErrors');
  const ops = b.Operations.map((raw, i): Operation => {
    const o = (raw ?? {}) as Json;
    const method = typeof o.method === 'string' ? o.method.toUpperCase() : '';
    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method))
      throw scimError(
        400,
        'invalidSyntax',
        `Operations[${i}].method must be POST, PUT, PATCH or DELETE`,
        `Operations[${i}].method`,
      );
    if (typeof o.path !== 'string' || !o.path.startsWith('/'))
      throw scimError(
        400,
        'invalidSyntax',
        `Operations[${i}].path must be a path such as /Users`,
        `Operations[${i}].path`,
      );
    if (method === 'POST' && (typeof o.bulkId !== 'string' || o.bulkId === ''))
      throw scimError(
        400,
        'invalidSyntax',
        `Operations[${i}]: a POST needs a bulkId`,
        `Operations[${i}].bulkId`,
      );
    return {
      method,
      path: o.path,
      ...(typeof o.bulkId === 'string' ? { bulkId: o.bulkId } : {}),
      ...(typeof o.version === 'string' ? { version: o.version } : {}),
      ...(o.data !== undefined ? { data: o.data } : {}),
    };
  });
  const seen = new Set<string>();
  for (const o of ops)
    if (o.bulkId) {
      if (seen.has(o.bulkId))
        throw scimError(400, 'invalidValue', `bulkId "${o.bulkId}" is used twice`, 'bulkId');
      seen.add(o.bulkId);
    }
  return { ops, failOnErrors };
}

function errorResponse(e: unknown): { status: string; response: Json } {
  const status = isGatehouseError(e) ? e.status : 500;
  const scimType =
    isGatehouseError(e) && typeof e.details.scimType === 'string' ? e.details.scimType : undefined;
  const detail = isGatehouseError(e) ? e.message : 'internal error';
  return {
    status: String(status),
    response: {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: String(status),
      ...(scimType ? { scimType } : {}),
      detail,
    },
  };
}

export async function runBulk(call: ScimCall, body: unknown, kinds: BulkKind[]): Promise<Json> {
  const { ops, failOnErrors } = parseRequest(body);
  const created = new Map<string, string>();
  const results: (Json | undefined)[] = ops.map(() => undefined);
  const pending = new Set(ops.map((_, i) => i));
  const failed = new Set<string>();
  let errors = 0;
  const head = (op: Operation) => ({ method: op.method, ...(op.bulkId ? { bulkId: op.bulkId } : {}) });
  /** Operation i failed: its error in its place, and whatever refers to its bulkId fails after it. */
  const fail = (i: number, e: unknown) => {
    errors++;
    pending.delete(i);
    if (ops[i]!.bulkId) failed.add(ops[i]!.bulkId!);
    results[i] = { ...head(ops[i]!), ...errorResponse(e) };
  };

  /** POSTs created without their circular references: what each must get once the others exist. */
  const completions: { i: number; kind: BulkKind; id: string; later: unknown }[] = [];

  const run = async (i: number, without?: (bulkId: string) => boolean) => {
    const op = ops[i]!;
    const path = substitute(op.path, created) as string;
    const split = without ? splitWaiting(op.data, without) : { now: op.data, later: undefined };
    const data = substitute(split.now, created);
    const [, type, id, extra] = path.split('/');
    const kind = kinds.find((k) => k.path.toLowerCase() === `/${type ?? ''}`.toLowerCase());
    try {
      if (!kind || extra !== undefined || (op.method === 'POST') !== (id === undefined))
        throw scimError(
          400,
          'invalidPath',
          `${op.method} ${op.path} is not a bulk operation this server takes`,
        );
      let resource: Json | undefined;
      let status = 200;
      if (op.method === 'POST') {
        resource = await kind.create(call, data);
        status = 201;
        created.set(op.bulkId!, String(resource.id));
        if (split.later !== undefined)
          completions.push({ i, kind, id: String(resource.id), later: split.later });
      } else if (op.method === 'PUT') resource = await kind.replace(call, id!, data, op.version);
      else if (op.method === 'PATCH') resource = (await kind.patch(call, id!, data, op.version)).resource;
      else {
        await kind.remove(call, id!, op.version);
        status = 204;
      }
      const meta = (resource?.meta ?? {}) as Json;
      results[i] = {
        ...head(op),
        location: resource ? meta.location : `${call.baseUrl}${path}`,
        ...(meta.version ? { version: meta.version } : {}),
        status: String(status),
      };
    } catch (e) {
      fail(i, e);
    }
  };

  // In order; an operation waiting on a bulkId goes after the operation that creates it.
  while (pending.size && errors < failOnErrors) {
    let progressed = false;
    for (const i of [...pending]) {
      if (errors >= failOnErrors) break;
      const refs = [...refsIn(ops[i]!.data), ...refsIn(ops[i]!.path)];
      const broken = refs.find((r) => failed.has(r) || !ops.some((o) => o.bulkId === r));
      if (broken) {
        const why = failed.has(broken) ? 'failed' : 'is not in this request';
        fail(i, scimError(409, 'invalidValue', `bulkId "${broken}" ${why}`));
        progressed = true;
        continue;
      }
      if (refs.some((r) => !created.has(r))) continue;
      pending.delete(i);
      await run(i);
      progressed = true;
    }
    if (!progressed) {
      // What is left waits in a circle: the first POST goes without what names the others, and gets it later.
      const waiting = (r: string) => !created.has(r);
      const first = [...pending].find((i) => ops[i]!.method === 'POST');
      if (first === undefined) {
        for (const i of [...pending]) fail(i, scimError(409, 'invalidValue', 'circular bulkId references'));
        continue;
      }
      pending.delete(first);
      await run(first, waiting);
    }
  }
  // The circles' last step: each resource created without its references gets them, now that the others exist.
  for (const c of completions) {
    if (errors >= failOnErrors) break;
    try {
      const missing = [...refsIn(c.later)].find((r) => !created.has(r));
      if (missing !== undefined) throw scimError(409, 'invalidValue', `bulkId "${missing}" failed`);
      const { resource } = await c.kind.patch(call, c.id, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'add', value: substitute(c.later, created) }],
      });
      const meta = (resource.meta ?? {}) as Json;
      results[c.i] = { ...results[c.i], ...(meta.version ? { version: meta.version } : {}) };
    } catch (e) {
      // Created, but not whole: said in its place (the resource is there, without these references).
      errors++;
      const { status, response } = errorResponse(e);
      results[c.i] = {
        ...results[c.i],
        status,
        response: {
          ...response,
          detail: `created at ${String(results[c.i]!.location)} without its references to other operations of this request, which could not be added: ${String(response.detail)}`,
        },
      };
    }
  }
  return { schemas: [BULK_RESPONSE], Operations: results.filter((r) => r !== undefined) };
}
