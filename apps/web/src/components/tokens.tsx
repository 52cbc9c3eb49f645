import { useEffect, useState, type ReactNode } from 'react';
import { FormError } from './ui';
import { Button, Group, Stack, Textarea } from '@mantine/core';
import { api, describe, type TokenRow } from '../api';
import { AppModal } from './modal';

/**
 * Revoke an API token (or a SCIM client, which is one), with an optional reason for the audit trail. `children`
 * says what revoking means for this kind of token; the caller reloads its list in `onDone`.
 */
export function RevokeTokenDialog({
  token,
  noun,
  onClose,
  onDone,
  children,
}: {
  token: Pick<TokenRow, 'id' | 'name'> | null;
  /** "token" or "client": the dialog's title and button ("Revoke client"). */
  noun: string;
  onClose: () => void;
  onDone: (t: TokenRow) => void;
  children: ReactNode;
}) {
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setReason('');
    setError(null);
  }, [token]);

  const revoke = async () => {
    if (!token) return;
    setBusy(true);
    setError(null);
    try {
      const t = await api.post<TokenRow>(
        `/api/v1/tokens/${encodeURIComponent(token.id)}/revoke`,
        reason.trim() ? { reason: reason.trim() } : {},
      );
      onDone(t ?? (token as TokenRow));
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <AppModal
      opened={!!token}
      onClose={onClose}
      title={token ? `Revoke “${token.name}”?` : `Revoke ${noun}`}
      size="md"
    >
      <Stack gap="md">
        <FormError error={error} />
        {children}
        <Textarea
          label="Reason (optional)"
          description="Recorded in the audit trail."
          value={reason}
          maxLength={500}
          onChange={(e) => setReason(e.currentTarget.value)}
          autosize
          minRows={2}
        />
        <Group justify="flex-end" gap="sm">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button color="red" loading={busy} onClick={() => void revoke()}>
            Revoke {noun}
          </Button>
        </Group>
      </Stack>
    </AppModal>
  );
}
