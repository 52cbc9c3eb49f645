import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import {
  Alert,
  Button,
  EmptyState,
  Group,
  PasswordInput,
  Skeleton,
  Stack,
  Table,
  Text,
  Title,
  UnstyledButton,
  VisuallyHidden,
  type PasswordInputProps,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { formatDateTime } from '../format';
import {
  IconAlertTriangle,
  IconArrowDown,
  IconArrowUp,
  IconArrowsSort,
  IconCheck,
  IconCopy,
  IconLock,
} from '@tabler/icons-react';
import { ApiError, describe } from '../api';

/**
 * The frame of every page: sets document.title to "<title> · Gatehouse" and moves focus to the h1 when the page
 * mounts (so screen-reader and keyboard users land on the new page after each route change).
 */
export function Page({
  title,
  description,
  actions,
  children,
  focusHeading = true,
}: {
  title: string;
  description?: ReactNode;
  actions?: ReactNode;
  children?: ReactNode;
  focusHeading?: boolean;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Gatehouse`;
  }, [title]);
  useEffect(() => {
    if (focusHeading) heading.current?.focus({ preventScroll: false });
    // Only when the page mounts: a new route is a new page.
  }, []);
  return (
    <Stack gap="lg">
      <Group justify="space-between" align="flex-start" wrap="wrap" gap="sm">
        <div>
          <Title order={1} ref={heading} tabIndex={-1} className="page-heading">
            {title}
          </Title>
          {description ? (
            <Text c="dimmed" mt={4}>
              {description}
            </Text>
          ) : null}
        </div>
        {actions ? <Group gap="sm">{actions}</Group> : null}
      </Group>
      {children}
    </Stack>
  );
}

export interface ApiData<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Load something from the API whenever `key` changes; keeps the previous data while reloading. */
export function useApiData<T>(load: (signal: AbortSignal) => Promise<T>, key: string): ApiData<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [nonce, setNonce] = useState(0);
  const loader = useRef(load);
  loader.current = load;

  useEffect(() => {
    const ac = new AbortController();
    setLoading(true);
    setError(null);
    loader.current(ac.signal).then(
      (d) => {
        if (ac.signal.aborted) return;
        setData(d);
        setLoading(false);
      },
      (e: unknown) => {
        if (ac.signal.aborted) return;
        setData(undefined);
        setError(e);
        setLoading(false);
      },
    );
    return () => ac.abort();
  }, [key, nonce]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { data, error, loading, reload };
}

export function ErrorState({ error, what, onRetry }: { error: unknown; what: string; onRetry?: () => void }) {
  const forbidden = error instanceof ApiError && error.status === 403;
  const requestId = error instanceof ApiError ? error.requestId : undefined;
  return (
    <Alert
      color={forbidden ? 'orange' : 'red'}
      variant="light"
      icon={forbidden ? <IconLock aria-hidden /> : <IconAlertTriangle aria-hidden />}
      title={forbidden ? "You don't have permission to see this" : `Couldn't load ${what}`}
      role="alert"
    >
      <Stack gap="xs" align="flex-start">
        <Text size="sm">{error instanceof ApiError ? error.detail : describe(error)}</Text>
        {requestId && !forbidden ? (
          <Text size="xs" c="dimmed">
            Request id {requestId}
          </Text>
        ) : null}
        {onRetry ? (
          <Button size="xs" variant="default" onClick={onRetry}>
            Retry
          </Button>
        ) : null}
      </Stack>
    </Alert>
  );
}

export function NoAccess({ what }: { what: string }) {
  return (
    <Alert
      color="orange"
      variant="light"
      icon={<IconLock aria-hidden />}
      title="You don't have permission to see this"
    >
      Your role does not include access to {what}. Ask an administrator if you need it.
    </Alert>
  );
}

export function LoadingRows({ label, rows = 5 }: { label: string; rows?: number }) {
  return (
    <Stack gap="xs" role="status" aria-busy="true" aria-live="polite">
      <VisuallyHidden>{label}</VisuallyHidden>
      {Array.from({ length: rows }, (_, i) => (
        <Skeleton key={i} height={36} radius="sm" />
      ))}
    </Stack>
  );
}

export function Empty({
  title,
  description,
  icon,
  children,
}: {
  title: string;
  description?: ReactNode;
  icon?: ReactNode;
  children?: ReactNode;
}) {
  return (
    <EmptyState title={title} description={description} icon={icon} py="xl" className="empty-state">
      {children}
    </EmptyState>
  );
}

export type SortOrder = 'asc' | 'desc';

/** A column header that sorts: a real <th> with aria-sort, holding a button. */
/**
 * The sort state of one table, bound once: `const th = sortableHeader(sort, order, onSort)`, then
 * `{th('Name', 'displayName')}`. A plain function (not a component made during render), so headers keep focus.
 */
export function sortableHeader(
  sort: string,
  order: SortOrder,
  onSort: (field: string, order: SortOrder) => void,
) {
  return (label: string, field: string) => (
    <SortableTh key={field} label={label} field={field} sort={sort} order={order} onSort={onSort} />
  );
}

export function SortableTh({
  label,
  field,
  sort,
  order,
  onSort,
}: {
  label: string;
  field: string;
  sort: string;
  order: SortOrder;
  onSort: (field: string, order: SortOrder) => void;
}) {
  const active = sort === field;
  const Icon = !active ? IconArrowsSort : order === 'asc' ? IconArrowUp : IconArrowDown;
  return (
    <Table.Th aria-sort={active ? (order === 'asc' ? 'ascending' : 'descending') : 'none'} scope="col">
      <UnstyledButton
        className="sort-button"
        onClick={() => onSort(field, active && order === 'asc' ? 'desc' : 'asc')}
      >
        <span>{label}</span>
        <Icon size={14} aria-hidden stroke={active ? 2.2 : 1.5} />
        <VisuallyHidden>
          {active ? `, sorted ${order === 'asc' ? 'ascending' : 'descending'}` : ', sortable'}
        </VisuallyHidden>
      </UnstyledButton>
    </Table.Th>
  );
}

export function Pager({
  summary,
  hasPrevious,
  hasNext,
  onPrevious,
  onNext,
  busy,
  extra,
}: {
  summary: ReactNode;
  hasPrevious: boolean;
  hasNext: boolean;
  onPrevious: () => void;
  onNext: () => void;
  busy?: boolean;
  extra?: ReactNode;
}) {
  return (
    <nav aria-label="Pagination">
      <Group justify="space-between" wrap="wrap" gap="sm">
        <Text size="sm" c="dimmed" aria-live="polite">
          {summary}
        </Text>
        <Group gap="xs">
          {extra}
          <Button variant="default" size="xs" onClick={onPrevious} disabled={!hasPrevious || busy}>
            Previous page
          </Button>
          <Button variant="default" size="xs" onClick={onNext} disabled={!hasNext || busy}>
            Next page
          </Button>
        </Group>
      </Group>
    </nav>
  );
}

export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the old way
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  let ok: boolean;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

export function CopyButton({
  value,
  label = 'Copy',
  size = 'xs',
}: {
  value: string;
  label?: string;
  size?: string;
}) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const t = window.setTimeout(() => setCopied(false), 2000);
    return () => window.clearTimeout(t);
  }, [copied]);
  return (
    <Button
      size={size}
      variant={copied ? 'light' : 'default'}
      color={copied ? 'teal' : undefined}
      leftSection={copied ? <IconCheck size={14} aria-hidden /> : <IconCopy size={14} aria-hidden />}
      onClick={async () => {
        const ok = await copyText(value);
        if (ok) setCopied(true);
        else
          notifications.show({
            color: 'orange',
            title: 'Could not copy',
            message: 'Your browser blocked the clipboard. Select the text and copy it by hand.',
          });
      }}
    >
      {copied ? 'Copied' : label}
    </Button>
  );
}

/** A form's or dialog's error, in words, above its fields (nothing when there is none). */
export function FormError({ error }: { error: ReactNode }) {
  if (!error) return null;
  return (
    <Alert color="red" variant="light" icon={<IconAlertTriangle aria-hidden />} role="alert">
      {error}
    </Alert>
  );
}

export function notifySuccess(message: string, title?: string): void {
  notifications.show({ color: 'teal', title, message, icon: <IconCheck size={18} aria-hidden /> });
}

export function notifyError(e: unknown, title = 'That did not work'): void {
  const forbidden = e instanceof ApiError && e.status === 403;
  notifications.show({
    color: 'red',
    title: forbidden ? "You don't have permission to do this" : title,
    message: e instanceof ApiError ? e.detail : describe(e),
    autoClose: 8000,
  });
}

/**
 * Mantine's PasswordInput, with the show/hide button named so that it does not also match the label "Password"
 * (getByLabel('Password') then finds exactly the input).
 */
export function SecretInput(props: PasswordInputProps) {
  return (
    <PasswordInput visibilityToggleButtonProps={{ 'aria-label': 'Show or hide the characters' }} {...props} />
  );
}

/**
 * A control's value that lives in the address bar: shown at once when changed (the URL update renders a moment
 * later, in a transition) and followed when the address bar changes on its own (back button, links).
 */
export function useUrlValue<T>(fromUrl: T): [T, (v: T) => void] {
  const [value, setValue] = useState(fromUrl);
  useEffect(() => setValue(fromUrl), [fromUrl]);
  return [value, setValue];
}

/** A point in time as a <time> element (full date-time on hover), or a dimmed "Never" when there is none. */
export function When({
  at,
  show,
  never = 'Never',
}: {
  at: string | null;
  show: (iso: string) => string;
  never?: string;
}) {
  if (!at) {
    return (
      <Text size="sm" c="dimmed">
        {never}
      </Text>
    );
  }
  return (
    <time dateTime={at} title={formatDateTime(at)}>
      {show(at)}
    </time>
  );
}
