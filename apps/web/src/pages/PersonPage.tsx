import { useEffect, useState, type ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Code,
  Group,
  Paper,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { IconArrowLeft, IconGitMerge, IconLock } from '@tabler/icons-react';
import { api, ApiError, describe, type AuditEvent, type AuditPage } from '../api';
import { useSession } from '../session';
import { ErrorState, LoadingRows, NoAccess, Page, useApiData } from '../components/ui';
import { DiffView } from '../components/DiffView';
import {
  auditChanges,
  ChangeList,
  EventTypeBadge,
  formatCalendarDate,
  formatInZone,
  formatUtc,
  StatusBadge,
  WORKER_TYPE_LABELS,
  type LifecycleEvent,
  type PersonDetail,
  type PersonView,
} from '../components/people';
import { formatDateTime } from '../format';
import { AccessSection } from '../components/access';

export default function PersonPage() {
  const { can } = useSession();
  if (!can('people:read'))
    return (
      <Page title="Person">
        <NoAccess what="people" />
      </Page>
    );
  return <Person />;
}

function Person() {
  const { id = '' } = useParams();
  const detail = useApiData(
    (signal) => api.get<PersonDetail>(`/api/v1/people/${encodeURIComponent(id)}`, undefined, signal),
    id,
  );
  const missing =
    detail.error instanceof ApiError && (detail.error.status === 404 || detail.error.status === 400);
  if (missing) return <PersonNotFound />;
  if (detail.error)
    return (
      <Page title="Person">
        <ErrorState error={detail.error} what="this person" onRetry={detail.reload} />
      </Page>
    );
  // The heading is the person's name, so the page (and its focus on the heading) starts once it is known.
  if (!detail.data || detail.data.person.id !== id) return <LoadingRows label="Loading person…" rows={6} />;
  return <PersonView key={id} detail={detail.data} />;
}

function PersonNotFound() {
  return (
    <Page title="This person does not exist">
      <Text>
        There is no person at this address. The link may be old or mistyped, or the record may have been
        removed.
      </Text>
      <div>
        <Button component={Link} to="/people" leftSection={<IconArrowLeft size={16} aria-hidden />}>
          Back to People
        </Button>
      </div>
    </Page>
  );
}

function Section({ title, children, id }: { title: string; children: ReactNode; id: string }) {
  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby={id}>
      <Title order={2} size="h4" id={id} mb="sm">
        {title}
      </Title>
      {children}
    </Paper>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed" component="dt">
        {label}
      </Text>
      <Text size="sm" component="dd" m={0}>
        {children === null || children === undefined || children === '' ? (
          <Text span c="dimmed" size="sm">
            —
          </Text>
        ) : (
          children
        )}
      </Text>
    </div>
  );
}

function Facts({ children }: { children: ReactNode }) {
  return (
    <SimpleGrid cols={{ base: 1, xs: 2, md: 3 }} spacing="sm" verticalSpacing="sm" component="dl" m={0}>
      {children}
    </SimpleGrid>
  );
}

/** An instant in the person's zone (or the reader's, when the person has none), with UTC below it. */
function ZonedTime({ at, zone }: { at: string; zone: string | null }) {
  const local = zone ? formatInZone(at, zone) : null;
  return (
    <time dateTime={at}>
      {local ?? formatInZone(at, Intl.DateTimeFormat().resolvedOptions().timeZone) ?? formatUtc(at)}{' '}
      <Text span size="xs" c="dimmed">
        ({local ? zone : 'your time'})
      </Text>
      <Text size="xs" c="dimmed">
        {formatUtc(at)}
      </Text>
    </time>
  );
}

function PersonView({ detail }: { detail: PersonDetail }) {
  const { can } = useSession();
  const { person: p, manager, mergedFrom, events } = detail;
  const hidePersonal = !can('people:personal');
  const zone = p.timeZone;
  const scheduled = events
    .filter((e) => e.state === 'scheduled')
    .sort((a, b) => a.effectiveAt.localeCompare(b.effectiveAt));
  const past = events.filter((e) => e.state !== 'scheduled');
  const attributes = Object.entries(p.attributes ?? {});

  return (
    <Page
      title={p.displayName}
      description={
        <Group gap="xs" component="span">
          <StatusBadge status={p.status} />
          <Text span size="sm" c="dimmed">
            {WORKER_TYPE_LABELS[p.workerType] ?? p.workerType} · employee ID{' '}
            <span className="mono">{p.employeeId}</span>
          </Text>
        </Group>
      }
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
      {p.mergedInto ? (
        <Alert
          color="orange"
          variant="light"
          icon={<IconGitMerge aria-hidden />}
          title="This record was merged"
        >
          <Stack gap="xs" align="flex-start">
            <Text size="sm">
              It belongs to the same person as another record, which Gatehouse keeps. Changes, events and
              accounts now follow that record; this one is kept for its history.
            </Text>
            <Anchor component={Link} to={`/people/${encodeURIComponent(p.mergedInto)}`} size="sm">
              Open the record that was kept
            </Anchor>
          </Stack>
        </Alert>
      ) : null}
      {mergedFrom.length ? (
        <Alert color="blue" variant="light" icon={<IconGitMerge aria-hidden />} title="Merged records">
          <Text size="sm">
            {mergedFrom.length === 1 ? 'Another record was' : `${mergedFrom.length} other records were`}{' '}
            merged into this person:{' '}
            {mergedFrom.map((m, i) => (
              <span key={m.id}>
                {i > 0 ? ', ' : ''}
                <Anchor component={Link} to={`/people/${encodeURIComponent(m.id)}`} size="sm">
                  employee ID {m.employeeId}
                </Anchor>
              </span>
            ))}
            . Their events and history are shown here too.
          </Text>
        </Alert>
      ) : null}

      <Section title="Work" id="person-work">
        <Facts>
          <Fact label="Department">{p.department}</Fact>
          <Fact label="Title">{p.title}</Fact>
          <Fact label="Cost center">{p.costCenter}</Fact>
          <Fact label="Location">{p.location}</Fact>
          <Fact label="Time zone">{p.timeZone}</Fact>
          <Fact label="Manager">
            {manager ? (
              <Anchor component={Link} to={`/people/${encodeURIComponent(manager.id)}`} size="sm">
                {manager.displayName}
              </Anchor>
            ) : p.managerEmployeeId ? (
              <>
                Employee ID <span className="mono">{p.managerEmployeeId}</span>{' '}
                <Text span size="xs" c="dimmed">
                  (not in Gatehouse)
                </Text>
              </>
            ) : null}
          </Fact>
          <Fact label="Worker type">{WORKER_TYPE_LABELS[p.workerType] ?? p.workerType}</Fact>
          <Fact label="Start date">{p.hireDate ? formatCalendarDate(p.hireDate) : null}</Fact>
          <Fact label="Termination">
            {p.terminationAt ? (
              <ZonedTime at={p.terminationAt} zone={zone} />
            ) : p.terminationDate ? (
              formatCalendarDate(p.terminationDate)
            ) : null}
          </Fact>
        </Facts>
      </Section>

      <Section title="Names" id="person-names">
        <Facts>
          <Fact label="Username">{p.username ? <span className="mono">{p.username}</span> : null}</Fact>
          <Fact label="Work email">{p.workEmail}</Fact>
          <Fact label="Display name">{p.displayName}</Fact>
          <Fact label="Legal name">
            {p.firstName} {p.lastName}
          </Fact>
          <Fact label="Preferred name">{p.preferredName}</Fact>
        </Facts>
      </Section>

      <Section title="Access" id="person-access">
        <AccessSection personId={p.id} name={p.displayName} />
      </Section>

      <Section title="Personal data" id="person-personal">
        <PersonalData person={p} />
      </Section>

      <Section title="Other attributes" id="person-attributes">
        {attributes.length === 0 ? (
          <Text size="sm" c="dimmed">
            No other attributes. Columns of the HR file that Gatehouse does not map appear here.
          </Text>
        ) : (
          <Table aria-label="Other attributes" withTableBorder fz="sm">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Attribute</Table.Th>
                <Table.Th scope="col">Value</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {attributes.map(([k, v]) => (
                <Table.Tr key={k}>
                  <Table.Th scope="row" fw={500}>
                    {k}
                  </Table.Th>
                  <Table.Td>{v}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Section>

      <Section title="Scheduled events" id="person-scheduled">
        {scheduled.length === 0 ? (
          <Text size="sm" c="dimmed">
            Nothing scheduled.
          </Text>
        ) : (
          <EventsTable events={scheduled} zone={zone} label="Scheduled events" hidePersonal={hidePersonal} />
        )}
      </Section>

      <Section title="Events" id="person-events">
        {past.length === 0 ? (
          <Text size="sm" c="dimmed">
            No events yet.
          </Text>
        ) : (
          <EventsTable events={past} zone={zone} label="Events" hidePersonal={hidePersonal} withState />
        )}
      </Section>

      <Section title="History" id="person-history">
        <History personId={p.id} hidePersonal={hidePersonal} />
      </Section>
    </Page>
  );
}

function PersonalData({ person: p }: { person: PersonView }) {
  if (!p.personal) {
    return (
      <Group gap="xs" wrap="nowrap" data-testid="personal-hidden">
        <IconLock size={16} aria-hidden color="var(--mantine-color-dimmed)" />
        <Text size="sm" c="dimmed">
          Hidden — you don&apos;t have permission to see personal data
        </Text>
      </Group>
    );
  }
  return (
    <Facts>
      <Fact label="Personal email">{p.personal.personalEmail}</Fact>
      <Fact label="Mobile phone">{p.personal.mobilePhone}</Fact>
      <Fact label="Birth date">{p.personal.birthDate ? formatCalendarDate(p.personal.birthDate) : null}</Fact>
    </Facts>
  );
}

/** What an event without field changes means. */
const EVENT_EMPTY: Record<string, string> = {
  joiner: 'Created from HR (the values are in the history below)',
  rehire: 'Back from HR (the values are in the history below)',
  start: 'Accounts are enabled on the start day',
};

const EVENT_STATES: Record<LifecycleEvent['state'], { label: string; color: string }> = {
  scheduled: { label: 'Scheduled', color: 'blue' },
  pending: { label: 'In progress', color: 'yellow' },
  done: { label: 'Done', color: 'teal' },
  cancelled: { label: 'Cancelled', color: 'gray' },
};

function EventsTable({
  events,
  zone,
  label,
  hidePersonal,
  withState = false,
}: {
  events: LifecycleEvent[];
  zone: string | null;
  label: string;
  hidePersonal: boolean;
  withState?: boolean;
}) {
  return (
    <Table.ScrollContainer minWidth={640}>
      <Table aria-label={label} fz="sm">
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">Event</Table.Th>
            <Table.Th scope="col">When</Table.Th>
            {withState ? <Table.Th scope="col">State</Table.Th> : null}
            <Table.Th scope="col">Changes</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {events.map((e) => (
            <Table.Tr key={e.id}>
              <Table.Td>
                <EventTypeBadge type={e.type} />
              </Table.Td>
              <Table.Td>
                <ZonedTime at={e.effectiveAt} zone={zone} />
              </Table.Td>
              {withState ? (
                <Table.Td>
                  <Badge color={EVENT_STATES[e.state]?.color ?? 'gray'} variant="dot">
                    {EVENT_STATES[e.state]?.label ?? e.state}
                  </Badge>
                </Table.Td>
              ) : null}
              <Table.Td>
                <ChangeList
                  changes={e.changes}
                  created={e.type === 'joiner'}
                  hidePersonal={hidePersonal}
                  empty={EVENT_EMPTY[e.type] ?? '—'}
                />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function actorName(a: AuditEvent['actor']): string {
  return a.name ?? a.id;
}

const ACTOR_TYPES: Record<string, string> = {
  operator: 'Operator',
  token: 'API token',
  system: 'Gatehouse',
};

/** The person's audit trail, newest first, with "Show older changes" for the next page. */
function History({ personId, hidePersonal }: { personId: string; hidePersonal: boolean }) {
  const [items, setItems] = useState<AuditEvent[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [nonce, setNonce] = useState(0);

  useEffect(() => {
    const ac = new AbortController();
    setError(null);
    api.get<AuditPage>(`/api/v1/people/${encodeURIComponent(personId)}/history`, undefined, ac.signal).then(
      (r) => {
        setItems(r.items);
        setNext(r.nextCursor);
      },
      (e: unknown) => {
        if (!ac.signal.aborted) setError(e);
      },
    );
    return () => ac.abort();
  }, [personId, nonce]);

  const more = async () => {
    if (next === null) return;
    setLoadingMore(true);
    try {
      const r = await api.get<AuditPage>(`/api/v1/people/${encodeURIComponent(personId)}/history`, {
        cursor: next,
      });
      setItems((old) => [...(old ?? []), ...r.items]);
      setNext(r.nextCursor);
    } catch (e) {
      setError(e);
    } finally {
      setLoadingMore(false);
    }
  };

  if (error && !items)
    return <ErrorState error={error} what="the history" onRetry={() => setNonce((n) => n + 1)} />;
  if (!items) return <LoadingRows label="Loading history…" rows={3} />;
  if (items.length === 0)
    return (
      <Text size="sm" c="dimmed">
        No recorded changes.
      </Text>
    );
  return (
    <Stack gap="sm">
      <ol className="history-list" aria-label="History">
        {items.map((e) => (
          <HistoryEntry key={e.seq} event={e} hidePersonal={hidePersonal} />
        ))}
      </ol>
      {error ? (
        <Text size="sm" c="red" role="alert">
          Could not load older changes: {describe(error)}
        </Text>
      ) : null}
      {next !== null ? (
        <div>
          <Button variant="default" size="xs" onClick={() => void more()} loading={loadingMore}>
            Show older changes
          </Button>
        </div>
      ) : null}
    </Stack>
  );
}

function HistoryEntry({ event: e, hidePersonal }: { event: AuditEvent; hidePersonal: boolean }) {
  const [all, setAll] = useState(false);
  const created = e.before === null || e.before === undefined;
  const changes = auditChanges(e.before, e.after);
  const tableId = `history-all-${e.seq}`;
  return (
    <li className="history-entry">
      <Group justify="space-between" align="flex-start" gap="xs" wrap="wrap">
        <Group gap="xs" wrap="wrap">
          <Code>{e.action}</Code>
          <Text size="sm">
            by <strong>{actorName(e.actor)}</strong>{' '}
            <Text span size="xs" c="dimmed">
              ({ACTOR_TYPES[e.actor.type] ?? e.actor.type})
            </Text>
          </Text>
        </Group>
        <Text size="sm" c="dimmed">
          <time dateTime={e.occurredAt}>{formatDateTime(e.occurredAt)}</time>
        </Text>
      </Group>
      {e.reason ? (
        <Text size="sm" c="dimmed" mt={4}>
          {e.reason}
        </Text>
      ) : null}
      <div className="history-changes">
        <ChangeList changes={changes} created={created} hidePersonal={hidePersonal} />
      </div>
      {Object.keys(changes).length > 0 ? (
        <Button
          variant="subtle"
          size="compact-xs"
          mt={4}
          onClick={() => setAll((v) => !v)}
          aria-expanded={all}
          aria-controls={tableId}
        >
          {all ? 'Hide before and after' : 'Show before and after'}
        </Button>
      ) : null}
      {all ? (
        <div id={tableId} className="history-diff">
          <DiffView before={e.before} after={e.after} label={`Before and after, ${e.action}`} />
        </div>
      ) : null}
      {e.personalErased ? (
        <Text size="xs" c="dimmed" mt={4}>
          Some personal data in this entry was erased on request.
        </Text>
      ) : null}
    </li>
  );
}
