import { useEffect, useRef, useState, type ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { Alert, Button, Group, List, Paper, Stack, Text, Title } from '@mantine/core';
import { IconArrowLeft, IconCircleCheck, IconHandStop, IconInfoCircle } from '@tabler/icons-react';
import { api, ApiError, describe } from '../api';
import { useSession } from '../session';
import {
  ErrorState,
  LoadingRows,
  NoAccess,
  notifyError,
  notifySuccess,
  Page,
  useApiData,
  FormError,
} from '../components/ui';
import { AppModal } from '../components/modal';
import { ImportErrorsTable, ImportEventsTable, ImportFigures, ImportStateBadge } from '../components/hr';
import {
  actorDisplay,
  eventCount,
  type ApplyResult,
  type ImportReport,
  type ImportView,
  type RowError,
} from '../components/people';
import { formatDateTime, formatNumber, formatRelative } from '../format';

interface ImportDetail {
  import: ImportView;
  errors: RowError[];
}

export default function HrImportPage() {
  const { can } = useSession();
  if (!can('hr:read'))
    return (
      <Page title="HR import">
        <NoAccess what="HR imports" />
      </Page>
    );
  return <HrImport />;
}

function HrImport() {
  const { id = '' } = useParams();
  const detail = useApiData(
    (signal) => api.get<ImportDetail>(`/api/v1/hr/imports/${encodeURIComponent(id)}`, undefined, signal),
    id,
  );
  if (detail.error instanceof ApiError && (detail.error.status === 404 || detail.error.status === 400))
    return (
      <Page title="This import does not exist">
        <Text>There is no HR import at this address. The link may be old or mistyped.</Text>
        <div>
          <BackButton />
        </div>
      </Page>
    );
  if (detail.error)
    return (
      <Page title="HR import">
        <ErrorState error={detail.error} what="this import" onRetry={detail.reload} />
      </Page>
    );
  if (!detail.data || detail.data.import.id !== id)
    return <LoadingRows label="Loading the import…" rows={6} />;
  return <ImportReview key={id} detail={detail.data} reload={detail.reload} />;
}

function BackButton() {
  return (
    <Button
      component={Link}
      to="/hr/imports"
      variant="default"
      leftSection={<IconArrowLeft size={16} aria-hidden />}
    >
      All HR imports
    </Button>
  );
}

function Section({ title, id, children }: { title: string; id: string; children: ReactNode }) {
  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby={id}>
      <Title order={2} size="h4" id={id} mb="sm">
        {title}
      </Title>
      {children}
    </Paper>
  );
}

function appliedText(a: ApplyResult): string {
  const people = (n: number) => `${formatNumber(n)} ${n === 1 ? 'person' : 'people'}`;
  const parts = [
    `${people(a.created)} created`,
    `${people(a.updated)} updated`,
    `${formatNumber(a.events)} event${a.events === 1 ? '' : 's'}${a.scheduled ? ` (${formatNumber(a.scheduled)} scheduled for later)` : ''}`,
  ];
  return `${parts.join(', ')}.`;
}

function ImportReview({ detail, reload }: { detail: ImportDetail; reload: () => void }) {
  const { can } = useSession();
  const imp = detail.import;
  const s = imp.summary ?? {};
  const canWrite = can('hr:write');
  const pending = imp.state === 'previewed' || imp.state === 'held';
  const heldReasons = s.heldReasons?.length
    ? s.heldReasons
    : imp.heldReason
      ? imp.heldReason.split('\n').filter(Boolean)
      : [];
  const held = heldReasons.length > 0;
  const counts = s.counts ?? {};
  const events = s.events ?? [];
  const errorTotal = s.errors ?? detail.errors.length;
  const name = imp.fileName ?? 'an HR file';

  const [busy, setBusy] = useState<'apply' | 'reject' | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [result, setResult] = useState<ImportReport | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const outcome = useRef<HTMLDivElement>(null);

  // After a decision, take keyboard and screen-reader users to its outcome.
  useEffect(() => {
    if (result) outcome.current?.focus();
  }, [result, imp.state]);

  const decide = async (decision: 'apply' | 'reject') => {
    setBusy(decision);
    setActionError(null);
    try {
      const r = await api.post<ImportReport>(
        `/api/v1/hr/imports/${encodeURIComponent(imp.id)}/${decision}`,
        decision === 'apply' ? { approve: held } : {},
      );
      setConfirming(false);
      setResult(r);
      if (decision === 'reject') notifySuccess('Import discarded. Nothing was changed.');
      reload();
    } catch (e) {
      if (confirming) setActionError(describe(e));
      else
        notifyError(e, decision === 'apply' ? 'The import was not applied' : 'The import was not discarded');
      // Someone else may have decided it meanwhile: show its state as it is now.
      if (e instanceof ApiError && e.status === 409) reload();
    } finally {
      setBusy(null);
    }
  };

  const applied = imp.state === 'applied' ? (s.applied ?? result?.applied ?? null) : null;
  const leavers = counts.leaver ?? 0;
  const nothingToApply = (s.valid ?? 0) === 0 && (s.rows ?? imp.rows) > 0;

  return (
    <Page
      title={`HR import: ${name}`}
      description={
        <Group gap="xs" component="span" wrap="wrap">
          <ImportStateBadge state={imp.state} />
          <Text span size="sm" c="dimmed">
            Source <strong>{imp.source}</strong> · uploaded by {actorDisplay(imp.createdBy)}{' '}
            <time dateTime={imp.createdAt} title={formatDateTime(imp.createdAt)}>
              {formatRelative(imp.createdAt)}
            </time>
            {imp.decidedBy && !pending
              ? ` · ${imp.state === 'applied' ? 'applied' : 'decided'} by ${actorDisplay(imp.decidedBy)}`
              : ''}
          </Text>
        </Group>
      }
      actions={<BackButton />}
    >
      <div ref={outcome} tabIndex={-1} className="outcome">
        {applied ? (
          <Alert
            color="teal"
            variant="light"
            icon={<IconCircleCheck aria-hidden />}
            title="Import applied"
            role="status"
            data-testid="import-applied"
          >
            <Stack gap="xs" align="flex-start">
              <Text size="sm">{appliedText(applied)}</Text>
              {applied.duplicatesFlagged > 0 ? (
                <Text size="sm">
                  {formatNumber(applied.duplicatesFlagged)} possible duplicate
                  {applied.duplicatesFlagged === 1 ? '' : 's'} found.
                </Text>
              ) : null}
              <Group gap="sm">
                <Button component={Link} to="/people" size="xs">
                  Go to People
                </Button>
                {applied.duplicatesFlagged > 0 ? (
                  <Button component={Link} to="/people/duplicates" size="xs" variant="default">
                    Review possible duplicates
                  </Button>
                ) : null}
              </Group>
            </Stack>
          </Alert>
        ) : imp.state === 'rejected' ? (
          <Alert
            color="gray"
            variant="light"
            icon={<IconInfoCircle aria-hidden />}
            title="Discarded"
            role="status"
          >
            Nothing from this file was applied.
          </Alert>
        ) : null}
      </div>

      {held && pending ? (
        <Alert
          color="orange"
          variant="filled"
          icon={<IconHandStop aria-hidden />}
          title={
            imp.state === 'held'
              ? 'Held: Gatehouse did not apply this import'
              : 'Check this file: Gatehouse would hold it for approval'
          }
          role="alert"
          data-testid="held-warning"
        >
          <List size="sm" spacing={4} c="white">
            {heldReasons.map((r) => (
              <List.Item key={r}>{r}</List.Item>
            ))}
          </List>
        </Alert>
      ) : held && imp.state === 'applied' ? (
        <Alert
          color="orange"
          variant="light"
          icon={<IconHandStop aria-hidden />}
          title="Applied despite the brake"
        >
          This file was approved and applied although Gatehouse held it: {heldReasons.join(' ')}
        </Alert>
      ) : null}

      <Section title={pending ? 'What this file would change' : 'What this file changed'} id="import-summary">
        <ImportFigures
          rows={s.rows ?? imp.rows}
          valid={s.valid ?? 0}
          unchanged={s.unchanged ?? 0}
          errors={errorTotal}
          counts={counts}
        />
      </Section>

      {pending && canWrite ? (
        <Paper withBorder p="md" radius="md" component="section" aria-label="Decision">
          <Stack gap="sm">
            <Text size="sm">
              {nothingToApply
                ? 'Nothing to apply: no row of this file could be used. Fix the file and upload it again.'
                : held
                  ? 'Applying this file overrides the brake. Check the events below first.'
                  : 'Nothing has changed yet. Apply the import to create and update these people, or discard it.'}
            </Text>
            <Group gap="sm">
              <Button
                color={held ? 'orange' : undefined}
                loading={busy === 'apply'}
                disabled={busy !== null || nothingToApply}
                onClick={() => (held ? setConfirming(true) : void decide('apply'))}
              >
                {held ? 'Approve and apply' : 'Apply import'}
              </Button>
              <Button
                variant="default"
                loading={busy === 'reject'}
                disabled={busy !== null}
                onClick={() => void decide('reject')}
              >
                Discard
              </Button>
              {busy === 'apply' ? (
                <Text size="sm" c="dimmed" role="status">
                  Applying… large files take a few seconds.
                </Text>
              ) : null}
            </Group>
          </Stack>
        </Paper>
      ) : null}

      <Section title={`Events (${formatNumber(events.length)})`} id="import-events">
        <ImportEventsTable
          events={events}
          hidePersonal={!can('people:personal')}
          truncated={s.eventsTruncated === true}
        />
      </Section>

      {errorTotal > 0 ? (
        <Section title={`Rows with errors (${formatNumber(errorTotal)})`} id="import-errors">
          <ImportErrorsTable
            errors={detail.errors}
            total={errorTotal}
            csvHref={`/api/v1/hr/imports/${encodeURIComponent(imp.id)}/errors.csv`}
          />
        </Section>
      ) : null}

      <AppModal
        opened={confirming}
        onClose={() => {
          if (busy === null) setConfirming(false);
        }}
        title="Approve this held import?"
        size="md"
      >
        <Stack gap="md">
          <FormError error={actionError} />
          <Text size="sm">
            Gatehouse has a brake: it holds a file that would terminate or remove an unusually large share of
            people, because that is what a truncated or wrong export looks like. This file was held because:
          </Text>
          <List size="sm" spacing={4}>
            {heldReasons.map((r) => (
              <List.Item key={r}>{r}</List.Item>
            ))}
          </List>
          <Text size="sm">
            Approve only if you have checked that these changes are intended
            {leavers > 0
              ? `: ${eventCount('leaver', leavers)} will lose access as their termination takes effect`
              : ''}
            . The file is compared with the people as they are now, and your approval is recorded in the audit
            trail.
          </Text>
          <Group justify="flex-end" gap="sm">
            <Button variant="default" onClick={() => setConfirming(false)} disabled={busy !== null}>
              Cancel
            </Button>
            <Button
              color="orange"
              loading={busy === 'apply'}
              onClick={() => void decide('apply')}
              data-autofocus
            >
              Approve and apply
            </Button>
          </Group>
        </Stack>
      </AppModal>
    </Page>
  );
}
