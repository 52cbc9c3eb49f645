import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { Alert, Anchor, Button, Group, NativeSelect, Paper, Stack, Text, Title } from '@mantine/core';
import { IconGitPullRequest, IconHourglass, IconStopwatch } from '@tabler/icons-react';
import { api } from '../api';
import { useListQuery } from '../listQuery';
import { useSession } from '../session';
import { Empty, ErrorState, LoadingRows, NoAccess, Page, useApiData, useUrlValue } from '../components/ui';
import {
  CHANGE_SET_STATUS,
  ChangeSetTable,
  LatencyTable,
  STATUS_ORDER,
  type ChangeSetList,
  type ChangeSetStatus,
  type ChangeSetView,
  type LatencyRow,
} from '../components/provisioning';
import { formatNumber } from '../format';

const PAGE_SIZE = 50;

export default function ChangeSetsPage() {
  const { can } = useSession();
  if (!can('changes:read'))
    return (
      <Page title="Change sets">
        <NoAccess what="change sets" />
      </Page>
    );
  return <ChangeSets />;
}

function ChangeSets() {
  const { params, update } = useListQuery();
  const raw = params.get('status') ?? '';
  const status = (STATUS_ORDER as string[]).includes(raw) ? (raw as ChangeSetStatus) : '';
  const person = params.get('person') ?? '';
  const [statusValue, setStatusValue] = useUrlValue<string>(status);
  const [more, setMore] = useState<ChangeSetView[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>(null);
  const query = { status: status || undefined, person: person || undefined, limit: PAGE_SIZE };
  const list = useApiData(
    (signal) => api.get<ChangeSetList>('/api/v1/change-sets', query, signal),
    JSON.stringify(query),
  );
  const awaiting = useApiData(
    (signal) =>
      api.get<ChangeSetList>('/api/v1/change-sets', { status: 'awaiting_approval', limit: 100 }, signal),
    `awaiting ${JSON.stringify(query)}`,
  );
  useEffect(() => {
    setMore([]);
    setNext(list.data?.next ?? null);
    setMoreError(null);
  }, [list.data]);
  const items = [...(list.data?.items ?? []), ...more];
  const waiting = awaiting.data ? awaiting.data.items.length : 0;
  const waitingText =
    awaiting.data?.next !== null && awaiting.data ? `more than ${waiting}` : String(waiting);

  const loadMore = async () => {
    if (next === null) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const page = await api.get<ChangeSetList>('/api/v1/change-sets', { ...query, before: next });
      setMore((m) => [...m, ...page.items]);
      setNext(page.next);
    } catch (e) {
      setMoreError(e);
    } finally {
      setLoadingMore(false);
    }
  };

  return (
    <Page
      title="Change sets"
      description="Each change set is one plan for bringing accounts in line with the policy: who gets or loses which account and group, on which system. Open one to see exactly what it does."
    >
      <Latency />
      {waiting > 0 && status !== 'awaiting_approval' ? (
        <Alert
          color="orange"
          variant="light"
          icon={<IconHourglass aria-hidden />}
          title={`${waitingText} ${waiting === 1 ? 'change set waits' : 'change sets wait'} for approval`}
        >
          <Stack gap="xs" align="flex-start">
            <Text size="sm">
              They grant privileged access, touch a separation-of-duties rule, or would disable many accounts
              at once. Nothing in them is changed until someone approves.
            </Text>
            <Button
              size="xs"
              variant="light"
              color="orange"
              onClick={() => {
                setStatusValue('awaiting_approval');
                update({ status: 'awaiting_approval' });
              }}
            >
              Show the ones awaiting approval
            </Button>
          </Stack>
        </Alert>
      ) : null}
      <Group gap="md" align="flex-end" role="search" aria-label="Filter change sets">
        <NativeSelect
          label="Status"
          value={statusValue}
          onChange={(e) => {
            setStatusValue(e.currentTarget.value);
            update({ status: e.currentTarget.value });
          }}
          data={[
            { value: '', label: 'All' },
            ...STATUS_ORDER.map((s) => ({
              value: s,
              label:
                s === 'awaiting_approval' && waiting
                  ? `${CHANGE_SET_STATUS[s].label} (${waitingText})`
                  : CHANGE_SET_STATUS[s].label,
            })),
          ]}
        />
        {person ? (
          <Group gap="xs" align="center" mb={6}>
            <Text size="sm">
              Only the change sets of{' '}
              <Anchor component={Link} to={`/people/${encodeURIComponent(person)}`} size="sm">
                one person
              </Anchor>
              .
            </Text>
            <Button size="xs" variant="subtle" onClick={() => update({ person: null })}>
              Show everyone&apos;s
            </Button>
          </Group>
        ) : null}
      </Group>
      {list.error ? (
        <ErrorState error={list.error} what="change sets" onRetry={list.reload} />
      ) : !list.data ? (
        <LoadingRows label="Loading change sets…" rows={4} />
      ) : items.length === 0 ? (
        status ? (
          <Empty
            title={
              status === 'awaiting_approval'
                ? 'Nothing waits for approval.'
                : `No change sets with the status “${CHANGE_SET_STATUS[status].label}”.`
            }
            icon={<IconGitPullRequest aria-hidden />}
            description="Choose “All” to see every change set."
          />
        ) : (
          <Empty
            title="No change sets yet."
            icon={<IconGitPullRequest aria-hidden />}
            description={
              <>
                Gatehouse makes a change set whenever someone&apos;s access should change: when an HR event
                takes effect (a joiner, a mover, a leaver), when the{' '}
                <Anchor component={Link} to="/policy">
                  policy
                </Anchor>{' '}
                changes, or when someone recomputes a person. Changes that grant privileged access wait here
                for approval.
              </>
            }
          />
        )
      ) : (
        <Stack gap="sm">
          <ChangeSetTable items={items} label="Change sets" />
          {moreError ? (
            <ErrorState error={moreError} what="older change sets" onRetry={() => void loadMore()} />
          ) : null}
          {next !== null ? (
            <div>
              <Button variant="default" onClick={() => void loadMore()} loading={loadingMore}>
                Show older change sets
              </Button>
            </div>
          ) : null}
        </Stack>
      )}
    </Page>
  );
}

const PERIODS = [
  { value: '24', label: 'last 24 hours' },
  { value: '168', label: 'last 7 days' },
  { value: '720', label: 'last 30 days' },
];

/** How long HR changes take to reach each target: p50 / p95 per target. */
function Latency() {
  const [hours, setHours] = useState('24');
  const data = useApiData(
    (signal) => api.get<{ items: LatencyRow[] }>('/api/v1/provisioning/latency', { hours }, signal),
    hours,
  );
  const rows = data.data?.items.filter((i) => i.target !== null) ?? [];
  return (
    <Paper withBorder radius="md" p="md" component="section" aria-labelledby="latency-heading">
      <Group justify="space-between" align="flex-end" wrap="wrap" gap="sm" mb="sm">
        <div>
          <Group gap="xs" wrap="nowrap">
            <IconStopwatch size={18} aria-hidden />
            <Title order={2} size="h5" id="latency-heading">
              From HR to the target
            </Title>
          </Group>
          <Text size="xs" c="dimmed">
            How long after an HR event takes effect its change is made on each system.
          </Text>
        </div>
        <NativeSelect
          size="xs"
          label="Period"
          value={hours}
          onChange={(e) => setHours(e.currentTarget.value)}
          data={PERIODS}
        />
      </Group>
      {data.error ? (
        <ErrorState error={data.error} what="the timings" onRetry={data.reload} />
      ) : !data.data ? (
        <LoadingRows label="Loading timings…" rows={1} />
      ) : rows.length === 0 ? (
        <Text size="sm" c="dimmed" data-testid="latency-empty">
          No changes from HR events in the {PERIODS.find((p) => p.value === hours)?.label ?? 'period'}.
        </Text>
      ) : (
        <Stack gap={4}>
          <LatencyTable items={data.data.items} />
          <Text size="xs" c="dimmed">
            {formatNumber(data.data.items.find((i) => i.target === null)?.operations ?? 0)} changes. Typical:
            half were made faster; slow: 95 of 100 were made faster.
          </Text>
        </Stack>
      )}
    </Paper>
  );
}
