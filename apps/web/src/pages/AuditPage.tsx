import { Fragment, useEffect, useMemo, useRef, useState } from 'react';
import { useLocation, useSearchParams } from 'react-router';
import {
  ActionIcon,
  Alert,
  Badge,
  Button,
  Code,
  Group,
  Paper,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import {
  IconChevronDown,
  IconChevronRight,
  IconFilter,
  IconFilterOff,
  IconInfoCircle,
} from '@tabler/icons-react';
import { api, type AuditEvent, type AuditPage as AuditPageData, type BrokenEvent } from '../api';
import { useSession } from '../session';
import { Empty, ErrorState, LoadingRows, NoAccess, Page, Pager, useApiData } from '../components/ui';
import { DiffView } from '../components/DiffView';
import { VerifyChain } from '../components/VerifyChain';
import { formatDateTime, isoToLocalInput, localInputToIso } from '../format';

const FILTERS = ['actor', 'action', 'subjectType', 'subjectId', 'correlationId', 'from', 'to'] as const;
type FilterName = (typeof FILTERS)[number];
type Filters = Record<FilterName, string>;

const PAGE_SIZE = 50;

function filtersOf(params: URLSearchParams): Filters {
  return Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ''])) as Filters;
}

interface PagingState {
  /** Cursors of the pages before this one (null = the first page), kept in history state for "Previous". */
  cursorStack?: (string | null)[];
}

export default function AuditPage() {
  const { can } = useSession();
  if (!can('audit:read'))
    return (
      <Page title="Audit trail">
        <NoAccess what="the audit trail" />
      </Page>
    );
  return <AuditTrail />;
}

function AuditTrail() {
  const [params, setParams] = useSearchParams();
  const location = useLocation();
  const filters = useMemo(() => filtersOf(params), [params]);
  const order = params.get('order') === 'asc' ? 'asc' : 'desc';
  const cursor = params.get('cursor');
  const highlight = Number(params.get('highlight')) || null;
  const stack = ((location.state as PagingState | null)?.cursorStack ?? []).slice();
  const activeFilters = FILTERS.filter((f) => filters[f]);

  const query = { ...filters, order, cursor: cursor ?? undefined, limit: PAGE_SIZE };
  const key = JSON.stringify(query);
  const events = useApiData((signal) => api.get<AuditPageData>('/api/v1/audit/events', query, signal), key);

  /** Replace the query string; every filter or order change starts again at the first page. */
  const applyFilters = (next: Partial<Filters> & { order?: string; highlight?: string; cursor?: string }) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(next)) if (v) p.set(k, v);
    setParams(p, { state: { cursorStack: [] } satisfies PagingState });
  };

  const goNext = () => {
    const nextCursor = events.data?.nextCursor;
    if (nextCursor === null || nextCursor === undefined) return;
    const p = new URLSearchParams(params);
    p.set('cursor', String(nextCursor));
    p.delete('highlight');
    setParams(p, { state: { cursorStack: [...stack, cursor] } satisfies PagingState });
  };
  const goPrevious = () => {
    const p = new URLSearchParams(params);
    const previous = stack.pop();
    if (previous) p.set('cursor', previous);
    else p.delete('cursor');
    p.delete('highlight');
    setParams(p, { state: { cursorStack: stack } satisfies PagingState });
  };
  const goFirst = () => {
    const p = new URLSearchParams(params);
    p.delete('cursor');
    p.delete('highlight');
    setParams(p, { state: { cursorStack: [] } satisfies PagingState });
  };

  const showBroken = (b: BrokenEvent) =>
    applyFilters({
      from: b.occurredAt,
      to: b.occurredAt,
      cursor: String(b.seq + 1),
      highlight: String(b.seq),
    });

  const items = events.data?.items ?? [];
  const pageNumber = stack.length + 1;

  return (
    <Page
      title="Audit trail"
      description="Every change and decision in Gatehouse, in a tamper-evident chain."
    >
      <Paper withBorder p="md" radius="md">
        <VerifyChain onShowEvent={showBroken} />
      </Paper>

      <FilterBar
        filters={filters}
        onApply={(f) => applyFilters({ ...f, order: order === 'asc' ? 'asc' : undefined })}
        onClear={() => applyFilters({ order: order === 'asc' ? 'asc' : undefined })}
        hasActive={activeFilters.length > 0}
      />

      <Group justify="space-between" wrap="wrap" gap="sm">
        <div role="group" aria-label="Sort order">
          <Button.Group>
            {(
              [
                ['desc', 'Newest first'],
                ['asc', 'Oldest first'],
              ] as const
            ).map(([value, label]) => (
              <Button
                key={value}
                size="xs"
                variant={order === value ? 'filled' : 'default'}
                aria-pressed={order === value}
                onClick={() => {
                  if (order !== value)
                    applyFilters({ ...filters, order: value === 'asc' ? 'asc' : undefined });
                }}
              >
                {label}
              </Button>
            ))}
          </Button.Group>
        </div>
        {highlight ? (
          <Alert color="blue" variant="light" py={6} icon={<IconInfoCircle size={16} aria-hidden />}>
            Showing event #{highlight} (highlighted below).
          </Alert>
        ) : null}
      </Group>

      {events.error ? (
        <ErrorState error={events.error} what="audit events" onRetry={events.reload} />
      ) : !events.data ? (
        <LoadingRows label="Loading audit events…" rows={8} />
      ) : items.length === 0 ? (
        activeFilters.length > 0 || cursor ? (
          <Empty
            title="No events match these filters."
            description="Try a wider time range, or a prefix such as token.* for the action."
            icon={<IconFilterOff aria-hidden />}
          >
            <Button
              variant="light"
              onClick={() => applyFilters({ order: order === 'asc' ? 'asc' : undefined })}
            >
              Clear filters
            </Button>
          </Empty>
        ) : (
          <Empty
            title="No audit events yet."
            description="Events appear here as soon as anyone signs in or changes something in Gatehouse."
          />
        )
      ) : (
        <Stack gap="sm">
          <EventsTable
            items={items}
            highlight={highlight}
            onFilter={(f) => applyFilters({ ...filters, ...f, order: order === 'asc' ? 'asc' : undefined })}
          />
          <Pager
            summary={`Page ${pageNumber} · ${items.length} event${items.length === 1 ? '' : 's'} on this page`}
            hasPrevious={!!cursor}
            hasNext={events.data.nextCursor !== null}
            onPrevious={stack.length > 0 || !cursor ? goPrevious : goFirst}
            onNext={goNext}
            busy={events.loading}
            extra={
              cursor && stack.length > 1 ? (
                <Button variant="subtle" size="xs" onClick={goFirst}>
                  {order === 'asc' ? 'Oldest events' : 'Newest events'}
                </Button>
              ) : null
            }
          />
        </Stack>
      )}
    </Page>
  );
}

function FilterBar({
  filters,
  onApply,
  onClear,
  hasActive,
}: {
  filters: Filters;
  onApply: (f: Filters) => void;
  onClear: () => void;
  hasActive: boolean;
}) {
  const [values, setValues] = useState<Filters>({
    ...filters,
    from: isoToLocalInput(filters.from),
    to: isoToLocalInput(filters.to),
  });
  const [rangeError, setRangeError] = useState<string | null>(null);
  // Follow the address bar when it changes from outside the form (back button, "Clear filters", row buttons),
  // but not when it changes because this form was just applied (that would undo typing done since).
  const applied = useRef(JSON.stringify(filters));
  const current = JSON.stringify(filters);
  useEffect(() => {
    if (current === applied.current) return;
    applied.current = current;
    setValues({ ...filters, from: isoToLocalInput(filters.from), to: isoToLocalInput(filters.to) });
    setRangeError(null);
    // Only when the filters in the address bar change.
  }, [current]);
  const set = (name: FilterName) => (e: React.ChangeEvent<HTMLInputElement>) => {
    const v = e.currentTarget.value;
    setValues((old) => ({ ...old, [name]: v }));
  };

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    // Keep the exact instants from the address bar when the operator did not touch the minute-precision inputs.
    const from = values.from === isoToLocalInput(filters.from) ? filters.from : localInputToIso(values.from);
    const to = values.to === isoToLocalInput(filters.to) ? filters.to : localInputToIso(values.to);
    if (from && to && new Date(from) > new Date(to)) {
      setRangeError('“From” must be before “To”');
      return;
    }
    setRangeError(null);
    const next: Filters = {
      actor: values.actor.trim(),
      action: values.action.trim(),
      subjectType: values.subjectType.trim(),
      subjectId: values.subjectId.trim(),
      correlationId: values.correlationId.trim(),
      from,
      to,
    };
    applied.current = JSON.stringify(next);
    onApply(next);
  };

  return (
    <Paper
      withBorder
      p="md"
      radius="md"
      component="form"
      onSubmit={submit}
      aria-label="Filter audit events"
      role="search"
    >
      <SimpleGrid cols={{ base: 1, xs: 2, md: 4 }} spacing="sm" verticalSpacing="sm">
        <TextInput
          label="Actor"
          placeholder="operator:… or an id"
          value={values.actor}
          onChange={set('actor')}
        />
        <TextInput
          label="Action"
          placeholder="token.create or token.*"
          value={values.action}
          onChange={set('action')}
        />
        <TextInput
          label="Subject type"
          placeholder="token"
          value={values.subjectType}
          onChange={set('subjectType')}
        />
        <TextInput label="Subject ID" value={values.subjectId} onChange={set('subjectId')} />
        <TextInput label="Correlation ID" value={values.correlationId} onChange={set('correlationId')} />
        <TextInput
          label="From"
          type="datetime-local"
          value={values.from}
          onChange={set('from')}
          error={rangeError}
        />
        <TextInput label="To" type="datetime-local" value={values.to} onChange={set('to')} />
        <Group gap="xs" align="flex-end">
          <Button type="submit" leftSection={<IconFilter size={16} aria-hidden />}>
            Apply filters
          </Button>
          {hasActive ? (
            <Button variant="subtle" onClick={onClear}>
              Clear filters
            </Button>
          ) : null}
        </Group>
      </SimpleGrid>
    </Paper>
  );
}

function actorLabel(a: AuditEvent['actor']): string {
  return a.name ? `${a.name}` : a.id;
}

function EventsTable({
  items,
  highlight,
  onFilter,
}: {
  items: AuditEvent[];
  highlight: number | null;
  onFilter: (f: Partial<Filters>) => void;
}) {
  const [open, setOpen] = useState<Set<number>>(() => new Set(highlight ? [highlight] : []));
  useEffect(() => {
    if (!highlight) return;
    setOpen((o) => new Set(o).add(highlight));
    document.getElementById(`event-${highlight}`)?.scrollIntoView({ block: 'center' });
  }, [highlight, items]);
  const toggle = (seq: number) =>
    setOpen((o) => {
      const n = new Set(o);
      if (n.has(seq)) n.delete(seq);
      else n.add(seq);
      return n;
    });

  return (
    <Table.ScrollContainer minWidth={820}>
      <Table aria-label="Audit events" striped={false}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col" w={44}>
              <VisuallyHidden>Details</VisuallyHidden>
            </Table.Th>
            <Table.Th scope="col" w={80}>
              #
            </Table.Th>
            <Table.Th scope="col">Time</Table.Th>
            <Table.Th scope="col">Actor</Table.Th>
            <Table.Th scope="col">Action</Table.Th>
            <Table.Th scope="col">Subject</Table.Th>
            <Table.Th scope="col">Reason</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((e) => {
            const expanded = open.has(e.seq);
            const detailId = `event-detail-${e.seq}`;
            return (
              <Fragment key={e.seq}>
                <Table.Tr
                  id={`event-${e.seq}`}
                  className={e.seq === highlight ? 'row-highlight' : undefined}
                  data-seq={e.seq}
                >
                  <Table.Td>
                    <ActionIcon
                      variant="subtle"
                      color="gray"
                      onClick={() => toggle(e.seq)}
                      aria-expanded={expanded}
                      aria-controls={detailId}
                      aria-label={`${expanded ? 'Hide' : 'Show'} details of event #${e.seq}`}
                    >
                      {expanded ? (
                        <IconChevronDown size={16} aria-hidden />
                      ) : (
                        <IconChevronRight size={16} aria-hidden />
                      )}
                    </ActionIcon>
                  </Table.Td>
                  <Table.Td className="mono">{e.seq}</Table.Td>
                  <Table.Td>
                    <time dateTime={e.occurredAt}>{formatDateTime(e.occurredAt)}</time>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{actorLabel(e.actor)}</Text>
                    <Text size="xs" c="dimmed">
                      {e.actor.type}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Code>{e.action}</Code>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{e.subject.type}</Text>
                    <Text size="xs" c="dimmed" className="mono">
                      {e.subject.id}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" lineClamp={2}>
                      {e.reason ?? '—'}
                    </Text>
                    {e.personalErased ? (
                      <Badge size="xs" color="gray" variant="outline" mt={4}>
                        Personal data erased
                      </Badge>
                    ) : null}
                  </Table.Td>
                </Table.Tr>
                {expanded ? (
                  <Table.Tr className="detail-row" id={detailId}>
                    <Table.Td colSpan={7}>
                      <EventDetail event={e} onFilter={onFilter} />
                    </Table.Td>
                  </Table.Tr>
                ) : null}
              </Fragment>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed" component="dt">
        {label}
      </Text>
      <Text size="sm" component="dd" m={0} className="mono">
        {children}
      </Text>
    </div>
  );
}

function EventDetail({ event: e, onFilter }: { event: AuditEvent; onFilter: (f: Partial<Filters>) => void }) {
  return (
    <Stack gap="md" py="xs">
      <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} spacing="sm" component="dl" m={0}>
        <Fact label="Event id">{e.id}</Fact>
        <Fact label="Actor">
          {e.actor.type}:{e.actor.id}
          {e.actor.name ? ` (${e.actor.name})` : ''}
        </Fact>
        <Fact label="Subject">
          {e.subject.type}:{e.subject.id}
        </Fact>
        <Fact label="Correlation id">{e.correlationId ?? '—'}</Fact>
        <Fact label="Hash">{e.hash}</Fact>
        <Fact label="Previous hash">{e.prevHash}</Fact>
      </SimpleGrid>
      {e.reason ? (
        <Text size="sm">
          <Text span c="dimmed" size="sm">
            Reason:{' '}
          </Text>
          {e.reason}
        </Text>
      ) : null}
      <div>
        <Title order={3} size="h6" mb={6}>
          Changes
        </Title>
        <DiffView before={e.before} after={e.after} label={`Changes in event #${e.seq}`} />
        {e.personalErased ? (
          <Text size="xs" c="dimmed" mt={6}>
            Some personal data in this event was erased on request; the chain still verifies.
          </Text>
        ) : null}
      </div>
      <Group gap="xs">
        <Button
          size="xs"
          variant="default"
          onClick={() => onFilter({ actor: `${e.actor.type}:${e.actor.id}` })}
        >
          Events by this actor
        </Button>
        <Button
          size="xs"
          variant="default"
          onClick={() => onFilter({ subjectType: e.subject.type, subjectId: e.subject.id })}
        >
          Events about this subject
        </Button>
        {e.correlationId ? (
          <Button
            size="xs"
            variant="default"
            onClick={() => onFilter({ correlationId: e.correlationId ?? '' })}
          >
            Events in the same request
          </Button>
        ) : null}
      </Group>
    </Stack>
  );
}
