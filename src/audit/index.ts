export {
  appendAudit,
  appendPrepared,
  prepareAudit,
  verifyChain,
  listAudit,
  erasePersonalData,
  auditStats,
  AuditErrors,
} from './store.ts';
export {
  startVerification,
  getVerification,
  verifyQueue,
  VERIFY_QUEUE,
  type VerificationView,
} from './verifications.ts';
export type {
  AuditInput,
  PreparedAudit,
  AuditEvent,
  VerifyResult,
  AuditQuery,
  AuditListItem,
  BreakReason,
} from './store.ts';
export { personal, hashEvent, canonicalEvent, GENESIS_HASH } from './chain.ts';
export type { HashedEvent } from './chain.ts';
