/**
 * RFC 4512 §4.1 subschema: parse the `objectClasses` and `attributeTypes` values a server publishes, and describe
 * an object class (with its superclasses) in the kit's AttributeSchema terms.
 */
import type { AttributeSchema } from '../kit/types.ts';

export interface AttributeTypeDef {
  oid: string;
  names: string[];
  desc?: string;
  sup?: string;
  syntax?: string;
  singleValue: boolean;
  noUserModification: boolean;
  usage: string;
}

export interface ObjectClassDef {
  oid: string;
  names: string[];
  desc?: string;
  sup: string[];
  kind: 'ABSTRACT' | 'STRUCTURAL' | 'AUXILIARY';
  must: string[];
  may: string[];
}

type Token = string | { q: string } | Token[];

function tokenize(s: string): Token[] {
  let i = 0;
  const list = (): Token[] => {
    const out: Token[] = [];
    while (i < s.length) {
      const c = s[i]!;
      if (c === ' ' || c === '\t' || c === '\n' || c === '$') i++;
      else if (c === '(') {
        i++;
        out.push(list());
      } else if (c === ')') {
        i++;
        return out;
      } else if (c === "'") {
        const end = s.indexOf("'", i + 1);
        const raw = s.slice(i + 1, end < 0 ? s.length : end);
        out.push({ q: raw.replace(/\\27/gi, "'").replace(/\\5c/gi, '\\') });
        i = end < 0 ? s.length : end + 1;
      } else {
        const m = /^[^\s()'$]+/.exec(s.slice(i))!;
        out.push(m[0]);
        i += m[0].length;
      }
    }
    return out;
  };
  const top = list();
  return Array.isArray(top[0]) ? top[0] : top;
}

const text = (t: Token | undefined): string[] => {
  if (t === undefined) return [];
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.flatMap(text);
  return [t.q];
};

function fields(def: string): { oid: string; kv: Map<string, Token | true> } {
  const tokens = tokenize(def);
  const oid = typeof tokens[0] === 'string' ? tokens[0] : '';
  const kv = new Map<string, Token | true>();
  for (let i = 1; i < tokens.length; i++) {
    const k = tokens[i];
    if (typeof k !== 'string') continue;
    const key = k.toUpperCase();
    if (
      [
        'SINGLE-VALUE',
        'NO-USER-MODIFICATION',
        'COLLECTIVE',
        'OBSOLETE',
        'ABSTRACT',
        'STRUCTURAL',
        'AUXILIARY',
      ].includes(key)
    ) {
      kv.set(key, true);
    } else {
      kv.set(key, tokens[i + 1]!);
      i++;
    }
  }
  return { oid, kv };
}

const one = (v: Token | true | undefined): string | undefined => (v === true ? undefined : text(v)[0]);
const many = (v: Token | true | undefined): string[] => (v === true ? [] : text(v));

export function parseAttributeType(def: string): AttributeTypeDef {
  const { oid, kv } = fields(def);
  const syntax = one(kv.get('SYNTAX'))?.replace(/\{\d+\}$/, '');
  return {
    oid,
    names: many(kv.get('NAME')),
    ...(one(kv.get('DESC')) === undefined ? {} : { desc: one(kv.get('DESC'))! }),
    ...(one(kv.get('SUP')) === undefined ? {} : { sup: one(kv.get('SUP'))! }),
    ...(syntax === undefined ? {} : { syntax }),
    singleValue: kv.get('SINGLE-VALUE') === true,
    noUserModification: kv.get('NO-USER-MODIFICATION') === true,
    usage: one(kv.get('USAGE')) ?? 'userApplications',
  };
}

export function parseObjectClass(def: string): ObjectClassDef {
  const { oid, kv } = fields(def);
  const kind = kv.get('ABSTRACT') ? 'ABSTRACT' : kv.get('AUXILIARY') ? 'AUXILIARY' : 'STRUCTURAL';
  return {
    oid,
    names: many(kv.get('NAME')),
    ...(one(kv.get('DESC')) === undefined ? {} : { desc: one(kv.get('DESC'))! }),
    sup: many(kv.get('SUP')),
    kind,
    must: many(kv.get('MUST')),
    may: many(kv.get('MAY')),
  };
}

const SYNTAX = '1.3.6.1.4.1.1466.115.121.1.';
const SYNTAX_TYPES: Record<string, AttributeSchema['type']> = {
  [SYNTAX + '27']: 'integer',
  [SYNTAX + '7']: 'boolean',
  [SYNTAX + '24']: 'datetime',
  [SYNTAX + '53']: 'datetime',
  [SYNTAX + '12']: 'reference',
  [SYNTAX + '34']: 'reference',
  [SYNTAX + '4']: 'binary',
  [SYNTAX + '5']: 'binary',
  [SYNTAX + '8']: 'binary',
  [SYNTAX + '9']: 'binary',
  [SYNTAX + '10']: 'binary',
  [SYNTAX + '23']: 'binary',
  [SYNTAX + '28']: 'binary',
  [SYNTAX + '40']: 'binary',
};

/** A server's subschema, indexed by lower-case name and OID. */
export class Subschema {
  readonly attributes = new Map<string, AttributeTypeDef>();
  readonly classes = new Map<string, ObjectClassDef>();

  constructor(attributeTypes: readonly string[], objectClasses: readonly string[]) {
    for (const d of attributeTypes) {
      const a = parseAttributeType(d);
      for (const k of [a.oid, ...a.names]) this.attributes.set(k.toLowerCase(), a);
    }
    for (const d of objectClasses) {
      const c = parseObjectClass(d);
      for (const k of [c.oid, ...c.names]) this.classes.set(k.toLowerCase(), c);
    }
  }

  attribute(name: string): AttributeTypeDef | undefined {
    return this.attributes.get(name.toLowerCase());
  }

  /** The syntax OID, following SUP when the type inherits it. */
  syntaxOf(a: AttributeTypeDef): string | undefined {
    let cur: AttributeTypeDef | undefined = a;
    for (let depth = 0; cur && depth < 16; depth++) {
      if (cur.syntax) return cur.syntax;
      cur = cur.sup ? this.attribute(cur.sup) : undefined;
    }
    return undefined;
  }

  /** The classes and all their superclasses, most specific first, without duplicates. */
  lineage(names: readonly string[]): ObjectClassDef[] {
    const seen = new Set<string>();
    const out: ObjectClassDef[] = [];
    const visit = (n: string) => {
      const c = this.classes.get(n.toLowerCase());
      if (!c || seen.has(c.oid)) return;
      seen.add(c.oid);
      out.push(c);
      c.sup.forEach(visit);
    };
    names.forEach(visit);
    return out;
  }

  describe(a: AttributeTypeDef, required: boolean, writableOverride?: boolean): AttributeSchema {
    const syntax = this.syntaxOf(a);
    return {
      name: a.names[0] ?? a.oid,
      type: (syntax && SYNTAX_TYPES[syntax]) || 'string',
      multiValued: !a.singleValue,
      required,
      writable: writableOverride ?? (!a.noUserModification && a.usage === 'userApplications'),
      ...(a.desc ? { description: a.desc } : {}),
    };
  }

  /**
   * Every attribute an entry of these object classes may hold (MUST and MAY of the classes and their superclasses),
   * plus `extra` names (operational attributes the connector exposes), each described once.
   */
  attributesOf(
    classNames: readonly string[],
    extra: readonly { name: string; writable?: boolean; description?: string }[] = [],
  ): AttributeSchema[] {
    const must = new Set<string>();
    const order: string[] = [];
    for (const c of this.lineage(classNames)) {
      for (const n of c.must) {
        must.add(n.toLowerCase());
        order.push(n);
      }
      order.push(...c.may);
    }
    const out = new Map<string, AttributeSchema>();
    for (const n of order) {
      const a = this.attribute(n);
      if (!a) continue;
      const key = a.oid;
      if (out.has(key)) continue;
      const required = a.names.some((x) => must.has(x.toLowerCase())) || must.has(a.oid);
      out.set(key, this.describe(a, required));
    }
    for (const x of extra) {
      const a = this.attribute(x.name);
      if (!a || out.has(a.oid)) continue;
      const d = this.describe(a, false, x.writable);
      out.set(a.oid, x.description ? { ...d, description: x.description } : d);
    }
    return [...out.values()];
  }
}
