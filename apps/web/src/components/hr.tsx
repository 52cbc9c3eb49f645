import { useState } from 'react';
import { Anchor, Badge, Button, Group, NativeSelect, SimpleGrid, Stack, Table, Text } from '@mantine/core';
import { IconDownload } from '@tabler/icons-react';
import { When } from './ui';
import {
  ChangeList,
  EventTypeBadge,
  eventCount,
  eventTypeLabel,
  formatUtc,
  type DetectedEvent,
  type ImportState,
  type RowError,
} from './people';
import { formatDateTime, formatNumber } from '../format';

export const IMPORT_STATE_LABELS: Record<ImportState, string> = {
  previewed: 'Preview, not applied',
  held: 'Held for approval',
  applied: 'Applied',
  rejected: 'Discarded',
  failed: 'Failed',
};

const IMPORT_STATE_COLORS: Record<ImportState, string> = {
  previewed: 'blue',
  held: 'orange',
  applied: 'teal',
  rejected: 'gray',
  failed: 'red',
};

export function ImportStateBadge({ state }: { state: ImportState }) {
  return (
    <Badge color={IMPORT_STATE_COLORS[state] ?? 'gray'} variant="light">
      {IMPORT_STATE_LABELS[state] ?? state}
    </Badge>
  );
}

function Figure({ value, label, warn }: { value: number; label: string; warn?: boolean }) {
  return (
    <div>
      <Text component="dt" size="xs" c="dimmed">
        {label}
      </Text>
      <Text component="dd" m={0} fz={24} fw={700} lh={1.2} c={warn && value > 0 ? 'red.8' : undefined}>
        {formatNumber(value)}
      </Text>
    </div>
  );
}

/** Rows, valid, unchanged, errors, and how many events of each type. */
export function ImportFigures({
  rows,
  valid,
  unchanged,
  errors,
  counts,
}: {
  rows: number;
  valid: number;
  unchanged: number;
  errors: number;
  counts: Record<string, number>;
}) {
  const types = Object.entries(counts).filter(([, n]) => n > 0);
  return (
    <Stack gap="sm">
      <SimpleGrid cols={{ base: 2, sm: 4 }} spacing="sm" component="dl" m={0} aria-label="Summary">
        <Figure value={rows} label="Rows" />
        <Figure value={valid} label="Valid" />
        <Figure value={unchanged} label="Unchanged" />
        <Figure value={errors} label="Errors" warn />
      </SimpleGrid>
      <Group gap="xs" aria-label="Events by type" role="list">
        {types.length === 0 ? (
          <Text size="sm" c="dimmed">
            {valid === 0 && rows > 0
              ? 'No row of this file could be used: see the errors below.'
              : 'No changes: everyone in this file is already up to date.'}
          </Text>
        ) : (
          types.map(([type, n]) => (
            <Badge key={type} role="listitem" variant="outline" color="gray" size="lg" tt="none" fw={500}>
              {eventCount(type, n)}
            </Badge>
          ))
        )}
      </Group>
    </Stack>
  );
}

const STEP = 100;

/** The events an import found: type, employee ID, changes, and when they take effect; filter by type. */
export function ImportEventsTable({
  events,
  hidePersonal,
  truncated,
}: {
  events: DetectedEvent[];
  hidePersonal: boolean;
  truncated?: boolean;
}) {
  const [type, setType] = useState('');
  const [shown, setShown] = useState(STEP);
  const types = [...new Set(events.map((e) => e.type))];
  const filtered = type ? events.filter((e) => e.type === type) : events;
  const visible = filtered.slice(0, shown);
  if (events.length === 0)
    return (
      <Text size="sm" c="dimmed">
        This file changes nobody.
      </Text>
    );
  return (
    <Stack gap="sm">
      {types.length > 1 ? (
        <NativeSelect
          label="Show events"
          size="xs"
          w={240}
          value={type}
          onChange={(e) => {
            setType(e.currentTarget.value);
            setShown(STEP);
          }}
          data={[
            { value: '', label: 'All types' },
            ...types.map((t) => ({ value: t, label: eventTypeLabel(t) })),
          ]}
        />
      ) : null}
      <Table.ScrollContainer minWidth={720}>
        <Table aria-label="Events in this import" fz="sm">
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Event</Table.Th>
              <Table.Th scope="col">Employee ID</Table.Th>
              <Table.Th scope="col">Changes</Table.Th>
              <Table.Th scope="col">Takes effect</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {visible.map((e, i) => (
              <Table.Tr key={`${e.employeeId}-${e.type}-${i}`}>
                <Table.Td>
                  <EventTypeBadge type={e.type} />
                </Table.Td>
                <Table.Td className="mono">{e.employeeId}</Table.Td>
                <Table.Td>
                  <ChangeList changes={e.changes} created={e.type === 'joiner'} hidePersonal={hidePersonal} />
                </Table.Td>
                <Table.Td>
                  {e.effectiveAt ? (
                    <>
                      <When at={e.effectiveAt} show={formatDateTime} />
                      <Text size="xs" c="dimmed">
                        {formatUtc(e.effectiveAt)}
                      </Text>
                    </>
                  ) : (
                    <Text size="sm">When applied</Text>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <Group gap="sm">
        <Text size="sm" c="dimmed" aria-live="polite">
          Showing {formatNumber(visible.length)} of {formatNumber(filtered.length)} event
          {filtered.length === 1 ? '' : 's'}
          {truncated ? ' (the first 1,000 of this import are stored for review)' : ''}.
        </Text>
        {visible.length < filtered.length ? (
          <Button variant="default" size="xs" onClick={() => setShown((n) => n + STEP)}>
            Show more events
          </Button>
        ) : null}
      </Group>
    </Stack>
  );
}

/** Rows the import could not use: row number as the file shows it, column, value, and what is wrong. */
export function ImportErrorsTable({
  errors,
  total,
  csvHref,
}: {
  errors: RowError[];
  total: number;
  csvHref: string | null;
}) {
  const [shown, setShown] = useState(STEP);
  const visible = errors.slice(0, shown);
  return (
    <Stack gap="sm">
      <Group justify="space-between" wrap="wrap" gap="sm">
        <Text size="sm">
          {total === 1 ? 'One row was' : `${formatNumber(total)} rows were`} left out. Fix{' '}
          {total === 1 ? 'it' : 'them'} in the HR system and import the file again; the other rows are not
          held back.
        </Text>
        {csvHref ? (
          <Anchor href={csvHref} download size="sm">
            <Group gap={4} wrap="nowrap" component="span">
              <IconDownload size={16} aria-hidden />
              Download errors as CSV
            </Group>
          </Anchor>
        ) : null}
      </Group>
      <Table.ScrollContainer minWidth={720}>
        <Table aria-label="Rows with errors" fz="sm">
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col" w={70}>
                Row
              </Table.Th>
              <Table.Th scope="col">Column</Table.Th>
              <Table.Th scope="col">Value</Table.Th>
              <Table.Th scope="col">Problem</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {visible.map((e, i) => (
              <Table.Tr key={`${e.row}-${e.column}-${i}`}>
                <Table.Td>{e.row}</Table.Td>
                <Table.Td className="mono">{e.column}</Table.Td>
                <Table.Td className="mono">{e.value ?? '—'}</Table.Td>
                <Table.Td>{e.message}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {visible.length < errors.length || total > errors.length ? (
        <Group gap="sm">
          <Text size="sm" c="dimmed">
            Showing {formatNumber(visible.length)} of {formatNumber(total)} errors
            {total > errors.length ? '; download the CSV for all of them' : ''}.
          </Text>
          {visible.length < errors.length ? (
            <Button variant="default" size="xs" onClick={() => setShown((n) => n + STEP)}>
              Show more errors
            </Button>
          ) : null}
        </Group>
      ) : null}
    </Stack>
  );
}
