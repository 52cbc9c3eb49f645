/**
 * LDAP string representations, shared by the LDAP and Active Directory connectors:
 *
 * - RFC 4514 distinguished names: `escapeDnValue`, `parseDn`, `formatDn`, `rdn`, `parentDn`, `normalizeDn`,
 *   `dnEquals`;
 * - RFC 4515 search filters: `escapeFilterValue` and `compileFilter`, which turns the kit's connector-neutral
 *   `Filter` into an LDAP filter string.
 *
 * Non-ASCII text is written as raw UTF-8 (both RFCs allow it). That is also what ldapts needs: its filter-string
 * parser turns each `\XX` escape into one UTF-16 code unit, so a hex-escaped multi-byte character (`\c4\8d`) would
 * reach the server as the wrong bytes. `parseFilter` in client.ts is the UTF-8-correct parser our clients use.
 *
 * Backslashes in DN values are written as `\5C` rather than `\\`: ldapts's `modifyDN` splits the new DN at the first
 * comma not preceded by a backslash, which `\\,` (an escaped backslash at the end of a value) would defeat.
 */
import { ConnectorError } from '../kit/errors.ts';
import type { AttributeValue, Filter, Scalar } from '../kit/types.ts';

/** One attribute type and value of an RDN. `binary` holds the BER bytes of a `#hex` value. */
export interface Ava {
  type: string;
  value: string;
  binary?: Buffer;
}
/** A relative distinguished name: one or more AVAs (`OU=Sales+CN=J. Smith` has two). */
export type Rdn = Ava[];

function invalidDn(dn: string, why: string): ConnectorError {
  return new ConnectorError('schema_violation', `invalid distinguished name "${dn}": ${why}`, {
    details: { dn },
  });
}

const hex2 = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');

/** RFC 4514 §2.4: escape one attribute value for use in a DN string. */
export function escapeDnValue(value: string): string {
  let out = '';
  const chars = [...value];
  chars.forEach((ch, i) => {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\5C';
    else if ('",+;<>'.includes(ch)) out += '\\' + ch;
    else if (code < 0x20 || code === 0x7f) out += '\\' + hex2(code);
    else if (i === 0 && (ch === '#' || ch === ' ')) out += '\\' + ch;
    else if (i === chars.length - 1 && ch === ' ') out += '\\ ';
    else out += ch;
  });
  return out;
}

/** `type=value` with the value escaped, e.g. `rdn('cn', 'Smith, John')` → `cn=Smith\, John`. */
export function rdn(type: string, value: string): string {
  return `${type}=${escapeDnValue(value)}`;
}

const TYPE_RE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*)$/;
const isHex = (c: string | undefined) => c !== undefined && /^[0-9A-Fa-f]$/.test(c);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decode the string content of a BER-encoded value (`#04024869` → "Hi"); undefined for non-string types. */
function berString(ber: Buffer): string | undefined {
  if (ber.length < 2) return undefined;
  const tag = ber[0]!;
  let len = ber[1]!;
  let offset = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || ber.length < 2 + n) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + ber[2 + i]!;
    offset = 2 + n;
  }
  if (offset + len !== ber.length) return undefined;
  // OCTET STRING, UTF8String, PrintableString, T61String, IA5String, VisibleString
  if (![0x04, 0x0c, 0x13, 0x14, 0x16, 0x1a].includes(tag)) return undefined;
  try {
    return utf8.decode(ber.subarray(offset));
  } catch {
    return undefined;
  }
}

/**
 * RFC 4514 §3: parse a DN string into its RDNs (most specific first). Accepts escaped specials (`\,`), hex pairs
 * (`\C4\8D`, decoded as UTF-8) and `#hex` BER values; tolerates unescaped spaces around types and values. Throws
 * ConnectorError `schema_violation` naming the DN and the reason.
 */
export function parseDn(dn: string): Rdn[] {
  const rdns: Rdn[] = [];
  if (dn.trim() === '') return rdns;
  let i = 0;
  const n = dn.length;
  let current: Rdn = [];
  while (i < n) {
    while (i < n && dn[i] === ' ') i++;
    const typeStart = i;
    while (i < n && dn[i] !== '=' && dn[i] !== ',' && dn[i] !== '+') i++;
    if (dn[i] !== '=') throw invalidDn(dn, `expected "=" after the attribute type at position ${typeStart}`);
    const type = dn.slice(typeStart, i).trim();
    if (!TYPE_RE.test(type)) throw invalidDn(dn, `"${type}" is not an attribute type`);
    i++; // '='
    while (i < n && dn[i] === ' ') i++;
    let ava: Ava;
    if (dn[i] === '#') {
      i++;
      const start = i;
      while (isHex(dn[i]) && isHex(dn[i + 1])) i += 2;
      const hex = dn.slice(start, i);
      if (hex.length === 0) throw invalidDn(dn, `"#" must be followed by hex digits at position ${start}`);
      while (i < n && dn[i] === ' ') i++;
      const binary = Buffer.from(hex, 'hex');
      ava = { type, value: berString(binary) ?? hex.toLowerCase(), binary };
    } else {
      const bytes: number[] = [];
      let significant = 0; // length of `bytes` up to the last character that was escaped or not a space
      while (i < n && dn[i] !== ',' && dn[i] !== '+') {
        const ch = dn[i]!;
        if (ch === '\\') {
          const next = dn[i + 1];
          if (isHex(next) && isHex(dn[i + 2])) {
            bytes.push(parseInt(dn.slice(i + 1, i + 3), 16));
            i += 3;
          } else if (next !== undefined && ' "#+,;<=>\\'.includes(next)) {
            bytes.push(next.charCodeAt(0));
            i += 2;
          } else {
            throw invalidDn(dn, `bad escape "\\${next ?? ''}" at position ${i}`);
          }
          significant = bytes.length;
        } else {
          const cp = dn.codePointAt(i)!;
          const s = String.fromCodePoint(cp);
          for (const b of Buffer.from(s, 'utf8')) bytes.push(b);
          if (ch !== ' ') significant = bytes.length;
          i += s.length;
        }
      }
      let value: string;
      try {
        value = utf8.decode(Uint8Array.from(bytes.slice(0, significant)));
      } catch {
        throw invalidDn(dn, `the value of ${type} is not valid UTF-8`);
      }
      ava = { type, value };
    }
    current.push(ava);
    if (i >= n) break;
    if (dn[i] === '+') {
      i++;
      continue;
    }
    if (dn[i] === ',') {
      rdns.push(current);
      current = [];
      i++;
      if (i >= n) throw invalidDn(dn, 'it ends with a comma');
      continue;
    }
    throw invalidDn(dn, `unexpected "${dn[i]}" at position ${i}`);
  }
  rdns.push(current);
  return rdns;
}

/** True when `dn` parses as an RFC 4514 DN (for configuration checks). */
export function isValidDn(dn: string): boolean {
  try {
    parseDn(dn);
    return true;
  } catch {
    return false;
  }
}

export function formatRdn(r: Rdn): string {
  return r.map((a) => (a.binary ? `${a.type}=#${a.binary.toString('hex')}` : rdn(a.type, a.value))).join('+');
}

/** RDNs back to a DN string, escaping every value with `escapeDnValue`. */
export function formatDn(rdns: readonly Rdn[]): string {
  return rdns.map(formatRdn).join(',');
}

/** The DN of the parent entry (`uid=a,ou=people,dc=x` → `ou=people,dc=x`); '' for a single RDN. */
export function parentDn(dn: string): string {
  return formatDn(parseDn(dn).slice(1));
}

/** The first RDN's first value (`cn=Smith\, John,ou=x` → "Smith, John"). */
export function rdnValue(dn: string): string {
  return parseDn(dn)[0]?.[0]?.value ?? '';
}

/** Join an RDN string (already escaped) and a parent DN. */
export function childDn(rdnString: string, parent: string): string {
  return parent === '' ? rdnString : `${rdnString},${parent}`;
}

/**
 * A comparison key: lower-case types, values lower-cased with inner whitespace runs collapsed (the caseIgnoreMatch
 * most naming attributes use), the AVAs of a multi-valued RDN sorted. Two DNs for the same entry give the same key.
 */
export function normalizeDn(dn: string): string {
  return parseDn(dn)
    .map((r) =>
      r
        .map((a) => {
          const v = a.binary
            ? `#${a.binary.toString('hex')}`
            : a.value.normalize('NFC').trim().replace(/\s+/g, ' ');
          return `${a.type.toLowerCase()}=${escapeDnValue(v.toLowerCase())}`;
        })
        .sort()
        .join('+'),
    )
    .join(',');
}

export function dnEquals(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return normalizeDn(a) === normalizeDn(b);
  } catch {
    return false;
  }
}

/** True when `dn` is `base` or below it. */
export function isUnder(dn: string, base: string): boolean {
  const d = parseDn(dn);
  const b = parseDn(base);
  if (b.length > d.length) return false;
  return normalizeDn(formatDn(d.slice(d.length - b.length))) === normalizeDn(base);
}

/**
 * RFC 4515 §3: escape a value for an LDAP filter: `*` `(` `)` `\` and NUL become `\2a` `\28` `\29` `\5c` `\00`.
 * A Buffer (binary value, e.g. an AD objectGUID) has every byte escaped. Non-ASCII text stays raw UTF-8 unless
 * `escapeNonAscii` is set (then each UTF-8 byte becomes `\xx`, the RFC's `Lu\c4\8di\c4\87` form — not for ldapts
 * string filters, see the module comment).
 */
export function escapeFilterValue(value: string | Buffer, opts: { escapeNonAscii?: boolean } = {}): string {
  if (Buffer.isBuffer(value)) return [...value].map((b) => '\\' + b.toString(16).padStart(2, '0')).join('');
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '*' || ch === '(' || ch === ')' || ch === '\\' || code === 0) {
      out += '\\' + code.toString(16).padStart(2, '0');
    } else if (code > 0x7f && opts.escapeNonAscii) {
      for (const b of Buffer.from(ch, 'utf8')) out += '\\' + b.toString(16).padStart(2, '0');
    } else {
      out += ch;
    }
  }
  return out;
}

/** Attribute description: a name or OID, optionally with options (`cn;lang-de`). */
const ATTRIBUTE_RE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)(?:;[A-Za-z0-9-]+)*$/;

export type AttributeMap = Readonly<Record<string, string>> | ((attribute: string) => string);

export interface CompileFilterOptions {
  /** Turn a value into what the target stores (e.g. an AD GUID string into its bytes). Default: text. */
  value?: (attribute: string, value: Scalar) => string | Buffer;
}

/** A kit value as LDAP text: booleans are `TRUE`/`FALSE` (RFC 4517 Boolean), numbers their decimal form. */
export function scalarText(v: Scalar): string {
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  return String(v);
}

/** A kit attribute value as a list: null/absent → [], a scalar → [it]. */
export function listOf(v: AttributeValue | undefined): Scalar[] {
  if (v === null || v === undefined) return [];
  return Array.isArray(v) ? [...(v as readonly Scalar[])] : [v as Scalar];
}

/**
 * Compile the kit's Filter into an RFC 4515 filter string. Attribute names go through `attributeMap` (a record or
 * a function; unmapped names pass through) and must be valid attribute descriptions — anything else is refused as
 * `schema_violation` rather than spliced into the filter. `ne` is `(!(a=v))`, `gt`/`lt` are `>=`/`<=` without the
 * equal value, `co`/`sw`/`ew` are substring filters; an empty `and` matches everything, an empty `or` nothing.
 */
export function compileFilter(
  filter: Filter,
  attributeMap?: AttributeMap,
  options: CompileFilterOptions = {},
): string {
  const mapName = (name: string): string => {
    const mapped = typeof attributeMap === 'function' ? attributeMap(name) : (attributeMap?.[name] ?? name);
    if (!ATTRIBUTE_RE.test(mapped))
      throw new ConnectorError('schema_violation', `invalid attribute name "${name}" in a search filter`, {
        details: { attribute: name },
      });
    return mapped;
  };
  const val = (attribute: string, v: Scalar): string => {
    const raw = options.value ? options.value(attribute, v) : scalarText(v);
    return escapeFilterValue(raw);
  };
  const go = (f: Filter): string => {
    switch (f.op) {
      case 'and':
        return f.filters.length === 0 ? '(objectClass=*)' : `(&${f.filters.map(go).join('')})`;
      case 'or':
        return f.filters.length === 0 ? '(!(objectClass=*))' : `(|${f.filters.map(go).join('')})`;
      case 'not':
        return `(!${go(f.filter)})`;
      case 'pr':
        return `(${mapName(f.attribute)}=*)`;
      default: {
        const a = mapName(f.attribute);
        const v = val(f.attribute, f.value);
        switch (f.op) {
          case 'eq':
            return `(${a}=${v})`;
          case 'ne':
            return `(!(${a}=${v}))`;
          case 'co':
            return v === '' ? `(${a}=*)` : `(${a}=*${v}*)`;
          case 'sw':
            return v === '' ? `(${a}=*)` : `(${a}=${v}*)`;
          case 'ew':
            return v === '' ? `(${a}=*)` : `(${a}=*${v})`;
          case 'ge':
            return `(${a}>=${v})`;
          case 'le':
            return `(${a}<=${v})`;
          case 'gt':
            return `(&(${a}>=${v})(!(${a}=${v})))`;
          case 'lt':
            return `(&(${a}<=${v})(!(${a}=${v})))`;
        }
      }
    }
  };
  return go(filter);
}
