/**
 * SCIM attribute paths and the flat attribute view the connector kit uses.
 *
 * A connector attribute is named by its SCIM path, the names Entra ID and Okta show in their attribute-mapping
 * screens: `userName`, `name.givenName`, `emails[type eq "work"].value`,
 * `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`. A configured attribute mapping gives
 * paths a Gatehouse name (`mail` → `emails[type eq "work"].value`).
 *
 * Supported paths (RFC 7644 §3.10 `attrPath`, plus one value selection): an optional schema URN, an attribute, an
 * optional `[sub eq literal]` selection on a multi-valued complex attribute, and an optional sub-attribute.
 */
import { ConnectorError } from '../kit/errors.ts';
import type { AttributeDelta, Attributes, AttributeValue, ObjectClass, Scalar } from '../kit/types.ts';

export type Json = Record<string, unknown>;

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

export function coreSchema(objectClass: ObjectClass): string {
  return objectClass === 'group' ? CORE_GROUP : CORE_USER;
}

export function namingAttribute(objectClass: ObjectClass): 'userName' | 'displayName' {
  return objectClass === 'group' ? 'displayName' : 'userName';
}

/** RFC 7643 core attributes that are multi-valued and complex (values are objects with a `value`). */
const MULTI_COMPLEX = new Set(
  [
    'emails',
    'phoneNumbers',
    'ims',
    'photos',
    'addresses',
    'groups',
    'entitlements',
    'roles',
    'x509Certificates',
    'members',
  ].map((a) => a.toLowerCase()),
);

/** RFC 7643 core attributes that are single-valued and simple: several values for them are refused here. */
const SINGLE = new Set(
  [
    'userName',
    'displayName',
    'nickName',
    'profileUrl',
    'title',
    'userType',
    'preferredLanguage',
    'locale',
    'timezone',
    'active',
    'password',
    'externalId',
  ].map((a) => a.toLowerCase()),
);

export interface ScimPath {
  /** Extension schema URN; undefined for the core schema. */
  urn?: string;
  attr: string;
  /** Value selection on a multi-valued complex attribute: `[attr eq value]`. */
  select?: { attr: string; value: Scalar };
  sub?: string;
}

const NAME = '[A-Za-z][A-Za-z0-9_$-]*';
const LITERAL = '"(?:[^"\\\\]|\\\\.)*"|true|false|-?\\d+(?:\\.\\d+)?';
const PATH = new RegExp(
  `^(?:(urn:[A-Za-z0-9._:-]+):)?(${NAME})(?:\\[(${NAME}) eq (${LITERAL})\\])?(?:\\.(${NAME}))?$`,
);

/** Parse a SCIM attribute path, or undefined when it is not one this connector can use. */
export function parsePath(raw: string): ScimPath | undefined {
  const m = PATH.exec(raw.trim());
  if (!m) return undefined;
  const [, urn, attr, selAttr, selValue, sub] = m;
  const out: ScimPath = { attr: attr! };
  if (urn && urn !== CORE_USER && urn !== CORE_GROUP) out.urn = urn;
  if (selAttr && selValue !== undefined) {
    let value: Scalar;
    try {
      value = JSON.parse(selValue) as Scalar;
    } catch {
      return undefined;
    }
    out.select = { attr: selAttr, value };
  }
  if (sub) out.sub = sub;
  return out;
}

/** The canonical text of a path (the form sent to the server and used as the default attribute name). */
export function formatPath(p: ScimPath): string {
  const base = p.urn ? `${p.urn}:${p.attr}` : p.attr;
  const sel = p.select ? `[${p.select.attr} eq ${literal(p.select.value)}]` : '';
  return `${base}${sel}${p.sub ? `.${p.sub}` : ''}`;
}

/** A SCIM filter/path literal: strings as JSON strings (quotes, backslashes and control characters escaped). */
export function literal(v: Scalar): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v))
      throw new ConnectorError('schema_violation', `${v} cannot be sent in a SCIM filter`);
    return String(v);
  }
  return typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

export function isSingleValued(p: ScimPath): boolean {
  return !p.urn && !p.select && !p.sub && SINGLE.has(p.attr.toLowerCase());
}

export function isMultiComplex(p: ScimPath): boolean {
  return !p.urn && !p.select && MULTI_COMPLEX.has(p.attr.toLowerCase());
}

/** Look up a key case-insensitively (SCIM attribute names are case-insensitive, RFC 7643 §2.1). */
export function own(obj: unknown, key: string): unknown {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const o = obj as Json;
  if (key in o) return o[key];
  const k = Object.keys(o).find((x) => x.toLowerCase() === key.toLowerCase());
  return k === undefined ? undefined : o[k];
}

function keyOf(obj: Json, key: string): string {
  return Object.keys(obj).find((x) => x.toLowerCase() === key.toLowerCase()) ?? key;
}

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function sameScalar(a: unknown, b: Scalar): boolean {
  return typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : a === b;
}

function toValue(v: unknown): AttributeValue {
  if (v === undefined || v === null) return null;
  if (isScalar(v)) return v;
  if (Array.isArray(v)) {
    const list = v.filter(isScalar);
    return list.length === v.length ? list : JSON.stringify(v);
  }
  return JSON.stringify(v);
}

/** The value at a path in a resource, in the kit's flat form (null when absent). */
export function extract(resource: Json, p: ScimPath): AttributeValue {
  const container = p.urn ? own(resource, p.urn) : resource;
  const v = own(container, p.attr);
  if (p.select) {
    if (!Array.isArray(v)) return null;
    const entry = v.find((e) => sameScalar(own(e, p.select!.attr), p.select!.value));
    return toValue(own(entry, p.sub ?? 'value'));
  }
  if (Array.isArray(v) && v.some((e) => e && typeof e === 'object')) {
    const sub = p.sub ?? 'value';
    const list = v.map((e) => own(e, sub)).filter(isScalar);
    return list;
  }
  if (p.sub) return toValue(own(v, p.sub));
  return toValue(v);
}

const SKIP = new Set(['schemas', 'id', 'meta', 'password', 'groups']);

/**
 * The default flat view of a resource: scalars by name, complex sub-attributes as `attr.sub`, typed entries of
 * multi-valued attributes as `attr[type eq "T"].sub`, untyped ones as lists under `attr.sub`, extension
 * attributes prefixed with their URN, and `meta.created` / `meta.lastModified` / `meta.version`.
 */
export function flatten(resource: Json): Attributes {
  const out: Attributes = {};
  const put = (prefix: string, key: string, value: unknown) => {
    const name = prefix + key;
    if (isScalar(value)) out[name] = value;
    else if (Array.isArray(value)) {
      if (value.every(isScalar)) {
        out[name] = value as Scalar[];
        return;
      }
      for (const entry of value) {
        if (!entry || typeof entry !== 'object') continue;
        const type = own(entry, 'type');
        for (const [sub, sv] of Object.entries(entry as Json)) {
          if (!isScalar(sv)) continue;
          if (typeof type === 'string' && sub.toLowerCase() !== 'type') {
            const k = `${name}[type eq ${literal(type)}].${sub}`;
            if (!(k in out)) out[k] = sv;
          } else if (typeof type !== 'string') {
            const k = `${name}.${sub}`;
            const prev = out[k];
            out[k] = Array.isArray(prev) ? [...(prev as Scalar[]), sv] : [sv];
          }
        }
      }
    } else if (value && typeof value === 'object') {
      for (const [sub, sv] of Object.entries(value as Json)) {
        if (isScalar(sv) || (Array.isArray(sv) && sv.every(isScalar)))
          out[`${name}.${sub}`] = sv as AttributeValue;
      }
    }
  };
  for (const [key, value] of Object.entries(resource)) {
    if (SKIP.has(key) || (key === 'members' && Array.isArray(value))) continue;
    if (key.startsWith('urn:') && value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value as Json)) put(`${key}:`, k, v);
    } else put('', key, value);
  }
  const meta = own(resource, 'meta');
  for (const k of ['created', 'lastModified', 'version']) {
    const v = own(meta, k);
    if (typeof v === 'string') out[`meta.${k}`] = v;
  }
  return out;
}

function bad(message: string): ConnectorError {
  return new ConnectorError('schema_violation', message);
}

function one(path: string, values: readonly Scalar[]): Scalar {
  if (values.length !== 1) throw bad(`${path} takes exactly one value, not ${values.length}`);
  return values[0]!;
}

/**
 * Write values at a path into a resource body (create, and local application of deltas for whole-resource
 * updates). `null` or an empty list removes.
 */
export function assign(resource: Json, p: ScimPath, values: readonly Scalar[] | null): void {
  const path = formatPath(p);
  const empty = values === null || values.length === 0;
  let container: Json = resource;
  if (p.urn) {
    const k = keyOf(resource, p.urn);
    if (!resource[k] || typeof resource[k] !== 'object') {
      if (empty) return;
      resource[k] = {};
    }
    container = resource[k] as Json;
  }
  const key = keyOf(container, p.attr);
  if (p.select) {
    const list = Array.isArray(container[key]) ? (container[key] as Json[]) : [];
    const sub = p.sub ?? 'value';
    let entry = list.find((e) => sameScalar(own(e, p.select!.attr), p.select!.value));
    if (empty) {
      if (!entry) return;
      delete entry[keyOf(entry, sub)];
      const rest = Object.keys(entry).filter((k) => !['type', 'primary', 'display'].includes(k));
      if (rest.length === 0) container[key] = list.filter((e) => e !== entry);
    } else {
      if (!entry) {
        entry = { [p.select.attr]: p.select.value };
        list.push(entry);
      }
      entry[keyOf(entry, sub)] = one(path, values);
      container[key] = list;
    }
    if ((container[key] as Json[] | undefined)?.length === 0) delete container[key];
    return;
  }
  if (isMultiComplex(p)) {
    const sub = p.sub ?? 'value';
    if (empty) delete container[key];
    else container[key] = values.map((v) => ({ [sub]: v }));
    return;
  }
  if (p.sub) {
    if (empty) {
      const c = container[key];
      if (c && typeof c === 'object') delete (c as Json)[keyOf(c as Json, p.sub)];
      return;
    }
    const c = container[key] && typeof container[key] === 'object' ? (container[key] as Json) : {};
    c[keyOf(c, p.sub)] = one(path, values);
    container[key] = c;
    return;
  }
  if (empty) delete container[key];
  else if (isSingleValued(p)) container[key] = one(path, values);
  else container[key] = values.length === 1 ? values[0] : [...values];
}

/** Apply one delta to a resource held locally (read-modify-write updates). */
export function applyDelta(resource: Json, p: ScimPath, delta: AttributeDelta): void {
  if (delta.op === 'replace') return assign(resource, p, delta.values);
  const current = extract(resource, p);
  const list: Scalar[] = current === null ? [] : Array.isArray(current) ? [...current] : [current as Scalar];
  const multi = isMultiComplex(p) || list.length > 1;
  if (delta.op === 'add') {
    if (!multi) return delta.values.length ? assign(resource, p, delta.values) : undefined;
    const next = [...list];
    for (const v of delta.values) if (!next.some((x) => sameScalar(x, v))) next.push(v);
    if (isMultiComplex(p)) return mergeMulti(resource, p, next);
    return assign(resource, p, next);
  }
  // remove: without values, clear; with values, drop the matching ones (a single value only when it matches).
  if (delta.values.length === 0) return assign(resource, p, null);
  const next = list.filter((x) => !delta.values.some((v) => sameScalar(x, v)));
  if (next.length === list.length) return;
  if (isMultiComplex(p)) return mergeMulti(resource, p, next);
  assign(resource, p, next);
}

/** Keep the other sub-attributes of multi-valued entries whose value stays (type, primary, display). */
function mergeMulti(resource: Json, p: ScimPath, values: Scalar[]): void {
  const key = keyOf(resource, p.attr);
  const sub = p.sub ?? 'value';
  const before = Array.isArray(resource[key]) ? (resource[key] as Json[]) : [];
  const next = values.map((v) => before.find((e) => sameScalar(own(e, sub), v)) ?? { [sub]: v });
  if (next.length) resource[key] = next;
  else delete resource[key];
}

/**
 * Resolve a kit attribute name to a SCIM path: through the configured mapping, else read as a path itself.
 * Throws schema_violation for names that are neither.
 */
export function resolver(mapping: Record<string, string> | undefined): (name: string) => ScimPath {
  const byName = new Map(Object.entries(mapping ?? {}));
  return (name) => {
    const raw = byName.get(name) ?? name;
    const p = parsePath(raw);
    if (!p) throw bad(`"${name}" is not a SCIM attribute path nor a mapped attribute`);
    return p;
  };
}
