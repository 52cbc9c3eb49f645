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
  Paper,
  Radio,
  SimpleGrid,
  Skeleton,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { IconAlertTriangle, IconArrowsExchange, IconPlus } from '@tabler/icons-react';
import { api, describe } from '../api';
import { useListQuery } from '../listQuery';
import { useSession } from '../session';
import {
  CopyButton,
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
import { RevokeTokenDialog } from '../components/tokens';
import {
  ACCESS_LABELS,
  ALL_SOURCES,
  DEFAULT_SOURCE,
  EXPIRY_OPTIONS,
  PROFILE_HELP,
  PROFILE_LABELS,
  SetupGuide,
  STATUS_COLORS,
  STATUS_LABELS,
  accessOf,
  connectFieldErrors,
  scimBaseUrl,
  type ConnectField,
  type ScimAccess,
  type ScimProfile,
  type ScimSettings,
  type ScimTokenRow,
  type ServiceProviderConfig,
} from '../components/scim';
import type { HrSource, PeoplePage } from '../components/people';
import { formatDate, formatNumber, formatRelative } from '../format';

/** A token that is a SCIM client. */
type ScimClient = ScimTokenRow & { scim: ScimSettings };

interface Created {
  token: string;
  tokenInfo: ScimClient;
}

const PAGE_SIZE = 500;
/** Enough for any real number of tokens; the list says so if there are more. */
const MAX_PAGES = 20;

export default function ScimPage() {
  const { can } = useSession();
  if (!can('tokens:read'))
    return (
      <Page title="SCIM">
        <NoAccess what="SCIM clients (they are API tokens)" />
      </Page>
    );
  return <Scim />;
}

/** Every token (the server pages them), of which the SCIM clients are shown. */
async function loadClients(
  includeRevoked: boolean,
  signal: AbortSignal,
): Promise<{ items: ScimClient[]; complete: boolean }> {
  const items: ScimClient[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const r = await api.get<{ items: ScimTokenRow[]; total?: number }>(
      '/api/v1/tokens',
      { includeRevoked, page: page > 1 ? page : undefined, pageSize: PAGE_SIZE },
      signal,
    );
    for (const t of r.items) if (t.scim) items.push(t as ScimClient);
    if (r.total === undefined || page * PAGE_SIZE >= r.total) return { items, complete: true };
  }
  return { items, complete: false };
}

function Scim() {
  const { can } = useSession();
  const canWrite = can('tokens:write');
  const { params, update } = useListQuery();
  const includeRevoked = params.get('includeRevoked') === 'true';
  const [showAll, setShowAll] = useUrlValue(includeRevoked);
  const clients = useApiData((signal) => loadClients(includeRevoked, signal), String(includeRevoked));
  const items = clients.data?.items ?? [];
  const counts = useSourceCounts(
    items.map((c) => c.scim.source),
    can('hr:read') && can('people:read'),
  );

  const [connecting, setConnecting] = useState(false);
  const [created, setCreated] = useState<Created | null>(null);
  const [revoking, setRevoking] = useState<ScimClient | null>(null);

  const connectButton = canWrite ? (
    <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setConnecting(true)}>
      Connect a SCIM client
    </Button>
  ) : null;

  return (
    <Page
      title="SCIM"
      description="HR systems and identity providers (Workday, Entra ID, Okta) push people into Gatehouse over SCIM 2.0. They go through the same joiner, mover and leaver steps as HR imports."
      actions={connectButton}
    >
      <Endpoint />

      <Stack gap="sm">
        <Group justify="space-between" align="flex-end" wrap="wrap">
          <Title order={2} size="h3">
            SCIM clients
          </Title>
          <Checkbox
            label="Show revoked and expired clients"
            checked={showAll}
            onChange={(e) => {
              const checked = e.currentTarget.checked;
              setShowAll(checked);
              update({ includeRevoked: checked ? 'true' : null });
            }}
          />
        </Group>

        {clients.error ? (
          <ErrorState error={clients.error} what="SCIM clients" onRetry={clients.reload} />
        ) : !clients.data ? (
          <LoadingRows label="Loading SCIM clients…" rows={3} />
        ) : items.length === 0 ? (
          <Empty
            title="No SCIM clients yet."
            icon={<IconArrowsExchange aria-hidden />}
            description={
              <>
                A SCIM client is a system that sends people to Gatehouse on its own: your HR system, or an
                identity provider such as Entra ID or Okta. Each one gets its own secret token and HR source;
                the people it sends become joiners, movers and leavers like those from an HR file.
                {includeRevoked
                  ? null
                  : ' Revoked and expired clients are hidden; switch them on above to see them.'}
                {canWrite ? null : ' Ask an administrator to connect one.'}
              </>
            }
          >
            {connectButton}
          </Empty>
        ) : (
          <>
            <ClientsTable
              items={items}
              counts={counts}
              busy={clients.loading}
              canWrite={canWrite}
              canAudit={can('audit:read')}
              onRevoke={setRevoking}
            />
            {clients.data.complete ? null : (
              <Text size="sm" c="dimmed">
                There are more API tokens than this page reads; some SCIM clients may be missing. Search for
                them on the{' '}
                <Anchor component={Link} to="/tokens">
                  API tokens
                </Anchor>{' '}
                page.
              </Text>
            )}
          </>
        )}
      </Stack>

      {canWrite ? (
        <>
          <ConnectDialog
            opened={connecting}
            onClose={() => setConnecting(false)}
            onCreated={(r) => {
              setConnecting(false);
              setCreated(r);
              clients.reload();
            }}
          />
          <SecretDialog
            created={created}
            onClose={() => {
              if (created) notifySuccess(`SCIM client “${created.tokenInfo.name}” connected.`);
              setCreated(null);
            }}
          />
          <RevokeTokenDialog
            token={revoking}
            noun="client"
            onClose={() => setRevoking(null)}
            onDone={(t) => {
              setRevoking(null);
              notifySuccess(`SCIM client “${t.name}” revoked. It can no longer reach Gatehouse.`);
              clients.reload();
            }}
          >
            <List size="sm" spacing={4}>
              <List.Item>
                The system using it can no longer reach Gatehouse: its next push fails, immediately. This
                cannot be undone.
              </List.Item>
              <List.Item>
                People it already sent stay in Gatehouse; nobody becomes a leaver because of this.
              </List.Item>
              <List.Item>To reconnect the system, connect a new client and give it the new secret.</List.Item>
            </List>
          </RevokeTokenDialog>
        </>
      ) : null}
    </Page>
  );
}

/** The base URL to give the other system, and what this server supports (read from its own discovery endpoint). */
function Endpoint() {
  const baseUrl = scimBaseUrl();
  const config = useApiData(
    (signal) => api.get<ServiceProviderConfig>('/scim/v2/ServiceProviderConfig', undefined, signal),
    'spc',
  );
  const c = config.data;
  const yesNo = (v: boolean | undefined) => (v ? 'Supported' : 'Not supported');
  const facts: [string, string][] = c
    ? [
        ['PATCH', yesNo(c.patch?.supported)],
        [
          'Bulk',
          c.bulk?.supported
            ? `Up to ${formatNumber(c.bulk.maxOperations)} operations per request` +
              (c.bulk.maxPayloadSize ? ` (${formatBytes(c.bulk.maxPayloadSize)})` : '')
            : 'Not supported',
        ],
        [
          'Filter',
          c.filter?.supported
            ? `Up to ${formatNumber(c.filter.maxResults)} results per page`
            : 'Not supported',
        ],
        ['ETags', yesNo(c.etag?.supported)],
        ['Sorting', yesNo(c.sort?.supported)],
        ['Authentication', (c.authenticationSchemes ?? []).map((s) => s.name).join(', ') || '—'],
      ]
    : [];
  return (
    <SimpleGrid cols={{ base: 1, md: 2 }} spacing="md">
      <Paper withBorder p="md" radius="md" component="section" aria-labelledby="scim-endpoint">
        <Stack gap="xs">
          <Title order={2} size="h4" id="scim-endpoint">
            SCIM base URL
          </Title>
          <Text size="sm" c="dimmed">
            Entra ID calls it the Tenant URL, Okta the SCIM connector base URL.
          </Text>
          <Group gap="xs" wrap="nowrap">
            <Code className="mono" data-testid="scim-base-url">
              {baseUrl}
            </Code>
            <CopyButton value={baseUrl} label="Copy base URL" />
          </Group>
        </Stack>
      </Paper>
      <Paper withBorder p="md" radius="md" component="section" aria-labelledby="scim-supports">
        <Stack gap="xs">
          <Title order={2} size="h4" id="scim-supports">
            What this server supports
          </Title>
          {config.error ? (
            <ErrorState error={config.error} what="what the SCIM service supports" onRetry={config.reload} />
          ) : !c ? (
            <Stack gap={6} role="status" aria-busy="true">
              <VisuallyHidden>Loading…</VisuallyHidden>
              <Skeleton height={14} />
              <Skeleton height={14} />
              <Skeleton height={14} />
            </Stack>
          ) : (
            <Table
              aria-label="What this server supports"
              withRowBorders={false}
              verticalSpacing={2}
              data-testid="scim-supports"
            >
              <Table.Tbody>
                {facts.map(([k, v]) => (
                  <Table.Tr key={k}>
                    <Table.Th scope="row" w={140} fw={500}>
                      {k}
                    </Table.Th>
                    <Table.Td>{v}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </Stack>
      </Paper>
    </SimpleGrid>
  );
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${formatNumber(Math.round((n / (1024 * 1024)) * 10) / 10)} MB`;
  if (n >= 1024) return `${formatNumber(Math.round(n / 1024))} KB`;
  return `${formatNumber(n)} bytes`;
}

type Counts = Map<string, { total: number; capped: boolean }>;

/**
 * How many people each source has (so an operator sees that a client's pushes arrive). Needs the HR sources (a
 * client's source exists once it has pushed someone) and the people list; without those scopes nothing is shown.
 */
function useSourceCounts(sources: string[], enabled: boolean): Counts | null {
  const names = [...new Set(sources.filter((s) => s !== ALL_SOURCES))].sort();
  const key = enabled ? names.join(',') : '';
  const counts = useApiData<Counts | null>(async (signal) => {
    if (!key) return null;
    const all = await api.get<{ items: HrSource[] }>('/api/v1/hr/sources', undefined, signal);
    const byName = new Map(all.items.map((s) => [s.name, s.id]));
    const out: Counts = new Map();
    await Promise.all(
      names.map(async (name) => {
        const id = byName.get(name);
        if (!id) return out.set(name, { total: 0, capped: false });
        const r = await api.get<PeoplePage>('/api/v1/people', { sourceId: id, limit: 1 }, signal);
        out.set(name, { total: r.total, capped: r.totalCapped });
      }),
    );
    return out;
  }, key);
  // A count is a hint: if it cannot be loaded the table simply goes without.
  return counts.data ?? null;
}

function ClientsTable({
  items,
  counts,
  busy,
  canWrite,
  canAudit,
  onRevoke,
}: {
  items: ScimClient[];
  counts: Counts | null;
  busy: boolean;
  canWrite: boolean;
  canAudit: boolean;
  onRevoke: (t: ScimClient) => void;
}) {
  return (
    <Table.ScrollContainer minWidth={960}>
      <Table aria-label="SCIM clients" aria-busy={busy} verticalSpacing="sm">
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">Name</Table.Th>
            <Table.Th scope="col">HR source</Table.Th>
            <Table.Th scope="col">Profile</Table.Th>
            <Table.Th scope="col">Access</Table.Th>
            <Table.Th scope="col">Status</Table.Th>
            <Table.Th scope="col">Last used</Table.Th>
            <Table.Th scope="col">
              <VisuallyHidden>Actions</VisuallyHidden>
            </Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((t) => {
            const count = counts?.get(t.scim.source);
            const access = accessOf(t);
            return (
              <Table.Tr key={t.id} data-token-id={t.id}>
                <Table.Td>
                  <Text size="sm" fw={500}>
                    {t.name}
                  </Text>
                  <Code fz="xs" style={{ whiteSpace: 'nowrap' }}>
                    {t.hint}
                  </Code>
                </Table.Td>
                <Table.Td data-col="source">
                  {t.scim.source === ALL_SOURCES ? (
                    <Text size="sm">All sources</Text>
                  ) : (
                    <Code>{t.scim.source}</Code>
                  )}
                  {count ? (
                    <Text size="xs" c="dimmed" data-testid="source-people">
                      {count.total === 0
                        ? 'No people yet'
                        : `${formatNumber(count.total)}${count.capped ? '+' : ''} ${count.total === 1 ? 'person' : 'people'}`}
                    </Text>
                  ) : null}
                </Table.Td>
                <Table.Td data-col="profile" maw={300}>
                  <Badge variant="light" color={t.scim.profile === 'lenient' ? 'blue' : 'gray'}>
                    {PROFILE_LABELS[t.scim.profile]}
                  </Badge>
                  <Text size="xs" c="dimmed" mt={2}>
                    {PROFILE_HELP[t.scim.profile]}
                  </Text>
                </Table.Td>
                <Table.Td data-col="access">
                  <Text size="sm">{ACCESS_LABELS[access]}</Text>
                </Table.Td>
                <Table.Td data-col="status">
                  <Badge color={STATUS_COLORS[t.status]} variant="light">
                    {STATUS_LABELS[t.status]}
                  </Badge>
                  {t.status === 'active' && t.expiresAt ? (
                    <Text size="xs" c="dimmed">
                      expires <When at={t.expiresAt} show={formatDate} />
                    </Text>
                  ) : t.status === 'expired' && t.expiresAt ? (
                    <Text size="xs" c="dimmed">
                      <When at={t.expiresAt} show={formatDate} />
                    </Text>
                  ) : t.status === 'revoked' && t.revokedAt ? (
                    <Text size="xs" c="dimmed">
                      {formatDate(t.revokedAt)}
                      {t.revokedBy ? ` by ${t.revokedBy}` : ''}
                    </Text>
                  ) : null}
                </Table.Td>
                <Table.Td data-col="last-used">
                  <When at={t.lastUsedAt} show={formatRelative} never="Never used" />
                </Table.Td>
                <Table.Td>
                  <Group gap="xs" wrap="nowrap" justify="flex-end">
                    {canAudit ? (
                      <Button
                        component={Link}
                        to={`/audit?actor=${encodeURIComponent(`token:${t.id}`)}`}
                        size="xs"
                        variant="default"
                        aria-label={`Audit trail of ${t.name}`}
                      >
                        Audit trail
                      </Button>
                    ) : null}
                    {canWrite && t.status === 'active' ? (
                      <Button
                        size="xs"
                        color="red"
                        variant="light"
                        onClick={() => onRevoke(t)}
                        aria-label={`Revoke ${t.name}`}
                      >
                        Revoke
                      </Button>
                    ) : null}
                  </Group>
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

interface ConnectValues {
  name: string;
  source: string;
  profile: ScimProfile;
  access: ScimAccess;
  expiresIn: string;
}

function ConnectDialog({
  opened,
  onClose,
  onCreated,
}: {
  opened: boolean;
  onClose: () => void;
  onCreated: (r: Created) => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm<ConnectValues>({
    initialValues: {
      name: '',
      source: DEFAULT_SOURCE,
      profile: 'strict',
      access: 'write',
      expiresIn: '365d',
    },
    validate: {
      name: (v) =>
        !v.trim()
          ? 'Give the client a name that says which system it is, for example “Entra ID (production)”'
          : v.length > 100
            ? 'Use at most 100 characters'
            : null,
      source: (v, values) =>
        !v.trim()
          ? `Name the HR source the people belong to, for example “${DEFAULT_SOURCE}” or “entra”`
          : v.trim() === ALL_SOURCES && values.access === 'write'
            ? '“*” (every source) can only be read: choose “Read only”, or name one HR source'
            : null,
    },
  });

  useEffect(() => {
    if (!opened) return;
    form.reset();
    setError(null);
    // Only when the dialog opens: a failed attempt keeps what was typed.
  }, [opened]);

  const submit = form.onSubmit(async (v) => {
    setBusy(true);
    setError(null);
    try {
      const r = await api.post<{ token: string; tokenInfo: ScimTokenRow }>('/api/v1/tokens', {
        name: v.name.trim(),
        scopes: [v.access === 'write' ? 'scim:write' : 'scim:read'],
        ...(v.expiresIn ? { expiresIn: v.expiresIn } : {}),
        scim: { source: v.source.trim(), profile: v.profile },
      });
      const scim = r.tokenInfo.scim ?? { source: v.source.trim(), profile: v.profile };
      onCreated({ token: r.token, tokenInfo: { ...r.tokenInfo, scim } });
    } catch (e) {
      const fields = connectFieldErrors(e, { name: v.name, source: v.source });
      const named = Object.keys(fields) as ConnectField[];
      if (named.length) {
        form.setErrors(fields);
        setError(
          named.length === 1
            ? 'The client was not connected. Correct the field marked below and try again.'
            : 'The client was not connected. Correct the fields marked below and try again.',
        );
      } else setError(describe(e));
    } finally {
      setBusy(false);
    }
  });

  return (
    <AppModal opened={opened} onClose={onClose} title="Connect a SCIM client">
      <form onSubmit={submit} noValidate>
        <Stack gap="md">
          <FormError error={error} />
          <TextInput
            label="Name"
            description="Which system connects, for example “Entra ID (production)” or “Workday”."
            autoComplete="off"
            withAsterisk
            data-autofocus
            {...form.getInputProps('name')}
          />
          <TextInput
            label="HR source"
            description="The people this client sends belong to this source; use one per system, for example “entra” or “workday”. Lower-case letters, digits, “.”, “_” and “-”."
            autoComplete="off"
            spellCheck={false}
            withAsterisk
            {...form.getInputProps('source')}
          />
          <Radio.Group
            label="Profile"
            description="Entra ID and Okta: Lenient. HR systems and your own scripts: Strict."
            {...form.getInputProps('profile')}
          >
            <Stack gap="xs" mt="xs">
              <Radio value="strict" label={PROFILE_LABELS.strict} description={PROFILE_HELP.strict} />
              <Radio value="lenient" label={PROFILE_LABELS.lenient} description={PROFILE_HELP.lenient} />
            </Stack>
          </Radio.Group>
          <Radio.Group label="Access" {...form.getInputProps('access')}>
            <Stack gap="xs" mt="xs">
              <Radio
                value="write"
                label={ACCESS_LABELS.write}
                description="Creates, updates and removes people: joiners, movers and leavers."
              />
              <Radio
                value="read"
                label={ACCESS_LABELS.read}
                description="Looks people and groups up; changes nothing."
              />
            </Stack>
          </Radio.Group>
          <NativeSelect
            label="Secret expires"
            description="When it expires the other system stops provisioning: note the date and replace the secret in time."
            data={EXPIRY_OPTIONS}
            {...form.getInputProps('expiresIn')}
          />
          <Group justify="flex-end" gap="sm">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={busy}>
              Connect client
            </Button>
          </Group>
        </Stack>
      </form>
    </AppModal>
  );
}

/** The new client's secret, once, with where to put it. */
function SecretDialog({ created, onClose }: { created: Created | null; onClose: () => void }) {
  const baseUrl = scimBaseUrl();
  return (
    <AppModal
      opened={!!created}
      onClose={onClose}
      title="Set up your SCIM client"
      size="xl"
      closeOnClickOutside={false}
    >
      {created ? (
        <Stack gap="md">
          <Text size="sm">
            <strong>{created.tokenInfo.name}</strong> sends people to the HR source{' '}
            <Code>{created.tokenInfo.scim.source}</Code> ({PROFILE_LABELS[created.tokenInfo.scim.profile]}{' '}
            profile, {ACCESS_LABELS[accessOf(created.tokenInfo)].toLowerCase()}
            {created.tokenInfo.expiresAt
              ? `, expires ${formatDate(created.tokenInfo.expiresAt)}`
              : ', never expires'}
            ).
          </Text>
          <Alert
            color="yellow"
            variant="light"
            icon={<IconAlertTriangle aria-hidden />}
            title="The secret token is shown only once"
          >
            Copy it now into the other system. Gatehouse keeps only a hash and cannot show it again; if it is
            lost, connect a new client and revoke this one.
          </Alert>
          <Stack gap={6}>
            <Text size="sm" fw={500}>
              Secret token
            </Text>
            <Code block className="mono" data-testid="scim-secret" aria-label="Secret token">
              {created.token}
            </Code>
            <Group>
              <CopyButton value={created.token} label="Copy secret token" size="sm" />
            </Group>
          </Stack>
          <SetupGuide
            baseUrl={baseUrl}
            client={created.tokenInfo}
            defaultGuide={created.tokenInfo.scim.profile === 'lenient' ? 'entra' : 'other'}
          />
          <Group justify="flex-end">
            <Button onClick={onClose}>Done</Button>
          </Group>
        </Stack>
      ) : null}
    </AppModal>
  );
}
