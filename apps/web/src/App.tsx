import { lazy, Suspense, type ReactNode } from 'react';
import { Navigate, Route, Routes, useLocation } from 'react-router';
import { StartupError, useSession } from './session';
import { Shell } from './Shell';
import { AuthFrame } from './components/AuthFrame';
import { FullPageLoader } from './components/FullPageLoader';

const LoginPage = lazy(() => import('./pages/LoginPage'));
const MfaPage = lazy(() => import('./pages/MfaPage'));
const EnrolPage = lazy(() => import('./pages/EnrolPage'));
const SetupPage = lazy(() => import('./pages/SetupPage'));
const DashboardPage = lazy(() => import('./pages/DashboardPage'));
const AuditPage = lazy(() => import('./pages/AuditPage'));
const OperatorsPage = lazy(() => import('./pages/OperatorsPage'));
const TokensPage = lazy(() => import('./pages/TokensPage'));
const SettingsPage = lazy(() => import('./pages/SettingsPage'));
const NotFoundPage = lazy(() => import('./pages/NotFoundPage'));
const PeoplePage = lazy(() => import('./pages/PeoplePage'));
const PersonPage = lazy(() => import('./pages/PersonPage'));
const DuplicatesPage = lazy(() => import('./pages/DuplicatesPage'));
const HrImportsPage = lazy(() => import('./pages/HrImportsPage'));
const HrImportPage = lazy(() => import('./pages/HrImportPage'));
const ScimPage = lazy(() => import('./pages/ScimPage'));
const TargetsPage = lazy(() => import('./pages/TargetsPage'));
const TasksPage = lazy(() => import('./pages/TasksPage'));
const TargetPage = lazy(() => import('./pages/TargetPage'));
const ChangeSetsPage = lazy(() => import('./pages/ChangeSetsPage'));
const ChangeSetPage = lazy(() => import('./pages/ChangeSetPage'));
const PolicyPage = lazy(() => import('./pages/PolicyPage'));
const FindingsPage = lazy(() => import('./pages/FindingsPage'));
const ReconciliationPage = lazy(() => import('./pages/ReconciliationPage'));

export function App() {
  const { loading } = useSession();
  if (loading) return <FullPageLoader />;
  return (
    <Routes>
      <Route
        path="/login"
        element={
          <SignInStep step="password">
            <LoginPage />
          </SignInStep>
        }
      />
      <Route
        path="/login/mfa"
        element={
          <SignInStep step="mfa">
            <MfaPage />
          </SignInStep>
        }
      />
      <Route
        path="/login/enrol"
        element={
          <SignInStep step="enrol">
            <EnrolPage />
          </SignInStep>
        }
      />
      <Route
        path="/setup"
        element={
          <SignInStep step="setup">
            <SetupPage />
          </SignInStep>
        }
      />
      <Route
        element={
          <RequireSession>
            <Shell />
          </RequireSession>
        }
      >
        <Route index element={<DashboardPage />} />
        <Route path="people" element={<PeoplePage />} />
        <Route path="people/duplicates" element={<DuplicatesPage />} />
        <Route path="people/:id" element={<PersonPage />} />
        <Route path="hr/imports" element={<HrImportsPage />} />
        <Route path="hr/imports/:id" element={<HrImportPage />} />
        <Route path="scim" element={<ScimPage />} />
        <Route path="targets" element={<TargetsPage />} />
        <Route path="targets/:name" element={<TargetPage />} />
        <Route path="tasks" element={<TasksPage />} />
        <Route path="change-sets" element={<ChangeSetsPage />} />
        <Route path="change-sets/:id" element={<ChangeSetPage />} />
        <Route path="findings" element={<FindingsPage />} />
        <Route path="reconciliation" element={<ReconciliationPage />} />
        <Route path="policy" element={<PolicyPage />} />
        <Route path="audit" element={<AuditPage />} />
        <Route path="operators" element={<OperatorsPage />} />
        <Route path="tokens" element={<TokensPage />} />
        <Route path="settings" element={<SettingsPage />} />
      </Route>
      <Route path="*" element={<CatchAll />} />
    </Routes>
  );
}

/** The sign-in pages: each only makes sense at its stage; otherwise send the operator where they belong. */
function SignInStep({
  step,
  children,
}: {
  step: 'password' | 'mfa' | 'enrol' | 'setup';
  children: ReactNode;
}) {
  const { session, returnTo } = useSession();
  const stage = session?.stage ?? null;
  if (stage === 'full') return <Navigate to={returnTo.current ?? '/'} replace />;
  if (step === 'mfa' && stage !== 'mfa')
    return <Navigate to={stage === 'enrol' ? '/login/enrol' : '/login'} replace />;
  if (step === 'enrol' && stage !== 'enrol')
    return <Navigate to={stage === 'mfa' ? '/login/mfa' : '/login'} replace />;
  return (
    <AuthFrame>
      <Suspense fallback={<FullPageLoader label="Loading…" />}>{children}</Suspense>
    </AuthFrame>
  );
}

/** The console itself needs a fully signed-in session. */
function RequireSession({ children }: { children: ReactNode }) {
  const { session, expired, signedOut, returnTo, loadError } = useSession();
  const location = useLocation();
  if (!session && loadError) return <StartupError />;
  if (!session) {
    if (!signedOut && location.pathname !== '/') returnTo.current = location.pathname + location.search;
    return <Navigate to={expired ? '/login?expired=1' : '/login'} replace />;
  }
  if (session.stage === 'mfa') return <Navigate to="/login/mfa" replace />;
  if (session.stage === 'enrol') return <Navigate to="/login/enrol" replace />;
  return <>{children}</>;
}

function CatchAll() {
  const { session } = useSession();
  if (session?.stage === 'full') {
    return (
      <Shell>
        <NotFoundPage />
      </Shell>
    );
  }
  return (
    <AuthFrame>
      <Suspense fallback={<FullPageLoader label="Loading…" />}>
        <NotFoundPage />
      </Suspense>
    </AuthFrame>
  );
}
