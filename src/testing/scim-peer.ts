/**
 * A throwaway third-party SCIM 2.0 server for testing Gatehouse's SCIM client. The protocol work is done by the
 * npm packages SCIMMY (resource coercion, filters, PATCH, list responses) and SCIMMY Routers (the RFC 7644
 * endpoints on express); this file only adds what those leave to the application: an in-memory store behind the
 * ingress/egress/degress handlers, bearer/basic authentication, ETags, and knobs for tests.
 *
 * Several peers may run in one process: SCIMMY's resource handlers are global, so each peer's router passes its
 * own store to them as the request context.
 *
 * Two gaps in the packages are closed here and noted in docs/design/004-connectors.md:
 * - express 5 re-parses `req.query` on every access, so SCIMMY Routers' string→number cast of `startIndex` and
 *   `count` is lost and paging is silently ignored; the peer installs a query parser that casts them.
 * - SCIMMY Routers sends no `Location` or `ETag` headers and ignores `If-Match`; the peer adds them (ETags can be
 *   switched off to test a server without them).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQueryString } from 'node:querystring';
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import SCIMMY from 'scimmy';
import SCIMMYRouters from 'scimmy-routers';

export type PeerResourceType = 'Users' | 'Groups';
type Json = Record<string, unknown>;

export interface PeerMeta {
  resourceType: 'User' | 'Group';
  created: string;
  lastModified: string;
  version: string;
}
export type PeerResource = Json & { id: string; meta: PeerMeta };

const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const SPC_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
const READ_ONLY_KEYS = new Set(['id', 'meta', 'groups', 'password', 'schemas']);

function scimError(status: number, scimType: string | null, detail: string): Error {
  // SCIMMY accepts a null scimType (its own code passes one); its type declaration says string.
  return new SCIMMY.Types.Error(status, scimType as string, detail);
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** The peer's data: what a real application keeps in its database. Tests use it for "outside changes". */
export class ScimPeerStore {
  /** Passwords shorter than this are refused (0: any). */
  minPasswordLength = 0;
  readonly #data: Record<PeerResourceType, Map<string, PeerResource>> = {
    Users: new Map(),
    Groups: new Map(),
  };
  readonly #passwords = new Map<string, string>();
  #version = 0;

  /** All resources of a type, as the server would return them (users with their computed `groups`). */
  list(type: PeerResourceType): PeerResource[] {
    return [...this.#data[type].values()].map((r) => this.#present(type, r));
  }

  /** How many resources of a type there are. */
  size(type: PeerResourceType): number {
    return this.#data[type].size;
  }

  /** `count` resources of a type from the `offset`-th (0-based), in the order `list` gives them. */
  page(type: PeerResourceType, offset: number, count: number): PeerResource[] {
    const out: PeerResource[] = [];
    let i = 0;
    for (const r of this.#data[type].values()) {
      if (out.length >= count) break;
      if (i++ >= offset) out.push(this.#present(type, r));
    }
    return out;
  }

  get(type: PeerResourceType, id: string): PeerResource | undefined {
    const r = this.#data[type].get(id);
    return r && this.#present(type, r);
  }

  /** The last password set for a user (the peer keeps it in clear so tests can check it arrived). */
  password(id: string): string | undefined {
    return this.#passwords.get(id);
  }

  create(type: PeerResourceType, data: Json): PeerResource {
    const now = new Date().toISOString();
    const id = randomUUID();
    return this.#present(type, this.#commit(type, id, data, now));
  }

  /**
   * Many creates at once, for large fixtures (benchmarks): each item is checked and stored as create() would, but
   * uniqueness is checked against a set built once instead of a scan of the store per item, and nothing is
   * returned but the new ids, in order. Stops at the first refused item; the items before it stay stored.
   */
  load(type: PeerResourceType, items: Iterable<Json>): string[] {
    const attr = type === 'Users' ? 'userName' : 'displayName';
    const taken = new Set<string>();
    for (const r of this.#data[type].values()) taken.add(String(r[attr]).toLowerCase());
    const now = new Date().toISOString();
    const ids: string[] = [];
    for (const data of items) {
      const id = randomUUID();
      this.#commit(type, id, data, now, taken);
      ids.push(id);
    }
    return ids;
  }

  /** Full replacement (PUT, or the result of a PATCH); `created` and a stored password survive. */
  replace(type: PeerResourceType, id: string, data: Json): PeerResource {
    const current = this.#data[type].get(id);
    if (!current) throw scimError(404, null, `Resource ${id} not found`);
    return this.#present(type, this.#commit(type, id, data, current.meta.created));
  }

  /** An outside change: edit the stored resource directly, bypassing the SCIM API (meta is updated). */
  update(type: PeerResourceType, id: string, change: (resource: Json) => void): PeerResource {
    const current = this.#data[type].get(id);
    if (!current) throw new Error(`no ${type} resource ${id}`);
    const draft = clone(current) as Json;
    change(draft);
    return this.replace(type, id, draft);
  }

  delete(type: PeerResourceType, id: string): boolean {
    if (!this.#data[type].delete(id)) return false;
    this.#passwords.delete(id);
    // Like a real server, a deleted member leaves every group it was in.
    for (const group of this.#data.Groups.values()) {
      const members = (group.members as { value: string }[] | undefined) ?? [];
      if (members.some((m) => m.value === id)) {
        this.replace('Groups', group.id, { ...group, members: members.filter((m) => m.value !== id) });
      }
    }
    return true;
  }

  /** Check and store one resource (as stored, not as served). `taken`: lower-cased names in use, kept up to date. */
  #commit(
    type: PeerResourceType,
    id: string,
    data: Json,
    created: string,
    taken?: Set<string>,
  ): PeerResource {
    const record: Json = {};
    for (const [k, v] of Object.entries(clone(data)))
      if (!READ_ONLY_KEYS.has(k) && v !== undefined) record[k] = v;
    if (type === 'Users') {
      if (typeof record.userName !== 'string' || !record.userName)
        throw scimError(400, 'invalidValue', 'Required attribute userName is missing');
      this.#unique(type, id, 'userName', record.userName, taken);
      if (typeof data.password === 'string') {
        if (data.password.length < this.minPasswordLength)
          throw scimError(
            400,
            'invalidValue',
            `Password "${data.password}" is too short: at least ${this.minPasswordLength} characters`,
          );
        this.#passwords.set(id, data.password);
      }
    } else {
      if (typeof record.displayName !== 'string' || !record.displayName)
        throw scimError(400, 'invalidValue', 'Required attribute displayName is missing');
      this.#unique(type, id, 'displayName', record.displayName, taken);
      record.members = this.#members(record.members);
    }
    const stored = {
      ...record,
      id,
      meta: {
        resourceType: type === 'Users' ? 'User' : 'Group',
        created,
        lastModified: new Date().toISOString(),
        version: `W/"${++this.#version}"`,
      },
    } as PeerResource;
    this.#data[type].set(id, stored);
    return stored;
  }

  #unique(type: PeerResourceType, id: string, attr: string, value: string, taken?: Set<string>): void {
    const wanted = value.toLowerCase();
    if (taken) {
      // Only load() passes the set, for new ids: a name in it belongs to another resource.
      if (taken.has(wanted)) throw scimError(409, 'uniqueness', `${attr} "${value}" is already in use`);
      taken.add(wanted);
      return;
    }
    for (const other of this.#data[type].values()) {
      if (other.id !== id && String(other[attr]).toLowerCase() === wanted)
        throw scimError(409, 'uniqueness', `${attr} "${value}" is already in use`);
    }
  }

  #members(value: unknown): { value: string; type: 'User' | 'Group' }[] | undefined {
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) throw scimError(400, 'invalidValue', 'members must be a list');
    const out = new Map<string, { value: string; type: 'User' | 'Group' }>();
    for (const m of value as { value?: unknown }[]) {
      const ref = typeof m?.value === 'string' ? m.value : '';
      const kind = this.#data.Users.has(ref) ? 'User' : this.#data.Groups.has(ref) ? 'Group' : undefined;
      if (!kind) throw scimError(400, 'invalidValue', `member "${ref}" is neither a User nor a Group here`);
      out.set(ref, { value: ref, type: kind });
    }
    return out.size ? [...out.values()] : undefined;
  }

  /** The resource as served: member display names and a user's groups are computed on read. */
  #present(type: PeerResourceType, r: PeerResource): PeerResource {
    const out = clone(r);
    if (type === 'Groups' && Array.isArray(out.members)) {
      out.members = (out.members as { value: string; type: string }[]).map((m) => ({
        ...m,
        display: String(
          m.type === 'User'
            ? this.#data.Users.get(m.value)?.userName
            : this.#data.Groups.get(m.value)?.displayName,
        ),
      }));
    }
    if (type === 'Users') {
      const groups = [...this.#data.Groups.values()]
        .filter((g) => ((g.members as { value: string }[] | undefined) ?? []).some((m) => m.value === r.id))
        .map((g) => ({ value: g.id, display: String(g.displayName), type: 'direct' }));
      if (groups.length) out.groups = groups;
    }
    return out;
  }
}

function storeOf(ctx: unknown): ScimPeerStore {
  if (ctx instanceof ScimPeerStore) return ctx;
  throw scimError(500, null, 'no store in the request context');
}

/** SCIMMY's Filter.match throws on a record that lacks a complex attribute the filter names; that is no match. */
function matches(filter: { match(values: object[]): object[] }, record: object): boolean {
  try {
    return filter.match([record]).length > 0;
  } catch {
    return false;
  }
}

let declared = false;
function declareResources(): void {
  if (declared) return;
  declared = true;
  const pairs: [typeof SCIMMY.Resources.User | typeof SCIMMY.Resources.Group, PeerResourceType][] = [
    [SCIMMY.Resources.User, 'Users'],
    [SCIMMY.Resources.Group, 'Groups'],
  ];
  for (const [resource, type] of pairs) {
    SCIMMY.Resources.declare(resource, {
      ingress: (res: { id?: string }, instance: object, ctx: unknown) => {
        const store = storeOf(ctx);
        // The password is write-only, so it is left out of the instance's JSON form: take it directly.
        const data = {
          ...(clone(instance) as Json),
          password: (instance as { password?: unknown }).password,
        };
        return res.id ? store.replace(type, res.id, data) : store.create(type, data);
      },
      egress: (
        res: {
          id?: string;
          filter?: { match(values: object[]): object[] };
          constraints?: { startIndex?: number; count?: number; sortBy?: string };
        },
        ctx: unknown,
      ) => {
        const store = storeOf(ctx);
        if (res.id) {
          const found = store.get(type, res.id);
          if (!found) throw scimError(404, null, `Resource ${res.id} not found`);
          return found;
        }
        const filter = res.filter;
        const { startIndex = 1, count, sortBy } = res.constraints ?? {};
        const total = store.size(type);
        // An unfiltered, unsorted page is read from the store as the page alone, the way SCIMMY documents for an
        // application that pages itself (ListResponse's "manipulation of array length" example): a sparse array
        // as long as the total, holding the page. SCIMMY then builds only the page's resources, not every one per
        // request. What it serves is what SCIMMY's own paging serves: past the end, the first page again (see
        // PeerQuirks.pastEnd); a start within the first page size (2..count), where SCIMMY would cut the page
        // short, gets the whole list as before.
        if (
          !filter &&
          sortBy === undefined &&
          count !== undefined &&
          (startIndex === 1 || startIndex > count)
        ) {
          const page: PeerResource[] = store.page(type, startIndex > total ? 0 : startIndex - 1, count);
          page.length = total;
          return page;
        }
        const all = store.list(type);
        return filter ? all.filter((r) => matches(filter, r)) : all;
      },
      degress: (res: { id?: string }, ctx: unknown) => {
        if (!res.id || !storeOf(ctx).delete(type, res.id))
          throw scimError(404, null, `Resource ${res.id} not found`);
      },
    });
  }
  SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false);
  // SCIMMY accepts a SchemaDefinition instance here (its docs and code); its type declaration lists only Schema.
  SCIMMY.Resources.User.extend(
    new SCIMMY.Types.SchemaDefinition('AcmeUser', ACME_USER, "The application's own user attributes", [
      new SCIMMY.Types.Attribute('boolean', 'forcePasswordChange', {
        description: 'Ask for a new password at the next sign-in',
      }),
      new SCIMMY.Types.Attribute('dateTime', 'lastLogin', {
        description: 'When the user last signed in',
        mutable: 'readOnly',
      }),
    ]) as unknown as typeof SCIMMY.Types.Schema,
    false,
  );
}

/** An application-specific extension the peer declares, with a "must change password" flag. */
export const ACME_USER = 'urn:ietf:params:scim:schemas:extension:acme:2.0:User';

/** Server misbehaviour to test the client's guards. All off by default. */
export interface PeerQuirks {
  /** Drop `startIndex` from list requests (always serve the first page). */
  ignoreStartIndex: boolean;
  /** Drop `count` from list requests (SCIMMY then serves its default of 20). */
  ignoreCount: boolean;
  /** Rewrite `totalResults` (given the true total and the size of this page). */
  totalResults?: (actual: number, pageLength: number) => number;
  /**
   * What a page that starts past the end holds: SCIMMY's own behaviour serves the first page again
   * ('first-page'); RFC 7644 expects an empty page ('empty').
   */
  pastEnd: 'first-page' | 'empty';
  /** Refuse filters that mention these attributes (400 invalidFilter), like servers that filter on a few only. */
  unfilterable: string[];
}

export interface PeerRequest {
  method: string;
  /** Path below the mount point, e.g. "/Users/abc". */
  path: string;
  /** Decoded query parameters. */
  query: Record<string, string>;
  ifMatch: string | undefined;
  body: unknown;
}

export interface ScimPeerOptions {
  /** Bearer token with full access (default: random). */
  token?: string;
  /** Bearer token that may only read: writes get 403. */
  readOnlyToken?: string;
  /** Also accept HTTP Basic with these credentials. */
  basic?: { username: string; password: string };
  /** Offer ETags (meta.version, ETag header, If-Match checks). Default true. */
  etags?: boolean;
  /** Refuse shorter passwords with 400 invalidValue; the message quotes the password, as careless servers do. */
  minPasswordLength?: number;
}

export const PEER_MOUNT = '/scim/v2';

export class ScimPeer {
  readonly store = new ScimPeerStore();
  readonly token: string;
  readonly readOnlyToken: string;
  /** Every request that reached the peer (including refused ones), oldest first. */
  readonly requests: PeerRequest[] = [];
  readonly quirks: PeerQuirks = {
    ignoreStartIndex: false,
    ignoreCount: false,
    pastEnd: 'first-page',
    unfilterable: [],
  };
  etags: boolean;
  url = '';
  readonly #server: Server;
  readonly #basic: string | undefined;
  #failures: { status: number; headers: Record<string, string>; detail: string }[] = [];

  constructor(opts: ScimPeerOptions = {}) {
    declareResources();
    this.token = opts.token ?? randomUUID();
    this.readOnlyToken = opts.readOnlyToken ?? randomUUID();
    this.etags = opts.etags ?? true;
    this.store.minPasswordLength = opts.minPasswordLength ?? 0;
    this.#basic = opts.basic
      ? `Basic ${Buffer.from(`${opts.basic.username}:${opts.basic.password}`).toString('base64')}`
      : undefined;
    this.#server = createServer(this.#app());
    this.#server.on('connection', () => void this.connectionCount++);
  }

  /** TCP connections accepted since the peer started (keep-alive shows as far fewer than requests). */
  connectionCount = 0;

  /** Seconds the peer spent answering requests (from receiving one to finishing its response), summed. */
  busySeconds = 0;

  /** Requests answered since the peer started. */
  get requestCount(): number {
    return this.requests.length;
  }

  /** The next `n` requests get 429 Too Many Requests with this Retry-After value (seconds or an HTTP date). */
  throttle(n: number, retryAfter: string): void {
    this.failNext(n, 429, 'Too many requests, slow down', { 'Retry-After': retryAfter });
  }

  /** The next `n` requests get `status` with a SCIM error body. */
  failNext(n: number, status: number, detail: string, headers: Record<string, string> = {}): void {
    for (let i = 0; i < n; i++) this.#failures.push({ status, headers, detail });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}${PEER_MOUNT}`;
    return this;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #app(): express.Express {
    const app = express();
    app.set('etag', false); // the only ETags are the resources' versions
    app.set('x-powered-by', false);
    app.set('query parser', (qs: string) => this.#parseQuery(qs));
    app.use(express.json({ type: ['application/scim+json', 'application/json'] }));
    app.use(PEER_MOUNT, (req, res, next) => this.#front(req, res, next));
    app.use(
      PEER_MOUNT,
      new SCIMMYRouters({
        type: 'bearer',
        handler: (req) => this.#authenticate(req.header('Authorization')),
        context: () => this.store,
      }),
    );
    return app;
  }

  #parseQuery(qs: string): Record<string, unknown> {
    const q: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(parseQueryString(qs))) q[k] = Array.isArray(v) ? v[0] : v;
    for (const k of ['startIndex', 'count']) {
      if (typeof q[k] === 'string' && /^-?\d+$/.test(q[k])) q[k] = Number(q[k]);
    }
    if (this.quirks.ignoreStartIndex) delete q.startIndex;
    if (this.quirks.ignoreCount) delete q.count;
    return q;
  }

  #authenticate(header: string | undefined): string {
    if (header === `Bearer ${this.token}` || header === `Bearer ${this.readOnlyToken}`) return 'admin';
    if (this.#basic && header === this.#basic) return 'admin';
    throw new Error(header ? 'The credentials are not valid for this service' : 'Authorization is required');
  }

  /** Logging, injected failures, read-only tokens, preconditions, and the response rewriter. */
  #front(req: Request, res: Response, next: NextFunction): void {
    const query = Object.fromEntries(
      Object.entries(parseQueryString(req.url.split('?')[1] ?? '')).map(([k, v]) => [k, String(v)]),
    );
    const started = performance.now();
    res.on('finish', () => {
      this.busySeconds += (performance.now() - started) / 1000;
    });
    this.requests.push({
      method: req.method,
      path: req.path,
      query,
      ifMatch: req.header('If-Match'),
      body: req.body,
    });

    const failure = this.#failures.shift();
    if (failure) {
      res.status(failure.status).set(failure.headers);
      res.type('application/scim+json').send(errorBody(failure.status, null, failure.detail));
      return;
    }
    const write = req.method !== 'GET' && !(req.method === 'POST' && req.path.endsWith('/.search'));
    if (write && req.header('Authorization') === `Bearer ${this.readOnlyToken}`) {
      res
        .status(403)
        .type('application/scim+json')
        .send(errorBody(403, null, 'This token may only read'));
      return;
    }
    const filter = typeof query.filter === 'string' ? query.filter : '';
    const refused = this.quirks.unfilterable.find((a) => filter.toLowerCase().includes(a.toLowerCase()));
    if (refused) {
      res
        .status(400)
        .type('application/scim+json')
        .send(errorBody(400, 'invalidFilter', `Filtering on ${refused} is not supported`));
      return;
    }
    const target = /^\/(Users|Groups)\/([^/]+)$/.exec(req.path);
    const ifMatch = req.header('If-Match');
    if (this.etags && target && ifMatch && ['PUT', 'PATCH', 'DELETE'].includes(req.method)) {
      const current = this.store.get(target[1] as PeerResourceType, decodeURIComponent(target[2]!));
      const tags = ifMatch.split(',').map((t) => t.trim());
      if (current && !tags.includes('*') && !tags.includes(current.meta.version)) {
        res
          .status(412)
          .type('application/scim+json')
          .send(
            errorBody(
              412,
              null,
              `Resource changed: it is at version ${current.meta.version}, not ${ifMatch}`,
            ),
          );
        return;
      }
    }
    const json = res.json.bind(res);
    res.json = (body: unknown) => json(this.#shape(req, res, body));
    next();
  }

  #shape(req: Request, res: Response, body: unknown): unknown {
    if (body === null || typeof body !== 'object') return body;
    const doc = clone(body) as Json & {
      schemas?: string[];
      meta?: Partial<PeerMeta> & { location?: string };
    };
    const origin = `http://${req.header('host')}`;
    const fix = (r: Json & { meta?: { version?: string; location?: string } }) => {
      if (r.meta?.location?.startsWith('/')) r.meta.location = origin + r.meta.location;
      if (!this.etags && r.meta) delete r.meta.version;
    };
    const schemas = doc.schemas ?? [];
    if (schemas.includes(LIST_SCHEMA)) {
      const resources = (doc.Resources as Json[] | undefined) ?? [];
      resources.forEach(fix);
      const actual = Number(doc.totalResults);
      const start = Number(req.query.startIndex ?? 1);
      if (this.quirks.pastEnd === 'empty' && start > actual) doc.Resources = [];
      if (this.quirks.totalResults) doc.totalResults = this.quirks.totalResults(actual, resources.length);
    } else if (schemas.includes(SPC_SCHEMA)) {
      doc.etag = { supported: this.etags };
    } else if (!schemas.includes(ERROR_SCHEMA)) {
      fix(doc);
      if (this.etags && doc.meta?.version) res.setHeader('ETag', doc.meta.version);
      if (res.statusCode === 201 && doc.meta?.location) res.location(doc.meta.location);
    }
    return doc;
  }
}

function errorBody(status: number, scimType: string | null, detail: string): string {
  return JSON.stringify({
    schemas: [ERROR_SCHEMA],
    status: String(status),
    ...(scimType ? { scimType } : {}),
    detail,
  });
}

/** Start a peer on 127.0.0.1 with a free port. */
export async function startScimPeer(opts: ScimPeerOptions = {}): Promise<ScimPeer> {
  return new ScimPeer(opts).start();
}
