import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { Modal, type ModalProps } from '@mantine/core';

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
