import { useState } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import {
  Anchor,
  Button,
  Checkbox,
  Group,
  NativeSelect,
  Paper,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
} from '@mantine/core';
import { IconCopy, IconFileImport, IconFilterOff, IconSearch, IconUsers } from '@tabler/icons-react';
import { api } from '../api';
import { useListQuery } from '../listQuery';
import { useSession } from '../session';
import {
  Empty,
  ErrorState,
  LoadingRows,
  NoAccess,
  Page,
  Pager,
  sortableHeader,
  useApiData,
  useUrlValue,
  type SortOrder,
} from '../components/ui';
import {
  formatCalendarDate,
  STATUS_LABELS,
  StatusBadge,
  WORKER_TYPE_LABELS,
  type PeoplePage as PeoplePageData,
  type PersonStatus,
  type PersonView,
  type WorkerType,
} from '../components/people';
import { formatNumber } from '../format';

const PAGE_SIZE = 50;
const SORTS = ['name', 'hire_date', 'employee_id'] as const;
const STATUSES = Object.keys(STATUS_LABELS) as PersonStatus[];
const WORKER_TYPES = Object.keys(WORKER_TYPE_LABELS) as WorkerType[];
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
/** Every filter the list has (the search box included); "Clear filters" drops them all. */
const FILTER_KEYS = ['q', 'status', 'workerType', 'department', 'hiredFrom', 'hiredTo'] as const;

interface PagingState {
  /** Cursors of the pages before this one (null = the first page), kept in history state for "Previous". */
  cursorStack?: (string | null)[];
}

export default function PeoplePage() {
  const { can } = useSession();
  if (!can('people:read'))
    return (
      <Page title="People">
        <NoAccess what="people" />
      </Page>
    );
  return <People />;
}

function listParam<T extends string>(value: string | null, allowed: readonly T[]): T[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s): s is T => (allowed as readonly string[]).includes(s));
}

function People() {
  const { can } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const { params, q, update, search, setSearch } = useListQuery();
  const status = listParam(params.get('status'), STATUSES);
  const workerType = listParam(params.get('workerType'), WORKER_TYPES);
  const department = params.get('department') ?? '';
  const hiredFrom = DATE_RE.test(params.get('hiredFrom') ?? '') ? params.get('hiredFrom')! : '';
  const hiredTo = DATE_RE.test(params.get('hiredTo') ?? '') ? params.get('hiredTo')! : '';
  const sortParam = params.get('sort') ?? '';
  const sort = (SORTS as readonly string[]).includes(sortParam) ? sortParam : 'name';
  const order: SortOrder = params.get('order') === 'desc' ? 'desc' : 'asc';
  const cursor = params.get('cursor');
  const stack = ((location.state as PagingState | null)?.cursorStack ?? []).slice();

  const [statusValue, setStatusValue] = useUrlValue(status.join(','));
  const [typeValue, setTypeValue] = useUrlValue(workerType.join(','));
  const [departmentValue, setDepartmentValue] = useUrlValue(department);
  const [fromValue, setFromValue] = useUrlValue(hiredFrom);
  const [toValue, setToValue] = useUrlValue(hiredTo);
  const [rangeError, setRangeError] = useState<string | null>(null);

  const query = {
    q,
    status: status.join(','),
    workerType: workerType.join(','),
    department,
    hiredFrom,
    hiredTo,
    sort: sort === 'name' ? undefined : sort,
    order: order === 'asc' ? undefined : order,
    cursor: cursor ?? undefined,
    limit: PAGE_SIZE,
  };
  const list = useApiData(
    (signal) => api.get<PeoplePageData>('/api/v1/people', query, signal),
    JSON.stringify(query),
  );
  const departments = useApiData(
    (signal) => api.get<{ items: string[] }>('/api/v1/people/departments', undefined, signal),
    'departments',
  );

  const filtered = FILTER_KEYS.some((k) => params.get(k));
  const clearFilters = () => {
    setRangeError(null);
    setSearch('');
    update(Object.fromEntries(FILTER_KEYS.map((k) => [k, null])));
  };

  const goNext = () => {
    const next = list.data?.nextCursor;
    if (!next) return;
    const p = new URLSearchParams(params);
    p.set('cursor', next);
    navigate(
      { search: `?${p.toString()}` },
      { state: { cursorStack: [...stack, cursor] } satisfies PagingState },
    );
  };
  const goPrevious = () => {
    const p = new URLSearchParams(params);
    const previous = stack.pop();
    if (previous) p.set('cursor', previous);
    else p.delete('cursor');
    navigate({ search: `?${p.toString()}` }, { state: { cursorStack: stack } satisfies PagingState });
  };

  const setDate = (which: 'hiredFrom' | 'hiredTo', value: string) => {
    (which === 'hiredFrom' ? setFromValue : setToValue)(value);
    if (value && !DATE_RE.test(value)) return;
    const from = which === 'hiredFrom' ? value : fromValue;
    const to = which === 'hiredTo' ? value : toValue;
    if (from && to && from > to) {
      setRangeError('“Start date from” must be on or before “Start date to”');
      return;
    }
    setRangeError(null);
    update({ hiredFrom: from || null, hiredTo: to || null });
  };

  const departmentOptions = [...(departments.data?.items ?? [])];
  if (department && !departmentOptions.includes(department)) departmentOptions.unshift(department);

  const data = list.data;
  const items = data?.items ?? [];
  const first = stack.length * PAGE_SIZE + 1;
  const totalText = data ? `${formatNumber(data.total)}${data.totalCapped ? '+' : ''}` : '';
  const th = sortableHeader(sort, order, (f, o) =>
    update({ sort: f === 'name' ? null : f, order: o === 'asc' ? null : o }),
  );

  const openPerson = (e: React.MouseEvent, p: PersonView) => {
    // Links and buttons in the row do their own thing; selecting text is not a click on the row.
    if ((e.target as HTMLElement).closest('a, button, input')) return;
    if (window.getSelection()?.toString()) return;
    navigate(`/people/${encodeURIComponent(p.id)}`);
  };

  return (
    <Page
      title="People"
      description="Everyone Gatehouse knows from HR: employees, contractors, interns and partners."
      actions={
        <>
          <Button
            component={Link}
            to="/people/duplicates"
            variant="default"
            leftSection={<IconCopy size={16} aria-hidden />}
          >
            Possible duplicates
          </Button>
          {can('hr:write') ? (
            <Button component={Link} to="/hr/imports" leftSection={<IconFileImport size={16} aria-hidden />}>
              Import HR file
            </Button>
          ) : null}
        </>
      }
    >
      <Paper withBorder p="md" radius="md" role="search" aria-label="Filter people">
        <Stack gap="sm">
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 4 }} spacing="sm" verticalSpacing="sm">
            <TextInput
              label="Search people"
              placeholder="Name, employee ID or username"
              type="search"
              leftSection={<IconSearch size={16} aria-hidden />}
              value={search}
              onChange={(e) => setSearch(e.currentTarget.value)}
            />
            <NativeSelect
              label="Department"
              value={departmentValue}
              onChange={(e) => {
                setDepartmentValue(e.currentTarget.value);
                update({ department: e.currentTarget.value });
              }}
              data={[{ value: '', label: 'All departments' }, ...departmentOptions]}
            />
            <TextInput
              label="Start date from"
              type="date"
              value={fromValue}
              onChange={(e) => setDate('hiredFrom', e.currentTarget.value)}
              error={rangeError}
            />
            <TextInput
              label="Start date to"
              type="date"
              value={toValue}
              onChange={(e) => setDate('hiredTo', e.currentTarget.value)}
            />
          </SimpleGrid>
          <Group gap="xl" align="flex-end" wrap="wrap">
            <Checkbox.Group
              label="Status"
              value={statusValue ? statusValue.split(',') : []}
              onChange={(v) => {
                const s = STATUSES.filter((x) => v.includes(x)).join(',');
                setStatusValue(s);
                update({ status: s });
              }}
            >
              <Group gap="md" mt={6}>
                {STATUSES.map((s) => (
                  <Checkbox key={s} value={s} label={STATUS_LABELS[s]} />
                ))}
              </Group>
            </Checkbox.Group>
            <Checkbox.Group
              label="Worker type"
              value={typeValue ? typeValue.split(',') : []}
              onChange={(v) => {
                const t = WORKER_TYPES.filter((x) => v.includes(x)).join(',');
                setTypeValue(t);
                update({ workerType: t });
              }}
            >
              <Group gap="md" mt={6}>
                {WORKER_TYPES.map((t) => (
                  <Checkbox key={t} value={t} label={WORKER_TYPE_LABELS[t]} />
                ))}
              </Group>
            </Checkbox.Group>
            {filtered ? (
              <Button
                variant="subtle"
                leftSection={<IconFilterOff size={16} aria-hidden />}
                onClick={clearFilters}
              >
                Clear filters
              </Button>
            ) : null}
          </Group>
        </Stack>
      </Paper>

      {list.error ? (
        <ErrorState error={list.error} what="people" onRetry={list.reload} />
      ) : !data ? (
        <LoadingRows label="Loading people…" rows={8} />
      ) : items.length === 0 ? (
        filtered ? (
          <Empty
            title="No people match these filters"
            description="Check the spelling, or widen the filters."
            icon={<IconFilterOff aria-hidden />}
          >
            <Button variant="light" onClick={clearFilters}>
              Clear filters
            </Button>
          </Empty>
        ) : cursor ? (
          <Empty title="No more people on this page.">
            <Button variant="light" onClick={() => update({ cursor: null })}>
              Back to the first page
            </Button>
          </Empty>
        ) : (
          <Empty
            title="No people yet — import an HR file"
            description="People come from your HR system: upload an export (CSV) and Gatehouse creates them, with usernames and work email addresses."
            icon={<IconUsers aria-hidden />}
          >
            {can('hr:write') ? (
              <Button
                component={Link}
                to="/hr/imports"
                leftSection={<IconFileImport size={16} aria-hidden />}
              >
                Import an HR file
              </Button>
            ) : (
              <Text size="sm" c="dimmed">
                Ask someone who may import HR files to upload the first export.
              </Text>
            )}
          </Empty>
        )
      ) : (
        <Stack gap="sm">
          {q ? (
            <Text size="sm" c="dimmed">
              Best matches first.
            </Text>
          ) : null}
          <Table.ScrollContainer minWidth={900}>
            <Table aria-label="People" aria-busy={list.loading}>
              <Table.Thead>
                <Table.Tr>
                  {q ? <Table.Th scope="col">Name</Table.Th> : th('Name', 'name')}
                  <Table.Th scope="col">Username</Table.Th>
                  <Table.Th scope="col">Title</Table.Th>
                  <Table.Th scope="col">Department</Table.Th>
                  <Table.Th scope="col">Status</Table.Th>
                  {q ? <Table.Th scope="col">Start date</Table.Th> : th('Start date', 'hire_date')}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {items.map((p) => (
                  <Table.Tr
                    key={p.id}
                    data-person-id={p.id}
                    className="clickable-row"
                    onClick={(e) => openPerson(e, p)}
                  >
                    <Table.Td>
                      <Anchor component={Link} to={`/people/${encodeURIComponent(p.id)}`} fw={500} size="sm">
                        {p.displayName}
                      </Anchor>
                      <Text size="xs" c="dimmed" className="mono">
                        {p.employeeId}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" className="mono">
                        {p.username ?? '—'}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{p.title ?? '—'}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{p.department ?? '—'}</Text>
                    </Table.Td>
                    <Table.Td>
                      <StatusBadge status={p.status} />
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{formatCalendarDate(p.hireDate)}</Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Pager
            summary={
              <span data-testid="people-total">
                {formatNumber(first)}–{formatNumber(first + items.length - 1)} of {totalText}{' '}
                {data.total === 1 && !data.totalCapped ? 'person' : 'people'}
              </span>
            }
            hasPrevious={!!cursor}
            hasNext={!!data.nextCursor}
            onPrevious={goPrevious}
            onNext={goNext}
            busy={list.loading}
          />
        </Stack>
      )}
    </Page>
  );
}
