export * from './tokens.ts';
export { SCOPES, isScope, hasScope, type Scope } from './scopes.ts';
