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
  | 'inactive'
  | 'duplicate_person';
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
  /** Who the account belongs to now (an orphan linked since the last run shows its new owner here). */
  accountOwner: { personId: string; name: string; link: string | null } | null;
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
  duplicate_person: 'Duplicate person',
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
  duplicate_person: 'Two HR records look like one person, and both have an account.',
};

/**
 * Kinds a change set cannot fix: which side of an SoD conflict goes, and whether two HR records are one person
 * (merged or dismissed under People › Duplicates), are a person's decision.
 */
export const NO_AUTOMATIC_FIX: ReadonlySet<FindingKind> = new Set(['sod_violation', 'duplicate_person']);
export const NO_FIX_HINT: Partial<Record<FindingKind, string>> = {
  sod_violation: 'No automatic fix: decide which side of the conflict to remove, or accept the risk',
  duplicate_person:
    'No automatic fix: merge the two records under People › Duplicates if they are one person, or dismiss the match',
};

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

// ── Schedules and links (src/reconcile/schedule.ts, remediate.ts) ──────────────────────────────────────────────────

export type ReconMode = 'full' | 'incremental';

/** A target's reconciliation schedule (GET /reconciliation/schedules). */
export interface ScheduleView {
  target: string;
  cron: string;
  timeZone: string;
  mode: ReconMode;
  /** The next three runs (ISO instants). */
  next: string[];
}

/** What POST /targets/:name/reconcile answers with `wait: true`: the finished run. */
export type RunResult = Pick<
  RunView,
  'id' | 'seq' | 'target' | 'mode' | 'status' | 'reason' | 'counts' | 'findingsOpened' | 'findingsClosed'
>;

export const MODE_LABELS: Record<ReconMode, string> = {
  full: 'Full read',
  incremental: 'Changes only (incremental)',
};

/** An orphan's suggested owner as the run put it in the finding's evidence (src/reconcile/findings.ts). */
export interface Suggestion {
  personId: string;
  name: string;
  employeeId: string | null;
  /** How alike the account's name and the person's are, 0–1. */
  score: number | null;
}

export function suggestionOf(f: FindingView): Suggestion | null {
  const s = f.evidence.suggestion as {
    personId?: unknown;
    name?: unknown;
    employeeId?: unknown;
    score?: unknown;
  } | null;
  if (!s || typeof s.personId !== 'string' || typeof s.name !== 'string') return null;
  return {
    personId: s.personId,
    name: s.name,
    employeeId: typeof s.employeeId === 'string' ? s.employeeId : null,
    score: typeof s.score === 'number' ? s.score : typeof s.score === 'string' ? Number(s.score) : null,
  };
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Common cron expressions in words ("Every day at 02:00"); null for the rest (the expression is shown as it is). */
export function describeCron(cron: string): string | null {
  const f = cron.trim().split(/\s+/);
  if (f.length !== 5) return null;
  const [min, hour, dom, mon, dow] = f as [string, string, string, string, string];
  const num = (v: string, max: number) => (/^\d+$/.test(v) && Number(v) <= max ? Number(v) : null);
  const m = num(min, 59);
  const h = num(hour, 23);
  const at = m !== null && h !== null ? `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}` : null;
  if (dom !== '*' || mon !== '*') return null;
  const every = /^\*\/(\d+)$/.exec(min);
  if (every && hour === '*' && dow === '*') return `Every ${every[1]} minutes`;
  if (m !== null && hour === '*' && dow === '*')
    return m === 0 ? 'Every hour, on the hour' : `Every hour at ${m} past`;
  const everyHours = /^\*\/(\d+)$/.exec(hour);
  if (m !== null && everyHours && dow === '*')
    return `Every ${everyHours[1]} hours at ${m === 0 ? 'the hour' : `${m} past`}`;
  if (!at) return null;
  if (dow === '*') return `Every day at ${at}`;
  if (dow === '1-5') return `Weekdays at ${at}`;
  const d = num(dow, 7);
  if (d !== null) return `Every ${WEEKDAYS[d % 7]} at ${at}`;
  return null;
}
