import type { Attributes, AttributeDelta, Capability, Connector, ObjectRef } from './types.ts';

/** The steps of the shared contract suite (src/connectors/kit/contract.ts). */
export type ContractStep =
  | 'create'
  | 'read'
  | 'update'
  | 'rename'
  | 'groups'
  | 'disable-enable'
  | 'set-password'
  | 'unlock'
  | 'delete'
  | 'paging'
  | 'unicode'
  | 'not-found'
  | 'already-exists'
  | 'sync'
  | 'schema';

/**
 * What a connector's test file hands the contract suite: how to connect to its real server, how to make valid
 * accounts and groups there, and how to change an account behind the connector's back (for the sync step).
 */
export interface ContractFixture {
  /** Shown in test names, e.g. "ldap (OpenLDAP slapd)". */
  name: string;
  /** A fresh, connected connector against the real server. */
  connect(): Promise<Connector>;
  /**
   * Attributes for a new account, unique per `n` (the suite passes distinct numbers). With `unicode`, use
   * non-ASCII values in the naming attribute and display name (e.g. "Zoë Ångström-Łukasz, \"Jr\"").
   */
  account(n: number, opts?: { unicode?: boolean }): Attributes;
  /** A change the suite applies with `update`; `read` must then show `expect` (attribute → value). */
  accountUpdate: { deltas: AttributeDelta[]; expect: Attributes };
  /** The new name for `rename` (given the account's current name), when 'rename' is supported. */
  renamed?(current: string, n: number): string;
  /** Attributes for a new group, unique per `n`. */
  group(n: number): Attributes;
  /** A password the target accepts, and one its policy refuses (for a policy_violation check), if any. */
  password: { good: string; bad?: string };
  /**
   * Whether `password` is now the account's password on the target (an LDAP bind, a hash check in SQL). Without
   * it the set-password step can only check that the target accepted the call.
   */
  checkPassword?(ref: ObjectRef, password: string): Promise<boolean>;
  /**
   * Lock the account out on the target (failed sign-ins, a direct write), so that the unlock step has a lockout to
   * clear. Without it the step only checks that `unlock` leaves an unlocked account unlocked.
   */
  lock?(ref: ObjectRef): Promise<void>;
  /** Change the account outside the connector (ldapmodify, direct SQL, a raw HTTP call to the peer). */
  outsideChange(ref: ObjectRef): Promise<void>;
  /** Page size small enough that `paging` spans several pages. */
  pageSize: number;
  /**
   * Steps this connector cannot do, each with the reason. The suite checks that the matching capability is not
   * declared and that calling it throws ConnectorError 'unsupported' — so a declared skip is still a real test.
   */
  unsupported?: Partial<Record<ContractStep, string>>;
  /** Capabilities the test expects the connector to declare (defaults to all steps not listed in unsupported). */
  capabilities?: Capability[];
  /**
   * Called after every write the suite makes, before it reads again. Targets where a write completes later (the
   * manual target: a person confirms the task) finish the pending work here; others leave it out.
   */
  settle?(): Promise<void>;
  /** Remove anything the suite left behind. */
  cleanup?(): Promise<void>;
}
