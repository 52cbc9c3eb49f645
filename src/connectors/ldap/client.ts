/**
 * A thin LDAP client on top of ldapts, shared by the LDAP and Active Directory connectors:
 *
 * - connects over ldap://, ldaps:// or ldap:// + StartTLS (CA and rejectUnauthorized options), binds, and reconnects
 *   (StartTLS and bind again) when the server dropped the connection — ldapts alone would carry on unauthenticated;
 * - streams paged searches (RFC 2696 simple paged results) as an AsyncIterable of entries;
 * - parses filter strings itself (`parseFilter`), decoding `\XX` escapes as UTF-8 bytes (ldapts's parser does not);
 * - maps every failure through `ldapError`, naming the operation, the DN and the attribute;
 * - sends the RFC 3062 password-modify extended operation.
 *
 * Passwords arrive as `Secret` and are revealed only when written to the socket.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import {
  AndFilter,
  ApproximateFilter,
  Attribute,
  BerWriter,
  type BerReader,
  Change,
  Client,
  Control,
  EqualityFilter,
  ExtensibleFilter,
  GreaterThanEqualsFilter,
  LessThanEqualsFilter,
  NotFilter,
  OrFilter,
  PresenceFilter,
  SubstringFilter,
  type Entry,
  type Filter as LdaptsFilter,
} from 'ldapts';
import { ConnectorError } from '../kit/errors.ts';
import { Secret } from '../kit/types.ts';
import { ldapError, resultCode, type LdapErrorContext } from './errors.ts';

export type TlsMode = 'none' | 'starttls' | 'ldaps';

export interface LdapTlsOptions {
  mode: TlsMode;
  /** PEM of the CA(s) that signed the server certificate; the system store when absent. */
  ca?: string;
  /** Verify the server certificate (default true). Turning it off is for throwaway test servers only. */
  rejectUnauthorized?: boolean;
}

export interface LdapClientOptions {
  url: string;
  tls?: LdapTlsOptions;
  /** Simple bind; omit both for an anonymous connection. */
  bindDn?: string;
  bindPassword?: Secret;
  /** Per-operation timeout (ms). Default 30 s. */
  timeoutMs?: number;
  /** TCP/TLS connect timeout (ms). Default 10 s. */
  connectTimeoutMs?: number;
}

/** A search result entry. Attribute names keep the server's spelling; use `values`/`first` to read them. */
export interface LdapEntry {
  dn: string;
  attributes: Record<string, string[]>;
  /** Attributes asked for as binary (or that were not valid UTF-8). */
  binary: Record<string, Buffer[]>;
}

export type SearchScope = 'base' | 'one' | 'sub';

export interface LdapSearchOptions {
  scope?: SearchScope;
  /** RFC 4515 filter string (default `(objectClass=*)`). */
  filter?: string;
  attributes?: readonly string[];
  /** Simple paged results page size; 0 disables paging (root DSE, subschema). Default 500. */
  pageSize?: number;
  sizeLimit?: number;
  /** Attributes to return as bytes (jpegPhoto, objectGUID, …). */
  binaryAttributes?: readonly string[];
}

export interface LdapModification {
  operation: 'add' | 'delete' | 'replace';
  attribute: string;
  values: readonly (string | Buffer)[];
}

/** Case-insensitive attribute lookup on an entry. */
export function values(entry: LdapEntry, name: string): string[] {
  const lc = name.toLowerCase();
  for (const [k, v] of Object.entries(entry.attributes)) if (k.toLowerCase() === lc) return v;
  return [];
}
export function first(entry: LdapEntry, name: string): string | undefined {
  return values(entry, name)[0];
}
export function binaryValues(entry: LdapEntry, name: string): Buffer[] {
  const lc = name.toLowerCase();
  for (const [k, v] of Object.entries(entry.binary)) if (k.toLowerCase() === lc) return v;
  return [];
}

function toEntry(raw: Entry, binary: ReadonlySet<string>): LdapEntry {
  const out: LdapEntry = { dn: raw.dn, attributes: {}, binary: {} };
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'dn') continue;
    const list = (Array.isArray(v) ? v : [v]) as (string | Buffer)[];
    if (list.length === 0) continue;
    if (binary.has(k.toLowerCase()) || list.some((x) => Buffer.isBuffer(x))) {
      out.binary[k] = list.map((x) => (Buffer.isBuffer(x) ? x : Buffer.from(x, 'utf8')));
    } else {
      out.attributes[k] = list as string[];
    }
  }
  return out;
}

/** Per-call options: error context plus request controls. */
export type CallOptions = Partial<LdapErrorContext> & { controls?: Control[] };

/**
 * RFC 4528 assertion control: the server performs the operation only if the entry matches `filter`, else answers
 * assertionFailed (122). Used to make "modify the entry at this DN" mean "… if it is still the one with this id".
 */
export class AssertionControl extends Control {
  static readonly OID = '1.3.6.1.1.12';
  readonly #filter: LdaptsFilter;
  constructor(filter: string) {
    super(AssertionControl.OID, { critical: true });
    this.#filter = parseFilter(filter);
  }
  protected override writeControl(writer: BerWriter): void {
    const w = new BerWriter();
    this.#filter.write(w);
    writer.writeBuffer(w.buffer, 0x04);
  }
}

/**
 * RFC 4527 post-read control: the server returns the entry as it is after the add/modify/rename, in the same
 * response (entryUUID, the DN as the server writes it, operational attributes) — one round trip instead of two.
 * Non-critical: a server without it just does not answer, and `entry` stays undefined.
 */
export class PostReadControl extends Control {
  static readonly OID = '1.3.6.1.1.13.2';
  readonly #attributes: readonly string[];
  readonly #binary: ReadonlySet<string>;
  entry: LdapEntry | undefined;
  constructor(attributes: readonly string[], binaryAttributes: readonly string[] = []) {
    super(PostReadControl.OID, { critical: false });
    this.#attributes = attributes;
    this.#binary = new Set(binaryAttributes.map((a) => a.toLowerCase()));
  }
  protected override writeControl(writer: BerWriter): void {
    const w = new BerWriter();
    w.startSequence();
    for (const a of this.#attributes) w.writeString(a);
    w.endSequence();
    writer.writeBuffer(w.buffer, 0x04);
  }
  /** The value is a SearchResultEntry: [APPLICATION 4] SEQUENCE { objectName, PartialAttributeList }. */
  protected override parseControl(reader: BerReader): void {
    if (reader.readSequence(0x64) === null) return;
    const entry: LdapEntry = { dn: reader.readString() ?? '', attributes: {}, binary: {} };
    if (reader.readSequence() === null) return;
    const end = reader.offset + reader.length;
    while (reader.offset < end) {
      reader.readSequence();
      const type = reader.readString() ?? '';
      const list: Buffer[] = [];
      if (reader.readSequence(0x31) !== null) {
        const setEnd = reader.offset + reader.length;
        while (reader.offset < setEnd) list.push(reader.readString(0x04, true) ?? Buffer.alloc(0));
      }
      let text: string[] | undefined;
      if (!this.#binary.has(type.toLowerCase())) {
        try {
          text = list.map((b) => utf8.decode(b));
        } catch {
          text = undefined;
        }
      }
      if (text) entry.attributes[type] = text;
      else entry.binary[type] = list;
    }
    this.entry = entry;
  }
}

export const PASSWORD_MODIFY_OID = '1.3.6.1.4.1.4203.1.11.1';
export const STARTTLS_OID = '1.3.6.1.4.1.1466.20037';
export const PAGED_RESULTS_OID = '1.2.840.113556.1.4.319';

/** RFC 3062 PasswdModifyRequestValue: SEQUENCE { userIdentity [0], newPasswd [2] }. */
export function passwordModifyRequest(userDn: string, newPassword: string): Buffer {
  const w = new BerWriter();
  w.startSequence(0x30);
  w.writeString(userDn, 0x80);
  w.writeString(newPassword, 0x82);
  w.endSequence();
  return Buffer.from(w.buffer);
}

/**
 * Coalesce the LDAP messages written in one tick into one write: ldapts writes every request on its own, and with
 * many operations in flight the per-write system call dominated the client's CPU time. Corking until the next tick
 * changes nothing on the wire but the packet boundaries.
 */
function coalesceWrites<S extends Socket>(socket: S): S {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  socket.write = ((...args: unknown[]) => {
    if (socket.writableCorked === 0) {
      socket.cork();
      process.nextTick(() => socket.uncork());
    }
    return write(...args);
  }) as S['write'];
  return socket;
}

export class LdapClient {
  readonly url: string;
  readonly #opts: LdapClientOptions;
  #client: Client | undefined;
  /** False once any socket of the current connection closed (ldapts misses a close after StartTLS). */
  #alive = false;
  #sockets: Socket[] = [];
  #connecting: Promise<Client> | undefined;
  #closed = false;

  constructor(opts: LdapClientOptions) {
    this.#opts = opts;
    this.url = opts.url;
  }

  /** Connect (and StartTLS, and bind) now, so configuration problems show up at once. */
  static async open(opts: LdapClientOptions): Promise<LdapClient> {
    const c = new LdapClient(opts);
    await c.connection();
    return c;
  }

  #ctx(ctx: Partial<LdapErrorContext> & { operation: string }): LdapErrorContext {
    return { url: this.url, ...ctx };
  }

  /** The bound ldapts client; re-established (StartTLS + bind) when the server dropped the connection. */
  async connection(): Promise<Client> {
    if (this.#closed)
      throw new ConnectorError('unreachable', `the LDAP connection to ${this.url} was closed`);
    const c = this.#client;
    if (c && this.#alive && c.isConnected && (c.isBound || this.#opts.bindDn === undefined)) return c;
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connect(): Promise<Client> {
    const old = this.#client;
    const oldSockets = this.#sockets;
    this.#client = undefined;
    this.#sockets = [];
    // A live connection is unbound politely; a dead one is just torn down (an unbind would wait for its timeout).
    if (old && this.#alive) await old.unbind().catch(() => undefined);
    else for (const so of oldSockets) so.destroy();
    const { url, tls } = this.#opts;
    const parsed = new URL(url);
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    const tlsOptions: ConnectionOptions = {
      rejectUnauthorized: tls?.rejectUnauthorized ?? true,
      ...(tls?.ca ? { ca: tls.ca } : {}),
      host,
      ...(isIP(host) ? {} : { servername: host }),
    };
    const mode = tls?.mode ?? (parsed.protocol === 'ldaps:' ? 'ldaps' : 'none');
    // Every socket of this connection (the TCP one, and the TLS one StartTLS puts on top) marks it dead when the
    // server hangs up.
    let alive = true;
    this.#alive = true;
    const sockets: Socket[] = [];
    const watch = <S extends Socket>(socket: S): S => {
      sockets.push(socket);
      const dead = () => {
        alive = false;
        if (this.#client === client) this.#alive = false;
      };
      // 'end': the server hung up (a TLS socket over StartTLS stays half-open and never emits 'close' by itself).
      socket.once('end', dead);
      socket.once('close', dead);
      return coalesceWrites(socket);
    };
    const client: Client = new Client({
      url,
      timeout: this.#opts.timeoutMs ?? 30_000,
      connectTimeout: this.#opts.connectTimeoutMs ?? 10_000,
      createConnection: ((port: number, host: string) => watch(netConnect(port, host))) as typeof netConnect,
      createSecureConnection: ((...args: Parameters<typeof tlsConnect>) =>
        watch(tlsConnect(...args))) as typeof tlsConnect,
      // ldapts connects with TLS whenever tlsOptions is set, so pass them only for ldaps://.
      ...(mode === 'ldaps' ? { tlsOptions } : {}),
    });
    try {
      if (mode === 'starttls') await client.startTLS(tlsOptions);
    } catch (e) {
      await client.unbind().catch(() => undefined);
      const rc = resultCode(e);
      if (rc !== undefined && rc !== 52 && rc !== 51)
        throw new ConnectorError(
          'invalid_config',
          `StartTLS with ${url} failed: the server refused it (result code ${rc}); is TLS configured there?`,
          { targetMessage: e instanceof Error ? e.message : String(e), cause: e },
        );
      throw ldapError(e, this.#ctx({ operation: 'StartTLS' }));
    }
    if (this.#opts.bindDn !== undefined) {
      try {
        await client.bind(this.#opts.bindDn, this.#opts.bindPassword?.reveal() ?? '');
      } catch (e) {
        await client.unbind().catch(() => undefined);
        throw ldapError(e, this.#ctx({ operation: 'bind', dn: this.#opts.bindDn }));
      }
    } else {
      // ldapts connects lazily: make sure the server is reachable now.
      try {
        await client.search('', { scope: 'base', attributes: ['1.1'] });
      } catch (e) {
        await client.unbind().catch(() => undefined);
        throw ldapError(e, this.#ctx({ operation: 'connect' }));
      }
    }
    this.#client = client;
    this.#sockets = sockets;
    this.#alive = alive;
    return client;
  }

  async #run<T>(
    ctx: Partial<LdapErrorContext> & { operation: string },
    fn: (c: Client) => Promise<T>,
  ): Promise<T> {
    const c = await this.connection();
    try {
      return await fn(c);
    } catch (e) {
      throw ldapError(e, this.#ctx(ctx));
    }
  }

  /** Stream every entry matching a search, one page at a time. */
  async *search(base: string, opts: LdapSearchOptions = {}): AsyncGenerator<LdapEntry> {
    const pageSize = opts.pageSize ?? 500;
    const binaryList = [...(opts.binaryAttributes ?? [])];
    const binary = new Set(binaryList.map((a) => a.toLowerCase()));
    const filter = parseFilter(opts.filter ?? '(objectClass=*)');
    const ctx = { operation: 'search', dn: base };
    const request = {
      scope: opts.scope ?? 'sub',
      filter,
      ...(opts.attributes ? { attributes: [...opts.attributes] } : {}),
      ...(opts.sizeLimit ? { sizeLimit: opts.sizeLimit } : {}),
      explicitBufferAttributes: [...binaryList, ...binaryList.map((a) => a.toLowerCase())],
    };
    const c = await this.connection();
    if (pageSize <= 0 || opts.scope === 'base') {
      let result;
      try {
        result = await c.search(base, request);
      } catch (e) {
        throw ldapError(e, this.#ctx(ctx));
      }
      for (const raw of result.searchEntries) yield toEntry(raw, binary);
      return;
    }
    const pages = c.searchPaginated(base, { ...request, paged: { pageSize } });
    for (;;) {
      let page;
      try {
        page = await pages.next();
      } catch (e) {
        throw ldapError(e, this.#ctx(ctx));
      }
      if (page.done) return;
      for (const raw of page.value.searchEntries) yield toEntry(raw, binary);
    }
  }

  async searchAll(base: string, opts: LdapSearchOptions = {}): Promise<LdapEntry[]> {
    const out: LdapEntry[] = [];
    for await (const e of this.search(base, opts)) out.push(e);
    return out;
  }

  /** One entry by DN; undefined when it does not exist. */
  async read(
    dn: string,
    attributes?: readonly string[],
    binaryAttributes?: readonly string[],
  ): Promise<LdapEntry | undefined> {
    try {
      const [e] = await this.searchAll(dn, {
        scope: 'base',
        ...(attributes ? { attributes } : {}),
        ...(binaryAttributes ? { binaryAttributes } : {}),
      });
      return e;
    } catch (e) {
      if (e instanceof ConnectorError && e.code === 'not_found') return undefined;
      throw e;
    }
  }

  async add(
    dn: string,
    attributes: Record<string, readonly (string | Buffer)[]>,
    opts: CallOptions = {},
  ): Promise<void> {
    const { controls, ...ctx } = opts;
    const attrs = Object.entries(attributes)
      .filter(([, v]) => v.length > 0)
      .map(([type, v]) => new Attribute({ type, values: [...v] as string[] | Buffer[] }));
    await this.#run({ operation: 'add', dn, ...ctx }, (c) => c.add(dn, attrs, controls));
  }

  async modify(dn: string, changes: readonly LdapModification[], opts: CallOptions = {}): Promise<void> {
    if (changes.length === 0) return;
    const { controls, ...ctx } = opts;
    const list = changes.map(
      (ch) =>
        new Change({
          operation: ch.operation,
          modification: new Attribute({ type: ch.attribute, values: [...ch.values] as string[] | Buffer[] }),
        }),
    );
    const attribute = [...new Set(changes.map((c) => c.attribute))];
    await this.#run({ operation: 'modify', dn, attribute, ...ctx }, (c) => c.modify(dn, list, controls));
  }

  /**
   * modifyDN: `newRdn` is an escaped RDN string (`uid=new`), `newParent` the new superior DN (same parent when
   * omitted). Both must be written with escape.ts (see its note on backslashes).
   */
  async rename(dn: string, newRdn: string, newParent?: string, opts: CallOptions = {}): Promise<void> {
    const { controls, ...ctx } = opts;
    const target = newParent === undefined ? newRdn : `${newRdn},${newParent}`;
    await this.#run({ operation: 'rename', dn, ...ctx }, (c) => c.modifyDN(dn, target, controls));
  }

  async del(dn: string, opts: CallOptions = {}): Promise<void> {
    const { controls, ...ctx } = opts;
    await this.#run({ operation: 'delete', dn, ...ctx }, (c) => c.del(dn, controls));
  }

  async exop(
    oid: string,
    value: Buffer | undefined,
    opts: CallOptions = {},
  ): Promise<{ oid?: string; value?: string }> {
    const { controls, ...ctx } = opts;
    return this.#run({ operation: `extended operation ${oid}`, ...ctx }, (c) => c.exop(oid, value, controls));
  }

  /** RFC 3062 password modify: set `dn`'s password as the bound account (the server hashes it). */
  async passwordModify(dn: string, password: Secret, opts: CallOptions = {}): Promise<void> {
    await this.exop(PASSWORD_MODIFY_OID, passwordModifyRequest(dn, password.reveal()), {
      operation: 'set password',
      dn,
      attribute: 'userPassword',
      password: true,
      ...opts,
    });
  }

  /** Check a DN/password pair on a separate connection (never disturbs this client's bind). */
  async verifyPassword(dn: string, password: Secret): Promise<boolean> {
    const probe = new LdapClient({ ...this.#opts, bindDn: dn, bindPassword: password });
    try {
      await probe.connection();
      return true;
    } catch (e) {
      if (e instanceof ConnectorError && e.code === 'auth_failed') return false;
      throw e;
    } finally {
      await probe.close();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const c = this.#client;
    this.#client = undefined;
    if (c && this.#alive) await c.unbind().catch(() => undefined);
    for (const so of this.#sockets) so.destroy();
    this.#sockets = [];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// RFC 4515 filter strings → ldapts filter objects, with `\XX` escapes decoded as bytes (UTF-8 text, or a Buffer for
// binary equality values such as an AD objectGUID).

function filterError(s: string, why: string): ConnectorError {
  return new ConnectorError('schema_violation', `invalid LDAP filter ${s}: ${why}`, {
    details: { filter: s },
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function unescapeValue(s: string, raw: string): string | Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < raw.length;) {
    const ch = raw[i]!;
    if (ch === '\\') {
      const h = raw.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(h)) throw filterError(s, `bad escape "\\${h}" (use \\XX hex pairs)`);
      bytes.push(parseInt(h, 16));
      i += 3;
    } else if (ch === '(' || ch === ')') {
      throw filterError(s, `unescaped "${ch}" in a value`);
    } else {
      const cp = raw.codePointAt(i)!;
      const c = String.fromCodePoint(cp);
      for (const b of Buffer.from(c, 'utf8')) bytes.push(b);
      i += c.length;
    }
  }
  const buf = Buffer.from(bytes);
  try {
    return utf8.decode(buf);
  } catch {
    return buf;
  }
}

function textValue(s: string, raw: string): string {
  const v = unescapeValue(s, raw);
  if (typeof v !== 'string') throw filterError(s, 'binary values are only supported in equality filters');
  return v;
}

const ATTR_RE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*)(?:;[A-Za-z0-9-]+)*$/;

function parseItem(s: string, item: string): LdaptsFilter {
  const ext = item.indexOf(':=');
  const eq = item.indexOf('=');
  if (eq < 0) throw filterError(s, `"${item}" has no "="`);
  if (ext >= 0 && ext < eq) {
    // extensible: attr[:dn][:rule]:=value  |  [:dn]:rule:=value
    const left = item.slice(0, ext).split(':');
    const attribute = left.shift() ?? '';
    let dnAttributes = false;
    if (left[0]?.toLowerCase() === 'dn') {
      dnAttributes = true;
      left.shift();
    }
    const rule = left.shift();
    if (left.length) throw filterError(s, `bad extensible match "${item}"`);
    if (attribute === '' && !rule) throw filterError(s, `extensible match "${item}" needs a type or a rule`);
    if (attribute !== '' && !ATTR_RE.test(attribute))
      throw filterError(s, `"${attribute}" is not an attribute`);
    return new ExtensibleFilter({
      ...(attribute ? { matchType: attribute } : {}),
      ...(rule ? { rule } : {}),
      dnAttributes,
      value: textValue(s, item.slice(ext + 2)),
    });
  }
  const opChar = item[eq - 1];
  const special = opChar === '~' || opChar === '>' || opChar === '<';
  const attribute = item.slice(0, special ? eq - 1 : eq);
  if (!ATTR_RE.test(attribute)) throw filterError(s, `"${attribute}" is not an attribute`);
  const raw = item.slice(eq + 1);
  if (special) {
    const value = textValue(s, raw);
    if (opChar === '~') return new ApproximateFilter({ attribute, value });
    if (opChar === '>') return new GreaterThanEqualsFilter({ attribute, value });
    return new LessThanEqualsFilter({ attribute, value });
  }
  if (raw === '*') return new PresenceFilter({ attribute });
  if (raw.includes('*')) {
    const parts = raw.split('*');
    const initial = textValue(s, parts.shift() ?? '');
    const final = textValue(s, parts.pop() ?? '');
    const any = parts.filter((p) => p !== '').map((p) => textValue(s, p));
    return new SubstringFilter({ attribute, initial, any, final });
  }
  return new EqualityFilter({ attribute, value: unescapeValue(s, raw) as string });
}

/** Parse an RFC 4515 filter string into ldapts filter objects (throws ConnectorError schema_violation). */
export function parseFilter(s: string): LdaptsFilter {
  const text = s.trim();
  const wrapped = text.startsWith('(') ? text : `(${text})`;
  let i = 0;
  const parse = (): LdaptsFilter => {
    if (wrapped[i] !== '(') throw filterError(s, `expected "(" at position ${i}`);
    i++;
    const c = wrapped[i];
    let f: LdaptsFilter;
    if (c === '&' || c === '|') {
      i++;
      const filters: LdaptsFilter[] = [];
      while (wrapped[i] === '(') filters.push(parse());
      f = c === '&' ? new AndFilter({ filters }) : new OrFilter({ filters });
    } else if (c === '!') {
      i++;
      f = new NotFilter({ filter: parse() });
    } else {
      const start = i;
      while (i < wrapped.length && wrapped[i] !== ')' && wrapped[i] !== '(') i++;
      f = parseItem(s, wrapped.slice(start, i));
    }
    if (wrapped[i] !== ')') throw filterError(s, `expected ")" at position ${i}`);
    i++;
    return f;
  };
  const f = parse();
  if (i !== wrapped.length) throw filterError(s, `unexpected text after position ${i}`);
  return f;
}
