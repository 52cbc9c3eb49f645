/**
 * The console's one way to talk to the Gatehouse API: JSON in and out, the CSRF header on unsafe requests,
 * RFC 9457 problem details turned into ApiError, and the "your session ended" redirect.
 */

export type Role = 'administrator' | 'agent' | 'auditor';
export type Stage = 'mfa' | 'enrol' | 'full';

export interface SessionOperator {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  scopes: string[];
}

export interface Session {
  operator: SessionOperator;
  stage: Stage;
  csrfToken: string;
  idleTimeoutSeconds: number;
}

export interface FieldError {
  field: string;
  message: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  requestId?: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

export interface DashboardData {
  operators: { total: number; active: number; lockedOut: number; withoutMfa: number };
  tokens: { active: number; expiringSoon: number };
  audit: { events: number; last24h: number };
  jobs: { name: string; queued: number; active: number; deferred: number; total: number }[];
  health: { ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> };
  system: {
    version: string;
    database: 'embedded-owner' | 'embedded-attached' | 'external';
    postgresVersion: string;
  };
}

export interface AuditEvent {
  seq: number;
  id: string;
  occurredAt: string;
  actor: { type: string; id: string; name: string | null };
  action: string;
  subject: { type: string; id: string };
  before: unknown;
  after: unknown;
  reason: string | null;
  correlationId: string | null;
  prevHash: string;
  hash: string;
  personalErased: boolean;
}

export interface AuditPage {
  items: AuditEvent[];
  nextCursor: number | null;
}

export interface BrokenEvent {
  seq: number;
  id: string;
  action: string;
  occurredAt: string;
  reason: 'hash_mismatch' | 'link_mismatch' | 'sequence_gap';
  message: string;
}

export interface Verification {
  id: string;
  state: 'running' | 'done' | 'failed';
  checked: number;
  total: number;
  startedAt: string;
  finishedAt: string | null;
  result: null | {
    ok: boolean;
    checked: number;
    head: { seq: number; hash: string } | null;
    firstBroken?: BrokenEvent;
  };
  startedBy?: string;
  /** Why a verification failed (state 'failed'). */
  error?: string | null;
}

export interface OperatorRow {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  status: 'active' | 'disabled';
  mfaEnrolled: boolean;
  lockedUntil: string | null;
  lastLoginAt: string | null;
  createdAt: string;
}

export interface OperatorList {
  items: OperatorRow[];
  total: number;
  page: number;
  pageSize: number;
}

export interface TokenRow {
  id: string;
  name: string;
  hint: string;
  scopes: string[];
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
  lastUsedAt: string | null;
  status: 'active' | 'expired' | 'revoked';
}

export interface ConfigItem {
  env: string;
  value: string | null;
  source: 'environment' | 'default' | 'unset';
  secret: boolean;
  description: string;
}

/** An API failure, with the server's plain-language `detail` and per-field messages keyed by form field. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly fieldErrors: Record<string, string>;
  readonly requestId: string | undefined;
  readonly problem: Problem;

  constructor(status: number, problem: Problem) {
    const detail = problem.detail || problem.title || fallbackDetail(status);
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem.code ?? (status === 0 ? 'network_error' : `http_${status}`);
    this.detail = detail;
    this.requestId = problem.requestId;
    this.problem = problem;
    this.fieldErrors = {};
    for (const e of problem.errors ?? []) {
      const field = formField(e.field);
      if (field && !this.fieldErrors[field]) this.fieldErrors[field] = e.message;
    }
  }

  get isForbidden(): boolean {
    return this.status === 403;
  }
}

/** "body.email" → "email", "body.scopes.1" → "scopes", "scopes[1]" → "scopes", "password" → "password". */
export function formField(field: string): string {
  const parts = field.split('.').filter(Boolean);
  if (parts.length > 1 && ['body', 'query', 'querystring', 'params'].includes(parts[0]!)) parts.shift();
  return (parts[0] ?? '').replace(/\[\d+\]$/, '');
}

function fallbackDetail(status: number): string {
  if (status === 0) return 'Could not reach Gatehouse. Check your connection and try again.';
  if (status === 401) return 'Please sign in.';
  if (status === 403) return 'Your role does not allow this.';
  if (status === 404) return 'This was not found. It may have been removed.';
  if (status >= 500) return 'Something went wrong on the server. Try again in a moment.';
  return `The request failed (HTTP ${status}).`;
}

/** A short message for a failed action: permission problems get a clear lead-in. */
export function describe(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 403) return `You don't have permission to do this. ${e.detail}`;
    return e.detail;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}

// ---------------------------------------------------------------------------------------------------------------

let csrfToken: string | null = null;
let lastActivity = Date.now();
let onSessionEnded: ((code: string) => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** When the server last answered an API call (for the idle timeout). */
export function lastApiActivity(): number {
  return lastActivity;
}

export function markApiActivity(): void {
  lastActivity = Date.now();
}

/** Called with the problem code when any call finds the session gone (401 session_expired / unauthenticated). */
export function setSessionEndedHandler(handler: ((code: string) => void) | null): void {
  onSessionEnded = handler;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  body?: unknown;
  query?: Query;
  signal?: AbortSignal;
  /** Default true: a 401 session_expired/unauthenticated hands over to the session-ended handler. */
  authRedirect?: boolean;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
export const SESSION_GONE = new Set(['session_expired', 'unauthenticated']);

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `${path}?${s}` : path;
}

async function send(method: string, path: string, opts: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (UNSAFE.has(method) && csrfToken) headers['x-csrf-token'] = csrfToken;
  try {
    return await fetch(withQuery(path, opts.query), {
      method,
      headers,
      credentials: 'same-origin',
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, {});
  }
}

async function readProblem(res: Response): Promise<Problem> {
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    try {
      return (await res.json()) as Problem;
    } catch {
      return {};
    }
  }
  return {};
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  let res = await send(method, path, opts);
  let problem: Problem | null = null;
  if (!res.ok) {
    problem = await readProblem(res);
    // A stale CSRF token (e.g. after signing in again in another tab): fetch the current one and retry once.
    if (res.status === 403 && UNSAFE.has(method) && /csrf/i.test(problem.code ?? '')) {
      const fresh = await send('GET', '/api/v1/session', { authRedirect: false });
      if (fresh.ok) {
        const s = (await fresh.json()) as Session;
        csrfToken = s.csrfToken;
        res = await send(method, path, opts);
        problem = res.ok ? null : await readProblem(res);
      }
    }
  }
  markApiActivity();
  if (problem) {
    const err = new ApiError(res.status, problem);
    if (res.status === 401 && opts.authRedirect !== false && SESSION_GONE.has(err.code))
      onSessionEnded?.(err.code);
    throw err;
  }
  if (res.status === 204 || res.status === 205) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>('GET', path, { query, signal }),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, { body: body ?? {} }),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, { body }),
  del: <T>(path: string) => request<T>('DELETE', path),
};

export interface UploadProgress {
  /** Bytes sent so far and in all; when every byte is sent the server is still working on the file. */
  loaded: number;
  total: number;
}

/**
 * POST a file as the raw request body (the picked File is streamed by the browser, never read into memory), with
 * upload progress. Same CSRF header, problem details and session hand-over as `request`; fetch has no upload
 * progress, hence XMLHttpRequest.
 */
export function upload<T>(
  path: string,
  file: Blob,
  opts: {
    query?: Query;
    contentType: string;
    onProgress?: (p: UploadProgress) => void;
    signal?: AbortSignal;
  },
): Promise<T> {
  const attempt = (token: string | null) =>
    new Promise<{ status: number; type: string; text: string }>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', withQuery(path, opts.query));
      xhr.withCredentials = true;
      xhr.setRequestHeader('accept', 'application/json, application/problem+json');
      xhr.setRequestHeader('content-type', opts.contentType);
      if (token) xhr.setRequestHeader('x-csrf-token', token);
      xhr.upload.onprogress = (e) =>
        opts.onProgress?.({ loaded: e.loaded, total: e.lengthComputable ? e.total : file.size });
      xhr.onload = () =>
        resolve({
          status: xhr.status,
          type: xhr.getResponseHeader('content-type') ?? '',
          text: xhr.responseText,
        });
      xhr.onerror = () => reject(new ApiError(0, {}));
      xhr.onabort = () => reject(new DOMException('aborted', 'AbortError'));
      opts.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
      xhr.send(file);
    });
  const problemOf = (r: { type: string; text: string }): Problem => {
    if (!r.type.includes('json')) return {};
    try {
      return JSON.parse(r.text) as Problem;
    } catch {
      return {};
    }
  };
  return (async () => {
    let r = await attempt(csrfToken);
    let problem = r.status >= 200 && r.status < 300 ? null : problemOf(r);
    if (problem && r.status === 403 && /csrf/i.test(problem.code ?? '')) {
      const fresh = await send('GET', '/api/v1/session', { authRedirect: false });
      if (fresh.ok) {
        csrfToken = ((await fresh.json()) as Session).csrfToken;
        r = await attempt(csrfToken);
        problem = r.status >= 200 && r.status < 300 ? null : problemOf(r);
      }
    }
    markApiActivity();
    if (problem) {
      const err = new ApiError(r.status, problem);
      if (r.status === 401 && SESSION_GONE.has(err.code)) onSessionEnded?.(err.code);
      throw err;
    }
    return (r.text ? JSON.parse(r.text) : undefined) as T;
  })();
}
