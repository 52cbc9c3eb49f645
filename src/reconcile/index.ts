export { ReconErrors } from './errors.ts';
export { reconcileTarget, type ReconcileDeps, type ReconcileOptions, type RunResult } from './run.ts';
export { correlationRules, describeRule, type CorrelationRule } from './correlate.ts';
export { findingsFromPlan, type Found } from './findings.ts';
export { acceptFinding, linkObject, remediateFindings, MAX_ACCEPT_DAYS, MAX_REMEDIATE } from './remediate.ts';
export {
  checkFindingQuery,
  getFinding,
  listFindings,
  listRuns,
  reconStatus,
  type FindingQuery,
  type FindingView,
  type RunView,
  type TargetReconView,
} from './views.ts';
export { FINDING_KINDS, FINDING_STATUSES, SEVERITIES, type FindingKind, type Severity } from './schema.ts';
export { RECONCILE_QUEUE, reconcileQueue, type ReconcileJob } from './queue.ts';
export { findingsReport, accessReport } from './reports.ts';
export {
  listReconcileSchedules,
  setReconcileSchedule,
  type ScheduleInput,
  type ScheduleView,
} from './schedule.ts';
