/**
 * The connector interface: one small, ConnId-shaped contract that every target system implements.
 *
 * - A connector is stateless between calls apart from its open connection(s); it never retries, schedules or writes
 *   audit (the provisioning worker does that, using `ConnectorError.retryable`).
 * - A connector declares what it supports in `capabilities`; calling anything else throws
 *   `ConnectorError('unsupported')`.
 * - Objects are identified by an `ObjectRef`: `id` is the target's stable identifier (LDAP entryUUID, AD objectGUID,
 *   SCIM id, SQL primary key, manual task key) and `name` its current naming attribute (DN, userName, login). A
 *   connector may use `name` as a fast path but must fall back to `id` when the name is stale (after a rename).
 * - Passwords travel as `Secret` so they cannot be logged or serialised by accident.
 */
import type { ZodType } from 'zod';
import type { Clock } from '../../kit/clock.ts';
import type { Logger } from '../../kit/log.ts';

/** The object classes every connector understands; a connector may expose more through `schema()`. */
export type ObjectClass = 'account' | 'group' | (string & {});

export type Scalar = string | number | boolean;
/** Attribute values: a scalar, a list (multi-valued attribute) or null (absent). Binary values are base64 text. */
export type AttributeValue = Scalar | readonly Scalar[] | null;
export type Attributes = Record<string, AttributeValue>;

export interface ObjectRef {
  objectClass: ObjectClass;
  /** Stable identifier on the target; survives renames. */
  id: string;
  /** Current naming attribute (DN, userName, login); may be stale after an outside rename. */
  name?: string;
}

export interface ConnectorObject extends ObjectRef {
  name: string;
  attributes: Attributes;
  /** Accounts: false when disabled on the target; undefined where the target has no such notion. */
  enabled?: boolean;
  /** Accounts: whether the target reports the account locked out. */
  locked?: boolean;
  /** Accounts: ids of the groups the account is a direct member of, when the target can tell. */
  memberOf?: string[];
  /** Accounts: last sign-in on the target (ISO 8601), where the target records it (AD lastLogonTimestamp, …). */
  lastLoginAt?: string;
}

/** A connector-neutral filter; each connector compiles it to its own query language with proper escaping. */
export type Filter =
  | { op: 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le'; attribute: string; value: Scalar }
  | { op: 'pr'; attribute: string }
  | { op: 'and' | 'or'; filters: Filter[] }
  | { op: 'not'; filter: Filter };

export interface SearchQuery {
  objectClass: ObjectClass;
  filter?: Filter;
  /** Attributes to return (connector default set when omitted). */
  attributes?: readonly string[];
  /** Page size used against the target; results still stream one object at a time. */
  pageSize?: number;
}

/** One change to one attribute. `replace` with an empty list (or null) clears the attribute. */
export interface AttributeDelta {
  attribute: string;
  op: 'replace' | 'add' | 'remove';
  values: readonly Scalar[];
}

export interface CreateOptions {
  /** Initial password; set together with the account where the target allows it. */
  password?: Secret;
  /** Require a password change at next sign-in. */
  mustChangePassword?: boolean;
  /** Create disabled (default: enabled). */
  enabled?: boolean;
}

export interface SetPasswordOptions {
  mustChangePassword?: boolean;
}

export interface SyncChange {
  type: 'upsert' | 'delete';
  /** For `upsert`, the object as it is now; for `delete`, at least the ref. */
  object: ConnectorObject | ObjectRef;
}

export interface SyncResult {
  changes: SyncChange[];
  /** Opaque, resumable token: pass it to the next `sync` call to get only later changes. */
  token: string;
  /** True when more changes are waiting (call again with `token` straight away). */
  more?: boolean;
}

export interface AttributeSchema {
  name: string;
  type: 'string' | 'integer' | 'boolean' | 'datetime' | 'binary' | 'reference';
  multiValued: boolean;
  required: boolean;
  /** False for attributes the target computes (entryUUID, objectGUID, memberOf, meta.created). */
  writable: boolean;
  description?: string;
}

export interface ObjectClassSchema {
  name: ObjectClass;
  /** The target's own name for it (inetOrgPerson, user, urn:…:User, a table name). */
  nativeName: string;
  attributes: AttributeSchema[];
}

export interface EntitlementType {
  /** e.g. "group", "role", "licence". */
  name: string;
  objectClass: ObjectClass;
  description?: string;
}

export interface TargetSchema {
  objectClasses: ObjectClassSchema[];
  entitlementTypes: EntitlementType[];
}

export interface TestResult {
  ok: true;
  /** What was reached: server vendor/version, base DN, naming context, … (never credentials). */
  details: Record<string, string>;
}

export type Capability =
  | 'test'
  | 'schema'
  | 'search'
  | 'create'
  | 'update'
  | 'rename'
  | 'delete'
  | 'enable'
  | 'disable'
  | 'setPassword'
  | 'unlock'
  | 'groups'
  | 'sync';

/** Every capability, for connectors that support them all (LDAP, Active Directory, SQL with a full mapping). */
export const ALL_CAPABILITIES: readonly Capability[] = [
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
  'unlock',
  'groups',
  'sync',
];

export interface Connector {
  readonly type: string;
  readonly capabilities: ReadonlySet<Capability>;
  test(): Promise<TestResult>;
  schema(): Promise<TargetSchema>;
  /** Streams every match, paging against the target underneath. */
  search(query: SearchQuery): AsyncIterable<ConnectorObject>;
  /** One object by id (or name); `undefined` when absent. */
  get(ref: ObjectRef, attributes?: readonly string[]): Promise<ConnectorObject | undefined>;
  create(objectClass: ObjectClass, attributes: Attributes, options?: CreateOptions): Promise<ConnectorObject>;
  update(ref: ObjectRef, deltas: readonly AttributeDelta[]): Promise<void>;
  /** Change the naming attribute or the container (LDAP modifyDN, AD OU move). Returns the new ref. */
  rename(ref: ObjectRef, newName: string): Promise<ObjectRef>;
  delete(ref: ObjectRef): Promise<void>;
  enable(ref: ObjectRef): Promise<void>;
  disable(ref: ObjectRef): Promise<void>;
  setPassword(ref: ObjectRef, password: Secret, options?: SetPasswordOptions): Promise<void>;
  unlock(ref: ObjectRef): Promise<void>;
  addMember(group: ObjectRef, member: ObjectRef): Promise<void>;
  removeMember(group: ObjectRef, member: ObjectRef): Promise<void>;
  /** Changes since `token` (null: the current position, with no changes, to start from). */
  sync(objectClass: ObjectClass, token: string | null): Promise<SyncResult>;
  close(): Promise<void>;
}

/** What a connector needs from Gatehouse; injected, never read from globals. */
export interface ConnectorDeps {
  log: Logger;
  clock: Clock;
  /** Only the manual connector uses it: where operations become tasks for a person. */
  tasks?: ManualTaskSink;
}

export interface ManualTaskInput {
  targetName: string;
  operation: string;
  ref?: ObjectRef;
  /** What the person must do, in words, plus the data needed (never a password). */
  summary: string;
  details: Record<string, unknown>;
}

export interface ManualTaskSink {
  open(task: ManualTaskInput): Promise<{ id: string }>;
}

/**
 * A connector type: its configuration schema (validated before anything connects), which configuration keys are
 * credentials (stored encrypted at rest, never logged or returned by the API), what it supports, and a factory.
 */
export interface ConnectorDefinition<C = unknown> {
  type: string;
  title: string;
  description: string;
  configSchema: ZodType<C>;
  /** Top-level config keys holding credentials (bind password, bearer token, connection URL with password). */
  secretFields: readonly string[];
  capabilities: readonly Capability[];
  open(config: C, deps: ConnectorDeps): Connector;
}

/** A password or other credential in memory: never serialised, never printed. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return '[secret]';
  }
  toString(): string {
    return '[secret]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[secret]';
  }
}
