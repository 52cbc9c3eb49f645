import { useState } from 'react';
import { Anchor, Button, Group, Stack, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { api, ApiError } from '../api';
import { useSession } from '../session';
import { Page, FormError } from '../components/ui';
import { signInError } from './LoginPage';

export default function MfaPage() {
  const { refresh, signOut } = useSession();
  const [recovery, setRecovery] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const form = useForm({
    initialValues: { code: '', recoveryCode: '' },
    validate: {
      code: (v) =>
        recovery || /^\d{6}$/.test(v.replace(/\s/g, '')) ? null : 'Enter the 6 digits from your app',
      recoveryCode: (v) => (!recovery || v.trim() ? null : 'Enter one of your recovery codes'),
    },
  });

  const submit = form.onSubmit(async (values) => {
    setError(null);
    setSubmitting(true);
    try {
      await api.post(
        '/api/v1/session/mfa',
        recovery ? { recoveryCode: values.recoveryCode.trim() } : { code: values.code.replace(/\s/g, '') },
      );
      await refresh(); // now fully signed in: the route moves on to the console
    } catch (e) {
      const message = signInError(e);
      if (e instanceof ApiError && (e.code === 'mfa_failed' || e.status === 401)) {
        // Clear the wrong code first: changing a value clears that field's error.
        form.setFieldValue(recovery ? 'recoveryCode' : 'code', '');
        form.setErrors(recovery ? { recoveryCode: message } : { code: message });
      } else {
        setError(message);
      }
    } finally {
      setSubmitting(false);
    }
  });

  const toggle = () => {
    setRecovery((r) => !r);
    setError(null);
    form.clearErrors();
  };

  return (
    <Page
      title="Two-step verification"
      description={
        recovery
          ? 'Enter one of the recovery codes you saved when you set up your authenticator. Each code works once.'
          : 'Open your authenticator app and enter the 6-digit code it shows for Gatehouse.'
      }
      focusHeading={false}
    >
      <FormError error={error} />
      <form onSubmit={submit} noValidate>
        <Stack gap="md">
          {recovery ? (
            <TextInput
              key="recovery"
              label="Recovery code"
              autoComplete="off"
              autoCapitalize="none"
              spellCheck={false}
              autoFocus
              {...form.getInputProps('recoveryCode')}
            />
          ) : (
            <TextInput
              key="code"
              label="Authentication code"
              autoComplete="one-time-code"
              inputMode="numeric"
              pattern="[0-9]*"
              autoFocus
              {...form.getInputProps('code')}
            />
          )}
          <Button type="submit" loading={submitting} fullWidth>
            Verify
          </Button>
          <Group justify="space-between" wrap="wrap">
            <Anchor component="button" type="button" size="sm" onClick={toggle}>
              {recovery ? 'Use an authentication code instead' : 'Use a recovery code instead'}
            </Anchor>
            <Anchor component="button" type="button" size="sm" c="dimmed" onClick={() => void signOut()}>
              Cancel and sign in again
            </Anchor>
          </Group>
        </Stack>
      </form>
    </Page>
  );
}
