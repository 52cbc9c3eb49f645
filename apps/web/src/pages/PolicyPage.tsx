import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Checkbox,
  Code,
  Grid,
  Group,
  List,
  Paper,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
  UnstyledButton,
} from '@mantine/core';
import {
  IconAlertTriangle,
  IconCircleCheck,
  IconFileCode,
  IconSearch,
  IconShieldCheck,
} from '@tabler/icons-react';
import { api, ApiError, describe, type FieldError } from '../api';
import { useSession } from '../session';
import { ErrorState, LoadingRows, NoAccess, Page, useApiData, FormError } from '../components/ui';
import { AppModal } from '../components/modal';
import {
  CHANGE_SET_STATUS,
  changeSetPath,
  changeSetsChanged,
  PrivilegedBadge,
  type EntitlementView,
  type ImpactLine,
  type PolicyApplyResult,
  type PolicyDocument,
  type PolicyImpact,
  type PolicyView,
  type SodItem,
} from '../components/provisioning';
import type { TargetView } from '../components/targets';
import { formatNumber } from '../format';

/** The file name the server puts in front of every problem's line and column. */
const FILE = 'policy.yaml';
const LINES_SHOWN = 20;

export default function PolicyPage() {
  const { can } = useSession();
  if (!can('policy:read'))
    return (
      <Page title="Policy">
        <NoAccess what="the access policy" />
      </Page>
    );
  return <Policy />;
}

interface Located {
  line: number | null;
  col: number | null;
  path: string;
  message: string;
}

/** "policy.yaml:12:5: roles[0].grants" → line 12, column 5, path roles[0].grants. */
function locateProblem(e: FieldError): Located {
  const m = /^policy(?:\.yaml)?(?::(\d+):(\d+))?(?::\s*(.*))?$/.exec(e.field);
  if (!m) return { line: null, col: null, path: e.field, message: e.message };
  return {
    line: m[1] ? Number(m[1]) : null,
    col: m[2] ? Number(m[2]) : null,
    path: m[3] ?? '',
    message: e.message,
  };
}

type Check =
  | { text: string; state: 'ok'; result: PolicyApplyResult }
  | { text: string; state: 'problems'; detail: string; problems: Located[] }
  | { text: string; state: 'error'; detail: string };

function Policy() {
  const { can } = useSession();
  const writer = can('policy:write');
  const policy = useApiData((signal) => api.get<PolicyView>('/api/v1/policy', undefined, signal), 'policy');
  const catalog = useApiData(
    (signal) => api.get<{ items: EntitlementView[] }>('/api/v1/entitlements', undefined, signal),
    'entitlements',
  );
  const targets = useApiData(
    (signal) =>
      can('targets:read')
        ? api.get<{ items: TargetView[] }>('/api/v1/targets', undefined, signal)
        : Promise.resolve({ items: [] as TargetView[] }),
    'targets',
  );
  const [text, setText] = useState('');
  const [loadedVersion, setLoadedVersion] = useState<number | null>(null);
  const [check, setCheck] = useState<Check | null>(null);
  const [checking, setChecking] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [applied, setApplied] = useState<PolicyApplyResult | null>(null);
  const editor = useRef<HTMLTextAreaElement>(null);

  // The editor starts from the policy in force, and again after a new version is applied.
  useEffect(() => {
    if (policy.data && policy.data.version !== loadedVersion) {
      setText(policy.data.yaml);
      setLoadedVersion(policy.data.version);
    }
  }, [policy.data, loadedVersion]);

  const dirty = policy.data ? text !== policy.data.yaml : false;
  const fresh = check && check.text === text ? check : null;

  const runCheck = async (): Promise<Check> => {
    setChecking(true);
    const checked = text;
    try {
      const result = await api.post<PolicyApplyResult>('/api/v1/policy', {
        yaml: checked,
        file: FILE,
        dryRun: true,
      });
      const c: Check = { text: checked, state: 'ok', result };
      setCheck(c);
      return c;
    } catch (e) {
      const c: Check =
        e instanceof ApiError && e.status === 422 && e.problem.errors?.length
          ? {
              text: checked,
              state: 'problems',
              detail: e.detail,
              problems: e.problem.errors.map(locateProblem),
            }
          : { text: checked, state: 'error', detail: describe(e) };
      setCheck(c);
      return c;
    } finally {
      setChecking(false);
    }
  };

  const goTo = (line: number, col: number | null) => {
    const ta = editor.current;
    if (!ta) return;
    const lines = ta.value.split('\n');
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    const end = start + (lines[line - 1]?.length ?? 0);
    ta.focus();
    ta.setSelectionRange(start + Math.max(0, (col ?? 1) - 1), end);
    const lineHeight = parseFloat(getComputedStyle(ta).lineHeight) || 20;
    ta.scrollTop = Math.max(0, (line - 4) * lineHeight);
  };

  const example = useMemo(
    () => exampleYaml(targets.data?.items ?? [], catalog.data?.items ?? []),
    [targets.data, catalog.data],
  );

  if (policy.error)
    return (
      <Page title="Policy">
        <ErrorState error={policy.error} what="the policy" onRetry={policy.reload} />
      </Page>
    );

  const doc = policy.data?.document;
  const empty = !!doc && !doc.roles?.length && !doc.rules?.length;

  return (
    <Page
      title="Policy"
      description="Who should have which accounts and groups. Rules give people roles from their HR data; roles give accounts and groups on targets. Gatehouse keeps every target in line with it."
    >
      {!policy.data ? (
        <LoadingRows label="Loading the policy…" rows={5} />
      ) : (
        <>
          <Paper withBorder p="md" radius="md" component="section" aria-labelledby="policy-in-force">
            <Group justify="space-between" mb="sm" wrap="wrap">
              <Group gap="xs">
                <IconShieldCheck size={20} aria-hidden />
                <Title order={2} size="h4" id="policy-in-force">
                  In force
                </Title>
              </Group>
              <Badge variant="light" color={policy.data.version ? 'blue' : 'gray'}>
                {policy.data.version ? `Version ${policy.data.version}` : 'No policy yet'}
              </Badge>
            </Group>
            {empty ? (
              <Stack gap="xs" align="flex-start" data-testid="policy-empty">
                <Text size="sm">
                  No roles or rules yet, so Gatehouse gives nobody an account. Write the policy below: a rule
                  such as <Code>person.department == &quot;Sales&quot;</Code> gives everyone in Sales a role,
                  and the role says which accounts and groups they get.
                </Text>
                {catalog.data && catalog.data.items.length === 0 ? (
                  <Text size="sm" c="dimmed">
                    Roles refer to groups in the entitlement catalog. Open a{' '}
                    <Anchor component={Link} to="/targets" size="sm">
                      target
                    </Anchor>{' '}
                    and discover its groups first.
                  </Text>
                ) : null}
                {writer ? (
                  <Button
                    size="xs"
                    variant="light"
                    leftSection={<IconFileCode size={14} aria-hidden />}
                    onClick={() => setText(example)}
                  >
                    Start from an example
                  </Button>
                ) : null}
              </Stack>
            ) : (
              <PolicyOverview document={doc!} catalog={catalog.data?.items ?? []} />
            )}
          </Paper>

          <Paper withBorder p="md" radius="md" component="section" aria-labelledby="policy-editor-heading">
            <Title order={2} size="h4" id="policy-editor-heading" mb={4}>
              {writer ? 'Edit the policy' : 'The policy as YAML'}
            </Title>
            <Text size="sm" c="dimmed" mb="sm">
              {writer
                ? 'The whole policy as one YAML file (the same as `gatehouse policy export`). Check the impact before applying: it says who gains and who loses what.'
                : 'Your role can read the policy but not change it.'}
            </Text>
            <Grid gap="md">
              <Grid.Col span={{ base: 12, lg: 7 }}>
                <Stack gap="sm">
                  <Textarea
                    ref={editor}
                    label="Policy (YAML)"
                    className="policy-editor"
                    rows={26}
                    spellCheck={false}
                    autoCapitalize="off"
                    autoComplete="off"
                    wrap="off"
                    readOnly={!writer}
                    value={text}
                    onChange={(e) => setText(e.currentTarget.value)}
                    // Not Mantine's error state (it paints the whole text red): the problems are listed beside.
                    aria-invalid={fresh?.state === 'problems' ? true : undefined}
                    aria-describedby={fresh?.state === 'problems' ? 'policy-problems' : undefined}
                  />
                  {writer ? (
                    <Group gap="sm">
                      <Button
                        variant="default"
                        leftSection={<IconSearch size={16} aria-hidden />}
                        loading={checking && !confirming}
                        onClick={() => void runCheck()}
                      >
                        Check impact
                      </Button>
                      <Button
                        loading={checking && confirming}
                        disabled={fresh?.state === 'problems' || !dirty}
                        title={dirty ? undefined : 'Nothing to apply: this is the policy in force'}
                        onClick={() => {
                          setConfirming(true);
                          if (fresh?.state === 'ok') return;
                          void runCheck().then((c) => {
                            if (c.state !== 'ok') setConfirming(false);
                          });
                        }}
                      >
                        Apply…
                      </Button>
                      {dirty ? (
                        <Button
                          variant="subtle"
                          onClick={() => {
                            setText(policy.data!.yaml);
                            setCheck(null);
                          }}
                        >
                          Discard my edits
                        </Button>
                      ) : null}
                      {dirty ? (
                        <Text size="xs" c="dimmed">
                          Not applied yet
                        </Text>
                      ) : null}
                    </Group>
                  ) : null}
                </Stack>
              </Grid.Col>
              <Grid.Col span={{ base: 12, lg: 5 }}>
                {applied && !check ? (
                  <AppliedPanel result={applied} onClose={() => setApplied(null)} />
                ) : null}
                <CheckPanel
                  check={check}
                  stale={!!check && check.text !== text}
                  quiet={!!applied}
                  onGoTo={goTo}
                  writer={writer}
                />
              </Grid.Col>
            </Grid>
          </Paper>
        </>
      )}
      {writer && fresh?.state === 'ok' ? (
        <ApplyDialog
          opened={confirming}
          text={fresh.text}
          impact={fresh.result.impact}
          namingChanged={fresh.result.namingChanged}
          onClose={() => setConfirming(false)}
          onApplied={(r) => {
            setConfirming(false);
            setApplied(r);
            setCheck(null);
            changeSetsChanged();
            policy.reload();
          }}
        />
      ) : null}
    </Page>
  );
}

/** Next to the editor: the problems of the last check, or its impact. */
function CheckPanel({
  check,
  stale,
  onGoTo,
  writer,
  quiet = false,
}: {
  check: Check | null;
  stale: boolean;
  onGoTo: (line: number, col: number | null) => void;
  writer: boolean;
  /** Say nothing when there is no check (something else is shown there). */
  quiet?: boolean;
}) {
  if (!check && quiet) return null;
  if (!check)
    return (
      <Paper bg="gray.0" p="md" radius="md" h="100%">
        <Text size="sm" c="dimmed">
          {writer
            ? '“Check impact” reads the policy as Gatehouse would, without applying it: problems are listed here with their line, and otherwise who would gain or lose which access.'
            : 'Roles, rules and separation-of-duties rules are shown above in words.'}
        </Text>
      </Paper>
    );
  return (
    <Stack gap="sm" aria-live="polite">
      {stale ? (
        <Text size="xs" c="orange.8">
          You changed the text after this check; check again to see the current impact.
        </Text>
      ) : null}
      {check.state === 'error' ? (
        <Alert
          color="red"
          variant="light"
          icon={<IconAlertTriangle aria-hidden />}
          role="alert"
          title="Could not check"
        >
          {check.detail}
        </Alert>
      ) : check.state === 'problems' ? (
        <Alert
          color="red"
          variant="light"
          icon={<IconAlertTriangle aria-hidden />}
          role="alert"
          title={`${check.problems.length} ${check.problems.length === 1 ? 'problem' : 'problems'} to fix`}
          data-testid="policy-problems"
          id="policy-problems"
        >
          <ul className="problem-list" aria-label="Problems in the policy">
            {check.problems.map((p, i) => (
              <li key={i}>
                {p.line !== null ? (
                  <UnstyledButton
                    onClick={() => onGoTo(p.line!, p.col)}
                    aria-label={`Go to line ${p.line}`}
                    className="problem-where"
                  >
                    <Text span size="sm" fw={600} c="red.8" td="underline">
                      Line {p.line}
                      {p.col !== null ? `, column ${p.col}` : ''}
                    </Text>
                  </UnstyledButton>
                ) : null}
                {p.path ? (
                  <Text size="xs" className="mono">
                    {p.path}
                  </Text>
                ) : null}
                <Text size="sm">{p.message}</Text>
              </li>
            ))}
          </ul>
        </Alert>
      ) : (
        <ImpactView result={check.result} />
      )}
    </Stack>
  );
}

const itemLabel = (item: string) => (item === '(account)' ? 'an account' : item);

function ImpactView({ result }: { result: PolicyApplyResult }) {
  const i = result.impact;
  return (
    <Paper withBorder p="md" radius="md" data-testid="policy-impact">
      <Stack gap="sm">
        <Group gap="xs">
          <IconCircleCheck size={18} color="var(--mantine-color-teal-7)" aria-hidden />
          <Title order={3} size="h5">
            No problems. If applied:
          </Title>
        </Group>
        <ImpactSummary impact={i} />
        {result.namingChanged ? (
          <Text size="sm">The naming standards change too (they apply to new people).</Text>
        ) : null}
        {i.byItem.length ? (
          <Table fz="sm" withTableBorder aria-label="Changes per access">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Target</Table.Th>
                <Table.Th scope="col">Access</Table.Th>
                <Table.Th scope="col">Gain</Table.Th>
                <Table.Th scope="col">Lose</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {i.byItem.map((b) => (
                <Table.Tr key={`${b.target}\u0000${b.item}`}>
                  <Table.Td>{b.target}</Table.Td>
                  <Table.Td>{b.item === '(account)' ? 'Account' : b.item}</Table.Td>
                  <Table.Td c={b.gain ? 'teal.8' : undefined}>
                    {b.gain ? `+${formatNumber(b.gain)}` : '—'}
                  </Table.Td>
                  <Table.Td c={b.lose ? 'red.8' : undefined}>
                    {b.lose ? `−${formatNumber(b.lose)}` : '—'}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        ) : null}
        <ImpactLines title="Who gains" lines={i.gains} verb="gets" total={i.gainCount} />
        <ImpactLines title="Who loses" lines={i.losses} verb="loses" total={i.lossCount} />
        {i.truncated ? (
          <Text size="xs" c="dimmed">
            Only the first lines are listed; the counts above are complete.
          </Text>
        ) : null}
      </Stack>
    </Paper>
  );
}

function ImpactSummary({ impact: i }: { impact: PolicyImpact }) {
  return (
    <SimpleGrid cols={3} spacing="xs" data-testid="impact-summary">
      <Figure value={i.affected} label={`of ${formatNumber(i.people)} people affected`} />
      <Figure value={i.gainCount} label={i.gainCount === 1 ? 'grant gained' : 'grants gained'} />
      <Figure value={i.lossCount} label={i.lossCount === 1 ? 'grant lost' : 'grants lost'} />
      <Figure value={i.operations} label={i.operations === 1 ? 'operation' : 'operations'} />
    </SimpleGrid>
  );
}

function Figure({ value, label }: { value: number; label: string }) {
  return (
    <div>
      <Text fz={22} fw={700} lh={1.1}>
        {formatNumber(value)}
      </Text>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
    </div>
  );
}

function ImpactLines({
  title,
  lines,
  verb,
  total,
}: {
  title: string;
  lines: ImpactLine[];
  verb: string;
  total: number;
}) {
  const [all, setAll] = useState(false);
  if (!total) return null;
  const shown = all ? lines : lines.slice(0, LINES_SHOWN);
  return (
    <div>
      <Title order={4} size="h6" mb={4}>
        {title} ({formatNumber(total)})
      </Title>
      <List size="sm" spacing={2} aria-label={title}>
        {shown.map((l, n) => (
          <List.Item key={n}>
            <Anchor component={Link} to={`/people/${encodeURIComponent(l.personId)}`} size="sm">
              {l.person}
            </Anchor>{' '}
            {verb} {itemLabel(l.item)} on {l.target}
            {l.because ? (
              <Text span size="xs" c="dimmed">
                {' '}
                — {l.because}
              </Text>
            ) : null}
          </List.Item>
        ))}
      </List>
      {lines.length > shown.length ? (
        <Button size="compact-xs" variant="subtle" onClick={() => setAll(true)} mt={4}>
          Show all {formatNumber(lines.length)}
        </Button>
      ) : null}
    </div>
  );
}

function ApplyDialog({
  opened,
  text,
  impact,
  namingChanged,
  onClose,
  onApplied,
}: {
  opened: boolean;
  text: string;
  impact: PolicyImpact;
  namingChanged: boolean;
  onClose: () => void;
  onApplied: (r: PolicyApplyResult) => void;
}) {
  const [comment, setComment] = useState('');
  const [hold, setHold] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!opened) return;
    setComment('');
    setHold(false);
    setError(null);
  }, [opened]);
  const apply = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api.post<PolicyApplyResult>('/api/v1/policy', {
        yaml: text,
        file: FILE,
        dryRun: false,
        ...(comment.trim() ? { comment: comment.trim() } : {}),
        ...(hold ? { hold: true } : {}),
      });
      onApplied(r);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 422
          ? `${err.detail}. Close this and check the policy again.`
          : describe(err),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <AppModal opened={opened} onClose={onClose} title="Apply this policy?">
      <form onSubmit={(e) => void apply(e)} noValidate>
        <Stack gap="md">
          <FormError error={error} />
          <ImpactSummary impact={impact} />
          <Text size="sm">
            {impact.affected
              ? `It becomes the policy in force, and one change set brings the ${formatNumber(impact.affected)} affected ${impact.affected === 1 ? 'person' : 'people'} in line. Changes that grant privileged access, touch a separation-of-duties rule or disable many accounts wait for approval.`
              : 'It becomes the policy in force. Nobody’s access changes now.'}
            {namingChanged ? ' The naming standards change too.' : ''}
          </Text>
          <TextInput
            label="Comment (optional)"
            description="What changed and why; it names the new version and its change set."
            maxLength={500}
            data-autofocus
            value={comment}
            onChange={(e) => setComment(e.currentTarget.value)}
          />
          {impact.affected ? (
            <Checkbox
              label="Hold the change set: apply it only after someone approves it"
              checked={hold}
              onChange={(e) => setHold(e.currentTarget.checked)}
            />
          ) : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose} disabled={busy}>
              Back
            </Button>
            <Button type="submit" loading={busy}>
              Apply policy
            </Button>
          </Group>
        </Stack>
      </form>
    </AppModal>
  );
}

function AppliedPanel({ result, onClose }: { result: PolicyApplyResult; onClose: () => void }) {
  const cs = result.changeSet;
  return (
    <Alert
      color="teal"
      variant="light"
      icon={<IconCircleCheck aria-hidden />}
      title={`Version ${result.version ?? ''} is in force`}
      withCloseButton
      closeButtonLabel="Dismiss"
      onClose={onClose}
      role="status"
      data-testid="policy-applied"
    >
      {cs ? (
        <Text size="sm">
          <Anchor component={Link} to={changeSetPath(cs.id)} size="sm" fw={600}>
            Change set #{cs.seq}
          </Anchor>{' '}
          brings people in line: {formatNumber(cs.opCount)} {cs.opCount === 1 ? 'operation' : 'operations'},{' '}
          {CHANGE_SET_STATUS[cs.status]?.label.toLowerCase() ?? cs.status}.
        </Text>
      ) : (
        <Text size="sm">Nobody’s access changes, so there is no change set.</Text>
      )}
    </Alert>
  );
}

// ── The policy in words ─────────────────────────────────────────────────────────────────────────────────────────

function sodSide(items: SodItem[]): string {
  return items.map((i) => ('role' in i ? `role ${i.role}` : `${i.entitlement} on ${i.target}`)).join(', ');
}

function OverviewBlock({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div>
      <Title order={3} size="h5" mb={6}>
        {title}
      </Title>
      {children}
    </div>
  );
}

function PolicyOverview({ document: d, catalog }: { document: PolicyDocument; catalog: EntitlementView[] }) {
  const byKey = new Map(catalog.map((e) => [`${e.target}\u0000${e.key}`, e]));
  const rules = d.rules ?? [];
  const roles = d.roles ?? [];
  const sod = d.sod ?? [];
  const targets = Object.entries(d.targets ?? {});
  return (
    <Stack gap="lg">
      <OverviewBlock title="Rules: who gets which role">
        {rules.length === 0 ? (
          <Text size="sm" c="dimmed">
            No rules: roles come only from explicit assignments.
          </Text>
        ) : (
          <Table.ScrollContainer minWidth={560}>
            <Table fz="sm" aria-label="Rules">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Rule</Table.Th>
                  <Table.Th scope="col">Applies to people where</Table.Th>
                  <Table.Th scope="col">Gives</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rules.map((r) => (
                  <Table.Tr key={r.name}>
                    <Table.Th scope="row" fw={500}>
                      {r.name}
                      {r.enabled === false ? (
                        <Badge ml={6} size="xs" color="gray" variant="light">
                          Off
                        </Badge>
                      ) : null}
                      {r.description ? (
                        <Text size="xs" c="dimmed" fw={400}>
                          {r.description}
                        </Text>
                      ) : null}
                    </Table.Th>
                    <Table.Td>
                      <Code>{r.when}</Code>
                    </Table.Td>
                    <Table.Td>{r.roles.join(', ')}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </OverviewBlock>
      <OverviewBlock title="Roles: what each role grants">
        {roles.length === 0 ? (
          <Text size="sm" c="dimmed">
            No roles.
          </Text>
        ) : (
          <Table.ScrollContainer minWidth={560}>
            <Table fz="sm" aria-label="Roles">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Role</Table.Th>
                  <Table.Th scope="col">Grants</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {roles.map((r) => (
                  <Table.Tr key={r.name}>
                    <Table.Th scope="row" fw={500}>
                      {r.name}
                      {r.description ? (
                        <Text size="xs" c="dimmed" fw={400}>
                          {r.description}
                        </Text>
                      ) : null}
                    </Table.Th>
                    <Table.Td>
                      <Stack gap={2}>
                        {(r.accounts ?? []).map((t) => (
                          <Text size="sm" key={`a-${t}`}>
                            an account on {t}
                          </Text>
                        ))}
                        {(r.grants ?? []).map((g) => {
                          const e = byKey.get(`${g.target}\u0000${g.entitlement}`);
                          return (
                            <Group gap={6} key={`g-${g.target}-${g.entitlement}`} wrap="nowrap">
                              <Text size="sm">
                                {e?.displayName ?? g.entitlement} on {g.target}
                              </Text>
                              {e?.privileged ? <PrivilegedBadge /> : null}
                            </Group>
                          );
                        })}
                        {!r.accounts?.length && !r.grants?.length ? (
                          <Text size="sm" c="dimmed">
                            nothing yet
                          </Text>
                        ) : null}
                      </Stack>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </OverviewBlock>
      {sod.length ? (
        <OverviewBlock title="Separation of duties">
          <Table.ScrollContainer minWidth={640}>
            <Table fz="sm" aria-label="Separation-of-duties rules">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Rule</Table.Th>
                  <Table.Th scope="col">Never together</Table.Th>
                  <Table.Th scope="col">If someone would get both</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {sod.map((s) => (
                  <Table.Tr key={s.name}>
                    <Table.Th scope="row" fw={500}>
                      {s.name}
                      <Text size="xs" c="dimmed" fw={400}>
                        {s.reason}
                      </Text>
                    </Table.Th>
                    <Table.Td>
                      {sodSide(s.left)} <strong>and</strong> {sodSide(s.right)}
                    </Table.Td>
                    <Table.Td>
                      {s.action === 'approve'
                        ? 'It waits for approval'
                        : 'The conflicting access is withheld'}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </OverviewBlock>
      ) : null}
      {targets.length ? (
        <OverviewBlock title="Accounts on targets">
          <Table.ScrollContainer minWidth={640}>
            <Table fz="sm" aria-label="Targets in the policy">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Target</Table.Th>
                  <Table.Th scope="col">Attributes set</Table.Th>
                  <Table.Th scope="col">New starters</Table.Th>
                  <Table.Th scope="col">When access ends</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {targets.map(([name, t]) => (
                  <Table.Tr key={name}>
                    <Table.Th scope="row" fw={500}>
                      {name}
                    </Table.Th>
                    <Table.Td>{Object.keys(t.account?.attributes ?? {}).join(', ') || '—'}</Table.Td>
                    <Table.Td>
                      {t.provision?.prehire === 'enabled'
                        ? 'account before the start day'
                        : t.provision?.prehire === 'none'
                          ? 'account on the start day'
                          : 'account before the start day, disabled'}
                    </Table.Td>
                    <Table.Td>
                      {t.deprovision?.action === 'delete'
                        ? `disabled, then deleted after ${t.deprovision.quarantineDays ?? 30} days`
                        : 'disabled and kept'}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </OverviewBlock>
      ) : null}
    </Stack>
  );
}

/** A starting point that names a real target and group, when there are some. */
function exampleYaml(targets: TargetView[], catalog: EntitlementView[]): string {
  const t = targets[0]?.name ?? 'corp-ldap';
  const groups = catalog.filter((e) => e.target === t && !e.missingSince).slice(0, 1);
  const grants = groups.length
    ? `\n    grants:\n${groups.map((g) => `      - { target: ${t}, entitlement: ${JSON.stringify(g.key)} }`).join('\n')}`
    : '';
  return `# Who should have which accounts and groups.
# Rules give roles to people (a CEL condition over person.*); roles give accounts and groups on targets.
targets:
  ${t}:
    account:
      # Attributes of the account on the target, from the person (adjust the names to the system).
      attributes:
        uid: person.username
        cn: person.displayName
        sn: person.lastName
        mail: person.workEmail
    deprovision: { action: disable, quarantineDays: 30 }
roles:
  - name: Staff
    accounts: [${t}]${grants}
rules:
  - name: Employees
    when: person.workerType == "employee"
    roles: [Staff]
`;
}
