/**
 * PostgreSQL errors → ConnectorError, once. The sentence names the table, the column (and the attribute mapped to
 * it) and the value where PostgreSQL tells us; PostgreSQL's own message is kept in `targetMessage`.
 */
import { ConnectorError } from '../kit/errors.ts';

export interface ErrorContext {
  /** "account" / "group", for the sentence. */
  what?: string;
  /** The configured attribute shown for a column, if any. */
  attributeOf?(table: string, column: string): string | undefined;
  /** Check-constraint name → its columns. */
  checks?: Map<string, string[]>;
  /** The connecting user and host (never the password), for auth and network errors. */
  user?: string;
  host?: string;
}

interface PgLikeError {
  code?: string;
  message?: string;
  detail?: string;
  table?: string;
  column?: string;
  constraint?: string;
  schema?: string;
}

const NETWORK = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);
const CONNECTION = new Set(['08000', '08001', '08003', '08004', '08006', '57P01', '57P02', '57P03', '53300']);
const BAD_VALUE = new Set(['22P02', '22003', '22007', '22008', '22021', '22023']);

export function toConnectorError(e: unknown, ctx: ErrorContext = {}): ConnectorError {
  if (e instanceof ConnectorError) return e;
  const err = (typeof e === 'object' && e !== null ? e : { message: String(e) }) as PgLikeError;
  const code = err.code ?? '';
  const targetMessage = [err.message, err.detail].filter(Boolean).join(' — ') || String(e);
  const opts = { targetMessage, cause: e };
  const what = ctx.what ?? 'object';
  const label = (table: string | undefined, column: string) => {
    const attr = table ? ctx.attributeOf?.(table, column) : undefined;
    const col = table ? `${table}.${column}` : column;
    return attr ? `column ${col} (attribute ${attr})` : `column ${col}`;
  };

  if (NETWORK.has(code)) {
    return new ConnectorError(
      'unreachable',
      `cannot reach the PostgreSQL server${ctx.host ? ` at ${ctx.host}` : ''} (${code})`,
      opts,
    );
  }
  if (CONNECTION.has(code) || /Connection terminated unexpectedly/i.test(err.message ?? '')) {
    return new ConnectorError('unreachable', 'the PostgreSQL server closed or refused the connection', opts);
  }
  if (/timeout/i.test(err.message ?? '') && !code) {
    return new ConnectorError('timeout', 'timed out connecting to the PostgreSQL server', opts);
  }
  switch (code) {
    case '28P01':
    case '28000':
      return new ConnectorError(
        'auth_failed',
        `PostgreSQL refused the credentials${ctx.user ? ` of user ${ctx.user}` : ''}`,
        opts,
      );
    case '42501':
      return new ConnectorError(
        'permission_denied',
        `the connecting user lacks a privilege on the application's tables: ${err.message}`,
        opts,
      );
    case '23505': {
      const m = /^Key \((.+?)\)=\((.*)\) already exists\.?$/s.exec(err.detail ?? '');
      const column = m?.[1];
      return new ConnectorError(
        'already_exists',
        column
          ? `an ${what} with ${label(err.table, column)} = '${m[2]}' already exists`
          : `an ${what} with the same unique value already exists (constraint ${err.constraint ?? 'unknown'})`,
        { ...opts, details: column ? { column } : {} },
      );
    }
    case '23502':
      return new ConnectorError(
        'schema_violation',
        `${label(err.table, err.column ?? '?')} must not be null: the application requires a value`,
        { ...opts, details: { column: err.column } },
      );
    case '22001':
      return new ConnectorError(
        'schema_violation',
        `a value is too long for its column: ${err.message}`,
        opts,
      );
    case '23514': {
      const columns = (err.constraint && ctx.checks?.get(err.constraint)) || [];
      const named = columns.map((c) => label(err.table, c)).join(', ');
      return new ConnectorError(
        'schema_violation',
        `the application's check ${err.constraint ?? ''} refused the value${named ? ` of ${named}` : ''}`,
        { ...opts, details: { columns } },
      );
    }
    case '23503':
      return new ConnectorError(
        'conflict',
        `the ${what} is still referenced by other application data (constraint ${err.constraint ?? 'unknown'})`,
        opts,
      );
    case '40001':
    case '40P01':
    case '55P03':
      return new ConnectorError('conflict', 'a concurrent change on the application tables got in the way', {
        ...opts,
        retryable: true,
      });
    case '57014':
      return new ConnectorError(
        'timeout',
        'the statement took longer than the configured statementTimeoutMs',
        opts,
      );
    case '42P01':
      return new ConnectorError('invalid_config', `a configured table does not exist: ${err.message}`, opts);
    case '42703':
      return new ConnectorError('invalid_config', `a configured column does not exist: ${err.message}`, opts);
    case '3F000':
    case '3D000':
      return new ConnectorError(
        'invalid_config',
        `the configured schema or database does not exist: ${err.message}`,
        opts,
      );
  }
  if (BAD_VALUE.has(code)) {
    return new ConnectorError(
      'schema_violation',
      `a value does not fit its column's type: ${err.message}`,
      opts,
    );
  }
  return new ConnectorError('target_error', `PostgreSQL failed: ${err.message ?? String(e)}`, opts);
}
