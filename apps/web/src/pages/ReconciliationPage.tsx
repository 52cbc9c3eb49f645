import { useEffect, useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Group,
  Loader,
  Paper,
  Radio,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import {
  IconAlertTriangle,
  IconCalendarClock,
  IconDownload,
  IconHourglass,
  IconPlugConnected,
  IconRadar,
} from '@tabler/icons-react';
import { api, ApiError, describe, request, withQuery } from '../api';
import {
  Empty,
  ErrorState,
  LoadingRows,
  NoAccess,
  notifyError,
  notifySuccess,
  Page,
  useApiData,
  When,
  FormError,
} from '../components/ui';
import { AppModal, ConfirmDialog } from '../components/modal';
import { formatInZone } from '../components/people';
import { formatDuration } from '../components/provisioning';
import {
  MODE_LABELS,
  RunStatusBadge,
  SEVERITIES,
  SEVERITY,
  describeCron,
  findingsPath,
  formatMoney,
  runDuration,
  sentence,
  useReconAccess,
  type ReconMode,
  type RunView,
  type ScheduleView,
  type TargetReconView,
} from '../components/reconcile';
import { formatDateTime, formatNumber, formatRelative } from '../format';

const POLL_MS = 1000;
const HISTORY_SIZE = 10;
/** After this long without the asked-for run starting, say that a worker has to pick it up. */
const SLOW_START_MS = 20_000;

export default function ReconciliationPage() {
  const access = useReconAccess();
  if (!access.read)
    return (
      <Page title="Reconciliation">
        <NoAccess what="reconciliation" />
      </Page>
    );
  return <Reconciliation />;
}

/** A run asked for with "Reconcile now" that has not shown up yet: the last run's number when it was asked. */
interface Asked {
  after: number;
  at: number;
}

function Reconciliation() {
  const status = useApiData(
    (signal) => api.get<{ items: TargetReconView[] }>('/api/v1/reconciliation', undefined, signal),
    'reconciliation',
  );
  const schedules = useApiData(
    (signal) => api.get<{ items: ScheduleView[] }>('/api/v1/reconciliation/schedules', undefined, signal),
    'reconciliation-schedules',
  );
  const [asked, setAsked] = useState<Record<string, Asked>>({});
  const items = status.data?.items;

  // A run asked for counts as started once a newer run than the last one appears.
  useEffect(() => {
    if (!items) return;
    setAsked((a) => {
      const left = Object.fromEntries(
        Object.entries(a).filter(([t, x]) => {
          const s = items.find((i) => i.target === t);
          return s && (s.lastRun?.seq ?? 0) <= x.after;
        }),
      );
      return Object.keys(left).length === Object.keys(a).length ? a : left;
    });
  }, [items]);

  // While a run is running (or about to start), ask again every second.
  const busy =
    !!items && (items.some((i) => i.lastRun?.status === 'running') || Object.keys(asked).length > 0);
  useEffect(() => {
    if (!busy || status.loading) return;
    const t = window.setTimeout(status.reload, POLL_MS);
    return () => window.clearTimeout(t);
  }, [busy, status.data, status.loading, status.reload]);

  const start = async (t: TargetReconView) => {
    setAsked((a) => ({ ...a, [t.target]: { after: t.lastRun?.seq ?? 0, at: Date.now() } }));
    try {
      await api.post(`/api/v1/targets/${encodeURIComponent(t.target)}/reconcile`, {
        force: false,
        wait: false,
      });
      status.reload();
    } catch (e) {
      setAsked(({ [t.target]: _, ...rest }) => rest);
      notifyError(e, `Could not start reconciling ${t.target}`);
    }
  };

  return (
    <Page
      title="Reconciliation"
      description="Reconciliation reads every account on a connected system, finds whom each belongs to, and compares what is there with what the policy says. A run never changes the target: whatever does not match becomes a finding, fixed through a change set someone approves."
      actions={items?.length ? <AccessReportLinks label="Who has what" /> : undefined}
    >
      {status.error && !items ? (
        <ErrorState error={status.error} what="reconciliation" onRetry={status.reload} />
      ) : !items ? (
        <LoadingRows label="Loading reconciliation…" rows={4} />
      ) : items.length === 0 ? (
        <Empty
          title="No targets yet"
          icon={<IconPlugConnected aria-hidden />}
          description={
            <>
              Reconciliation needs a connected system to read accounts from. Add one on the{' '}
              <Anchor component={Link} to="/targets">
                Targets page
              </Anchor>
              , then come back to reconcile it.
            </>
          }
        >
          <Button component={Link} to="/targets" leftSection={<IconPlugConnected size={16} aria-hidden />}>
            Go to Targets
          </Button>
        </Empty>
      ) : (
        <Stack gap="lg">
          {items.map((t) => (
            <TargetSection
              key={t.target}
              status={t}
              asked={asked[t.target] ?? null}
              onStart={() => void start(t)}
              schedule={
                schedules.data ? (schedules.data.items.find((x) => x.target === t.target) ?? null) : undefined
              }
              scheduleError={schedules.error}
              onScheduleChanged={schedules.reload}
            />
          ))}
        </Stack>
      )}
    </Page>
  );
}

function AccessReportLinks({ label, target }: { label: string; target?: string }) {
  const q = target ? { target } : undefined;
  return (
    <Group gap="xs" role="group" aria-label={`${label}${target ? ` on ${target}` : ''}: download`}>
      <Button
        component="a"
        href={withQuery('/api/v1/reports/access.csv', q)}
        download
        variant="default"
        size="sm"
        leftSection={<IconDownload size={16} aria-hidden />}
      >
        {label} (CSV)
      </Button>
      <Button
        component="a"
        href={withQuery('/api/v1/reports/access.xlsx', q)}
        download
        variant="default"
        size="sm"
        leftSection={<IconDownload size={16} aria-hidden />}
      >
        {label} (XLSX)
      </Button>
    </Group>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed" component="dt">
        {label}
      </Text>
      <Text size="sm" component="dd" m={0} fw={500}>
        {children}
      </Text>
    </div>
  );
}

function TargetSection({
  status: t,
  asked,
  onStart,
  schedule,
  scheduleError,
  onScheduleChanged,
}: {
  status: TargetReconView;
  asked: Asked | null;
  onStart: () => void;
  /** undefined while the schedules load; null: not scheduled. */
  schedule: ScheduleView | null | undefined;
  scheduleError: unknown;
  onScheduleChanged: () => void;
}) {
  const access = useReconAccess();
  const run = t.lastRun;
  const running = run?.status === 'running';
  const headingId = `recon-${t.target}`;
  const openTotal = SEVERITIES.reduce((n, s) => n + (t.open[s] ?? 0), 0);
  // The run history follows the last run (a new one, or the running one finishing).
  const historyKey = `${t.target} ${run?.id ?? ''} ${run?.status ?? ''}`;

  return (
    <Paper
      withBorder
      radius="md"
      p="md"
      component="section"
      aria-labelledby={headingId}
      data-target={t.target}
    >
      <Stack gap="md">
        <Group justify="space-between" align="flex-start" wrap="wrap" gap="sm">
          <div>
            <Group gap="sm" wrap="wrap">
              <Title order={2} size="h4" id={headingId}>
                {t.target}
              </Title>
              {run ? (
                <RunStatusBadge status={run.status} />
              ) : (
                <Badge color="gray" variant="light">
                  Never reconciled
                </Badge>
              )}
            </Group>
            <Text size="xs" c="dimmed" data-testid="last-run">
              {t.connector} ·{' '}
              {run ? (
                <>
                  last run #{run.seq}{' '}
                  {run.finishedAt ? (
                    <>
                      finished <When at={run.finishedAt} show={formatRelative} />
                    </>
                  ) : (
                    <>
                      started <When at={run.startedAt} show={formatRelative} />
                    </>
                  )}{' '}
                  by {run.startedBy}
                </>
              ) : (
                'not reconciled yet'
              )}
            </Text>
          </div>
          <Group gap="xs" wrap="wrap">
            <AccessReportLinks label="Who has what" target={t.target} />
            {access.write ? (
              <Button
                leftSection={<IconRadar size={16} aria-hidden />}
                onClick={onStart}
                loading={!!asked}
                disabled={running}
              >
                Reconcile now<VisuallyHidden> {t.target}</VisuallyHidden>
              </Button>
            ) : null}
          </Group>
        </Group>

        <RunState run={run} asked={asked} />

        <SimpleGrid cols={{ base: 2, sm: 4 }} spacing="md" component="dl" m={0}>
          <Fact label="Accounts seen">
            <span data-testid="accounts-seen">{formatNumber(t.accounts)}</span>
          </Fact>
          <Fact label="Without owner">
            <span data-testid="without-owner">{formatNumber(t.unmatched)}</span>
          </Fact>
          <Fact label="Estimated monthly savings">
            {t.monthlySavings > 0 ? formatMoney(t.monthlySavings) : '—'}
          </Fact>
          <Fact label="Last completed run">
            {t.lastCompleted ? <When at={t.lastCompleted} show={formatDateTime} /> : 'None yet'}
          </Fact>
        </SimpleGrid>

        <ScheduleBlock
          target={t.target}
          schedule={schedule}
          error={scheduleError}
          canWrite={access.write}
          onChanged={onScheduleChanged}
        />

        <div>
          <Text size="xs" c="dimmed" mb={4}>
            Open findings
          </Text>
          {openTotal === 0 ? (
            <Text size="sm" data-testid="open-findings">
              {t.lastCompleted ? 'None — every account matches the policy.' : 'None yet.'}
            </Text>
          ) : (
            <Group gap="xs" data-testid="open-findings">
              {SEVERITIES.filter((s) => t.open[s] > 0).map((s) => (
                <Badge
                  key={s}
                  component={Link}
                  to={findingsPath({ target: t.target, severity: s })}
                  color={SEVERITY[s].color}
                  variant="light"
                  size="lg"
                  style={{ cursor: 'pointer', textTransform: 'none' }}
                  data-severity={s}
                  aria-label={`${formatNumber(t.open[s])} open ${t.open[s] === 1 ? 'finding' : 'findings'} of ${SEVERITY[s].label.toLowerCase()} severity`}
                >
                  {formatNumber(t.open[s])} {SEVERITY[s].label.toLowerCase()}
                </Badge>
              ))}
              <Anchor component={Link} to={findingsPath({ target: t.target })} size="sm">
                All open findings on {t.target}
              </Anchor>
            </Group>
          )}
        </div>

        <RunHistory target={t.target} reloadKey={historyKey} />
      </Stack>
    </Paper>
  );
}

/** What the last run is doing or why it stopped; nothing to say when it completed. */
function RunState({ run, asked }: { run: RunView | null; asked: Asked | null }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!asked) return;
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [asked]);

  if (asked)
    return (
      <Alert
        color="blue"
        variant="light"
        icon={<IconHourglass aria-hidden />}
        role="status"
        data-testid="run-state"
      >
        {now - asked.at > SLOW_START_MS
          ? 'Waiting for a worker to start the run. Workers run inside “gatehouse serve” and “gatehouse worker”: if none is running, the run starts when one is.'
          : 'Starting the run…'}
      </Alert>
    );
  if (!run) return null;
  if (run.status === 'running')
    return (
      <Alert color="blue" variant="light" icon={<Loader size={16} />} role="status" data-testid="run-state">
        Reading… {formatNumber(run.counts.read ?? 0)} accounts
      </Alert>
    );
  if (run.status === 'aborted' || run.status === 'failed')
    return (
      <Alert
        color={run.status === 'failed' ? 'red' : 'orange'}
        variant="light"
        icon={<IconAlertTriangle aria-hidden />}
        title={
          run.status === 'failed'
            ? `Run #${run.seq} failed`
            : `Run #${run.seq} was stopped before it changed anything`
        }
        role="alert"
        data-testid="run-state"
      >
        {run.reason ? sentence(run.reason) : 'No reason was recorded.'}
      </Alert>
    );
  return null;
}

const count = (n: number | undefined) => (typeof n === 'number' ? formatNumber(n) : '—');

function RunHistory({ target, reloadKey }: { target: string; reloadKey: string }) {
  const runs = useApiData(
    (signal) =>
      api.get<{ items: RunView[] }>('/api/v1/reconciliation/runs', { target, limit: HISTORY_SIZE }, signal),
    reloadKey,
  );
  const items = runs.data?.items ?? [];
  return (
    <div>
      <Title order={3} size="h6" mb={4}>
        Run history
      </Title>
      {runs.error ? (
        <ErrorState error={runs.error} what="the run history" onRetry={runs.reload} />
      ) : !runs.data ? (
        <LoadingRows label="Loading the run history…" rows={2} />
      ) : items.length === 0 ? (
        <Text size="sm" c="dimmed">
          No runs yet.
        </Text>
      ) : (
        <Table.ScrollContainer minWidth={900}>
          <Table aria-label={`Runs of ${target}`} fz="sm" withTableBorder>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Run</Table.Th>
                <Table.Th scope="col">Started</Table.Th>
                <Table.Th scope="col">Status</Table.Th>
                <Table.Th scope="col">Read</Table.Th>
                <Table.Th scope="col">New</Table.Th>
                <Table.Th scope="col">Changed</Table.Th>
                <Table.Th scope="col">Gone</Table.Th>
                <Table.Th scope="col">Without owner</Table.Th>
                <Table.Th scope="col">Findings opened</Table.Th>
                <Table.Th scope="col">Findings closed</Table.Th>
                <Table.Th scope="col">Duration</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((r) => (
                <Table.Tr key={r.id} data-run={r.seq}>
                  <Table.Td className="mono">#{r.seq}</Table.Td>
                  <Table.Td>
                    <When at={r.startedAt} show={formatDateTime} />
                    <Text size="xs" c="dimmed">
                      {r.trigger === 'schedule' ? 'Scheduled' : `by ${r.startedBy}`}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <RunStatusBadge status={r.status} />
                    {r.reason && r.status !== 'completed' ? (
                      <Text size="xs" c="dimmed" maw={320} mt={4}>
                        {sentence(r.reason)}
                      </Text>
                    ) : null}
                  </Table.Td>
                  <Table.Td data-count="read">{count(r.counts.read)}</Table.Td>
                  <Table.Td data-count="new">{count(r.counts.new)}</Table.Td>
                  <Table.Td data-count="changed">{count(r.counts.changed)}</Table.Td>
                  <Table.Td data-count="gone">{count(r.counts.gone)}</Table.Td>
                  <Table.Td data-count="unmatched">{count(r.counts.unmatched)}</Table.Td>
                  <Table.Td data-count="opened">
                    {r.status === 'running' ? '—' : formatNumber(r.findingsOpened)}
                  </Table.Td>
                  <Table.Td data-count="closed">
                    {r.status === 'running' ? '—' : formatNumber(r.findingsClosed)}
                  </Table.Td>
                  <Table.Td>{r.status === 'running' ? 'Running' : formatDuration(runDuration(r))}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </div>
  );
}

// ── Schedule ─────────────────────────────────────────────────────────────────────────────────────────────────────

/** Ready-made schedules for the form (cron, in words). */
const EXAMPLES: { cron: string; label: string }[] = [
  { cron: '0 2 * * *', label: 'Every night at 02:00' },
  { cron: '0 6 * * 1-5', label: 'Weekdays at 06:00' },
  { cron: '0 */4 * * *', label: 'Every 4 hours' },
  { cron: '0 * * * *', label: 'Every hour' },
];

function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

function knownZones(): string[] {
  try {
    return ['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')];
  } catch {
    return ['UTC'];
  }
}

/** "Every day at 02:00 (Europe/Berlin)", or the cron expression when it has no words here. */
function scheduleInWords(s: Pick<ScheduleView, 'cron' | 'timeZone'>): string {
  const words = describeCron(s.cron);
  return `${words ?? `On the schedule “${s.cron}”`} (${s.timeZone})`;
}

function ScheduleBlock({
  target,
  schedule,
  error,
  canWrite,
  onChanged,
}: {
  target: string;
  schedule: ScheduleView | null | undefined;
  error: unknown;
  canWrite: boolean;
  onChanged: () => void;
}) {
  const [editing, setEditing] = useState(false);
  const [removing, setRemoving] = useState(false);
  return (
    <div data-testid="schedule">
      <Group justify="space-between" align="flex-start" wrap="wrap" gap="xs">
        <div>
          <Text size="xs" c="dimmed" mb={4}>
            Schedule
          </Text>
          {error && schedule === undefined ? (
            <Text size="sm" c="red.8" role="alert">
              Could not load the schedule: {describe(error)}
            </Text>
          ) : schedule === undefined ? (
            <Text size="sm" c="dimmed">
              Loading…
            </Text>
          ) : schedule === null ? (
            <Text size="sm" data-testid="schedule-summary">
              Not scheduled: {target} is reconciled only when someone starts a run.
            </Text>
          ) : (
            <Stack gap={2}>
              <Text size="sm" fw={500} data-testid="schedule-summary">
                {scheduleInWords(schedule)} · {MODE_LABELS[schedule.mode] ?? schedule.mode}
              </Text>
              <Text size="xs" c="dimmed">
                Cron <span className="mono">{schedule.cron}</span>
              </Text>
              {schedule.next.length ? (
                <Text size="xs" c="dimmed" data-testid="schedule-next">
                  Next runs:{' '}
                  {schedule.next.map((iso, i) => (
                    <span key={iso}>
                      {i ? ', ' : ''}
                      <time dateTime={iso} title={formatDateTime(iso)}>
                        {formatInZone(iso, schedule.timeZone) ?? formatDateTime(iso)}
                      </time>
                    </span>
                  ))}
                </Text>
              ) : null}
            </Stack>
          )}
        </div>
        {canWrite && schedule !== undefined ? (
          <Group gap="xs">
            <Button
              size="xs"
              variant="default"
              leftSection={<IconCalendarClock size={14} aria-hidden />}
              onClick={() => setEditing(true)}
            >
              {schedule ? 'Edit schedule' : 'Set a schedule'}
              <VisuallyHidden> of {target}</VisuallyHidden>
            </Button>
            {schedule ? (
              <Button size="xs" variant="subtle" color="red" onClick={() => setRemoving(true)}>
                Remove schedule<VisuallyHidden> of {target}</VisuallyHidden>
              </Button>
            ) : null}
          </Group>
        ) : null}
      </Group>
      <ScheduleDialog
        target={target}
        schedule={schedule ?? null}
        opened={editing}
        onClose={() => setEditing(false)}
        onDone={(s) => {
          setEditing(false);
          notifySuccess(`${scheduleInWords(s)}.`, `${target} is reconciled on a schedule`);
          onChanged();
        }}
      />
      <ConfirmDialog
        title={`Stop reconciling ${target} on a schedule?`}
        opened={removing}
        onClose={() => setRemoving(false)}
        action="Remove schedule"
        color="red"
        submit={async () => {
          await api.del(`/api/v1/targets/${encodeURIComponent(target)}/reconcile-schedule`);
          setRemoving(false);
          notifySuccess(`Runs start only when someone starts them.`, `${target} is no longer scheduled`);
          onChanged();
        }}
      >
        <Text size="sm">
          No more runs start by themselves; a run already going finishes. Findings stay as the last run left
          them until someone presses “Reconcile now” or sets a schedule again. The change is recorded in the
          audit trail.
        </Text>
      </ConfirmDialog>
    </div>
  );
}

type ScheduleField = 'cron' | 'timeZone' | 'mode';

function ScheduleDialog({
  target,
  schedule,
  opened,
  onClose,
  onDone,
}: {
  target: string;
  schedule: ScheduleView | null;
  opened: boolean;
  onClose: () => void;
  onDone: (s: ScheduleView) => void;
}) {
  const [cron, setCron] = useState('');
  const [timeZone, setTimeZone] = useState('');
  const [mode, setMode] = useState<ReconMode>('full');
  const [errors, setErrors] = useState<Partial<Record<ScheduleField, string>>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [zones] = useState(knownZones);
  const listId = `time-zones-${target}`;
  useEffect(() => {
    if (!opened) return;
    setCron(schedule?.cron ?? EXAMPLES[0]!.cron);
    setTimeZone(schedule?.timeZone ?? browserZone());
    setMode(schedule?.mode ?? 'full');
    setErrors({});
    setError(null);
    // Only when the dialog opens.
  }, [opened]);

  const words = describeCron(cron);
  const submit = async () => {
    const local: Partial<Record<ScheduleField, string>> = {};
    if (!cron.trim()) local.cron = 'Say when runs start, for example “0 2 * * *” for every night at 02:00.';
    if (!timeZone.trim())
      local.timeZone = 'Choose the time zone the schedule is in, for example Europe/Berlin.';
    setErrors(local);
    setError(null);
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      const s = await request<ScheduleView>(
        'PUT',
        `/api/v1/targets/${encodeURIComponent(target)}/reconcile-schedule`,
        { body: { cron: cron.trim(), timeZone: timeZone.trim(), mode } },
      );
      onDone(s);
    } catch (e) {
      const known: Partial<Record<ScheduleField, string>> = {};
      if (e instanceof ApiError)
        for (const f of ['cron', 'timeZone', 'mode'] as const)
          if (e.fieldErrors[f]) known[f] = sentence(e.fieldErrors[f]);
      setErrors(known);
      if (!Object.keys(known).length)
        setError(
          e instanceof ApiError && e.status === 404
            ? `The target ${target} no longer exists.`
            : e instanceof ApiError && e.status !== 403
              ? sentence(e.detail)
              : describe(e),
        );
    } finally {
      setBusy(false);
    }
  };

  return (
    <AppModal opened={opened} onClose={onClose} title={`Reconcile ${target} on a schedule`}>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <Stack gap="md">
          <FormError error={error} />
          <Text size="sm">
            A worker starts each run at the times below, as if someone pressed “Reconcile now”. A run never
            changes {target}: it only reads accounts and updates the findings.
          </Text>
          <div>
            <TextInput
              label="When (cron)"
              description="Minute, hour, day of month, month, day of week. At most every 15 minutes."
              required
              classNames={{ input: 'mono' }}
              data-autofocus
              value={cron}
              onChange={(e) => {
                setCron(e.currentTarget.value);
                setErrors((x) => ({ ...x, cron: undefined }));
              }}
              error={errors.cron}
            />
            <Text size="xs" c="dimmed" mt={4} aria-live="polite" data-testid="cron-words">
              {cron.trim() ? (words ? `${words}.` : 'Checked when you save.') : ''}
            </Text>
            <Group gap={6} mt={6} role="group" aria-label="Examples">
              {EXAMPLES.map((x) => (
                <Button
                  key={x.cron}
                  size="compact-xs"
                  variant={cron.trim() === x.cron ? 'light' : 'default'}
                  onClick={() => {
                    setCron(x.cron);
                    setErrors((e) => ({ ...e, cron: undefined }));
                  }}
                >
                  {x.label}
                </Button>
              ))}
            </Group>
          </div>
          <TextInput
            label="Time zone"
            description="The zone the times are in (an IANA name such as Europe/Berlin or UTC)."
            required
            list={listId}
            autoComplete="off"
            value={timeZone}
            onChange={(e) => {
              setTimeZone(e.currentTarget.value);
              setErrors((x) => ({ ...x, timeZone: undefined }));
            }}
            error={errors.timeZone}
          />
          <datalist id={listId}>
            {zones.map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
          <Radio.Group
            label="What each run reads"
            value={mode}
            onChange={(v) => {
              setMode(v as ReconMode);
              setErrors((x) => ({ ...x, mode: undefined }));
            }}
            error={errors.mode}
          >
            <Stack gap={8} mt={6}>
              <Radio
                value="full"
                label={MODE_LABELS.full}
                description="Every account, every time. Finds deleted accounts; the safe choice."
              />
              <Radio
                value="incremental"
                label={MODE_LABELS.incremental}
                description="Only what changed since the last completed run: quicker on large systems. Deleted accounts are noticed by the next full run."
              />
            </Stack>
          </Radio.Group>
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose} disabled={busy}>
              Back
            </Button>
            <Button type="submit" loading={busy}>
              Save schedule
            </Button>
          </Group>
        </Stack>
      </form>
    </AppModal>
  );
}
