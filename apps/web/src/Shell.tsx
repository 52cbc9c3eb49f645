import { Suspense, useEffect, useState, type ReactNode } from 'react';
import { Link, Outlet, useLocation } from 'react-router';
import {
  Anchor,
  AppShell,
  Badge,
  Burger,
  Button,
  Group,
  NavLink,
  Stack,
  Text,
  VisuallyHidden,
} from '@mantine/core';
import { useDisclosure, useMediaQuery } from '@mantine/hooks';
import {
  IconArrowsExchange,
  IconBuildingCastle,
  IconChecklist,
  IconFileImport,
  IconFlag,
  IconGitPullRequest,
  IconId,
  IconKey,
  IconLayoutDashboard,
  IconListSearch,
  IconPlugConnected,
  IconLogout,
  IconRadar,
  IconSettings,
  IconShieldCheck,
  IconUsers,
} from '@tabler/icons-react';
import { api } from './api';
import { useSession, type Scope } from './session';
import { ROLE_COLORS, ROLE_LABELS } from './format';
import { FullPageLoader } from './components/FullPageLoader';
import { useModalScope } from './components/modal';
import { reconScope } from './components/reconcile';

interface NavEntry {
  to: string;
  label: string;
  icon: typeof IconKey;
  scope?: Scope;
}

const NAV: NavEntry[] = [
  { to: '/', label: 'Dashboard', icon: IconLayoutDashboard },
  { to: '/people', label: 'People', icon: IconId, scope: 'people:read' },
  { to: '/hr/imports', label: 'HR imports', icon: IconFileImport, scope: 'hr:read' },
  { to: '/scim', label: 'SCIM', icon: IconArrowsExchange, scope: 'tokens:read' },
  { to: '/targets', label: 'Targets', icon: IconPlugConnected, scope: 'targets:read' },
  { to: '/tasks', label: 'Tasks', icon: IconChecklist, scope: 'tasks:read' },
  { to: '/change-sets', label: 'Change sets', icon: IconGitPullRequest, scope: 'changes:read' },
  { to: '/findings', label: 'Findings', icon: IconFlag, scope: reconScope('recon:read') },
  { to: '/reconciliation', label: 'Reconciliation', icon: IconRadar, scope: reconScope('recon:read') },
  { to: '/policy', label: 'Policy', icon: IconShieldCheck, scope: 'policy:read' },
  { to: '/audit', label: 'Audit trail', icon: IconListSearch, scope: 'audit:read' },
  { to: '/operators', label: 'Operators', icon: IconUsers, scope: 'operators:read' },
  { to: '/tokens', label: 'API tokens', icon: IconKey, scope: 'tokens:read' },
  { to: '/settings', label: 'Settings', icon: IconSettings, scope: 'settings:read' },
];

const AWAITING_LIMIT = 100;

/**
 * How many change sets wait for approval, for the navigation's badge: asked again on every page change and when a
 * page says change sets changed (never on a timer, which would keep an idle session alive).
 */
function useAwaitingApproval(enabled: boolean, pathname: string): number | null {
  const [count, setCount] = useState<number | null>(null);
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    const bump = () => setNonce((n) => n + 1);
    window.addEventListener('gatehouse:change-sets', bump);
    return () => window.removeEventListener('gatehouse:change-sets', bump);
  }, []);
  useEffect(() => {
    if (!enabled) return;
    const ac = new AbortController();
    api
      .get<{ items: unknown[]; next: number | null }>(
        '/api/v1/change-sets',
        { status: 'awaiting_approval', limit: AWAITING_LIMIT },
        ac.signal,
      )
      .then(
        (r) => setCount(r.next !== null ? AWAITING_LIMIT + 1 : r.items.length),
        () => undefined, // the badge is a hint; the page itself reports errors
      );
    return () => ac.abort();
  }, [enabled, pathname, nonce]);
  return enabled ? count : null;
}

function focusMain(e: React.MouseEvent<HTMLAnchorElement>) {
  e.preventDefault();
  const main = document.getElementById('main');
  main?.focus();
  main?.scrollIntoView();
}

/** Header, navigation and the main region of the signed-in console. */
export function Shell({ children }: { children?: ReactNode }) {
  const { session, signOut, can, returnTo } = useSession();
  const [opened, { toggle, close }] = useDisclosure(false);
  const location = useLocation();
  // Below the breakpoint the navbar slides off-canvas; keep it out of the tab order and a11y tree then.
  const mobile = useMediaQuery('(max-width: 900px)', false, { getInitialValueInEffect: false });
  const { blocked, Provider: ModalScope } = useModalScope();
  const awaiting = useAwaitingApproval(can('changes:read'), location.pathname);

  useEffect(() => {
    returnTo.current = null;
  }, [returnTo]);
  useEffect(() => close(), [location.pathname, close]);

  if (!session) return null;
  const { operator } = session;
  const entries = NAV.filter((n) => !n.scope || can(n.scope));

  return (
    <ModalScope>
      <a className="skip-link" href="#main" onClick={focusMain}>
        Skip to content
      </a>
      <AppShell
        header={{ height: 60 }}
        navbar={{ width: 240, breakpoint: 'md', collapsed: { mobile: !opened } }}
        padding="lg"
        inert={blocked ? true : undefined}
        aria-hidden={blocked ? true : undefined}
      >
        <AppShell.Header>
          <Group h="100%" px="md" justify="space-between" wrap="nowrap" gap="sm">
            <Group gap="sm" wrap="nowrap">
              <Burger
                opened={opened}
                onClick={toggle}
                hiddenFrom="md"
                size="sm"
                aria-label={opened ? 'Close navigation' : 'Open navigation'}
                aria-expanded={opened}
                aria-controls="app-navbar"
              />
              <Anchor
                component={Link}
                to="/"
                underline="never"
                c="inherit"
                aria-label="Gatehouse — dashboard"
              >
                <Group gap={6} wrap="nowrap">
                  <IconBuildingCastle size={26} color="var(--mantine-color-blue-filled)" aria-hidden />
                  <Text fw={700} size="lg" component="span">
                    Gatehouse
                  </Text>
                </Group>
              </Anchor>
            </Group>
            <Group gap="sm" wrap="nowrap">
              <Group gap={8} wrap="nowrap" data-testid="signed-in-operator">
                <Text size="sm" fw={500} visibleFrom="xs" title={operator.email} truncate maw={220}>
                  {operator.displayName}
                </Text>
                <Badge color={ROLE_COLORS[operator.role] ?? 'gray'} variant="light">
                  {ROLE_LABELS[operator.role] ?? operator.role}
                </Badge>
              </Group>
              <Button
                variant="default"
                size="xs"
                leftSection={<IconLogout size={16} aria-hidden />}
                onClick={() => void signOut()}
              >
                Sign out
              </Button>
            </Group>
          </Group>
        </AppShell.Header>

        <AppShell.Navbar
          id="app-navbar"
          p="sm"
          aria-label="Main navigation"
          inert={mobile && !opened ? true : undefined}
        >
          <Stack gap={4}>
            {entries.map((n) => {
              const active = n.to === '/' ? location.pathname === '/' : location.pathname.startsWith(n.to);
              const badge =
                n.to === '/change-sets' && awaiting ? (
                  <>
                    <Badge size="sm" color="orange" variant="filled" aria-hidden data-testid="awaiting-badge">
                      {awaiting > AWAITING_LIMIT ? `${AWAITING_LIMIT}+` : awaiting}
                    </Badge>
                    <VisuallyHidden>
                      {`, ${awaiting > AWAITING_LIMIT ? `more than ${AWAITING_LIMIT}` : awaiting} awaiting approval`}
                    </VisuallyHidden>
                  </>
                ) : undefined;
              return (
                <NavLink
                  key={n.to}
                  component={Link}
                  to={n.to}
                  label={n.label}
                  leftSection={<n.icon size={18} stroke={1.7} aria-hidden />}
                  rightSection={badge}
                  active={active}
                  aria-current={active ? 'page' : undefined}
                  className={active ? 'nav-active' : undefined}
                />
              );
            })}
          </Stack>
        </AppShell.Navbar>

        <AppShell.Main id="main" tabIndex={-1}>
          <Suspense fallback={<FullPageLoader label="Loading page…" />}>{children ?? <Outlet />}</Suspense>
        </AppShell.Main>
      </AppShell>
    </ModalScope>
  );
}
