import { Badge } from '@mantine/core';
import { useSession, type Scope } from '../session';

// ── API shapes (src/reconcile/views.ts) ────────────────────────────────────────────────────────────────────────────

export type Severity = 'critical' | 'high' | 'medium' | 'low';
export type FindingKind =
  | 'orphan'
  | 'terminated_active'
  | 'drift'
  | 'outside_grant'
  | 'missing_account'
  | 'sod_violation'
  | 'inactive';
export type FindingStatus = 'open' | 'accepted' | 'closed';
export type RunStatus = 'running' | 'completed' | 'aborted' | 'failed';

export interface RunCounts {
  read: number;
  new: number;
  changed: number;
  gone: number;
  managed: number;
  manual: number;
  rule: number;
  unmatched: number;
  suggested: number;
  previous: number | null;
  seconds: { read: number; merge: number; correlate: number; findings: number };
}

export interface RunView {
  id: string;
  seq: number;
  target: string;
  mode: 'full' | 'incremental';
  trigger: 'manual' | 'schedule';
  status: RunStatus;
  /** Why it was aborted or failed, written for people. */
  reason: string | null;
  counts: Partial<RunCounts>;
  findingsOpened: number;
  findingsClosed: number;
  startedBy: string;
  startedAt: string;
  finishedAt: string | null;
}

export interface TargetReconView {
  target: string;
  connector: string;
  lastRun: RunView | null;
  lastCompleted: string | null;
  accounts: number;
  unmatched: number;
  open: Record<Severity, number>;
  monthlySavings: number;
}

export interface FindingView {
  id: string;
  seq: number;
  kind: FindingKind;
  severity: Severity;
  status: FindingStatus;
  target: string;
  personId: string | null;
  personName: string | null;
  employeeId: string | null;
  account: string | null;
  objectId: string | null;
  summary: string;
  evidence: Record<string, unknown>;
  fix: string;
  monthlyCost: number | null;
  openedAt: string;
  openedRun: number | null;
  lastSeenRun: number | null;
  closedAt: string | null;
  acceptedBy: string | null;
  acceptedUntil: string | null;
  justification: string | null;
  changeSetId: string | null;
  changeSetSeq: number | null;
  changeSetStatus: string | null;
}

export interface FindingList {
  items: FindingView[];
  total: number;
  /** The `before` of the next page (null: this is the last). */
  next: string | null;
}

// ── Who may do what ────────────────────────────────────────────────────────────────────────────────────────────────

export type ReconScope = 'recon:read' | 'recon:write' | 'findings:approve';

/** The reconciliation scopes as the session's `can` takes them. */
export const reconScope = (s: ReconScope): Scope => s;

/** What the signed-in operator may do with reconciliation. */
export function useReconAccess(): { read: boolean; write: boolean; approve: boolean } {
  const { can } = useSession();
  return {
    read: can(reconScope('recon:read')),
    write: can(reconScope('recon:write')),
    approve: can(reconScope('findings:approve')),
  };
}

// ── Words ──────────────────────────────────────────────────────────────────────────────────────────────────────────

export const SEVERITIES: Severity[] = ['critical', 'high', 'medium', 'low'];

export const SEVERITY: Record<Severity, { label: string; color: string }> = {
  critical: { label: 'Critical', color: 'red' },
  high: { label: 'High', color: 'orange' },
  medium: { label: 'Medium', color: 'yellow' },
  low: { label: 'Low', color: 'gray' },
};

export const KIND_LABELS: Record<FindingKind, string> = {
  orphan: 'No owner',
  terminated_active: 'Leaver with access',
  drift: 'Differs from policy',
  outside_grant: 'Granted outside Gatehouse',
  missing_account: 'Missing account',
  sod_violation: 'SoD violation',
  inactive: 'Inactive',
};

export const KINDS = Object.keys(KIND_LABELS) as FindingKind[];

export const KIND_HINTS: Record<FindingKind, string> = {
  orphan: 'An account nobody in HR owns.',
  terminated_active: 'Someone who left still has an enabled account.',
  drift: 'An attribute differs from what the policy sets.',
  outside_grant: 'A group membership that no role or assignment gives.',
  missing_account: 'Someone the policy gives an account to has none.',
  sod_violation: 'Someone holds both sides of a separation-of-duties rule.',
  inactive: 'An enabled account nobody has signed in to for a long time.',
};

/** Kinds a change set cannot fix: which side of the conflict goes is a person's decision. */
export const NO_AUTOMATIC_FIX: ReadonlySet<FindingKind> = new Set(['sod_violation']);

export const FINDING_STATUS: Record<FindingStatus, { label: string; color: string }> = {
  open: { label: 'Open', color: 'blue' },
  accepted: { label: 'Risk accepted', color: 'grape' },
  closed: { label: 'Closed', color: 'teal' },
};

export const RUN_STATUS: Record<RunStatus, { label: string; color: string }> = {
  running: { label: 'Running', color: 'blue' },
  completed: { label: 'Completed', color: 'teal' },
  aborted: { label: 'Aborted', color: 'orange' },
  failed: { label: 'Failed', color: 'red' },
};

export function SeverityBadge({ severity }: { severity: Severity }) {
  const s = SEVERITY[severity] ?? { label: severity, color: 'gray' };
  return (
    <Badge color={s.color} variant="light" data-severity={severity}>
      {s.label}
    </Badge>
  );
}

export function FindingStatusBadge({ status }: { status: FindingStatus }) {
  const s = FINDING_STATUS[status] ?? { label: status, color: 'gray' };
  return (
    <Badge color={s.color} variant="dot" size="sm" data-finding-status={status}>
      {s.label}
    </Badge>
  );
}

export function RunStatusBadge({ status }: { status: RunStatus }) {
  const s = RUN_STATUS[status] ?? { label: status, color: 'gray' };
  return (
    <Badge color={s.color} variant="light" data-run-status={status}>
      {s.label}
    </Badge>
  );
}

/** The server writes reasons and field messages as clauses ("the read found …"): start them with a capital. */
export function sentence(text: string): string {
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}

/** "uid=ann.able,ou=people,dc=example,dc=test" → "ann.able"; other names as they are. */
export function shortAccount(name: string): string {
  const m = /^[a-zA-Z][\w-]*=((?:\\.|[^,\\])+),/.exec(name);
  return m ? m[1]!.replace(/\\(.)/g, '$1') : name;
}

/** Amounts as the entitlement catalog holds them (no currency is configured): "1,234.50". */
export function formatMoney(n: number): string {
  return n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

export function runDuration(run: Pick<RunView, 'startedAt' | 'finishedAt'>): number | null {
  if (!run.finishedAt) return null;
  return Math.max(0, new Date(run.finishedAt).getTime() - new Date(run.startedAt).getTime());
}

export function findingsPath(filters: Record<string, string>): string {
  const p = new URLSearchParams(filters);
  const s = p.toString();
  return s ? `/findings?${s}` : '/findings';
}
