export * from './operators.ts';
export * from './sessions.ts';
export { ROLES, ROLE_DESCRIPTIONS, scopesOf, type Role } from './roles.ts';
export { passwordProblems } from './passwords.ts';
export { totpNow } from './totp.ts';
