import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { FormError } from './ui';
import { Button, Group, Modal, Stack, type ModalProps } from '@mantine/core';
import { describe } from '../api';

/**
 * Dialogs render in a portal next to the app. While one is open the rest of the console is made inert and hidden
 * from assistive technology, so the dialog is the only thing a keyboard or screen-reader user can reach (and a
 * page button and the dialog's button with the same name are never both reachable).
 */
const ModalCount = createContext<(delta: number) => void>(() => undefined);

export function useModalScope(): { blocked: boolean; Provider: (p: { children: ReactNode }) => ReactNode } {
  const [count, setCount] = useState(0);
  const Provider = useMemo(() => {
    const change = (delta: number) => setCount((c) => Math.max(0, c + delta));
    return function ModalScopeProvider({ children }: { children: ReactNode }) {
      return <ModalCount.Provider value={change}>{children}</ModalCount.Provider>;
    };
  }, []);
  return { blocked: count > 0, Provider };
}

export function AppModal({ opened, ...props }: ModalProps) {
  const change = useContext(ModalCount);
  useEffect(() => {
    if (!opened) return;
    change(1);
    return () => change(-1);
  }, [opened, change]);
  return <Modal opened={opened} centered size="lg" {...props} />;
}

// ── Confirmation ─────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * A confirmation dialog for an action (change sets, findings): what will happen (children), the error of the last
 * try, Back and the action button. `submit` runs the action and may throw (the
 * error is shown in words at the top) or return false to stay open (a field shows what to fix).
 */
export function ConfirmDialog({
  title,
  opened,
  onClose,
  action,
  color,
  submit,
  reset,
  explain = describe,
  children,
}: {
  title: string;
  opened: boolean;
  onClose: () => void;
  action: string;
  color?: string;
  submit: () => Promise<boolean | void>;
  /** Clears the dialog's own fields when it opens. */
  reset?: () => void;
  /** The words for a failure (default: the server's detail). */
  explain?: (e: unknown) => ReactNode;
  children: ReactNode;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ReactNode>(null);
  useEffect(() => {
    setError(null);
    reset?.();
    // Only on opening: `reset` is a new function on every render.
  }, [opened]);
  return (
    <AppModal opened={opened} onClose={onClose} title={title}>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          submit()
            .catch((err: unknown) => setError(explain(err)))
            .finally(() => setBusy(false));
        }}
      >
        <Stack gap="md">
          <FormError error={error} />
          {children}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose} disabled={busy}>
              Back
            </Button>
            <Button type="submit" loading={busy} {...(color ? { color } : {})}>
              {action}
            </Button>
          </Group>
        </Stack>
      </form>
    </AppModal>
  );
}
