import { useEffect, useRef, useState } from 'react';
import {
  Alert,
  Anchor,
  Button,
  Checkbox,
  Code,
  Group,
  Image,
  List,
  Loader,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { IconAlertTriangle, IconDownload } from '@tabler/icons-react';
import { api } from '../api';
import { useSession } from '../session';
import { CopyButton, Page } from '../components/ui';
import { groupInFours } from '../format';
import { signInError } from './LoginPage';

interface TotpStart {
  secret: string;
  otpauthUrl: string;
  qrDataUrl: string;
}

function download(filename: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export default function EnrolPage() {
  const { session, refresh, signOut } = useSession();
  const [start, setStart] = useState<TotpStart | null>(null);
  const [startError, setStartError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const [codes, setCodes] = useState<string[] | null>(null);

  useEffect(() => {
    let ignore = false;
    setStartError(null);
    api.post<TotpStart>('/api/v1/session/totp/start').then(
      (r) => {
        if (!ignore) setStart(r);
      },
      (e: unknown) => {
        if (!ignore) setStartError(e);
      },
    );
    return () => {
      ignore = true;
    };
  }, [attempt]);

  if (codes) return <RecoveryCodes codes={codes} email={session?.operator.email ?? ''} onDone={refresh} />;

  return (
    <Page
      title="Set up two-step verification"
      description="Gatehouse asks for a code from an authenticator app each time you sign in. Set it up once now."
    >
      {startError ? (
        <Alert color="red" variant="light" icon={<IconAlertTriangle aria-hidden />} role="alert">
          <Stack gap="xs" align="flex-start">
            <Text size="sm">{signInError(startError)}</Text>
            <Button size="xs" variant="default" onClick={() => setAttempt((n) => n + 1)}>
              Retry
            </Button>
          </Stack>
        </Alert>
      ) : !start ? (
        <Group gap="xs" role="status">
          <Loader size="sm" aria-hidden />
          <Text size="sm">Preparing your authenticator key…</Text>
        </Group>
      ) : (
        <Stack gap="lg">
          <Stack gap="xs">
            <Title order={2} size="h4">
              1. Scan this QR code
            </Title>
            <Text size="sm">
              Use an authenticator app on your phone, such as Microsoft Authenticator, Google Authenticator or
              1Password.
            </Text>
            <Image
              src={start.qrDataUrl}
              alt="QR code to scan with your authenticator app"
              w={200}
              h={200}
              fit="contain"
              radius="sm"
              style={{ border: '1px solid var(--mantine-color-gray-3)' }}
            />
          </Stack>
          <Stack gap="xs">
            <Title order={2} size="h4">
              Can&apos;t scan it? Enter this key instead
            </Title>
            <Group gap="sm" wrap="wrap">
              <Code className="secret-text" data-testid="totp-secret" aria-label="Authenticator key">
                {groupInFours(start.secret)}
              </Code>
              <CopyButton value={start.secret} label="Copy key" />
            </Group>
            <Text size="xs" c="dimmed">
              Choose a time-based key if your app asks. Spaces don&apos;t matter.
            </Text>
          </Stack>
          <ConfirmCode onConfirmed={setCodes} />
        </Stack>
      )}
      <Anchor component="button" type="button" size="sm" c="dimmed" onClick={() => void signOut()}>
        Cancel and sign out
      </Anchor>
    </Page>
  );
}

function ConfirmCode({ onConfirmed }: { onConfirmed: (codes: string[]) => void }) {
  const [submitting, setSubmitting] = useState(false);
  const form = useForm({
    initialValues: { code: '' },
    validate: {
      code: (v) => (/^\d{6}$/.test(v.replace(/\s/g, '')) ? null : 'Enter the 6 digits from your app'),
    },
  });
  const submit = form.onSubmit(async ({ code }) => {
    setSubmitting(true);
    try {
      const r = await api.post<{ stage: string; recoveryCodes: string[] }>('/api/v1/session/totp/confirm', {
        code: code.replace(/\s/g, ''),
      });
      onConfirmed(r.recoveryCodes ?? []);
    } catch (e) {
      form.setFieldValue('code', ''); // before setErrors: changing a value clears its error
      form.setErrors({
        code: signInError(e),
      });
    } finally {
      setSubmitting(false);
    }
  });
  return (
    <form onSubmit={submit} noValidate>
      <Stack gap="xs">
        <Title order={2} size="h4">
          2. Enter the code your app shows
        </Title>
        <TextInput
          label="Authentication code"
          autoComplete="one-time-code"
          inputMode="numeric"
          pattern="[0-9]*"
          {...form.getInputProps('code')}
        />
        <Button type="submit" loading={submitting}>
          Verify
        </Button>
      </Stack>
    </form>
  );
}

function RecoveryCodes({
  codes,
  email,
  onDone,
}: {
  codes: string[];
  email: string;
  onDone: () => Promise<unknown>;
}) {
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = 'Save your recovery codes · Gatehouse';
    heading.current?.focus();
  }, []);
  const text = `Gatehouse recovery codes${email ? ` for ${email}` : ''}\nEach code can be used once.\n\n${codes.join('\n')}\n`;
  return (
    <Stack gap="lg">
      <div>
        <Title order={1} ref={heading} tabIndex={-1} className="page-heading">
          Save your recovery codes
        </Title>
        <Text c="dimmed" mt={4}>
          If you lose your phone, each of these codes signs you in once. This is the only time Gatehouse shows
          them.
        </Text>
      </div>
      <Alert color="yellow" variant="light" icon={<IconAlertTriangle aria-hidden />}>
        Store them somewhere safe, such as your password manager. Anyone with a code and your password can
        sign in as you.
      </Alert>
      <List
        className="recovery-codes"
        data-testid="recovery-codes"
        aria-label="Recovery codes"
        type="ordered"
      >
        {codes.map((c) => (
          <List.Item key={c}>{c}</List.Item>
        ))}
      </List>
      <Group gap="sm">
        <CopyButton value={codes.join('\n')} label="Copy codes" size="sm" />
        <Button
          variant="default"
          size="sm"
          leftSection={<IconDownload size={16} aria-hidden />}
          onClick={() => download('gatehouse-recovery-codes.txt', text)}
        >
          Download codes
        </Button>
      </Group>
      <Checkbox
        label="I have saved these codes"
        checked={saved}
        onChange={(e) => setSaved(e.currentTarget.checked)}
      />
      <Button
        disabled={!saved}
        loading={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await onDone(); // the session is now fully signed in: the route moves on to the dashboard
          } finally {
            setBusy(false);
          }
        }}
      >
        Continue to the dashboard
      </Button>
    </Stack>
  );
}
