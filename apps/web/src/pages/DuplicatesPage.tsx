import { useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import {
  Anchor,
  Badge,
  Button,
  Group,
  Paper,
  SegmentedControl,
  SimpleGrid,
  Stack,
  Text,
  VisuallyHidden,
} from '@mantine/core';
import { IconArrowLeft, IconCopyCheck } from '@tabler/icons-react';
import { api, describe } from '../api';
import { useListQuery } from '../listQuery';
import { useSession } from '../session';
import {
  Empty,
  ErrorState,
  LoadingRows,
  NoAccess,
  notifyError,
  notifySuccess,
  Page,
  useApiData,
  useUrlValue,
  FormError,
} from '../components/ui';
import { AppModal } from '../components/modal';
import {
  formatCalendarDate,
  StatusBadge,
  WORKER_TYPE_LABELS,
  type Duplicate,
  type PersonView,
} from '../components/people';
import { formatDateTime } from '../format';

const STATES = [
  { value: 'open', label: 'To review' },
  { value: 'merged', label: 'Merged' },
  { value: 'dismissed', label: 'Not the same' },
];

export default function DuplicatesPage() {
  const { can } = useSession();
  if (!can('people:read'))
    return (
      <Page title="Possible duplicates">
        <NoAccess what="people" />
      </Page>
    );
  return <Duplicates />;
}

function Duplicates() {
  const { can } = useSession();
  const canWrite = can('people:write');
  const { params, update } = useListQuery();
  const stateParam = params.get('state') ?? 'open';
  const state = STATES.some((s) => s.value === stateParam) ? stateParam : 'open';
  const [stateValue, setStateValue] = useUrlValue(state);
  const list = useApiData(
    (signal) => api.get<{ items: Duplicate[] }>('/api/v1/people/duplicates', { state }, signal),
    state,
  );
  const [merging, setMerging] = useState<{ pair: Duplicate; keep: PersonView; drop: PersonView } | null>(
    null,
  );
  const [busy, setBusy] = useState<string | null>(null);

  const dismiss = async (d: Duplicate) => {
    setBusy(d.id);
    try {
      await api.post(`/api/v1/people/duplicates/${encodeURIComponent(d.id)}/dismiss`);
      notifySuccess(`${d.a.displayName} and ${d.b.displayName} are kept as two different people.`);
      list.reload();
    } catch (e) {
      notifyError(e, 'Could not mark them as different people');
    } finally {
      setBusy(null);
    }
  };

  const items = list.data?.items ?? [];
  return (
    <Page
      title="Possible duplicates"
      description="Records that look like one human under two employee IDs: a similar name plus the same personal email, mobile number or birth date. Gatehouse never merges them on its own."
      actions={
        <Button
          component={Link}
          to="/people"
          variant="default"
          leftSection={<IconArrowLeft size={16} aria-hidden />}
        >
          All people
        </Button>
      }
    >
      <SegmentedControl
        aria-label="Show"
        value={stateValue}
        onChange={(v) => {
          setStateValue(v);
          update({ state: v === 'open' ? null : v });
        }}
        data={STATES}
        w="fit-content"
      />
      {list.error ? (
        <ErrorState error={list.error} what="possible duplicates" onRetry={list.reload} />
      ) : !list.data ? (
        <LoadingRows label="Loading possible duplicates…" rows={4} />
      ) : items.length === 0 ? (
        <Empty
          title={state === 'open' ? 'No possible duplicates to review' : 'Nothing here yet'}
          description={
            state === 'open'
              ? 'After each HR import Gatehouse looks for records that may be the same person and lists them here.'
              : undefined
          }
          icon={<IconCopyCheck aria-hidden />}
        />
      ) : (
        <Stack gap="md">
          {items.map((d) => (
            <Paper
              key={d.id}
              withBorder
              p="md"
              radius="md"
              component="section"
              aria-label={`${left(d).displayName} and ${right(d).displayName}`}
              data-duplicate-id={d.id}
            >
              <Stack gap="sm">
                <Group justify="space-between" wrap="wrap" gap="xs">
                  <Group gap="xs">
                    <Text size="sm" fw={500}>
                      Name similarity {Math.round(d.score * 100)}%
                    </Text>
                    {d.reasons.map((r) => (
                      <Badge key={r} variant="light" color="orange" tt="none">
                        {r}
                      </Badge>
                    ))}
                  </Group>
                  <Text size="xs" c="dimmed">
                    Found {formatDateTime(d.createdAt)}
                  </Text>
                </Group>
                <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="md">
                  <PersonCard person={left(d)} other={right(d)} side="Left" />
                  <PersonCard person={right(d)} other={left(d)} side="Right" />
                </SimpleGrid>
                {canWrite && d.state === 'open' ? (
                  <Group gap="sm">
                    <Button
                      size="xs"
                      onClick={() => setMerging({ pair: d, keep: left(d), drop: right(d) })}
                      disabled={busy !== null}
                    >
                      Merge (keep left)
                    </Button>
                    <Button
                      size="xs"
                      onClick={() => setMerging({ pair: d, keep: right(d), drop: left(d) })}
                      disabled={busy !== null}
                    >
                      Merge (keep right)
                    </Button>
                    <Button
                      size="xs"
                      variant="default"
                      loading={busy === d.id}
                      disabled={busy !== null && busy !== d.id}
                      onClick={() => void dismiss(d)}
                    >
                      Not the same person
                    </Button>
                  </Group>
                ) : null}
              </Stack>
            </Paper>
          ))}
        </Stack>
      )}
      {canWrite ? (
        <MergeDialog
          target={merging}
          onClose={() => setMerging(null)}
          onDone={(keep, drop) => {
            setMerging(null);
            notifySuccess(`${drop.displayName} (${drop.employeeId}) is merged into ${keep.displayName}.`);
            list.reload();
          }}
        />
      ) : null}
    </Page>
  );
}

/** The record that came first on the left (usually the one to keep). */
function left(d: Duplicate): PersonView {
  return d.a.createdAt <= d.b.createdAt ? d.a : d.b;
}
function right(d: Duplicate): PersonView {
  return d.a.createdAt <= d.b.createdAt ? d.b : d.a;
}

function Line({ label, children, differs }: { label: string; children: ReactNode; differs?: boolean }) {
  return (
    <Group gap="xs" wrap="nowrap" align="baseline">
      <Text size="xs" c="dimmed" w={110} style={{ flexShrink: 0 }}>
        {label}
      </Text>
      <Text size="sm" fw={differs ? 600 : undefined} c={differs ? 'orange.9' : undefined}>
        {children || '—'}
        {differs ? <VisuallyHidden> (differs)</VisuallyHidden> : null}
      </Text>
    </Group>
  );
}

function PersonCard({
  person: p,
  other: o,
  side,
}: {
  person: PersonView;
  other: PersonView;
  side: 'Left' | 'Right';
}) {
  const diff = (a: unknown, b: unknown) => (a ?? null) !== (b ?? null);
  return (
    <Paper withBorder p="sm" radius="md" bg="gray.0">
      <Stack gap={4}>
        <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
          {side}
        </Text>
        <Group gap="xs">
          <Anchor component={Link} to={`/people/${encodeURIComponent(p.id)}`} fw={600}>
            {p.displayName}
          </Anchor>
          <StatusBadge status={p.status} />
        </Group>
        <Line label="Employee ID">
          <span className="mono">{p.employeeId}</span>
        </Line>
        <Line label="Username">{p.username}</Line>
        <Line label="Work email">{p.workEmail}</Line>
        <Line label="Department" differs={diff(p.department, o.department)}>
          {p.department}
        </Line>
        <Line label="Title" differs={diff(p.title, o.title)}>
          {p.title}
        </Line>
        <Line label="Worker type" differs={diff(p.workerType, o.workerType)}>
          {WORKER_TYPE_LABELS[p.workerType] ?? p.workerType}
        </Line>
        <Line label="Start date" differs={diff(p.hireDate, o.hireDate)}>
          {p.hireDate ? formatCalendarDate(p.hireDate) : null}
        </Line>
        {p.personal ? (
          <>
            <Line label="Personal email">{p.personal.personalEmail}</Line>
            <Line label="Mobile phone">{p.personal.mobilePhone}</Line>
            <Line label="Birth date">
              {p.personal.birthDate ? formatCalendarDate(p.personal.birthDate) : null}
            </Line>
          </>
        ) : (
          <Text size="xs" c="dimmed">
            Personal data hidden — you don&apos;t have permission to see personal data
          </Text>
        )}
      </Stack>
    </Paper>
  );
}

function MergeDialog({
  target,
  onClose,
  onDone,
}: {
  target: { pair: Duplicate; keep: PersonView; drop: PersonView } | null;
  onClose: () => void;
  onDone: (keep: PersonView, drop: PersonView) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const merge = async () => {
    if (!target) return;
    setBusy(true);
    setError(null);
    try {
      await api.post('/api/v1/people/merge', { keep: target.keep.id, drop: target.drop.id });
      onDone(target.keep, target.drop);
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <AppModal
      opened={!!target}
      onClose={() => {
        setError(null);
        onClose();
      }}
      title={target ? `Merge ${target.drop.displayName} into ${target.keep.displayName}?` : 'Merge'}
      size="md"
    >
      {target ? (
        <Stack gap="md">
          <FormError error={error} />
          <Text size="sm">
            Gatehouse keeps <strong>{target.keep.displayName}</strong> (employee ID {target.keep.employeeId}).
            The record <strong>{target.drop.displayName}</strong> (employee ID {target.drop.employeeId}) is
            closed and points to the kept one: its history stays visible on the kept person&apos;s page, its
            scheduled events are cancelled and its usernames and email addresses move over.
          </Text>
          <Text size="sm">The merge is recorded in the audit trail and cannot be undone here.</Text>
          <Group justify="flex-end" gap="sm">
            <Button variant="default" onClick={onClose} disabled={busy}>
              Cancel
            </Button>
            <Button loading={busy} onClick={() => void merge()} data-autofocus>
              Merge
            </Button>
          </Group>
        </Stack>
      ) : null}
    </AppModal>
  );
}
