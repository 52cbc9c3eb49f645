export * from './planner.ts';
export {
  APPLY_QUEUE,
  PLAN_QUEUE,
  accountsOf,
  draftChangeSet,
  hrTitle,
  loadPlanInput,
  planAndRecord,
  planForHrEvents,
  rolesHeld,
  recordChangeSet,
  type ApprovalReason,
  type BlockedGrant,
  type ChangeSetDraft,
  type RecordedChangeSet,
} from './plan.ts';
export {
  applyChangeSet,
  applyQueue,
  generatePassword,
  MAX_ATTEMPTS,
  type ApplyDeps,
  type ApplyResult,
} from './apply.ts';
export * from './changesets.ts';
export { planQueue } from './queues.ts';
export { CHANGE_SET_STATUSES, OP_STATUSES, type ChangeSetStatus, type OpStatus } from './schema.ts';
