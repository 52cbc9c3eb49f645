import { GatehouseError, type ErrorStatus } from '../../kit/errors.ts';

/** The closed set of connector error codes. Code and tests match on these, never on messages. */
export const ConnectorErrors = {
  unreachable: 'unreachable',
  timeout: 'timeout',
  authFailed: 'auth_failed',
  permissionDenied: 'permission_denied',
  notFound: 'not_found',
  alreadyExists: 'already_exists',
  schemaViolation: 'schema_violation',
  policyViolation: 'policy_violation',
  conflict: 'conflict',
  rateLimited: 'rate_limited',
  unsupported: 'unsupported',
  invalidConfig: 'invalid_config',
  targetError: 'target_error',
} as const;
export type ConnectorErrorCode = (typeof ConnectorErrors)[keyof typeof ConnectorErrors];

const STATUS: Record<ConnectorErrorCode, ErrorStatus> = {
  unreachable: 502,
  timeout: 502,
  auth_failed: 502,
  permission_denied: 502,
  not_found: 404,
  already_exists: 409,
  schema_violation: 422,
  policy_violation: 422,
  conflict: 409,
  rate_limited: 429,
  unsupported: 422,
  invalid_config: 400,
  target_error: 502,
};

const RETRYABLE: ReadonlySet<ConnectorErrorCode> = new Set(['unreachable', 'timeout', 'rate_limited']);

/**
 * The one error a connector throws. `message` is Gatehouse's clear sentence for a person ("password too short: the
 * domain requires at least 7 characters"); `targetMessage` is what the target itself said, kept for evidence.
 */
export class ConnectorError extends GatehouseError {
  override readonly code: ConnectorErrorCode;
  readonly targetMessage: string | undefined;
  /** For `rate_limited`: how long the target asked us to wait. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ConnectorErrorCode,
    message: string,
    opts: {
      targetMessage?: string;
      retryable?: boolean;
      retryAfterMs?: number;
      cause?: unknown;
      details?: Record<string, unknown>;
    } = {},
  ) {
    super(code, message, {
      status: STATUS[code],
      retryable: opts.retryable ?? RETRYABLE.has(code),
      cause: opts.cause,
      details: {
        ...opts.details,
        ...(opts.targetMessage === undefined ? {} : { targetMessage: opts.targetMessage }),
        ...(opts.retryAfterMs === undefined ? {} : { retryAfterMs: opts.retryAfterMs }),
      },
    });
    this.name = 'ConnectorError';
    this.code = code;
    this.targetMessage = opts.targetMessage;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

export function isConnectorError(e: unknown, code?: ConnectorErrorCode): e is ConnectorError {
  return e instanceof ConnectorError && (code === undefined || e.code === code);
}

/** For a connector's methods that its target cannot do. */
export function unsupported(type: string, operation: string, why: string): ConnectorError {
  return new ConnectorError('unsupported', `the ${type} connector cannot ${operation}: ${why}`);
}
