import { resolve } from 'node:path';
import { z } from 'zod';
import { GatehouseError, type FieldProblem } from '../kit/errors.ts';

/**
 * The one reader of the environment. Every setting is declared here with its documentation (docs/CONFIGURATION.md
 * is checked against this table by a test), validated together, and every problem is reported at once.
 */
export interface SettingDoc {
  env: string;
  description: string;
  default?: string;
  secret?: boolean;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, { message: 'expected a whole number' })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, { message: `must be at least ${min}` })
        .max(max, { message: `must be at most ${max}` }),
    );

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((s) => ['true', 'false', '1', '0', 'yes', 'no'].includes(s), { message: 'expected true or false' })
  .transform((s) => ['true', '1', 'yes'].includes(s));

/** A URL whose protocol is one of `protocols` and that has a host. */
const urlOf = (protocols: string[], example: string) =>
  z
    .string()
    .trim()
    .refine(
      (s) => {
        try {
          const u = new URL(s);
          return protocols.includes(u.protocol) && u.hostname !== '';
        } catch {
          return false;
        }
      },
      { message: `expected a URL like ${example}` },
    );

const postgresUrl = urlOf(['postgres:', 'postgresql:'], 'postgres://user:password@host:5432/database');
const httpUrl = urlOf(['http:', 'https:'], 'https://gatehouse.example.com (an http(s) URL)');

/** GATEHOUSE_REQUIRE_TLS: which plain-HTTP requests are refused (apps/server/tls.ts). */
export const REQUIRE_TLS = ['external', 'all', 'none'] as const;

/** name → [zod schema for the raw string, documentation]. Order here is the order in the docs. */
const SETTINGS = {
  port: [int(1, 65535), { env: 'PORT', description: 'TCP port of the HTTP server.', default: '8080' }],
  host: [
    z.string().trim().min(1),
    {
      env: 'HOST',
      description: 'Address the HTTP server binds to. Use 0.0.0.0 to accept remote connections.',
      default: '127.0.0.1',
    },
  ],
  databaseUrl: [
    postgresUrl,
    {
      env: 'DATABASE_URL',
      description:
        'PostgreSQL (>= 15) to use. When unset, Gatehouse starts and supervises its own embedded PostgreSQL in the data directory.',
      secret: true,
    },
  ],
  dataDir: [
    z.string().trim().min(1),
    {
      env: 'GATEHOUSE_DATA_DIR',
      description: 'Data directory: the embedded PostgreSQL cluster, its lock and its secrets.',
      default: './data',
    },
  ],
  embeddedPgPort: [
    int(0, 65535),
    {
      env: 'GATEHOUSE_EMBEDDED_PG_PORT',
      description: 'Port for the embedded PostgreSQL on 127.0.0.1; 0 picks a free port at each start.',
      default: '0',
    },
  ],
  dbPoolMax: [
    int(1, 500),
    {
      env: 'GATEHOUSE_DB_POOL_MAX',
      description: 'Maximum connections in the database pool of one process.',
      default: '10',
    },
  ],
  dbPipelinedReads: [
    int(0, 16),
    {
      env: 'GATEHOUSE_DB_PIPELINED_READS',
      description:
        'Connections that carry short reads (SCIM reads) pipelined: many statements at once on each; 0 sends them through the pool, one at a time per connection.',
      default: '2',
    },
  ],
  dbConnectTimeoutMs: [
    int(100, 600_000),
    {
      env: 'GATEHOUSE_DB_CONNECT_TIMEOUT_MS',
      description: 'How long to keep trying to reach the database at start-up before giving up.',
      default: '10000',
    },
  ],
  logLevel: [
    z.enum(LOG_LEVELS, { message: `expected one of ${LOG_LEVELS.join(', ')}` }),
    {
      env: 'GATEHOUSE_LOG_LEVEL',
      description:
        'Log level (fatal, error, warn, info, debug, trace, silent). Logs are JSON lines on stderr.',
      default: 'info',
    },
  ],
  bootstrapToken: [
    z.string().trim().min(32, { message: 'must be at least 32 characters (use a random value)' }),
    {
      env: 'GATEHOUSE_BOOTSTRAP_TOKEN',
      description:
        'On the first start of an empty database, becomes an admin API token. When unset, the first start prints a generated one-time admin token instead.',
      secret: true,
    },
  ],
  remoteUrl: [
    httpUrl,
    {
      env: 'GATEHOUSE_URL',
      description:
        'For the CLI: run API-backed commands against this Gatehouse server instead of the local database.',
    },
  ],
  remoteToken: [
    z.string().trim().min(1),
    {
      env: 'GATEHOUSE_TOKEN',
      description: 'For the CLI: the API token used with GATEHOUSE_URL.',
      secret: true,
    },
  ],
  workerConcurrency: [
    int(1, 64),
    {
      env: 'GATEHOUSE_WORKER_CONCURRENCY',
      description: 'Job handlers run at once per queue in one process.',
      default: '2',
    },
  ],
  shutdownTimeoutMs: [
    int(0, 600_000),
    {
      env: 'GATEHOUSE_SHUTDOWN_TIMEOUT_MS',
      description: 'How long a stopping process waits for running jobs and requests to finish.',
      default: '15000',
    },
  ],
  secretKey: [
    z
      .string()
      .trim()
      .refine((s) => decodeKey(s) !== undefined, {
        message: 'expected 32 random bytes as 64 hex characters or base64 (openssl rand -base64 32)',
      }),
    {
      env: 'GATEHOUSE_SECRET_KEY',
      description:
        'Key (32 bytes, hex or base64) that encrypts secrets at rest (TOTP seeds, later connector credentials) with AES-256-GCM. Required with DATABASE_URL; with the embedded database it is generated into the data directory when unset.',
      secret: true,
    },
  ],
  publicUrl: [
    urlOf(['http:', 'https:'], 'https://gatehouse.example.com (an http(s) URL)'),
    {
      env: 'GATEHOUSE_PUBLIC_URL',
      description:
        'The URL people use to reach the console (for links such as the first-start setup link). Sign-in cookies are marked Secure when it is https. Default: http://HOST:PORT.',
    },
  ],
  sessionIdleMinutes: [
    int(1, 24 * 60),
    {
      env: 'GATEHOUSE_SESSION_IDLE_MINUTES',
      description: 'Console sessions end after this many minutes without activity.',
      default: '30',
    },
  ],
  sessionMaxHours: [
    int(1, 24 * 7),
    {
      env: 'GATEHOUSE_SESSION_MAX_HOURS',
      description: 'Console sessions end this many hours after sign-in, active or not.',
      default: '12',
    },
  ],
  bootstrapAdminEmail: [
    z.string().trim().email({ message: 'expected an email address' }),
    {
      env: 'GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL',
      description:
        'On first start, create the first console administrator with this email (with GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD). When unset, the first start prints a one-time setup link instead.',
    },
  ],
  bootstrapAdminPassword: [
    z.string().min(12, { message: 'must be at least 12 characters' }).max(256),
    {
      env: 'GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD',
      description:
        'Password of the first console administrator (see GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL). They enrol TOTP at first sign-in.',
      secret: true,
    },
  ],
  trustProxy: [
    bool,
    {
      env: 'GATEHOUSE_TRUST_PROXY',
      description: 'Trust X-Forwarded-* headers (set when behind a reverse proxy).',
      default: 'false',
    },
  ],
  requireTls: [
    z.enum(REQUIRE_TLS, { message: `expected one of ${REQUIRE_TLS.join(', ')}` }),
    {
      env: 'GATEHOUSE_REQUIRE_TLS',
      description:
        'Which requests must come over HTTPS (through a TLS proxy, with GATEHOUSE_TRUST_PROXY): external (the default: all but those from loopback and private addresses), all, or none. A plain-HTTP request that must not is refused with 403 before its credentials are looked at; /healthz and /readyz are always served.',
      default: 'external',
    },
  ],
} as const satisfies Record<string, readonly [z.ZodType<unknown, string>, SettingDoc]>;

type Settings = typeof SETTINGS;
type Parsed = { [K in keyof Settings]: z.output<Settings[K][0]> };
type Defaulted = {
  [K in keyof Settings]: Settings[K][1] extends { default: string } ? K : never;
}[keyof Settings];

export type Config = { [K in Defaulted]: Parsed[K] } & {
  [K in Exclude<keyof Settings, Defaulted>]?: Parsed[K];
};

export const SETTING_DOCS: SettingDoc[] = Object.values(SETTINGS).map(([, doc]) => doc);

export const ConfigErrors = { invalid: 'config_invalid' } as const;

export type Env = Record<string, string | undefined>;

/**
 * Parse the environment. Empty strings count as unset. Throws one GatehouseError(config_invalid) listing every
 * problem (setting name, the value unless it is secret, and the reason).
 */
export function loadConfig(env: Env = process.env): Config {
  const out: Record<string, unknown> = {};
  const problems: FieldProblem[] = [];
  for (const [key, [schema, doc]] of Object.entries(SETTINGS) as [
    string,
    readonly [z.ZodType, SettingDoc],
  ][]) {
    const raw = env[doc.env];
    const value = raw === undefined || raw.trim() === '' ? doc.default : raw;
    if (value === undefined) continue;
    const r = schema.safeParse(value);
    if (r.success) out[key] = r.data;
    else {
      problems.push({
        field: doc.env,
        message: r.error.issues.map((i) => i.message).join('; '),
        ...(doc.secret ? {} : { value }),
      });
    }
  }
  if ((out.bootstrapAdminEmail === undefined) !== (out.bootstrapAdminPassword === undefined)) {
    problems.push({
      field:
        out.bootstrapAdminEmail === undefined
          ? 'GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL'
          : 'GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD',
      message:
        'GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL and GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD go together: set both or neither',
    });
  }
  if (out.remoteUrl !== undefined && out.remoteToken === undefined) {
    problems.push({ field: 'GATEHOUSE_TOKEN', message: 'is required when GATEHOUSE_URL is set' });
  }
  if (problems.length > 0) {
    const lines = problems.map(
      (p) => `  ${p.field}: ${p.message}${p.value !== undefined ? ` (got ${JSON.stringify(p.value)})` : ''}`,
    );
    throw new GatehouseError(ConfigErrors.invalid, `Invalid configuration:\n${lines.join('\n')}`, {
      problems,
    });
  }
  out.dataDir = resolve(String(out.dataDir));
  return out as Config;
}

/** A 32-byte key from 64 hex characters or base64; undefined when it is neither. */
export function decodeKey(s: string): Buffer | undefined {
  const t = s.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const b = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    return b.length === 32 ? b : undefined;
  }
  return undefined;
}

/** Mask the password of a connection URL. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '***';
  }
}

/** The configuration as it may be shown (logs, the settings screen): secrets masked, each with its source. */
export function describeConfig(
  config: Config,
  env: Env = process.env,
): {
  env: string;
  value: string | null;
  source: 'environment' | 'default' | 'unset';
  secret: boolean;
  description: string;
}[] {
  return (Object.entries(SETTINGS) as [keyof Config, readonly [z.ZodType, SettingDoc]][]).map(
    ([key, [, doc]]) => {
      const v = config[key];
      const raw = env[doc.env];
      const source =
        raw !== undefined && raw.trim() !== ''
          ? 'environment'
          : doc.default !== undefined
            ? 'default'
            : 'unset';
      let value: string | null = v === undefined ? null : String(v);
      if (value !== null && doc.secret) value = key === 'databaseUrl' ? redactUrl(value) : '***';
      return { env: doc.env, value, source, secret: doc.secret === true, description: doc.description };
    },
  );
}
