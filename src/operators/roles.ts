import { SCOPES, type Scope } from '../tokens/scopes.ts';

/** Operator roles are named bundles of API scopes: one authorisation model for people and API tokens. */
export const ROLES = ['administrator', 'agent', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  administrator: 'Everything: connects systems, sets policy, manages operators and API tokens',
  agent: 'Account operations: works the queue and account tasks; reads the audit trail',
  auditor: 'Read-only everywhere; verifies the audit trail and exports evidence',
};

const READ_SCOPES = (Object.keys(SCOPES) as Scope[]).filter((s) => s.endsWith(':read'));

export function scopesOf(role: Role): Scope[] {
  switch (role) {
    case 'administrator':
      return ['admin'];
    case 'agent':
      return [
        'audit:read',
        'jobs:read',
        'people:read',
        'people:personal',
        'hr:read',
        'targets:read',
        'tasks:read',
        'tasks:write',
        'policy:read',
        'changes:read',
        'changes:write',
        'recon:read',
        'recon:write',
      ];
    case 'auditor':
      return READ_SCOPES;
  }
}
