import { useEffect, useRef, useState } from 'react';
import { Alert, Button, Group, Progress, Stack, Text } from '@mantine/core';
import { IconAlertOctagon, IconShieldCheck } from '@tabler/icons-react';
import { api, describe, type BrokenEvent, type Verification } from '../api';
import { formatDateTime, formatNumber } from '../format';

const POLL_MS = 500;

/**
 * "Verify chain": starts a verification on the server, polls it every 500 ms with a progress bar, and shows the
 * outcome in a live region (data-testid="verify-result").
 */
export function VerifyChain({ onShowEvent }: { onShowEvent: (e: BrokenEvent) => void }) {
  const [run, setRun] = useState<Verification | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const timer = useRef<number | undefined>(undefined);
  const alive = useRef(true);

  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
      window.clearTimeout(timer.current);
    };
  }, []);

  const poll = (id: string) => {
    timer.current = window.setTimeout(async () => {
      try {
        const v = await api.get<Verification>(`/api/v1/audit/verifications/${encodeURIComponent(id)}`);
        if (!alive.current) return;
        setRun(v);
        if (v.state === 'running') poll(id);
        else setBusy(false);
      } catch (e) {
        if (!alive.current) return;
        setError(`The verification could not be followed: ${describe(e)}`);
        setBusy(false);
      }
    }, POLL_MS);
  };

  const start = async () => {
    window.clearTimeout(timer.current);
    setBusy(true);
    setError(null);
    setRun(null);
    try {
      const { id } = await api.post<{ id: string }>('/api/v1/audit/verifications');
      if (!alive.current) return;
      setRun({
        id,
        state: 'running',
        checked: 0,
        total: 0,
        startedAt: new Date().toISOString(),
        finishedAt: null,
        result: null,
      });
      poll(id);
    } catch (e) {
      if (!alive.current) return;
      setError(describe(e));
      setBusy(false);
    }
  };

  const running = run?.state === 'running';
  const pct = run && run.total > 0 ? Math.min(100, Math.round((run.checked / run.total) * 100)) : 0;
  const broken = run?.state === 'done' ? run.result?.firstBroken : undefined;

  return (
    <Stack gap="sm">
      <Group gap="sm" wrap="wrap">
        <Button
          onClick={() => void start()}
          loading={busy && !running}
          disabled={running}
          leftSection={<IconShieldCheck size={16} aria-hidden />}
          variant="light"
        >
          Verify chain
        </Button>
        <Text size="sm" c="dimmed">
          Recomputes every event&apos;s hash to prove the audit trail has not been changed.
        </Text>
      </Group>

      {running ? (
        <Stack gap={4} maw={560}>
          <Progress.Root size="lg" aria-hidden>
            <Progress.Section value={run.total > 0 ? pct : 100} animated={run.total === 0} withAria={false} />
          </Progress.Root>
          <div
            role="progressbar"
            aria-label="Verification progress"
            aria-valuemin={0}
            aria-valuemax={run.total || 100}
            aria-valuenow={run.total ? run.checked : undefined}
            aria-valuetext={`Checked ${run.checked} of ${run.total} events`}
            data-testid="verify-progress"
          >
            <Text size="sm">
              Checking… {formatNumber(run.checked)} of {formatNumber(run.total)} events
              {run.total > 0 ? ` (${pct}%)` : ''}
            </Text>
          </div>
        </Stack>
      ) : null}

      <div data-testid="verify-result" role="status" aria-live="polite">
        {error ? (
          <Alert
            role="none"
            color="red"
            variant="light"
            icon={<IconAlertOctagon aria-hidden />}
            title="Verification failed"
          >
            {error}
          </Alert>
        ) : run?.state === 'failed' ? (
          <Alert
            role="none"
            color="red"
            variant="light"
            icon={<IconAlertOctagon aria-hidden />}
            title="Verification failed"
          >
            The verification could not finish{run.error ? `: ${run.error}` : '.'} Try again; if it keeps
            failing, run <code>gatehouse audit verify</code> on the server.
          </Alert>
        ) : run?.state === 'done' && run.result?.ok ? (
          <Alert role="none" color="teal" variant="light" icon={<IconShieldCheck aria-hidden />}>
            <Text fw={600}>Audit chain intact — {formatNumber(run.result.checked)} events verified</Text>
            {run.result.head ? (
              <Text size="xs" c="dimmed" mt={4}>
                Newest event #{run.result.head.seq}, hash{' '}
                <span className="mono">{run.result.head.hash.slice(0, 16)}…</span>
                {run.finishedAt ? ` · checked ${formatDateTime(run.finishedAt)}` : ''}
              </Text>
            ) : null}
          </Alert>
        ) : run?.state === 'done' && broken ? (
          <Alert role="none" color="red" variant="filled" icon={<IconAlertOctagon aria-hidden />}>
            <Stack gap="xs" align="flex-start">
              <Text fw={700}>
                Audit chain BROKEN at event #{broken.seq} ({broken.action},{' '}
                {formatDateTime(broken.occurredAt)}): {broken.message}
              </Text>
              <Text size="sm">
                {formatNumber(run.result?.checked ?? 0)} events before it verified. Someone or something
                changed the audit trail outside Gatehouse; keep this evidence and tell your security team.
              </Text>
              <Button size="xs" variant="white" color="red" onClick={() => onShowEvent(broken)}>
                Show event #{broken.seq}
              </Button>
            </Stack>
          </Alert>
        ) : run?.state === 'done' ? (
          <Alert role="none" color="red" variant="light" title="Audit chain BROKEN">
            The verification found a problem but did not name the event.
          </Alert>
        ) : null}
      </div>
    </Stack>
  );
}
