/**
 * The planner: a pure function from people, the compiled policy and the known state of their accounts to the
 * desired state and the ordered operations that get there. Joiner, mover, leaver and rehire are all the same
 * "recompute and diff"; nothing here reads the database, the clock or a target.
 */
import type { AttributeValue, Scalar } from '../connectors/kit/types.ts';
import type { CatalogEntitlement, CompiledPolicy, CompiledTarget } from '../policy/compile.ts';
import { celRecord, type CelRecord, type ManagerFacts, type PersonFacts } from '../policy/expressions.ts';

export type AccountState = 'active' | 'disabled' | 'quarantined' | 'deleted';

/** What Gatehouse knows of one account (the `accounts` table). */
export interface KnownAccount {
  id: string;
  targetId: string;
  targetName: string;
  personId: string | null;
  objectId: string;
  name: string;
  attributes: Record<string, AttributeValue>;
  enabled: boolean;
  /** Entitlement ids the account holds (catalogued groups only). */
  memberships: string[];
  state: AccountState;
  quarantineUntil: Date | null;
}

export interface PlanAssignment {
  id: string;
  role: string;
  validFrom: Date | null;
  validUntil: Date | null;
}

export interface PlanPerson {
  id: string;
  facts: PersonFacts;
  /** The manager's person id, when the manager is a known person. */
  managerId: string | null;
}

export interface PlanInput {
  policy: CompiledPolicy;
  now: Date;
  people: PlanPerson[];
  /** Known accounts by person id (any state but deleted). */
  accounts: Map<string, KnownAccount[]>;
  assignments: Map<string, PlanAssignment[]>;
  /** Managers (whether or not in `people`): facts and their accounts by target name. */
  managers: Map<string, { facts: Omit<ManagerFacts, 'account'>; accounts: Map<string, string> }>;
}

/** Why a person should have something. */
export type Because =
  | { kind: 'rule'; rule: string; role: string }
  | { kind: 'assignment'; assignment: string; role: string; validUntil: string | null };

export type OpKind =
  | 'create_account'
  | 'rename_account'
  | 'update_account'
  | 'enable_account'
  | 'add_member'
  | 'remove_member'
  | 'disable_account'
  | 'delete_account';

/** Order of operations on one account: create first, memberships after, disable before delete. */
export const STAGE: Record<OpKind, number> = {
  create_account: 0,
  rename_account: 1,
  update_account: 2,
  enable_account: 3,
  add_member: 4,
  disable_account: 5,
  remove_member: 6,
  delete_account: 7,
};

export interface AttributeChange {
  attribute: string;
  from: AttributeValue;
  to: AttributeValue;
}

export type OpPayload =
  | {
      kind: 'create_account';
      attributes: Record<string, AttributeValue>;
      enabled: boolean;
      password: 'generate' | 'none';
      mustChange: boolean;
    }
  | { kind: 'rename_account'; attribute: string; from: string; to: string }
  | { kind: 'update_account'; changes: AttributeChange[] }
  | { kind: 'enable_account' }
  | { kind: 'disable_account'; quarantineDays: number | null }
  | {
      kind: 'add_member' | 'remove_member';
      entitlementId: string;
      key: string;
      groupId: string;
      groupName: string;
    }
  | { kind: 'delete_account' };

export interface PlannedOp {
  /** Null for an account without an owner (an orphan found by reconciliation). */
  personId: string | null;
  targetId: string;
  targetName: string;
  /** The known account the operation acts on (null for a create). */
  accountId: string | null;
  payload: OpPayload;
  summary: string;
}

export interface DesiredTarget {
  targetName: string;
  account: 'present' | 'absent';
  enabled: boolean;
  attributes: Record<string, AttributeValue>;
  grants: { entitlement: CatalogEntitlement; because: Because[] }[];
  /** Why the person has an account here at all. */
  because: Because[];
}

export interface PlanProblem {
  personId: string;
  targetName: string;
  attribute?: string;
  message: string;
}

export interface SodFinding {
  personId: string;
  rule: string;
  reason: string;
  action: 'block' | 'approve';
  /** Entitlements withheld (block) or waiting for approval (approve); empty when all were already held. */
  items: { targetName: string; key: string; displayName: string }[];
  /** True when the person already holds both sides (an existing violation). */
  existing: boolean;
}

export interface PersonPlan {
  personId: string;
  roles: Map<string, Because[]>;
  desired: DesiredTarget[];
  ops: PlannedOp[];
  problems: PlanProblem[];
  sod: SodFinding[];
}

/** Marks a reference to the account (name) of a person being created in the same change set. */
export const ACCOUNT_REF = '\u001faccount:';

const ACTIVE_STATES = new Set(['active', 'on_leave']);

function valuesOf(v: AttributeValue | undefined): string[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return (v as readonly Scalar[]).map(String);
  return [String(v as Scalar)];
}

/** Attribute values compare as lists of strings (`5` = `"5"`, `"x"` = `["x"]`, null = `[]`). */
export function sameValue(a: AttributeValue | undefined, b: AttributeValue | undefined): boolean {
  const x = valuesOf(a);
  const y = valuesOf(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function toAttributeValue(v: unknown): AttributeValue | { error: string } {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean'))
      return v as Scalar[];
    return { error: 'a list must hold only strings, numbers or booleans' };
  }
  return { error: `gives a ${typeof v}, not a string, number, boolean or list` };
}

/** Roles a person holds and why: rules that match, assignments in force. */
export function rolesOf(
  policy: CompiledPolicy,
  person: PlanPerson,
  assignments: PlanAssignment[],
  now: Date,
  problems?: PlanProblem[],
  /** The person's facts already converted (`celRecord`), when the caller evaluates more for them. */
  personCel: CelRecord = celRecord(person.facts),
): Map<string, Because[]> {
  const roles = new Map<string, Because[]>();
  const add = (role: string, because: Because) => {
    const list = roles.get(role);
    if (list) list.push(because);
    else roles.set(role, [because]);
  };
  for (const rule of policy.rules) {
    const r = rule.when.evaluate({ person: personCel });
    if (!r.ok) {
      problems?.push({ personId: person.id, targetName: '', message: `rule "${rule.name}": ${r.error}` });
      continue;
    }
    if (typeof r.value !== 'boolean')
      problems?.push({
        personId: person.id,
        targetName: '',
        message: `rule "${rule.name}": the condition gives ${JSON.stringify(r.value)}, not true or false`,
      });
    if (r.value === true) for (const role of rule.roles) add(role, { kind: 'rule', rule: rule.name, role });
  }
  const t = now.getTime();
  for (const a of assignments) {
    if (a.validFrom && a.validFrom.getTime() > t) continue;
    if (a.validUntil && a.validUntil.getTime() <= t) continue;
    if (!policy.roles.has(a.role)) continue;
    add(a.role, {
      kind: 'assignment',
      assignment: a.id,
      role: a.role,
      validUntil: a.validUntil?.toISOString() ?? null,
    });
  }
  return roles;
}

interface Entitled {
  target: CompiledTarget;
  because: Because[];
  grants: Map<string, { entitlement: CatalogEntitlement; because: Because[] }>;
}

/** Targets (and entitlements on them) a person's roles give, before SoD. */
function entitlementsOf(policy: CompiledPolicy, roles: Map<string, Because[]>): Map<string, Entitled> {
  const out = new Map<string, Entitled>();
  for (const [roleName, because] of roles) {
    const role = policy.roles.get(roleName);
    if (!role) continue;
    for (const t of role.accounts) {
      const target = policy.targets.get(t);
      if (!target) continue;
      let e = out.get(t);
      if (!e) out.set(t, (e = { target, because: [], grants: new Map() }));
      e.because.push(...because);
    }
    for (const g of role.grants) {
      const e = out.get(g.targetName);
      if (!e) continue;
      const held = e.grants.get(g.id);
      if (held) held.because.push(...because);
      else e.grants.set(g.id, { entitlement: g, because: [...because] });
    }
  }
  return out;
}

/** Whether the person should have accounts at all right now, and enabled or not. */
function lifecycleWants(
  status: string | null,
  target: CompiledTarget,
): { present: boolean; enabled: boolean } {
  if (status && ACTIVE_STATES.has(status)) return { present: true, enabled: true };
  if (status === 'prehire') {
    const p = target.policy.provision.prehire;
    return { present: p !== 'none', enabled: p === 'enabled' };
  }
  return { present: false, enabled: false };
}

function checkSod(
  policy: CompiledPolicy,
  personId: string,
  roles: Map<string, Because[]>,
  entitled: Map<string, Entitled>,
  held: Set<string>,
): SodFinding[] {
  const findings: SodFinding[] = [];
  const desired = new Map<string, CatalogEntitlement>();
  for (const e of entitled.values()) for (const [id, g] of e.grants) desired.set(id, g.entitlement);
  for (const s of policy.sod) {
    const sideItems = (side: CompiledPodSide): Set<string> | null => {
      const ids = new Set<string>();
      let hit = false;
      for (const r of side.roles)
        if (roles.has(r)) {
          hit = true;
          for (const g of policy.roles.get(r)?.grants ?? []) ids.add(g.id);
        }
      // Only what the person will hold after this plan: a held entitlement that is no longer desired is removed
      // in the same change set (a mover giving up one side for the other is not a conflict).
      for (const id of side.entitlements)
        if (desired.has(id)) {
          hit = true;
          ids.add(id);
        }
      return hit ? ids : null;
    };
    const left = sideItems(s.left);
    const right = sideItems(s.right);
    if (!left || !right) continue;
    const fresh = [...new Set([...left, ...right])].filter((id) => desired.has(id) && !held.has(id));
    findings.push({
      personId,
      rule: s.rule.name,
      reason: s.rule.reason,
      action: s.rule.action,
      items: fresh.map((id) => {
        const e = desired.get(id)!;
        return { targetName: e.targetName, key: e.key, displayName: e.displayName };
      }),
      existing: fresh.length === 0,
    });
    if (s.rule.action === 'block')
      for (const id of fresh) for (const e of entitled.values()) if (e.grants.delete(id)) desired.delete(id);
  }
  return findings;
}
type CompiledPodSide = CompiledPolicy['sod'][number]['left'];

/** Plan a batch of people. Managers created in the same batch are referenced with `ACCOUNT_REF` markers. */
export function planPeople(input: PlanInput): PersonPlan[] {
  const { policy, now } = input;
  const stage1 = input.people.map((person) => {
    const problems: PlanProblem[] = [];
    // Converted to CEL once: the rules and every target's mapping read the same facts.
    const personCel = celRecord(person.facts);
    const roles = rolesOf(policy, person, input.assignments.get(person.id) ?? [], now, problems, personCel);
    const entitled = entitlementsOf(policy, roles);
    const known = (input.accounts.get(person.id) ?? []).filter((a) => a.state !== 'deleted');
    const held = new Set(known.flatMap((a) => a.memberships));
    const sod = checkSod(policy, person.id, roles, entitled, held);
    return { person, personCel, problems, roles, entitled, known, sod };
  });
  // Who gets a new account where in this batch: a report's manager attribute then refers to it.
  const creating = new Set<string>();
  for (const s of stage1)
    for (const [t, e] of s.entitled)
      if (lifecycleWants(s.person.facts.status, e.target).present && !s.known.some((a) => a.targetName === t))
        creating.add(`${s.person.id}\u0000${t}`);

  return stage1.map(({ person, personCel, problems, roles, entitled, known, sod }) => {
    const desired: DesiredTarget[] = [];
    const ops: PlannedOp[] = [];
    const byTarget = new Map(known.map((a) => [a.targetName, a]));
    const targetNames = new Set([...entitled.keys(), ...byTarget.keys()]);
    for (const targetName of [...targetNames].sort()) {
      const e = entitled.get(targetName);
      const target = e?.target ?? policy.targets.get(targetName);
      const account = byTarget.get(targetName);
      const wants =
        e && target ? lifecycleWants(person.facts.status, target) : { present: false, enabled: false };
      const op = (payload: OpPayload, summary: string) =>
        ops.push({
          personId: person.id,
          targetId: target?.id ?? account!.targetId,
          targetName,
          accountId: account?.id ?? null,
          payload,
          summary,
        });

      if (wants.present && target && e) {
        const attributes = mapAttributes(input, person, personCel, target, problems);
        const grants = [...e.grants.values()];
        desired.push({
          targetName,
          account: 'present',
          enabled: wants.enabled,
          attributes,
          grants,
          because: e.because,
        });
        if (!account) {
          op(
            {
              kind: 'create_account',
              attributes: Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== null)),
              enabled: wants.enabled,
              password: target.policy.password.initial,
              mustChange: target.policy.password.mustChange,
            },
            `create account on ${targetName}${wants.enabled ? '' : ' (disabled until the start day)'}`,
          );
          for (const g of grants)
            op(member('add_member', g.entitlement), `add to ${g.entitlement.displayName}`);
          continue;
        }
        const naming = target.policy.account.namingAttribute;
        const changes: AttributeChange[] = [];
        for (const [attr, to] of Object.entries(attributes)) {
          const from = account.attributes[attr] ?? null;
          if (sameValue(from, to)) continue;
          if (attr === naming && to !== null) {
            op(
              {
                kind: 'rename_account',
                attribute: attr,
                from: valuesOf(from)[0] ?? account.name,
                to: valuesOf(to)[0]!,
              },
              `rename to ${String(to)}`,
            );
            continue;
          }
          changes.push({ attribute: attr, from, to });
        }
        if (changes.length)
          op({ kind: 'update_account', changes }, `update ${changes.map((c) => c.attribute).join(', ')}`);
        if (wants.enabled && (!account.enabled || account.state !== 'active'))
          op({ kind: 'enable_account' }, account.enabled ? 'end quarantine' : 'enable account');
        if (!wants.enabled && account.enabled)
          op({ kind: 'disable_account', quarantineDays: null }, 'disable account (not started yet)');
        const have = new Set(account.memberships);
        for (const g of grants)
          if (!have.has(g.entitlement.id))
            op(member('add_member', g.entitlement), `add to ${g.entitlement.displayName}`);
        const want = new Set(grants.map((g) => g.entitlement.id));
        for (const id of account.memberships) {
          const ent = policy.catalog.get(id);
          if (ent && !want.has(id)) op(member('remove_member', ent), `remove from ${ent.displayName}`);
        }
        continue;
      }

      // Not (or no longer) entitled: disable, take the memberships away, delete after the quarantine.
      desired.push({
        targetName,
        account: 'absent',
        enabled: false,
        attributes: {},
        grants: [],
        because: [],
      });
      if (!account || !target) continue;
      const deprovision = target.policy.deprovision;
      const quarantineOver =
        account.state !== 'active' &&
        account.quarantineUntil !== null &&
        account.quarantineUntil.getTime() <= now.getTime();
      // A disabled account that never entered quarantine (a prehire who never started) starts it now.
      const disabling = account.enabled || account.state === 'active' || account.state === 'disabled';
      if (disabling)
        op(
          { kind: 'disable_account', quarantineDays: deprovision.quarantineDays },
          `disable account (${deprovision.action === 'delete' ? `deleted after ${deprovision.quarantineDays} days` : 'kept disabled'})`,
        );
      for (const id of account.memberships) {
        const ent = policy.catalog.get(id);
        if (ent) op(member('remove_member', ent), `remove from ${ent.displayName}`);
      }
      if (
        deprovision.action === 'delete' &&
        (quarantineOver || (deprovision.quarantineDays === 0 && disabling))
      )
        op({ kind: 'delete_account' }, 'delete account (quarantine over)');
    }
    ops.sort((a, b) =>
      a.targetName < b.targetName
        ? -1
        : a.targetName > b.targetName
          ? 1
          : STAGE[a.payload.kind] - STAGE[b.payload.kind],
    );
    return { personId: person.id, roles, desired, ops, problems, sod };
  });

  function member(kind: 'add_member' | 'remove_member', e: CatalogEntitlement): OpPayload {
    return { kind, entitlementId: e.id, key: e.key, groupId: e.objectId, groupName: e.objectName };
  }

  function mapAttributes(
    input: PlanInput,
    person: PlanPerson,
    personCel: CelRecord,
    target: CompiledTarget,
    problems: PlanProblem[],
  ): Record<string, AttributeValue> {
    const mgr = person.managerId ? input.managers.get(person.managerId) : undefined;
    let account: string | null = null;
    if (person.managerId && mgr) {
      account = mgr.accounts.get(target.name) ?? null;
      if (account === null && creating.has(`${person.managerId}\u0000${target.name}`))
        account = `${ACCOUNT_REF}${person.managerId}`;
    }
    const manager: ManagerFacts = mgr
      ? { ...mgr.facts, account }
      : {
          employeeId: person.facts.managerId,
          displayName: null,
          username: null,
          workEmail: null,
          account: null,
        };
    const managerCel = celRecord(manager);
    const targetCel = celRecord({ name: target.name });
    const out: Record<string, AttributeValue> = {};
    for (const [attr, expr] of target.attributes) {
      const r = expr.evaluate({ person: personCel, manager: managerCel, target: targetCel });
      if (!r.ok) {
        // A null field in an expression means "no value"; anything else is a policy mistake worth showing.
        // A broken expression leaves the attribute as it is on the target.
        if (/null/.test(r.error)) out[attr] = null;
        else
          problems.push({ personId: person.id, targetName: target.name, attribute: attr, message: r.error });
        continue;
      }
      const v = toAttributeValue(r.value);
      if (v !== null && typeof v === 'object' && 'error' in v)
        problems.push({ personId: person.id, targetName: target.name, attribute: attr, message: v.error });
      else out[attr] = v === '' || (Array.isArray(v) && v.length === 0) ? null : v;
    }
    return out;
  }
}
