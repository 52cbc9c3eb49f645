import { useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { Alert, Button, Stack, Text, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { IconClock, IconInfoCircle, IconAlertTriangle } from '@tabler/icons-react';
import { api, ApiError } from '../api';
import { useSession } from '../session';
import { Page, useApiData, SecretInput } from '../components/ui';
import { formatClock } from '../format';

/** The message for a failed sign-in step, shared with the MFA page. */
export function signInError(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === 'login_locked' || e.status === 423) {
      const retryAt = typeof e.problem.retryAt === 'string' ? e.problem.retryAt : null;
      return retryAt
        ? `Too many failed attempts. Try again at ${formatClock(retryAt)}.`
        : `Too many failed attempts. ${e.detail}`;
    }
    if (e.status === 403) return `You don't have permission to do this. ${e.detail}`;
    return e.detail;
  }
  return e instanceof Error ? e.message : String(e);
}

export default function LoginPage() {
  const [params] = useSearchParams();
  const expired = params.get('expired') === '1';
  const navigate = useNavigate();
  const { refresh, loadError, retryLoad } = useSession();
  const status = useApiData(
    (signal) => api.get<{ setupRequired: boolean }>('/api/v1/session/status', undefined, signal),
    'status',
  );
  const [error, setError] = useState<{ message: string; locked: boolean } | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const form = useForm({
    initialValues: { email: '', password: '' },
    validate: {
      email: (v) => (/^\S+@\S+$/.test(v.trim()) ? null : 'Enter your email address'),
      password: (v) => (v ? null : 'Enter your password'),
    },
  });

  const submit = form.onSubmit(async (values) => {
    setError(null);
    setSubmitting(true);
    try {
      const r = await api.post<{ stage: 'mfa' | 'enrol' | 'full' }>('/api/v1/session/login', {
        email: values.email.trim(),
        password: values.password,
      });
      const s = await refresh();
      if (!s) {
        setError({
          message: 'Your browser did not keep the sign-in cookie. Allow cookies for this site and try again.',
          locked: false,
        });
        return;
      }
      if (r.stage === 'full' || s.stage === 'full') return; // the route sends the operator on
      navigate(r.stage === 'enrol' ? '/login/enrol' : '/login/mfa', { replace: true });
    } catch (e) {
      if (e instanceof ApiError && Object.keys(e.fieldErrors).length) form.setErrors(e.fieldErrors);
      setError({ message: signInError(e), locked: e instanceof ApiError && e.status === 423 });
      form.setFieldValue('password', '');
    } finally {
      setSubmitting(false);
    }
  });

  return (
    <Page title="Sign in" description="Use your Gatehouse operator account.">
      {expired ? (
        <Alert color="yellow" variant="light" icon={<IconClock aria-hidden />} role="status">
          Your session expired — please sign in again.
        </Alert>
      ) : null}
      {loadError ? (
        <Alert
          color="red"
          variant="light"
          icon={<IconAlertTriangle aria-hidden />}
          title="Gatehouse is not answering"
        >
          <Stack gap="xs" align="flex-start">
            <Text size="sm">
              {loadError instanceof ApiError ? loadError.detail : 'Could not reach Gatehouse.'} Check that the
              server is running.
            </Text>
            <Button size="xs" variant="default" onClick={retryLoad}>
              Retry
            </Button>
          </Stack>
        </Alert>
      ) : null}
      {status.data?.setupRequired ? (
        <Alert
          color="blue"
          variant="light"
          icon={<IconInfoCircle aria-hidden />}
          title="No administrator yet"
        >
          Open the one-time setup link printed in the terminal where Gatehouse started. It creates the first
          administrator.
        </Alert>
      ) : null}
      {error ? (
        <Alert
          color={error.locked ? 'orange' : 'red'}
          variant="light"
          icon={<IconAlertTriangle aria-hidden />}
          role="alert"
          data-testid="login-error"
        >
          {error.message}
        </Alert>
      ) : null}
      <form onSubmit={submit} noValidate>
        <Stack gap="md">
          <TextInput label="Email" type="email" autoComplete="username" {...form.getInputProps('email')} />
          <SecretInput label="Password" autoComplete="current-password" {...form.getInputProps('password')} />
          <Button type="submit" loading={submitting} fullWidth>
            Sign in
          </Button>
        </Stack>
      </form>
      <Text size="xs" c="dimmed">
        Forgotten your password or lost your authenticator? Ask a Gatehouse administrator to reset it.
      </Text>
    </Page>
  );
}
