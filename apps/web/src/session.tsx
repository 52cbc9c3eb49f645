import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  type ReactNode,
} from 'react';
import { useNavigate } from 'react-router';
import { Alert, Button, Container, Stack, Title } from '@mantine/core';
import {
  ApiError,
  SESSION_GONE,
  lastApiActivity,
  markApiActivity,
  request,
  setCsrfToken,
  setSessionEndedHandler,
  type Session,
} from './api';

export type Scope =
  | 'admin'
  | 'recon:read'
  | 'recon:write'
  | 'findings:approve'
  | 'audit:read'
  | 'operators:read'
  | 'operators:write'
  | 'tokens:read'
  | 'tokens:write'
  | 'settings:read'
  | 'settings:write'
  | 'jobs:read'
  | 'people:read'
  | 'people:write'
  | 'people:personal'
  | 'hr:read'
  | 'hr:write'
  | 'targets:read'
  | 'targets:write'
  | 'tasks:read'
  | 'tasks:write'
  | 'policy:read'
  | 'policy:write'
  | 'changes:read'
  | 'changes:write'
  | 'changes:approve';

export function hasScope(scopes: readonly string[] | undefined, needed: Scope): boolean {
  if (!scopes) return false;
  return scopes.includes('admin') || scopes.includes(needed);
}

interface SessionState {
  /** null: not signed in (or not yet known, see `loading`). */
  session: Session | null;
  loading: boolean;
  /** The last session ended by timeout or by the server (show "your session expired"). */
  expired: boolean;
  /** The operator signed out on purpose (do not remember the page they were on). */
  signedOut: boolean;
  /** Loading the session failed for a reason other than "not signed in" (server down, proxy error). */
  loadError: unknown;
  retryLoad: () => void;
  /** Reload the session from the server (after each sign-in step). */
  refresh: () => Promise<Session | null>;
  signOut: () => Promise<void>;
  can: (scope: Scope) => boolean;
  /** Where to go after signing in (the page that sent the operator to /login). */
  returnTo: React.RefObject<string | null>;
}

const SessionContext = createContext<SessionState | null>(null);

async function fetchSession(): Promise<Session | null> {
  try {
    return await request<Session>('GET', '/api/v1/session', { authRedirect: false });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const navigate = useNavigate();
  const [session, setSession] = useState<Session | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [expired, setExpired] = useState(false);
  const [signedOut, setSignedOut] = useState(false);
  const returnTo = useRef<string | null>(null);

  const apply = useCallback((s: Session | null) => {
    setCsrfToken(s?.csrfToken ?? null);
    setSession(s);
    if (s) {
      setExpired(false);
      setSignedOut(false);
    }
  }, []);

  const refresh = useCallback(async () => {
    const s = await fetchSession();
    apply(s);
    setLoadError(null);
    return s;
  }, [apply]);

  const load = useCallback(() => {
    setLoading(true);
    setLoadError(null);
    fetchSession()
      .then((s) => apply(s))
      .catch((e: unknown) => setLoadError(e))
      .finally(() => setLoading(false));
  }, [apply]);

  useEffect(load, [load]);

  const endSession = useCallback(() => {
    const here = window.location.pathname + window.location.search;
    if (!here.startsWith('/login') && !here.startsWith('/setup')) returnTo.current = here;
    setExpired(true);
    apply(null);
    navigate('/login?expired=1', { replace: true });
  }, [apply, navigate]);

  // Any API call that finds the session gone sends the operator to sign in again.
  useEffect(() => {
    setSessionEndedHandler((code) => {
      if (SESSION_GONE.has(code)) endSession();
    });
    return () => setSessionEndedHandler(null);
  }, [endSession]);

  // Idle timeout: no API activity for idleTimeoutSeconds ends the session on this side too.
  const idleSeconds = session?.idleTimeoutSeconds ?? 0;
  useEffect(() => {
    if (!session || idleSeconds <= 0) return;
    markApiActivity();
    const timer = window.setInterval(() => {
      if (Date.now() - lastApiActivity() >= idleSeconds * 1000) {
        window.clearInterval(timer);
        // Best effort: end it on the server as well (it may already have ended there).
        void request('POST', '/api/v1/session/logout', { body: {}, authRedirect: false }).catch(
          () => undefined,
        );
        endSession();
      }
    }, 1000);
    return () => window.clearInterval(timer);
  }, [session, idleSeconds, endSession]);

  const signOut = useCallback(async () => {
    try {
      await request('POST', '/api/v1/session/logout', { body: {}, authRedirect: false });
    } catch {
      // Signed out on this side regardless; the server session times out on its own.
    }
    returnTo.current = null;
    setExpired(false);
    setSignedOut(true);
    apply(null);
    navigate('/login', { replace: true });
  }, [apply, navigate]);

  const scopes = session?.operator.scopes;
  const can = useCallback((scope: Scope) => hasScope(scopes, scope), [scopes]);

  const value = useMemo(
    () => ({
      session,
      loading,
      expired,
      signedOut,
      loadError,
      retryLoad: load,
      refresh,
      signOut,
      can,
      returnTo,
    }),
    [session, loading, expired, signedOut, loadError, load, refresh, signOut, can],
  );

  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

/** The signed-in operator's session; only for pages behind RequireSession. */
export function useFullSession(): Session {
  const { session } = useSession();
  if (!session) throw new Error('no session');
  return session;
}

/** Shown instead of the console when Gatehouse could not be asked who is signed in. */
export function StartupError() {
  const { loadError, retryLoad, loading } = useSession();
  return (
    <Container size="xs" py="15vh" component="main" id="main">
      <Stack gap="md">
        <Title order={1}>Gatehouse is not answering</Title>
        <Alert color="red" variant="light" role="alert">
          {loadError instanceof ApiError ? loadError.detail : 'Could not reach Gatehouse.'} Check that the
          server is running, then try again.
        </Alert>
        <div>
          <Button onClick={retryLoad} loading={loading}>
            Retry
          </Button>
        </div>
      </Stack>
    </Container>
  );
}
