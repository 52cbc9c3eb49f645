import { useState } from 'react';
import { Link } from 'react-router';
import { Alert, Anchor, Badge, Button, Group, List, Paper, Stack, Table, Text, Title } from '@mantine/core';
import { IconAlertTriangle, IconBan, IconCircleCheck, IconRefresh } from '@tabler/icons-react';
import { api, describe } from '../api';
import { useSession } from '../session';
import { ErrorState, LoadingRows, useApiData } from './ui';
import {
  BecauseList,
  becauseText,
  CHANGE_SET_STATUS,
  changeSetPath,
  changeSetsChanged,
  ChangeSetTable,
  PrivilegedBadge,
  type AccessItem,
  type ChangeSetList,
  type PersonAccess,
  type RecordedChangeSet,
} from './provisioning';
import { formatDate, formatNumber } from '../format';

const ACCOUNT_STATES: Record<string, { label: string; color: string }> = {
  active: { label: 'Active', color: 'teal' },
  disabled: { label: 'Disabled', color: 'gray' },
  quarantined: { label: 'Quarantined', color: 'orange' },
  deleted: { label: 'Deleted', color: 'gray' },
};

type Recomputed = { changeSet: RecordedChangeSet | null } | { error: string };

/**
 * A person's access on every target: the account, what they hold and should hold and why (the rule and role, or
 * the assignment), what is planned but not yet applied, separation-of-duties findings; "Recompute now".
 */
export function AccessSection({ personId, name }: { personId: string; name: string }) {
  const { can } = useSession();
  const access = useApiData(
    (signal) =>
      api.get<PersonAccess>(`/api/v1/people/${encodeURIComponent(personId)}/access`, undefined, signal),
    `access ${personId}`,
  );
  const [nonce, setNonce] = useState(0);
  const [busy, setBusy] = useState(false);
  const [recomputed, setRecomputed] = useState<Recomputed | null>(null);

  const recompute = async () => {
    setBusy(true);
    setRecomputed(null);
    try {
      const r = await api.post<{ changeSet: RecordedChangeSet | null }>('/api/v1/change-sets', {
        personIds: [personId],
      });
      setRecomputed(r);
      changeSetsChanged();
    } catch (e) {
      setRecomputed({ error: describe(e) });
    } finally {
      setBusy(false);
      access.reload();
      setNonce((n) => n + 1);
    }
  };

  const a = access.data;
  return (
    <Stack gap="md">
      <Group justify="space-between" align="flex-start" wrap="wrap">
        <Text size="sm" c="dimmed" maw={640}>
          What {name} has on each target, what the policy says they should have, and why.
        </Text>
        {can('changes:write') ? (
          <Button
            variant="default"
            size="xs"
            leftSection={<IconRefresh size={14} aria-hidden />}
            loading={busy}
            onClick={() => void recompute()}
          >
            Recompute now
          </Button>
        ) : null}
      </Group>
      {recomputed ? <RecomputeOutcome outcome={recomputed} name={name} /> : null}
      {access.error ? (
        <ErrorState error={access.error} what="this person's access" onRetry={access.reload} />
      ) : !a ? (
        <LoadingRows label="Loading access…" rows={3} />
      ) : (
        <>
          {a.roles.length ? (
            <div>
              <Text size="sm" fw={600} mb={2}>
                Roles
              </Text>
              <List size="sm" spacing={2} aria-label="Roles">
                {a.roles.map((r) => (
                  <List.Item key={r.role}>
                    <strong>{r.role}</strong>{' '}
                    <Text span size="sm" c="dimmed">
                      — {[...new Set(r.because.map(becauseText))].join('; ')}
                    </Text>
                  </List.Item>
                ))}
              </List>
            </div>
          ) : null}
          {a.sod.length ? (
            <Alert
              color={a.sod.some((s) => s.action === 'block') ? 'grape' : 'orange'}
              variant="light"
              icon={<IconBan aria-hidden />}
              title="Separation of duties"
              data-testid="access-sod"
            >
              <List size="sm" spacing={4}>
                {a.sod.map((s) => (
                  <List.Item key={s.rule}>
                    Rule <strong>“{s.rule}”</strong>: {s.reason}{' '}
                    <Text span size="sm" c="dimmed">
                      (
                      {s.existing
                        ? 'already holds both sides'
                        : s.action === 'block'
                          ? 'the conflicting access is withheld'
                          : 'it waits for approval'}
                      )
                    </Text>
                  </List.Item>
                ))}
              </List>
            </Alert>
          ) : null}
          {a.targets.length === 0 ? (
            <Text size="sm" c="dimmed" data-testid="access-none">
              No access anywhere: no rule or assignment gives {name} an account, and Gatehouse manages no
              account of theirs.
            </Text>
          ) : (
            a.targets.map((t) => <TargetAccess key={t.target} item={t} />)
          )}
          {a.pending.length ? (
            <div data-testid="access-pending">
              <Text size="sm" fw={600}>
                Not applied yet ({formatNumber(a.pending.length)})
              </Text>
              <Text size="xs" c="dimmed" mb={4}>
                The policy wants these changes. They wait in a change set (below), or “Recompute now” plans
                them.
              </Text>
              <List size="sm" spacing={2}>
                {a.pending.map((p, i) => (
                  <List.Item key={i}>
                    {p.targetName}: {p.summary}
                  </List.Item>
                ))}
              </List>
            </div>
          ) : null}
        </>
      )}
      {can('changes:read') ? <PersonChangeSets personId={personId} nonce={nonce} /> : null}
    </Stack>
  );
}

function RecomputeOutcome({ outcome, name }: { outcome: Recomputed; name: string }) {
  if ('error' in outcome)
    return (
      <Alert
        color="red"
        variant="light"
        icon={<IconAlertTriangle aria-hidden />}
        role="alert"
        title="Could not recompute"
      >
        {outcome.error}
      </Alert>
    );
  const cs = outcome.changeSet;
  return (
    <Alert
      color="teal"
      variant="light"
      icon={<IconCircleCheck aria-hidden />}
      role="status"
      data-testid="recompute-result"
    >
      {cs ? (
        <>
          <Anchor component={Link} to={changeSetPath(cs.id)} size="sm" fw={600}>
            Change set #{cs.seq}
          </Anchor>{' '}
          <Text span size="sm">
            {cs.opCount
              ? `plans ${formatNumber(cs.opCount)} ${cs.opCount === 1 ? 'operation' : 'operations'} (${CHANGE_SET_STATUS[cs.status]?.label.toLowerCase() ?? cs.status}).`
              : 'changes nothing: it records access that separation-of-duties rules withhold.'}
          </Text>
        </>
      ) : (
        <Text size="sm">Nothing to change: {name}&apos;s accounts already match the policy.</Text>
      )}
    </Alert>
  );
}

function yesNo(v: boolean) {
  return v ? 'Yes' : 'No';
}

function TargetAccess({ item: t }: { item: AccessItem }) {
  const acc = t.account;
  const state = acc ? (ACCOUNT_STATES[acc.state] ?? { label: acc.state, color: 'gray' }) : null;
  return (
    <Paper
      withBorder
      radius="md"
      p="sm"
      component="section"
      aria-labelledby={`access-${t.target}`}
      data-target={t.target}
    >
      <Group justify="space-between" align="flex-start" wrap="wrap" mb={6}>
        <div>
          <Title order={3} size="h5" id={`access-${t.target}`}>
            {t.target}
          </Title>
          {acc ? (
            <Group gap={6} mt={2} wrap="wrap">
              <Text size="sm">
                Account <span className="mono">{acc.name}</span>
              </Text>
              <Badge color={state!.color} variant="light" size="sm">
                {state!.label}
              </Badge>
              <Badge color={acc.enabled ? 'teal' : 'gray'} variant="dot" size="sm">
                {acc.enabled ? 'Enabled' : 'Disabled'}
              </Badge>
              {acc.quarantineUntil ? (
                <Text size="xs" c="dimmed">
                  quarantine ends {formatDate(acc.quarantineUntil)}
                </Text>
              ) : null}
            </Group>
          ) : (
            <Text size="sm" c="dimmed">
              No account yet
            </Text>
          )}
        </div>
        <div style={{ maxWidth: '28rem' }}>
          <Text size="xs" c="dimmed">
            Should have an account
          </Text>
          {t.desired === 'present' ? (
            <BecauseList because={t.because} empty="Yes" />
          ) : (
            <Text size="sm">No — no rule or assignment gives one any more</Text>
          )}
        </div>
      </Group>
      {t.entitlements.length ? (
        <Table.ScrollContainer minWidth={560}>
          <Table fz="sm" aria-label={`Entitlements on ${t.target}`}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Entitlement</Table.Th>
                <Table.Th scope="col">Has it</Table.Th>
                <Table.Th scope="col">Should have it</Table.Th>
                <Table.Th scope="col">Why</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {t.entitlements.map((e) => (
                <Table.Tr key={e.key} data-entitlement={e.key}>
                  <Table.Th scope="row" fw={500}>
                    <Group gap={6} wrap="nowrap">
                      <span>{e.displayName}</span>
                      {e.privileged ? <PrivilegedBadge /> : null}
                    </Group>
                  </Table.Th>
                  <Table.Td>{yesNo(e.held)}</Table.Td>
                  <Table.Td>
                    {yesNo(e.desired)}
                    {e.desired !== e.held ? (
                      <Text span size="xs" c="orange.8">
                        {' '}
                        ({e.desired ? 'to be added' : 'to be removed'})
                      </Text>
                    ) : null}
                  </Table.Td>
                  <Table.Td>
                    <BecauseList because={e.because} empty={e.held ? 'Nothing gives it any more' : '—'} />
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      ) : (
        <Text size="sm" c="dimmed">
          No groups here.
        </Text>
      )}
    </Paper>
  );
}

function PersonChangeSets({ personId, nonce }: { personId: string; nonce: number }) {
  const list = useApiData(
    (signal) => api.get<ChangeSetList>('/api/v1/change-sets', { person: personId, limit: 10 }, signal),
    `${personId} ${nonce}`,
  );
  return (
    <div>
      <Title order={3} size="h5" mb={4}>
        Change sets for this person
      </Title>
      {list.error ? (
        <ErrorState error={list.error} what="the change sets" onRetry={list.reload} />
      ) : !list.data ? (
        <LoadingRows label="Loading change sets…" rows={2} />
      ) : list.data.items.length === 0 ? (
        <Text size="sm" c="dimmed">
          None yet.
        </Text>
      ) : (
        <Stack gap={4}>
          <ChangeSetTable items={list.data.items} label="Change sets for this person" compact />
          {list.data.next !== null ? (
            <Anchor component={Link} to={`/change-sets?person=${encodeURIComponent(personId)}`} size="sm">
              All change sets for this person
            </Anchor>
          ) : null}
        </Stack>
      )}
    </div>
  );
}
