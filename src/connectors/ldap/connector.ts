/**
 * The LDAP connector (OpenLDAP and other RFC 4511 directories): accounts are inetOrgPerson entries (optionally
 * posixAccount) under `usersDn`, groups are groupOfNames under `groupsDn`. An object's `id` is its entryUUID, its
 * `name` its DN as the server reports it.
 *
 * Choices worth knowing (see docs/design/004-connectors.md, "LDAP connector"):
 * - Writes addressed by DN carry an RFC 4528 assertion `(entryUUID=<id>)`, so a stale DN that now names another
 *   entry is refused by the server (assertionFailed) instead of changing the wrong entry; the connector then finds
 *   the entry by entryUUID and retries once. Servers without the assertion control get a lookup first.
 * - Disabled = ppolicy `pwdAccountLockedTime: 000001010000Z` (ppolicy's "locked until an administrator unlocks").
 *   A lockout after failed binds carries a real time instead; `unlock` removes only that, `enable` only the former.
 * - Passwords are set with the RFC 3062 password-modify extended operation (the server hashes and checks policy);
 *   "must change" is ppolicy `pwdReset: TRUE`.
 * - groupOfNames requires a member: an empty group holds `groups.emptyMember` (the empty DN), hidden on read.
 * - Concurrent addMember/removeMember calls for one group are merged into one modify after one lookup by entryUUID
 *   (coalesce.ts, shared with the Active Directory connector); a merged modify that fails is retried member by member.
 *   DNs the directory gave within `recentDnMs` (an add's post-read, a rename, a search) are not looked up again
 *   (recent.ts).
 * - sync reports upserts by modifyTimestamp (+ entryCSN); deletions are not reported (see sync.ts).
 */
import { ConnectorError, unsupported } from '../kit/errors.ts';
import {
  ALL_CAPABILITIES,
  Secret,
  type AttributeDelta,
  type Attributes,
  type Capability,
  type Connector,
  type ConnectorDeps,
  type ConnectorObject,
  type CreateOptions,
  type ObjectClass,
  type ObjectRef,
  type Scalar,
  type SearchQuery,
  type SetPasswordOptions,
  type SyncChange,
  type SyncResult,
  type TargetSchema,
  type TestResult,
} from '../kit/types.ts';
import type { Logger } from '../../kit/log.ts';
import {
  AssertionControl,
  LdapClient,
  PostReadControl,
  binaryValues,
  first,
  values,
  PAGED_RESULTS_OID,
  PASSWORD_MODIFY_OID,
  type CallOptions,
  type LdapEntry,
  type LdapModification,
} from './client.ts';
import type { LdapConfig } from './config.ts';
import {
  childDn,
  compileFilter,
  escapeFilterValue,
  formatRdn,
  isValidDn,
  parseDn,
  formatDn,
  rdn,
  listOf,
  scalarText,
  type Rdn,
} from './escape.ts';
import { Coalescer } from './coalesce.ts';
import { RecentDns } from './recent.ts';
import { Subschema } from './schema.ts';
import {
  compareKeys,
  decodeToken,
  encodeToken,
  generalizedTime,
  normalizeTime,
  type SyncPosition,
} from './sync.ts';

export const LDAP_CAPABILITIES: readonly Capability[] = ALL_CAPABILITIES;

/** ppolicy: "locked until an administrator unlocks it" — our disabled flag. */
export const DISABLED_LOCK_TIME = '000001010000Z';

/** Attributes with binary syntaxes in the standard schemas: read and written as base64 text. */
const BINARY_ATTRIBUTES = [
  'jpegPhoto',
  'photo',
  'audio',
  'userCertificate',
  'cACertificate',
  'userSMIMECertificate',
  'userPKCS12',
  'certificateRevocationList',
  'authorityRevocationList',
  'deltaRevocationList',
  'crossCertificatePair',
];
const BINARY = new Set(BINARY_ATTRIBUTES.map((a) => a.toLowerCase()));

/** Operational attributes read with every object (mapped to id, enabled, locked, memberOf; not returned as such). */
const OPERATIONAL = ['entryUUID', 'memberOf', 'pwdAccountLockedTime', 'modifyTimestamp', 'entryCSN'];
const HIDDEN = new Set(['userpassword', 'entryuuid', 'pwdaccountlockedtime', 'entrycsn', 'modifytimestamp']);
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A write failure that a DN gone stale could explain: noSuchObject (the group was renamed or deleted), or
 * constraintViolation (memberof's `dangling error` refusing a member DN that names no entry).
 */
function staleDn(e: unknown): boolean {
  const rc = e instanceof ConnectorError ? Number(e.details.resultCode) : NaN;
  return rc === 32 || rc === 19;
}

/** What names an object for merging member changes: its entryUUID when it has one, else the ref as given. */
function refKey(ref: ObjectRef): string {
  return ref.id && UUID_RE.test(ref.id) ? ref.id.toLowerCase() : `ref\u0000${ref.id}\u0000${ref.name ?? ''}`;
}

interface Kind {
  objectClass: 'account' | 'group';
  container: string;
  /** Structural class used to recognise (and search) objects of this kind. */
  structural: string;
  classes: string[];
  naming: string;
}

/** One addMember/removeMember waiting to be merged with others for the same group. */
interface MemberChange {
  op: 'add' | 'remove';
  gk: Kind;
  group: ObjectRef;
  mk: Kind;
  member: ObjectRef;
}

export class LdapConnector implements Connector {
  readonly type = 'ldap';
  readonly capabilities: ReadonlySet<Capability> = new Set(LDAP_CAPABILITIES);
  readonly #cfg: LdapConfig;
  readonly #log: Logger;
  readonly #deps: ConnectorDeps;
  readonly #client: LdapClient;
  #schema: Promise<Subschema | undefined> | undefined;
  /** False once the server refused the assertion control (then writes look the entry up first). */
  #assertions = true;
  /** DNs the directory gave a moment ago, by entryUUID, for member writes (see recent.ts). */
  readonly #recent: RecentDns;

  constructor(cfg: LdapConfig, deps: ConnectorDeps) {
    this.#cfg = cfg;
    this.#deps = deps;
    this.#recent = new RecentDns(cfg.recentDnMs, () => deps.clock.now().getTime());
    this.#log = deps.log.child({ connector: 'ldap', url: cfg.url });
    const mode = cfg.tls.mode ?? (/^ldaps:/i.test(cfg.url) ? 'ldaps' : 'none');
    this.#client = new LdapClient({
      url: cfg.url,
      tls: {
        mode,
        rejectUnauthorized: cfg.tls.rejectUnauthorized,
        ...(cfg.tls.ca ? { ca: cfg.tls.ca } : {}),
      },
      bindDn: cfg.bindDn,
      bindPassword: new Secret(cfg.bindPassword),
      timeoutMs: cfg.timeoutMs,
      connectTimeoutMs: cfg.connectTimeoutMs,
    });
  }

  /** The underlying client (for tests and tools that need a raw LDAP call). */
  get client(): LdapClient {
    return this.#client;
  }

  #kind(objectClass: ObjectClass): Kind {
    if (objectClass === 'account') {
      const classes = [...this.#cfg.accounts.objectClasses];
      if (this.#cfg.accounts.posix && !classes.some((c) => c.toLowerCase() === 'posixaccount'))
        classes.push('posixAccount');
      return {
        objectClass: 'account',
        container: this.#cfg.usersDn,
        structural: this.#cfg.accounts.objectClasses[0]!,
        classes,
        naming: this.#cfg.accounts.namingAttribute,
      };
    }
    if (objectClass === 'group') {
      return {
        objectClass: 'group',
        container: this.#cfg.groupsDn,
        structural: 'groupOfNames',
        classes: ['groupOfNames'],
        naming: this.#cfg.groups.namingAttribute,
      };
    }
    throw unsupported('ldap', `handle object class "${objectClass}"`, 'only account and group are mapped');
  }

  #isKind(kind: Kind, e: LdapEntry): boolean {
    const oc = values(e, 'objectClass').map((c) => c.toLowerCase());
    return oc.length === 0 || oc.includes(kind.structural.toLowerCase());
  }

  // ----- reading -------------------------------------------------------------------------------------------------

  /** The subschema, read once per connector (for single-valued attributes and schema()). */
  #subschema(): Promise<Subschema | undefined> {
    this.#schema ??= (async () => {
      try {
        const root = await this.#client.read('', ['subschemaSubentry']);
        const dn = (root && first(root, 'subschemaSubentry')) ?? 'cn=Subschema';
        const e = await this.#client.read(dn, ['attributeTypes', 'objectClasses']);
        if (!e) return undefined;
        return new Subschema(values(e, 'attributeTypes'), values(e, 'objectClasses'));
      } catch (err) {
        this.#schema = undefined;
        throw err;
      }
    })();
    return this.#schema;
  }

  #requested(attributes?: readonly string[]): string[] {
    return attributes && attributes.length
      ? [...new Set([...attributes, ...OPERATIONAL, 'objectClass'])]
      : ['*', ...OPERATIONAL];
  }

  /** Group DNs → entryUUIDs, looked up once per call (`cache`). */
  async #groupIds(
    dns: readonly string[],
    cache: Map<string, Promise<string | undefined>>,
  ): Promise<string[]> {
    const ids = await Promise.all(
      dns.map((dn) => {
        let p = cache.get(dn.toLowerCase());
        if (!p) {
          p = this.#client.read(dn, ['entryUUID']).then((e) => (e ? first(e, 'entryUUID') : undefined));
          cache.set(dn.toLowerCase(), p);
        }
        return p;
      }),
    );
    return ids.filter((x): x is string => x !== undefined);
  }

  async #toObject(
    kind: Kind,
    e: LdapEntry,
    requested: readonly string[] | undefined,
    cache: Map<string, Promise<string | undefined>>,
  ): Promise<ConnectorObject> {
    const schema = await this.#subschema().catch(() => undefined);
    const want = requested && requested.length ? new Set(requested.map((a) => a.toLowerCase())) : undefined;
    const attributes: Attributes = {};
    const put = (name: string, list: string[]) => {
      const lc = name.toLowerCase();
      if (want ? !want.has(lc) : HIDDEN.has(lc) || lc === 'memberof') return;
      if (lc === 'userpassword') return;
      const single = schema?.attribute(name)?.singleValue ?? list.length === 1;
      attributes[name] = single && list.length === 1 ? list[0]! : list;
    };
    for (const [name, list] of Object.entries(e.attributes)) {
      if (kind.objectClass === 'group' && name.toLowerCase() === 'member') {
        put(
          name,
          list.filter((m) => m !== this.#cfg.groups.emptyMember),
        );
      } else put(name, list);
    }
    for (const name of Object.keys(e.binary))
      put(
        name,
        binaryValues(e, name).map((b) => b.toString('base64')),
      );
    const obj: ConnectorObject = {
      objectClass: kind.objectClass,
      id: first(e, 'entryUUID') ?? '',
      name: e.dn,
      attributes,
    };
    if (kind.objectClass === 'account') {
      const lock = first(e, 'pwdAccountLockedTime');
      obj.enabled = lock !== DISABLED_LOCK_TIME;
      obj.locked = lock !== undefined && lock !== DISABLED_LOCK_TIME;
      obj.memberOf = await this.#groupIds(values(e, 'memberOf'), cache);
    }
    return obj;
  }

  /** Find the entry for a ref: by DN when it still holds the same entryUUID, else by entryUUID. */
  async #find(
    kind: Kind,
    ref: ObjectRef,
    attributes: readonly string[],
    byIdOnly = false,
  ): Promise<LdapEntry | undefined> {
    const attrs = [...new Set([...attributes.filter((a) => a !== '1.1'), 'entryUUID', 'objectClass'])];
    if (!byIdOnly && ref.name && isValidDn(ref.name)) {
      let e: LdapEntry | undefined;
      try {
        e = await this.#client.read(ref.name, attrs, BINARY_ATTRIBUTES);
      } catch (err) {
        if (!(err instanceof ConnectorError && err.code === 'schema_violation')) throw err;
      }
      if (
        e &&
        this.#isKind(kind, e) &&
        (!ref.id || first(e, 'entryUUID')?.toLowerCase() === ref.id.toLowerCase())
      )
        return this.#seen(kind, e);
    }
    if (!ref.id || !UUID_RE.test(ref.id)) return undefined;
    const found = await this.#client.searchAll(this.#cfg.baseDn, {
      scope: 'sub',
      filter: `(entryUUID=${escapeFilterValue(ref.id)})`,
      attributes: attrs,
      binaryAttributes: BINARY_ATTRIBUTES,
      pageSize: 0,
    });
    const e = found.find((x) => this.#isKind(kind, x));
    return e && this.#seen(kind, e);
  }

  /** Note where the directory says an entry is (for member writes, see recent.ts). */
  #seen(kind: Kind, e: LdapEntry): LdapEntry {
    const id = first(e, 'entryUUID');
    if (id) this.#recent.remember(id, kind.objectClass, e.dn);
    return e;
  }

  #notFound(kind: Kind, ref: ObjectRef): ConnectorError {
    return new ConnectorError(
      'not_found',
      `the ${kind.objectClass} ${ref.name ?? ref.id} does not exist in the directory (looked up by DN and by entryUUID ${ref.id || '—'})`,
      { details: { id: ref.id, ...(ref.name ? { dn: ref.name } : {}) } },
    );
  }

  /**
   * The current DNs of several objects: those the directory gave a moment ago (`recent`, see recent.ts) as they
   * are, the rest in one search by entryUUID when every ref has one (else one lookup each). `recent` in the answer
   * says whether any DN came from memory. Throws not_found naming the first that is missing.
   */
  async #dnsOf(
    refs: readonly [Kind, ObjectRef][],
    recent: boolean,
  ): Promise<{ dns: string[]; recent: boolean }> {
    const known = refs.map(([kind, r]) =>
      recent && r.id && UUID_RE.test(r.id) ? this.#recent.get(r.id, kind.objectClass) : undefined,
    );
    const missing = refs.filter((_, i) => known[i] === undefined);
    const recentUsed = missing.length < refs.length;
    let dns: string[];
    if (missing.length === 0) dns = known as string[];
    else if (missing.every(([, r]) => r.id && UUID_RE.test(r.id))) {
      const found = await this.#client.searchAll(this.#cfg.baseDn, {
        scope: 'sub',
        filter: `(|${missing.map(([, r]) => `(entryUUID=${escapeFilterValue(r.id)})`).join('')})`,
        attributes: ['entryUUID', 'objectClass'],
        pageSize: 0,
      });
      dns = refs.map(([kind, r], i) => {
        if (known[i] !== undefined) return known[i];
        const e = found.find((x) => first(x, 'entryUUID')?.toLowerCase() === r.id.toLowerCase());
        if (!e || !this.#isKind(kind, e)) throw this.#notFound(kind, r);
        return this.#seen(kind, e).dn;
      });
    } else dns = await Promise.all(refs.map(([kind, r], i) => known[i] ?? this.#dnOf(kind, r)));
    return { dns, recent: recentUsed };
  }

  /** Forget the DNs of these refs: a write to them failed in a way a stale DN could explain. */
  #forget(refs: readonly ObjectRef[]): void {
    for (const r of refs) if (r.id) this.#recent.forget(r.id);
  }

  async #dnOf(kind: Kind, ref: ObjectRef): Promise<string> {
    const e = await this.#find(kind, ref, []);
    if (!e) throw this.#notFound(kind, ref);
    return e.dn;
  }

  /**
   * Run a write addressed by DN. With `assert`, the DN in the ref is tried first, guarded by an assertion control
   * `(entryUUID=<id>)`; if that entry is gone or is another one now, the entry is found by id and the write retried.
   * Without it (or on a server without the control) the entry is looked up first.
   *
   * Not for writes that make the memberof overlay change other entries (group members, renames, deletes): OpenLDAP
   * 2.5's memberof passes the request's controls on to those internal modifications, where the assertion fails and
   * the memberOf update is silently skipped.
   */
  async #write<T>(
    kind: Kind,
    ref: ObjectRef,
    assert: boolean,
    op: (dn: string, opts: CallOptions) => Promise<T>,
  ): Promise<T> {
    const guarded = assert && this.#assertions && Boolean(ref.id && UUID_RE.test(ref.id));
    const guard = (): CallOptions =>
      guarded && this.#assertions
        ? { controls: [new AssertionControl(`(entryUUID=${escapeFilterValue(ref.id)})`)] }
        : {};
    const fast = guarded && Boolean(ref.name && isValidDn(ref.name));
    if (fast) {
      try {
        return await op(ref.name!, guard());
      } catch (e) {
        const rc = e instanceof ConnectorError ? e.details.resultCode : undefined;
        if (rc === 12) {
          this.#assertions = false;
          this.#log.info(
            'the directory does not support the assertion control; looking entries up before writes',
          );
        } else if (rc !== 32 && rc !== 122) throw e;
      }
    }
    const e = await this.#find(kind, ref, [], fast && this.#assertions);
    if (!e) throw this.#notFound(kind, ref);
    return op(e.dn, guard());
  }

  async get(ref: ObjectRef, attributes?: readonly string[]): Promise<ConnectorObject | undefined> {
    const kind = this.#kind(ref.objectClass);
    const e = await this.#find(kind, ref, this.#requested(attributes));
    return e ? this.#toObject(kind, e, attributes, new Map()) : undefined;
  }

  async *search(query: SearchQuery): AsyncIterable<ConnectorObject> {
    const kind = this.#kind(query.objectClass);
    const base = `(objectClass=${escapeFilterValue(kind.structural)})`;
    const filter = query.filter
      ? `(&${base}${compileFilter(query.filter, (a) => (a === 'id' ? 'entryUUID' : a))})`
      : base;
    const cache = new Map<string, Promise<string | undefined>>();
    for await (const e of this.#client.search(kind.container, {
      scope: 'sub',
      filter,
      attributes: this.#requested(query.attributes),
      binaryAttributes: BINARY_ATTRIBUTES,
      pageSize: query.pageSize ?? this.#cfg.pageSize,
    })) {
      yield await this.#toObject(kind, e, query.attributes, cache);
    }
  }

  // ----- writing -------------------------------------------------------------------------------------------------

  #encode(attribute: string, list: readonly Scalar[]): (string | Buffer)[] {
    const binary = BINARY.has(attribute.toLowerCase()) || /;binary$/i.test(attribute);
    return list.map((v) => (binary ? Buffer.from(String(v), 'base64') : scalarText(v)));
  }

  #refusePassword(attribute: string, dn: string): void {
    if (attribute.toLowerCase() === 'userpassword')
      throw new ConnectorError(
        'schema_violation',
        `userPassword cannot be written as an attribute of ${dn}: set passwords with setPassword (the server hashes them)`,
        { details: { dn, attribute } },
      );
  }

  async #allocateUidNumber(): Promise<number> {
    const posix = this.#cfg.accounts.posix!;
    const counter = posix.counterDn ?? `cn=gatehouse-uid-next,${this.#cfg.baseDn}`;
    for (let attempt = 0; attempt < 20; attempt++) {
      const e = await this.#client.read(counter, ['uidNumber']);
      if (!e) {
        try {
          await this.#client.add(
            counter,
            {
              objectClass: ['organizationalRole', 'extensibleObject'],
              cn: [parseDn(counter)[0]?.[0]?.value ?? 'gatehouse-uid-next'],
              uidNumber: [String(posix.uidNumberStart)],
            },
            { operation: 'create the uidNumber counter' },
          );
        } catch (err) {
          if (!(err instanceof ConnectorError && err.code === 'already_exists')) throw err;
        }
        continue;
      }
      const current = Number(first(e, 'uidNumber'));
      if (!Number.isSafeInteger(current))
        throw new ConnectorError('target_error', `the uidNumber counter ${counter} holds no number`, {
          details: { dn: counter, attribute: 'uidNumber' },
        });
      try {
        // Atomic compare-and-swap: the delete of the exact value fails if another writer took it first.
        await this.#client.modify(
          counter,
          [
            { operation: 'delete', attribute: 'uidNumber', values: [String(current)] },
            { operation: 'add', attribute: 'uidNumber', values: [String(current + 1)] },
          ],
          { operation: 'allocate a uidNumber' },
        );
        return current;
      } catch (err) {
        if (err instanceof ConnectorError && err.code === 'conflict') continue;
        throw err;
      }
    }
    throw new ConnectorError(
      'conflict',
      'could not allocate a uidNumber: the counter kept changing under us',
      {
        retryable: true,
      },
    );
  }

  async create(
    objectClass: ObjectClass,
    attributes: Attributes,
    options: CreateOptions = {},
  ): Promise<ConnectorObject> {
    const kind = this.#kind(objectClass);
    const entry: Record<string, (string | Buffer)[]> = {};
    const lc = new Map<string, string>();
    for (const [name, value] of Object.entries(attributes)) {
      const list = listOf(value);
      if (list.length === 0) continue;
      const key = lc.get(name.toLowerCase()) ?? name;
      lc.set(name.toLowerCase(), key);
      entry[key] = [...(entry[key] ?? []), ...this.#encode(name, list)];
    }
    const namingValue = entry[lc.get(kind.naming.toLowerCase()) ?? kind.naming]?.[0];
    if (typeof namingValue !== 'string' || namingValue === '')
      throw new ConnectorError(
        'schema_violation',
        `a new ${kind.objectClass} needs the naming attribute ${kind.naming} (its DN is ${kind.naming}=<value>,${kind.container})`,
        { details: { attribute: kind.naming } },
      );
    const dn = childDn(rdn(kind.naming, namingValue), kind.container);
    if (lc.has('userpassword')) this.#refusePassword('userPassword', dn);
    const ocKey = lc.get('objectclass') ?? 'objectClass';
    const classes = new Map<string, string>();
    for (const c of [...kind.classes, ...((entry[ocKey] ?? []) as string[])]) classes.set(c.toLowerCase(), c);
    delete entry[ocKey];
    entry.objectClass = [...classes.values()];

    if (kind.objectClass === 'account') {
      const posix = this.#cfg.accounts.posix;
      if (posix) {
        const uid = (entry[lc.get('uid') ?? 'uid']?.[0] as string | undefined) ?? namingValue;
        if (!lc.has('uid')) entry.uid = [uid];
        if (!lc.has('uidnumber')) entry.uidNumber = [String(await this.#allocateUidNumber())];
        if (!lc.has('gidnumber')) entry.gidNumber = [String(posix.gidNumber)];
        if (!lc.has('homedirectory')) entry.homeDirectory = [posix.homeDirectory.replaceAll('{uid}', uid)];
        if (!lc.has('loginshell') && posix.loginShell) entry.loginShell = [posix.loginShell];
      }
      if (options.enabled === false) entry.pwdAccountLockedTime = [DISABLED_LOCK_TIME];
    } else {
      const memberKey = lc.get('member') ?? 'member';
      if (!entry[memberKey]?.length) entry[memberKey] = [this.#cfg.groups.emptyMember];
    }

    // The post-read control returns the new entry (entryUUID, the server's DN) with the add's response.
    const post = new PostReadControl(this.#requested(), BINARY_ATTRIBUTES);
    await this.#client.add(dn, entry, {
      operation: `create ${kind.objectClass}`,
      attribute: Object.keys(entry),
      controls: [post],
    });
    const ref: ObjectRef = { objectClass: kind.objectClass, id: '', name: dn };
    if (options.password) {
      try {
        await this.#setPasswordAt(dn, options.password, {
          mustChange: options.mustChangePassword ?? false,
          disabled: options.enabled === false,
        });
      } catch (e) {
        // Do not leave a half-made account behind: the caller retries the whole create.
        await this.#client
          .del(dn)
          .catch((err: unknown) =>
            this.#log.warn(
              { dn, err: String(err) },
              'could not remove the account whose password was refused',
            ),
          );
        throw e;
      }
    } else if (options.mustChangePassword) {
      await this.#client.modify(dn, [{ operation: 'replace', attribute: 'pwdReset', values: ['TRUE'] }]);
    }
    const created = post.entry
      ? await this.#toObject(kind, post.entry, undefined, new Map())
      : await this.get(ref);
    if (!created) throw this.#notFound(kind, ref);
    this.#recent.remember(created.id, kind.objectClass, created.name);
    this.#log.debug({ dn, id: created.id }, `created ${kind.objectClass}`);
    return created;
  }

  async update(ref: ObjectRef, deltas: readonly AttributeDelta[]): Promise<void> {
    const kind = this.#kind(ref.objectClass);
    if (deltas.length === 0) return;
    const changes: LdapModification[] = deltas.map((d) => {
      this.#refusePassword(d.attribute, ref.name ?? ref.id);
      const encoded = this.#encode(d.attribute, d.values);
      if (
        kind.objectClass === 'group' &&
        d.attribute.toLowerCase() === 'member' &&
        d.op === 'replace' &&
        encoded.length === 0
      )
        encoded.push(this.#cfg.groups.emptyMember);
      return {
        operation: d.op === 'remove' ? 'delete' : d.op,
        attribute: d.attribute,
        values: encoded,
      };
    });
    await this.#write(kind, ref, kind.objectClass === 'account', (dn, opts) =>
      this.#client.modify(dn, changes, { operation: `update ${kind.objectClass}`, ...opts }),
    );
  }

  async rename(ref: ObjectRef, newName: string): Promise<ObjectRef> {
    const kind = this.#kind(ref.objectClass);
    // A DN or RDN when it parses as one (`uid=new` or `uid=new,ou=elsewhere,…`), else a bare value for the naming
    // attribute in the same container ("Smith, John", "a=b c").
    let target: Rdn[];
    try {
      target = parseDn(newName);
    } catch {
      target = [[{ type: kind.naming, value: newName }]];
    }
    if (target.length === 0)
      throw new ConnectorError('schema_violation', 'rename needs a new name (an RDN or a DN)');
    const newRdn = formatRdn(target[0]!);
    const newParent = target.length > 1 ? formatDn(target.slice(1)) : undefined;
    let newDn = '';
    await this.#write(kind, ref, false, async (dn, opts) => {
      const parent = newParent ?? formatDn(parseDn(dn).slice(1));
      newDn = childDn(newRdn, parent);
      await this.#client.rename(dn, newRdn, parent, {
        operation: `rename ${kind.objectClass} to ${newDn}`,
        ...opts,
      });
    });
    const e = await this.#find(kind, { objectClass: kind.objectClass, id: ref.id, name: newDn }, []);
    if (!e) throw this.#notFound(kind, { ...ref, name: newDn });
    return { objectClass: kind.objectClass, id: first(e, 'entryUUID') ?? ref.id, name: e.dn };
  }

  async delete(ref: ObjectRef): Promise<void> {
    const kind = this.#kind(ref.objectClass);
    await this.#write(kind, ref, false, async (dn, opts) => {
      await this.#client.del(dn, { operation: `delete ${kind.objectClass}`, ...opts });
      this.#recent.forgetDn(dn); // the entry deleted, whether or not the ref carried its id
    });
    this.#forget([ref]);
  }

  async disable(ref: ObjectRef): Promise<void> {
    const kind = this.#kind(ref.objectClass);
    await this.#write(kind, ref, true, (dn, opts) =>
      this.#client.modify(
        dn,
        [{ operation: 'replace', attribute: 'pwdAccountLockedTime', values: [DISABLED_LOCK_TIME] }],
        {
          operation: 'disable account',
          ...opts,
        },
      ),
    );
  }

  async enable(ref: ObjectRef): Promise<void> {
    const kind = this.#kind(ref.objectClass);
    await this.#write(kind, ref, true, async (dn, opts) => {
      try {
        // Remove exactly the disabled marker; a lockout (a real time) stays for unlock() to clear.
        await this.#client.modify(
          dn,
          [{ operation: 'delete', attribute: 'pwdAccountLockedTime', values: [DISABLED_LOCK_TIME] }],
          {
            operation: 'enable account',
            ...opts,
          },
        );
      } catch (e) {
        if (e instanceof ConnectorError && e.details.resultCode === 16) return; // not disabled
        throw e;
      }
    });
  }

  async unlock(ref: ObjectRef): Promise<void> {
    const kind = this.#kind(ref.objectClass);
    const e = await this.#find(kind, ref, ['pwdAccountLockedTime']);
    if (!e) throw this.#notFound(kind, ref);
    const lock = first(e, 'pwdAccountLockedTime');
    // Only a lockout (a real time) is cleared; ppolicy then drops pwdFailureTime itself. The disabled marker stays.
    if (lock === undefined || lock === DISABLED_LOCK_TIME) return;
    await this.#write(kind, { ...ref, name: e.dn, id: first(e, 'entryUUID') ?? ref.id }, true, (dn, opts) =>
      this.#client.modify(dn, [{ operation: 'delete', attribute: 'pwdAccountLockedTime', values: [lock] }], {
        operation: 'unlock account',
        ...opts,
      }),
    );
  }

  async #policyHint(password: Secret): Promise<string | undefined> {
    const dn = this.#cfg.passwordPolicyDn;
    if (!dn) return undefined;
    const p = await this.#client.read(dn, ['pwdMinLength']).catch(() => undefined);
    const min = Number(p && first(p, 'pwdMinLength'));
    if (Number.isInteger(min) && [...password.reveal()].length < min)
      return `password too short: the directory's password policy requires at least ${min} characters`;
    return undefined;
  }

  /**
   * Password-modify, then the ppolicy flags: `pwdReset` as the caller asked (ppolicy may set it on an
   * administrator's change when pwdMustChange is on), and the disabled marker put back — ppolicy clears
   * pwdAccountLockedTime whenever an administrator sets a password, which would silently re-enable the account.
   * (That a password reset clears a lockout is ppolicy's intent and is kept.)
   */
  async #setPasswordAt(
    dn: string,
    password: Secret,
    flags: { mustChange: boolean; disabled: boolean },
  ): Promise<void> {
    try {
      await this.#client.passwordModify(dn, password);
    } catch (e) {
      if (e instanceof ConnectorError && e.code === 'policy_violation') {
        const hint = await this.#policyHint(password);
        if (hint)
          throw new ConnectorError(
            'policy_violation',
            `set password failed (${dn}, attribute userPassword): ${hint}`,
            {
              ...(e.targetMessage === undefined ? {} : { targetMessage: e.targetMessage }),
              cause: e,
              details: e.details,
            },
          );
      }
      throw e;
    }
    const changes: LdapModification[] = [
      { operation: 'replace', attribute: 'pwdReset', values: flags.mustChange ? ['TRUE'] : [] },
    ];
    if (flags.disabled)
      changes.push({ operation: 'replace', attribute: 'pwdAccountLockedTime', values: [DISABLED_LOCK_TIME] });
    await this.#client.modify(dn, changes, { operation: 'set password' });
  }

  async setPassword(ref: ObjectRef, password: Secret, options: SetPasswordOptions = {}): Promise<void> {
    const kind = this.#kind(ref.objectClass);
    // Look the entry up (the password-modify operation does not take the assertion control everywhere), reading
    // whether it is disabled so that stays so.
    const e = await this.#find(kind, ref, ['pwdAccountLockedTime']);
    if (!e) throw this.#notFound(kind, ref);
    await this.#setPasswordAt(e.dn, password, {
      mustChange: options.mustChangePassword ?? false,
      disabled: first(e, 'pwdAccountLockedTime') === DISABLED_LOCK_TIME,
    });
  }

  /**
   * Concurrent member changes to the same group go to the directory as one modify (see coalesce.ts), after one
   * search that finds the group and every member by entryUUID. That search replaces the per-member identity check
   * and is just as strict: it is sent when the merged modify is, after every request in it was made, so each DN
   * written is the one the directory gives for the entryUUID one round trip before the write — as for a request on
   * its own — or one it gave this connector within `recentDnMs` (recent.ts). A stale name in a ref is never used,
   * and batches are keyed by the group's entryUUID, so requests for different groups never share a modify.
   * Anything amiss (a member or the group not found, a value already there or already gone, the last member) fails
   * the merged write, and each request then runs alone for its own answer.
   */
  readonly #members = new Coalescer<MemberChange>((_key, changes) => this.#changeMembers(changes), {
    identity: (c) => `${c.member.objectClass}\u0000${refKey(c.member)}`,
  });

  async #changeMembers(changes: readonly MemberChange[]): Promise<void> {
    const { op, gk, group } = changes[0]!;
    const refs: [Kind, ObjectRef][] = [
      [gk, group],
      ...changes.map((c): [Kind, ObjectRef] => [c.mk, c.member]),
    ];
    const {
      dns: [dn, ...members],
      recent,
    } = await this.#dnsOf(refs, true);
    try {
      await this.#client.modify(
        dn!,
        [{ operation: op === 'add' ? 'add' : 'delete', attribute: 'member', values: members }],
        {
          operation: `${op} ${members.length} group members`,
        },
      );
    } catch (e) {
      // Each request is now retried alone (coalesce.ts); if a remembered DN may be why, they look it up afresh.
      if (recent && staleDn(e)) this.#forget(refs.map(([, r]) => r));
      throw e;
    }
  }

  /**
   * One member change on its own: the group's and the member's DNs (remembered or looked up), then the modify, with
   * its own answer. A failure a stale remembered DN could explain is retried once after a search.
   */
  async #changeMember(request: MemberChange, recent = true): Promise<void> {
    const { op, gk, group, mk, member } = request;
    const found = await this.#dnsOf(
      [
        [mk, member],
        [gk, group],
      ],
      recent,
    );
    const [memberDn, dn] = found.dns as [string, string];
    const operation = `${op} group member ${memberDn}`;
    const change = (operation: 'add' | 'delete', value: string): LdapModification => ({
      operation,
      attribute: 'member',
      values: [value],
    });
    try {
      await this.#client.modify(dn, [change(op === 'add' ? 'add' : 'delete', memberDn)], { operation });
    } catch (e) {
      if (found.recent && staleDn(e)) {
        this.#forget([member, group]);
        return this.#changeMember(request, false);
      }
      const rc = e instanceof ConnectorError ? e.details.resultCode : undefined;
      if (op === 'add' && rc === 20) return; // already a member
      if (op === 'remove' && rc === 16) return; // not a member
      if (op !== 'remove' || rc !== 65) throw e;
      // The last member: groupOfNames needs one, so the placeholder takes its place.
      await this.#client.modify(
        dn,
        [change('delete', memberDn), change('add', this.#cfg.groups.emptyMember)],
        {
          operation,
        },
      );
    }
  }

  async #membership(group: ObjectRef, member: ObjectRef, op: 'add' | 'remove'): Promise<void> {
    const gk = this.#kind(group.objectClass);
    if (gk.objectClass !== 'group')
      throw new ConnectorError('schema_violation', `${group.name ?? group.id} is not a group`, {
        details: { id: group.id },
      });
    const change: MemberChange = { op, gk, group, mk: this.#kind(member.objectClass), member };
    return this.#members.run(`${op}\u0000${refKey(group)}`, change, () => this.#changeMember(change));
  }

  /** Member changes asked for, and modifies sent for them (fewer when concurrent ones were merged). */
  membershipWrites(): { requests: number; writes: number } {
    return { ...this.#members.counts };
  }

  addMember(group: ObjectRef, member: ObjectRef): Promise<void> {
    return this.#membership(group, member, 'add');
  }

  removeMember(group: ObjectRef, member: ObjectRef): Promise<void> {
    return this.#membership(group, member, 'remove');
  }

  // ----- sync ----------------------------------------------------------------------------------------------------

  async sync(objectClass: ObjectClass, token: string | null): Promise<SyncResult> {
    const kind = this.#kind(objectClass);
    const since: SyncPosition =
      token === null
        ? {
            ts: generalizedTime(
              new Date(this.#deps.clock.now().getTime() - this.#cfg.syncWindowSeconds * 1000),
            ),
            csn: '',
            id: '',
          }
        : decodeToken(token);
    const attributes =
      token === null ? ['entryUUID', 'modifyTimestamp', 'entryCSN', 'objectClass'] : this.#requested();
    const found: { key: SyncPosition; entry: LdapEntry }[] = [];
    for await (const e of this.#client.search(kind.container, {
      scope: 'sub',
      filter: `(&(objectClass=${escapeFilterValue(kind.structural)})(modifyTimestamp>=${since.ts}))`,
      attributes,
      binaryAttributes: BINARY_ATTRIBUTES,
      pageSize: this.#cfg.pageSize,
    })) {
      const key = {
        ts: normalizeTime(first(e, 'modifyTimestamp') ?? since.ts),
        csn: first(e, 'entryCSN') ?? '',
        id: first(e, 'entryUUID') ?? '',
      };
      if (compareKeys(key, since) > 0) found.push({ key, entry: e });
    }
    found.sort((a, b) => compareKeys(a.key, b.key));
    if (token === null) {
      const last = found.at(-1);
      return { changes: [], token: encodeToken(last ? last.key : since) };
    }
    const batch = found.slice(0, this.#cfg.syncBatchSize);
    const cache = new Map<string, Promise<string | undefined>>();
    const changes: SyncChange[] = [];
    for (const { entry } of batch)
      changes.push({ type: 'upsert', object: await this.#toObject(kind, entry, undefined, cache) });
    const position = batch.at(-1)?.key ?? since;
    return { changes, token: encodeToken(position), ...(found.length > batch.length ? { more: true } : {}) };
  }

  // ----- target --------------------------------------------------------------------------------------------------

  async test(): Promise<TestResult> {
    const root = await this.#client.read('', ['*', '+']);
    if (!root) throw new ConnectorError('target_error', `${this.#cfg.url} returned no root DSE`);
    const classes = values(root, 'objectClass');
    const vendor =
      first(root, 'vendorName') ??
      (classes.some((c) => c.toLowerCase() === 'openldaprootdse') ? 'OpenLDAP' : 'unknown');
    const contexts = values(root, 'namingContexts');
    for (const [what, dn] of [
      ['baseDn', this.#cfg.baseDn],
      ['usersDn', this.#cfg.usersDn],
      ['groupsDn', this.#cfg.groupsDn],
    ] as const) {
      if (!(await this.#client.read(dn, ['1.1'])))
        throw new ConnectorError(
          'invalid_config',
          `${what} ${dn} does not exist on ${this.#cfg.url} (or the bind account cannot see it); naming contexts: ${contexts.join('; ') || 'none'}`,
          { details: { field: what, dn } },
        );
    }
    const extensions = values(root, 'supportedExtension');
    const controls = values(root, 'supportedControl');
    return {
      ok: true,
      details: {
        vendor,
        ...(first(root, 'vendorVersion') ? { vendorVersion: first(root, 'vendorVersion')! } : {}),
        namingContexts: contexts.join('; '),
        baseDn: this.#cfg.baseDn,
        tls: this.#cfg.tls.mode ?? (/^ldaps:/i.test(this.#cfg.url) ? 'ldaps' : 'none'),
        passwordModify: extensions.includes(PASSWORD_MODIFY_OID) ? 'yes' : 'no',
        pagedResults: controls.includes(PAGED_RESULTS_OID) ? 'yes' : 'no',
        assertions: controls.includes(AssertionControl.OID) ? 'yes' : 'no',
      },
    };
  }

  async schema(): Promise<TargetSchema> {
    const s = await this.#subschema();
    if (!s) throw new ConnectorError('permission_denied', `cannot read the subschema of ${this.#cfg.url}`);
    const account = this.#kind('account');
    const group = this.#kind('group');
    return {
      objectClasses: [
        {
          name: 'account',
          nativeName: account.classes.join('+'),
          attributes: s.attributesOf(account.classes, [
            { name: 'entryUUID', writable: false, description: 'The id of the account' },
            {
              name: 'memberOf',
              writable: false,
              description: 'Groups the account is a member of (memberof overlay)',
            },
            { name: 'modifyTimestamp', writable: false },
            { name: 'createTimestamp', writable: false },
          ]),
        },
        {
          name: 'group',
          nativeName: 'groupOfNames',
          attributes: s.attributesOf(group.classes, [
            { name: 'entryUUID', writable: false, description: 'The id of the group' },
            { name: 'modifyTimestamp', writable: false },
          ]),
        },
      ],
      entitlementTypes: [
        {
          name: 'group',
          objectClass: 'group',
          description: 'groupOfNames membership (member, read back as memberOf)',
        },
      ],
    };
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}
