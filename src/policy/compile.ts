/**
 * From a policy document to what the planner runs: CEL planned once, roles and targets indexed, every reference
 * checked against the targets and the entitlement catalog. Problems carry the document path
 * (`rules[2].when`, `roles[0].grants[1].entitlement`) so the YAML reader can point at the line.
 */
import type { EntitlementRef, PolicyDocument, Role, SodRule, TargetPolicy } from './document.ts';
import { compileExpression, type CompiledExpression } from './expressions.ts';

export interface PolicyProblem {
  /** Path in the document: segments joined as `roles[0].grants[1].entitlement`. */
  path: (string | number)[];
  message: string;
}

export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out || '(document)';
}

/** One catalogued entitlement, as the planner sees it. */
export interface CatalogEntitlement {
  id: string;
  targetId: string;
  targetName: string;
  key: string;
  kind: string;
  objectId: string;
  objectName: string;
  displayName: string;
  privileged: boolean;
}

export interface PolicyCatalog {
  /** Target name → id (every target that exists). */
  targets: Map<string, { id: string; connector: string }>;
  /** `${targetName}\u0000${key}` → entitlement. */
  entitlements: Map<string, CatalogEntitlement>;
}

export const catalogKey = (target: string, key: string): string => `${target}\u0000${key}`;

export interface CompiledTarget {
  name: string;
  id: string;
  policy: TargetPolicy;
  attributes: [string, CompiledExpression][];
}

export interface CompiledRole {
  name: string;
  /** Targets where this role gives an account (its `accounts` and the targets of its grants). */
  accounts: Set<string>;
  grants: CatalogEntitlement[];
}

export interface CompiledRule {
  name: string;
  when: CompiledExpression;
  roles: string[];
}

export interface CompiledSod {
  rule: SodRule;
  left: { roles: Set<string>; entitlements: Set<string> };
  right: { roles: Set<string>; entitlements: Set<string> };
}

export interface CompiledPolicy {
  document: PolicyDocument;
  version: number;
  targets: Map<string, CompiledTarget>;
  roles: Map<string, CompiledRole>;
  rules: CompiledRule[];
  sod: CompiledSod[];
  /** Entitlement ids of the catalog (the memberships Gatehouse manages), for every target. */
  catalog: Map<string, CatalogEntitlement>;
}

function duplicates<T>(
  items: T[],
  key: (t: T) => string,
  at: (i: number) => (string | number)[],
  what: string,
) {
  const seen = new Map<string, number>();
  const problems: PolicyProblem[] = [];
  items.forEach((item, i) => {
    const k = key(item).toLowerCase();
    const first = seen.get(k);
    if (first !== undefined)
      problems.push({ path: at(i), message: `${what} "${key(item)}" is already defined at index ${first}` });
    else seen.set(k, i);
  });
  return problems;
}

/** Check and compile. Returns problems (and no policy) when anything is wrong. */
export function compilePolicy(
  document: PolicyDocument,
  catalog: PolicyCatalog,
  version = 0,
): { policy?: CompiledPolicy; problems: PolicyProblem[] } {
  const problems: PolicyProblem[] = [];
  const targetNames = [...catalog.targets.keys()];
  const knownTarget = (name: string, path: (string | number)[]): boolean => {
    if (catalog.targets.has(name)) return true;
    problems.push({
      path,
      message: `no target named "${name}"${targetNames.length ? ` (targets: ${targetNames.join(', ')})` : ' (no targets exist yet)'}`,
    });
    return false;
  };
  const entitlement = (ref: EntitlementRef, path: (string | number)[]): CatalogEntitlement | undefined => {
    if (!knownTarget(ref.target, [...path, 'target'])) return undefined;
    const e = catalog.entitlements.get(catalogKey(ref.target, ref.entitlement));
    if (!e)
      problems.push({
        path: [...path, 'entitlement'],
        message: `target "${ref.target}" has no entitlement "${ref.entitlement}" in its catalog (discover or declare it first)`,
      });
    return e;
  };

  const targets = new Map<string, CompiledTarget>();
  for (const [name, policy] of Object.entries(document.targets)) {
    const path = ['targets', name];
    if (!knownTarget(name, path)) continue;
    const attributes: [string, CompiledExpression][] = [];
    for (const [attr, source] of Object.entries(policy.account.attributes)) {
      const c = compileExpression(source, 'mapping');
      for (const m of c.problems)
        problems.push({ path: [...path, 'account', 'attributes', attr], message: m });
      if (c.compiled) attributes.push([attr, c.compiled]);
    }
    const naming = policy.account.namingAttribute;
    if (naming && !(naming in policy.account.attributes))
      problems.push({
        path: [...path, 'account', 'namingAttribute'],
        message: `"${naming}" is not one of the mapped attributes (${Object.keys(policy.account.attributes).join(', ') || 'none'})`,
      });
    targets.set(name, { name, id: catalog.targets.get(name)!.id, policy, attributes });
  }

  problems.push(
    ...duplicates(
      document.roles,
      (r) => r.name,
      (i) => ['roles', i, 'name'],
      'role',
    ),
  );
  const roles = new Map<string, CompiledRole>();
  document.roles.forEach((role: Role, i) => {
    const accounts = new Set<string>();
    role.accounts.forEach((t, j) => {
      if (knownTarget(t, ['roles', i, 'accounts', j])) accounts.add(t);
    });
    const grants: CatalogEntitlement[] = [];
    role.grants.forEach((g, j) => {
      const e = entitlement(g, ['roles', i, 'grants', j]);
      if (e) {
        grants.push(e);
        accounts.add(e.targetName);
      }
    });
    for (const t of accounts)
      if (catalog.targets.has(t) && !document.targets[t])
        problems.push({
          path: ['roles', i],
          message: `role "${role.name}" gives accounts on "${t}", which has no mapping under targets (add targets.${t}.account)`,
        });
    roles.set(role.name, { name: role.name, accounts, grants });
  });

  const roleExists = (name: string, path: (string | number)[]) => {
    if (roles.has(name)) return true;
    problems.push({ path, message: `no role named "${name}"` });
    return false;
  };

  problems.push(
    ...duplicates(
      document.rules,
      (r) => r.name,
      (i) => ['rules', i, 'name'],
      'rule',
    ),
  );
  const rules: CompiledRule[] = [];
  document.rules.forEach((rule, i) => {
    const c = compileExpression(rule.when, 'condition');
    for (const m of c.problems) problems.push({ path: ['rules', i, 'when'], message: m });
    rule.roles.forEach((r, j) => roleExists(r, ['rules', i, 'roles', j]));
    if (c.compiled && rule.enabled) rules.push({ name: rule.name, when: c.compiled, roles: rule.roles });
  });

  problems.push(
    ...duplicates(
      document.sod,
      (r) => r.name,
      (i) => ['sod', i, 'name'],
      'SoD rule',
    ),
  );
  const sod: CompiledSod[] = [];
  document.sod.forEach((rule, i) => {
    const side = (items: SodRule['left'], key: 'left' | 'right') => {
      const out = { roles: new Set<string>(), entitlements: new Set<string>() };
      items.forEach((item, j) => {
        if ('role' in item) {
          if (roleExists(item.role, ['sod', i, key, j, 'role'])) out.roles.add(item.role);
        } else {
          const e = entitlement(item, ['sod', i, key, j]);
          if (e) out.entitlements.add(e.id);
        }
      });
      return out;
    };
    sod.push({ rule, left: side(rule.left, 'left'), right: side(rule.right, 'right') });
  });

  if (problems.length) return { problems };
  const byId = new Map<string, CatalogEntitlement>();
  for (const e of catalog.entitlements.values()) byId.set(e.id, e);
  return { problems, policy: { document, version, targets, roles, rules, sod, catalog: byId } };
}
