import { useEffect, useState } from 'react';
import { Badge, Button, Group, List, NativeSelect, Paper, Stack, Text, Textarea, Title } from '@mantine/core';
import { IconChecklist } from '@tabler/icons-react';
import { api, describe } from '../api';
import { useListQuery } from '../listQuery';
import { useSession } from '../session';
import {
  Empty,
  ErrorState,
  LoadingRows,
  NoAccess,
  notifySuccess,
  Page,
  useApiData,
  useUrlValue,
  When,
  FormError,
} from '../components/ui';
import { AppModal } from '../components/modal';
import type { TargetView, TaskView } from '../components/targets';
import { formatRelative } from '../format';

const STATUS_LABELS: Record<TaskView['status'], string> = {
  open: 'Open',
  done: 'Done',
  cancelled: 'Cancelled',
};
const STATUS_COLORS: Record<TaskView['status'], string> = { open: 'blue', done: 'teal', cancelled: 'gray' };
const NOTE_MAX = 2000;

export default function TasksPage() {
  const { can } = useSession();
  if (!can('tasks:read'))
    return (
      <Page title="Tasks">
        <NoAccess what="tasks" />
      </Page>
    );
  return <Tasks />;
}

interface TaskPage {
  items: TaskView[];
  nextCursor: string | null;
}

function Tasks() {
  const { can } = useSession();
  const { params, update } = useListQuery();
  const status = params.get('status') ?? 'open';
  const target = params.get('target') ?? '';
  const [statusValue, setStatusValue] = useUrlValue(status);
  const [targetValue, setTargetValue] = useUrlValue(target);
  const [more, setMore] = useState<TaskView[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [acting, setActing] = useState<{ task: TaskView; action: 'complete' | 'cancel' } | null>(null);
  const query = { status: status === 'all' ? undefined : status, target: target || undefined, limit: 50 };
  const list = useApiData(
    (signal) => api.get<TaskPage>('/api/v1/tasks', query, signal),
    JSON.stringify(query),
  );
  const targets = useApiData(
    (signal) => api.get<{ items: TargetView[] }>('/api/v1/targets', undefined, signal),
    'targets',
  );
  useEffect(() => {
    setMore([]);
    setCursor(list.data?.nextCursor ?? null);
  }, [list.data]);
  const items = [...(list.data?.items ?? []), ...more];

  const loadMore = async () => {
    if (!cursor) return;
    const page = await api.get<TaskPage>('/api/v1/tasks', { ...query, cursor });
    setMore((m) => [...m, ...page.items]);
    setCursor(page.nextCursor);
  };

  return (
    <Page
      title="Tasks"
      description="Changes Gatehouse cannot make itself: in applications without an API, a person makes them by hand and confirms each one here."
    >
      <Group gap="md" align="flex-end" role="search" aria-label="Filter tasks">
        <NativeSelect
          label="Status"
          value={statusValue}
          onChange={(e) => {
            setStatusValue(e.currentTarget.value);
            update({ status: e.currentTarget.value === 'open' ? null : e.currentTarget.value });
          }}
          data={[
            { value: 'open', label: 'Open' },
            { value: 'done', label: 'Done' },
            { value: 'cancelled', label: 'Cancelled' },
            { value: 'all', label: 'All' },
          ]}
        />
        <NativeSelect
          label="Target"
          value={targetValue}
          onChange={(e) => {
            setTargetValue(e.currentTarget.value);
            update({ target: e.currentTarget.value });
          }}
          data={[
            { value: '', label: 'All targets' },
            ...(targets.data?.items ?? [])
              .filter((t) => t.connector === 'manual' || t.name === target)
              .map((t) => ({ value: t.name, label: t.name })),
          ]}
        />
      </Group>
      {list.error ? (
        <ErrorState error={list.error} what="tasks" onRetry={list.reload} />
      ) : !list.data ? (
        <LoadingRows label="Loading tasks…" rows={3} />
      ) : items.length === 0 ? (
        <Empty
          title={status === 'open' ? 'No open tasks.' : 'No tasks here.'}
          icon={<IconChecklist aria-hidden />}
          description={
            status === 'open'
              ? 'When Gatehouse needs a change in an application it cannot reach (a manual target), the task appears here for someone to do by hand — for example “Create the account ada in Payroll”.'
              : 'Try another status or target.'
          }
        />
      ) : (
        <Stack
          gap="sm"
          component="ul"
          style={{ listStyle: 'none', padding: 0, margin: 0 }}
          aria-label="Tasks"
        >
          {items.map((t) => (
            <Paper key={t.id} withBorder p="md" radius="md" component="li" data-task-id={t.id}>
              <Stack gap="xs">
                <Group justify="space-between" align="flex-start" wrap="wrap">
                  <div>
                    <Title order={2} size="h5">
                      {t.summary}
                    </Title>
                    <Text size="xs" c="dimmed">
                      {t.target} · opened <When at={t.createdAt} show={formatRelative} />
                    </Text>
                  </div>
                  <Badge color={STATUS_COLORS[t.status]} variant="light">
                    {STATUS_LABELS[t.status]}
                  </Badge>
                </Group>
                {t.details.steps?.length ? (
                  <List type="ordered" size="sm" spacing={2}>
                    {t.details.steps.map((s, i) => (
                      <List.Item key={i}>{s}</List.Item>
                    ))}
                  </List>
                ) : null}
                {t.status !== 'open' ? (
                  <Text size="sm">
                    {STATUS_LABELS[t.status]} by {t.completedBy}{' '}
                    <When at={t.completedAt} show={formatRelative} />: “{t.note}”
                  </Text>
                ) : can('tasks:write') ? (
                  <Group gap="xs">
                    <Button
                      size="xs"
                      onClick={() => setActing({ task: t, action: 'complete' })}
                      aria-label={`Mark as done: ${t.summary}`}
                    >
                      Mark as done
                    </Button>
                    <Button
                      size="xs"
                      variant="default"
                      onClick={() => setActing({ task: t, action: 'cancel' })}
                      aria-label={`Cancel: ${t.summary}`}
                    >
                      Cancel task
                    </Button>
                  </Group>
                ) : null}
              </Stack>
            </Paper>
          ))}
        </Stack>
      )}
      {cursor ? (
        <Button variant="default" onClick={() => void loadMore()}>
          Show more
        </Button>
      ) : null}
      <NoteDialog
        acting={acting}
        onClose={() => setActing(null)}
        onDone={(t) => {
          setActing(null);
          notifySuccess(t.summary, t.status === 'done' ? 'Task done' : 'Task cancelled');
          list.reload();
        }}
      />
    </Page>
  );
}

function NoteDialog({
  acting,
  onClose,
  onDone,
}: {
  acting: { task: TaskView; action: 'complete' | 'cancel' } | null;
  onClose: () => void;
  onDone: (t: TaskView) => void;
}) {
  const [note, setNote] = useState('');
  const [noteError, setNoteError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setNote('');
    setNoteError(null);
    setError(null);
  }, [acting]);
  const complete = acting?.action === 'complete';

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!acting) return;
    if (!note.trim()) {
      setNoteError(
        complete ? 'Write what you did, so that others can follow it later' : 'Write why it will not be done',
      );
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const t = await api.post<TaskView>(
        `/api/v1/tasks/${encodeURIComponent(acting.task.id)}/${acting.action}`,
        {
          note: note.trim(),
        },
      );
      onDone(t);
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <AppModal
      opened={!!acting}
      onClose={onClose}
      title={complete ? 'Mark the task as done' : 'Cancel the task'}
    >
      <form onSubmit={(e) => void submit(e)} noValidate>
        <Stack gap="md">
          <Text size="sm" fw={500}>
            {acting?.task.summary}
          </Text>
          <FormError error={error} />
          <Textarea
            label="Note"
            description={
              complete
                ? 'What you did, and any reference number. Never write a password here.'
                : 'Why it will not be done.'
            }
            required
            autosize
            minRows={3}
            maxLength={NOTE_MAX}
            data-autofocus
            value={note}
            onChange={(e) => {
              setNote(e.currentTarget.value);
              setNoteError(null);
            }}
            error={noteError}
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose} disabled={busy}>
              Back
            </Button>
            <Button type="submit" loading={busy} color={complete ? undefined : 'red'}>
              {complete ? 'Mark as done' : 'Cancel task'}
            </Button>
          </Group>
        </Stack>
      </form>
    </AppModal>
  );
}
