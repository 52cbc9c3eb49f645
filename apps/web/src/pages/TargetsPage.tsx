import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Checkbox,
  Code,
  Group,
  List,
  NativeSelect,
  Progress,
  Stack,
  Table,
  Text,
  TextInput,
  VisuallyHidden,
} from '@mantine/core';
import {
  IconAlertTriangle,
  IconCircleCheck,
  IconPlugConnected,
  IconPlus,
  IconTrash,
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
  buildConfig,
  ConfigForm,
  configErrors,
  explainTestFailure,
  LastTestBadge,
  type ConfigValue,
  type ConnectorType,
  type TargetView,
} from '../components/targets';

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export default function TargetsPage() {
  const { can } = useSession();
  if (!can('targets:read'))
    return (
      <Page title="Targets">
        <NoAccess what="targets" />
      </Page>
    );
  return <Targets />;
}

type TestOutcome =
  | { target: string; state: 'running' }
  | { target: string; state: 'ok'; details: Record<string, string> }
  | { target: string; state: 'failed'; code: string; detail: string; targetMessage?: string };

function Targets() {
  const { can } = useSession();
  const writer = can('targets:write');
  const targets = useApiData(
    (signal) => api.get<{ items: TargetView[] }>('/api/v1/targets', undefined, signal),
    'targets',
  );
  const connectors = useApiData(
    (signal) => api.get<{ items: ConnectorType[] }>('/api/v1/connectors', undefined, signal),
    'connectors',
  );
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<TargetView | null>(null);
  const [removing, setRemoving] = useState<TargetView | null>(null);
  const [outcome, setOutcome] = useState<TestOutcome | null>(null);
  const titles = Object.fromEntries((connectors.data?.items ?? []).map((c) => [c.type, c.title]));
  const items = targets.data?.items ?? [];

  const test = async (t: TargetView) => {
    setOutcome({ target: t.name, state: 'running' });
    try {
      const r = await api.post<{ ok: true; details: Record<string, string> }>(
        `/api/v1/targets/${encodeURIComponent(t.name)}/test`,
      );
      setOutcome({ target: t.name, state: 'ok', details: r.details });
    } catch (e) {
      setOutcome({
        target: t.name,
        state: 'failed',
        code: e instanceof ApiError ? e.code : 'network_error',
        detail: describe(e),
        ...(e instanceof ApiError && typeof e.problem.targetMessage === 'string'
          ? { targetMessage: e.problem.targetMessage }
          : {}),
      });
    } finally {
      targets.reload();
    }
  };

  const addButton = (
    <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setAdding(true)}>
      Add target
    </Button>
  );

  return (
    <Page
      title="Targets"
      description="The systems Gatehouse keeps accounts in. Credentials are stored encrypted and never shown again."
      actions={writer && items.length ? addButton : undefined}
    >
      {outcome ? <TestOutcomePanel outcome={outcome} onClose={() => setOutcome(null)} /> : null}
      {targets.error ? (
        <ErrorState error={targets.error} what="targets" onRetry={targets.reload} />
      ) : !targets.data ? (
        <LoadingRows label="Loading targets…" rows={3} />
      ) : items.length === 0 ? (
        <Empty
          title="No targets yet."
          icon={<IconPlugConnected aria-hidden />}
          description={
            <>
              A target is a system where people get accounts: a directory (LDAP, Active Directory), an
              application that speaks SCIM or keeps its users in its own database — or an application with no
              API at all, where Gatehouse asks a person to make each change by hand.
              {writer ? '' : ' An administrator adds them.'}
            </>
          }
        >
          {writer ? addButton : null}
        </Empty>
      ) : (
        <Table.ScrollContainer minWidth={760}>
          <Table aria-label="Targets" aria-busy={targets.loading}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Name</Table.Th>
                <Table.Th scope="col">Connector</Table.Th>
                <Table.Th scope="col">Status</Table.Th>
                <Table.Th scope="col">Last test</Table.Th>
                <Table.Th scope="col">
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((t) => (
                <Table.Tr key={t.id} data-target={t.name}>
                  <Table.Td>
                    <Anchor component={Link} to={`/targets/${encodeURIComponent(t.name)}`} fw={500}>
                      {t.name}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{titles[t.connector] ?? t.connector}</Table.Td>
                  <Table.Td>
                    <Badge color={t.enabled ? 'teal' : 'gray'} variant="dot">
                      {t.enabled ? 'Enabled' : 'Disabled'}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    <LastTestBadge test={t.lastTest} />
                  </Table.Td>
                  <Table.Td>
                    {writer ? (
                      <Group gap="xs" justify="flex-end" wrap="nowrap">
                        <Button
                          size="xs"
                          variant="light"
                          loading={outcome?.state === 'running' && outcome.target === t.name}
                          disabled={outcome?.state === 'running'}
                          onClick={() => void test(t)}
                          aria-label={`Test connection to ${t.name}`}
                        >
                          Test connection
                        </Button>
                        <Button
                          size="xs"
                          variant="default"
                          onClick={() => setEditing(t)}
                          aria-label={`Settings of ${t.name}`}
                        >
                          Settings
                        </Button>
                        <Button
                          size="xs"
                          variant="subtle"
                          color="red"
                          leftSection={<IconTrash size={14} aria-hidden />}
                          onClick={() => setRemoving(t)}
                          aria-label={`Remove ${t.name}`}
                        >
                          Remove
                        </Button>
                      </Group>
                    ) : null}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {writer ? (
        <TargetDialog
          opened={adding || editing !== null}
          {...(editing ? { target: editing } : {})}
          connectors={connectors.data?.items}
          connectorsError={connectors.error}
          onClose={() => {
            setAdding(false);
            setEditing(null);
          }}
          onSaved={(t) => {
            notifySuccess(
              editing ? `Saved the settings of “${t.name}”.` : `Added “${t.name}”. Test its connection next.`,
              editing ? undefined : 'Target added',
            );
            setAdding(false);
            setEditing(null);
            targets.reload();
          }}
        />
      ) : null}
      <RemoveDialog
        target={removing}
        onClose={() => setRemoving(null)}
        onRemoved={(t) => {
          setRemoving(null);
          notifySuccess(`Removed “${t.name}”.`);
          if (outcome?.target === t.name) setOutcome(null);
          targets.reload();
        }}
      />
    </Page>
  );
}

function TestOutcomePanel({ outcome, onClose }: { outcome: TestOutcome; onClose: () => void }) {
  if (outcome.state === 'running')
    return (
      <Stack gap={4} role="status" aria-live="polite">
        <Text size="sm">
          Testing the connection to “{outcome.target}”… Gatehouse gives up after a minute if it gets no
          answer.
        </Text>
        <Progress value={100} animated striped aria-label="Connection test in progress" />
      </Stack>
    );
  const ok = outcome.state === 'ok';
  return (
    <Alert
      color={ok ? 'teal' : 'red'}
      variant="light"
      icon={ok ? <IconCircleCheck aria-hidden /> : <IconAlertTriangle aria-hidden />}
      title={`The connection to “${outcome.target}” ${ok ? 'works' : 'failed'}`}
      withCloseButton
      closeButtonLabel="Dismiss"
      onClose={onClose}
      role={ok ? 'status' : 'alert'}
    >
      {ok ? (
        <List size="sm" spacing={2}>
          {Object.entries(outcome.details).map(([k, v]) => (
            <List.Item key={k}>
              {k}: {v}
            </List.Item>
          ))}
        </List>
      ) : (
        <Stack gap="xs">
          <Text size="sm">{explainTestFailure(outcome.code, outcome.target)}</Text>
          <Text size="sm">
            Gatehouse: {outcome.detail} <Code>{outcome.code}</Code>
          </Text>
          {outcome.targetMessage ? (
            <Text size="sm">
              The system said: <Code>{outcome.targetMessage}</Code>
            </Text>
          ) : null}
        </Stack>
      )}
    </Alert>
  );
}

/** Add a target, or change one (`target`): its kind and name stay; stored credentials are kept unless replaced. */
function TargetDialog({
  opened,
  target,
  connectors,
  connectorsError,
  onClose,
  onSaved,
}: {
  opened: boolean;
  target?: TargetView;
  connectors: ConnectorType[] | undefined;
  connectorsError: unknown;
  onClose: () => void;
  onSaved: (t: TargetView) => void;
}) {
  const editing = target !== undefined;
  const [type, setType] = useState('');
  const [name, setName] = useState('');
  const [enabled, setEnabled] = useState(true);
  const [config, setConfig] = useState<ConfigValue>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [nameError, setNameError] = useState<string | null>(null);
  const [typeError, setTypeError] = useState<string | null>(null);
  const [error, setError] = useState<{ message: string; problems: string[] } | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!opened) return;
    setType(target?.connector ?? '');
    setName(target?.name ?? '');
    setEnabled(target?.enabled ?? true);
    setConfig(target?.config ?? {});
    setErrors({});
    setNameError(null);
    setTypeError(null);
    setError(null);
  }, [opened, target]);
  const connector = connectors?.find((c) => c.type === type);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(null);
    const n = name.trim();
    const badName = NAME_RE.test(n)
      ? null
      : 'Use lower-case letters, digits, “.”, “_” or “-” (up to 63), for example “corp-ldap” or “payroll”';
    setNameError(badName);
    setTypeError(connector ? null : 'Choose the kind of system');
    const built = buildConfig(config);
    setErrors(built.errors);
    if (badName || !connector || Object.keys(built.errors).length) return;
    setBusy(true);
    try {
      const t = target
        ? await api.patch<TargetView>(`/api/v1/targets/${encodeURIComponent(target.name)}`, {
            // Settings cleared in the form are removed; credentials not replaced are not sent, so they are kept.
            config: {
              ...Object.fromEntries(Object.keys(target.config).map((k) => [k, null])),
              ...built.config,
            },
            enabled,
          })
        : await api.post<TargetView>('/api/v1/targets', { name: n, connector: type, config: built.config });
      onSaved(t);
    } catch (err) {
      if (err instanceof ApiError) {
        const fieldErrors = configErrors(err.problem.errors);
        setErrors(fieldErrors);
        if (err.fieldErrors.name) setNameError(err.fieldErrors.name);
        if (err.fieldErrors.connector) setTypeError(err.fieldErrors.connector);
        setError({
          message: err.code === 'target_invalid' ? 'Some settings need attention:' : err.detail,
          problems: (err.problem.errors ?? []).map(
            (p) => `${p.field.replace(/^(body\.)?config\./, '')}: ${p.message}`,
          ),
        });
      } else setError({ message: describe(err), problems: [] });
    } finally {
      setBusy(false);
    }
  };

  return (
    <AppModal
      opened={opened}
      onClose={onClose}
      title={editing ? `Settings of “${target.name}”` : 'Add target'}
      size="xl"
    >
      <form onSubmit={(e) => void submit(e)} noValidate>
        <Stack gap="md">
          {error ? (
            <Alert color="red" variant="light" icon={<IconAlertTriangle aria-hidden />} role="alert">
              <Text size="sm">{error.message}</Text>
              {error.problems.length ? (
                <List size="sm" mt={4}>
                  {error.problems.map((p) => (
                    <List.Item key={p}>{p}</List.Item>
                  ))}
                </List>
              ) : null}
            </Alert>
          ) : null}
          {connectorsError ? (
            <ErrorState error={connectorsError} what="the connector types" />
          ) : (
            <NativeSelect
              label="Kind of system"
              description={connector?.description ?? 'How Gatehouse talks to it.'}
              required
              disabled={editing}
              data-autofocus={editing ? undefined : true}
              value={type}
              onChange={(e) => {
                setType(e.currentTarget.value);
                setConfig({});
                setErrors({});
                setTypeError(null);
              }}
              data={[
                { value: '', label: connectors ? 'Choose…' : 'Loading…' },
                ...(connectors ?? []).map((c) => ({ value: c.type, label: c.title })),
              ]}
              error={typeError}
            />
          )}
          <TextInput
            label="Name"
            description="How Gatehouse refers to it, e.g. “corp-ldap” or “payroll”. Lower-case, no spaces."
            required
            readOnly={editing}
            autoComplete="off"
            value={name}
            onChange={(e) => {
              setName(e.currentTarget.value);
              setNameError(null);
            }}
            error={nameError}
          />
          {editing ? (
            <Checkbox
              label="Enabled"
              description="A disabled target is left alone: Gatehouse sends it nothing."
              checked={enabled}
              onChange={(e) => setEnabled(e.currentTarget.checked)}
            />
          ) : null}
          {connector ? (
            <>
              {connector.secretFields.length ? (
                <Text size="sm" c="dimmed">
                  Credentials ({connector.secretFields.join(', ')}) are stored encrypted. Nobody can read them
                  back — not even administrators.
                </Text>
              ) : null}
              <ConfigForm
                connector={connector}
                value={config}
                onChange={setConfig}
                errors={errors}
                disabled={busy}
                {...(target ? { stored: target.secrets } : {})}
              />
            </>
          ) : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose} disabled={busy}>
              Cancel
            </Button>
            <Button type="submit" loading={busy}>
              {editing ? 'Save changes' : 'Add target'}
            </Button>
          </Group>
        </Stack>
      </form>
    </AppModal>
  );
}

function RemoveDialog({
  target,
  onClose,
  onRemoved,
}: {
  target: TargetView | null;
  onClose: () => void;
  onRemoved: (t: TargetView) => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => setError(null), [target]);
  const remove = async () => {
    if (!target) return;
    setBusy(true);
    try {
      await api.del(`/api/v1/targets/${encodeURIComponent(target.name)}`);
      onRemoved(target);
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <AppModal opened={!!target} onClose={onClose} title={`Remove “${target?.name ?? ''}”?`}>
      <Stack gap="md">
        <FormError error={error} />
        <Text size="sm">
          Gatehouse forgets the target, its settings and credentials. Accounts in the system itself are not
          touched.
        </Text>
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose} disabled={busy}>
            Keep it
          </Button>
          <Button color="red" loading={busy} onClick={() => void remove()}>
            Remove target
          </Button>
        </Group>
      </Stack>
    </AppModal>
  );
}
