import { useId, type ReactNode } from 'react';
import { Link } from 'react-router';
import {
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  List,
  SimpleGrid,
  Skeleton,
  Stack,
  Table,
  Text,
  ThemeIcon,
  Title,
} from '@mantine/core';
import {
  IconActivityHeartbeat,
  IconCircleCheck,
  IconCircleX,
  IconKey,
  IconListSearch,
  IconPlugConnected,
  IconRefresh,
  IconServer,
  IconStack2,
  IconUsers,
} from '@tabler/icons-react';
import { api, type DashboardData } from '../api';
import { useSession } from '../session';
import { ErrorState, Page, useApiData } from '../components/ui';
import { formatNumber } from '../format';

const DATABASE_LABELS: Record<string, string> = {
  'embedded-owner': 'Embedded PostgreSQL, run by this server',
  'embedded-attached': 'Embedded PostgreSQL, shared with another Gatehouse process',
  external: 'External PostgreSQL',
};

function Tile({
  title,
  icon,
  children,
  link,
}: {
  title: string;
  icon: ReactNode;
  children: ReactNode;
  link?: { to: string; label: string } | null;
}) {
  const id = useId();
  return (
    <Card withBorder radius="md" padding="lg" component="section" aria-labelledby={id}>
      <Stack gap="sm" h="100%">
        <Group gap="xs" wrap="nowrap">
          <ThemeIcon variant="light" size="md" radius="md" aria-hidden>
            {icon}
          </ThemeIcon>
          <Title order={2} size="h5" id={id}>
            {title}
          </Title>
        </Group>
        <div style={{ flex: 1 }}>{children}</div>
        {link ? (
          <Anchor component={Link} to={link.to} size="sm">
            {link.label} →
          </Anchor>
        ) : null}
      </Stack>
    </Card>
  );
}

function Figure({ value, label, warn }: { value: number; label: string; warn?: boolean }) {
  return (
    <div>
      <Text fz={28} fw={700} lh={1.1} c={warn && value > 0 ? 'orange.8' : undefined}>
        {formatNumber(value)}
      </Text>
      <Text size="sm" c="dimmed">
        {label}
      </Text>
    </div>
  );
}

export default function DashboardPage() {
  const { can } = useSession();
  const dash = useApiData(
    (signal) => api.get<DashboardData>('/api/v1/dashboard', undefined, signal),
    'dashboard',
  );
  const d = dash.data;

  return (
    <Page
      title="Dashboard"
      description="How Gatehouse is doing right now."
      actions={
        <Button
          variant="default"
          leftSection={<IconRefresh size={16} aria-hidden />}
          onClick={dash.reload}
          loading={dash.loading && !!d}
        >
          Refresh
        </Button>
      }
    >
      {dash.error ? (
        <ErrorState error={dash.error} what="the dashboard" onRetry={dash.reload} />
      ) : !d ? (
        <SimpleGrid
          cols={{ base: 1, sm: 2, lg: 3 }}
          role="status"
          aria-busy="true"
          aria-label="Loading the dashboard"
        >
          {Array.from({ length: 6 }, (_, i) => (
            <Skeleton key={i} height={170} radius="md" />
          ))}
        </SimpleGrid>
      ) : (
        <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} spacing="lg">
          <Tile title="Health" icon={<IconActivityHeartbeat size={18} />}>
            <Stack gap="xs">
              <Group gap="xs">
                <Badge color={d.health.ready ? 'teal' : 'red'} size="lg" variant="light">
                  {d.health.ready ? 'Ready' : 'Not ready'}
                </Badge>
              </Group>
              <List spacing={4} size="sm" listStyleType="none" aria-label="Health checks">
                {Object.entries(d.health.checks).map(([name, c]) => (
                  <List.Item
                    key={name}
                    icon={
                      c.ok ? (
                        <IconCircleCheck size={16} color="var(--mantine-color-teal-7)" aria-hidden />
                      ) : (
                        <IconCircleX size={16} color="var(--mantine-color-red-7)" aria-hidden />
                      )
                    }
                  >
                    <Text span size="sm" fw={500}>
                      {name}
                    </Text>
                    <Text span size="sm" c="dimmed">
                      {' '}
                      — {c.ok ? 'OK' : 'failing'}
                      {c.detail ? `: ${c.detail}` : ''}
                    </Text>
                  </List.Item>
                ))}
              </List>
            </Stack>
          </Tile>

          <Tile
            title="Operators"
            icon={<IconUsers size={18} />}
            link={can('operators:read') ? { to: '/operators', label: 'See the operator list' } : null}
          >
            <SimpleGrid cols={2} spacing="sm">
              <Figure value={d.operators.total} label="in total" />
              <Figure value={d.operators.active} label="active" />
              <Figure value={d.operators.lockedOut} label="locked out" warn />
              <Figure value={d.operators.withoutMfa} label="without MFA" warn />
            </SimpleGrid>
          </Tile>

          <Tile
            title="API tokens"
            icon={<IconKey size={18} />}
            link={can('tokens:read') ? { to: '/tokens', label: 'See every token' } : null}
          >
            <SimpleGrid cols={2} spacing="sm">
              <Figure value={d.tokens.active} label="active" />
              <Figure value={d.tokens.expiringSoon} label="expiring soon" warn />
            </SimpleGrid>
          </Tile>

          <Tile
            title="Audit trail"
            icon={<IconListSearch size={18} />}
            link={can('audit:read') ? { to: '/audit', label: 'Search and verify events' } : null}
          >
            <SimpleGrid cols={2} spacing="sm">
              <Figure value={d.audit.events} label="events recorded" />
              <Figure value={d.audit.last24h} label="in the last 24 hours" />
            </SimpleGrid>
          </Tile>

          <Tile title="Job queues" icon={<IconStack2 size={18} />}>
            {d.jobs.length === 0 ? (
              <Text size="sm" c="dimmed">
                No job queues yet.
              </Text>
            ) : (
              <div style={{ overflowX: 'auto' }}>
                <Table
                  aria-label="Job queues"
                  fz="xs"
                  verticalSpacing={4}
                  horizontalSpacing={4}
                  highlightOnHover={false}
                >
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th scope="col">Queue</Table.Th>
                      <Table.Th scope="col" ta="right">
                        Queued
                      </Table.Th>
                      <Table.Th scope="col" ta="right">
                        Active
                      </Table.Th>
                      <Table.Th scope="col" ta="right">
                        Deferred
                      </Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {d.jobs.map((j) => (
                      <Table.Tr key={j.name}>
                        <Table.Th scope="row" fw={500}>
                          {j.name}
                        </Table.Th>
                        <Table.Td ta="right">{formatNumber(j.queued)}</Table.Td>
                        <Table.Td ta="right">{formatNumber(j.active)}</Table.Td>
                        <Table.Td ta="right">{formatNumber(j.deferred)}</Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </div>
            )}
          </Tile>

          <Tile title="System" icon={<IconServer size={18} />}>
            <Stack gap={6}>
              <Text size="sm">
                <Text span c="dimmed">
                  Version{' '}
                </Text>
                {d.system.version}
              </Text>
              <Text size="sm">
                <Text span c="dimmed">
                  Database{' '}
                </Text>
                {DATABASE_LABELS[d.system.database] ?? d.system.database}
              </Text>
              <Text size="sm">
                <Text span c="dimmed">
                  PostgreSQL{' '}
                </Text>
                {d.system.postgresVersion}
              </Text>
            </Stack>
          </Tile>

          <Card
            withBorder
            radius="md"
            padding="lg"
            style={{ borderStyle: 'dashed', background: 'transparent' }}
            data-testid="more-tiles"
          >
            <Stack gap="xs" align="flex-start" justify="center" h="100%">
              <ThemeIcon variant="light" color="gray" size="md" radius="md" aria-hidden>
                <IconPlugConnected size={18} />
              </ThemeIcon>
              <Text size="sm" c="dimmed">
                More tiles appear here as you connect HR sources and targets.
              </Text>
            </Stack>
          </Card>
        </SimpleGrid>
      )}
    </Page>
  );
}
