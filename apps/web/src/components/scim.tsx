import { Link } from 'react-router';
import { Alert, Anchor, Badge, Code, Group, List, Stack, Tabs, Text } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import { ApiError, type TokenRow } from '../api';
import { CopyButton } from './ui';

/**
 * What the console knows about SCIM clients: an API token with a `scim:write` (or read-only `scim:read`) scope and
 * SCIM settings (the HR source the people it pushes belong to, and the compatibility profile). Shared by the SCIM
 * page and the API tokens page.
 */

export type ScimProfile = 'strict' | 'lenient';

export interface ScimSettings {
  source: string;
  profile: ScimProfile;
}

/** A token as the server lists it, with its SCIM settings (null for tokens that are not SCIM clients). */
export interface ScimTokenRow extends TokenRow {
  scim?: ScimSettings | null;
}

/** `*` as a SCIM client's source: it reads every source and cannot write. */
export const ALL_SOURCES = '*';
export const DEFAULT_SOURCE = 'scim';
/** HR source names, as the server checks them. */
export const SOURCE_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export const PROFILE_LABELS: Record<ScimProfile, string> = { strict: 'Strict', lenient: 'Lenient' };
export const PROFILE_HELP: Record<ScimProfile, string> = {
  strict: 'Follows the SCIM standard (RFC 7644) exactly. For HR systems and your own scripts.',
  lenient:
    'Accepts how Entra ID and Okta really talk: "True" as text, "Replace", unknown attributes ignored.',
};

export const EXPIRY_OPTIONS = [
  { value: '', label: 'Never' },
  { value: '90d', label: '90 days' },
  { value: '180d', label: '180 days' },
  { value: '365d', label: '1 year' },
];

export const STATUS_COLORS: Record<TokenRow['status'], string> = {
  active: 'teal',
  expired: 'gray',
  revoked: 'red',
};
export const STATUS_LABELS: Record<TokenRow['status'], string> = {
  active: 'Active',
  expired: 'Expired',
  revoked: 'Revoked',
};

export type ScimAccess = 'write' | 'read';

/** `scim:write` includes reading. */
export function accessOf(t: Pick<TokenRow, 'scopes'>): ScimAccess {
  return t.scopes.includes('scim:write') ? 'write' : 'read';
}

export const ACCESS_LABELS: Record<ScimAccess, string> = { write: 'Read and write', read: 'Read only' };

/** Where SCIM clients connect: this console's own origin. */
export function scimBaseUrl(): string {
  return `${window.location.origin}/scim/v2`;
}

/** The server's /ServiceProviderConfig (RFC 7643 §5), the parts the console shows. */
export interface ServiceProviderConfig {
  patch?: { supported: boolean };
  bulk?: { supported: boolean; maxOperations?: number; maxPayloadSize?: number };
  filter?: { supported: boolean; maxResults?: number };
  changePassword?: { supported: boolean };
  sort?: { supported: boolean };
  etag?: { supported: boolean };
  authenticationSchemes?: { type: string; name: string }[];
}

/** A source name suggested from what was typed: "Bad Source!" → "bad-source". */
export function suggestSource(typed: string): string | null {
  const s = typed
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .replace(/[-._]+$/, '')
    .slice(0, 63);
  return SOURCE_RE.test(s) && s !== typed ? s : null;
}

export function sourceProblem(typed: string): string {
  const suggestion = suggestSource(typed);
  return (
    `“${typed}” cannot be used as an HR source name. Use only lower-case letters, digits, “.”, “_” and “-”, ` +
    `without spaces, starting with a letter or digit` +
    (suggestion ? `, for example “${suggestion}”.` : ', for example “entra” or “workday”.')
  );
}

export type ConnectField = 'name' | 'source' | 'profile' | 'access' | 'expiresIn';

/**
 * The server's field errors for "create a token with SCIM settings", keyed by the connect form's fields and in
 * words for the person filling it in (the server's messages are written for API users).
 */
export function connectFieldErrors(
  e: unknown,
  typed: { name: string; source: string },
): Partial<Record<ConnectField, string>> {
  if (!(e instanceof ApiError)) return {};
  const out: Partial<Record<ConnectField, string>> = {};
  for (const fe of e.problem.errors ?? []) {
    const path = fe.field.replace(/^(body|querystring|query)\./, '');
    const field: ConnectField | null =
      path === 'scim' || path.startsWith('scim.source')
        ? 'source'
        : path.startsWith('scim.profile')
          ? 'profile'
          : path.startsWith('scopes')
            ? 'access'
            : path.startsWith('name')
              ? 'name'
              : path.startsWith('expiresIn')
                ? 'expiresIn'
                : null;
    if (!field || out[field]) continue;
    out[field] =
      field === 'source'
        ? path.startsWith('scim.source')
          ? sourceProblem(typed.source)
          : `The HR source could not be used: ${fe.message}.`
        : field === 'name'
          ? 'Give the client a name of 1 to 100 characters, for example “Entra ID (production)”.'
          : field === 'profile'
            ? 'Choose Strict or Lenient.'
            : field === 'access'
              ? 'Choose what the client may do.'
              : `Choose when the secret expires (${fe.message}).`;
  }
  // A bad expiry is reported as the whole request's problem, with no field.
  if (!Object.keys(out).length && e.code === 'token_expiry_invalid') out.expiresIn = e.detail;
  return out;
}

/** One line under a token's name on the API tokens page: this token is a SCIM client. */
export function ScimSettingsLine({ scim }: { scim: ScimSettings }) {
  return (
    <Group gap={6} wrap="wrap" mt={2}>
      <Badge size="xs" variant="light" color="violet" tt="none">
        SCIM client
      </Badge>
      <Text size="xs" c="dimmed">
        source{' '}
        <Code fz="xs" data-testid="scim-source">
          {scim.source === ALL_SOURCES ? '* (all sources)' : scim.source}
        </Code>{' '}
        · {PROFILE_LABELS[scim.profile]} profile ·{' '}
        <Anchor component={Link} to="/scim" size="xs">
          SCIM clients
        </Anchor>
      </Text>
    </Group>
  );
}

/** A value to type into the other system, with its copy button. */
function Copyable({ label, value, copyLabel }: { label: string; value: string; copyLabel: string }) {
  return (
    <Group gap="xs" wrap="nowrap" align="center" mt={4}>
      <Text size="sm" fw={500} style={{ whiteSpace: 'nowrap' }}>
        {label}:
      </Text>
      <Code className="mono">{value}</Code>
      <CopyButton value={value} label={copyLabel} />
    </Group>
  );
}

export type Guide = 'entra' | 'okta' | 'other';

/**
 * Step by step: where the base URL and the secret go in Entra ID, Okta and any other SCIM client. The secret itself
 * is shown (once) by the caller; the steps refer to it as "the secret token above".
 */
export function SetupGuide({
  baseUrl,
  client,
  defaultGuide,
}: {
  baseUrl: string;
  client: { scopes: string[]; scim: ScimSettings };
  defaultGuide: Guide;
}) {
  const readOnly = accessOf(client) === 'read';
  const idpWarning =
    readOnly || client.scim.profile === 'strict' ? (
      <Alert color="orange" variant="light" icon={<IconAlertTriangle aria-hidden />}>
        {readOnly
          ? 'This client is read-only: it can look people up but not provision them. To let an identity provider ' +
            'provision people, connect a client with “Read and write”.'
          : 'This client uses the Strict profile. Entra ID and Okta send some values the SCIM standard does not ' +
            'allow, and those updates would be refused: connect a client with the Lenient profile for them.'}
      </Alert>
    ) : null;
  return (
    <Tabs defaultValue={defaultGuide} keepMounted={false}>
      <Tabs.List aria-label="Set up the other system">
        <Tabs.Tab value="entra">Entra ID</Tabs.Tab>
        <Tabs.Tab value="okta">Okta</Tabs.Tab>
        <Tabs.Tab value="other">HR system or other client</Tabs.Tab>
      </Tabs.List>

      <Tabs.Panel value="entra" pt="md">
        <Stack gap="sm">
          {idpWarning}
          <List type="ordered" size="sm" spacing="xs">
            <List.Item>
              In the Microsoft Entra admin center, open <strong>Enterprise applications</strong> →{' '}
              <strong>New application</strong> → <strong>Create your own application</strong>, and choose the
              non-gallery option (“Integrate any other application you don&apos;t find in the gallery”).
            </List.Item>
            <List.Item>
              In the new application open <strong>Provisioning</strong> and set{' '}
              <strong>Provisioning Mode</strong> to <strong>Automatic</strong>.
            </List.Item>
            <List.Item>
              Under <strong>Admin Credentials</strong>:
              <Copyable label="Tenant URL" value={baseUrl} copyLabel="Copy Tenant URL" />
              <Text size="sm" mt={4}>
                <strong>Secret Token</strong>: the secret token above.
              </Text>
            </List.Item>
            <List.Item>
              Select <strong>Test Connection</strong>, then <strong>Save</strong>.
            </List.Item>
            <List.Item>
              Under <strong>Mappings</strong>, check that <Code>userName</Code> comes from{' '}
              <Code>userPrincipalName</Code> (or <Code>mail</Code>), then set{' '}
              <strong>Provisioning Status</strong> to <strong>On</strong> and save. Entra ID sends changes
              about every 40 minutes.
            </List.Item>
          </List>
        </Stack>
      </Tabs.Panel>

      <Tabs.Panel value="okta" pt="md">
        <Stack gap="sm">
          {idpWarning}
          <List type="ordered" size="sm" spacing="xs">
            <List.Item>
              In the Okta Admin Console, open your app integration, then <strong>General</strong> →{' '}
              <strong>App Settings</strong> → <strong>Edit</strong>: set <strong>Provisioning</strong> to{' '}
              <strong>SCIM</strong> and save.
            </List.Item>
            <List.Item>
              On the <strong>Provisioning</strong> tab → <strong>Integration</strong> → <strong>Edit</strong>:
              <Copyable label="SCIM connector base URL" value={baseUrl} copyLabel="Copy connector base URL" />
              <Text size="sm" mt={4}>
                <strong>Unique identifier field for users</strong>: <Code>userName</Code>
              </Text>
              <Text size="sm" mt={4}>
                <strong>Supported provisioning actions</strong>: Push New Users and Push Profile Updates (and
                Push Groups if Gatehouse should receive groups).
              </Text>
              <Text size="sm" mt={4}>
                <strong>Authentication Mode</strong>: <strong>HTTP Header</strong>, and under{' '}
                <strong>Authorization</strong> → <strong>Bearer</strong> paste the secret token above.
              </Text>
            </List.Item>
            <List.Item>
              Select <strong>Test Connector Configuration</strong>, then <strong>Save</strong>.
            </List.Item>
            <List.Item>
              Under <strong>Provisioning</strong> → <strong>To App</strong> → <strong>Edit</strong>, enable{' '}
              <strong>Create Users</strong>, <strong>Update User Attributes</strong> and{' '}
              <strong>Deactivate Users</strong>, save, and assign the people (or groups) to the app.
            </List.Item>
          </List>
        </Stack>
      </Tabs.Panel>

      <Tabs.Panel value="other" pt="md">
        <List size="sm" spacing="xs">
          <List.Item>
            <Copyable label="Base URL" value={baseUrl} copyLabel="Copy base URL" />
          </List.Item>
          <List.Item>
            Authentication: send the secret token as a bearer token in every request:{' '}
            <Code>Authorization: Bearer &lt;secret token&gt;</Code>
          </List.Item>
          <List.Item>
            People go to <Code>{`${baseUrl}/Users`}</Code>, groups to <Code>{`${baseUrl}/Groups`}</Code>,
            batches to <Code>{`${baseUrl}/Bulk`}</Code>, with <Code>Content-Type: application/scim+json</Code>
            .
          </List.Item>
          <List.Item>
            Setting <Code>active</Code> to <Code>false</Code>, or deleting a user, makes the person a leaver.
          </List.Item>
        </List>
      </Tabs.Panel>
    </Tabs>
  );
}
