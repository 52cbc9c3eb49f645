import { useEffect, useState } from 'react';
import { useListQuery } from '../listQuery';
import {
  ActionIcon,
  Alert,
  Badge,
  Button,
  Group,
  Menu,
  NativeSelect,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  VisuallyHidden,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import {
  IconAlertTriangle,
  IconDots,
  IconLock,
  IconLockOpen,
  IconPassword,
  IconPencil,
  IconPlus,
  IconSearch,
  IconShieldOff,
  IconUserCheck,
  IconUserOff,
  IconUsers,
} from '@tabler/icons-react';
import { api, ApiError, describe, type OperatorList, type OperatorRow, type Role } from '../api';
import { useSession } from '../session';
import {
  Empty,
  ErrorState,
  LoadingRows,
  NoAccess,
  notifySuccess,
  Page,
  Pager,
  sortableHeader,
  useApiData,
  type SortOrder,
  SecretInput,
  useUrlValue,
  When,
} from '../components/ui';
import { AppModal } from '../components/modal';
import { formatDateTime, formatRelative, ROLE_COLORS, ROLE_LABELS } from '../format';

const SORTS = ['email', 'displayName', 'role', 'lastLoginAt', 'createdAt'] as const;
const ROLE_OPTIONS = [
  { value: 'administrator', label: 'Administrator — everything' },
  { value: 'agent', label: 'Agent — account operations' },
  { value: 'auditor', label: 'Auditor — read-only' },
];
const MIN_PASSWORD = 12;
const DEFAULT_PAGE_SIZE = 25;

export default function OperatorsPage() {
  const { can } = useSession();
  if (!can('operators:read'))
    return (
      <Page title="Operators">
        <NoAccess what="operators" />
      </Page>
    );
  return <Operators />;
}

type Dialog =
  | { kind: 'create' }
  | { kind: 'edit'; op: OperatorRow }
  | { kind: 'password'; op: OperatorRow }
  | { kind: 'confirm'; op: OperatorRow; action: 'unlock' | 'reset-mfa' | 'disable' | 'enable' }
  | null;

function isLocked(op: OperatorRow): boolean {
  return !!op.lockedUntil && new Date(op.lockedUntil).getTime() > Date.now();
}

function Operators() {
  const { can, session } = useSession();
  const canWrite = can('operators:write');
  const { params, q, update, search, setSearch } = useListQuery();
  const role = params.get('role') ?? '';
  const status = params.get('status') ?? '';
  const sortParam = params.get('sort') ?? '';
  const sort = (SORTS as readonly string[]).includes(sortParam) ? sortParam : 'email';
  const order: SortOrder = params.get('order') === 'desc' ? 'desc' : 'asc';
  const page = Math.max(1, Number(params.get('page')) || 1);
  const pageSize = Math.min(200, Math.max(1, Number(params.get('pageSize')) || DEFAULT_PAGE_SIZE));
  const [dialog, setDialog] = useState<Dialog>(null);
  const [roleValue, setRoleValue] = useUrlValue(role);
  const [statusValue, setStatusValue] = useUrlValue(status);

  const query = { q, role, status, sort, order, page, pageSize };
  const list = useApiData(
    (signal) => api.get<OperatorList>('/api/v1/operators', query, signal),
    JSON.stringify(query),
  );

  const data = list.data;
  const pageCount = data ? Math.max(1, Math.ceil(data.total / data.pageSize)) : 1;
  const filtered = !!(q || role || status);
  const done = (message: string) => {
    setDialog(null);
    notifySuccess(message);
    list.reload();
  };

  const th = sortableHeader(sort, order, (f, o) => update({ sort: f, order: o }));
  return (
    <Page
      title="Operators"
      description="People who can sign in to this console, and what their role lets them do."
      actions={
        canWrite ? (
          <Button
            leftSection={<IconPlus size={16} aria-hidden />}
            onClick={() => setDialog({ kind: 'create' })}
          >
            Create operator
          </Button>
        ) : null
      }
    >
      <Group gap="sm" align="flex-end" wrap="wrap" role="search" aria-label="Filter operators">
        <TextInput
          label="Search operators"
          placeholder="Name or email"
          type="search"
          leftSection={<IconSearch size={16} aria-hidden />}
          value={search}
          onChange={(e) => setSearch(e.currentTarget.value)}
          w={{ base: '100%', xs: 280 }}
        />
        <NativeSelect
          label="Filter by role"
          value={roleValue}
          onChange={(e) => {
            setRoleValue(e.currentTarget.value);
            update({ role: e.currentTarget.value });
          }}
          data={[
            { value: '', label: 'All roles' },
            ...Object.entries(ROLE_LABELS).map(([value, label]) => ({ value, label })),
          ]}
        />
        <NativeSelect
          label="Filter by status"
          value={statusValue}
          onChange={(e) => {
            setStatusValue(e.currentTarget.value);
            update({ status: e.currentTarget.value });
          }}
          data={[
            { value: '', label: 'Any status' },
            { value: 'active', label: 'Active' },
            { value: 'disabled', label: 'Disabled' },
          ]}
        />
        {filtered ? (
          <Button variant="subtle" onClick={() => update({ q: null, role: null, status: null })}>
            Clear filters
          </Button>
        ) : null}
      </Group>

      {list.error ? (
        <ErrorState error={list.error} what="operators" onRetry={list.reload} />
      ) : !data ? (
        <LoadingRows label="Loading operators…" />
      ) : data.items.length === 0 ? (
        filtered ? (
          <Empty
            title="No operators match these filters."
            description="Check the spelling, or widen the filters."
          >
            <Button variant="light" onClick={() => update({ q: null, role: null, status: null })}>
              Clear filters
            </Button>
          </Empty>
        ) : (
          <Empty
            title="No operators on this page."
            description={canWrite ? 'Create an operator so a colleague can sign in.' : undefined}
            icon={<IconUsers aria-hidden />}
          />
        )
      ) : (
        <Stack gap="sm">
          <Table.ScrollContainer minWidth={980}>
            <Table aria-label="Operators" aria-busy={list.loading}>
              <Table.Thead>
                <Table.Tr>
                  {th('Name', 'displayName')}
                  {th('Email', 'email')}
                  {th('Role', 'role')}
                  <Table.Th scope="col">Status</Table.Th>
                  <Table.Th scope="col">MFA</Table.Th>
                  {th('Last sign-in', 'lastLoginAt')}
                  {th('Created', 'createdAt')}
                  {canWrite ? (
                    <Table.Th scope="col">
                      <VisuallyHidden>Actions</VisuallyHidden>
                    </Table.Th>
                  ) : null}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.items.map((op) => (
                  <Table.Tr key={op.id} data-operator-id={op.id}>
                    <Table.Td>
                      <Text size="sm" fw={500}>
                        {op.displayName}
                        {op.id === session?.operator.id ? (
                          <Text span size="xs" c="dimmed">
                            {' '}
                            (you)
                          </Text>
                        ) : null}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{op.email}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Badge color={ROLE_COLORS[op.role] ?? 'gray'} variant="light">
                        {ROLE_LABELS[op.role] ?? op.role}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <Group gap={4}>
                        <Badge color={op.status === 'active' ? 'teal' : 'gray'} variant="dot">
                          {op.status === 'active' ? 'Active' : 'Disabled'}
                        </Badge>
                        {isLocked(op) ? (
                          <Badge
                            color="orange"
                            variant="light"
                            leftSection={<IconLock size={12} aria-hidden />}
                            title={`Locked until ${formatDateTime(op.lockedUntil)}`}
                          >
                            Locked
                          </Badge>
                        ) : null}
                      </Group>
                    </Table.Td>
                    <Table.Td>
                      {op.mfaEnrolled ? (
                        <Text size="sm">Enrolled</Text>
                      ) : (
                        <Text size="sm" c="orange.8">
                          Not enrolled
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <When at={op.lastLoginAt} show={formatRelative} />
                    </Table.Td>
                    <Table.Td>
                      <When at={op.createdAt} show={formatRelative} />
                    </Table.Td>
                    {canWrite ? (
                      <Table.Td>
                        <RowMenu op={op} self={op.id === session?.operator.id} onPick={setDialog} />
                      </Table.Td>
                    ) : null}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Pager
            summary={`Page ${data.page} of ${pageCount} · ${data.total} operator${data.total === 1 ? '' : 's'}`}
            hasPrevious={page > 1}
            hasNext={page < pageCount}
            onPrevious={() => update({ page: page - 1 > 1 ? page - 1 : null }, true)}
            onNext={() => update({ page: page + 1 }, true)}
            busy={list.loading}
          />
        </Stack>
      )}

      {canWrite ? (
        <>
          <CreateOperatorDialog
            opened={dialog?.kind === 'create'}
            onClose={() => setDialog(null)}
            onDone={(op) => done(`${op.displayName} can now sign in as ${ROLE_LABELS[op.role] ?? op.role}.`)}
          />
          <EditOperatorDialog
            op={dialog?.kind === 'edit' ? dialog.op : null}
            self={dialog?.kind === 'edit' && dialog.op.id === session?.operator.id}
            onClose={() => setDialog(null)}
            onDone={(op) => done(`Saved changes to ${op.displayName}.`)}
          />
          <PasswordDialog
            op={dialog?.kind === 'password' ? dialog.op : null}
            onClose={() => setDialog(null)}
            onDone={(op) => done(`New password set for ${op.displayName}.`)}
          />
          <ConfirmActionDialog
            target={dialog?.kind === 'confirm' ? dialog : null}
            onClose={() => setDialog(null)}
            onDone={done}
          />
        </>
      ) : null}
    </Page>
  );
}

function RowMenu({ op, self, onPick }: { op: OperatorRow; self: boolean; onPick: (d: Dialog) => void }) {
  return (
    <Menu position="bottom-end" withinPortal shadow="md">
      <Menu.Target>
        <ActionIcon variant="subtle" color="gray" aria-label={`Actions for ${op.displayName}`}>
          <IconDots size={18} aria-hidden />
        </ActionIcon>
      </Menu.Target>
      <Menu.Dropdown>
        <Menu.Item
          leftSection={<IconPencil size={16} aria-hidden />}
          onClick={() => onPick({ kind: 'edit', op })}
        >
          Edit
        </Menu.Item>
        <Menu.Item
          leftSection={<IconPassword size={16} aria-hidden />}
          onClick={() => onPick({ kind: 'password', op })}
        >
          Set password
        </Menu.Item>
        <Menu.Item
          leftSection={<IconShieldOff size={16} aria-hidden />}
          onClick={() => onPick({ kind: 'confirm', op, action: 'reset-mfa' })}
          disabled={!op.mfaEnrolled}
        >
          Reset MFA
        </Menu.Item>
        {isLocked(op) ? (
          <Menu.Item
            leftSection={<IconLockOpen size={16} aria-hidden />}
            onClick={() => onPick({ kind: 'confirm', op, action: 'unlock' })}
          >
            Unlock
          </Menu.Item>
        ) : null}
        {self ? null : <Menu.Divider />}
        {self ? null : op.status === 'active' ? (
          <Menu.Item
            color="red"
            leftSection={<IconUserOff size={16} aria-hidden />}
            onClick={() => onPick({ kind: 'confirm', op, action: 'disable' })}
          >
            Disable
          </Menu.Item>
        ) : (
          <Menu.Item
            leftSection={<IconUserCheck size={16} aria-hidden />}
            onClick={() => onPick({ kind: 'confirm', op, action: 'enable' })}
          >
            Enable
          </Menu.Item>
        )}
      </Menu.Dropdown>
    </Menu>
  );
}

function FormError({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <Alert color="red" variant="light" icon={<IconAlertTriangle aria-hidden />} role="alert">
      {error}
    </Alert>
  );
}

/** Put the server's per-field messages on the form and return the overall message. */
function applyProblem(
  e: unknown,
  setErrors: (errors: Record<string, string>) => void,
  fields: string[],
): string {
  if (e instanceof ApiError) {
    const known = Object.fromEntries(Object.entries(e.fieldErrors).filter(([f]) => fields.includes(f)));
    if (Object.keys(known).length) setErrors(known);
  }
  return describe(e);
}

function CreateOperatorDialog({
  opened,
  onClose,
  onDone,
}: {
  opened: boolean;
  onClose: () => void;
  onDone: (op: OperatorRow) => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({
    initialValues: { displayName: '', email: '', role: 'agent' as Role, password: '' },
    validate: {
      displayName: (v) => (v.trim() ? null : 'Enter the name colleagues know them by'),
      email: (v) => (/^\S+@\S+\.\S+$/.test(v.trim()) ? null : 'Enter a valid email address'),
      password: (v) => (v.length >= MIN_PASSWORD ? null : `Use at least ${MIN_PASSWORD} characters`),
    },
  });
  useEffect(() => {
    if (opened) {
      form.reset();
      setError(null);
    }
    // Reset only when the dialog opens.
  }, [opened]);

  const submit = form.onSubmit(async (v) => {
    setBusy(true);
    setError(null);
    try {
      const op = await api.post<OperatorRow>('/api/v1/operators', {
        email: v.email.trim(),
        displayName: v.displayName.trim(),
        role: v.role,
        password: v.password,
      });
      onDone(op);
    } catch (e) {
      setError(applyProblem(e, form.setErrors, ['email', 'displayName', 'role', 'password']));
    } finally {
      setBusy(false);
    }
  });

  return (
    <AppModal opened={opened} onClose={onClose} title="Create operator">
      <form onSubmit={submit} noValidate>
        <Stack gap="md">
          <FormError error={error} />
          <TextInput
            label="Display name"
            autoComplete="off"
            data-autofocus
            {...form.getInputProps('displayName')}
          />
          <TextInput label="Email" type="email" autoComplete="off" {...form.getInputProps('email')} />
          <NativeSelect label="Role" data={ROLE_OPTIONS} {...form.getInputProps('role')} />
          <SecretInput
            label="Password"
            description={`Initial password, at least ${MIN_PASSWORD} characters. Share it safely; they set up their authenticator when they first sign in.`}
            autoComplete="new-password"
            {...form.getInputProps('password')}
          />
          <Group justify="flex-end" gap="sm">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={busy}>
              Create operator
            </Button>
          </Group>
        </Stack>
      </form>
    </AppModal>
  );
}

function EditOperatorDialog({
  op,
  self,
  onClose,
  onDone,
}: {
  op: OperatorRow | null;
  self: boolean;
  onClose: () => void;
  onDone: (op: OperatorRow) => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({
    initialValues: { displayName: '', role: 'agent' as Role },
    validate: { displayName: (v) => (v.trim() ? null : 'Enter the name colleagues know them by') },
  });
  useEffect(() => {
    if (op) {
      form.setInitialValues({ displayName: op.displayName, role: op.role });
      form.setValues({ displayName: op.displayName, role: op.role });
      form.clearErrors();
      setError(null);
    }
    // Reset only when another operator is picked.
  }, [op]);

  const submit = form.onSubmit(async (v) => {
    if (!op) return;
    const changes: { displayName?: string; role?: Role } = {};
    if (v.displayName.trim() !== op.displayName) changes.displayName = v.displayName.trim();
    if (v.role !== op.role) changes.role = v.role;
    if (Object.keys(changes).length === 0) {
      onClose();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onDone(await api.patch<OperatorRow>(`/api/v1/operators/${encodeURIComponent(op.id)}`, changes));
    } catch (e) {
      setError(applyProblem(e, form.setErrors, ['displayName', 'role']));
    } finally {
      setBusy(false);
    }
  });

  return (
    <AppModal opened={!!op} onClose={onClose} title={op ? `Edit ${op.displayName}` : 'Edit operator'}>
      <form onSubmit={submit} noValidate>
        <Stack gap="md">
          <FormError error={error} />
          {op ? (
            <Text size="sm" c="dimmed">
              {op.email}
            </Text>
          ) : null}
          <TextInput label="Display name" data-autofocus {...form.getInputProps('displayName')} />
          <NativeSelect
            label="Role"
            data={ROLE_OPTIONS}
            disabled={self}
            description={self ? 'You cannot change your own role; ask another administrator.' : undefined}
            {...form.getInputProps('role')}
          />
          <Group justify="flex-end" gap="sm">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={busy}>
              Save changes
            </Button>
          </Group>
        </Stack>
      </form>
    </AppModal>
  );
}

function PasswordDialog({
  op,
  onClose,
  onDone,
}: {
  op: OperatorRow | null;
  onClose: () => void;
  onDone: (op: OperatorRow) => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({
    initialValues: { password: '', confirmPassword: '' },
    validate: {
      password: (v) => (v.length >= MIN_PASSWORD ? null : `Use at least ${MIN_PASSWORD} characters`),
      confirmPassword: (v, values) => (v === values.password ? null : 'The passwords do not match'),
    },
  });
  useEffect(() => {
    if (op) {
      form.reset();
      setError(null);
    }
    // Reset only when another operator is picked.
  }, [op]);

  const submit = form.onSubmit(async (v) => {
    if (!op) return;
    setBusy(true);
    setError(null);
    try {
      onDone(
        await api.post<OperatorRow>(`/api/v1/operators/${encodeURIComponent(op.id)}/password`, {
          password: v.password,
        }),
      );
    } catch (e) {
      setError(applyProblem(e, form.setErrors, ['password']));
    } finally {
      setBusy(false);
    }
  });

  return (
    <AppModal
      opened={!!op}
      onClose={onClose}
      title={op ? `Set a new password for ${op.displayName}` : 'Set password'}
    >
      <form onSubmit={submit} noValidate>
        <Stack gap="md">
          <FormError error={error} />
          <Text size="sm">
            Verify who is asking before you do this. Their current password stops working at once; tell them
            the new one safely.
          </Text>
          <SecretInput
            label="Password"
            description={`At least ${MIN_PASSWORD} characters.`}
            autoComplete="new-password"
            data-autofocus
            {...form.getInputProps('password')}
          />
          <SecretInput
            label="Confirm password"
            autoComplete="new-password"
            {...form.getInputProps('confirmPassword')}
          />
          <Group justify="flex-end" gap="sm">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={busy}>
              Set password
            </Button>
          </Group>
        </Stack>
      </form>
    </AppModal>
  );
}

const CONFIRM = {
  unlock: {
    title: (n: string) => `Unlock ${n}?`,
    body: 'They can try to sign in again straight away. Check it is really them asking before you unlock.',
    button: 'Unlock',
    color: 'blue',
    done: (n: string) => `${n} is unlocked.`,
  },
  'reset-mfa': {
    title: (n: string) => `Reset MFA for ${n}?`,
    body: 'Their authenticator and recovery codes stop working. They set up a new authenticator the next time they sign in. Verify who is asking first.',
    button: 'Reset MFA',
    color: 'orange',
    done: (n: string) => `MFA reset for ${n}. They enrol again at their next sign-in.`,
  },
  disable: {
    title: (n: string) => `Disable ${n}?`,
    body: 'They are signed out everywhere and cannot sign in until someone enables the account again.',
    button: 'Disable',
    color: 'red',
    done: (n: string) => `${n} is disabled.`,
  },
  enable: {
    title: (n: string) => `Enable ${n}?`,
    body: 'They can sign in again with their current password and authenticator.',
    button: 'Enable',
    color: 'teal',
    done: (n: string) => `${n} is enabled again.`,
  },
} as const;

function ConfirmActionDialog({
  target,
  onClose,
  onDone,
}: {
  target: { op: OperatorRow; action: keyof typeof CONFIRM } | null;
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [reason, setReason] = useState('');
  useEffect(() => {
    setError(null);
    setReason('');
  }, [target]);
  const c = target ? CONFIRM[target.action] : null;

  const confirm = async () => {
    if (!target || !c) return;
    const path = `/api/v1/operators/${encodeURIComponent(target.op.id)}`;
    setBusy(true);
    setError(null);
    try {
      if (target.action === 'disable' || target.action === 'enable')
        await api.patch(path, { status: target.action === 'disable' ? 'disabled' : 'active' });
      else if (target.action === 'reset-mfa')
        await api.post(`${path}/reset-mfa`, reason.trim() ? { reason: reason.trim() } : {});
      else await api.post(`${path}/${target.action}`);
      onDone(c.done(target.op.displayName));
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <AppModal
      opened={!!target}
      onClose={onClose}
      title={c && target ? c.title(target.op.displayName) : ''}
      size="md"
    >
      <Stack gap="md">
        <FormError error={error} />
        <Text size="sm">{c?.body}</Text>
        {target?.action === 'reset-mfa' ? (
          <Textarea
            label="Reason (optional)"
            description="How you verified who asked, e.g. the ticket number. Recorded in the audit trail."
            value={reason}
            maxLength={500}
            onChange={(e) => setReason(e.currentTarget.value)}
            autosize
            minRows={2}
          />
        ) : null}
        <Group justify="flex-end" gap="sm">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button color={c?.color} loading={busy} onClick={() => void confirm()} data-autofocus>
            {c?.button}
          </Button>
        </Group>
      </Stack>
    </AppModal>
  );
}
