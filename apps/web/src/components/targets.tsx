import { useState } from 'react';
import {
  Badge,
  Button,
  Checkbox,
  Group,
  Fieldset,
  NativeSelect,
  NumberInput,
  Stack,
  Text,
  Textarea,
  TextInput,
  Tooltip,
} from '@mantine/core';
import { SecretInput } from './ui';
import { formatDateTime, formatRelative } from '../format';

/** A connector type as GET /api/v1/connectors describes it. */
export interface ConnectorType {
  type: string;
  title: string;
  description: string;
  capabilities: string[];
  secretFields: string[];
  configSchema: JsonSchema;
}

export interface LastTest {
  ok: boolean;
  at: string;
  code: string | null;
  message: string | null;
}

export interface TargetView {
  id: string;
  name: string;
  connector: string;
  config: Record<string, unknown>;
  secrets: Record<string, 'set' | 'not set'>;
  enabled: boolean;
  lastTest: LastTest | null;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

export interface TaskView {
  id: string;
  target: string;
  targetId: string;
  operation: string;
  objectClass: string;
  objectId: string;
  objectName: string | null;
  summary: string;
  details: { steps?: string[] } & Record<string, unknown>;
  status: 'open' | 'done' | 'cancelled';
  note: string | null;
  completedBy: string | null;
  completedAt: string | null;
  createdAt: string;
}

/** The part of JSON Schema that zod's toJSONSchema produces for connector configurations. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
}

/** "bindDn" → "Bind DN", "timeoutMs" → "Timeout (ms)". */
export function humanize(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_-]+/)
    .filter(Boolean);
  const special: Record<string, string> = {
    dn: 'DN',
    url: 'URL',
    id: 'ID',
    tls: 'TLS',
    ca: 'CA',
    ou: 'OU',
    sql: 'SQL',
    scim: 'SCIM',
    uid: 'UID',
  };
  let ms = false;
  const out = words
    .filter((w) => {
      if (w.toLowerCase() === 'ms') ms = true;
      return w.toLowerCase() !== 'ms';
    })
    .map(
      (w, i) => special[w.toLowerCase()] ?? (i === 0 ? w[0]!.toUpperCase() + w.slice(1) : w.toLowerCase()),
    );
  return out.join(' ') + (ms ? ' (ms)' : '');
}

/** A field whose text is kept as typed until the form is sent (JSON, one-per-line lists). */
class RawText {
  readonly text: string;
  readonly kind: 'json' | 'lines';
  constructor(text: string, kind: 'json' | 'lines') {
    this.text = text;
    this.kind = kind;
  }
}

export type ConfigValue = Record<string, unknown>;

/**
 * The configuration to send: empty fields left out (the connector's defaults apply), lists split into lines, JSON
 * parsed. Text that is not JSON is reported by field path.
 */
export function buildConfig(value: ConfigValue): { config: ConfigValue; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const walk = (v: unknown, path: string): unknown => {
    if (v instanceof RawText) {
      if (v.kind === 'lines') {
        const lines = v.text
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean);
        return lines.length ? lines : undefined;
      }
      if (!v.text.trim()) return undefined;
      try {
        return JSON.parse(v.text) as unknown;
      } catch (e) {
        errors[path] = `Not valid JSON: ${(e as Error).message}`;
        return undefined;
      }
    }
    if (v === '' || v === undefined || v === null) return undefined;
    if (typeof v === 'object' && !Array.isArray(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        const w = walk(x, path ? `${path}.${k}` : k);
        if (w !== undefined) out[k] = w;
      }
      return Object.keys(out).length || !path ? out : undefined;
    }
    return v;
  };
  return { config: (walk(value, '') as ConfigValue) ?? {}, errors };
}

/** The field problems of a failed request, keyed by configuration path ("config.accounts.id" → "accounts.id"). */
export function configErrors(
  problems: { field: string; message: string }[] | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of problems ?? []) {
    const m = /^(?:body\.)?config\.(.+)$/.exec(p.field);
    if (m && !out[m[1]!]) out[m[1]!] = p.message;
  }
  return out;
}

interface FieldProps {
  name: string;
  path: string;
  schema: JsonSchema;
  required: boolean;
  /** Inside a credential (a connector's secret field). */
  secret: boolean;
  value: unknown;
  onChange: (v: unknown) => void;
  errors: Record<string, string>;
  disabled?: boolean;
}

const typeOf = (s: JsonSchema) => (Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type);
const defaultText = (s: JsonSchema) =>
  s.default === undefined || typeof s.default === 'object' ? undefined : `${String(s.default)} (default)`;

/** The property every variant fixes with `const` (e.g. auth.type), if there is one. */
function discriminatorOf(variants: JsonSchema[]): string | undefined {
  const first = variants[0]?.properties ?? {};
  return Object.keys(first).find((k) => variants.every((v) => v.properties?.[k]?.const !== undefined));
}

/** Errors at or below a path (for fields edited as JSON). */
function errorsUnder(errors: Record<string, string>, path: string): string | undefined {
  const hits = Object.entries(errors).filter(([k]) => k === path || k.startsWith(`${path}.`));
  return hits.length
    ? hits.map(([k, m]) => (k === path ? m : `${k.slice(path.length + 1)}: ${m}`)).join('; ')
    : undefined;
}

function JsonField(p: FieldProps & { label: string; hint: string }) {
  const text =
    p.value instanceof RawText ? p.value.text : p.value === undefined ? '' : JSON.stringify(p.value, null, 2);
  return (
    <Textarea
      label={p.label}
      description={[p.schema.description, p.hint].filter(Boolean).join(' ')}
      required={p.required}
      autosize
      minRows={2}
      maxRows={12}
      className="mono"
      value={text}
      onChange={(e) => p.onChange(new RawText(e.currentTarget.value, 'json'))}
      error={errorsUnder(p.errors, p.path)}
      disabled={p.disabled}
    />
  );
}

/** One configuration setting, from its JSON Schema: text, password, number, switch, choice, group or JSON. */
export function ConfigField(p: FieldProps) {
  const label = humanize(p.name);
  const error = p.errors[p.path];
  const variants = (p.schema.oneOf ?? p.schema.anyOf)?.filter((v) => v.type !== 'null');
  if (variants && variants.length === 1)
    return (
      <ConfigField
        {...p}
        schema={{
          ...variants[0],
          description: p.schema.description ?? variants[0]!.description,
          default: p.schema.default,
        }}
      />
    );
  if (variants && variants.length > 1) {
    const key = discriminatorOf(variants);
    if (!key) return <JsonField {...p} label={label} hint="Enter it as JSON." />;
    const current = (p.value ?? {}) as Record<string, unknown>;
    const chosen = variants.find((v) => v.properties![key]!.const === current[key]);
    return (
      <SettingGroup label={label} description={p.schema.description}>
        <NativeSelect
          label={humanize(key)}
          required={p.required}
          value={typeof current[key] === 'string' ? (current[key] as string) : ''}
          onChange={(e) => p.onChange(e.currentTarget.value ? { [key]: e.currentTarget.value } : undefined)}
          data={[
            { value: '', label: 'Choose…' },
            ...variants.map((v) => ({
              value: String(v.properties![key]!.const),
              label: String(v.properties![key]!.const),
            })),
          ]}
          error={p.errors[`${p.path}.${key}`] ?? error}
          disabled={p.disabled}
        />
        {chosen ? (
          <ObjectFields
            {...p}
            schema={{ ...chosen, properties: omit(chosen.properties ?? {}, key) }}
            value={current}
          />
        ) : null}
      </SettingGroup>
    );
  }
  if (p.schema.enum) {
    const options = p.schema.enum.map(String);
    return (
      <NativeSelect
        label={label}
        description={p.schema.description}
        required={p.required}
        value={typeof p.value === 'string' ? p.value : ''}
        onChange={(e) => p.onChange(e.currentTarget.value || undefined)}
        data={[
          {
            value: '',
            label: p.schema.default !== undefined ? `${String(p.schema.default)} (default)` : 'Choose…',
          },
          ...options.map((o) => ({ value: o, label: o })),
        ]}
        error={error}
        disabled={p.disabled}
      />
    );
  }
  switch (typeOf(p.schema)) {
    case 'string': {
      const masked =
        p.secret && (p.path.indexOf('.') < 0 || /pass|token|secret|key|credential/i.test(p.name));
      const common = {
        label,
        description: p.schema.description,
        required: p.required,
        error,
        disabled: p.disabled,
        placeholder: defaultText(p.schema),
        autoComplete: 'off',
      };
      if (masked)
        return (
          <SecretInput
            {...common}
            // Mantine's PasswordInput marks its input data-invalid only; assistive technology needs aria-invalid.
            aria-invalid={error ? true : undefined}
            autoComplete="new-password"
            value={typeof p.value === 'string' ? p.value : ''}
            onChange={(e) => p.onChange(e.currentTarget.value)}
          />
        );
      if ((p.schema.maxLength ?? 0) > 300 || /\bPEM\b/.test(p.schema.description ?? ''))
        return (
          <Textarea
            {...common}
            autosize
            minRows={2}
            maxRows={10}
            value={typeof p.value === 'string' ? p.value : ''}
            onChange={(e) => p.onChange(e.currentTarget.value)}
          />
        );
      return (
        <TextInput
          {...common}
          value={typeof p.value === 'string' ? p.value : ''}
          onChange={(e) => p.onChange(e.currentTarget.value)}
        />
      );
    }
    case 'integer':
    case 'number':
      return (
        <NumberInput
          label={label}
          description={p.schema.description}
          required={p.required}
          placeholder={defaultText(p.schema)}
          min={p.schema.minimum}
          max={p.schema.maximum}
          allowDecimal={typeOf(p.schema) === 'number'}
          value={typeof p.value === 'number' ? p.value : ''}
          onChange={(v) => p.onChange(typeof v === 'number' ? v : undefined)}
          error={error}
          disabled={p.disabled}
        />
      );
    case 'boolean':
      return (
        <Checkbox
          label={label}
          description={p.schema.description}
          checked={typeof p.value === 'boolean' ? p.value : p.schema.default === true}
          onChange={(e) => p.onChange(e.currentTarget.checked)}
          error={error}
          disabled={p.disabled}
        />
      );
    case 'object':
      if (p.schema.properties && Object.keys(p.schema.properties).length)
        return p.required ? (
          <SettingGroup label={label} description={p.schema.description} error={error}>
            <ObjectFields {...p} value={(p.value ?? {}) as Record<string, unknown>} />
          </SettingGroup>
        ) : (
          <OptionalGroup {...p} label={label} error={error} />
        );
      return <JsonField {...p} label={label} hint='Enter it as a JSON object, e.g. {"key": "value"}.' />;
    case 'array':
      if (p.schema.items && typeOf(p.schema.items) === 'string' && !p.schema.items.enum) {
        const text =
          p.value instanceof RawText
            ? p.value.text
            : Array.isArray(p.value)
              ? (p.value as string[]).join('\n')
              : '';
        return (
          <Textarea
            label={label}
            description={[p.schema.description, 'One per line.'].filter(Boolean).join(' ')}
            required={p.required}
            autosize
            minRows={2}
            value={text}
            onChange={(e) => p.onChange(new RawText(e.currentTarget.value, 'lines'))}
            error={errorsUnder(p.errors, p.path)}
            disabled={p.disabled}
          />
        );
      }
      return <JsonField {...p} label={label} hint="Enter it as a JSON list; leave empty for the default." />;
    default:
      return <JsonField {...p} label={label} hint="Enter it as JSON." />;
  }
}

/** A group of settings (a nested object, or the variant of a choice) as a fieldset with its legend. */
function SettingGroup({
  label,
  description,
  error,
  children,
}: {
  label: string;
  description?: string;
  error?: string;
  children: React.ReactNode;
}) {
  return (
    <Fieldset legend={label} variant="filled">
      <Stack gap="sm">
        {description ? (
          <Text size="xs" c="dimmed">
            {description}
          </Text>
        ) : null}
        {error ? (
          <Text size="xs" c="red" role="alert">
            {error}
          </Text>
        ) : null}
        {children}
      </Stack>
    </Fieldset>
  );
}

/**
 * Settings that may be left out as a whole (groups of an application without them, TLS details with good
 * defaults): a checkbox opens them, so the form shows what most targets need and no "required" marks of a group
 * that is not.
 */
function OptionalGroup(p: FieldProps & { label: string; error?: string }) {
  const [open, setOpen] = useState(p.value !== undefined);
  return (
    <Stack gap="xs">
      <Checkbox
        label={`${p.label} (optional)`}
        description={p.schema.description}
        checked={open}
        onChange={(e) => {
          const on = e.currentTarget.checked;
          setOpen(on);
          if (!on) p.onChange(undefined);
        }}
        disabled={p.disabled}
      />
      {open ? (
        <SettingGroup label={p.label} error={p.error}>
          <ObjectFields {...p} value={(p.value ?? {}) as Record<string, unknown>} />
        </SettingGroup>
      ) : null}
    </Stack>
  );
}

function omit(o: Record<string, JsonSchema>, key: string): Record<string, JsonSchema> {
  const { [key]: _drop, ...rest } = o;
  return rest;
}

function ObjectFields(p: FieldProps & { value: Record<string, unknown> }) {
  const required = new Set(p.schema.required ?? []);
  return (
    <>
      {Object.entries(p.schema.properties ?? {}).map(([k, s]) => (
        <ConfigField
          key={k}
          name={k}
          path={p.path ? `${p.path}.${k}` : k}
          schema={s}
          required={required.has(k)}
          secret={p.secret}
          value={p.value[k]}
          onChange={(v) => p.onChange({ ...p.value, [k]: v })}
          errors={p.errors}
          disabled={p.disabled}
        />
      ))}
    </>
  );
}

/** Every setting of a connector type, credentials as password fields. */
export function ConfigForm({
  connector,
  value,
  onChange,
  errors,
  disabled,
  stored,
}: {
  connector: ConnectorType;
  value: ConfigValue;
  onChange: (v: ConfigValue) => void;
  errors: Record<string, string>;
  disabled?: boolean;
  /** When changing a target: which credentials are stored (kept unless replaced; never shown). */
  stored?: Record<string, 'set' | 'not set'>;
}) {
  const required = new Set(connector.configSchema.required ?? []);
  const [replacing, setReplacing] = useState<ReadonlySet<string>>(new Set());
  return (
    <Stack gap="sm">
      {Object.entries(connector.configSchema.properties ?? {}).map(([k, s]) => {
        const field = (
          <ConfigField
            key={k}
            name={k}
            path={k}
            schema={s}
            required={required.has(k) && stored?.[k] !== 'set'}
            secret={connector.secretFields.includes(k)}
            value={value[k]}
            onChange={(v) => onChange({ ...value, [k]: v })}
            errors={errors}
            disabled={disabled}
          />
        );
        if (stored?.[k] !== 'set' || replacing.has(k)) return field;
        return (
          <Group key={k} gap="sm" justify="space-between" wrap="nowrap">
            <div>
              <Text size="sm" fw={500}>
                {humanize(k)}
              </Text>
              <Text size="xs" c="dimmed">
                Stored encrypted; kept unless you replace it.
              </Text>
              {errors[k] ? (
                <Text size="xs" c="red" role="alert">
                  {errors[k]}
                </Text>
              ) : null}
            </div>
            <Button
              size="xs"
              variant="default"
              onClick={() => setReplacing(new Set([...replacing, k]))}
              aria-label={`Replace ${humanize(k)}`}
              disabled={disabled}
            >
              Replace
            </Button>
          </Group>
        );
      })}
    </Stack>
  );
}

/**
 * What a failed connection test means, for someone who does not run the system: the likely cause and what to check.
 * The connector's own sentence and the target's message are shown next to it.
 */
export function explainTestFailure(code: string, target: string): string {
  switch (code) {
    case 'unreachable':
      return `Gatehouse could not reach “${target}”. Check the address and port in its settings, that the system is running, and that a firewall does not block the Gatehouse server.`;
    case 'timeout':
      return `“${target}” did not answer in time. It may be overloaded or behind a firewall that drops the connection.`;
    case 'auth_failed':
      return `“${target}” refused Gatehouse's sign-in. Check the user name and the password or token in its settings; the password may have expired.`;
    case 'permission_denied':
      return `Gatehouse signed in to “${target}”, but its account is not allowed to do what Gatehouse needs. Ask the system's administrator to grant it.`;
    case 'invalid_config':
      return `The settings of “${target}” are incomplete or no longer valid. Open them and correct the field named below.`;
    case 'rate_limited':
      return `“${target}” asked Gatehouse to slow down. Try again in a minute.`;
    case 'schema_violation':
      return `“${target}” was reached, but it is not set up the way its settings describe (a table, container or attribute is missing).`;
    default:
      return `“${target}” reported a problem.`;
  }
}

export function LastTestBadge({ test }: { test: LastTest | null }) {
  if (!test)
    return (
      <Badge color="gray" variant="light">
        Never tested
      </Badge>
    );
  const when = `${test.ok ? 'Worked' : 'Failed'} ${formatRelative(test.at)} (${formatDateTime(test.at)})`;
  return (
    <Tooltip label={test.ok ? when : `${when}: ${test.message ?? test.code}`} multiline maw={360} withArrow>
      <Badge
        color={test.ok ? 'teal' : 'red'}
        variant="light"
        tabIndex={0}
        aria-label={test.ok ? when : `${when}: ${test.message ?? test.code}`}
      >
        {test.ok ? 'Connected' : 'Failed'}
      </Badge>
    </Tooltip>
  );
}
