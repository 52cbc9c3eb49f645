export { appendAudit, verifyChain, listAudit, erasePersonalData, AuditErrors } from './store.ts';
export type {
  AuditInput,
  AuditEvent,
  VerifyResult,
  AuditQuery,
  AuditListItem,
  BreakReason,
} from './store.ts';
export { personal, hashEvent, canonicalEvent, GENESIS_HASH } from './chain.ts';
export type { HashedEvent } from './chain.ts';
