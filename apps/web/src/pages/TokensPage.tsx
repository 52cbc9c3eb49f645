import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { useListQuery } from '../listQuery';
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Checkbox,
  Code,
  Group,
  Loader,
  NativeSelect,
  Stack,
  Table,
  Text,
  TextInput,
  VisuallyHidden,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { IconAlertTriangle, IconKey, IconPlus, IconSearch } from '@tabler/icons-react';
import { api, ApiError, describe, type TokenRow } from '../api';
import { useSession } from '../session';
import {
  Empty,
  ErrorState,
  LoadingRows,
  NoAccess,
  notifySuccess,
  Page,
  CopyButton,
  Pager,
  sortableHeader,
  useApiData,
  useUrlValue,
  type SortOrder,
  When,
  FormError,
} from '../components/ui';
import { AppModal } from '../components/modal';
import { RevokeTokenDialog } from '../components/tokens';
import { ScimSettingsLine, type ScimTokenRow } from '../components/scim';
import { formatDate, formatRelative } from '../format';

interface ScopeInfo {
  scope: string;
  description: string;
}

const TOKEN_SORTS = ['name', 'createdAt', 'expiresAt', 'lastUsedAt'] as const;

interface TokenList {
  items: ScimTokenRow[];
  /** Servers that page the list say how many there are in all. */
  total?: number;
  page?: number;
  pageSize?: number;
}

const EXPIRY_OPTIONS = [
  { value: '', label: 'Never' },
  { value: '30d', label: '30 days' },
  { value: '90d', label: '90 days' },
  { value: '365d', label: '1 year' },
];

const STATUS_COLORS: Record<TokenRow['status'], string> = { active: 'teal', expired: 'gray', revoked: 'red' };
const STATUS_LABELS: Record<TokenRow['status'], string> = {
  active: 'Active',
  expired: 'Expired',
  revoked: 'Revoked',
};

export default function TokensPage() {
  const { can } = useSession();
  if (!can('tokens:read'))
    return (
      <Page title="API tokens">
        <NoAccess what="API tokens" />
      </Page>
    );
  return <Tokens />;
}

function Tokens() {
  const { can } = useSession();
  const canWrite = can('tokens:write');
  const { params, q, update, search, setSearch } = useListQuery();
  const includeRevoked = params.get('includeRevoked') === 'true';
  const [showAll, setShowAll] = useUrlValue(includeRevoked);
  const sortParam = params.get('sort') ?? '';
  const sort = (TOKEN_SORTS as readonly string[]).includes(sortParam) ? sortParam : '';
  const order: SortOrder =
    params.get('order') === 'asc' ? 'asc' : params.get('order') === 'desc' ? 'desc' : sort ? 'asc' : 'desc';
  const page = Math.max(1, Number(params.get('page')) || 1);
  const query = {
    includeRevoked,
    q,
    sort: sort || undefined,
    order: sort ? order : undefined,
    page: page > 1 ? page : undefined,
  };
  const list = useApiData(
    (signal) => api.get<TokenList>('/api/v1/tokens', query, signal),
    JSON.stringify(query),
  );

  // With no sort chosen the server lists newest first.
  const shownSort = sort || 'createdAt';
  const onSort = (field: string, o: SortOrder) => update({ sort: field, order: o });
  const total = list.data?.total;
  const pageSize = list.data?.pageSize ?? 100;
  const pageCount = total !== undefined ? Math.max(1, Math.ceil(total / pageSize)) : 1;
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ token: string; tokenInfo: TokenRow } | null>(null);
  const [revoking, setRevoking] = useState<TokenRow | null>(null);

  const items = list.data?.items ?? [];
  const createButton = canWrite ? (
    <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setCreating(true)}>
      Create token
    </Button>
  ) : null;

  const th = sortableHeader(shownSort, order, onSort);
  return (
    <Page
      title="API tokens"
      description="Tokens let other systems and scripts call the Gatehouse API. Each carries only the scopes it needs."
      actions={createButton}
    >
      <Group gap="md" align="flex-end" wrap="wrap" role="search" aria-label="Filter API tokens">
        <TextInput
          label="Search tokens"
          placeholder="Name"
          type="search"
          leftSection={<IconSearch size={16} aria-hidden />}
          value={search}
          onChange={(e) => setSearch(e.currentTarget.value)}
          w={{ base: '100%', xs: 280 }}
        />
        <Checkbox
          mb={8}
          label="Show revoked and expired tokens"
          checked={showAll}
          onChange={(e) => {
            const checked = e.currentTarget.checked;
            setShowAll(checked);
            update({ includeRevoked: checked ? 'true' : null });
          }}
        />
      </Group>

      {list.error ? (
        <ErrorState error={list.error} what="API tokens" onRetry={list.reload} />
      ) : !list.data ? (
        <LoadingRows label="Loading API tokens…" />
      ) : items.length === 0 && q ? (
        <Empty
          title="No tokens match this search."
          description="Check the spelling, or clear the search box."
        >
          <Button variant="light" onClick={() => update({ q: null })}>
            Clear search
          </Button>
        </Empty>
      ) : items.length === 0 ? (
        <Empty
          title="No API tokens yet. Create one to let another system call Gatehouse."
          description={
            includeRevoked
              ? undefined
              : 'Revoked and expired tokens are hidden; switch them on above to see the history.'
          }
          icon={<IconKey aria-hidden />}
        />
      ) : (
        <Stack gap="sm">
          <Table.ScrollContainer minWidth={900}>
            <Table aria-label="API tokens" aria-busy={list.loading}>
              <Table.Thead>
                <Table.Tr>
                  {th('Name', 'name')}
                  <Table.Th scope="col">Token</Table.Th>
                  <Table.Th scope="col">Scopes</Table.Th>
                  <Table.Th scope="col">Status</Table.Th>
                  {th('Created', 'createdAt')}
                  {th('Expires', 'expiresAt')}
                  {th('Last used', 'lastUsedAt')}
                  {canWrite ? (
                    <Table.Th scope="col">
                      <VisuallyHidden>Actions</VisuallyHidden>
                    </Table.Th>
                  ) : null}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {items.map((t) => (
                  <Table.Tr key={t.id} data-token-id={t.id}>
                    <Table.Td>
                      <Text size="sm" fw={500}>
                        {t.name}
                      </Text>
                      {t.scim ? <ScimSettingsLine scim={t.scim} /> : null}
                    </Table.Td>
                    <Table.Td>
                      <Code>{t.hint}</Code>
                    </Table.Td>
                    <Table.Td>
                      <Group gap={4}>
                        {t.scopes.map((s) => (
                          <Badge key={s} variant="outline" color={s === 'admin' ? 'grape' : 'gray'} tt="none">
                            {s}
                          </Badge>
                        ))}
                      </Group>
                    </Table.Td>
                    <Table.Td>
                      <Badge color={STATUS_COLORS[t.status]} variant="light">
                        {STATUS_LABELS[t.status]}
                      </Badge>
                      {t.status === 'revoked' && t.revokedAt ? (
                        <Text size="xs" c="dimmed">
                          {formatDate(t.revokedAt)}
                          {t.revokedBy ? ` by ${t.revokedBy}` : ''}
                        </Text>
                      ) : null}
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">
                        <When at={t.createdAt} show={formatDate} />
                      </Text>
                      <Text size="xs" c="dimmed">
                        by {t.createdBy}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <When at={t.expiresAt} show={formatDate} />
                    </Table.Td>
                    <Table.Td>
                      <When at={t.lastUsedAt} show={formatRelative} />
                    </Table.Td>
                    {canWrite ? (
                      <Table.Td>
                        {t.status === 'active' ? (
                          <Button size="xs" color="red" variant="light" onClick={() => setRevoking(t)}>
                            Revoke
                          </Button>
                        ) : null}
                      </Table.Td>
                    ) : null}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {total !== undefined && total > items.length ? (
            <Pager
              summary={`Page ${page} of ${pageCount} · ${total} token${total === 1 ? '' : 's'}`}
              hasPrevious={page > 1}
              hasNext={page < pageCount}
              onPrevious={() => update({ page: page - 1 > 1 ? String(page - 1) : null }, true)}
              onNext={() => update({ page: String(page + 1) }, true)}
              busy={list.loading}
            />
          ) : null}
        </Stack>
      )}

      {canWrite ? (
        <>
          <CreateTokenDialog
            opened={creating}
            onClose={() => setCreating(false)}
            onCreated={(r) => {
              setCreating(false);
              setCreated(r);
              list.reload();
            }}
          />
          <NewTokenDialog
            created={created}
            onClose={() => {
              if (created) notifySuccess(`Token “${created.tokenInfo.name}” created.`);
              setCreated(null);
            }}
          />
          <RevokeTokenDialog
            token={revoking}
            noun="token"
            onClose={() => setRevoking(null)}
            onDone={(t) => {
              setRevoking(null);
              notifySuccess(`Token “${t.name}” revoked. Systems using it no longer have access.`);
              list.reload();
            }}
          >
            <Text size="sm">
              Systems using this token lose access immediately. This cannot be undone; create a new token if
              they still need access.
            </Text>
          </RevokeTokenDialog>
        </>
      ) : null}
    </Page>
  );
}

function CreateTokenDialog({
  opened,
  onClose,
  onCreated,
}: {
  opened: boolean;
  onClose: () => void;
  onCreated: (r: { token: string; tokenInfo: TokenRow }) => void;
}) {
  const [scopes, setScopes] = useState<ScopeInfo[] | null>(null);
  const [scopesError, setScopesError] = useState<unknown>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({
    initialValues: { name: '', scopes: [] as string[], expiresIn: '90d' },
    validate: {
      name: (v) =>
        !v.trim()
          ? 'Give the token a name that says who uses it'
          : v.length > 100
            ? 'Use at most 100 characters'
            : null,
      scopes: (v) => (v.length ? null : 'Choose at least one scope'),
    },
  });

  const loadScopes = () => {
    setScopesError(null);
    api.get<{ items: ScopeInfo[] }>('/api/v1/tokens/scopes').then(
      (r) => setScopes(r.items),
      (e: unknown) => setScopesError(e),
    );
  };
  useEffect(() => {
    if (!opened) return;
    form.reset();
    setError(null);
    if (!scopes) loadScopes();
    // Only when the dialog opens.
  }, [opened]);

  const submit = form.onSubmit(async (v) => {
    setBusy(true);
    setError(null);
    try {
      const r = await api.post<{ token: string; tokenInfo: TokenRow }>('/api/v1/tokens', {
        name: v.name.trim(),
        scopes: v.scopes,
        ...(v.expiresIn ? { expiresIn: v.expiresIn } : {}),
      });
      onCreated(r);
    } catch (e) {
      if (e instanceof ApiError) {
        const fields = Object.fromEntries(
          Object.entries(e.fieldErrors).filter(([f]) => ['name', 'scopes', 'expiresIn'].includes(f)),
        );
        if (Object.keys(fields).length) form.setErrors(fields);
      }
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  });

  const adminChosen = form.values.scopes.includes('admin');
  const scimChosen = form.values.scopes.some((s) => s.startsWith('scim:'));

  return (
    <AppModal opened={opened} onClose={onClose} title="Create token">
      <form onSubmit={submit} noValidate>
        <Stack gap="md">
          <FormError error={error} />
          <TextInput
            label="Name"
            description="Who or what uses it, e.g. “HR import job” or “Reporting dashboard”."
            autoComplete="off"
            data-autofocus
            {...form.getInputProps('name')}
          />
          {scopesError ? (
            <ErrorState error={scopesError} what="the list of scopes" onRetry={loadScopes} />
          ) : !scopes ? (
            <Group gap="xs" role="status">
              <Loader size="xs" aria-hidden />
              <Text size="sm">Loading scopes…</Text>
            </Group>
          ) : (
            <Checkbox.Group
              label="Scopes"
              description="Give the token only what it needs."
              {...form.getInputProps('scopes')}
            >
              <Stack gap="xs" mt="xs">
                {scopes.map((s) => (
                  <Checkbox
                    key={s.scope}
                    value={s.scope}
                    label={<Code>{s.scope}</Code>}
                    description={s.description}
                    aria-label={`${s.scope}: ${s.description}`}
                  />
                ))}
              </Stack>
            </Checkbox.Group>
          )}
          {adminChosen ? (
            <Alert color="orange" variant="light" icon={<IconAlertTriangle aria-hidden />}>
              <Code>admin</Code> allows everything, including managing operators and other tokens.
            </Alert>
          ) : null}
          {scimChosen ? (
            <Alert color="blue" variant="light">
              This token pushes into the HR source <Code>scim</Code> with the Strict profile. To choose the
              source and profile (Entra ID and Okta need Lenient), use{' '}
              <Anchor component={Link} to="/scim">
                Connect a SCIM client
              </Anchor>{' '}
              on the SCIM page instead.
            </Alert>
          ) : null}
          <NativeSelect label="Expires" data={EXPIRY_OPTIONS} {...form.getInputProps('expiresIn')} />
          <Group justify="flex-end" gap="sm">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={busy} disabled={!scopes}>
              Create token
            </Button>
          </Group>
        </Stack>
      </form>
    </AppModal>
  );
}

function NewTokenDialog({
  created,
  onClose,
}: {
  created: { token: string; tokenInfo: TokenRow } | null;
  onClose: () => void;
}) {
  return (
    <AppModal opened={!!created} onClose={onClose} title="Copy your new token" closeOnClickOutside={false}>
      {created ? (
        <Stack gap="md">
          <Alert
            color="yellow"
            variant="light"
            icon={<IconAlertTriangle aria-hidden />}
            title="Shown only once"
          >
            Copy the token now and store it in the other system&apos;s secret store. Gatehouse keeps only a
            hash and cannot show it again; if it is lost, create a new token and revoke this one.
          </Alert>
          <Text size="sm">
            Token <strong>{created.tokenInfo.name}</strong> with {created.tokenInfo.scopes.join(', ')}
            {created.tokenInfo.expiresAt
              ? `, expires ${formatDate(created.tokenInfo.expiresAt)}`
              : ', never expires'}
            .
          </Text>
          <Code block className="mono" data-testid="new-token" aria-label="New API token">
            {created.token}
          </Code>
          <Group justify="space-between">
            <CopyButton value={created.token} label="Copy token" size="sm" />
            <Button onClick={onClose}>Done</Button>
          </Group>
        </Stack>
      ) : null}
    </AppModal>
  );
}
