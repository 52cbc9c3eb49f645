import { Suspense, useEffect, type ReactNode } from 'react';
import { Link, Outlet, useLocation } from 'react-router';
import { Anchor, AppShell, Badge, Burger, Button, Group, NavLink, Stack, Text } from '@mantine/core';
import { useDisclosure, useMediaQuery } from '@mantine/hooks';
import {
  IconBuildingCastle,
  IconChecklist,
  IconFileImport,
  IconId,
  IconKey,
  IconLayoutDashboard,
  IconListSearch,
  IconPlugConnected,
  IconLogout,
  IconSettings,
  IconUsers,
} from '@tabler/icons-react';
import { useSession, type Scope } from './session';
import { ROLE_COLORS, ROLE_LABELS } from './format';
import { FullPageLoader } from './components/FullPageLoader';
import { useModalScope } from './components/modal';

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
  { to: '/targets', label: 'Targets', icon: IconPlugConnected, scope: 'targets:read' },
  { to: '/tasks', label: 'Tasks', icon: IconChecklist, scope: 'tasks:read' },
  { to: '/audit', label: 'Audit trail', icon: IconListSearch, scope: 'audit:read' },
  { to: '/operators', label: 'Operators', icon: IconUsers, scope: 'operators:read' },
  { to: '/tokens', label: 'API tokens', icon: IconKey, scope: 'tokens:read' },
  { to: '/settings', label: 'Settings', icon: IconSettings, scope: 'settings:read' },
];

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
              return (
                <NavLink
                  key={n.to}
                  component={Link}
                  to={n.to}
                  label={n.label}
                  leftSection={<n.icon size={18} stroke={1.7} aria-hidden />}
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
