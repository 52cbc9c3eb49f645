import { Link } from 'react-router';
import { Anchor, Badge, Group, Stack, Table, Text, Tooltip, VisuallyHidden } from '@mantine/core';
import { formatDate, formatDateTime, formatNumber, formatRelative } from '../format';
import { When } from './ui';

// ── API shapes (src/provisioning/changesets.ts, src/provisioning/policy-apply.ts, src/policy/store.ts) ──────────

export type ChangeSetStatus =
  | 'awaiting_approval'
  | 'approved'
  | 'applying'
  | 'applied'
  | 'failed'
  | 'rejected'
  | 'cancelled'
  | 'blocked'
  | 'empty';

export type OpStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export type OpKind =
  | 'create_account'
  | 'rename_account'
  | 'update_account'
  | 'enable_account'
  | 'add_member'
  | 'remove_member'
  | 'disable_account'
  | 'delete_account';

export type AttributeValue = string | number | boolean | null | (string | number | boolean)[];

export type OpPayload =
  | {
      kind: 'create_account';
      attributes: Record<string, AttributeValue>;
      enabled: boolean;
      password: 'generate' | 'none';
      mustChange: boolean;
    }
  | { kind: 'rename_account'; attribute: string; from: string; to: string }
  | { kind: 'update_account'; changes: { attribute: string; from: AttributeValue; to: AttributeValue }[] }
  | { kind: 'enable_account' }
  | { kind: 'disable_account'; quarantineDays: number | null }
  | {
      kind: 'add_member' | 'remove_member';
      entitlementId: string;
      key: string;
      groupId: string;
      groupName: string;
    }
  | { kind: 'delete_account' };

export interface ApprovalReason {
  kind: 'privileged' | 'sod' | 'mass_change' | string;
  message: string;
  personId?: string;
  target?: string;
  rule?: string;
}

export interface BlockedGrant {
  personId: string;
  rule: string;
  reason: string;
  items: { targetName: string; key: string; displayName: string }[];
}

export interface ChangeSetView {
  id: string;
  seq: number;
  title: string;
  trigger: string;
  triggerRefs: Record<string, unknown>;
  status: ChangeSetStatus;
  approvalReasons: ApprovalReason[];
  blocked: BlockedGrant[];
  warnings: { personId: string; target?: string; attribute?: string; message: string }[];
  peopleCount: number;
  opCount: number;
  counts: Record<OpStatus, number>;
  policyVersion: number;
  triggeredAt: string;
  createdBy: string;
  /** `operator:<id>` (or `token:<id>`, `system:<id>`) of who asked for it. */
  createdById: string;
  createdAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  decisionNote: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  undoOf: string | null;
  undoOfSeq: number | null;
  undoneBy: string | null;
  undoneBySeq: number | null;
}

export interface OpView {
  id: string;
  seq: number;
  personId: string | null;
  personName: string | null;
  target: string;
  accountId: string | null;
  accountName: string | null;
  kind: OpKind;
  summary: string;
  payload: OpPayload;
  before: Record<string, unknown> | null;
  noop: boolean;
  reversible: boolean;
  irreversibleReason: string | null;
  status: OpStatus;
  attempts: number;
  error: { code: string; message: string; retryable: boolean } | null;
  startedAt: string | null;
  doneAt: string | null;
}

export type ChangeSetDetail = ChangeSetView & { ops: OpView[] };

export interface ChangeSetList {
  items: ChangeSetView[];
  next: number | null;
}

/** What POST /change-sets, /undo, /policy answer about the change set they recorded (null: nothing to change). */
export interface RecordedChangeSet {
  id: string;
  seq: number;
  status: ChangeSetStatus;
  opCount: number;
}

export type Because =
  | { kind: 'rule'; rule: string; role: string }
  | { kind: 'assignment'; assignment: string; role: string; validUntil: string | null };

export interface PlannedOp {
  personId: string;
  targetId: string;
  targetName: string;
  accountId: string | null;
  payload: OpPayload;
  summary: string;
}

export interface AccessItem {
  target: string;
  account: {
    id: string;
    name: string;
    enabled: boolean;
    state: string;
    quarantineUntil: string | null;
  } | null;
  desired: 'present' | 'absent';
  because: Because[];
  entitlements: {
    key: string;
    displayName: string;
    privileged: boolean;
    held: boolean;
    desired: boolean;
    because: Because[];
  }[];
}

export interface PersonAccess {
  personId: string;
  roles: { role: string; because: Because[] }[];
  targets: AccessItem[];
  pending: PlannedOp[];
  sod: { rule: string; reason: string; action: string; existing: boolean }[];
}

export interface ImpactLine {
  personId: string;
  person: string;
  target: string;
  item: string;
  because?: string;
}

export interface PolicyImpact {
  people: number;
  affected: number;
  gains: ImpactLine[];
  losses: ImpactLine[];
  gainCount: number;
  lossCount: number;
  byItem: { target: string; item: string; gain: number; lose: number }[];
  operations: number;
  truncated: boolean;
}

export interface PolicyApplyResult {
  dryRun: boolean;
  version: number | null;
  impact: PolicyImpact;
  changeSet: RecordedChangeSet | null;
  namingChanged: boolean;
}

export type SodItem = { target: string; entitlement: string } | { role: string };

export interface PolicyDocument {
  settings?: { massChange?: { threshold: number; minimum: number } };
  targets?: Record<
    string,
    {
      account?: { namingAttribute?: string; attributes?: Record<string, string> };
      password?: { initial?: string; mustChange?: boolean };
      provision?: { prehire?: string };
      deprovision?: { action?: string; quarantineDays?: number };
      apply?: { concurrency?: number; ratePerSecond?: number };
      massChange?: { threshold: number; minimum: number };
    }
  >;
  roles?: {
    name: string;
    description?: string;
    accounts?: string[];
    grants?: { target: string; entitlement: string }[];
  }[];
  rules?: { name: string; description?: string; when: string; roles: string[]; enabled?: boolean }[];
  sod?: { name: string; reason: string; left: SodItem[]; right: SodItem[]; action?: string }[];
}

export interface PolicyView {
  version: number;
  document: PolicyDocument;
  yaml: string;
}

export interface EntitlementView {
  id: string;
  target: string;
  key: string;
  kind: string;
  objectId: string;
  objectName: string;
  displayName: string;
  description: string;
  privileged: boolean;
  owner: string | null;
  monthlyCost: number | null;
  origin: 'discovered' | 'declared';
  missingSince: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface LatencyRow {
  target: string | null;
  operations: number;
  p50Ms: number | null;
  p95Ms: number | null;
  maxMs: number | null;
}

// ── Words ──────────────────────────────────────────────────────────────────────────────────────────────────────────

export const CHANGE_SET_STATUS: Record<ChangeSetStatus, { label: string; color: string; hint: string }> = {
  awaiting_approval: {
    label: 'Awaiting approval',
    color: 'orange',
    hint: 'Nothing is changed until someone approves it.',
  },
  approved: { label: 'Queued', color: 'blue', hint: 'Approved; Gatehouse starts applying it in a moment.' },
  applying: { label: 'Applying', color: 'blue', hint: 'Gatehouse is making the changes now.' },
  applied: { label: 'Applied', color: 'teal', hint: 'Every change was made.' },
  failed: { label: 'Failed', color: 'red', hint: 'Some changes could not be made.' },
  rejected: { label: 'Rejected', color: 'gray', hint: 'Someone rejected it; nothing was changed.' },
  cancelled: { label: 'Cancelled', color: 'gray', hint: 'It was cancelled; nothing more will be changed.' },
  blocked: {
    label: 'Blocked',
    color: 'grape',
    hint: 'Everything it would grant is withheld by separation-of-duties rules.',
  },
  empty: { label: 'Nothing to do', color: 'gray', hint: 'Everything was already as the policy wants.' },
};

/** The statuses a change set does not leave by itself (no need to keep asking). */
export const SETTLED: ReadonlySet<ChangeSetStatus> = new Set([
  'awaiting_approval',
  'applied',
  'failed',
  'rejected',
  'cancelled',
  'blocked',
  'empty',
]);

export const STATUS_ORDER: ChangeSetStatus[] = [
  'awaiting_approval',
  'approved',
  'applying',
  'applied',
  'failed',
  'rejected',
  'blocked',
  'cancelled',
];

export const OP_STATUS: Record<OpStatus, { label: string; color: string }> = {
  pending: { label: 'Waiting', color: 'gray' },
  running: { label: 'Running', color: 'blue' },
  done: { label: 'Done', color: 'teal' },
  failed: { label: 'Failed', color: 'red' },
  skipped: { label: 'Not done', color: 'gray' },
};

export const TRIGGER_LABELS: Record<string, string> = {
  hr_event: 'HR event',
  recompute: 'Recompute',
  policy: 'Policy change',
  undo: 'Undo',
  schedule: 'Scheduled (end of quarantine, assignment dates)',
  retry: 'Retry',
  remediation: 'Fix of reconciliation findings',
};

export const REASON_LABELS: Record<string, string> = {
  privileged: 'Privileged access',
  sod: 'Separation of duties',
  mass_change: 'Mass change',
};

export function ChangeSetStatusBadge({ status }: { status: ChangeSetStatus }) {
  const s = CHANGE_SET_STATUS[status] ?? { label: status, color: 'gray', hint: '' };
  return (
    <Badge color={s.color} variant="light" data-status={status}>
      {s.label}
    </Badge>
  );
}

export function OpStatusBadge({ status }: { status: OpStatus }) {
  const s = OP_STATUS[status] ?? { label: status, color: 'gray' };
  return (
    <Badge color={s.color} variant="dot" size="sm">
      {s.label}
    </Badge>
  );
}

/** "rule “Sales department” → role Sales", "assignment → role Admins (until 3 Mar 2027)". */
export function becauseText(b: Because): string {
  if (b.kind === 'rule') return `rule “${b.rule}” → role ${b.role}`;
  return `assignment → role ${b.role}${b.validUntil ? ` (until ${formatDate(b.validUntil)})` : ''}`;
}

export function BecauseList({ because, empty = '—' }: { because: Because[]; empty?: string }) {
  if (!because.length)
    return (
      <Text size="sm" c="dimmed" span>
        {empty}
      </Text>
    );
  // The same reason can arrive twice (a role granting an account and a group on it).
  const lines = [...new Set(because.map(becauseText))];
  return (
    <Stack gap={0}>
      {lines.map((l) => (
        <Text size="sm" key={l}>
          {l}
        </Text>
      ))}
    </Stack>
  );
}

/** An attribute value as people read it: lists joined, empty shown as such. */
export function formatValue(v: AttributeValue | undefined): string {
  if (v === null || v === undefined || v === '') return '(empty)';
  if (Array.isArray(v)) return v.length ? v.map(String).join(', ') : '(empty)';
  return String(v);
}

/** 850 ms, 12 s, 3.5 min, 2.1 h. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function changeSetPath(id: string | number): string {
  return `/change-sets/${encodeURIComponent(String(id))}`;
}

/** "#12" as a link to the change set. */
export function ChangeSetLink({
  id,
  seq,
  children,
}: {
  id: string;
  seq?: number;
  children?: React.ReactNode;
}) {
  return (
    <Anchor component={Link} to={changeSetPath(id)} size="sm">
      {children ?? `Change set #${seq ?? ''}`}
    </Anchor>
  );
}

/** Operations so far: "3 of 8 done, 1 failed". */
export function progressText(set: Pick<ChangeSetView, 'counts' | 'opCount'>): string {
  const c = set.counts;
  const parts = [`${formatNumber(c.done)} of ${formatNumber(set.opCount)} done`];
  if (c.failed) parts.push(`${formatNumber(c.failed)} failed`);
  if (c.skipped) parts.push(`${formatNumber(c.skipped)} not done`);
  return parts.join(', ');
}

/** A table of change sets (the list page and a person's page share it). */
export function ChangeSetTable({
  items,
  label,
  compact = false,
}: {
  items: ChangeSetView[];
  label: string;
  compact?: boolean;
}) {
  return (
    <Table.ScrollContainer minWidth={compact ? 560 : 760}>
      <Table aria-label={label} fz="sm" highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">#</Table.Th>
            <Table.Th scope="col">Change set</Table.Th>
            <Table.Th scope="col">Status</Table.Th>
            {compact ? null : <Table.Th scope="col">People</Table.Th>}
            <Table.Th scope="col">Operations</Table.Th>
            <Table.Th scope="col">Created</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((s) => (
            <Table.Tr key={s.id} data-change-set={s.seq}>
              <Table.Td className="mono">{s.seq}</Table.Td>
              <Table.Td>
                <Anchor component={Link} to={changeSetPath(s.id)} size="sm" fw={500}>
                  {s.title}
                </Anchor>
                <Text size="xs" c="dimmed">
                  {TRIGGER_LABELS[s.trigger] ?? s.trigger}
                  {s.approvalReasons.length
                    ? ` · ${[...new Set(s.approvalReasons.map((r) => REASON_LABELS[r.kind] ?? r.kind))].join(', ')}`
                    : ''}
                  {s.blocked.length ? ' · some access withheld (separation of duties)' : ''}
                </Text>
              </Table.Td>
              <Table.Td>
                <ChangeSetStatusBadge status={s.status} />
              </Table.Td>
              {compact ? null : <Table.Td>{formatNumber(s.peopleCount)}</Table.Td>}
              <Table.Td>
                <Text size="sm">{formatNumber(s.opCount)}</Text>
                {s.status !== 'awaiting_approval' && s.opCount > 0 && s.counts.done !== s.opCount ? (
                  <Text size="xs" c={s.counts.failed ? 'red' : 'dimmed'}>
                    {progressText(s)}
                  </Text>
                ) : null}
              </Table.Td>
              <Table.Td>
                <When at={s.createdAt} show={formatRelative} />
                <Text size="xs" c="dimmed">
                  by {s.createdBy}
                </Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** "Privileged" marker next to an entitlement's name. */
export function PrivilegedBadge() {
  return (
    <Tooltip label="Privileged: granting it always waits for approval" withArrow>
      <Badge color="red" variant="light" size="sm" tabIndex={0}>
        Privileged
      </Badge>
    </Tooltip>
  );
}

/** HR event → committed on the target, per target (the row without a target is the total). */
export function LatencyTable({ items }: { items: LatencyRow[] }) {
  const total = items.find((i) => i.target === null);
  const rows = items.filter((i) => i.target !== null);
  return (
    <Table.ScrollContainer minWidth={480}>
      <Table aria-label="Time from HR event to target" fz="sm" withTableBorder>
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">Target</Table.Th>
            <Table.Th scope="col">Changes</Table.Th>
            <Table.Th scope="col">
              Typical (p50)
              <VisuallyHidden>: half of the changes were made faster</VisuallyHidden>
            </Table.Th>
            <Table.Th scope="col">
              Slow (p95)
              <VisuallyHidden>: 95 of 100 changes were made faster</VisuallyHidden>
            </Table.Th>
            <Table.Th scope="col">Slowest</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((r) => (
            <Table.Tr key={r.target} data-latency-target={r.target}>
              <Table.Th scope="row" fw={500}>
                {r.target}
              </Table.Th>
              <Table.Td>{formatNumber(r.operations)}</Table.Td>
              <Table.Td>{formatDuration(r.p50Ms)}</Table.Td>
              <Table.Td>{formatDuration(r.p95Ms)}</Table.Td>
              <Table.Td>{formatDuration(r.maxMs)}</Table.Td>
            </Table.Tr>
          ))}
          {total && rows.length > 1 ? (
            <Table.Tr>
              <Table.Th scope="row">All targets</Table.Th>
              <Table.Td>{formatNumber(total.operations)}</Table.Td>
              <Table.Td>{formatDuration(total.p50Ms)}</Table.Td>
              <Table.Td>{formatDuration(total.p95Ms)}</Table.Td>
              <Table.Td>{formatDuration(total.maxMs)}</Table.Td>
            </Table.Tr>
          ) : null}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** When something happened, with who did it: "3 minutes ago by Ada (21 Nov 2026, 14:03)". */
export function ByLine({ at, by }: { at: string | null; by: string | null }) {
  if (!at) return <Text size="sm">—</Text>;
  return (
    <Group gap={4} wrap="wrap">
      <Text size="sm">
        <time dateTime={at} title={formatDateTime(at)}>
          {formatRelative(at)}
        </time>
        {by ? ` by ${by}` : ''}
      </Text>
    </Group>
  );
}

/** Tell the navigation's "awaiting approval" count to look again (after approving, rejecting, applying). */
export function changeSetsChanged(): void {
  window.dispatchEvent(new Event('gatehouse:change-sets'));
}
