import { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router';
import {
  Alert,
  Badge,
  Button,
  Checkbox,
  Code,
  Group,
  NumberInput,
  Paper,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import {
  IconAlertTriangle,
  IconArrowLeft,
  IconCircleCheck,
  IconPencil,
  IconSearch,
  IconUsersGroup,
} from '@tabler/icons-react';
import { api, ApiError, describe } from '../api';
import { useSession } from '../session';
import {
  Empty,
  ErrorState,
  LoadingRows,
  NoAccess,
  notifySuccess,
  Page,
  useApiData,
  FormError,
} from '../components/ui';
import { AppModal } from '../components/modal';
import {
  explainTestFailure,
  LastTestBadge,
  type ConnectorType,
  type TargetView,
} from '../components/targets';
import { PrivilegedBadge, type EntitlementView } from '../components/provisioning';
import { formatDate, formatNumber } from '../format';

export default function TargetPage() {
  const { can } = useSession();
  if (!can('targets:read'))
    return (
      <Page title="Target">
        <NoAccess what="targets" />
      </Page>
    );
  return <Target />;
}

function Target() {
  const { name = '' } = useParams();
  const target = useApiData(
    (signal) => api.get<TargetView>(`/api/v1/targets/${encodeURIComponent(name)}`, undefined, signal),
    name,
  );
  const connectors = useApiData(
    (signal) => api.get<{ items: ConnectorType[] }>('/api/v1/connectors', undefined, signal),
    'connectors',
  );
  if (target.error instanceof ApiError && target.error.status === 404)
    return (
      <Page title="This target does not exist">
        <Text>There is no target named “{name}”. It may have been removed.</Text>
        <div>
          <Button component={Link} to="/targets" leftSection={<IconArrowLeft size={16} aria-hidden />}>
            All targets
          </Button>
        </div>
      </Page>
    );
  if (target.error)
    return (
      <Page title={name}>
        <ErrorState error={target.error} what="this target" onRetry={target.reload} />
      </Page>
    );
  const t = target.data;
  if (!t || t.name !== name) return <LoadingRows label="Loading the target…" rows={5} />;
  const kind = connectors.data?.items.find((c) => c.type === t.connector)?.title ?? t.connector;
  return (
    <Page
      title={t.name}
      description={
        <Group gap="xs" component="span">
          <Text span size="sm" c="dimmed">
            {kind}
          </Text>
          <Badge color={t.enabled ? 'teal' : 'gray'} variant="dot">
            {t.enabled ? 'Enabled' : 'Disabled'}
          </Badge>
          <LastTestBadge test={t.lastTest} />
        </Group>
      }
      actions={
        <Button
          component={Link}
          to="/targets"
          variant="default"
          leftSection={<IconArrowLeft size={16} aria-hidden />}
        >
          All targets
        </Button>
      }
    >
      <Entitlements target={t} />
    </Page>
  );
}

interface Discovery {
  added: number;
  updated: number;
  missing: number;
  total: number;
}

type DiscoverState =
  | { state: 'running' }
  | { state: 'done'; result: Discovery }
  | { state: 'failed'; code: string; detail: string };

const money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function Entitlements({ target }: { target: TargetView }) {
  const { can } = useSession();
  const writer = can('policy:write');
  const list = useApiData(
    (signal) =>
      can('policy:read')
        ? api.get<{ items: EntitlementView[] }>('/api/v1/entitlements', { target: target.name }, signal)
        : Promise.resolve(null),
    target.name,
  );
  const [discover, setDiscover] = useState<DiscoverState | null>(null);
  const [editing, setEditing] = useState<EntitlementView | null>(null);

  if (!can('policy:read'))
    return (
      <Paper withBorder p="md" radius="md">
        <NoAccess what="the entitlement catalog" />
      </Paper>
    );

  const run = async () => {
    setDiscover({ state: 'running' });
    try {
      const result = await api.post<Discovery>(
        `/api/v1/targets/${encodeURIComponent(target.name)}/entitlements/discover`,
      );
      setDiscover({ state: 'done', result });
    } catch (e) {
      setDiscover({
        state: 'failed',
        code: e instanceof ApiError ? e.code : 'network_error',
        detail: describe(e),
      });
    } finally {
      list.reload();
    }
  };

  const items = list.data?.items ?? [];
  const discoverButton = writer ? (
    <Button
      leftSection={<IconSearch size={16} aria-hidden />}
      loading={discover?.state === 'running'}
      onClick={() => void run()}
    >
      Discover groups
    </Button>
  ) : null;

  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="entitlements-heading">
      <Stack gap="md">
        <Group justify="space-between" align="flex-start" wrap="wrap">
          <div>
            <Title order={2} size="h4" id="entitlements-heading">
              Entitlements
            </Title>
            <Text size="sm" c="dimmed" maw={720}>
              The groups, roles and licences on {target.name} that the policy can grant. Mark the ones that
              give powerful access as privileged: granting them always waits for someone to approve.
            </Text>
          </div>
          {items.length ? discoverButton : null}
        </Group>
        <DiscoverOutcome state={discover} target={target.name} onClose={() => setDiscover(null)} />
        {list.error ? (
          <ErrorState error={list.error} what="the entitlements" onRetry={list.reload} />
        ) : !list.data ? (
          <LoadingRows label="Loading entitlements…" rows={3} />
        ) : items.length === 0 ? (
          <Empty
            title="No entitlements yet."
            icon={<IconUsersGroup aria-hidden />}
            description={`“Discover groups” reads the groups that exist on ${target.name} into the catalog. The policy can then grant them, and Gatehouse keeps memberships in line.${writer ? '' : ' An administrator can do it.'}`}
          >
            {discoverButton}
          </Empty>
        ) : (
          <Table.ScrollContainer minWidth={820}>
            <Table aria-label={`Entitlements on ${target.name}`} fz="sm" aria-busy={list.loading}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Key</Table.Th>
                  <Table.Th scope="col">Name</Table.Th>
                  <Table.Th scope="col">Kind</Table.Th>
                  <Table.Th scope="col">Privileged</Table.Th>
                  <Table.Th scope="col">Owner</Table.Th>
                  <Table.Th scope="col">Monthly cost</Table.Th>
                  <Table.Th scope="col">On the target</Table.Th>
                  {writer ? (
                    <Table.Th scope="col">
                      <VisuallyHidden>Actions</VisuallyHidden>
                    </Table.Th>
                  ) : null}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {items.map((e) => (
                  <Table.Tr key={e.id} data-entitlement={e.key}>
                    <Table.Td className="mono">{e.key}</Table.Td>
                    <Table.Td>
                      <Text size="sm" fw={500}>
                        {e.displayName}
                      </Text>
                      {e.description ? (
                        <Text size="xs" c="dimmed">
                          {e.description}
                        </Text>
                      ) : null}
                    </Table.Td>
                    <Table.Td>{e.kind}</Table.Td>
                    <Table.Td>
                      {e.privileged ? (
                        <PrivilegedBadge />
                      ) : (
                        <Text size="sm" c="dimmed">
                          No
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      {e.owner ?? (
                        <Text size="sm" c="dimmed">
                          —
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      {e.monthlyCost !== null ? (
                        money.format(e.monthlyCost)
                      ) : (
                        <Text size="sm" c="dimmed">
                          —
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      {e.missingSince ? (
                        <Badge color="orange" variant="light">
                          Missing since {formatDate(e.missingSince)}
                        </Badge>
                      ) : e.origin === 'declared' ? (
                        <Badge color="gray" variant="light">
                          Declared
                        </Badge>
                      ) : (
                        <Badge color="teal" variant="light">
                          Found
                        </Badge>
                      )}
                    </Table.Td>
                    {writer ? (
                      <Table.Td>
                        <Button
                          size="xs"
                          variant="default"
                          leftSection={<IconPencil size={14} aria-hidden />}
                          onClick={() => setEditing(e)}
                          aria-label={`Edit ${e.key}`}
                        >
                          Edit
                        </Button>
                      </Table.Td>
                    ) : null}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        {items.length ? (
          <Text size="xs" c="dimmed">
            {formatNumber(items.length)} {items.length === 1 ? 'entitlement' : 'entitlements'},{' '}
            {formatNumber(items.filter((e) => e.privileged).length)} privileged. Missing ones are kept: the
            policy and the history still refer to them.
          </Text>
        ) : null}
      </Stack>
      {writer ? (
        <EditDialog
          target={target.name}
          entitlement={editing}
          onClose={() => setEditing(null)}
          onSaved={(e) => {
            setEditing(null);
            notifySuccess(`Saved “${e.displayName}”.`);
            list.reload();
          }}
        />
      ) : null}
    </Paper>
  );
}

function DiscoverOutcome({
  state,
  target,
  onClose,
}: {
  state: DiscoverState | null;
  target: string;
  onClose: () => void;
}) {
  if (!state) return null;
  if (state.state === 'running')
    return (
      <Text size="sm" role="status" aria-live="polite">
        Reading the groups of {target}…
      </Text>
    );
  if (state.state === 'failed')
    return (
      <Alert
        color="red"
        variant="light"
        icon={<IconAlertTriangle aria-hidden />}
        title={`Could not read the groups of ${target}`}
        withCloseButton
        closeButtonLabel="Dismiss"
        onClose={onClose}
        role="alert"
      >
        <Stack gap={4}>
          <Text size="sm">{explainTestFailure(state.code, target)}</Text>
          <Text size="sm">
            Gatehouse: {state.detail} <Code>{state.code}</Code>
          </Text>
        </Stack>
      </Alert>
    );
  const r = state.result;
  return (
    <Alert
      color="teal"
      variant="light"
      icon={<IconCircleCheck aria-hidden />}
      title={`Found ${formatNumber(r.total)} ${r.total === 1 ? 'group' : 'groups'} on ${target}`}
      withCloseButton
      closeButtonLabel="Dismiss"
      onClose={onClose}
      role="status"
      data-testid="discovery-result"
    >
      {formatNumber(r.added)} added, {formatNumber(r.updated)} updated, {formatNumber(r.missing)} no longer
      found.
    </Alert>
  );
}

function EditDialog({
  target,
  entitlement: e,
  onClose,
  onSaved,
}: {
  target: string;
  entitlement: EntitlementView | null;
  onClose: () => void;
  onSaved: (e: EntitlementView) => void;
}) {
  const [displayName, setDisplayName] = useState('');
  const [privileged, setPrivileged] = useState(false);
  const [owner, setOwner] = useState('');
  const [cost, setCost] = useState<number | string>('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!e) return;
    setDisplayName(e.displayName);
    setPrivileged(e.privileged);
    setOwner(e.owner ?? '');
    setCost(e.monthlyCost ?? '');
    setErrors({});
    setError(null);
  }, [e]);

  const save = async (ev: React.FormEvent) => {
    ev.preventDefault();
    if (!e) return;
    if (!displayName.trim()) {
      setErrors({ displayName: 'Give it a name people recognise' });
      return;
    }
    const patch: Record<string, unknown> = {};
    if (displayName.trim() !== e.displayName) patch.displayName = displayName.trim();
    if (privileged !== e.privileged) patch.privileged = privileged;
    const o = owner.trim() || null;
    if (o !== e.owner) patch.owner = o;
    const c = typeof cost === 'number' ? cost : null;
    if (c !== e.monthlyCost) patch.monthlyCost = c;
    if (!Object.keys(patch).length) {
      onClose();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const saved = await api.patch<EntitlementView>(
        `/api/v1/targets/${encodeURIComponent(target)}/entitlements/${encodeURIComponent(e.key)}`,
        patch,
      );
      onSaved(saved);
    } catch (err) {
      if (err instanceof ApiError) {
        setErrors(err.fieldErrors);
        setError(err.detail);
      } else setError(describe(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <AppModal opened={!!e} onClose={onClose} title={`Edit “${e?.key ?? ''}”`}>
      <form onSubmit={(ev) => void save(ev)} noValidate>
        <Stack gap="md">
          <FormError error={error} />
          <Text size="sm" c="dimmed">
            On {target}: <span className="mono">{e?.objectName}</span>
          </Text>
          <TextInput
            label="Name"
            description="How people see it in Gatehouse (the target keeps its own name)."
            required
            maxLength={200}
            value={displayName}
            onChange={(ev) => setDisplayName(ev.currentTarget.value)}
            error={errors.displayName}
          />
          <Checkbox
            label="Privileged"
            description="Powerful access (administrators, payments, production): every change set that grants it waits for someone to approve."
            checked={privileged}
            onChange={(ev) => setPrivileged(ev.currentTarget.checked)}
            data-autofocus
          />
          <TextInput
            label="Owner"
            description="Who decides about it, e.g. a team or a person's email."
            maxLength={200}
            value={owner}
            onChange={(ev) => setOwner(ev.currentTarget.value)}
            error={errors.owner}
          />
          <NumberInput
            label="Monthly cost"
            description="What one membership costs per month (a licence), for reports. Leave empty if none."
            min={0}
            decimalScale={2}
            value={cost}
            onChange={setCost}
            error={errors.monthlyCost}
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose} disabled={busy}>
              Cancel
            </Button>
            <Button type="submit" loading={busy}>
              Save
            </Button>
          </Group>
        </Stack>
      </form>
    </AppModal>
  );
}
