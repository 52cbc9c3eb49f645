/**
 * RFC 7644 §3.5.2 PATCH on one resource, in memory and atomic: the operations are applied in order to a copy of the
 * resource, the result is validated as a whole, and any error means nothing is applied (the input is never
 * changed). Value filters in paths (`members[value eq "…"]`) are evaluated here, against the values of the one
 * resource being patched — this is targeting, not a query (queries are compiled to SQL, see sql.ts).
 *
 * Readings of the RFC where it is open, and the lenient profile (Entra ID, Okta, SCIMMY's habits):
 *
 * - A value filter that matches nothing is `noTarget` for `replace` (§3.5.2.3 says so) and for `add` too: §3.5.2.1
 *   does not say, but a filtered path names existing values, and a path that "did not yield an attribute or
 *   attribute value that could be operated on" is Table 9's noTarget. Lenient: when the filter is a conjunction of
 *   `eq` tests (`emails[type eq "work"].value`, what Entra sends for a value that does not exist yet), `add` and
 *   `replace` create the value from those tests instead.
 * - `remove` with a filter that matches nothing is `noTarget`; lenient: no change (Entra removes members that are
 *   already gone). Removing an attribute that has no value is no change in both profiles.
 * - `remove` with a `value`: strict 400 invalidSyntax (the RFC has no such form; removing the whole attribute
 *   instead would be a disaster). Lenient (Entra's `{"op":"Remove","path":"members","value":[{"value":"id"}]}`):
 *   removes the values that match each given object on every sub-attribute it names (`null`: has none).
 * - Removing (or replacing with null) a required attribute is `mutability` (§3.5.2.2: an attribute "removed or
 *   [that] becomes unassigned and is defined as a required attribute or a read-only attribute").
 * - `replace` of a complex attribute merges: sub-attributes not given are left unchanged (§3.5.2.3).
 * - Adding a value to a multi-valued attribute that is already there (deep equality, or the same `value` when
 *   `value` is immutable, as in `members`) is no change: "already a member" is success with changed=false.
 * - Read-only attributes named by a path are `mutability`; in a path-less value they are ignored when unchanged
 *   (or always, lenient), `mutability` otherwise. Immutable attributes that have a value are `mutability` when the
 *   operation would change it (adding a member, whose `value` is immutable, is fine).
 * - More than `maxOperations` operations: 400 invalidSyntax (tooMany is for filters that match too much).
 */
import { isGatehouseError } from '../kit/errors.ts';
import { scimError, ScimTypes } from './errors.ts';
import { parseFilter, type FilterNode } from './filter.ts';
import {
  checkValue,
  extensionOf,
  findAttribute,
  isObject,
  lc,
  normalizeResource,
  resolveMember,
  show,
  subOf,
  type AttributeDef,
  type CheckOptions,
  type ResourceTypeDef,
  type SchemaDef,
} from './schema.ts';

export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const DEFAULT_MAX_OPERATIONS = 1000;

type Json = Record<string, unknown>;

const syntax = (message: string, field?: string) => scimError(400, ScimTypes.invalidSyntax, message, field);
const badPath = (message: string, field?: string) => scimError(400, ScimTypes.invalidPath, message, field);
const noTarget = (message: string, field?: string) => scimError(400, ScimTypes.noTarget, message, field);
const mutability = (message: string, field?: string) => scimError(400, ScimTypes.mutability, message, field);
const badValue = (message: string, field?: string) => scimError(400, ScimTypes.invalidValue, message, field);
const badFilter = (message: string) => scimError(400, ScimTypes.invalidFilter, message, 'filter');

// ---------------------------------------------------------------------------------------------------------------
// Paths

/** A PATCH path (RFC 7644 §3.5.2): `attrPath [ "[" valFilter "]" ] [ "." subAttr ]`; names as written. */
export interface PatchPath {
  schema?: string;
  attribute: string;
  filter?: FilterNode;
  subAttribute?: string;
}

const ATTRNAME = /^[A-Za-z$][\w$-]*$/;
const URN = /^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+$/i;

/** Parse a PATCH path. Throws 400 invalidPath saying what is wrong. */
export function parsePatchPath(text: string, opts: { lenient?: boolean } = {}): PatchPath {
  const fail = (why: string) => badPath(`invalid path ${JSON.stringify(text)}: ${why}`, 'path');
  const open = text.indexOf('[');
  let head = text;
  let filter: FilterNode | undefined;
  let tail: string | undefined;
  if (open >= 0) {
    // The matching "]": the first one outside a quoted string.
    let close = -1;
    let quote: string | undefined;
    for (let i = open + 1; i < text.length && close < 0; i++) {
      const c = text[i]!;
      if (quote) {
        if (c === '\\') i++;
        else if (c === quote) quote = undefined;
      } else if (c === '"' || (c === "'" && opts.lenient)) quote = c;
      else if (c === ']') close = i;
    }
    if (close < 0) throw fail('"[" is never closed');
    head = text.slice(0, open);
    try {
      filter = parseFilter(text.slice(open + 1, close), { lenient: opts.lenient === true });
    } catch (e) {
      throw isGatehouseError(e) ? fail(`in the value filter, ${e.message}`) : e;
    }
    const rest = text.slice(close + 1);
    if (rest) {
      if (!rest.startsWith('.') || !ATTRNAME.test(rest.slice(1)))
        throw fail(`after "]" only ".subAttribute" may follow, not ${JSON.stringify(rest)}`);
      tail = rest.slice(1);
    }
  }
  const colon = head.lastIndexOf(':');
  const schema = colon >= 0 ? head.slice(0, colon) : undefined;
  if (schema !== undefined && !URN.test(schema)) throw fail(`"${schema}" is not a schema URN`);
  const parts = head.slice(colon + 1).split('.');
  if (parts.length > 2 || parts.some((p) => !ATTRNAME.test(p)))
    throw fail('expected attribute, attribute.subAttribute or attribute[filter].subAttribute');
  if (parts[1] !== undefined && filter)
    throw fail('a value filter follows the attribute, not a sub-attribute');
  const subAttribute = parts[1] ?? tail;
  return {
    ...(schema !== undefined ? { schema } : {}),
    attribute: parts[0]!,
    ...(filter ? { filter } : {}),
    ...(subAttribute !== undefined ? { subAttribute } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Value filters, in memory

const collator = new Intl.Collator('und');

/** The value of a sub-attribute of an element (names case-insensitive). */
function own(element: unknown, name: string): unknown {
  if (!isObject(element)) return undefined;
  const k = Object.keys(element).find((x) => lc(x) === lc(name));
  return k === undefined ? undefined : element[k];
}

const present = (v: unknown) =>
  v !== undefined &&
  v !== null &&
  v !== '' &&
  !(Array.isArray(v) && v.length === 0) &&
  !(isObject(v) && Object.keys(v).length === 0);

/**
 * Whether one value of a multi-valued attribute matches a value filter, with the semantics of the SQL compiler
 * (sql.ts): strings compare case-insensitively unless the sub-attribute is case-exact; a missing sub-attribute is
 * not equal, not greater, not present (and `ne` anything); `eq null` means "has none". `subDefs` are the
 * attribute's sub-attributes; without them (a multi-valued simple attribute) `value` is the element itself.
 * The filter is checked (names, operators against types) before anything is compared, so a wrong filter fails
 * even on an empty list. Throws 400 invalidFilter.
 */
export function matchesFilter(
  node: FilterNode,
  element: unknown,
  subDefs?: readonly AttributeDef[],
): boolean {
  switch (node.op) {
    case 'and':
    case 'or': {
      // Both sides always, so the whole filter is checked whatever the element.
      const l = matchesFilter(node.left, element, subDefs);
      const r = matchesFilter(node.right, element, subDefs);
      return node.op === 'and' ? l && r : l || r;
    }
    case 'not':
      return !matchesFilter(node.filter, element, subDefs);
    case 'valuePath':
      throw badFilter('a value filter cannot hold another value filter');
  }
  const { path } = node;
  const name = path.attribute;
  if (path.schema || path.subAttribute)
    throw badFilter(
      `inside "[…]" name a sub-attribute of the values, not "${path.schema ? `${path.schema}:` : ''}${name}${path.subAttribute ? `.${path.subAttribute}` : ''}"`,
    );
  let def: AttributeDef | undefined;
  if (subDefs) {
    def = subDefs.find((d) => lc(d.name) === lc(name));
    if (!def) throw badFilter(`no sub-attribute "${name}" (${subDefs.map((d) => d.name).join(', ')})`);
  } else if (lc(name) !== 'value') throw badFilter(`the values are simple: name them "value", not "${name}"`);
  const type = def?.type ?? 'string';
  const caseExact = def?.caseExact ?? false;
  const actual = subDefs ? own(element, def!.name) : element;
  if (node.op === 'pr') return present(actual);
  const { op, value } = node;
  const where = `"${name} ${op} ${show(value)}"`;
  if (value === null) {
    if (op !== 'eq' && op !== 'ne') throw badFilter(`${where}: "${op}" cannot compare with null`);
    return (op === 'eq') === (actual === undefined || actual === null);
  }
  const text = ['co', 'sw', 'ew'].includes(op);
  switch (type) {
    case 'boolean':
      if (typeof value !== 'boolean') throw badFilter(`${where}: ${name} compares with true or false`);
      if (op !== 'eq' && op !== 'ne')
        throw badFilter(`${where}: a true/false attribute takes only eq and ne`);
      break;
    case 'integer':
    case 'decimal':
      if (typeof value !== 'number') throw badFilter(`${where}: ${name} compares with a number`);
      if (text) throw badFilter(`${where}: "${op}" needs a text attribute`);
      break;
    case 'dateTime':
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value)))
        throw badFilter(`${where}: ${name} compares with a date-time such as "2011-05-13T04:42:34Z"`);
      if (text) throw badFilter(`${where}: "${op}" needs a text attribute`);
      break;
    case 'complex':
      throw badFilter(`${where}: ${name} is complex`);
    default:
      if (typeof value !== 'string') throw badFilter(`${where}: ${name} compares with a "string"`);
  }
  if (actual === undefined || actual === null) return op === 'ne';
  let a: unknown = actual;
  let b: unknown = value;
  if (type === 'dateTime') {
    a = typeof actual === 'string' ? Date.parse(actual) : NaN;
    b = Date.parse(value as string);
    if (Number.isNaN(a)) return op === 'ne';
  } else if (typeof actual === 'string' && typeof value === 'string' && !caseExact) {
    a = lc(actual);
    b = lc(value);
  }
  if (typeof a !== typeof b) return op === 'ne';
  const cmp = () =>
    typeof a === 'string'
      ? collator.compare(a, b as string)
      : (a as number) < (b as number)
        ? -1
        : a === b
          ? 0
          : 1;
  switch (op) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'co':
      return (a as string).includes(b as string);
    case 'sw':
      return (a as string).startsWith(b as string);
    case 'ew':
      return (a as string).endsWith(b as string);
    case 'gt':
      return cmp() > 0;
    case 'ge':
      return cmp() >= 0;
    case 'lt':
      return cmp() < 0;
    case 'le':
      return cmp() <= 0;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** JSON deep equality, key order ignored. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (!isObject(a) || !isObject(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}

/** The attribute as one value of itself (an element of a multi-valued attribute). */
const single = (attr: AttributeDef): AttributeDef => ({ ...attr, multiValued: false });

/** A filter made only of `eq` tests joined by `and`, as the sub-attributes of a new value; else undefined. */
function seed(node: FilterNode, subs: readonly AttributeDef[]): Json | undefined {
  if (node.op === 'and') {
    const l = seed(node.left, subs);
    const r = seed(node.right, subs);
    if (!l || !r || Object.keys(l).some((k) => k in r && !deepEqual(l[k], r[k]))) return undefined;
    return { ...l, ...r };
  }
  if (node.op !== 'eq' || node.value === null || node.path.schema || node.path.subAttribute) return undefined;
  const def = subs.find((d) => lc(d.name) === lc(node.path.attribute));
  return def ? { [def.name]: node.value } : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Operations

type Target =
  | { kind: 'extension'; schema: SchemaDef }
  | {
      kind: 'attribute';
      schema: string;
      attr: AttributeDef;
      filter?: FilterNode;
      sub?: AttributeDef;
      /** The path as the client wrote it, for messages. */
      text?: string;
    };

interface Op {
  op: 'add' | 'remove' | 'replace';
  /** `Operations[i]`, for messages. */
  at: string;
  lenient: boolean;
  resource: ResourceTypeDef;
}

/** Where an attribute of `schema` lives in the document (created when `create`). */
function container(doc: Json, resource: ResourceTypeDef, schema: string, create: boolean): Json | undefined {
  if (schema === resource.schema) return doc;
  if (!isObject(doc[schema])) {
    if (!create) return undefined;
    doc[schema] = {};
  }
  return doc[schema] as Json;
}

function label(t: Target & { kind: 'attribute' }, resource: ResourceTypeDef): string {
  if (t.text !== undefined) return t.text;
  const base = t.schema === resource.schema ? t.attr.name : `${t.schema}:${t.attr.name}`;
  return `${base}${t.filter ? '[…]' : ''}${t.sub ? `.${t.sub.name}` : ''}`;
}

/** Check (and coerce) a value for an attribute, as normalizeResource does; errors say which operation. */
function coerce(o: Op, attr: AttributeDef, value: unknown, where: string): unknown {
  const opts: CheckOptions = { lenient: o.lenient, readOnly: 'drop', ignored: [] };
  try {
    return checkValue(attr, value, where, opts);
  } catch (e) {
    if (!isGatehouseError(e)) throw e;
    const type = e.details.scimType as string;
    throw scimError(400, type, `${o.at}: ${e.message}`, e.problems[0]?.field ?? `${o.at}.value`);
  }
}

/** An immutable attribute that has a value may only be given that same value again. */
function assertMutable(def: AttributeDef, before: unknown, after: unknown, where: string) {
  if (def.mutability === 'immutable' && before !== undefined && !deepEqual(before, after))
    throw mutability(`${where} is immutable and already has a value (${show(before)})`, where);
}

/** Sub-attributes merged into a complex value (add, and replace of a complex attribute: §3.5.2.3). */
function merge(attr: AttributeDef, before: unknown, given: Json, where: string): Json {
  const out: Json = isObject(before) ? { ...before } : {};
  for (const [k, v] of Object.entries(given)) {
    const sub = subOf(attr, k)!;
    assertMutable(sub, out[sub.name], v, `${where}.${sub.name}`);
    out[sub.name] = v;
  }
  return out;
}

/**
 * One value replaced by another: immutable sub-attributes keep their value (given again, or not given), read-only
 * ones stay as they were (the service provider maintains them).
 */
function replaceElement(attr: AttributeDef, before: Json, given: Json, where: string): Json {
  const out: Json = { ...given };
  for (const sub of attr.subAttributes ?? []) {
    const old = before[sub.name];
    if (old === undefined) continue;
    if (sub.mutability === 'readOnly' || (sub.mutability === 'immutable' && out[sub.name] === undefined))
      out[sub.name] = old;
    else assertMutable(sub, old, out[sub.name], `${where}.${sub.name}`);
  }
  return out;
}

/** After values in `chosen` were set, "primary": true on one of them makes the others' primary false (§3.5.2). */
function onePrimary(list: unknown[], chosen: Set<unknown>) {
  if (![...chosen].some((e) => isObject(e) && e.primary === true)) return;
  for (const e of list) if (!chosen.has(e) && isObject(e) && e.primary === true) e.primary = false;
}

/** Whether a value is already in a multi-valued attribute (deep equality; same `value` when it is immutable). */
function contains(attr: AttributeDef, list: unknown[], v: unknown): boolean {
  const byValue = subOf(attr, 'value')?.mutability === 'immutable' && isObject(v) && v.value !== undefined;
  return list.some(
    (e) => deepEqual(e, v) || (byValue && isObject(e) && deepEqual(e.value, (v as Json).value)),
  );
}

/** Resolve a path, or undefined for an unknown attribute in the lenient profile (the operation does nothing). */
function resolve(o: Op, text: string): Target | undefined {
  const ext = extensionOf(o.resource, text);
  if (ext) return { kind: 'extension', schema: ext };
  const p = parsePatchPath(text, { lenient: o.lenient });
  const found = findAttribute(o.resource, {
    ...(p.schema !== undefined ? { schema: p.schema } : {}),
    attribute: p.attribute,
  });
  const field = `${o.at}.path`;
  const unknown = (what: string) => {
    if (o.lenient) return undefined;
    throw badPath(`${o.at}: ${what}`, field);
  };
  if (!found)
    return unknown(
      `no attribute "${p.attribute}"${p.schema ? ` in ${p.schema}` : ''} (path ${JSON.stringify(text)})`,
    );
  const { attr, schema } = found;
  let sub: AttributeDef | undefined;
  if (p.subAttribute !== undefined) {
    if (attr.type !== 'complex') throw badPath(`${o.at}: ${attr.name} has no sub-attributes`, field);
    sub = subOf(attr, p.subAttribute);
    if (!sub) return unknown(`${attr.name} has no sub-attribute "${p.subAttribute}"`);
  }
  if (p.filter) {
    if (!attr.multiValued)
      throw badPath(
        `${o.at}: "[…]" selects values of a multi-valued attribute; ${attr.name} is single-valued`,
        field,
      );
    try {
      matchesFilter(p.filter, {}, attr.subAttributes);
    } catch (e) {
      throw isGatehouseError(e)
        ? badPath(`${o.at}: in the value filter of ${JSON.stringify(text)}, ${e.message}`, field)
        : e;
    }
  } else if (sub && attr.multiValued)
    throw badPath(
      `${o.at}: select the values of ${attr.name} with a filter, e.g. ${attr.name}[type eq "work"].${sub.name}`,
      field,
    );
  return {
    kind: 'attribute',
    schema,
    attr,
    ...(p.filter ? { filter: p.filter } : {}),
    ...(sub ? { sub } : {}),
    text,
  };
}

/** Apply one operation to one target. */
function apply(o: Op, doc: Json, t: Target, value: unknown, hasValue: boolean) {
  const { resource } = o;
  if (t.kind === 'extension') {
    if (o.op === 'remove') {
      const ext = container(doc, resource, t.schema.id, false);
      for (const attr of t.schema.attributes)
        if (ext?.[attr.name] !== undefined && attr.mutability !== 'readOnly')
          apply(o, doc, { kind: 'attribute', schema: t.schema.id, attr }, undefined, false);
      return;
    }
    if (!isObject(value))
      throw badValue(
        `${o.at}: ${t.schema.id} takes an object of its attributes, not ${show(value)}`,
        `${o.at}.value`,
      );
    for (const [k, v] of Object.entries(value)) member(o, doc, `${t.schema.id}:${k}`, v, false);
    return;
  }

  const { attr, filter, sub } = t;
  const where = label(t, resource);
  const field = `${o.at}.path`;
  if (attr.mutability === 'readOnly' || sub?.mutability === 'readOnly')
    throw mutability(`${o.at}: ${where} is read-only`, field);
  const box = container(doc, resource, t.schema, o.op !== 'remove');
  const current = box?.[attr.name];

  if (o.op === 'remove') {
    if (hasValue && value !== null && !o.lenient)
      throw syntax(
        `${o.at}: "remove" takes no value (RFC 7644 §3.5.2.2); select values with a filter, e.g. ${attr.name}[value eq "…"]`,
        `${o.at}.value`,
      );
    if (!box || current === undefined) {
      if (filter && !o.lenient)
        throw noTarget(`${o.at}: ${where} matches no value (${attr.name} has none)`, field);
      return;
    }
    if (!filter && !sub) {
      if (hasValue && value !== null && attr.multiValued && attr.type === 'complex')
        return removeByValue(o, box, attr, value);
      if (attr.required) throw mutability(`${o.at}: ${where} is required and cannot be removed`, field);
      if (attr.mutability === 'immutable') throw mutability(`${o.at}: ${where} is immutable`, field);
      delete box[attr.name];
      return;
    }
    if (!filter) {
      // A sub-attribute of a single-valued complex attribute.
      const obj = current as Json;
      if (obj[sub!.name] === undefined) return;
      if (sub!.required) throw mutability(`${o.at}: ${where} is required and cannot be removed`, field);
      if (sub!.mutability === 'immutable') throw mutability(`${o.at}: ${where} is immutable`, field);
      const rest = { ...obj };
      delete rest[sub!.name];
      if (Object.keys(rest).length) box[attr.name] = rest;
      else delete box[attr.name];
      return;
    }
    const list = current as unknown[];
    const matched = list.filter((e) => matchesFilter(filter, e, attr.subAttributes));
    if (!matched.length) {
      if (o.lenient) return;
      throw noTarget(`${o.at}: ${where} matches no value of ${attr.name}`, field);
    }
    let next: unknown[];
    if (!sub) next = list.filter((e) => !matched.includes(e));
    else {
      if (sub.required) throw mutability(`${o.at}: ${where} is required and cannot be removed`, field);
      next = list.flatMap((e) => {
        if (!matched.includes(e) || (e as Json)[sub.name] === undefined) return [e];
        if (sub.mutability === 'immutable') throw mutability(`${o.at}: ${where} is immutable`, field);
        const rest = { ...(e as Json) };
        delete rest[sub.name];
        return Object.keys(rest).length ? [rest] : [];
      });
    }
    if (next.length) box[attr.name] = next;
    else delete box[attr.name];
    return;
  }

  // add, replace
  if (!hasValue) throw badValue(`${o.at}: "${o.op}" needs a value`, `${o.at}.value`);
  const vfield = `${o.at}.value`;
  const b = box!;

  if (!filter && !sub) {
    if (attr.multiValued) {
      const given = (coerce(o, attr, value, where) ?? []) as unknown[];
      const list = Array.isArray(current) ? [...current] : [];
      if (o.op === 'replace') {
        assertMutable(attr, current, given.length ? given : undefined, where);
        if (given.length) b[attr.name] = given;
        else if (attr.required)
          throw mutability(`${o.at}: ${where} is required and cannot be left without a value`, vfield);
        else delete b[attr.name];
        return;
      }
      const added = given.filter((v, i) => !contains(attr, list, v) && !contains(attr, given.slice(0, i), v));
      if (!added.length) return;
      if (attr.mutability === 'immutable' && list.length)
        throw mutability(`${o.at}: ${where} is immutable and already has values`, field);
      list.push(...added);
      onePrimary(list, new Set(added));
      b[attr.name] = list;
      return;
    }
    const given = coerce(o, attr, value, where);
    if (given === undefined) {
      if (attr.required)
        throw mutability(`${o.at}: ${where} is required and cannot be left without a value`, vfield);
      assertMutable(attr, current, undefined, where);
      delete b[attr.name];
    } else if (attr.type === 'complex') b[attr.name] = merge(attr, current, given as Json, where);
    else {
      assertMutable(attr, current, given, where);
      b[attr.name] = given;
    }
    return;
  }

  if (!filter) {
    // A sub-attribute of a single-valued complex attribute.
    const given = coerce(o, sub!, value, where);
    const obj: Json = isObject(current) ? { ...current } : {};
    assertMutable(sub!, obj[sub!.name], given, where);
    if (given === undefined) {
      if (sub!.required)
        throw mutability(`${o.at}: ${where} is required and cannot be left without a value`, vfield);
      delete obj[sub!.name];
    } else obj[sub!.name] = given;
    if (Object.keys(obj).length) b[attr.name] = obj;
    else delete b[attr.name];
    return;
  }

  // A value filter, with or without a sub-attribute.
  const list = Array.isArray(current) ? [...current] : [];
  const matched = new Set(list.filter((e) => matchesFilter(filter, e, attr.subAttributes)));
  const element = single(attr);
  const subs = attr.subAttributes ?? [];
  if (!matched.size) {
    const base = o.lenient ? seed(filter, subs) : undefined;
    if (!base) throw noTarget(`${o.at}: ${where} matches no value of ${attr.name}`, field);
    if (value === null) return;
    // The filter's tests, unless the value gives those sub-attributes itself.
    const given = isObject(value) ? Object.keys(value).map(lc) : [];
    const tests = Object.fromEntries(Object.entries(base).filter(([k]) => !given.includes(lc(k))));
    const raw = sub ? { ...base, [sub.name]: value } : isObject(value) ? { ...tests, ...value } : value;
    const created = coerce(o, element, raw, where);
    if (created === undefined) return;
    list.push(created);
    onePrimary(list, new Set([created]));
    b[attr.name] = list;
    return;
  }
  const given = sub ? coerce(o, sub, value, where) : (coerce(o, element, value, where) as Json | undefined);
  if (!sub && given === undefined) throw badValue(`${o.at}: "${o.op}" needs a value for ${where}`, vfield);
  const changed = new Set<unknown>();
  const next = list.flatMap((e) => {
    if (!matched.has(e)) return [e];
    const before = e as Json;
    let after: Json;
    if (sub) {
      assertMutable(sub, before[sub.name], given, where);
      after = { ...before };
      if (given === undefined) delete after[sub.name];
      else after[sub.name] = given;
    } else if (o.op === 'add') after = merge(attr, before, given as Json, where);
    else after = replaceElement(attr, before, given as Json, where);
    if (!Object.keys(after).length) return [];
    changed.add(after);
    return [after];
  });
  onePrimary(next, changed);
  if (next.length) b[attr.name] = next;
  else delete b[attr.name];
}

/** Lenient `remove` with a value: remove the values matching each given one on the sub-attributes it names. */
function removeByValue(o: Op, box: Json, attr: AttributeDef, value: unknown) {
  const patterns = (Array.isArray(value) ? value : [value]).map((p) => {
    if (typeof p === 'string') return { value: p } as Json;
    if (isObject(p)) return p;
    throw badValue(
      `${o.at}: the values to remove are objects such as {"value": "…"}, not ${show(p)}`,
      `${o.at}.value`,
    );
  });
  const matches = (e: unknown, p: Json) =>
    isObject(e) &&
    Object.entries(p).every(([k, v]) => {
      const sub = subOf(attr, k);
      if (!sub) return false;
      const actual = e[sub.name];
      if (v === null) return actual === undefined;
      if (typeof v === 'string' && typeof actual === 'string' && !sub.caseExact) return lc(v) === lc(actual);
      return deepEqual(v, actual);
    });
  const list = box[attr.name] as unknown[];
  const next = list.filter((e) => !patterns.some((p) => matches(e, p)));
  if (next.length) box[attr.name] = next;
  else delete box[attr.name];
}

/**
 * One member of a path-less value (or of an extension's object): `userName`, `urn:…:User:employeeNumber`, an
 * extension's URN; lenient also `name.givenName`. Read-only attributes are ignored when unchanged (always, lenient).
 */
function member(o: Op, doc: Json, key: string, value: unknown, top: boolean) {
  const m = resolveMember(o.resource, key, o.lenient);
  if (m?.kind === 'schemas') return;
  if (m?.kind === 'extension' && top)
    return apply(o, doc, { kind: 'extension', schema: m.schema }, value, true);
  if (m?.kind !== 'attribute') {
    if (o.lenient) return;
    throw syntax(`${o.at}: unknown attribute "${key}" in the value`, `${o.at}.value`);
  }
  const t: Target = { kind: 'attribute', schema: m.schema, attr: m.attr, ...(m.sub ? { sub: m.sub } : {}) };
  if (m.attr.mutability === 'readOnly' || m.sub?.mutability === 'readOnly') {
    const current = container(doc, o.resource, m.schema, false)?.[m.attr.name];
    const now = m.sub ? (isObject(current) ? current[m.sub.name] : undefined) : current;
    if (o.lenient || deepEqual(now, value)) return;
  }
  apply(o, doc, t, value, true);
}

function operation(resource: ResourceTypeDef, doc: Json, raw: unknown, i: number, lenient: boolean) {
  const at = `Operations[${i}]`;
  if (!isObject(raw))
    throw syntax(`${at} must be an object with "op", "path" and "value", not ${show(raw)}`, at);
  const get = (name: string) => {
    const k = Object.keys(raw).find((x) => lc(x) === name);
    return k === undefined ? undefined : raw[k];
  };
  const opText = get('op');
  const op = typeof opText === 'string' ? (lenient ? lc(opText) : opText) : undefined;
  if (op !== 'add' && op !== 'remove' && op !== 'replace')
    throw syntax(`${at}.op must be "add", "remove" or "replace", not ${show(opText)}`, `${at}.op`);
  const o: Op = { op, at, lenient, resource };
  let path = get('path');
  if (path === '' && lenient) path = undefined;
  if (path !== undefined && (typeof path !== 'string' || !path.trim()))
    throw badPath(`${at}.path must be a non-empty string, not ${show(path)}`, `${at}.path`);
  const hasValue = get('value') !== undefined;
  const value = get('value');

  if (path === undefined) {
    if (op === 'remove') throw noTarget(`${at}: "remove" needs a path (RFC 7644 §3.5.2.2)`, `${at}.path`);
    if (!isObject(value))
      throw badValue(
        `${at}: "${op}" without a path takes an object of attributes, not ${show(value)}`,
        `${at}.value`,
      );
    for (const [k, v] of Object.entries(value)) member(o, doc, k, v, true);
    return;
  }
  const t = resolve(o, path.trim());
  if (t) apply(o, doc, t, value, hasValue);
}

/**
 * Apply a PATCH request (RFC 7644 §3.5.2) to a resource: all operations or none. `current` is the resource as
 * held (read-only attributes included); the result is the whole new resource, normalised like
 * normalizeResource's (an absent attribute is unassigned), and `changed` says whether any attribute changed.
 * Throws 400 SCIM errors (invalidSyntax, invalidPath, noTarget, mutability, invalidValue).
 */
export function applyPatch(
  resource: ResourceTypeDef,
  current: Record<string, unknown>,
  body: unknown,
  opts: { lenient: boolean; maxOperations?: number },
): { value: Record<string, unknown>; changed: boolean } {
  const lenient = opts.lenient;
  const max = opts.maxOperations ?? DEFAULT_MAX_OPERATIONS;
  if (!isObject(body)) throw syntax(`the PATCH body must be a JSON object, not ${show(body)}`);
  const get = (name: string) => body[Object.keys(body).find((k) => lc(k) === name) ?? ''];
  const schemas = get('schemas');
  if (
    !lenient &&
    !(Array.isArray(schemas) && schemas.some((s) => typeof s === 'string' && lc(s) === lc(PATCH_OP)))
  )
    throw syntax(`"schemas" must be ["${PATCH_OP}"], not ${show(schemas)}`, 'schemas');
  const ops = get('operations');
  if (!Array.isArray(ops) || !ops.length)
    throw syntax(
      `"Operations" must be a non-empty array of operations, not ${ops === undefined ? 'missing' : show(ops)}`,
      'Operations',
    );
  if (ops.length > max)
    throw syntax(`a PATCH request may hold at most ${max} operations, not ${ops.length}`, 'Operations');

  const start = normalizeResource(resource, current, { lenient: true, stored: true }).value;
  const doc = structuredClone(start);
  ops.forEach((op, i) => operation(resource, doc, op, i, lenient));
  const value = normalizeResource(resource, doc, { lenient: true, stored: true }).value;
  return { value, changed: !deepEqual(start, value) };
}
