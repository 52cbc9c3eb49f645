import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Code,
  Group,
  List,
  Paper,
  Progress,
  SimpleGrid,
  Stack,
  Switch,
  Table,
  Text,
  Textarea,
  Title,
} from '@mantine/core';
import {
  IconAlertTriangle,
  IconArrowBackUp,
  IconArrowLeft,
  IconBan,
  IconCheck,
  IconCircleCheck,
  IconHourglass,
  IconInfoCircle,
  IconRotateClockwise,
  IconX,
} from '@tabler/icons-react';
import { api, ApiError, describe } from '../api';
import { useSession } from '../session';
import { ErrorState, LoadingRows, NoAccess, notifySuccess, Page, useApiData } from '../components/ui';
import { ConfirmDialog } from '../components/modal';
import {
  ByLine,
  CHANGE_SET_STATUS,
  ChangeSetStatusBadge,
  changeSetPath,
  changeSetsChanged,
  formatValue,
  OpStatusBadge,
  PrivilegedBadge,
  progressText,
  REASON_LABELS,
  SETTLED,
  TRIGGER_LABELS,
  type AttributeValue,
  type ChangeSetDetail,
  type EntitlementView,
  type OpView,
  type RecordedChangeSet,
} from '../components/provisioning';
import { formatNumber } from '../format';

const POLL_MS = 1500;
const PEOPLE_SHOWN = 30;

export default function ChangeSetPage() {
  const { can } = useSession();
  if (!can('changes:read'))
    return (
      <Page title="Change set">
        <NoAccess what="change sets" />
      </Page>
    );
  return <ChangeSet />;
}

function ChangeSet() {
  const { id = '' } = useParams();
  const detail = useApiData(
    (signal) => api.get<ChangeSetDetail>(`/api/v1/change-sets/${encodeURIComponent(id)}`, undefined, signal),
    id,
  );
  const set = detail.data;
  // While it is being applied, ask again until it settles (the progress bar follows).
  useEffect(() => {
    if (!set || detail.error || SETTLED.has(set.status)) return;
    const t = window.setTimeout(detail.reload, POLL_MS);
    return () => window.clearTimeout(t);
  }, [set, detail.error, detail.reload]);
  const settledStatus = set && SETTLED.has(set.status) ? set.status : null;
  useEffect(() => {
    if (settledStatus) changeSetsChanged();
  }, [settledStatus]);

  if (detail.error instanceof ApiError && (detail.error.status === 404 || detail.error.status === 400))
    return (
      <Page title="This change set does not exist">
        <Text>There is no change set at this address. The link may be old or mistyped.</Text>
        <div>
          <Button component={Link} to="/change-sets" leftSection={<IconArrowLeft size={16} aria-hidden />}>
            All change sets
          </Button>
        </div>
      </Page>
    );
  if (detail.error && !set)
    return (
      <Page title="Change set">
        <ErrorState error={detail.error} what="this change set" onRetry={detail.reload} />
      </Page>
    );
  if (!set || (set.id !== id && String(set.seq) !== id))
    return <LoadingRows label="Loading the change set…" rows={6} />;
  return <ChangeSetView key={set.id} set={set} reload={detail.reload} />;
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed" component="dt">
        {label}
      </Text>
      <Text size="sm" component="dd" m={0}>
        {children}
      </Text>
    </div>
  );
}

type Acting = 'approve' | 'reject' | 'retry' | 'undo' | null;

function ChangeSetView({ set, reload }: { set: ChangeSetDetail; reload: () => void }) {
  const { can, session } = useSession();
  // Which groups are privileged, to mark the operations that grant them (a hint: needs policy:read).
  const catalog = useApiData(
    (signal) =>
      can('policy:read')
        ? api.get<{ items: EntitlementView[] }>('/api/v1/entitlements', undefined, signal)
        : Promise.resolve({ items: [] as EntitlementView[] }),
    'entitlements',
  );
  const privileged = useMemo(
    () => new Set((catalog.data?.items ?? []).filter((e) => e.privileged).map((e) => e.id)),
    [catalog.data],
  );
  const [acting, setActing] = useState<Acting>(null);
  const [onlyFailed, setOnlyFailed] = useState(false);
  const names = useMemo(() => {
    const m = new Map<string, string>();
    for (const o of set.ops) if (o.personId && o.personName) m.set(o.personId, o.personName);
    return m;
  }, [set.ops]);
  const own = !!session && set.createdById === `operator:${session.operator.id}`;
  const awaiting = set.status === 'awaiting_approval';
  const undoable =
    (set.status === 'applied' || set.status === 'failed') &&
    !set.undoneBy &&
    set.ops.some((o) => o.status === 'done' && !o.noop);
  const undoOfSeq = set.undoOfSeq;

  const actions = (
    <>
      {awaiting && can('changes:approve') ? (
        <>
          <Button
            leftSection={<IconCheck size={16} aria-hidden />}
            onClick={() => setActing('approve')}
            disabled={own}
            aria-describedby={own ? 'own-change-set' : undefined}
          >
            Approve
          </Button>
          <Button
            variant="default"
            color="red"
            leftSection={<IconX size={16} aria-hidden />}
            onClick={() => setActing('reject')}
          >
            Reject
          </Button>
        </>
      ) : null}
      {set.status === 'failed' && can('changes:write') ? (
        <Button
          leftSection={<IconRotateClockwise size={16} aria-hidden />}
          onClick={() => setActing('retry')}
        >
          Retry failed
        </Button>
      ) : null}
      {undoable && can('changes:write') ? (
        <Button
          variant="default"
          leftSection={<IconArrowBackUp size={16} aria-hidden />}
          onClick={() => setActing('undo')}
        >
          Undo
        </Button>
      ) : null}
      <Button
        component={Link}
        to="/change-sets"
        variant="subtle"
        leftSection={<IconArrowLeft size={16} aria-hidden />}
      >
        All change sets
      </Button>
    </>
  );

  return (
    <Page
      title={`Change set #${set.seq}`}
      description={
        <Group gap="xs" component="span" wrap="wrap">
          <ChangeSetStatusBadge status={set.status} />
          <Text span size="sm" c="dimmed" data-testid="change-set-title">
            {set.title}
          </Text>
        </Group>
      }
      actions={actions}
    >
      {awaiting && own && can('changes:approve') ? (
        <Text size="sm" c="dimmed" id="own-change-set">
          You asked for this change set, so someone else must approve it. You can still reject it.
        </Text>
      ) : null}
      <StatusPanel set={set} />
      {set.approvalReasons.length && !awaiting ? (
        <Paper withBorder p="sm" radius="md" data-testid="approval-reasons">
          <Text size="sm" fw={600} mb={4}>
            Why it needed approval
          </Text>
          <ReasonList set={set} />
        </Paper>
      ) : null}
      {set.blocked.length ? (
        <Alert
          color="grape"
          variant="light"
          icon={<IconBan aria-hidden />}
          title="Access withheld by separation-of-duties rules"
          data-testid="blocked-grants"
        >
          <Stack gap="xs">
            {set.blocked.map((b, i) => (
              <div key={i}>
                <Text size="sm">
                  <PersonRef id={b.personId} name={names.get(b.personId)} /> does not get{' '}
                  {b.items.map((it) => `${it.displayName} (${it.targetName})`).join(', ')}.
                </Text>
                <Text size="sm">
                  Rule <strong>“{b.rule}”</strong>: {b.reason}
                </Text>
              </div>
            ))}
            <Text size="xs" c="dimmed">
              The rest of the change set is not affected. To grant it anyway, change the rule in the policy.
            </Text>
          </Stack>
        </Alert>
      ) : null}
      {set.warnings.length ? (
        <Alert
          color="yellow"
          variant="light"
          icon={<IconAlertTriangle aria-hidden />}
          title="Things to look at"
        >
          <List size="sm" spacing={2}>
            {set.warnings.map((w, i) => (
              <List.Item key={i}>
                <PersonRef id={w.personId} name={names.get(w.personId)} />
                {w.target ? `, ${w.target}` : ''}
                {w.attribute ? ` (${w.attribute})` : ''}: {w.message}
              </List.Item>
            ))}
          </List>
        </Alert>
      ) : null}

      <Paper withBorder p="md" radius="md" component="section" aria-labelledby="cs-about">
        <Title order={2} size="h4" id="cs-about" mb="sm">
          About
        </Title>
        <SimpleGrid cols={{ base: 1, xs: 2, md: 3 }} spacing="sm" component="dl" m={0}>
          <Fact label="Why">
            {TRIGGER_LABELS[set.trigger] ?? set.trigger}
            {set.trigger === 'policy' && set.triggerRefs.version
              ? ` (version ${String(set.triggerRefs.version)})`
              : ''}
          </Fact>
          <Fact label="Requested">
            <ByLine at={set.createdAt} by={set.createdBy} />
          </Fact>
          <Fact label="People · operations">
            {formatNumber(set.peopleCount)} · {formatNumber(set.opCount)}
          </Fact>
          {set.decidedAt ? (
            <Fact label={set.status === 'rejected' ? 'Rejected' : 'Approved'}>
              <ByLine at={set.decidedAt} by={set.decidedBy} />
              {set.decisionNote ? (
                <Text size="sm" c="dimmed">
                  “{set.decisionNote}”
                </Text>
              ) : null}
            </Fact>
          ) : null}
          {set.startedAt ? (
            <Fact label="Applying started">
              <ByLine at={set.startedAt} by={null} />
            </Fact>
          ) : null}
          {set.finishedAt ? (
            <Fact label="Finished">
              <ByLine at={set.finishedAt} by={null} />
            </Fact>
          ) : null}
          <Fact label="Policy version">{set.policyVersion}</Fact>
          {set.undoOf ? (
            <Fact label="Undoes">
              <Anchor component={Link} to={changeSetPath(set.undoOf)} size="sm">
                {undoOfSeq ? `Change set #${undoOfSeq}` : 'The change set it undoes'}
              </Anchor>
            </Fact>
          ) : null}
          {set.undoneBy ? (
            <Fact label="Undone by">
              <Anchor component={Link} to={changeSetPath(set.undoneBy)} size="sm">
                {set.undoneBySeq ? `Change set #${set.undoneBySeq}` : 'The change set that undoes it'}
              </Anchor>
            </Fact>
          ) : null}
        </SimpleGrid>
      </Paper>

      <Paper withBorder p="md" radius="md" component="section" aria-labelledby="cs-changes">
        <Group justify="space-between" align="center" mb="sm" wrap="wrap">
          <Title order={2} size="h4" id="cs-changes">
            What it does
          </Title>
          {set.counts.failed > 0 ? (
            <Switch
              label="Only failed operations"
              checked={onlyFailed}
              onChange={(e) => setOnlyFailed(e.currentTarget.checked)}
            />
          ) : null}
        </Group>
        {set.ops.length === 0 ? (
          <Text size="sm" c="dimmed">
            No operations: nothing to change on any system.
          </Text>
        ) : (
          <Preview
            ops={onlyFailed ? set.ops.filter((o) => o.status === 'failed') : set.ops}
            privileged={privileged}
          />
        )}
      </Paper>

      <ApproveDialog
        set={set}
        opened={acting === 'approve'}
        onClose={() => setActing(null)}
        onDone={() => {
          setActing(null);
          notifySuccess(`Change set #${set.seq} is approved and being applied.`, 'Approved');
          changeSetsChanged();
          reload();
        }}
      />
      <RejectDialog
        set={set}
        opened={acting === 'reject'}
        onClose={() => setActing(null)}
        onDone={() => {
          setActing(null);
          notifySuccess(`Change set #${set.seq} is rejected; nothing was changed.`, 'Rejected');
          changeSetsChanged();
          reload();
        }}
      />
      <RetryDialog
        set={set}
        opened={acting === 'retry'}
        onClose={() => setActing(null)}
        onDone={() => {
          setActing(null);
          notifySuccess(`The failed operations of #${set.seq} are being tried again.`);
          reload();
        }}
      />
      <UndoDialog set={set} opened={acting === 'undo'} onClose={() => setActing(null)} />
    </Page>
  );
}

function ReasonList({ set }: { set: ChangeSetDetail }) {
  if (!set.approvalReasons.length) return null;
  return (
    <List size="sm" spacing={4}>
      {set.approvalReasons.map((r, i) => (
        <List.Item key={i}>
          <Text span fw={600} size="sm">
            {REASON_LABELS[r.kind] ?? r.kind}
            {r.rule ? ` (“${r.rule}”)` : ''}:
          </Text>{' '}
          {r.message}
        </List.Item>
      ))}
    </List>
  );
}

function PersonRef({ id, name }: { id: string; name: string | undefined }) {
  return (
    <Anchor component={Link} to={`/people/${encodeURIComponent(id)}`} size="sm">
      {name ?? 'This person'}
    </Anchor>
  );
}

/** Where the change set stands, in one sentence; a progress bar while it is being applied. */
function StatusPanel({ set }: { set: ChangeSetDetail }) {
  const c = set.counts;
  const finished = c.done + c.failed + c.skipped;
  const noops = set.ops.filter((o) => o.noop).length;
  if (set.status === 'approved' || set.status === 'applying') {
    const pct = set.opCount ? Math.round((finished / set.opCount) * 100) : 0;
    return (
      <Paper withBorder p="md" radius="md" role="status" aria-live="polite" data-testid="apply-progress">
        <Stack gap={6}>
          <Text size="sm" fw={500}>
            {set.status === 'approved'
              ? 'Approved — Gatehouse starts applying it in a moment…'
              : `Applying: ${progressText(set)}…`}
          </Text>
          <Progress
            value={Math.max(pct, 3)}
            animated
            striped
            color={c.failed ? 'orange' : 'blue'}
            aria-label={`${pct}% of the operations finished`}
          />
          <Text size="xs" c="dimmed">
            This page follows along by itself. You can leave it: the changes carry on without you.
          </Text>
        </Stack>
      </Paper>
    );
  }
  const s = CHANGE_SET_STATUS[set.status];
  if (set.status === 'applied')
    return (
      <Alert
        color="teal"
        variant="light"
        icon={<IconCircleCheck aria-hidden />}
        title="Applied"
        role="status"
      >
        {set.opCount === 1 ? 'The operation is done' : `All ${formatNumber(set.opCount)} operations are done`}
        {noops ? ` (${formatNumber(noops)} already in place, so nothing needed changing there)` : ''}.
      </Alert>
    );
  if (set.status === 'failed')
    return (
      <Alert
        color="red"
        variant="light"
        icon={<IconAlertTriangle aria-hidden />}
        title="Some changes failed"
        role="alert"
      >
        {progressText(set)}. The errors are shown on each operation below. Fix the cause (for example the
        target&apos;s connection or permissions), then retry the failed operations.
      </Alert>
    );
  if (set.status === 'awaiting_approval')
    return (
      <Alert
        color="orange"
        variant="light"
        icon={<IconHourglass aria-hidden />}
        title="Waiting for approval"
        data-testid="approval-reasons"
      >
        <Stack gap="xs">
          <Text size="sm">
            {s.hint} Review the changes below; someone with the right to approve can approve or reject it.
          </Text>
          <ReasonList set={set} />
        </Stack>
      </Alert>
    );
  return (
    <Alert color={s.color} variant="light" icon={<IconInfoCircle aria-hidden />} title={s.label}>
      {s.hint}
      {set.status === 'rejected' && set.decisionNote ? ` Reason: “${set.decisionNote}”.` : ''}
    </Alert>
  );
}

interface PersonGroup {
  key: string;
  personId: string | null;
  name: string;
  targets: { target: string; account: string | null; ops: OpView[] }[];
}

function groupOps(ops: OpView[]): PersonGroup[] {
  const people = new Map<string, PersonGroup>();
  for (const op of ops) {
    const key = op.personId ?? '';
    let p = people.get(key);
    if (!p) {
      p = { key, personId: op.personId, name: op.personName ?? 'Without a person', targets: [] };
      people.set(key, p);
    }
    let t = p.targets.find((x) => x.target === op.target);
    if (!t) {
      t = { target: op.target, account: op.accountName, ops: [] };
      p.targets.push(t);
    }
    t.account ??= op.accountName;
    t.ops.push(op);
  }
  return [...people.values()];
}

/** The operations, per person and then per target, in the order they run. */
function Preview({ ops, privileged }: { ops: OpView[]; privileged: ReadonlySet<string> }) {
  const [all, setAll] = useState(false);
  const groups = useMemo(() => groupOps(ops), [ops]);
  const shown = all ? groups : groups.slice(0, PEOPLE_SHOWN);
  return (
    <Stack gap="md">
      {shown.map((g) => (
        <Paper
          key={g.key}
          withBorder
          radius="md"
          p="sm"
          component="section"
          aria-labelledby={`cs-person-${g.key || 'none'}`}
          data-person={g.personId ?? ''}
        >
          <Group justify="space-between" mb={6} wrap="wrap">
            <Title order={3} size="h5" id={`cs-person-${g.key || 'none'}`}>
              {g.name}
            </Title>
            {g.personId ? (
              <Anchor component={Link} to={`/people/${encodeURIComponent(g.personId)}`} size="xs">
                Open {g.name}&apos;s page
              </Anchor>
            ) : null}
          </Group>
          <Stack gap="sm">
            {g.targets.map((t) => (
              <div key={t.target}>
                <Title order={4} size="h6" mb={4}>
                  {t.target}
                  {t.account ? (
                    <Text span size="sm" c="dimmed" fw={400}>
                      {' '}
                      · account <span className="mono-inline">{t.account}</span>
                    </Text>
                  ) : null}
                </Title>
                <ol className="op-list" aria-label={`${g.name} on ${t.target}`}>
                  {t.ops.map((op) => (
                    <OpItem key={op.id} op={op} privileged={privileged} />
                  ))}
                </ol>
              </div>
            ))}
          </Stack>
        </Paper>
      ))}
      {groups.length > shown.length ? (
        <div>
          <Button variant="default" onClick={() => setAll(true)}>
            Show all {formatNumber(groups.length)} people
          </Button>
        </div>
      ) : null}
    </Stack>
  );
}

const ACCOUNT_REF = '\u001faccount:';

function showValue(v: AttributeValue | undefined): string {
  if (typeof v === 'string' && v.startsWith(ACCOUNT_REF)) return "(the manager's new account)";
  return formatValue(v);
}

function OpItem({ op, privileged }: { op: OpView; privileged: ReadonlySet<string> }) {
  const p = op.payload;
  const grantsPrivileged = p.kind === 'add_member' && privileged.has(p.entitlementId);
  return (
    <li className="op-item" data-op-seq={op.seq} data-op-status={op.status}>
      <Group gap="xs" wrap="wrap">
        <OpStatusBadge status={op.status} />
        <Text size="sm" fw={500}>
          {op.summary}
        </Text>
        {grantsPrivileged ? <PrivilegedBadge /> : null}
        {op.noop ? (
          <Badge color="gray" variant="outline" size="sm">
            No change needed
          </Badge>
        ) : null}
      </Group>
      {p.kind === 'update_account' ? (
        <Table
          fz="xs"
          mt={4}
          withTableBorder
          aria-label={`Attribute changes: ${op.summary}`}
          className="op-changes"
        >
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Attribute</Table.Th>
              <Table.Th scope="col">Before</Table.Th>
              <Table.Th scope="col">After</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {p.changes.map((c) => (
              <Table.Tr key={c.attribute}>
                <Table.Th scope="row" fw={500}>
                  {c.attribute}
                </Table.Th>
                <Table.Td className="mono">{showValue(c.from)}</Table.Td>
                <Table.Td className="mono">→ {showValue(c.to)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
      {p.kind === 'rename_account' ? (
        <Text size="xs" c="dimmed">
          {p.attribute}: <span className="mono-inline">{p.from}</span> →{' '}
          <span className="mono-inline">{p.to}</span>
        </Text>
      ) : null}
      {p.kind === 'create_account' ? (
        <Text size="xs" c="dimmed">
          {Object.entries(p.attributes)
            .map(([k, v]) => `${k}: ${showValue(v)}`)
            .join(' · ')}
          {p.enabled ? '' : ' · starts disabled'}
          {p.password === 'generate'
            ? ` · a random initial password${p.mustChange ? ' the person must change' : ''}`
            : ' · no password'}
        </Text>
      ) : null}
      {p.kind === 'add_member' || p.kind === 'remove_member' ? (
        <Text size="xs" c="dimmed">
          Group <span className="mono-inline">{p.groupName}</span>
        </Text>
      ) : null}
      {p.kind === 'disable_account' && p.quarantineDays !== null ? (
        <Text size="xs" c="dimmed">
          Quarantine of {p.quarantineDays} days
        </Text>
      ) : null}
      {op.error ? (
        <Text size="sm" c="red" role="note" data-testid="op-error">
          {op.error.message} <Code>{op.error.code}</Code>
          {op.error.retryable ? ' — may work if retried' : ''}
          {op.attempts > 1 ? ` (after ${op.attempts} attempts)` : ''}
        </Text>
      ) : null}
      {op.irreversibleReason ? (
        <Text size="xs" c="orange.8" data-testid="irreversible">
          Cannot be fully undone: {op.irreversibleReason}
        </Text>
      ) : null}
    </li>
  );
}

function actionError(e: unknown): string {
  if (e instanceof ApiError && e.code === 'changeset_self_approval')
    return 'You asked for this change set, so someone else must approve it.';
  if (e instanceof ApiError && e.code === 'changeset_wrong_state')
    return `${e.detail}. Someone may have acted on it just now; close this and look again.`;
  return describe(e);
}

interface DialogProps {
  set: ChangeSetDetail;
  opened: boolean;
  onClose: () => void;
  onDone: () => void;
}

function ApproveDialog({ set, opened, onClose, onDone }: DialogProps) {
  const [note, setNote] = useState('');
  return (
    <ConfirmDialog
      explain={actionError}
      title={`Approve change set #${set.seq}?`}
      opened={opened}
      onClose={onClose}
      action="Approve and apply"
      reset={() => setNote('')}
      submit={async () => {
        await api.post(`/api/v1/change-sets/${set.id}/approve`, { note: note.trim() });
        onDone();
      }}
    >
      <Text size="sm">
        Gatehouse makes its {formatNumber(set.opCount)} operations for {formatNumber(set.peopleCount)}{' '}
        {set.peopleCount === 1 ? 'person' : 'people'} straight away.
      </Text>
      {set.approvalReasons.length ? (
        <List size="sm" spacing={2}>
          {set.approvalReasons.map((r, i) => (
            <List.Item key={i}>{r.message}</List.Item>
          ))}
        </List>
      ) : null}
      <Textarea
        label="Note (optional)"
        description="Why this is fine, for whoever reads the audit trail later."
        autosize
        minRows={2}
        maxLength={2000}
        data-autofocus
        value={note}
        onChange={(e) => setNote(e.currentTarget.value)}
      />
    </ConfirmDialog>
  );
}

function RejectDialog({ set, opened, onClose, onDone }: DialogProps) {
  const [note, setNote] = useState('');
  const [noteError, setNoteError] = useState<string | null>(null);
  return (
    <ConfirmDialog
      explain={actionError}
      title={`Reject change set #${set.seq}?`}
      opened={opened}
      onClose={onClose}
      action="Reject change set"
      color="red"
      reset={() => {
        setNote('');
        setNoteError(null);
      }}
      submit={async () => {
        if (!note.trim()) {
          setNoteError('Say why, so that whoever asked for it knows what to change');
          return false;
        }
        await api.post(`/api/v1/change-sets/${set.id}/reject`, { note: note.trim() });
        onDone();
      }}
    >
      <Text size="sm">
        Nothing in it is changed. If the cause stays (an HR record, the policy), Gatehouse plans the same
        change again the next time this person is recomputed.
      </Text>
      <Textarea
        label="Reason"
        required
        autosize
        minRows={2}
        maxLength={2000}
        data-autofocus
        value={note}
        onChange={(e) => {
          setNote(e.currentTarget.value);
          setNoteError(null);
        }}
        error={noteError}
      />
    </ConfirmDialog>
  );
}

function RetryDialog({ set, opened, onClose, onDone }: DialogProps) {
  return (
    <ConfirmDialog
      explain={actionError}
      title={`Retry change set #${set.seq}?`}
      opened={opened}
      onClose={onClose}
      action="Retry failed operations"
      submit={async () => {
        await api.post(`/api/v1/change-sets/${set.id}/retry`);
        onDone();
      }}
    >
      <Text size="sm">
        Gatehouse tries the {formatNumber(set.counts.failed)} failed
        {set.counts.skipped ? ` and ${formatNumber(set.counts.skipped)} not attempted` : ''} operations again.
        Operations that are already done are not repeated.
      </Text>
    </ConfirmDialog>
  );
}

function UndoDialog({ set, opened, onClose }: Omit<DialogProps, 'onDone'>) {
  const navigate = useNavigate();
  const done = set.ops.filter((o) => o.status === 'done' && !o.noop);
  const lossy = done.filter((o) => o.irreversibleReason);
  const passwords = done.some(
    (o) => o.payload.kind === 'create_account' && o.payload.password === 'generate',
  );
  return (
    <ConfirmDialog
      explain={actionError}
      title={`Undo change set #${set.seq}?`}
      opened={opened}
      onClose={onClose}
      action="Undo changes"
      color="orange"
      submit={async () => {
        const r = await api.post<{ changeSet: RecordedChangeSet | null }>(
          `/api/v1/change-sets/${set.id}/undo`,
          {
            hold: false,
          },
        );
        onClose();
        changeSetsChanged();
        if (r.changeSet) {
          notifySuccess(
            `Change set #${r.changeSet.seq} undoes #${set.seq}.`,
            r.changeSet.status === 'awaiting_approval' ? 'Undo waits for approval' : 'Undoing',
          );
          navigate(changeSetPath(r.changeSet.id));
        }
      }}
    >
      <Text size="sm">
        Gatehouse plans the reverse of the {formatNumber(done.length)}{' '}
        {done.length === 1 ? 'change that was' : 'changes that were'} made, last first, as a new change set,
        and applies it (unless it needs approval, like any other change set).
      </Text>
      {lossy.length || passwords ? (
        <Alert
          color="orange"
          variant="light"
          icon={<IconAlertTriangle aria-hidden />}
          title="What cannot be undone"
        >
          <List size="sm" spacing={2}>
            {lossy.map((o) => (
              <List.Item key={o.id}>
                {o.personName ?? 'Someone'}, {o.target}: {o.irreversibleReason}
              </List.Item>
            ))}
            {passwords ? <List.Item>Passwords set by this change set cannot be restored.</List.Item> : null}
          </List>
        </Alert>
      ) : null}
    </ConfirmDialog>
  );
}
