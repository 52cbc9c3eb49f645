/**
 * The configured mapping joined with the catalog: for each object class, its table and which column holds which
 * attribute; plus converting values between attributes and bound parameters. Pure (no database access).
 */
import pg from 'pg';
import { ConnectorError } from '../kit/errors.ts';
import type { AttributeValue, Scalar } from '../kit/types.ts';
import type { Catalog, Column, ColumnKind } from './catalog.ts';
import type { SqlConfig, TableConfig } from './config.ts';

export const q = (identifier: string): string => pg.escapeIdentifier(identifier);

export interface MappedAttribute {
  attribute: string;
  column: Column;
}

export class TableMap {
  readonly objectClass: 'account' | 'group';
  readonly table: string;
  /** The quoted, schema-qualified table name. */
  readonly sql: string;
  readonly id: Column;
  readonly idGenerated: boolean;
  readonly name: Column;
  readonly nameAttribute: string;
  readonly updatedAt: Column | undefined;
  /** Every mapped attribute, the name attribute first. */
  readonly attributes: MappedAttribute[];
  readonly #byName = new Map<string, MappedAttribute>();

  constructor(objectClass: 'account' | 'group', schema: string, t: TableConfig, catalog: Catalog) {
    const cols = catalog.tables.get(t.table)!;
    const col = (name: string) => cols.get(name)!;
    this.objectClass = objectClass;
    this.table = t.table;
    this.sql = `${q(schema)}.${q(t.table)}`;
    this.id = col(t.id.column);
    this.idGenerated = t.id.generated;
    this.name = col(t.name.column);
    this.nameAttribute = t.name.attribute;
    this.updatedAt = t.updatedAt ? col(t.updatedAt) : undefined;
    const entries: [string, string][] = [
      [t.name.attribute, t.name.column],
      ...Object.entries(t.attributes).filter(([a]) => a !== t.name.attribute),
    ];
    this.attributes = entries.map(([attribute, column]) => ({ attribute, column: col(column) }));
    for (const a of this.attributes) this.#byName.set(a.attribute.toLowerCase(), a);
  }

  /** The attribute by name (exact, else case-insensitive). */
  find(name: string): MappedAttribute | undefined {
    return this.#byName.get(name.toLowerCase());
  }

  /** The attribute, or schema_violation listing the known ones. */
  require(name: string, purpose: string): MappedAttribute {
    const a = this.find(name);
    if (!a) {
      throw new ConnectorError(
        'schema_violation',
        `cannot ${purpose} unknown ${this.objectClass} attribute '${name}'; ` +
          `the mapping of ${this.table} has: ${this.attributes.map((x) => x.attribute).join(', ')}`,
        { details: { attribute: name } },
      );
    }
    return a;
  }

  attributeOfColumn(column: string): string | undefined {
    return this.attributes.find((a) => a.column.name === column)?.attribute;
  }

  /** Whether `id` can be a value of the id column (a malformed id names no row). */
  plausibleId(id: string): boolean {
    switch (this.id.kind) {
      case 'integer':
        return /^-?\d{1,19}$/.test(id);
      case 'uuid':
        return UUID.test(id);
      default:
        return id.length > 0;
    }
  }
}

export interface Model {
  catalog: Catalog;
  accounts: TableMap;
  groups: TableMap | undefined;
  membership: { sql: string; account: string; group: string } | undefined;
}

export function buildModel(config: SqlConfig, catalog: Catalog): Model {
  return {
    catalog,
    accounts: new TableMap('account', config.schema, config.accounts, catalog),
    groups: config.groups ? new TableMap('group', config.schema, config.groups, catalog) : undefined,
    membership: config.membership
      ? {
          sql: `${q(config.schema)}.${q(config.membership.table)}`,
          account: q(config.membership.account),
          group: q(config.membership.group),
        }
      : undefined,
  };
}

/** Bound parameters: `p.add(v)` returns the placeholder. */
export class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NEEDS: Record<ColumnKind, string> = {
  string: 'text',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  datetime: 'an ISO 8601 date-time',
  date: 'an ISO 8601 date',
  binary: 'base64 text',
  uuid: 'a UUID',
};

function badValue(a: MappedAttribute, value: Scalar, why?: string): ConnectorError {
  const shown = JSON.stringify(String(value).length > 60 ? `${String(value).slice(0, 60)}…` : value);
  return new ConnectorError(
    'schema_violation',
    `attribute ${a.attribute} (column ${a.column.table}.${a.column.name}) ` +
      (why ?? `needs ${NEEDS[a.column.kind]}, got ${shown}`),
    { details: { attribute: a.attribute, column: a.column.name } },
  );
}

/** One attribute value as a single scalar (or null); columns hold one value. */
export function single(a: MappedAttribute, value: AttributeValue | readonly Scalar[]): Scalar | null {
  if (value === null || value === undefined) return null;
  if (!Array.isArray(value)) return value as Scalar;
  const list = value as readonly Scalar[];
  if (list.length === 0) return null;
  if (list.length > 1) throw badValue(a, list[0]!, `holds one value, got ${list.length}`);
  return list[0]!;
}

/**
 * A scalar as the parameter for its column, checked against the column's type and (for writes) its length. A filter
 * value longer than the column simply matches nothing.
 */
export function toParam(
  a: MappedAttribute,
  value: Scalar | null,
  use: 'write' | 'filter' = 'write',
): unknown {
  if (value === null) return null;
  const s = String(value);
  switch (a.column.kind) {
    case 'integer':
      if (typeof value === 'number' ? Number.isInteger(value) : /^[+-]?\d{1,19}$/.test(s)) return s;
      throw badValue(a, value);
    case 'number':
      if (
        typeof value === 'number' ? Number.isFinite(value) : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)
      )
        return s;
      throw badValue(a, value);
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (/^(true|false)$/i.test(s)) return s.toLowerCase() === 'true';
      throw badValue(a, value);
    case 'binary':
      if (typeof value === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(s)) return Buffer.from(s, 'base64');
      throw badValue(a, value);
    case 'uuid':
      if (UUID.test(s)) return s;
      throw badValue(a, value);
    case 'datetime':
    case 'date':
      if (typeof value === 'string' && !Number.isNaN(Date.parse(s))) return s;
      throw badValue(a, value);
    case 'string': {
      const max = a.column.maxLength;
      const length = [...s].length;
      if (use === 'write' && max !== null && length > max) {
        throw badValue(a, value, `allows at most ${max} characters, got ${length}`);
      }
      return s;
    }
  }
}

/** A value read from the database as an attribute value. */
export function fromDb(v: unknown): Scalar | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v instanceof Date) return v.toISOString();
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  return JSON.stringify(v);
}

/** Type parsers for the connector's pool: no local-time guessing for timestamp/date, int8 as a number when safe. */
export const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    switch (oid) {
      case 20:
        return (v: string) => (Number.isSafeInteger(Number(v)) ? Number(v) : v);
      case 1082:
        return (v: string) => v;
      case 1114:
        return (v: string) => v.replace(' ', 'T');
      default:
        return pg.types.getTypeParser(oid, format);
    }
  }) as pg.CustomTypesConfig['getTypeParser'],
};
