import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import {
  Alert,
  Anchor,
  Button,
  Checkbox,
  Group,
  List,
  Loader,
  NativeSelect,
  Paper,
  Radio,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  Tooltip,
  VisuallyHidden,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import {
  IconAlertTriangle,
  IconCircleCheck,
  IconDownload,
  IconFilterOff,
  IconLink,
  IconRadar,
  IconSearch,
  IconShieldCheck,
  IconTool,
} from '@tabler/icons-react';
import { api, ApiError, describe, withQuery } from '../api';
import { useSession } from '../session';
import { useListQuery } from '../listQuery';
import {
  Empty,
  ErrorState,
  LoadingRows,
  NoAccess,
  Page,
  Pager,
  useApiData,
  useUrlValue,
  When,
} from '../components/ui';
import {
  ChangeSetLink,
  ChangeSetStatusBadge,
  changeSetPath,
  changeSetsChanged,
  type ChangeSetStatus,
  type RecordedChangeSet,
} from '../components/provisioning';
import {
  FindingStatusBadge,
  KIND_HINTS,
  KIND_LABELS,
  KINDS,
  NO_AUTOMATIC_FIX,
  NO_FIX_HINT,
  SEVERITIES,
  SEVERITY,
  SeverityBadge,
  sentence,
  shortAccount,
  suggestionOf,
  useReconAccess,
  type FindingKind,
  type FindingList,
  type FindingView,
  type RunResult,
  type Severity,
  type TargetReconView,
} from '../components/reconcile';
import {
  STATUS_LABELS,
  WORKER_TYPE_LABELS,
  type PeoplePage as PeoplePageData,
  type PersonView,
} from '../components/people';
import { ConfirmDialog } from '../components/modal';
import { formatDate, formatNumber, formatRelative } from '../format';

const PAGE_SIZE = 50;
const STATUS_OPTIONS = [
  { value: '', label: 'Open' },
  { value: 'accepted', label: 'Risk accepted' },
  { value: 'closed', label: 'Closed' },
  { value: 'all', label: 'All' },
];
/** Every filter the list has (the search box included); "Clear filters" drops them all. */
const FILTER_KEYS = ['target', 'kind', 'severity', 'status', 'q'] as const;
/** The longest a risk may be accepted for (the server allows a year). */
const MAX_ACCEPT_DAYS = 365;
const DEFAULT_ACCEPT_DAYS = 90;

interface PagingState {
  /** `before` cursors of the pages before this one (null = the first page), for "Previous page". */
  cursorStack?: (string | null)[];
}

export default function FindingsPage() {
  const access = useReconAccess();
  if (!access.read)
    return (
      <Page title="Findings">
        <NoAccess what="reconciliation findings" />
      </Page>
    );
  return <Findings />;
}

function oneOf<T extends string>(value: string | null, allowed: readonly T[]): T | '' {
  return value && (allowed as readonly string[]).includes(value) ? (value as T) : '';
}

function Findings() {
  const access = useReconAccess();
  const { can } = useSession();
  // Choosing an owner by hand searches people.
  const canSearchPeople = can('people:read');
  const navigate = useNavigate();
  const location = useLocation();
  const { params, q, update, search, setSearch } = useListQuery();
  const target = params.get('target') ?? '';
  const kind = oneOf<FindingKind>(params.get('kind'), KINDS);
  const severity = oneOf<Severity>(params.get('severity'), SEVERITIES);
  const status = oneOf(params.get('status'), ['accepted', 'closed', 'all'] as const);
  // The URL's `cursor` is the API's `before` (list pages share `cursor`: a filter change drops it).
  const cursor = /^\d+$/.test(params.get('cursor') ?? '') ? params.get('cursor')! : '';
  const stack = ((location.state as PagingState | null)?.cursorStack ?? []).slice();

  const [targetValue, setTargetValue] = useUrlValue(target);
  const [kindValue, setKindValue] = useUrlValue<string>(kind);
  const [severityValue, setSeverityValue] = useUrlValue<string>(severity);
  const [statusValue, setStatusValue] = useUrlValue<string>(status);

  /** The filters as the API and the reports take them (the status always said, for the downloaded file). */
  const filters = { target, kind, severity, status: status || 'open', q };
  const query = { ...filters, before: cursor, limit: PAGE_SIZE };
  const key = JSON.stringify(query);
  const list = useApiData((signal) => api.get<FindingList>('/api/v1/findings', query, signal), key);
  const recon = useApiData(
    (signal) => api.get<{ items: TargetReconView[] }>('/api/v1/reconciliation', undefined, signal),
    'reconciliation',
  );

  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [fixing, setFixing] = useState(false);
  const [accepting, setAccepting] = useState<FindingView | null>(null);
  const [planned, setPlanned] = useState<RecordedChangeSet | null>(null);
  const [acceptedNote, setAcceptedNote] = useState<string | null>(null);
  const [linking, setLinking] = useState<LinkRequest | null>(null);
  const [linked, setLinked] = useState<Linked | null>(null);
  // Accounts linked on this page (object id → owner): their findings stay open until the next run, so their row
  // says so instead of offering the link again.
  const [linkedObjects, setLinkedObjects] = useState<ReadonlyMap<string, string>>(new Map());
  // A new list (other filters, another page, after an action) starts with nothing selected.
  useEffect(() => setSelected(new Set()), [list.data]);

  const items = list.data?.items ?? [];
  const selectable = (f: FindingView) => access.write && f.status === 'open' && !NO_AUTOMATIC_FIX.has(f.kind);
  const pageSelectable = items.filter(selectable);
  const chosen = items.filter((f) => selected.has(f.id));
  const allChosen = pageSelectable.length > 0 && pageSelectable.every((f) => selected.has(f.id));
  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });

  const filtered = FILTER_KEYS.some((k) => params.get(k));
  const clearFilters = () => {
    setSearch('');
    update(Object.fromEntries(FILTER_KEYS.map((k) => [k, null])));
  };
  const setFilter = (name: (typeof FILTER_KEYS)[number], value: string, show: (v: string) => void) => {
    show(value);
    update({ [name]: value });
  };

  const goNext = () => {
    const next = list.data?.next;
    if (next === null || next === undefined) return;
    const p = new URLSearchParams(params);
    p.set('cursor', String(next));
    navigate(
      { search: `?${p.toString()}` },
      { state: { cursorStack: [...stack, cursor || null] } satisfies PagingState },
    );
  };
  const goPrevious = () => {
    const p = new URLSearchParams(params);
    const previous = stack.pop();
    if (previous) p.set('cursor', previous);
    else p.delete('cursor');
    navigate({ search: `?${p.toString()}` }, { state: { cursorStack: stack } satisfies PagingState });
  };

  const targets = useMemo(() => {
    const names = (recon.data?.items ?? []).map((t) => t.target);
    if (target && !names.includes(target)) names.unshift(target);
    return names;
  }, [recon.data, target]);
  const neverRun = !!recon.data && recon.data.items.every((t) => !t.lastRun);
  const first = stack.length * PAGE_SIZE + 1;
  const total = list.data?.total ?? 0;

  const downloads = (
    <>
      <Button
        component="a"
        href={withQuery('/api/v1/reports/findings.csv', filters)}
        download
        variant="default"
        leftSection={<IconDownload size={16} aria-hidden />}
      >
        Download CSV
      </Button>
      <Button
        component="a"
        href={withQuery('/api/v1/reports/findings.xlsx', filters)}
        download
        variant="default"
        leftSection={<IconDownload size={16} aria-hidden />}
      >
        Download XLSX
      </Button>
    </>
  );

  return (
    <Page
      title="Findings"
      description="What reconciliation found on your connected systems: accounts without an owner, leavers who still have access, and accounts that differ from the policy. They close by themselves once the next run no longer finds them."
      actions={neverRun ? undefined : downloads}
    >
      {planned ? <PlannedAlert set={planned} onClose={() => setPlanned(null)} /> : null}
      {linked ? (
        <LinkedAlert
          linked={linked}
          canReconcile={access.write}
          onClose={() => setLinked(null)}
          onReconciled={() => {
            list.reload();
            recon.reload();
          }}
        />
      ) : null}
      {acceptedNote ? (
        <Alert
          color="teal"
          variant="light"
          icon={<IconCircleCheck aria-hidden />}
          withCloseButton
          closeButtonLabel="Dismiss"
          onClose={() => setAcceptedNote(null)}
          data-testid="accepted-result"
        >
          {acceptedNote}
        </Alert>
      ) : null}

      <Paper withBorder p="md" radius="md" role="search" aria-label="Filter findings">
        <Stack gap="sm">
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 5 }} spacing="sm" verticalSpacing="sm">
            <TextInput
              label="Search findings"
              placeholder="Account, person, words"
              type="search"
              leftSection={<IconSearch size={16} aria-hidden />}
              value={search}
              onChange={(e) => setSearch(e.currentTarget.value)}
            />
            <NativeSelect
              label="Target"
              value={targetValue}
              onChange={(e) => setFilter('target', e.currentTarget.value, setTargetValue)}
              data={[{ value: '', label: 'All targets' }, ...targets]}
            />
            <NativeSelect
              label="Kind"
              value={kindValue}
              onChange={(e) => setFilter('kind', e.currentTarget.value, setKindValue)}
              data={[
                { value: '', label: 'All kinds' },
                ...KINDS.map((k) => ({ value: k, label: KIND_LABELS[k] })),
              ]}
            />
            <NativeSelect
              label="Severity"
              value={severityValue}
              onChange={(e) => setFilter('severity', e.currentTarget.value, setSeverityValue)}
              data={[
                { value: '', label: 'All severities' },
                ...SEVERITIES.map((s) => ({ value: s, label: SEVERITY[s].label })),
              ]}
            />
            <NativeSelect
              label="Status"
              value={statusValue}
              onChange={(e) => setFilter('status', e.currentTarget.value, setStatusValue)}
              data={STATUS_OPTIONS}
            />
          </SimpleGrid>
          {filtered ? (
            <div>
              <Button
                variant="subtle"
                leftSection={<IconFilterOff size={16} aria-hidden />}
                onClick={clearFilters}
              >
                Clear filters
              </Button>
            </div>
          ) : null}
        </Stack>
      </Paper>

      {list.error ? (
        <ErrorState error={list.error} what="findings" onRetry={list.reload} />
      ) : !list.data ? (
        <LoadingRows label="Loading findings…" rows={6} />
      ) : items.length === 0 ? (
        cursor ? (
          <Empty title="No more findings on this page.">
            <Button variant="light" onClick={() => update({ cursor: null })}>
              Back to the first page
            </Button>
          </Empty>
        ) : neverRun && !filtered ? (
          <Empty
            title="No reconciliation has run yet"
            icon={<IconRadar aria-hidden />}
            description={
              <>
                Reconciliation reads every account on a connected system, finds whom each one belongs to, and
                compares what is there with what the policy says should be there. Whatever does not match — an
                account without an owner, a leaver who can still sign in, a group given by hand — becomes a
                finding here. Start a run on the{' '}
                <Anchor component={Link} to="/reconciliation">
                  Reconciliation page
                </Anchor>
                .
              </>
            }
          >
            <Button component={Link} to="/reconciliation" leftSection={<IconRadar size={16} aria-hidden />}>
              Go to Reconciliation
            </Button>
          </Empty>
        ) : !status && !kind && !severity && !q && !target ? (
          <Empty
            title="Nothing open — every account matches the policy"
            icon={<IconShieldCheck aria-hidden />}
            description="The last reconciliation of each target found nothing to fix. New findings appear here after the next run finds them."
          />
        ) : (
          <Empty
            title="No findings match these filters"
            description={
              status === 'accepted'
                ? 'No risk has been accepted with these filters.'
                : 'Try another status or target, or clear the filters.'
            }
            icon={<IconFilterOff aria-hidden />}
          >
            <Button variant="light" onClick={clearFilters}>
              Clear filters
            </Button>
          </Empty>
        )
      ) : (
        <Stack gap="sm">
          {pageSelectable.length ? (
            <Group gap="sm" justify="space-between" wrap="wrap">
              <Text size="sm" c="dimmed" aria-live="polite" data-testid="selection-count">
                {chosen.length
                  ? `${formatNumber(chosen.length)} selected`
                  : 'Select findings to fix them with one change set.'}
              </Text>
              <Button
                leftSection={<IconTool size={16} aria-hidden />}
                disabled={chosen.length === 0}
                onClick={() => setFixing(true)}
              >
                Fix selected
              </Button>
            </Group>
          ) : null}
          <FindingsTable
            items={items}
            busy={list.loading}
            selectable={selectable}
            selected={selected}
            onToggle={toggle}
            allChosen={allChosen}
            someChosen={chosen.length > 0}
            onToggleAll={() => setSelected(allChosen ? new Set() : new Set(pageSelectable.map((f) => f.id)))}
            showSelect={pageSelectable.length > 0}
            canAccept={access.approve}
            onAccept={setAccepting}
            canLink={access.write}
            canPick={canSearchPeople}
            linkedTo={linkedObjects}
            onLink={(finding, mode) => setLinking({ finding, mode })}
          />
          <Pager
            summary={
              <span data-testid="findings-total">
                {formatNumber(first)}–{formatNumber(first + items.length - 1)} of {formatNumber(total)}{' '}
                {total === 1 ? 'finding' : 'findings'}
              </span>
            }
            hasPrevious={!!cursor}
            hasNext={list.data.next !== null}
            onPrevious={goPrevious}
            onNext={goNext}
            busy={list.loading}
          />
        </Stack>
      )}

      <FixDialog
        findings={chosen}
        opened={fixing}
        onClose={() => setFixing(false)}
        onDone={(set) => {
          setFixing(false);
          setPlanned(set);
          changeSetsChanged();
          list.reload();
        }}
      />
      <LinkDialog
        request={linking}
        onClose={() => setLinking(null)}
        onDone={(f, person) => {
          setLinking(null);
          if (f.objectId) setLinkedObjects((m) => new Map(m).set(f.objectId!, person.name));
          setLinked({ finding: f, person });
        }}
      />
      <AcceptDialog
        finding={accepting}
        onClose={() => setAccepting(null)}
        onDone={(f) => {
          setAccepting(null);
          setAcceptedNote(
            `The risk of finding #${f.seq} is accepted until ${formatDate(f.acceptedUntil)}. It is listed under “Risk accepted”; the first run after that date opens it again.`,
          );
          list.reload();
        }}
      />
    </Page>
  );
}

function PlannedAlert({ set, onClose }: { set: RecordedChangeSet; onClose: () => void }) {
  const waits = set.status === 'awaiting_approval';
  return (
    <Alert
      color={waits ? 'orange' : 'blue'}
      variant="light"
      icon={<IconTool aria-hidden />}
      title="The fix is planned"
      withCloseButton
      closeButtonLabel="Dismiss"
      onClose={onClose}
      data-testid="remediation-result"
    >
      <Stack gap={4}>
        <Anchor component={Link} to={changeSetPath(set.id)} size="sm" fw={500}>
          {waits
            ? `Change set #${set.seq} waits for approval by someone else`
            : `Change set #${set.seq} was recorded`}
        </Anchor>
        <Text size="sm">
          Nothing changes on the target until it is approved. After it is applied, the next reconciliation
          closes the findings it fixed.
        </Text>
      </Stack>
    </Alert>
  );
}

function FindingsTable({
  items,
  busy,
  selectable,
  selected,
  onToggle,
  allChosen,
  someChosen,
  onToggleAll,
  showSelect,
  canAccept,
  onAccept,
  canLink,
  canPick,
  linkedTo,
  onLink,
}: {
  items: FindingView[];
  busy: boolean;
  selectable: (f: FindingView) => boolean;
  selected: ReadonlySet<string>;
  onToggle: (id: string) => void;
  allChosen: boolean;
  someChosen: boolean;
  onToggleAll: () => void;
  showSelect: boolean;
  canAccept: boolean;
  onAccept: (f: FindingView) => void;
  canLink: boolean;
  canPick: boolean;
  linkedTo: ReadonlyMap<string, string>;
  onLink: (f: FindingView, mode: LinkMode) => void;
}) {
  return (
    <Table.ScrollContainer minWidth={1000}>
      <Table aria-label="Findings" aria-busy={busy} fz="sm" verticalSpacing="sm">
        <Table.Thead>
          <Table.Tr>
            {showSelect ? (
              <Table.Th scope="col" w={40}>
                <Checkbox
                  aria-label="Select every finding on this page that can be fixed"
                  checked={allChosen}
                  indeterminate={someChosen && !allChosen}
                  disabled={!items.some(selectable)}
                  onChange={onToggleAll}
                />
              </Table.Th>
            ) : null}
            <Table.Th scope="col">Severity</Table.Th>
            <Table.Th scope="col">Kind</Table.Th>
            <Table.Th scope="col">Target</Table.Th>
            <Table.Th scope="col">Account</Table.Th>
            <Table.Th scope="col">Person</Table.Th>
            <Table.Th scope="col">Finding</Table.Th>
            <Table.Th scope="col">Fix</Table.Th>
            <Table.Th scope="col">Opened</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((f) => (
            <Table.Tr key={f.id} data-finding={f.seq} data-kind={f.kind}>
              {showSelect ? (
                <Table.Td>
                  {selectable(f) ? (
                    <Checkbox
                      aria-label={`Select finding #${f.seq}`}
                      checked={selected.has(f.id)}
                      onChange={() => onToggle(f.id)}
                    />
                  ) : NO_AUTOMATIC_FIX.has(f.kind) && f.status === 'open' ? (
                    <Tooltip label={NO_FIX_HINT[f.kind] ?? 'No automatic fix'}>
                      <Checkbox aria-label={`Finding #${f.seq} has no automatic fix`} disabled />
                    </Tooltip>
                  ) : null}
                </Table.Td>
              ) : null}
              <Table.Td>
                <SeverityBadge severity={f.severity} />
              </Table.Td>
              <Table.Td>
                <Tooltip label={KIND_HINTS[f.kind] ?? ''} disabled={!KIND_HINTS[f.kind]} multiline maw={260}>
                  <Text size="sm" fw={500} span tabIndex={0}>
                    {KIND_LABELS[f.kind] ?? f.kind}
                  </Text>
                </Tooltip>
                {f.status !== 'open' ? (
                  <div>
                    <FindingStatusBadge status={f.status} />
                  </div>
                ) : null}
              </Table.Td>
              <Table.Td>{f.target}</Table.Td>
              <Table.Td>
                {f.account ? (
                  <Text size="sm" className="mono" title={f.account} style={{ wordBreak: 'normal' }}>
                    {shortAccount(f.account)}
                  </Text>
                ) : (
                  <Text size="sm" c="dimmed">
                    —
                  </Text>
                )}
              </Table.Td>
              <Table.Td>
                <PersonCell
                  finding={f}
                  canLink={canLink}
                  canPick={canPick}
                  linkedTo={
                    (f.objectId ? linkedTo.get(f.objectId) : undefined) ??
                    (f.kind === 'orphan' ? (f.accountOwner?.name ?? null) : null)
                  }
                  onLink={(mode) => onLink(f, mode)}
                />
              </Table.Td>
              <Table.Td maw={380}>
                <Stack gap={4}>
                  <Text size="sm">{f.summary}</Text>
                  <Details finding={f} />
                  <Outcome finding={f} />
                </Stack>
              </Table.Td>
              <Table.Td maw={240}>
                <Stack gap={6} align="flex-start">
                  <Text size="sm">{f.fix}</Text>
                  {canAccept && f.status === 'open' ? (
                    <Button size="compact-xs" variant="default" onClick={() => onAccept(f)}>
                      Accept risk<VisuallyHidden> of finding #{f.seq}</VisuallyHidden>
                    </Button>
                  ) : null}
                </Stack>
              </Table.Td>
              <Table.Td>
                <When at={f.openedAt} show={formatRelative} />
                {f.openedRun ? (
                  <Text size="xs" c="dimmed">
                    run #{f.openedRun}
                  </Text>
                ) : null}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function PersonCell({
  finding: f,
  canLink,
  canPick,
  linkedTo,
  onLink,
}: {
  finding: FindingView;
  canLink: boolean;
  canPick: boolean;
  /** Whom the account was linked to on this page (the finding closes at the next run). */
  linkedTo: string | null;
  onLink: (mode: LinkMode) => void;
}) {
  if (f.personId)
    return (
      <>
        <Anchor component={Link} to={`/people/${encodeURIComponent(f.personId)}`} size="sm">
          {f.personName ?? 'Open person'}
        </Anchor>
        {f.employeeId ? (
          <Text size="xs" c="dimmed" className="mono">
            {f.employeeId}
          </Text>
        ) : null}
      </>
    );
  const s = suggestionOf(f);
  const linkable = canLink && f.kind === 'orphan' && f.status !== 'closed' && !!f.objectId;
  return (
    <Stack gap={6} align="flex-start">
      <Text size="sm" c="dimmed">
        Nobody
      </Text>
      {linkedTo && f.status !== 'closed' ? (
        <Text size="xs" c="teal.8" data-testid="linked-owner">
          Linked to {linkedTo}. This finding closes at the next reconciliation.
        </Text>
      ) : (
        <>
          {s ? (
            <Text size="xs" data-testid="suggested-owner">
              Suggested owner:{' '}
              <Anchor component={Link} to={`/people/${encodeURIComponent(s.personId)}`} size="xs">
                {s.name}
              </Anchor>
              {s.employeeId ? ` (${s.employeeId})` : ''}
            </Text>
          ) : null}
          {linkable && s ? (
            <Button
              size="compact-xs"
              variant="light"
              leftSection={<IconLink size={14} aria-hidden />}
              onClick={() => onLink('suggestion')}
            >
              Link to {s.name}
              <VisuallyHidden> (finding #{f.seq})</VisuallyHidden>
            </Button>
          ) : null}
          {linkable && canPick ? (
            <Button size="compact-xs" variant="subtle" onClick={() => onLink('pick')}>
              {s ? 'Link to someone else…' : 'Link to its owner…'}
              <VisuallyHidden> (finding #{f.seq})</VisuallyHidden>
            </Button>
          ) : null}
        </>
      )}
    </Stack>
  );
}

const show = (v: unknown) =>
  v === null || v === undefined || v === '' ? '(empty)' : Array.isArray(v) ? v.join(', ') : String(v);

/** What the evidence adds to the summary: the attributes that differ. */
function Details({ finding: f }: { finding: FindingView }) {
  const differences = Array.isArray(f.evidence.differences)
    ? (f.evidence.differences as { attribute: string; found: unknown; expected: unknown }[])
    : [];
  if (!differences.length) return null;
  return (
    <List size="xs" spacing={0} aria-label={`What differs on finding #${f.seq}`}>
      {differences.map((d) => (
        <List.Item key={d.attribute}>
          <span className="mono">{d.attribute}</span>: is “{show(d.found)}”, the policy says “
          {show(d.expected)}”
        </List.Item>
      ))}
    </List>
  );
}

/** What was decided about the finding: its accepted risk, and the change set that fixes it. */
function Outcome({ finding: f }: { finding: FindingView }) {
  const parts: ReactNode[] = [];
  if (f.status === 'accepted')
    parts.push(
      <Text size="xs" key="accepted" data-testid="accepted">
        Risk accepted{f.acceptedBy ? ` by ${f.acceptedBy}` : ''} until{' '}
        <time dateTime={f.acceptedUntil ?? undefined}>{formatDate(f.acceptedUntil)}</time>
        {f.justification ? `: “${f.justification}”` : ''}
      </Text>,
    );
  if (f.status === 'closed' && f.closedAt)
    parts.push(
      <Text size="xs" c="dimmed" key="closed">
        Closed {formatRelative(f.closedAt)}: the last run no longer found it.
      </Text>,
    );
  if (f.changeSetId)
    parts.push(
      <Group gap={6} key="change-set" wrap="wrap" data-testid="finding-change-set">
        <ChangeSetLink id={f.changeSetId} seq={f.changeSetSeq ?? undefined} />
        {f.changeSetStatus ? <ChangeSetStatusBadge status={f.changeSetStatus as ChangeSetStatus} /> : null}
      </Group>,
    );
  return parts.length ? <>{parts}</> : null;
}

function remediationError(e: unknown): ReactNode {
  if (e instanceof ApiError && e.code === 'finding_wrong_state' && e.problem.errors?.length)
    return (
      <Stack gap={4}>
        <Text size="sm">These findings cannot be fixed by a change set:</Text>
        <List size="sm" spacing={2}>
          {e.problem.errors.map((p) => (
            <List.Item key={p.field}>
              {sentence(p.field)}: {p.message}
            </List.Item>
          ))}
        </List>
        <Text size="sm">Leave them out, or close this and look again: someone may have acted on them.</Text>
      </Stack>
    );
  if (e instanceof ApiError) return sentence(e.status === 403 ? describe(e) : e.detail);
  return describe(e);
}

function FixDialog({
  findings,
  opened,
  onClose,
  onDone,
}: {
  findings: FindingView[];
  opened: boolean;
  onClose: () => void;
  onDone: (set: RecordedChangeSet) => void;
}) {
  const n = findings.length;
  return (
    <ConfirmDialog
      title={n === 1 ? 'Fix this finding?' : `Fix these ${formatNumber(n)} findings?`}
      opened={opened}
      onClose={onClose}
      action="Plan the fix"
      explain={remediationError}
      submit={async () => {
        const r = await api.post<{ changeSet: RecordedChangeSet }>('/api/v1/findings/remediate', {
          ids: findings.map((f) => f.id),
        });
        onDone(r.changeSet);
      }}
    >
      <Text size="sm">
        Gatehouse plans one change set with what fixes {n === 1 ? 'it' : 'them'}: accounts without an owner or
        unused are disabled, attributes are set back to what the policy says, groups nobody gave are removed.
      </Text>
      <List size="sm" spacing={2}>
        {findings.slice(0, 10).map((f) => (
          <List.Item key={f.id}>
            #{f.seq} {KIND_LABELS[f.kind] ?? f.kind}: {f.summary}
          </List.Item>
        ))}
        {n > 10 ? <List.Item>and {formatNumber(n - 10)} more</List.Item> : null}
      </List>
      <Text size="sm" fw={500}>
        The change set waits for approval by someone other than you. Nothing changes on the target before
        that.
      </Text>
    </ConfirmDialog>
  );
}

/** A date as <input type="date"> takes it, in local time. */
function dateInput(d: Date): string {
  const pad = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function daysAhead(days: number): string {
  const d = new Date();
  d.setDate(d.getDate() + days);
  return dateInput(d);
}

function AcceptDialog({
  finding,
  onClose,
  onDone,
}: {
  finding: FindingView | null;
  onClose: () => void;
  onDone: (f: FindingView) => void;
}) {
  const [justification, setJustification] = useState('');
  const [until, setUntil] = useState('');
  const [errors, setErrors] = useState<{ justification?: string; until?: string }>({});
  // Keep the last finding while the dialog closes (its title should not change as it fades out).
  const [shown, setShown] = useState<FindingView | null>(finding);
  useEffect(() => {
    if (finding) setShown(finding);
  }, [finding]);
  const f = finding ?? shown;
  return (
    <ConfirmDialog
      title={f ? `Accept the risk of finding #${f.seq}?` : 'Accept the risk?'}
      opened={!!finding}
      onClose={onClose}
      action="Accept risk"
      color="grape"
      reset={() => {
        setJustification('');
        setUntil(daysAhead(DEFAULT_ACCEPT_DAYS));
        setErrors({});
      }}
      submit={async () => {
        if (!f) return false;
        if (!until) {
          setErrors({ until: 'Choose the date until which the risk is accepted' });
          return false;
        }
        setErrors({});
        try {
          // Through the end of the chosen day, in the operator's time zone.
          const r = await api.post<FindingView>(`/api/v1/findings/${encodeURIComponent(f.id)}/accept`, {
            justification,
            until: new Date(`${until}T23:59:59`).toISOString(),
          });
          onDone(r);
        } catch (e) {
          const fields = e instanceof ApiError ? e.fieldErrors : {};
          if (fields.justification || fields.until) {
            setErrors({
              ...(fields.justification ? { justification: sentence(fields.justification) } : {}),
              ...(fields.until ? { until: sentence(fields.until) } : {}),
            });
            return false;
          }
          throw e;
        }
      }}
    >
      {f ? (
        <Text size="sm">
          {f.summary}. Accepting the risk keeps it out of the open findings until the date below; the first
          reconciliation after that date opens it again. You are recorded as its approver.
        </Text>
      ) : null}
      <Textarea
        label="Justification"
        description="Why the risk is acceptable until then, for whoever reviews it later."
        required
        autosize
        minRows={3}
        maxLength={2000}
        data-autofocus
        value={justification}
        onChange={(e) => {
          setJustification(e.currentTarget.value);
          setErrors((x) => ({ ...x, justification: undefined }));
        }}
        error={errors.justification}
      />
      <TextInput
        label="Accepted until"
        description="At most a year from today."
        type="date"
        required
        min={daysAhead(1)}
        max={daysAhead(MAX_ACCEPT_DAYS)}
        value={until}
        onChange={(e) => {
          setUntil(e.currentTarget.value);
          setErrors((x) => ({ ...x, until: undefined }));
        }}
        error={errors.until}
      />
    </ConfirmDialog>
  );
}

// ── Linking an account to its owner ──────────────────────────────────────────────────────────────────────────────

/** Confirm the run's suggestion, or choose the owner by hand. */
type LinkMode = 'suggestion' | 'pick';

interface LinkRequest {
  finding: FindingView;
  mode: LinkMode;
}

interface Owner {
  id: string;
  name: string;
  employeeId: string | null;
}

interface Linked {
  finding: FindingView;
  person: Owner;
}

/** How many people the owner search shows. */
const PICK_LIMIT = 8;

const ownerLabel = (o: Pick<Owner, 'name' | 'employeeId'>) =>
  o.employeeId ? `${o.name} (${o.employeeId})` : o.name;

/** The words for a failed link: what happened and what to do, without codes. */
function linkError(e: unknown): ReactNode {
  if (!(e instanceof ApiError)) return describe(e);
  if (e.code === 'recon_object_not_found')
    return 'Gatehouse no longer has this account among the accounts it has read: a newer reconciliation may have found it gone. Close this and look at the findings again.';
  if (e.code === 'person_not_found')
    return 'That person is no longer in Gatehouse (their record may have been merged into another one). Choose someone else.';
  if (e.code === 'finding_wrong_state')
    return `Gatehouse manages this account itself, so its owner comes from provisioning and cannot be set by hand. (${sentence(e.detail)}.)`;
  if (e.status === 400 && e.problem.errors?.length)
    return (
      <Stack gap={4}>
        <Text size="sm">The link was not made:</Text>
        <List size="sm" spacing={2}>
          {e.problem.errors.map((p) => (
            <List.Item key={p.field}>{sentence(p.message)}</List.Item>
          ))}
        </List>
      </Stack>
    );
  if (e.status === 403) return describe(e);
  return sentence(e.detail);
}

function LinkDialog({
  request,
  onClose,
  onDone,
}: {
  request: LinkRequest | null;
  onClose: () => void;
  onDone: (f: FindingView, person: Owner) => void;
}) {
  // Keep the last request while the dialog closes (its title should not change as it fades out).
  const [shown, setShown] = useState<LinkRequest | null>(request);
  useEffect(() => {
    if (request) setShown(request);
  }, [request]);
  const [chosen, setChosen] = useState<Owner | null>(null);
  const [pickError, setPickError] = useState<string | null>(null);
  const r = request ?? shown;
  const f = r?.finding ?? null;
  const suggestion = f ? suggestionOf(f) : null;
  const suggested: Owner | null = suggestion
    ? { id: suggestion.personId, name: suggestion.name, employeeId: suggestion.employeeId }
    : null;
  const owner = r?.mode === 'suggestion' ? suggested : chosen;
  const account = f?.account ? shortAccount(f.account) : 'this account';
  const target = f?.target ?? 'the target';
  const whose = owner ? `${owner.name}’s` : 'that person’s';
  return (
    <ConfirmDialog
      title={
        r?.mode === 'suggestion' && suggested
          ? `Link ${account} to ${suggested.name}?`
          : `Who owns ${account} on ${target}?`
      }
      opened={!!request}
      onClose={onClose}
      action={owner ? `Link to ${owner.name}` : 'Link'}
      explain={linkError}
      reset={() => {
        setChosen(null);
        setPickError(null);
      }}
      submit={async () => {
        if (!f?.objectId) return false;
        if (!owner) {
          setPickError('Choose the person who owns this account.');
          return false;
        }
        await api.post(`/api/v1/recon-objects/${encodeURIComponent(f.objectId)}/link`, {
          personId: owner.id,
        });
        onDone(f, owner);
      }}
    >
      {r?.mode === 'suggestion' && suggestion ? (
        <Text size="sm">
          Reconciliation suggests {ownerLabel(suggested!)}
          {suggestion.score !== null
            ? ` because the account’s name is ${Math.round(suggestion.score * 100)}% like theirs`
            : ' because their names are alike'}
          . Link it only if you know the account is theirs.
        </Text>
      ) : null}
      {r?.mode === 'pick' ? (
        <OwnerPicker
          chosen={chosen}
          onChoose={(p) => {
            setChosen(p);
            setPickError(null);
          }}
          error={pickError}
        />
      ) : null}
      <Text size="sm" data-testid="link-explanation">
        The account {account} on {target} will be counted as {whose}: Gatehouse checks it against what the
        policy gives {owner ? owner.name : 'them'}, like any of their accounts. Nothing changes on {target}{' '}
        itself.
      </Text>
      <Text size="sm">
        The next reconciliation re-checks it: {f ? `finding #${f.seq}` : 'this finding'} then closes, and
        anything on the account the policy does not give {owner ? owner.name : 'them'} shows up as a new
        finding. The link is kept across runs and recorded in the audit trail with your name.
      </Text>
    </ConfirmDialog>
  );
}

/** Search people by name, employee ID or username and choose one. */
function OwnerPicker({
  chosen,
  onChoose,
  error,
}: {
  chosen: Owner | null;
  onChoose: (p: Owner) => void;
  error: string | null;
}) {
  const [q, setQ] = useState('');
  const [debounced] = useDebouncedValue(q.trim(), 250);
  const people = useApiData(
    (signal) =>
      debounced
        ? api.get<PeoplePageData>('/api/v1/people', { q: debounced, limit: PICK_LIMIT }, signal)
        : Promise.resolve(null),
    debounced,
  );
  const items = people.data?.items ?? [];
  const owner = (p: PersonView): Owner => ({ id: p.id, name: p.displayName, employeeId: p.employeeId });
  const details = (p: PersonView) =>
    [
      p.employeeId,
      p.department,
      WORKER_TYPE_LABELS[p.workerType] ?? p.workerType,
      p.status === 'active' ? null : (STATUS_LABELS[p.status] ?? p.status),
    ]
      .filter(Boolean)
      .join(' · ');
  return (
    <Stack gap="xs">
      <TextInput
        label="Find the owner"
        placeholder="Name, employee ID or username"
        type="search"
        leftSection={<IconSearch size={16} aria-hidden />}
        data-autofocus
        value={q}
        onChange={(e) => setQ(e.currentTarget.value)}
      />
      {!debounced ? (
        <Text size="sm" c="dimmed">
          Type part of their name, their employee ID or their username.
        </Text>
      ) : people.error ? (
        <Alert color="red" variant="light" icon={<IconAlertTriangle aria-hidden />} role="alert">
          Could not search people: {describe(people.error)}
        </Alert>
      ) : !people.data ? (
        <Group gap="xs" role="status">
          <Loader size="xs" />
          <Text size="sm" c="dimmed">
            Searching…
          </Text>
        </Group>
      ) : items.length === 0 ? (
        <Text size="sm" role="status">
          Nobody matches “{debounced}”. Try part of the name, or the employee ID.
        </Text>
      ) : (
        <Radio.Group
          label="Owner"
          value={chosen?.id ?? null}
          onChange={(id) => {
            const p = items.find((x) => x.id === id);
            if (p) onChoose(owner(p));
          }}
        >
          <Stack gap={8} mt={6} aria-busy={people.loading}>
            {items.map((p) => (
              <Radio key={p.id} value={p.id} label={p.displayName} description={details(p)} />
            ))}
          </Stack>
        </Radio.Group>
      )}
      {people.data && people.data.total > items.length ? (
        <Text size="xs" c="dimmed">
          The first {formatNumber(items.length)} of {formatNumber(people.data.total)}
          {people.data.totalCapped ? '+' : ''} people who match: type more to narrow it down.
        </Text>
      ) : null}
      {chosen && !items.some((p) => p.id === chosen.id) ? (
        <Text size="sm">Chosen: {ownerLabel(chosen)}</Text>
      ) : null}
      {error ? (
        <Text size="sm" c="red.8" role="alert">
          {error}
        </Text>
      ) : null}
    </Stack>
  );
}

/** The words for a "Reconcile now" that did not run. */
function reconcileError(e: unknown, target: string): string {
  if (e instanceof ApiError) {
    if (e.code === 'recon_running')
      return `A reconciliation of ${target} is already running; the finding closes when it completes. Its progress is on the Reconciliation page.`;
    if (e.status === 404) return `The target ${target} no longer exists.`;
    if (e.status === 403) return describe(e);
    return sentence(e.detail);
  }
  return describe(e);
}

/** After a link: the finding closes at the next run, which can be started from here. */
function LinkedAlert({
  linked,
  canReconcile,
  onClose,
  onReconciled,
}: {
  linked: Linked;
  canReconcile: boolean;
  onClose: () => void;
  onReconciled: () => void;
}) {
  const { finding: f, person } = linked;
  const [busy, setBusy] = useState(false);
  const [run, setRun] = useState<RunResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  // A new link starts afresh.
  useEffect(() => {
    setRun(null);
    setError(null);
  }, [linked]);
  const account = f.account ? shortAccount(f.account) : 'The account';
  const stopped = run && run.status !== 'completed';

  const reconcile = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await api.post<RunResult>(`/api/v1/targets/${encodeURIComponent(f.target)}/reconcile`, {
        wait: true,
      });
      setRun(r);
      onReconciled();
    } catch (e) {
      setError(reconcileError(e, f.target));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Alert
      color={stopped ? 'orange' : 'teal'}
      variant="light"
      icon={<IconLink aria-hidden />}
      title={`${account} is linked to ${person.name}`}
      withCloseButton
      closeButtonLabel="Dismiss"
      onClose={onClose}
      data-testid="link-result"
    >
      <Stack gap={6} align="flex-start">
        {!run ? (
          <Text size="sm">
            Gatehouse now counts it as {person.name}’s. Finding #{f.seq} closes at the next reconciliation of{' '}
            {f.target}, which also checks the account against what the policy gives {person.name}.
          </Text>
        ) : run.status === 'completed' ? (
          <Text size="sm" data-testid="link-run">
            Run #{run.seq} of {f.target} completed: {formatNumber(run.findingsClosed)}{' '}
            {run.findingsClosed === 1 ? 'finding' : 'findings'} closed, {formatNumber(run.findingsOpened)}{' '}
            opened. The list below is up to date.
          </Text>
        ) : (
          <Text size="sm" data-testid="link-run">
            Run #{run.seq} of {f.target} {run.status === 'failed' ? 'failed' : 'was stopped'}
            {run.reason ? `: ${run.reason}` : ''}. Finding #{f.seq} stays open until a run completes.
          </Text>
        )}
        {error ? (
          <Text size="sm" c="red.8" role="alert">
            {error}
          </Text>
        ) : null}
        {canReconcile && (!run || stopped) ? (
          <Button
            size="xs"
            variant="default"
            leftSection={<IconRadar size={14} aria-hidden />}
            loading={busy}
            onClick={() => void reconcile()}
          >
            Reconcile {f.target} now
          </Button>
        ) : null}
        {busy ? (
          <Text size="xs" c="dimmed" role="status">
            Reading every account on {f.target}…
          </Text>
        ) : null}
      </Stack>
    </Alert>
  );
}
