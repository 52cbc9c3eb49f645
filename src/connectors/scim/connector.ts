import type { Clock } from '../../kit/clock.ts';
import type { Logger } from '../../kit/log.ts';
import { ConnectorError, isConnectorError, unsupported } from '../kit/errors.ts';
import type {
  AttributeDelta,
  AttributeSchema,
  Attributes,
  Capability,
  Connector,
  ConnectorDeps,
  ConnectorObject,
  CreateOptions,
  ObjectClass,
  ObjectClassSchema,
  ObjectRef,
  Scalar,
  SearchQuery,
  Secret,
  SetPasswordOptions,
  SyncResult,
  TargetSchema,
  TestResult,
} from '../kit/types.ts';
import type { ScimConfig } from './config.ts';
import { compileFilter } from './filter.ts';
import { ScimHttp, type ScimResponse } from './http.ts';
import { deltaOps, needsRead, opName, patchBody, wholeAttributeOps, type PatchOperation } from './patch.ts';
import {
  applyDelta,
  assign,
  coreSchema,
  extract,
  flatten,
  formatPath,
  namingAttribute,
  parsePath,
  resolver,
  type Json,
  type ScimPath,
} from './paths.ts';
import { scimSync } from './sync.ts';

export const SCIM_CAPABILITIES: readonly Capability[] = [
  'test',
  'schema',
  'search',
  'create',
  'update',
  'rename',
  'delete',
  'enable',
  'disable',
  'setPassword',
  'groups',
  'sync',
];

/**
 * An ObjectRef may carry the ETag it was read at (`attributes['meta.version']` of a returned object). The SCIM
 * connector then makes the write conditional on it (If-Match) and a 412 becomes `conflict`.
 */
export type ScimObjectRef = ObjectRef & { version?: string };

export class ScimConnector implements Connector {
  readonly type = 'scim';
  readonly capabilities: ReadonlySet<Capability>;
  readonly #config: ScimConfig;
  readonly #http: ScimHttp;
  readonly #resolve: (name: string) => ScimPath;
  readonly #log: Logger;
  readonly #clock: Clock;
  #spc: Promise<Json | undefined> | undefined;

  constructor(config: ScimConfig, deps: ConnectorDeps) {
    this.#config = config;
    // Okta-built applications are deprovisioned, never deleted: see delete().
    this.capabilities = new Set(
      SCIM_CAPABILITIES.filter((c) => !(config.profile === 'okta' && c === 'delete')),
    );
    this.#log = deps.log.child({ connector: 'scim' });
    this.#clock = deps.clock;
    this.#http = new ScimHttp(config, this.#log, deps.clock);
    this.#resolve = resolver(config.attributeMapping);
  }

  // ---------------------------------------------------------------- reading

  async test(): Promise<TestResult> {
    const spc = await this.#serviceProviderConfig();
    // The service provider configuration may be public (RFC 7644 §4): a list request proves the credentials.
    const probe = await this.#http.request('GET', '/Users', {
      query: { startIndex: 1, count: 1 },
      about: 'the Users list',
    });
    const supported = (k: string) => {
      const v = (spc?.[k] as Json | undefined)?.supported;
      return typeof v === 'boolean' ? String(v) : 'not said';
    };
    const base = new URL(this.#config.baseUrl);
    return {
      ok: true,
      details: {
        server: `${base.host}${base.pathname.replace(/\/+$/, '')}`,
        profile: this.#config.profile,
        users: String((probe.body as Json | undefined)?.totalResults ?? 'unknown'),
        patch: supported('patch'),
        filter: supported('filter'),
        sort: supported('sort'),
        etag: supported('etag'),
        bulk: supported('bulk'),
        changePassword: supported('changePassword'),
      },
    };
  }

  async schema(): Promise<TargetSchema> {
    let definitions: Json[] = [];
    try {
      const res = await this.#http.request('GET', '/Schemas', { about: 'the schema list' });
      definitions = listOf(res.body);
    } catch (e) {
      if (!isConnectorError(e, 'not_found') && !isConnectorError(e, 'unsupported')) throw e;
      this.#log.info('the SCIM server has no /Schemas endpoint; describing the RFC 7643 core schema only');
    }
    const byId = new Map(definitions.map((d) => [String(d.id), d]));
    const classes: ObjectClassSchema[] = [];
    for (const objectClass of ['account', 'group'] as const) {
      const core = coreSchema(objectClass);
      const extensions = [...byId.keys()].filter(
        (id) =>
          objectClass === 'account' &&
          id.startsWith('urn:') &&
          id.includes(':extension:') &&
          id.endsWith(':User'),
      );
      const attributes: AttributeSchema[] = byId.has(core)
        ? describe(byId.get(core)!, undefined)
        : builtinAttributes(objectClass);
      for (const ext of extensions) attributes.push(...describe(byId.get(ext)!, ext));
      classes.push({ name: objectClass, nativeName: core, attributes: this.#aliased(attributes) });
    }
    return {
      objectClasses: classes,
      entitlementTypes: [{ name: 'group', objectClass: 'group', description: 'SCIM Groups (members)' }],
    };
  }

  /** Mapped attributes appear under their Gatehouse name. */
  #aliased(attributes: AttributeSchema[]): AttributeSchema[] {
    const aliasOf = new Map<string, string>();
    for (const [alias, path] of Object.entries(this.#config.attributeMapping ?? {})) {
      const p = parsePath(path);
      if (p) aliasOf.set(formatPath(p), alias);
    }
    return attributes.map((a) => (aliasOf.has(a.name) ? { ...a, name: aliasOf.get(a.name)! } : a));
  }

  async *search(query: SearchQuery): AsyncIterable<ConnectorObject> {
    const endpoint = endpointOf(query.objectClass);
    const filter = query.filter ? compileFilter(query.filter, this.#resolve) : undefined;
    const attributes = this.#attributesParam(query.objectClass, query.attributes);
    for await (const r of this.#list(endpoint, filter, attributes, query.pageSize ?? this.#config.pageSize)) {
      yield this.#toObject(r, query.objectClass, query.attributes);
    }
  }

  async get(ref: ObjectRef, attributes?: readonly string[]): Promise<ConnectorObject | undefined> {
    const endpoint = endpointOf(ref.objectClass);
    if (!ref.id) {
      if (!ref.name)
        throw new ConnectorError('schema_violation', 'an object reference needs an id or a name');
      const filter = compileFilter(
        { op: 'eq', attribute: namingAttribute(ref.objectClass), value: ref.name },
        this.#resolve,
      );
      for await (const r of this.#list(
        endpoint,
        filter,
        this.#attributesParam(ref.objectClass, attributes),
        2,
      )) {
        return this.#toObject(r, ref.objectClass, attributes);
      }
      return undefined;
    }
    try {
      const res = await this.#http.request('GET', `${endpoint}/${encodeURIComponent(ref.id)}`, {
        query: { attributes: this.#attributesParam(ref.objectClass, attributes) },
        about: about(ref),
      });
      return this.#toObject(resourceOf(res, about(ref)), ref.objectClass, attributes);
    } catch (e) {
      if (isConnectorError(e, 'not_found')) return undefined;
      throw e;
    }
  }

  /**
   * The SCIM `attributes` parameter for a requested set. The naming attribute, `active` and `groups` always come
   * along (for name, enabled and memberOf). Extension attributes make the request ask for everything instead:
   * some servers (SCIMMY among them) fail on URN-qualified names there; the result is narrowed here anyway.
   */
  #attributesParam(objectClass: ObjectClass, requested: readonly string[] | undefined): string | undefined {
    if (!requested) return undefined;
    const names = new Set<string>([namingAttribute(objectClass)]);
    if (objectClass === 'account') ['active', 'groups'].forEach((n) => names.add(n));
    for (const name of requested) {
      if (name === 'members' && objectClass === 'group') {
        names.add('members');
        continue;
      }
      const p = this.#resolve(name);
      if (p.urn) return undefined;
      if (p.attr.toLowerCase() !== 'meta') names.add(p.select || !p.sub ? p.attr : `${p.attr}.${p.sub}`);
    }
    return [...names].join(',');
  }

  /**
   * Page through a list with startIndex/count. Guards against servers that ignore count (pages of any size are
   * fine), that report a wrong totalResults (a full page at the claimed end is followed by one more request; an
   * empty page ends the list), or that ignore startIndex (a page of only already-seen resources ends the list if
   * the claimed total was reached, and is an error otherwise: silently truncated lists would look like deletions).
   */
  async *#list(
    endpoint: string,
    filter: string | undefined,
    attributes: string | undefined,
    count: number,
  ): AsyncGenerator<Json> {
    const seen = new Set<string>();
    let startIndex = 1;
    const what = `the ${endpoint.slice(1)} list`;
    for (;;) {
      const res = await this.#http.request('GET', endpoint, {
        query: { filter, attributes, startIndex, count },
        about: what,
      });
      const body = res.body as Json | undefined;
      const resources = listOf(body);
      const total = typeof body?.totalResults === 'number' ? body.totalResults : undefined;
      let fresh = 0;
      for (const r of resources) {
        const id = typeof r.id === 'string' || typeof r.id === 'number' ? String(r.id) : undefined;
        if (id === undefined)
          throw new ConnectorError(
            'target_error',
            `the SCIM server listed a resource without an id in ${what}`,
          );
        if (seen.has(id)) continue;
        seen.add(id);
        fresh++;
        yield r;
      }
      if (resources.length === 0) return;
      if (fresh === 0) {
        if (total !== undefined && seen.size >= total) return;
        throw new ConnectorError(
          'target_error',
          `the SCIM server served the same page again at startIndex ${startIndex} of ${what} ` +
            `(${seen.size} of ${total ?? 'an unknown number of'} resources read): it does not page; nothing more can be read`,
          { targetMessage: `totalResults ${total ?? 'absent'}, startIndex ${startIndex}, count ${count}` },
        );
      }
      startIndex += resources.length;
      if (total !== undefined && seen.size >= total && resources.length < count) return;
    }
  }

  #toObject(resource: Json, objectClass: ObjectClass, requested?: readonly string[]): ConnectorObject {
    const id = resource.id;
    if (typeof id !== 'string' && typeof id !== 'number')
      throw new ConnectorError('target_error', 'the SCIM server returned a resource without an id');
    const naming = namingAttribute(objectClass);
    const name = extract(resource, { attr: naming });
    let attributes: Attributes = flatten(resource);
    for (const [alias, path] of Object.entries(this.#config.attributeMapping ?? {})) {
      const p = parsePath(path)!;
      const v = extract(resource, p);
      delete attributes[formatPath(p)];
      if (v !== null && !(Array.isArray(v) && v.length === 0)) attributes[alias] = v;
    }
    const obj: ConnectorObject = {
      objectClass,
      id: String(id),
      name: typeof name === 'string' ? name : String(id),
      attributes,
    };
    if (objectClass === 'group') {
      const members = extract(resource, { attr: 'members' });
      if (Array.isArray(members) && members.length) attributes.members = members.map(String);
    } else {
      const active = extract(resource, { attr: 'active' });
      if (typeof active === 'boolean') obj.enabled = active;
      const login = this.#config.lastLoginAttribute
        ? extract(resource, parsePath(this.#config.lastLoginAttribute)!)
        : null;
      // Only a real date-time counts: anything else would make an account look inactive (or active) by accident.
      if (typeof login === 'string' && !Number.isNaN(Date.parse(login)))
        obj.lastLoginAt = new Date(login).toISOString();
      const groups = resource.groups;
      if (Array.isArray(groups)) {
        obj.memberOf = groups
          .filter(
            (g: Json) =>
              g && g.type !== 'indirect' && (typeof g.value === 'string' || typeof g.value === 'number'),
          )
          .map((g: Json) => String(g.value));
      }
    }
    if (requested) {
      const keep = new Set<string>(requested);
      attributes = Object.fromEntries(Object.entries(attributes).filter(([k]) => keep.has(k)));
      obj.attributes = attributes;
    }
    return obj;
  }

  // ---------------------------------------------------------------- writing

  async create(
    objectClass: ObjectClass,
    attributes: Attributes,
    options: CreateOptions = {},
  ): Promise<ConnectorObject> {
    const endpoint = endpointOf(objectClass);
    const body: Json = { schemas: [coreSchema(objectClass)] };
    for (const [name, value] of Object.entries(attributes)) {
      if (value === null) continue;
      const values = (Array.isArray(value) ? value : [value]) as Scalar[];
      if (name === 'members' && objectClass === 'group') {
        body.members = values.map((v) => ({ value: String(v) }));
        continue;
      }
      this.#assign(body, this.#resolve(name), values);
    }
    if (objectClass === 'account') {
      if (options.enabled !== undefined || !('active' in body)) body.active = options.enabled ?? true;
      if (options.password) body.password = options.password.reveal();
      if (options.mustChangePassword) this.#assign(body, this.#mustChangePath(), [true]);
    } else if (options.password || options.mustChangePassword) {
      throw new ConnectorError('schema_violation', 'SCIM groups have no password');
    }
    const what =
      `the new ${objectClass === 'group' ? 'group' : 'user'} ${String(body[namingAttribute(objectClass)] ?? '')}`.trim();
    const res = await this.#http.request('POST', endpoint, { body, about: what }).catch((e: unknown) => {
      throw options.password ? withoutSecret(e, options.password.reveal()) : e;
    });
    const created = res.body as Json | undefined;
    if (created && (typeof created.id === 'string' || typeof created.id === 'number'))
      return this.#toObject(created, objectClass);
    // A server may answer 201 with only a Location header.
    const location = res.headers.get('location');
    const id = location ? decodeURIComponent(location.replace(/\/+$/, '').split('/').pop() ?? '') : '';
    const found = id ? await this.get({ objectClass, id }) : undefined;
    if (!found)
      throw new ConnectorError('target_error', `the SCIM server created ${what} but did not say where`);
    return found;
  }

  #assign(body: Json, p: ScimPath, values: readonly Scalar[] | null): void {
    assign(body, p, values);
    if (p.urn && values?.length) {
      const schemas = (body.schemas as string[] | undefined) ?? [];
      if (!schemas.includes(p.urn)) body.schemas = [...schemas, p.urn];
    }
  }

  #mustChangePath(): ScimPath {
    const path = this.#config.mustChangePasswordAttribute;
    if (!path)
      throw unsupported(
        'scim',
        'require a password change at next sign-in',
        'SCIM 2.0 core has no such attribute; set mustChangePasswordAttribute to the attribute the application uses',
      );
    return parsePath(path)!;
  }

  async update(ref: ObjectRef, deltas: readonly AttributeDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    endpointOf(ref.objectClass);
    const items = deltas.map((d) => ({ delta: d, path: this.#resolve(d.attribute) }));
    const profile = this.#config.profile;
    if (profile === 'okta' && ref.objectClass === 'account') return this.#put(ref, items);
    if (items.some((i) => needsRead(i.path, i.delta, profile))) return this.#readModifyPatch(ref, items);
    const ops = items.flatMap((i) => deltaOps(i.path, i.delta, profile));
    if (ops.length) await this.#patch(ref, ops);
  }

  /** GET with its ETag (the header, else meta.version). */
  async #read(ref: ObjectRef): Promise<{ resource: Json; etag: string | undefined }> {
    const res = await this.#http.request('GET', this.#path(ref), { about: about(ref) });
    const resource = resourceOf(res, about(ref));
    const meta = resource.meta as Json | undefined;
    const etag = res.headers.get('etag') ?? (typeof meta?.version === 'string' ? meta.version : undefined);
    return { resource, etag };
  }

  async #readModifyPatch(ref: ObjectRef, items: { delta: AttributeDelta; path: ScimPath }[]): Promise<void> {
    const { resource, etag } = await this.#read(ref);
    const after = structuredClone(resource);
    for (const i of items) applyDelta(after, i.path, i.delta);
    const ops = wholeAttributeOps(
      resource,
      after,
      items.map((i) => i.path),
      this.#config.profile,
    );
    if (ops.length) await this.#patch(ref, ops, etag);
  }

  /** Okta-style profile update: the whole resource with PUT, conditional on the ETag read. */
  async #put(ref: ObjectRef, items: { delta: AttributeDelta; path: ScimPath }[]): Promise<void> {
    const { resource, etag } = await this.#read(ref);
    const after = structuredClone(resource);
    for (const i of items) applyDelta(after, i.path, i.delta);
    delete after.meta;
    delete after.groups;
    const schemas = new Set<string>((after.schemas as string[] | undefined) ?? [coreSchema(ref.objectClass)]);
    for (const i of items) if (i.path.urn) schemas.add(i.path.urn);
    after.schemas = [...schemas];
    await this.#http.request('PUT', this.#path(ref), {
      body: after,
      ifMatch: (ref as ScimObjectRef).version ?? etag,
      about: about(ref),
    });
  }

  async #patch(ref: ObjectRef, ops: PatchOperation[], etag?: string): Promise<void> {
    await this.#http.request('PATCH', this.#path(ref), {
      body: patchBody(ops),
      ifMatch: (ref as ScimObjectRef).version ?? etag,
      about: about(ref),
    });
  }

  #path(ref: ObjectRef): string {
    if (!ref.id)
      throw new ConnectorError('schema_violation', `${about(ref)}: a SCIM write needs the resource id`);
    return `${endpointOf(ref.objectClass)}/${encodeURIComponent(ref.id)}`;
  }

  async rename(ref: ObjectRef, newName: string): Promise<ObjectRef> {
    await this.update(ref, [
      { attribute: namingAttribute(ref.objectClass), op: 'replace', values: [newName] },
    ]);
    return { objectClass: ref.objectClass, id: ref.id, name: newName };
  }

  /**
   * DELETE. With profile okta, users are not deleted (Okta never deletes an application's users: it deactivates
   * them with active=false, which is disable() here), so the capability is not declared and deleting a user is
   * refused as unsupported; groups are still deleted, as Okta does.
   */
  async delete(ref: ObjectRef): Promise<void> {
    if (this.#config.profile === 'okta' && ref.objectClass === 'account')
      throw unsupported(
        'scim',
        'delete users with profile okta',
        'applications built for Okta deprovision users with active=false instead; use disable()',
      );
    await this.#http.request('DELETE', this.#path(ref), {
      ifMatch: (ref as ScimObjectRef).version,
      about: about(ref),
    });
  }

  enable(ref: ObjectRef): Promise<void> {
    return this.#setActive(ref, true);
  }

  disable(ref: ObjectRef): Promise<void> {
    return this.#setActive(ref, false);
  }

  async #setActive(ref: ObjectRef, active: boolean): Promise<void> {
    this.#accountOnly(ref, active ? 'enable' : 'disable');
    const profile = this.#config.profile;
    await this.#patch(
      ref,
      profile === 'okta'
        ? [{ op: 'replace', value: { active } }]
        : [{ op: opName('replace', profile), path: 'active', value: active }],
    );
  }

  async setPassword(ref: ObjectRef, password: Secret, options: SetPasswordOptions = {}): Promise<void> {
    this.#accountOnly(ref, 'set a password for');
    const profile = this.#config.profile;
    const ops: PatchOperation[] =
      profile === 'okta'
        ? [{ op: 'replace', value: { password: password.reveal() } }]
        : [{ op: opName('replace', profile), path: 'password', value: password.reveal() }];
    if (options.mustChangePassword)
      ops.push({ op: opName('replace', profile), path: formatPath(this.#mustChangePath()), value: true });
    try {
      await this.#patch(ref, ops);
    } catch (e) {
      const clean = withoutSecret(e, password.reveal());
      // A 400 on a request that only sets the password is the password policy speaking.
      if (isConnectorError(clean, 'schema_violation'))
        throw new ConnectorError(
          'policy_violation',
          `the SCIM server refused the new password for ${about(ref)}${clean.targetMessage ? `: ${clean.targetMessage}` : ''}`,
          { targetMessage: clean.targetMessage, details: clean.details },
        );
      throw clean;
    }
  }

  unlock(_ref: ObjectRef): Promise<void> {
    return Promise.reject(
      unsupported('scim', 'unlock', 'SCIM 2.0 has no lockout state: RFC 7643 defines only "active"'),
    );
  }

  async addMember(group: ObjectRef, member: ObjectRef): Promise<void> {
    this.#groupOnly(group);
    try {
      await this.update(group, [{ attribute: 'members', op: 'add', values: [member.id] }]);
    } catch (e) {
      // Servers refuse an unknown member with 400 (or 404, already not_found): say which object is missing.
      if (isConnectorError(e, 'schema_violation') && (await this.get(member).catch(() => null)) === undefined)
        throw new ConnectorError('not_found', `${about(member)} does not exist on the SCIM server`, {
          targetMessage: e.targetMessage,
          cause: e,
        });
      throw e;
    }
  }

  async removeMember(group: ObjectRef, member: ObjectRef): Promise<void> {
    this.#groupOnly(group);
    await this.update(group, [{ attribute: 'members', op: 'remove', values: [member.id] }]);
  }

  #accountOnly(ref: ObjectRef, what: string): void {
    if (ref.objectClass !== 'account')
      throw unsupported('scim', `${what} a ${ref.objectClass}`, 'only Users have it');
  }

  #groupOnly(ref: ObjectRef): void {
    if (ref.objectClass !== 'group')
      throw new ConnectorError(
        'schema_violation',
        `members can only be added to a group, not to a ${ref.objectClass}`,
      );
  }

  // ---------------------------------------------------------------- sync

  sync(objectClass: ObjectClass, token: string | null): Promise<SyncResult> {
    const endpoint = endpointOf(objectClass);
    return scimSync(
      {
        objectClass,
        mode: this.#config.sync.mode,
        overlapMs: this.#config.sync.overlapMs,
        list: (filter) => this.#list(endpoint, filter, undefined, this.#config.pageSize),
        toObject: (r) => this.#toObject(r, objectClass),
        probe: async () => {
          const res = await this.#http.request('GET', endpoint, {
            query: { startIndex: 1, count: 1 },
            about: `the ${endpoint.slice(1)} list`,
          });
          const date = Date.parse(res.headers.get('date') ?? '');
          return {
            now: Number.isNaN(date) ? this.#clock.now() : new Date(date),
            sample: listOf(res.body)[0],
          };
        },
        filterSupported: async () => {
          const v = ((await this.#serviceProviderConfig())?.filter as Json | undefined)?.supported;
          return typeof v === 'boolean' ? v : undefined;
        },
      },
      token,
    );
  }

  /** The service provider configuration, read once per connector (undefined when the server has none). */
  #serviceProviderConfig(): Promise<Json | undefined> {
    this.#spc ??= this.#http
      .request('GET', '/ServiceProviderConfig', { about: 'the service provider configuration' })
      .then((r) => r.body as Json | undefined)
      .catch((e: unknown) => {
        this.#spc = undefined;
        if (isConnectorError(e, 'not_found') || isConnectorError(e, 'unsupported')) return undefined;
        throw e;
      });
    return this.#spc;
  }

  async close(): Promise<void> {
    // fetch's connection pool is shared by the process; there is nothing of ours to close.
  }
}

/** The same error with a secret the server echoed (a refused password, say) blanked out of every text. */
function withoutSecret(e: unknown, secret: string): unknown {
  if (!isConnectorError(e) || !secret) return e;
  const scrub = (t: string) => t.split(secret).join('[redacted]');
  if (!e.message.includes(secret) && !e.targetMessage?.includes(secret)) return e;
  return new ConnectorError(e.code, scrub(e.message), {
    ...(e.targetMessage === undefined ? {} : { targetMessage: scrub(e.targetMessage) }),
    ...(e.retryAfterMs === undefined ? {} : { retryAfterMs: e.retryAfterMs }),
    retryable: e.retryable,
    details: Object.fromEntries(Object.entries(e.details).filter(([k]) => k !== 'targetMessage')),
  });
}

function endpointOf(objectClass: ObjectClass): '/Users' | '/Groups' {
  if (objectClass === 'account') return '/Users';
  if (objectClass === 'group') return '/Groups';
  throw unsupported(
    'scim',
    `handle "${objectClass}" objects`,
    'it maps account to /Users and group to /Groups',
  );
}

function about(ref: ObjectRef): string {
  return `${ref.objectClass === 'group' ? 'group' : 'user'} ${ref.name ?? ref.id}`;
}

function resourceOf(res: ScimResponse, what: string): Json {
  const body = res.body;
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new ConnectorError('target_error', `the SCIM server answered ${what} without a resource`);
  return body as Json;
}

function listOf(body: unknown): Json[] {
  if (Array.isArray(body)) return body as Json[];
  if (!body || typeof body !== 'object') return [];
  const b = body as Json;
  const resources = b.Resources ?? b.resources;
  return Array.isArray(resources) ? resources.filter((r): r is Json => !!r && typeof r === 'object') : [];
}

const TYPE_OF: Record<string, AttributeSchema['type']> = {
  string: 'string',
  boolean: 'boolean',
  integer: 'integer',
  decimal: 'string',
  datetime: 'datetime',
  binary: 'binary',
  reference: 'reference',
};

/** RFC 7643 §7 schema definitions → the kit's flat attribute list (with the paths this connector reads). */
function describe(definition: Json, urn: string | undefined): AttributeSchema[] {
  const out: AttributeSchema[] = [];
  const prefix = urn ? `${urn}:` : '';
  const attrs = Array.isArray(definition.attributes) ? (definition.attributes as Json[]) : [];
  for (const a of attrs) {
    const name = String(a.name);
    if (name === 'password' && !urn) continue;
    const entry = (
      n: string,
      x: Json,
      multiValued: boolean,
      required = Boolean(x.required),
    ): AttributeSchema => ({
      name: n,
      type: TYPE_OF[String(x.type).toLowerCase()] ?? 'string',
      multiValued,
      required,
      writable: x.mutability !== 'readOnly',
      ...(typeof x.description === 'string' ? { description: x.description } : {}),
    });
    if (String(a.type).toLowerCase() !== 'complex') {
      out.push(entry(prefix + name, a, Boolean(a.multiValued)));
      continue;
    }
    const subs = Array.isArray(a.subAttributes) ? (a.subAttributes as Json[]) : [];
    if (!a.multiValued) {
      for (const s of subs)
        out.push(
          entry(
            `${prefix}${name}.${String(s.name)}`,
            { ...s, mutability: a.mutability === 'readOnly' ? 'readOnly' : s.mutability },
            false,
          ),
        );
      continue;
    }
    if (name === 'groups' || name === 'members') {
      out.push(entry(name, { ...a, type: 'reference' }, true, false));
      continue;
    }
    const typeSub = subs.find((s) => s.name === 'type');
    const types = Array.isArray(typeSub?.canonicalValues) ? (typeSub!.canonicalValues as string[]) : [];
    const valueSubs = subs.filter((s) => !['type', 'primary', 'display', '$ref'].includes(String(s.name)));
    if (types.length === 0) {
      for (const s of valueSubs) out.push(entry(`${prefix}${name}.${String(s.name)}`, s, true));
      continue;
    }
    for (const t of types) {
      for (const s of valueSubs)
        out.push(entry(`${prefix}${name}[type eq ${JSON.stringify(t)}].${String(s.name)}`, s, false));
    }
  }
  for (const [k, type] of [
    ['meta.created', 'datetime'],
    ['meta.lastModified', 'datetime'],
    ['meta.version', 'string'],
  ] as const) {
    if (!urn) out.push({ name: k, type, multiValued: false, required: false, writable: false });
  }
  return out;
}

/** When the server has no /Schemas: the RFC 7643 core attributes this connector reads and writes. */
function builtinAttributes(objectClass: ObjectClass): AttributeSchema[] {
  const s = (name: string, extra: Partial<AttributeSchema> = {}): AttributeSchema => ({
    name,
    type: 'string',
    multiValued: false,
    required: false,
    writable: true,
    ...extra,
  });
  if (objectClass === 'group')
    return [
      s('displayName', { required: true }),
      s('externalId'),
      s('members', { type: 'reference', multiValued: true }),
    ];
  return [
    s('userName', { required: true }),
    s('externalId'),
    s('displayName'),
    s('name.givenName'),
    s('name.familyName'),
    s('name.formatted'),
    s('title'),
    s('active', { type: 'boolean' }),
    s('emails[type eq "work"].value'),
    s('phoneNumbers[type eq "work"].value'),
    s('groups', { type: 'reference', multiValued: true, writable: false }),
  ];
}
