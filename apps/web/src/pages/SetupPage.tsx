import { useEffect, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { Alert, Anchor, Button, Stack, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { IconInfoCircle } from '@tabler/icons-react';
import { api, ApiError } from '../api';
import { useSession } from '../session';
import { Page, useApiData, SecretInput, FormError } from '../components/ui';

const MIN_PASSWORD = 12;

/** The one-time token from "/setup#<token>". */
function tokenFromHash(): string {
  try {
    return decodeURIComponent(window.location.hash.replace(/^#/, '')).trim();
  } catch {
    return window.location.hash.replace(/^#/, '').trim();
  }
}

export default function SetupPage() {
  const [token] = useState(tokenFromHash);
  // Keep the secret out of the address bar (and out of screenshots and history) once it is read.
  useEffect(() => {
    if (window.location.hash)
      window.history.replaceState(
        window.history.state,
        '',
        window.location.pathname + window.location.search,
      );
  }, []);
  const navigate = useNavigate();
  const { refresh } = useSession();
  const status = useApiData(
    (signal) => api.get<{ setupRequired: boolean }>('/api/v1/session/status', undefined, signal),
    'status',
  );
  const [error, setError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const form = useForm({
    initialValues: { displayName: '', email: '', password: '', confirmPassword: '' },
    validate: {
      displayName: (v) => (v.trim() ? null : 'Enter your name as colleagues know it'),
      email: (v) => (/^\S+@\S+\.\S+$/.test(v.trim()) ? null : 'Enter a valid email address'),
      password: (v) => (v.length >= MIN_PASSWORD ? null : `Use at least ${MIN_PASSWORD} characters`),
      confirmPassword: (v, values) => (v === values.password ? null : 'The passwords do not match'),
    },
  });

  const submit = form.onSubmit(async (values) => {
    setError(null);
    setSubmitting(true);
    try {
      await api.post('/api/v1/session/setup', {
        token,
        email: values.email.trim(),
        displayName: values.displayName.trim(),
        password: values.password,
      });
      await refresh();
      navigate('/login/enrol', { replace: true });
    } catch (e) {
      if (e instanceof ApiError) {
        const { token: _token, ...fields } = e.fieldErrors;
        if (Object.keys(fields).length) form.setErrors(fields);
        setError(e.detail);
      } else setError(String(e));
    } finally {
      setSubmitting(false);
    }
  });

  const alreadySetUp = status.data?.setupRequired === false;

  return (
    <Page title="Set up Gatehouse" description="Create the first administrator account.">
      {!token ? (
        <Alert
          color="orange"
          variant="light"
          icon={<IconInfoCircle aria-hidden />}
          title="The setup link is missing"
        >
          Open the one-time setup link printed in the terminal where Gatehouse started. It looks like{' '}
          <code>/setup#…</code>.
        </Alert>
      ) : null}
      {alreadySetUp ? (
        <Alert
          color="blue"
          variant="light"
          icon={<IconInfoCircle aria-hidden />}
          title="Gatehouse is already set up"
        >
          An administrator exists.{' '}
          <Anchor component={Link} to="/login">
            Sign in
          </Anchor>{' '}
          instead, or ask an administrator for an account.
        </Alert>
      ) : null}
      <FormError error={error} />
      {token && !alreadySetUp ? (
        <form onSubmit={submit} noValidate>
          <Stack gap="md">
            <TextInput label="Display name" autoComplete="name" {...form.getInputProps('displayName')} />
            <TextInput label="Email" type="email" autoComplete="email" {...form.getInputProps('email')} />
            <SecretInput
              label="Password"
              description={`At least ${MIN_PASSWORD} characters. A phrase of a few words is easiest to remember.`}
              autoComplete="new-password"
              {...form.getInputProps('password')}
            />
            <SecretInput
              label="Confirm password"
              autoComplete="new-password"
              {...form.getInputProps('confirmPassword')}
            />
            <Button type="submit" loading={submitting} fullWidth>
              Create administrator
            </Button>
          </Stack>
        </form>
      ) : null}
    </Page>
  );
}
