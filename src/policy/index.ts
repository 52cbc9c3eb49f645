export * from './document.ts';
export {
  catalogKey,
  compilePolicy,
  formatPath,
  type CatalogEntitlement,
  type CompiledPolicy,
  type PolicyCatalog,
  type PolicyProblem,
} from './compile.ts';
export {
  compileExpression,
  PERSON_FIELDS,
  MANAGER_FIELDS,
  type PersonFacts,
  type ManagerFacts,
} from './expressions.ts';
export {
  PolicyErrors,
  checkDocument,
  declareEntitlement,
  discoverEntitlements,
  getEntitlement,
  getPolicy,
  invalidPolicy,
  listEntitlements,
  loadCatalog,
  loadPolicy,
  savePolicy,
  updateEntitlement,
  type DiscoveryResult,
  type EntitlementInput,
  type EntitlementPatch,
  type EntitlementView,
  type PolicyVersion,
} from './store.ts';
