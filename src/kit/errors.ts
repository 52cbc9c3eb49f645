/**
 * One error class for the whole product. Each capability owns a closed set of codes (declared next to the
 * capability); code and tests match on `code`, never on the message. The HTTP edge maps `status` once.
 */
export interface FieldProblem {
  /** The field, setting or column the problem is about (e.g. "PORT", "scopes[1]", "row 12: hire_date"). */
  field: string;
  message: string;
  /** Optional record reference (row number, id). */
  record?: string | number;
  value?: unknown;
}

export type ErrorStatus =
  400 | 401 | 403 | 404 | 405 | 409 | 410 | 412 | 413 | 422 | 423 | 429 | 500 | 501 | 502 | 503;

export class GatehouseError extends Error {
  readonly code: string;
  readonly status: ErrorStatus;
  readonly problems: FieldProblem[];
  readonly retryable: boolean;
  /** Extra machine-readable facts for the client (e.g. `retryAt`), added to the problem document. */
  readonly details: Record<string, unknown>;

  constructor(
    code: string,
    message: string,
    opts: {
      status?: ErrorStatus;
      problems?: FieldProblem[];
      retryable?: boolean;
      cause?: unknown;
      details?: Record<string, unknown>;
    } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GatehouseError';
    this.code = code;
    this.status = opts.status ?? 400;
    this.problems = opts.problems ?? [];
    this.retryable = opts.retryable ?? false;
    this.details = opts.details ?? {};
  }
}

export function isGatehouseError(e: unknown, code?: string): e is GatehouseError {
  return e instanceof GatehouseError && (code === undefined || e.code === code);
}

/** Shared codes that any capability may use. Capability-specific codes live with the capability. */
export const CommonErrors = {
  validation: 'validation_failed',
  notFound: 'not_found',
  unauthenticated: 'unauthenticated',
  forbidden: 'forbidden',
  conflict: 'conflict',
  internal: 'internal_error',
  unavailable: 'service_unavailable',
} as const;

export function describeError(e: unknown): string {
  if (e instanceof GatehouseError) return e.message;
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
  }
  return String(e);
}
