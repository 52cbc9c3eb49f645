/**
 * The Active Directory connector (Windows AD DS and Samba AD DCs) over LDAPS with ldapts. Accounts are `user`
 * objects (objectCategory person) in `usersDn` or their department's OU, groups are `group` objects in `groupsDn`.
 * An object's `id` is its objectGUID in canonical string form, its `name` its DN.
 *
 * Choices worth knowing (docs/design/004-connectors.md, "Active Directory connector"):
 * - Writes address objects as `<GUID=…>`, which AD resolves wherever the object has moved: no lookup before a
 *   write and no stale-DN races. Reads ask for extended DNs (control 1.2.840.113556.1.4.529), so memberOf arrives
 *   with each group's GUID and the account's memberOf needs no second search.
 * - An account is created in one add with its initial password (unicodePwd, UTF-16LE of the quoted password) and
 *   userAccountControl NORMAL_ACCOUNT (plus ACCOUNTDISABLE when asked), and pwdLastSet=0 for "must change".
 *   Without a password it can only be created disabled.
 * - enable/disable flip ACCOUNTDISABLE and keep every other userAccountControl bit; unlock writes lockoutTime=0;
 *   `locked` is read from msDS-User-Account-Control-Computed (the DC applies the lockout duration there).
 * - A changed department moves the account to that department's OU (modifyDN with a new superior).
 * - Refused passwords (0000052D) are explained from the effective policy: the domain's minPwdLength/pwdProperties/
 *   pwdHistoryLength, or the account's password settings object.
 * - sync: uSNChanged above the token's USN, up to highestCommittedUSN read at the start; deletions from the Deleted
 *   Objects container with the show-deleted control.
 */
import {
  BerWriter,
  Control,
  type Client,
  type Entry,
  type SearchOptions as LdaptsSearchOptions,
} from 'ldapts';
import { ConnectorError, unsupported } from '../kit/errors.ts';
import {
  ALL_CAPABILITIES,
  Secret,
  type AttributeDelta,
  type AttributeSchema,
  type AttributeValue,
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
import { LdapClient, parseFilter, type LdapModification } from '../ldap/client.ts';
import {
  compileFilter,
  escapeDnValue,
  escapeFilterValue,
  isUnder,
  isValidDn,
  parseDn,
  formatDn,
  formatRdn,
  dnEquals,
} from '../ldap/escape.ts';
import { Subschema } from '../ldap/schema.ts';
import { Coalescer } from '../ldap/coalesce.ts';
import {
  GROUP_TYPE,
  UAC,
  filetimeToIso,
  guidDn,
  guidToBytes,
  guidToString,
  isGuid,
  parseExtendedDn,
  samAccountNameProblem,
  sidToString,
  unicodePwd,
  withDisabled,
} from './codec.ts';
import type { AdConfig } from './config.ts';
import {
  DOMAIN_PASSWORD_COMPLEX,
  adError,
  explainPasswordRefusal,
  type AdErrorContext,
  type PasswordPolicy,
} from './errors.ts';
import { decodeToken, encodeToken } from './sync.ts';

export const AD_CAPABILITIES: readonly Capability[] = ALL_CAPABILITIES;

export const EXTENDED_DN_OID = '1.2.840.113556.1.4.529';
export const SHOW_DELETED_OID = '1.2.840.113556.1.4.417';
/** LDAP_MATCHING_RULE_IN_CHAIN: transitive membership in one filter. */
export const IN_CHAIN_RULE = '1.2.840.113556.1.4.1941';
/** Well-known GUID of the Deleted Objects container. */
const WK_DELETED_OBJECTS = '18e2ea80684f11d2b9aa00c04f79f805';

const SYNTAX_DN = '1.3.6.1.4.1.1466.115.121.1.12';
const SYNTAX_OCTETS = '1.3.6.1.4.1.1466.115.121.1.40';
const SYNTAX_LARGE_INTEGER = '1.2.840.113556.1.4.906';

/** LDAP_SERVER_EXTENDED_DN: DNs come back as `<GUID=…>;<SID=…>;dn`, GUIDs in string form (flag 1). */
class ExtendedDnControl extends Control {
  constructor() {
    super(EXTENDED_DN_OID);
  }
  protected override writeControl(writer: BerWriter): void {
    const w = new BerWriter();
    w.startSequence();
    w.writeInt(1);
    w.endSequence();
    writer.writeBuffer(w.buffer, 0x04);
  }
}

const USER_CLASSES = ['top', 'person', 'organizationalPerson', 'user'];
const GROUP_CLASSES = ['top', 'group'];

/** Read with every object: mapped to id, enabled, locked, memberOf, lastLoginAt. */
const OPERATIONAL = [
  'objectGUID',
  'objectClass',
  'userAccountControl',
  'msDS-User-Account-Control-Computed',
  'lockoutTime',
  'lastLogonTimestamp',
  'memberOf',
  'uSNChanged',
];
/** Not returned as attributes unless asked for by name (the id, flags, secrets; an account's memberOf is a field). */
const HIDDEN = new Set([
  'objectguid',
  'memberof',
  'msds-user-account-control-computed',
  'unicodepwd',
  'ntsecuritydescriptor',
]);
/** Attributes a caller may not write as such: each has its own operation. */
const REFUSED: Record<string, string> = {
  unicodepwd: 'set passwords with setPassword (or the create option password)',
  userpassword: 'set passwords with setPassword (or the create option password)',
  objectguid: 'objectGUID is assigned by the domain controller',
};
/** Computed or system-maintained: described as read-only in schema(). */
const SYSTEM_ATTRIBUTES = new Set(
  [
    'objectGUID',
    'objectSid',
    'memberOf',
    'whenCreated',
    'whenChanged',
    'uSNChanged',
    'uSNCreated',
    'lastLogonTimestamp',
    'lastLogon',
    'lastLogoff',
    'logonCount',
    'badPwdCount',
    'badPasswordTime',
    'sAMAccountType',
    'msDS-User-Account-Control-Computed',
    'tokenGroups',
    'primaryGroupToken',
    'distinguishedName',
    'isDeleted',
    'lastKnownParent',
    'objectCategory',
    'instanceType',
    'name',
  ].map((a) => a.toLowerCase()),
);

interface Kind {
  objectClass: 'account' | 'group';
  nativeName: 'user' | 'group';
  filter: string;
  /** For the Deleted Objects container, where objectCategory is gone. */
  deletedFilter: string;
}

const ACCOUNT: Kind = {
  objectClass: 'account',
  nativeName: 'user',
  filter: '(&(objectCategory=person)(objectClass=user))',
  deletedFilter: '(&(objectClass=user)(!(objectClass=computer)))',
};
const GROUP: Kind = {
  objectClass: 'group',
  nativeName: 'group',
  filter: '(objectClass=group)',
  deletedFilter: '(objectClass=group)',
};

/** One search result with attribute names indexed case-insensitively. */
interface AdEntry {
  dn: string;
  guid: string | undefined;
  attrs: Map<string, { name: string; values: (string | Buffer)[] }>;
}

interface AdSearchOptions {
  scope: 'base' | 'one' | 'sub';
  filter?: string;
  attributes?: readonly string[];
  /** Simple paged results; 0 or absent: one request. */
  pageSize?: number;
  /** Include deleted objects (show-deleted control). */
  deleted?: boolean;
  /** Attributes to return as bytes (default objectGUID only). */
  binary?: readonly string[];
}

interface SchemaInfo {
  subschema: Subschema;
  /** Auxiliary classes of each structural class (from dITContentRules), lower-case class → names. */
  aux: Map<string, string[]>;
  binary: string[];
  binarySet: Set<string>;
  dnSet: Set<string>;
}

function scalarText(v: Scalar): string {
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  return String(v);
}

function listOf(v: AttributeValue | undefined): Scalar[] {
  if (v === null || v === undefined) return [];
  return Array.isArray(v) ? [...(v as readonly Scalar[])] : [v as Scalar];
}

function text(e: AdEntry, name: string): string | undefined {
  const v = e.attrs.get(name.toLowerCase())?.values[0];
  return v === undefined ? undefined : Buffer.isBuffer(v) ? v.toString('utf8') : v;
}

function texts(e: AdEntry, name: string): string[] {
  return (e.attrs.get(name.toLowerCase())?.values ?? []).map((v) =>
    Buffer.isBuffer(v) ? v.toString('utf8') : v,
  );
}

function toAdEntry(raw: Entry): AdEntry {
  const ext = parseExtendedDn(raw.dn);
  const attrs: AdEntry['attrs'] = new Map();
  for (const [name, v] of Object.entries(raw)) {
    if (name === 'dn') continue;
    const list = (Array.isArray(v) ? v : [v]) as (string | Buffer)[];
    if (list.length === 0) continue;
    attrs.set(name.toLowerCase(), { name, values: list });
  }
  const guidBytes = attrs.get('objectguid')?.values[0];
  const guid =
    ext.guid ?? (Buffer.isBuffer(guidBytes) && guidBytes.length === 16 ? guidToString(guidBytes) : undefined);
  return { dn: ext.dn, guid, attrs };
}

export class ActiveDirectoryConnector implements Connector {
  readonly type = 'active-directory';
  readonly capabilities: ReadonlySet<Capability> = new Set(AD_CAPABILITIES);
  readonly #cfg: AdConfig;
  readonly #log: Logger;
  readonly #client: LdapClient;
  #schema: Promise<SchemaInfo> | undefined;

  constructor(cfg: AdConfig, deps: ConnectorDeps) {
    this.#cfg = cfg;
    this.#log = deps.log.child({ connector: 'active-directory', url: cfg.url });
    this.#client = new LdapClient(this.#clientOptions(cfg.bindDn, new Secret(cfg.bindPassword)));
  }

  #clientOptions(bindDn: string, bindPassword: Secret) {
    return {
      url: this.#cfg.url,
      tls: {
        mode: 'ldaps' as const,
        rejectUnauthorized: this.#cfg.tls.rejectUnauthorized,
        ...(this.#cfg.tls.ca ? { ca: this.#cfg.tls.ca } : {}),
      },
      bindDn,
      bindPassword,
      timeoutMs: this.#cfg.timeoutMs,
      connectTimeoutMs: this.#cfg.connectTimeoutMs,
    };
  }

  #kind(objectClass: ObjectClass): Kind {
    if (objectClass === 'account') return ACCOUNT;
    if (objectClass === 'group') return GROUP;
    throw unsupported(
      'active-directory',
      `handle object class "${objectClass}"`,
      'only account and group are mapped',
    );
  }

  /** The OUs objects of a kind live in (department OUs inside another listed OU are covered by it). */
  #containers(kind: Kind): string[] {
    if (kind.objectClass === 'group') return [this.#cfg.groupsDn];
    const all = [this.#cfg.usersDn, ...Object.values(this.#cfg.departmentOus)];
    const unique = all.filter((d, i) => all.findIndex((x) => dnEquals(x, d)) === i);
    return unique.filter((d) => !unique.some((o) => !dnEquals(o, d) && isUnder(d, o)));
  }

  /** The OU an account of this department belongs in. */
  #ouFor(department: string | undefined): string {
    return (department !== undefined && this.#cfg.departmentOus[department]) || this.#cfg.usersDn;
  }

  // ----- low-level reads ----------------------------------------------------------------------------------------

  async #connection(): Promise<Client> {
    try {
      return await this.#client.connection();
    } catch (e) {
      throw adError(e, { operation: 'bind', dn: this.#cfg.bindDn, url: this.#cfg.url });
    }
  }

  /** The aggregate schema, read once: single/multi-valued, binary and DN attributes, auxiliary classes. */
  #schemaInfo(): Promise<SchemaInfo> {
    this.#schema ??= (async () => {
      const [root] = await this.#searchAll('', { scope: 'base', attributes: ['subschemaSubentry'] });
      const dn =
        (root && text(root, 'subschemaSubentry')) ??
        `CN=Aggregate,CN=Schema,CN=Configuration,${this.#cfg.baseDn}`;
      const [e] = await this.#searchAll(dn, {
        scope: 'base',
        attributes: ['attributeTypes', 'objectClasses', 'dITContentRules'],
      });
      if (!e)
        throw new ConnectorError('permission_denied', `cannot read the schema (${dn}) of ${this.#cfg.url}`);
      const subschema = new Subschema(texts(e, 'attributeTypes'), texts(e, 'objectClasses'));
      const aux = new Map<string, string[]>();
      for (const rule of texts(e, 'dITContentRules')) {
        const name = /NAME '([^']+)'/.exec(rule)?.[1];
        const list = /AUX \(([^)]*)\)/.exec(rule)?.[1] ?? /AUX ([^\s()]+)/.exec(rule)?.[1];
        if (name && list)
          aux.set(
            name.toLowerCase(),
            list
              .split('$')
              .map((s) => s.trim())
              .filter(Boolean),
          );
      }
      const binary: string[] = [];
      const dnSet = new Set<string>();
      const seen = new Set<string>();
      for (const a of subschema.attributes.values()) {
        if (seen.has(a.oid)) continue;
        seen.add(a.oid);
        const syntax = subschema.syntaxOf(a);
        for (const n of a.names) {
          if (syntax === SYNTAX_OCTETS) binary.push(n, n.toLowerCase());
          if (syntax === SYNTAX_DN) dnSet.add(n.toLowerCase());
        }
      }
      for (const n of ['objectGUID', 'objectSid', 'tokenGroups']) binary.push(n, n.toLowerCase());
      return { subschema, aux, binary, binarySet: new Set(binary.map((b) => b.toLowerCase())), dnSet };
    })();
    this.#schema.catch(() => (this.#schema = undefined));
    return this.#schema;
  }

  /**
   * Search with AD's controls (extended DNs, show-deleted), streaming page by page. The shared LdapClient has no
   * request controls for searches, so this uses its bound connection directly.
   */
  async *#search(base: string, opts: AdSearchOptions): AsyncGenerator<AdEntry> {
    const c = await this.#connection();
    const controls: Control[] = [new ExtendedDnControl()];
    if (opts.deleted) controls.push(new Control(SHOW_DELETED_OID));
    const request: LdaptsSearchOptions = {
      scope: opts.scope,
      filter: parseFilter(opts.filter ?? '(objectClass=*)'),
      ...(opts.attributes ? { attributes: [...opts.attributes] } : {}),
      explicitBufferAttributes: [...(opts.binary ?? ['objectGUID', 'objectguid'])],
    };
    const ctx: AdErrorContext = { operation: 'search', dn: base, url: this.#cfg.url };
    try {
      if (opts.scope === 'base' || !opts.pageSize) {
        const r = await c.search(base, request, controls);
        for (const raw of r.searchEntries) yield toAdEntry(raw);
        return;
      }
      for await (const page of c.searchPaginated(
        base,
        { ...request, paged: { pageSize: opts.pageSize } },
        controls,
      ))
        for (const raw of page.searchEntries) yield toAdEntry(raw);
    } catch (e) {
      throw adError(e, ctx);
    }
  }

  async #searchAll(base: string, opts: AdSearchOptions): Promise<AdEntry[]> {
    const out: AdEntry[] = [];
    for await (const e of this.#search(base, opts)) out.push(e);
    return out;
  }

  /** One object by `<GUID=…>` (or DN), of this kind; undefined when there is none. */
  async #read(
    kind: Kind | undefined,
    ref: ObjectRef,
    attributes: readonly string[],
  ): Promise<AdEntry | undefined> {
    const base = isGuid(ref.id) ? guidDn(ref.id) : ref.name && isValidDn(ref.name) ? ref.name : undefined;
    if (!base) return undefined;
    const { binary } = await this.#schemaInfo();
    try {
      const [e] = await this.#searchAll(base, {
        scope: 'base',
        ...(kind ? { filter: kind.filter } : {}),
        attributes,
        binary,
      });
      return e;
    } catch (e) {
      if (e instanceof ConnectorError && e.code === 'not_found') return undefined;
      throw e;
    }
  }

  #requested(attributes?: readonly string[]): string[] {
    return attributes && attributes.length
      ? [...new Set([...attributes, ...OPERATIONAL])]
      : ['*', ...OPERATIONAL];
  }

  #toObject(kind: Kind, e: AdEntry, schema: SchemaInfo, requested?: readonly string[]): ConnectorObject {
    const want = requested && requested.length ? new Set(requested.map((a) => a.toLowerCase())) : undefined;
    const attributes: Attributes = {};
    for (const [lc, { name, values }] of e.attrs) {
      if (want ? !want.has(lc) : HIDDEN.has(lc) && (lc !== 'memberof' || kind.objectClass === 'account'))
        continue;
      let list: string[];
      if (lc === 'objectguid') list = values.filter(Buffer.isBuffer).map(guidToString);
      else if (lc === 'objectsid') list = values.filter(Buffer.isBuffer).map(sidToString);
      else if (schema.dnSet.has(lc)) list = values.map((v) => parseExtendedDn(String(v)).dn);
      else list = values.map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v));
      const single = schema.subschema.attribute(name)?.singleValue ?? list.length === 1;
      attributes[name] = single && list.length === 1 ? list[0]! : list;
    }
    const obj: ConnectorObject = { objectClass: kind.objectClass, id: e.guid ?? '', name: e.dn, attributes };
    if (kind.objectClass === 'account') {
      const uac = Number(text(e, 'userAccountControl') ?? 0);
      const computed = text(e, 'msDS-User-Account-Control-Computed');
      obj.enabled = (uac & UAC.ACCOUNTDISABLE) === 0;
      obj.locked =
        computed !== undefined
          ? (Number(computed) & UAC.LOCKOUT) !== 0
          : BigInt(text(e, 'lockoutTime') ?? '0') > 0n;
      obj.memberOf = texts(e, 'memberOf')
        .map((v) => parseExtendedDn(v).guid)
        .filter((g): g is string => g !== undefined);
      const last = filetimeToIso(text(e, 'lastLogonTimestamp'));
      if (last) obj.lastLoginAt = last;
    }
    return obj;
  }

  #notFound(kind: Kind, ref: ObjectRef): ConnectorError {
    return new ConnectorError(
      'not_found',
      `the ${kind.objectClass} ${ref.name ?? ref.id} does not exist in the domain (looked up by objectGUID ${ref.id || '—'})`,
      { details: { id: ref.id, ...(ref.name ? { dn: ref.name } : {}) } },
    );
  }

  /** The DN a write addresses: `<GUID=…>` when the ref has an objectGUID, else its DN. */
  #target(kind: Kind, ref: ObjectRef): string {
    if (isGuid(ref.id)) return guidDn(ref.id);
    if (ref.name && isValidDn(ref.name)) return ref.name;
    throw this.#notFound(kind, ref);
  }

  async #require(kind: Kind, ref: ObjectRef, attributes: readonly string[]): Promise<AdEntry> {
    const e = await this.#read(kind, ref, attributes);
    if (!e) throw this.#notFound(kind, ref);
    return e;
  }

  /** Run a write, mapping failures with AD's sub-codes; not_found names the object the ref points at. */
  async #write<T>(
    kind: Kind,
    ref: ObjectRef | undefined,
    ctx: AdErrorContext,
    fn: () => Promise<T>,
  ): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const err = adError(e, ctx);
      if (
        ref &&
        err.code === 'not_found' &&
        err.details.resultCode === 32 &&
        !/parent|container/i.test(err.message)
      ) {
        throw new ConnectorError('not_found', this.#notFound(kind, ref).message, {
          ...(err.targetMessage === undefined ? {} : { targetMessage: err.targetMessage }),
          cause: err,
          details: err.details,
        });
      }
      throw err;
    }
  }

  async get(ref: ObjectRef, attributes?: readonly string[]): Promise<ConnectorObject | undefined> {
    const kind = this.#kind(ref.objectClass);
    const schema = await this.#schemaInfo();
    const e = await this.#read(kind, ref, this.#requested(attributes));
    return e ? this.#toObject(kind, e, schema, attributes) : undefined;
  }

  async *search(query: SearchQuery): AsyncIterable<ConnectorObject> {
    const kind = this.#kind(query.objectClass);
    const schema = await this.#schemaInfo();
    const isGuidAttr = (a: string) => a === 'id' || a.toLowerCase() === 'objectguid';
    const filter = query.filter
      ? `(&${kind.filter}${compileFilter(query.filter, (a) => (a === 'id' ? 'objectGUID' : a), {
          value: (a, v) => {
            if (!isGuidAttr(a)) return scalarText(v);
            if (!isGuid(String(v)))
              throw new ConnectorError(
                'schema_violation',
                `${a} must be a GUID (xxxxxxxx-xxxx-…), got "${String(v)}"`,
                {
                  details: { attribute: a },
                },
              );
            return guidToBytes(String(v));
          },
        })})`
      : kind.filter;
    const seen = new Set<string>();
    for (const base of this.#containers(kind)) {
      for await (const e of this.#search(base, {
        scope: 'sub',
        filter,
        attributes: this.#requested(query.attributes),
        pageSize: query.pageSize ?? this.#cfg.pageSize,
        binary: schema.binary,
      })) {
        if (e.guid && seen.has(e.guid)) continue;
        if (e.guid) seen.add(e.guid);
        yield this.#toObject(kind, e, schema, query.attributes);
      }
    }
  }

  /**
   * Every group the account is in, directly or through nested groups (LDAP_MATCHING_RULE_IN_CHAIN), anywhere in the
   * domain. `memberOf` on the account holds only the direct ones.
   */
  async effectiveGroups(ref: ObjectRef): Promise<ObjectRef[]> {
    const kind = this.#kind(ref.objectClass);
    const e = await this.#require(kind, ref, ['1.1']);
    const out: ObjectRef[] = [];
    for await (const g of this.#search(this.#cfg.baseDn, {
      scope: 'sub',
      filter: `(&(objectClass=group)(member:${IN_CHAIN_RULE}:=${escapeFilterValue(e.dn)}))`,
      attributes: ['objectGUID'],
      pageSize: this.#cfg.pageSize,
    })) {
      if (g.guid) out.push({ objectClass: 'group', id: g.guid, name: g.dn });
    }
    return out;
  }

  // ----- writing -------------------------------------------------------------------------------------------------

  #encode(schema: SchemaInfo, attribute: string, list: readonly Scalar[]): (string | Buffer)[] {
    const binary = schema.binarySet.has(attribute.toLowerCase());
    return list.map((v) => (binary ? Buffer.from(String(v), 'base64') : scalarText(v)));
  }

  #refuse(attribute: string, where: string): void {
    const why = REFUSED[attribute.toLowerCase()];
    if (why)
      throw new ConnectorError(
        'schema_violation',
        `${attribute} cannot be written as an attribute of ${where}: ${why}`,
        {
          details: { attribute },
        },
      );
  }

  /** The password policy that applies to an account (its password settings object, else the domain's). */
  async #passwordPolicy(account?: AdEntry): Promise<PasswordPolicy> {
    const pso = account && text(account, 'msDS-ResultantPSO');
    if (pso) {
      const [p] = await this.#searchAll(pso, {
        scope: 'base',
        attributes: [
          'cn',
          'msDS-MinimumPasswordLength',
          'msDS-PasswordComplexityEnabled',
          'msDS-PasswordHistoryLength',
        ],
      }).catch(() => []);
      if (p)
        return {
          minLength: Number(text(p, 'msDS-MinimumPasswordLength') ?? 0),
          complexity: text(p, 'msDS-PasswordComplexityEnabled')?.toUpperCase() === 'TRUE',
          historyLength: Number(text(p, 'msDS-PasswordHistoryLength') ?? 0),
          source: `the password settings object "${text(p, 'cn') ?? pso}"`,
        };
    }
    const [d] = await this.#searchAll(this.#cfg.baseDn, {
      scope: 'base',
      attributes: ['minPwdLength', 'pwdProperties', 'pwdHistoryLength'],
    });
    return {
      minLength: Number((d && text(d, 'minPwdLength')) ?? 0),
      complexity: (Number((d && text(d, 'pwdProperties')) ?? 0) & DOMAIN_PASSWORD_COMPLEX) !== 0,
      historyLength: Number((d && text(d, 'pwdHistoryLength')) ?? 0),
      source: 'the domain',
    };
  }

  /** Explain a refused password; never fails (an explanation that cannot be built falls back to AD's code). */
  async #passwordHint(
    password: Secret,
    account: { entry?: AdEntry; sAMAccountName?: string; displayName?: string },
  ): Promise<string | undefined> {
    try {
      const policy = await this.#passwordPolicy(account.entry);
      const e = account.entry;
      const sam = account.sAMAccountName ?? (e && text(e, 'sAMAccountName'));
      const display = account.displayName ?? (e && text(e, 'displayName'));
      return explainPasswordRefusal(policy, password.reveal(), {
        ...(sam ? { sAMAccountName: sam } : {}),
        ...(display ? { displayName: display } : {}),
      });
    } catch (err) {
      this.#log.warn(
        { err: String(err) },
        'could not read the password policy to explain a refused password',
      );
      return undefined;
    }
  }

  /** Re-throw a 0000052D refusal with the policy explained. */
  async #explainPassword(
    e: unknown,
    ctx: AdErrorContext,
    password: Secret | undefined,
    account: () => Promise<{ entry?: AdEntry; sAMAccountName?: string; displayName?: string }>,
  ): Promise<never> {
    const err = adError(e, ctx);
    if (err.details.adCode !== '0000052D') throw err;
    const hint = password
      ? await this.#passwordHint(password, await account().catch(() => ({})))
      : 'the account has no password that meets the domain password policy yet: set a password first';
    throw adError(err, { ...ctx, ...(hint ? { policyHint: hint } : {}) });
  }

  async create(
    objectClass: ObjectClass,
    attributes: Attributes,
    options: CreateOptions = {},
  ): Promise<ConnectorObject> {
    const kind = this.#kind(objectClass);
    const schema = await this.#schemaInfo();
    const entry: Record<string, (string | Buffer)[]> = {};
    const names = new Map<string, string>();
    const one = (lc: string): string | undefined => {
      const v = entry[names.get(lc) ?? '']?.[0];
      return typeof v === 'string' && v !== '' ? v : undefined;
    };
    for (const [name, value] of Object.entries(attributes)) {
      this.#refuse(name, `a new ${kind.objectClass}`);
      const list = listOf(value);
      if (list.length === 0) continue;
      const key = names.get(name.toLowerCase()) ?? name;
      names.set(name.toLowerCase(), key);
      entry[key] = [...(entry[key] ?? []), ...this.#encode(schema, name, list)];
    }
    const set = (name: string, values: (string | Buffer)[]) => {
      const key = names.get(name.toLowerCase()) ?? name;
      names.set(name.toLowerCase(), key);
      entry[key] = values;
    };

    const sam = one('samaccountname');
    if (sam === undefined && kind.objectClass === 'account')
      throw new ConnectorError(
        'schema_violation',
        'a new account needs sAMAccountName (the pre-Windows 2000 logon name)',
        {
          details: { attribute: 'sAMAccountName' },
        },
      );
    if (sam !== undefined) {
      const problem = samAccountNameProblem(sam);
      if (problem)
        throw new ConnectorError('schema_violation', `sAMAccountName "${sam}" is not valid: ${problem}`, {
          details: { attribute: 'sAMAccountName' },
        });
    }
    const given = [one('givenname'), one('sn')].filter(Boolean).join(' ');
    const cn = one('cn') ?? one('displayname') ?? (given || undefined) ?? sam;
    if (cn === undefined)
      throw new ConnectorError(
        'schema_violation',
        `a new ${kind.objectClass} needs cn (its name in the OU)`,
        {
          details: { attribute: 'cn' },
        },
      );
    set('cn', [cn]);
    const container = kind.objectClass === 'account' ? this.#ouFor(one('department')) : this.#cfg.groupsDn;
    const dn = `CN=${escapeDnValue(cn)},${container}`;
    const extraClasses = (entry[names.get('objectclass') ?? ''] ?? []).map(String);
    const classes = new Map<string, string>();
    for (const c of [...(kind.objectClass === 'account' ? USER_CLASSES : GROUP_CLASSES), ...extraClasses])
      classes.set(c.toLowerCase(), c);
    set('objectClass', [...classes.values()]);

    if (kind.objectClass === 'account') {
      if (!names.has('userprincipalname')) set('userPrincipalName', [`${sam}@${this.#cfg.upnSuffix}`]);
      const disabled = options.enabled === false;
      if (!options.password && !disabled)
        throw new ConnectorError(
          'schema_violation',
          'an enabled Active Directory account needs an initial password: pass the password option, or create it ' +
            'disabled (enabled: false) and set a password before enabling it',
          { details: { attribute: 'unicodePwd' } },
        );
      const base = Number(one('useraccountcontrol') ?? UAC.NORMAL_ACCOUNT);
      set('userAccountControl', [String(withDisabled(base, disabled))]);
      if (options.password) set('unicodePwd', [unicodePwd(options.password.reveal())]);
      if (options.mustChangePassword) set('pwdLastSet', ['0']);
    } else {
      if (!names.has('grouptype')) set('groupType', [String(GROUP_TYPE[this.#cfg.groupScope])]);
      // Without one, AD makes up a name like $7026C75B-9DA0EED5AD54D0A2; the cn is what people expect.
      if (sam === undefined && samAccountNameProblem(cn) === undefined) set('sAMAccountName', [cn]);
    }

    const ctx: AdErrorContext = {
      operation: `create ${kind.objectClass}`,
      dn,
      attribute: Object.keys(entry).filter((k) => k !== 'unicodePwd'),
      password: options.password !== undefined,
    };
    try {
      await this.#client.add(dn, entry, ctx);
    } catch (e) {
      const display = one('displayname');
      await this.#explainPassword(e, ctx, options.password, async () => ({
        ...(sam ? { sAMAccountName: sam } : {}),
        ...(display ? { displayName: display } : {}),
      }));
    }
    const created = await this.get({ objectClass: kind.objectClass, id: '', name: dn });
    if (!created) throw this.#notFound(kind, { objectClass: kind.objectClass, id: '', name: dn });
    this.#log.debug({ dn, id: created.id }, `created ${kind.objectClass}`);
    return created;
  }

  async update(ref: ObjectRef, deltas: readonly AttributeDelta[]): Promise<void> {
    const kind = this.#kind(ref.objectClass);
    if (deltas.length === 0) return;
    const schema = await this.#schemaInfo();
    const target = this.#target(kind, ref);
    let newCn: string | undefined;
    let department: { value: string | undefined } | undefined;
    const changes: LdapModification[] = [];
    for (const d of deltas) {
      this.#refuse(d.attribute, ref.name ?? ref.id);
      const lc = d.attribute.toLowerCase();
      if (lc === 'cn' || lc === 'name') {
        // The RDN: AD renames instead of modifying it.
        const v = d.op === 'remove' ? undefined : d.values[0];
        if (v === undefined || String(v) === '')
          throw new ConnectorError(
            'schema_violation',
            `${d.attribute} cannot be removed: it names the object in its OU`,
            {
              details: { attribute: d.attribute },
            },
          );
        newCn = String(v);
        continue;
      }
      if (kind.objectClass === 'account' && lc === 'department')
        department = { value: d.op === 'remove' || d.values.length === 0 ? undefined : String(d.values[0]) };
      changes.push({
        operation: d.op === 'remove' ? 'delete' : d.op,
        attribute: d.attribute,
        values: this.#encode(schema, d.attribute, d.values),
      });
    }
    if (changes.length) {
      const ctx: AdErrorContext = {
        operation: `update ${kind.objectClass}`,
        dn: ref.name ?? target,
        attribute: [...new Set(changes.map((c) => c.attribute))],
      };
      await this.#write(kind, ref, ctx, () => this.#client.modify(target, changes, ctx));
    }
    if (newCn === undefined && department === undefined) return;
    const current = await this.#require(kind, ref, ['1.1']);
    const parent = formatDn(parseDn(current.dn).slice(1));
    let newParent = parent;
    if (department) {
      const ou = this.#ouFor(department.value);
      const managed = this.#containers(ACCOUNT).concat(Object.values(this.#cfg.departmentOus));
      const mapped =
        department.value !== undefined && this.#cfg.departmentOus[department.value] !== undefined;
      if (!dnEquals(ou, parent) && (mapped || managed.some((m) => dnEquals(m, parent)))) newParent = ou;
    }
    const currentCn = parseDn(current.dn)[0]?.[0]?.value;
    const cn = newCn ?? currentCn ?? '';
    if (dnEquals(newParent, parent) && cn === currentCn) return;
    await this.#moveTo(kind, ref, current.dn, `CN=${escapeDnValue(cn)}`, newParent);
  }

  async #moveTo(
    kind: Kind,
    ref: ObjectRef,
    fromDn: string,
    newRdn: string,
    newParent: string,
  ): Promise<string> {
    const newDn = `${newRdn},${newParent}`;
    const ctx: AdErrorContext = { operation: `move ${kind.objectClass} to ${newDn}`, dn: fromDn };
    await this.#write(kind, ref, ctx, () =>
      this.#client.rename(this.#target(kind, ref), newRdn, newParent, ctx),
    );
    this.#log.debug({ from: fromDn, to: newDn }, `moved ${kind.objectClass}`);
    return newDn;
  }

  async rename(ref: ObjectRef, newName: string): Promise<ObjectRef> {
    const kind = this.#kind(ref.objectClass);
    const current = await this.#require(kind, ref, ['1.1']);
    // A DN (new RDN and OU), an RDN (CN=…), or a bare cn value in the same OU.
    const parsed =
      /^[A-Za-z][\w-]*=/.test(newName) && isValidDn(newName)
        ? parseDn(newName)
        : [[{ type: 'CN', value: newName }]];
    if (parsed.length === 0 || parsed[0]![0]!.value === '')
      throw new ConnectorError('schema_violation', 'rename needs a new name (a cn, an RDN or a DN)');
    const newRdn = formatRdn(parsed[0]!);
    const newParent = parsed.length > 1 ? formatDn(parsed.slice(1)) : formatDn(parseDn(current.dn).slice(1));
    await this.#moveTo(kind, { ...ref, id: current.guid ?? ref.id }, current.dn, newRdn, newParent);
    const moved = await this.#require(kind, { objectClass: kind.objectClass, id: current.guid ?? ref.id }, [
      '1.1',
    ]);
    return { objectClass: kind.objectClass, id: moved.guid ?? ref.id, name: moved.dn };
  }

  async delete(ref: ObjectRef): Promise<void> {
    const kind = this.#kind(ref.objectClass);
    // Make sure the ref is this kind of object: a GUID alone would delete whatever it names.
    const e = await this.#require(kind, ref, ['1.1']);
    const ctx: AdErrorContext = { operation: `delete ${kind.objectClass}`, dn: e.dn };
    await this.#write(kind, ref, ctx, () =>
      this.#client.del(this.#target(kind, { ...ref, id: e.guid ?? ref.id }), ctx),
    );
  }

  async #setDisabled(ref: ObjectRef, disabled: boolean): Promise<void> {
    const kind = this.#kind(ref.objectClass);
    if (kind.objectClass !== 'account')
      throw unsupported(
        'active-directory',
        `${disabled ? 'disable' : 'enable'} a group`,
        'only accounts have userAccountControl',
      );
    const e = await this.#require(kind, ref, ['userAccountControl']);
    const uac = Number(text(e, 'userAccountControl') ?? UAC.NORMAL_ACCOUNT);
    const next = withDisabled(uac, disabled);
    if (next === uac) return;
    const ctx: AdErrorContext = {
      operation: disabled ? 'disable account' : 'enable account',
      dn: e.dn,
      attribute: 'userAccountControl',
    };
    try {
      await this.#client.modify(
        this.#target(kind, { ...ref, id: e.guid ?? ref.id }),
        [{ operation: 'replace', attribute: 'userAccountControl', values: [String(next)] }],
        ctx,
      );
    } catch (err) {
      await this.#explainPassword(err, ctx, undefined, async () => ({ entry: e }));
    }
  }

  disable(ref: ObjectRef): Promise<void> {
    return this.#setDisabled(ref, true);
  }

  enable(ref: ObjectRef): Promise<void> {
    return this.#setDisabled(ref, false);
  }

  async setPassword(ref: ObjectRef, password: Secret, options: SetPasswordOptions = {}): Promise<void> {
    const kind = this.#kind(ref.objectClass);
    if (kind.objectClass !== 'account')
      throw unsupported('active-directory', 'set a group password', 'groups have none');
    const changes: LdapModification[] = [
      { operation: 'replace', attribute: 'unicodePwd', values: [unicodePwd(password.reveal())] },
    ];
    // An administrator's reset sets pwdLastSet to now (no change required); 0 requires a change at next sign-in.
    if (options.mustChangePassword)
      changes.push({ operation: 'replace', attribute: 'pwdLastSet', values: ['0'] });
    const ctx: AdErrorContext = {
      operation: 'set password',
      dn: ref.name ?? ref.id,
      attribute: 'unicodePwd',
      password: true,
    };
    try {
      await this.#write(kind, ref, ctx, () => this.#client.modify(this.#target(kind, ref), changes, ctx));
    } catch (e) {
      await this.#explainPassword(e, ctx, password, async () => ({
        entry: await this.#require(kind, ref, ['sAMAccountName', 'displayName', 'msDS-ResultantPSO']),
      }));
    }
  }

  async unlock(ref: ObjectRef): Promise<void> {
    const kind = this.#kind(ref.objectClass);
    const ctx: AdErrorContext = {
      operation: 'unlock account',
      dn: ref.name ?? ref.id,
      attribute: 'lockoutTime',
    };
    await this.#write(kind, ref, ctx, () =>
      this.#client.modify(
        this.#target(kind, ref),
        [{ operation: 'replace', attribute: 'lockoutTime', values: ['0'] }],
        ctx,
      ),
    );
  }

  /** Concurrent member changes to the same group go to the DC as one modify (see ../ldap/coalesce.ts). */
  readonly #members = new Coalescer((key, values) => {
    const [operation, group] = key.split('\u0000') as ['add' | 'delete', string];
    return this.#client.modify(group, [{ operation, attribute: 'member', values }], {
      operation: `${operation} ${values.length} group members`,
      dn: group,
      attribute: 'member',
    });
  });

  async #membership(group: ObjectRef, member: ObjectRef, op: 'add' | 'remove'): Promise<void> {
    const gk = this.#kind(group.objectClass);
    const mk = this.#kind(member.objectClass);
    if (gk.objectClass !== 'group')
      throw new ConnectorError('schema_violation', `${group.name ?? group.id} is not a group`, {
        details: { id: group.id },
      });
    const groupTarget = this.#target(gk, group);
    const value = this.#target(mk, member);
    const operation = op === 'add' ? 'add' : 'delete';
    const alone = async () => {
      const ctx: AdErrorContext = {
        operation: `${op} group member ${member.name ?? member.id}`,
        dn: group.name ?? group.id,
        attribute: 'member',
      };
      try {
        await this.#client.modify(groupTarget, [{ operation, attribute: 'member', values: [value] }], ctx);
      } catch (e) {
        const err = adError(e, ctx);
        const rc = err.details.resultCode;
        const said = err.targetMessage ?? '';
        // Idempotent: already a member (Samba: 68; Windows: 68 with 00000562) / not a member (53, 00000561).
        if (op === 'add' && (rc === 68 || rc === 20) && /member|00000562/i.test(said)) return;
        if (
          op === 'remove' &&
          (rc === 53 || rc === 16) &&
          /doesn't exist|already deleted|not a member|00000561/i.test(said)
        )
          return;
        if (err.code === 'not_found' || rc === 53 || rc === 80) {
          // Say which side is missing.
          if (!(await this.#read(gk, group, ['1.1']))) throw this.#notFound(gk, group);
          if (!(await this.#read(mk, member, ['1.1']))) throw this.#notFound(mk, member);
        }
        throw err;
      }
    };
    return this.#members.run(`${operation}\u0000${groupTarget}`, value, alone);
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

  /**
   * Bind as an account with a password on a separate connection: resolves when the domain accepts it, else throws
   * ConnectorError auth_failed with AD's reason (details.adCode 52e, 533 disabled, 773 must change, 775 locked, …).
   * `who` is an account ref, a DN or a user principal name.
   */
  async authenticate(who: ObjectRef | string, password: Secret): Promise<void> {
    let bindDn: string;
    if (typeof who === 'string') bindDn = who;
    else {
      const e = await this.#require(this.#kind(who.objectClass), who, ['userPrincipalName']);
      bindDn = text(e, 'userPrincipalName') ?? e.dn;
    }
    const probe = new LdapClient(this.#clientOptions(bindDn, password));
    try {
      await probe.connection();
    } catch (e) {
      throw adError(e, { operation: 'sign in', dn: bindDn, url: this.#cfg.url });
    } finally {
      await probe.close();
    }
  }

  // ----- sync ----------------------------------------------------------------------------------------------------

  async #rootDse(attributes: string[]): Promise<AdEntry> {
    const [root] = await this.#searchAll('', { scope: 'base', attributes });
    if (!root) throw new ConnectorError('target_error', `${this.#cfg.url} returned no rootDSE`);
    return root;
  }

  async sync(objectClass: ObjectClass, token: string | null): Promise<SyncResult> {
    const kind = this.#kind(objectClass);
    const root = await this.#rootDse(['highestCommittedUSN', 'dsServiceName']);
    const upper = BigInt(text(root, 'highestCommittedUSN') ?? '0');
    const dc = parseExtendedDn(text(root, 'dsServiceName') ?? '').dn;
    if (token === null) return { changes: [], token: encodeToken({ usn: String(upper), dc }) };
    const since = decodeToken(token);
    if (!dnEquals(since.dc, dc))
      throw new ConnectorError(
        'conflict',
        `the sync token was issued by another domain controller (${since.dc}); USNs are per DC, so start again with ` +
          `sync(null) and a full reconciliation against ${dc}`,
        { details: { tokenDc: since.dc, dc } },
      );
    const from = BigInt(since.usn);
    if (upper <= from) return { changes: [], token };
    const range = `(uSNChanged>=${from + 1n})(uSNChanged<=${upper})`;
    const schema = await this.#schemaInfo();
    const found = new Map<string, { usn: bigint; change: SyncChange }>();
    const keep = (id: string, usn: bigint, change: SyncChange) => {
      const prior = found.get(id);
      if (!prior || prior.usn < usn) found.set(id, { usn, change });
    };
    const containers = this.#containers(kind);
    for (const base of containers) {
      for await (const e of this.#search(base, {
        scope: 'sub',
        filter: `(&${kind.filter}${range})`,
        attributes: this.#requested(),
        pageSize: this.#cfg.pageSize,
        binary: schema.binary,
      })) {
        if (!e.guid) continue;
        keep(e.guid, BigInt(text(e, 'uSNChanged') ?? '0'), {
          type: 'upsert',
          object: this.#toObject(kind, e, schema),
        });
      }
    }
    for await (const e of this.#search(`<WKGUID=${WK_DELETED_OBJECTS},${this.#cfg.baseDn}>`, {
      scope: 'one',
      filter: `(&(isDeleted=TRUE)${kind.deletedFilter}${range})`,
      attributes: ['objectGUID', 'uSNChanged', 'lastKnownParent', 'cn'],
      pageSize: this.#cfg.pageSize,
      deleted: true,
    })) {
      const parent = parseExtendedDn(text(e, 'lastKnownParent') ?? '').dn;
      if (!e.guid || !parent || !containers.some((c) => isValidDn(parent) && isUnder(parent, c))) continue;
      const cn = (text(e, 'cn') ?? '').split('\n')[0] ?? '';
      keep(e.guid, BigInt(text(e, 'uSNChanged') ?? '0'), {
        type: 'delete',
        object: { objectClass: kind.objectClass, id: e.guid, name: `CN=${escapeDnValue(cn)},${parent}` },
      });
    }
    const ordered = [...found.values()].sort((a, b) => (a.usn < b.usn ? -1 : a.usn > b.usn ? 1 : 0));
    const batch = ordered.slice(0, this.#cfg.syncBatchSize);
    const more = ordered.length > batch.length;
    const usn = more ? batch.at(-1)!.usn : upper;
    return {
      changes: batch.map((x) => x.change),
      token: encodeToken({ usn: String(usn), dc }),
      ...(more ? { more: true } : {}),
    };
  }

  // ----- target --------------------------------------------------------------------------------------------------

  async test(): Promise<TestResult> {
    const root = await this.#rootDse([
      'defaultNamingContext',
      'dnsHostName',
      'vendorName',
      'vendorVersion',
      'domainFunctionality',
      'forestFunctionality',
      'domainControllerFunctionality',
      'highestCommittedUSN',
      'supportedControl',
    ]);
    // DN-valued rootDSE attributes come back in extended form too (<GUID=…>;DC=…).
    const naming = parseExtendedDn(text(root, 'defaultNamingContext') ?? '').dn;
    const places: [string, string][] = [
      ['baseDn', this.#cfg.baseDn],
      ['usersDn', this.#cfg.usersDn],
      ['groupsDn', this.#cfg.groupsDn],
      ...Object.entries(this.#cfg.departmentOus).map(([d, ou]): [string, string] => [
        `departmentOus["${d}"]`,
        ou,
      ]),
    ];
    for (const [what, dn] of places) {
      const [e] = await this.#searchAll(dn, { scope: 'base', attributes: ['1.1'] }).catch((err: unknown) => {
        if (err instanceof ConnectorError && err.code === 'not_found') return [];
        throw err;
      });
      if (!e)
        throw new ConnectorError(
          'invalid_config',
          `${what} ${dn} does not exist in the domain ${naming} on ${this.#cfg.url} (or the bind account cannot see it)`,
          { details: { field: what, dn } },
        );
    }
    const policy = await this.#passwordPolicy();
    const controls = texts(root, 'supportedControl');
    const opt = (k: string): Record<string, string> => {
      const v = text(root, k);
      return v === undefined ? {} : { [k]: v };
    };
    return {
      ok: true,
      details: {
        vendor: text(root, 'vendorName') ?? 'Microsoft Active Directory',
        ...opt('vendorVersion'),
        ...opt('dnsHostName'),
        ...opt('domainFunctionality'),
        ...opt('forestFunctionality'),
        defaultNamingContext: naming,
        baseDn: this.#cfg.baseDn,
        tls: 'ldaps',
        passwordPolicy: `at least ${policy.minLength} characters${policy.complexity ? ', complexity required' : ''}${policy.historyLength ? `, history ${policy.historyLength}` : ''}`,
        extendedDn: controls.includes(EXTENDED_DN_OID) ? 'yes' : 'no',
        showDeleted: controls.includes(SHOW_DELETED_OID) ? 'yes' : 'no',
      },
    };
  }

  async schema(): Promise<TargetSchema> {
    const { subschema, aux } = await this.#schemaInfo();
    const describe = (
      native: string,
      extra: { name: string; writable?: boolean; description?: string }[],
    ) => {
      const classes = [native, ...(aux.get(native.toLowerCase()) ?? [])];
      return subschema.attributesOf(classes, extra).map((a): AttributeSchema => {
        const def = subschema.attribute(a.name);
        const large = def && subschema.syntaxOf(def) === SYNTAX_LARGE_INTEGER;
        return {
          ...a,
          ...(large ? { type: 'integer' as const } : {}),
          ...(SYSTEM_ATTRIBUTES.has(a.name.toLowerCase()) ? { writable: false } : {}),
          ...(a.name.toLowerCase() === 'unicodepwd'
            ? { writable: false, description: 'Set with setPassword' }
            : {}),
        };
      });
    };
    return {
      objectClasses: [
        {
          name: 'account',
          nativeName: 'user',
          attributes: describe('user', [
            { name: 'objectGUID', writable: false, description: 'The id of the account' },
            { name: 'memberOf', writable: false, description: 'Groups the account is a direct member of' },
            {
              name: 'lastLogonTimestamp',
              writable: false,
              description: 'Read as lastLoginAt (replicated, ±14 days)',
            },
            { name: 'whenCreated', writable: false },
            { name: 'whenChanged', writable: false },
            { name: 'uSNChanged', writable: false },
          ]),
        },
        {
          name: 'group',
          nativeName: 'group',
          attributes: describe('group', [
            { name: 'objectGUID', writable: false, description: 'The id of the group' },
            { name: 'memberOf', writable: false, description: 'Groups this group is nested in' },
            { name: 'whenChanged', writable: false },
          ]),
        },
      ],
      entitlementTypes: [
        {
          name: 'group',
          objectClass: 'group',
          description:
            'Security or distribution group membership (member; nested groups count through effectiveGroups)',
        },
      ],
    };
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}
