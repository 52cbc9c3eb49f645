import { Badge, Code, Group, Table, Text, TextInput, VisuallyHidden } from '@mantine/core';
import { IconLock, IconSearch } from '@tabler/icons-react';
import { useSearchParams } from 'react-router';
import { api, type ConfigItem } from '../api';
import { useSession } from '../session';
import { Empty, ErrorState, LoadingRows, NoAccess, Page, useApiData } from '../components/ui';

const SOURCE_LABELS: Record<ConfigItem['source'], string> = {
  environment: 'Environment',
  default: 'Default',
  unset: 'Not set',
};
const SOURCE_COLORS: Record<ConfigItem['source'], string> = {
  environment: 'blue',
  default: 'gray',
  unset: 'yellow',
};

export default function SettingsPage() {
  const { can } = useSession();
  if (!can('settings:read'))
    return (
      <Page title="Settings">
        <NoAccess what="settings" />
      </Page>
    );
  return <Settings />;
}

function Settings() {
  const [params, setParams] = useSearchParams();
  const filter = params.get('q') ?? '';
  const config = useApiData(
    (signal) => api.get<{ items: ConfigItem[] }>('/api/v1/system/config', undefined, signal),
    'config',
  );
  const needle = filter.trim().toLowerCase();
  const items = (config.data?.items ?? []).filter(
    (i) => !needle || i.env.toLowerCase().includes(needle) || i.description.toLowerCase().includes(needle),
  );

  return (
    <Page
      title="Settings"
      description="The configuration this server is running with. Change it through environment variables and restart; see docs/CONFIGURATION.md."
    >
      <TextInput
        label="Find a setting"
        type="search"
        placeholder="e.g. SESSION or PORT"
        leftSection={<IconSearch size={16} aria-hidden />}
        value={filter}
        onChange={(e) => {
          const p = new URLSearchParams(params);
          if (e.currentTarget.value) p.set('q', e.currentTarget.value);
          else p.delete('q');
          setParams(p, { replace: true });
        }}
        w={{ base: '100%', xs: 320 }}
      />
      {config.error ? (
        <ErrorState error={config.error} what="the configuration" onRetry={config.reload} />
      ) : !config.data ? (
        <LoadingRows label="Loading the configuration…" rows={8} />
      ) : items.length === 0 ? (
        <Empty title="No settings match." description="Clear the search box to see every setting." />
      ) : (
        <Table.ScrollContainer minWidth={760}>
          <Table aria-label="Configuration">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Setting</Table.Th>
                <Table.Th scope="col">Value</Table.Th>
                <Table.Th scope="col">Source</Table.Th>
                <Table.Th scope="col">Description</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((i) => (
                <Table.Tr key={i.env} data-env={i.env}>
                  <Table.Th scope="row" fw={500}>
                    <Code>{i.env}</Code>
                  </Table.Th>
                  <Table.Td>
                    {i.secret ? (
                      <Group gap={6} wrap="nowrap" data-secret="true">
                        <IconLock size={16} aria-hidden color="var(--mantine-color-gray-6)" />
                        <Text size="sm" c="dimmed" aria-hidden>
                          {i.value === null ? 'not set' : '••••••••'}
                        </Text>
                        <VisuallyHidden>
                          {i.value === null ? 'Secret, not set' : 'Secret, hidden'}
                        </VisuallyHidden>
                      </Group>
                    ) : i.value === null ? (
                      <Text size="sm" c="dimmed">
                        not set
                      </Text>
                    ) : (
                      <Text size="sm" className="mono">
                        {i.value}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Badge color={SOURCE_COLORS[i.source]} variant="light">
                      {SOURCE_LABELS[i.source]}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{i.description}</Text>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Page>
  );
}
