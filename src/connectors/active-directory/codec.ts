/**
 * Active Directory value formats, pure and table-tested (codec.test.ts):
 *
 * - objectGUID: 16 bytes on the wire; the canonical string form (`a01f7977-76dc-4ad8-9181-5a09d523b71e`) stores the
 *   first three fields little-endian, so bytes `77 79 1f a0 dc 76 d8 4a …` read `a01f7977-76dc-4ad8-…`;
 * - FILETIME (lastLogonTimestamp, pwdLastSet, lockoutTime, accountExpires): 100-ns intervals since 1601-01-01 UTC,
 *   with 0 and 2^63-1 meaning "never";
 * - objectSid: the binary SID to its `S-1-5-21-…` text;
 * - unicodePwd: the password in double quotes, UTF-16LE;
 * - userAccountControl flags;
 * - extended DNs (`<GUID=…>;<SID=…>;CN=…`) as returned under the extended-DN control.
 */

export const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const reverseHex = (hex: string): string => hex.match(/../g)!.reverse().join('');

/** objectGUID bytes → canonical lower-case string form. */
export function guidToString(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError(`an objectGUID has 16 bytes, got ${bytes.length}`);
  const h = Buffer.from(bytes).toString('hex');
  return [
    reverseHex(h.slice(0, 8)),
    reverseHex(h.slice(8, 12)),
    reverseHex(h.slice(12, 16)),
    h.slice(16, 20),
    h.slice(20),
  ].join('-');
}

/** Canonical GUID string → the 16 bytes AD stores (for a binary filter such as `(objectGUID=\77\79…)`). */
export function guidToBytes(guid: string): Buffer {
  if (!GUID_RE.test(guid)) throw new RangeError(`not a GUID: ${guid}`);
  const p = guid.toLowerCase().split('-');
  return Buffer.from(reverseHex(p[0]!) + reverseHex(p[1]!) + reverseHex(p[2]!) + p[3]! + p[4]!, 'hex');
}

export function isGuid(s: string | undefined): s is string {
  return s !== undefined && GUID_RE.test(s);
}

/** `<GUID=…>`: a DN AD resolves to the object with that objectGUID, wherever it has moved. */
export function guidDn(guid: string): string {
  return `<GUID=${guid.toLowerCase()}>`;
}

/** 100-ns intervals between 1601-01-01 and 1970-01-01. */
const EPOCH_DIFF = 116_444_736_000_000_000n;
const NEVER = 0x7fff_ffff_ffff_ffffn;

/** A FILETIME (as AD writes it: decimal text) → ISO 8601, or undefined for 0 / "never" / not a number. */
export function filetimeToIso(value: string | bigint | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  let ft: bigint;
  try {
    ft = typeof value === 'bigint' ? value : BigInt(value);
  } catch {
    return undefined;
  }
  if (ft <= 0n || ft >= NEVER) return undefined;
  const ms = (ft - EPOCH_DIFF) / 10_000n;
  const d = new Date(Number(ms));
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** A date → FILETIME decimal text (for accountExpires and for tests). */
export function isoToFiletime(date: Date | string): string {
  const ms = BigInt(new Date(date).getTime());
  return String(ms * 10_000n + EPOCH_DIFF);
}

/** Binary SID → `S-1-5-21-…`. */
export function sidToString(bytes: Uint8Array): string {
  const b = Buffer.from(bytes);
  if (b.length < 8) throw new RangeError(`a SID has at least 8 bytes, got ${b.length}`);
  const revision = b[0]!;
  const count = b[1]!;
  if (b.length !== 8 + 4 * count)
    throw new RangeError(`a SID with ${count} sub-authorities has ${8 + 4 * count} bytes`);
  const authority = b.readUIntBE(2, 6);
  const subs: number[] = [];
  for (let i = 0; i < count; i++) subs.push(b.readUInt32LE(8 + 4 * i));
  return ['S', revision, authority, ...subs].join('-');
}

/** The unicodePwd value for a password: the password in double quotes, UTF-16LE. */
export function unicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

/** userAccountControl flags Gatehouse reads or writes. */
export const UAC = {
  ACCOUNTDISABLE: 0x2,
  LOCKOUT: 0x10,
  PASSWD_NOTREQD: 0x20,
  NORMAL_ACCOUNT: 0x200,
  DONT_EXPIRE_PASSWORD: 0x1_0000,
  PASSWORD_EXPIRED: 0x80_0000,
} as const;

/** Set or clear ACCOUNTDISABLE, keeping every other bit. */
export function withDisabled(uac: number, disabled: boolean): number {
  return disabled ? uac | UAC.ACCOUNTDISABLE : uac & ~UAC.ACCOUNTDISABLE;
}

/** groupType values (a signed 32-bit integer on the wire). */
export const GROUP_TYPE = {
  'global-security': -2147483646,
  'domain-local-security': -2147483644,
  'universal-security': -2147483640,
  'global-distribution': 2,
  'domain-local-distribution': 4,
  'universal-distribution': 8,
} as const;
export type GroupScope = keyof typeof GROUP_TYPE;

export interface ExtendedDn {
  dn: string;
  guid?: string;
  sid?: string;
}

/**
 * Split an extended DN (`<GUID=…>;<SID=…>;CN=x,DC=y`, string form as asked for with the control's flag 1) into its
 * parts. A plain DN comes back as `{ dn }`.
 */
export function parseExtendedDn(value: string): ExtendedDn {
  const out: ExtendedDn = { dn: value };
  let rest = value;
  for (;;) {
    const m = /^<([A-Za-z]+)=([^>]*)>;?/.exec(rest);
    if (!m) break;
    const kind = m[1]!.toUpperCase();
    if (kind === 'GUID') out.guid = m[2]!.toLowerCase();
    else if (kind === 'SID') out.sid = m[2]!;
    rest = rest.slice(m[0].length);
  }
  out.dn = rest;
  return out;
}

/** sAMAccountName rules: at most 20 characters, none of `" / \ [ ] : ; | = , + * ? < >`, not only dots/spaces. */
export function samAccountNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if ([...name].length > 20)
    return `it has ${[...name].length} characters; Active Directory allows at most 20`;
  const bad = [...new Set([...name].filter((c) => '"/\\[]:;|=,+*?<>'.includes(c) || c.charCodeAt(0) < 0x20))];
  if (bad.length)
    return `it contains ${bad.map((c) => JSON.stringify(c)).join(', ')}, which Active Directory refuses`;
  if (/^[. ]+$/.test(name)) return 'it consists only of dots and spaces';
  return undefined;
}
