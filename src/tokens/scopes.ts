/**
 * The closed set of API scopes. `admin` implies every scope. Later capabilities add theirs here, so that a typo in
 * `--scopes` is an error and not a silently useless token.
 */
export const SCOPES = {
  admin: 'Everything, including managing tokens and operators',
  'audit:read': 'Read the audit trail and verify the chain',
  'tokens:read': 'List API tokens (never their secrets)',
  'tokens:write': 'Create and revoke API tokens',
  'jobs:read': 'See job queues and their state',
  'jobs:write': 'Enqueue maintenance jobs (e.g. the queue probe)',
  'operators:read': 'See console operators and their roles',
  'operators:write': 'Create operators, change roles, unlock, reset MFA and passwords',
  'settings:read': 'See the running configuration (secrets masked)',
  'settings:write': 'Change policies such as naming standards',
  'people:read':
    'See people, their history and lifecycle events (personal data masked unless people:personal)',
  'people:write': 'Create, update, terminate and merge people through the API',
  'people:personal': 'See personal data (personal email, mobile, birth date) of people',
  'hr:read': 'See HR sources, imports and their errors',
  'hr:write': 'Run HR imports, approve held imports and change HR sources',
  'targets:read': 'See connected systems (targets) and the connector types (never their credentials)',
  'targets:write': 'Add, change, test and remove targets and their credentials',
  'tasks:read': 'See the tasks people do by hand on manual targets',
  'tasks:write': 'Complete or cancel tasks on manual targets',
  'policy:read':
    'See the access policy (roles, rules, mappings, SoD), the entitlement catalog and who has what',
  'policy:write': 'Change the access policy and the entitlement catalog; assign and revoke roles',
  'changes:read': 'See change sets (previews, status, operations) and provisioning latency',
  'changes:write': 'Recompute people, retry failed operations and undo change sets',
  'changes:approve': 'Approve or reject change sets that wait for approval',
  'recon:read': 'See reconciliation runs, observed accounts, findings and the access reports',
  'recon:write': 'Run reconciliations, link accounts to their owners and plan fixes for findings',
  'findings:approve': 'Accept the risk of a finding until a date (the one accepting is its approver)',
  'scim:read': 'Read Users and Groups over SCIM 2.0 (/scim/v2)',
  'scim:write': "Push people and groups over SCIM 2.0 as an HR source (the token's SCIM source)",
} as const;

export type Scope = keyof typeof SCOPES;

export function isScope(s: string): s is Scope {
  return Object.hasOwn(SCOPES, s);
}

export function hasScope(granted: readonly string[], needed: Scope): boolean {
  return granted.includes('admin') || granted.includes(needed);
}
