export {
  DEFAULT_NAMING_POLICY,
  NAMING_POLICY_KEY,
  NamingErrors,
  getNamingPolicy,
  namingPolicySchema,
  setNamingPolicy,
  validateNamingPolicy,
  type NamingPolicy,
} from './policy.ts';
export {
  TEMPLATE_TOKENS,
  candidateName,
  candidateNames,
  isCandidateOf,
  isReserved,
  renderTemplate,
  templateProblems,
  transliterate,
  truncateIdentifier,
  type NameParts,
  type RenderMode,
  type TemplateToken,
} from './templates.ts';
export {
  allocateNames,
  baseNames,
  nameTaken,
  previewRename,
  releaseNames,
  renameNames,
  type AllocatedNames,
  type NameKind,
  type NamingPerson,
  type RenamePerson,
} from './registry.ts';
export { nameRegistry } from './schema.ts';
