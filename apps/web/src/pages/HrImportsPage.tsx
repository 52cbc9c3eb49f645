import { useId, useRef, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import {
  Alert,
  Autocomplete,
  Button,
  Group,
  Input,
  NativeSelect,
  Paper,
  Progress,
  Stack,
  Table,
  Text,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { IconAlertTriangle, IconFileImport, IconHandStop, IconUpload } from '@tabler/icons-react';
import { ApiError, api, describe, upload, type UploadProgress } from '../api';
import { useListQuery } from '../listQuery';
import { useSession } from '../session';
import {
  Empty,
  ErrorState,
  LoadingRows,
  NoAccess,
  Page,
  useApiData,
  useUrlValue,
  When,
} from '../components/ui';
import { ImportStateBadge, IMPORT_STATE_LABELS } from '../components/hr';
import { actorDisplay, type HrSource, type ImportReport, type ImportView } from '../components/people';
import { formatDateTime, formatNumber, formatRelative } from '../format';

/** The server's upload limit (apps/server/routes/hr.ts); bigger files belong in the drop folder. */
const UPLOAD_LIMIT_BYTES = 256 * 1024 * 1024;
const SOURCE_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export default function HrImportsPage() {
  const { can } = useSession();
  if (!can('hr:read'))
    return (
      <Page title="HR imports">
        <NoAccess what="HR imports" />
      </Page>
    );
  return <HrImports />;
}

function HrImports() {
  const { can } = useSession();
  const { params, update } = useListQuery();
  const state = params.get('state') ?? '';
  const [stateValue, setStateValue] = useUrlValue(state);
  const query = { state: state || undefined, limit: 50 };
  const imports = useApiData(
    (signal) => api.get<{ items: ImportView[] }>('/api/v1/hr/imports', query, signal),
    JSON.stringify(query),
  );
  const held = useApiData(
    (signal) => api.get<{ items: ImportView[] }>('/api/v1/hr/imports', { state: 'held', limit: 200 }, signal),
    'held',
  );
  const heldCount = held.data?.items.length ?? 0;
  const items = imports.data?.items ?? [];

  return (
    <Page
      title="HR imports"
      description="Upload an export from your HR system, check what it would change, then apply it."
    >
      {heldCount > 0 && state !== 'held' ? (
        <Alert
          color="orange"
          variant="light"
          icon={<IconHandStop aria-hidden />}
          title={`${heldCount === 1 ? 'One import is' : `${formatNumber(heldCount)} imports are`} held for approval`}
        >
          <Group gap="sm" justify="space-between">
            <Text size="sm">
              Gatehouse stopped {heldCount === 1 ? 'it' : 'them'} because the changes looked unusually large.
              Review before anything is applied.
            </Text>
            <Button
              size="xs"
              variant="light"
              color="orange"
              onClick={() => {
                setStateValue('held');
                update({ state: 'held' });
              }}
            >
              Show held imports
            </Button>
          </Group>
        </Alert>
      ) : null}

      {can('hr:write') ? <UploadCard /> : null}

      <Stack gap="sm" component="section" aria-labelledby="recent-imports">
        <Group justify="space-between" align="flex-end" wrap="wrap">
          <Title order={2} size="h4" id="recent-imports">
            Recent imports
          </Title>
          <NativeSelect
            label="Filter by state"
            size="xs"
            value={stateValue}
            onChange={(e) => {
              setStateValue(e.currentTarget.value);
              update({ state: e.currentTarget.value });
            }}
            data={[
              { value: '', label: 'Any state' },
              ...Object.entries(IMPORT_STATE_LABELS).map(([value, label]) => ({ value, label })),
            ]}
          />
        </Group>
        {imports.error ? (
          <ErrorState error={imports.error} what="HR imports" onRetry={imports.reload} />
        ) : !imports.data ? (
          <LoadingRows label="Loading HR imports…" rows={3} />
        ) : items.length === 0 ? (
          state ? (
            <Empty title="No imports in this state.">
              <Button
                variant="light"
                onClick={() => {
                  setStateValue('');
                  update({ state: null });
                }}
              >
                Show all imports
              </Button>
            </Empty>
          ) : (
            <Empty
              title="No HR imports yet."
              description={
                can('hr:write')
                  ? 'Upload your first HR file above.'
                  : 'Files appear here once someone uploads one, or the drop folder picks one up.'
              }
              icon={<IconFileImport aria-hidden />}
            />
          )
        ) : (
          <Table.ScrollContainer minWidth={860}>
            <Table aria-label="Recent imports" aria-busy={imports.loading}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">When</Table.Th>
                  <Table.Th scope="col">Source</Table.Th>
                  <Table.Th scope="col">File</Table.Th>
                  <Table.Th scope="col">State</Table.Th>
                  <Table.Th scope="col" ta="right">
                    Rows
                  </Table.Th>
                  <Table.Th scope="col" ta="right">
                    Errors
                  </Table.Th>
                  <Table.Th scope="col">By</Table.Th>
                  <Table.Th scope="col">
                    <VisuallyHidden>Actions</VisuallyHidden>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {items.map((i) => {
                  const pending = i.state === 'held' || i.state === 'previewed';
                  const name = i.fileName ?? 'HR file';
                  return (
                    <Table.Tr key={i.id} data-import-id={i.id}>
                      <Table.Td>
                        <When at={i.createdAt} show={formatRelative} />
                      </Table.Td>
                      <Table.Td>
                        <Text size="sm">{i.source}</Text>
                        {i.origin !== 'upload' ? (
                          <Text size="xs" c="dimmed">
                            {ORIGIN_LABELS[i.origin] ?? i.origin}
                          </Text>
                        ) : null}
                      </Table.Td>
                      <Table.Td>
                        <Text size="sm" className="mono">
                          {i.fileName ?? '—'}
                        </Text>
                      </Table.Td>
                      <Table.Td>
                        <ImportStateBadge state={i.state} />
                      </Table.Td>
                      <Table.Td ta="right">{formatNumber(i.rows)}</Table.Td>
                      <Table.Td ta="right">{formatNumber(i.summary?.errors ?? 0)}</Table.Td>
                      <Table.Td>
                        <Text size="sm">{actorDisplay(i.createdBy)}</Text>
                      </Table.Td>
                      <Table.Td>
                        <Button
                          component={Link}
                          to={`/hr/imports/${encodeURIComponent(i.id)}`}
                          size="xs"
                          variant={pending && can('hr:write') ? 'light' : 'default'}
                          color={i.state === 'held' ? 'orange' : undefined}
                          aria-label={`${pending && can('hr:write') ? 'Review' : 'Open'} import of ${name} from ${formatDateTime(i.createdAt)}`}
                        >
                          {pending && can('hr:write') ? 'Review' : 'Open'}
                        </Button>
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Stack>
    </Page>
  );
}

const ORIGIN_LABELS: Record<string, string> = {
  cli: 'command line',
  upload: 'upload',
  drop_folder: 'drop folder',
  api: 'API',
};

function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/** Pick a source and a file, upload it for a preview; the preview opens on its own page. */
function UploadCard() {
  const navigate = useNavigate();
  const fileId = useId();
  const fileInput = useRef<HTMLInputElement>(null);
  const sources = useApiData(
    (signal) => api.get<{ items: HrSource[] }>('/api/v1/hr/sources', undefined, signal),
    'sources',
  );
  const [source, setSource] = useState('hr');
  const [file, setFile] = useState<File | null>(null);
  const [sourceError, setSourceError] = useState<string | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState<UploadProgress | null>(null);

  const names = (sources.data?.items ?? []).map((s) => s.name);
  const sourceName = source.trim();
  const isNew = sources.data !== undefined && sourceName !== '' && !names.includes(sourceName);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(null);
    let bad = false;
    if (!SOURCE_NAME_RE.test(sourceName)) {
      setSourceError(
        'Use lower-case letters, digits, “.”, “_” or “-” (up to 63 characters), for example “hr” or “workday”',
      );
      bad = true;
    } else setSourceError(null);
    if (!file) {
      setFileError('Choose the HR file to import (CSV)');
      bad = true;
    } else if (file.size === 0) {
      setFileError('This file is empty');
      bad = true;
    } else if (file.size > UPLOAD_LIMIT_BYTES) {
      setFileError(
        `This file is ${formatBytes(file.size)}; uploads are limited to 256 MB. Put larger files in the drop folder.`,
      );
      bad = true;
    } else setFileError(null);
    if (bad || !file) return;

    setBusy(true);
    setProgress({ loaded: 0, total: file.size });
    try {
      const report = await upload<ImportReport>('/api/v1/hr/imports', file, {
        query: { source: sourceName, fileName: file.name.slice(0, 255), mode: 'preview' },
        // Whatever the browser calls it (Windows says application/vnd.ms-excel), the body is CSV.
        contentType: 'text/csv',
        onProgress: setProgress,
      });
      if (report.importId) navigate(`/hr/imports/${encodeURIComponent(report.importId)}`);
      else setError('The server did not keep this preview. Try again.');
    } catch (err) {
      if (err instanceof ApiError && err.fieldErrors.source) setSourceError(err.fieldErrors.source);
      setError(
        err instanceof ApiError && err.code === 'hr_header_invalid'
          ? `${err.detail}. Check that the first row holds the column names.`
          : err instanceof ApiError && err.status === 413
            ? 'This file is larger than the server accepts for uploads (256 MB). Put it in the drop folder instead.'
            : describe(err),
      );
    } finally {
      setBusy(false);
      setProgress(null);
    }
  };

  const sent = progress && progress.total > 0 ? Math.min(100, (progress.loaded / progress.total) * 100) : 0;
  const uploading = busy && progress !== null && sent < 100;

  return (
    <Paper
      withBorder
      p="md"
      radius="md"
      component="form"
      onSubmit={(e: React.FormEvent) => void submit(e)}
      noValidate
      aria-labelledby="upload-title"
    >
      <Stack gap="md">
        <div>
          <Title order={2} size="h4" id="upload-title">
            Upload an HR export
          </Title>
          <Text size="sm" c="dimmed">
            A CSV export with a header row (employee_id, first_name, last_name, …). Nothing changes until you
            apply the preview.
          </Text>
        </div>
        {error ? (
          <Alert
            color="red"
            variant="light"
            icon={<IconAlertTriangle aria-hidden />}
            role="alert"
            title="The file was not imported"
          >
            {error}
          </Alert>
        ) : null}
        <Group align="flex-start" gap="md" wrap="wrap">
          <Autocomplete
            label="Source"
            description={
              isNew
                ? `“${sourceName}” is a new source: it is created with the standard columns.`
                : 'The HR system the file comes from.'
            }
            data={names}
            value={source}
            onChange={(v) => {
              setSource(v);
              setSourceError(null);
            }}
            error={sourceError}
            disabled={busy}
            w={{ base: '100%', xs: 240 }}
            autoComplete="off"
          />
          <Input.Wrapper
            label="HR file"
            description={file ? `${file.name} · ${formatBytes(file.size)}` : 'CSV, up to 256 MB'}
            error={fileError}
            id={fileId}
            w={{ base: '100%', xs: 340 }}
          >
            <input
              ref={fileInput}
              id={fileId}
              className="file-input"
              type="file"
              accept=".csv,.txt,text/csv"
              disabled={busy}
              aria-invalid={fileError ? true : undefined}
              aria-describedby={fileError ? `${fileId}-error` : `${fileId}-description`}
              onChange={(e) => {
                setFile(e.currentTarget.files?.[0] ?? null);
                setFileError(null);
                setError(null);
              }}
            />
          </Input.Wrapper>
        </Group>
        <Group gap="md" align="center">
          <Button type="submit" loading={busy} leftSection={<IconUpload size={16} aria-hidden />}>
            Preview
          </Button>
          {busy ? (
            <Stack gap={4} style={{ flex: 1, minWidth: 220 }} role="status" aria-live="polite">
              <Text size="sm">
                {uploading && progress
                  ? `Uploading… ${formatBytes(progress.loaded)} of ${formatBytes(progress.total)}`
                  : 'Checking the file and working out the changes… Large files take a few seconds.'}
              </Text>
              <Progress
                value={uploading ? sent : 100}
                animated={!uploading}
                striped={!uploading}
                aria-label="Upload progress"
              />
            </Stack>
          ) : null}
        </Group>
        {sources.error ? (
          <Text size="xs" c="dimmed">
            The list of sources could not be loaded; type the source name.
          </Text>
        ) : null}
      </Stack>
    </Paper>
  );
}
