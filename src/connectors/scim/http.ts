/**
 * The SCIM connector's one way to the server: Node's global fetch (undici, which keeps connections alive), a
 * timeout per request through AbortSignal, and every failure turned into a ConnectorError with the server's own
 * `detail` kept as `targetMessage`. Nothing here retries: the worker does, from `retryable` and `retryAfterMs`.
 */
import type { Clock } from '../../kit/clock.ts';
import type { Logger } from '../../kit/log.ts';
import { ConnectorError, type ConnectorErrorCode } from '../kit/errors.ts';
import type { ScimConfig } from './config.ts';

export const SCIM_MEDIA_TYPE = 'application/scim+json';

export interface ScimResponse {
  status: number;
  /** Parsed JSON body, or undefined when the server sent none. */
  body: unknown;
  headers: Headers;
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** Sent as If-Match (an ETag the caller read). */
  ifMatch?: string;
  /** What the request is about, for error sentences ("user 1234", "the Users list"). */
  about: string;
}

/** Retry-After: delta-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!/^[A-Za-z]{3}/.test(v)) return undefined; // every HTTP-date form starts with the day name
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}

interface ScimErrorBody {
  detail?: unknown;
  scimType?: unknown;
  status?: unknown;
}

function errorFacts(body: unknown): { detail: string | undefined; scimType: string | undefined } {
  if (body && typeof body === 'object') {
    const b = body as ScimErrorBody;
    return {
      detail: typeof b.detail === 'string' ? b.detail : undefined,
      scimType: typeof b.scimType === 'string' ? b.scimType : undefined,
    };
  }
  return { detail: typeof body === 'string' && body ? body.slice(0, 500) : undefined, scimType: undefined };
}

const SCHEMA_TYPES = new Set([
  'invalidValue',
  'invalidSyntax',
  'invalidPath',
  'noTarget',
  'mutability',
  'invalidFilter',
  'tooMany',
  'invalidVers',
  'sensitive',
]);

/** One HTTP answer that is not a success → the ConnectorError for it. Exported for the unit tests. */
export function httpError(
  status: number,
  body: unknown,
  headers: Headers,
  about: string,
  clock: Clock,
): ConnectorError {
  const { detail, scimType } = errorFacts(body);
  const says = detail ? `: ${detail}` : '';
  const opts = {
    targetMessage: detail ?? `HTTP ${status}`,
    details: { status, ...(scimType ? { scimType } : {}) },
  };
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'), clock.now());
  const make = (code: ConnectorErrorCode, sentence: string, extra: { retryable?: boolean } = {}) =>
    new ConnectorError(code, sentence, {
      ...opts,
      ...extra,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });

  if (status === 401) return make('auth_failed', `the SCIM server refused the credentials (HTTP 401)${says}`);
  if (status === 403)
    return make('permission_denied', `the SCIM server does not allow this for ${about} (HTTP 403)${says}`);
  if (status === 404) return make('not_found', `${about} does not exist on the SCIM server${says}`);
  if (status === 409) {
    if (scimType === undefined || scimType === 'uniqueness')
      return make('already_exists', `${about} clashes with an existing resource (HTTP 409)${says}`);
    return make('conflict', `the SCIM server reports a conflict on ${about} (HTTP 409 ${scimType})${says}`);
  }
  if (status === 412)
    return make(
      'conflict',
      `${about} changed on the SCIM server since it was read (HTTP 412: ETag mismatch)${says}`,
    );
  if (status === 429) {
    const wait = retryAfterMs === undefined ? '' : `; it asks to wait ${Math.ceil(retryAfterMs / 1000)} s`;
    return make('rate_limited', `the SCIM server is rate limiting requests (HTTP 429)${wait}${says}`);
  }
  if (status === 400) {
    if (scimType === 'uniqueness')
      return make(
        'already_exists',
        `${about} clashes with an existing resource (HTTP 400 uniqueness)${says}`,
      );
    const kind = scimType && SCHEMA_TYPES.has(scimType) ? ` ${scimType}` : '';
    return make(
      'schema_violation',
      `the SCIM server refused the request for ${about} (HTTP 400${kind})${says}`,
    );
  }
  if (status === 501)
    return make(
      'unsupported',
      `the SCIM server does not implement this request for ${about} (HTTP 501)${says}`,
    );
  if (status >= 500)
    return make('target_error', `the SCIM server failed on ${about} (HTTP ${status})${says}`, {
      retryable: true,
    });
  if (status >= 300 && status < 400) {
    const to = headers.get('location');
    return make(
      'invalid_config',
      `the SCIM server redirects (HTTP ${status}${to ? ` to ${to}` : ''}): set baseUrl to the final address`,
    );
  }
  return make('target_error', `the SCIM server answered HTTP ${status} for ${about}${says}`);
}

/** A fetch failure (no HTTP answer) → unreachable or timeout. */
export function networkError(e: unknown, url: URL, timeoutMs: number): ConnectorError {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
    return new ConnectorError(
      'timeout',
      `the SCIM server at ${url.host} did not answer within ${timeoutMs} ms`,
      {
        targetMessage: err.message,
        cause: e,
      },
    );
  }
  const code = err?.cause?.code;
  const why = [code, err?.cause?.message ?? err?.message].filter(Boolean).join(': ');
  return new ConnectorError(
    'unreachable',
    `cannot reach the SCIM server at ${url.host}${why ? ` (${why})` : ''}`,
    {
      targetMessage: why || undefined,
      cause: e,
    },
  );
}

export class ScimHttp {
  readonly #base: string;
  readonly #authorization: string;
  readonly #timeoutMs: number;
  readonly #log: Logger;
  readonly #clock: Clock;

  constructor(config: ScimConfig, log: Logger, clock: Clock) {
    this.#base = config.baseUrl.replace(/\/+$/, '');
    this.#authorization =
      config.auth.type === 'bearer'
        ? `Bearer ${config.auth.token}`
        : `Basic ${Buffer.from(`${config.auth.username}:${config.auth.password}`, 'utf8').toString('base64')}`;
    this.#timeoutMs = config.timeoutMs;
    this.#log = log;
    this.#clock = clock;
  }

  get host(): string {
    return new URL(this.#base).host;
  }

  /** `path` segments are the caller's to encode (ids go through encodeURIComponent). */
  async request(method: string, path: string, opts: RequestOptions): Promise<ScimResponse> {
    const url = new URL(this.#base + path);
    const params: string[] = [];
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      // encodeURIComponent, not URLSearchParams: a space must travel as %20, since some servers read "+" literally.
      if (v !== undefined) params.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
    }
    if (params.length) url.search = params.join('&');
    const headers: Record<string, string> = {
      Accept: `${SCIM_MEDIA_TYPE}, application/json`,
      Authorization: this.#authorization,
    };
    if (opts.body !== undefined) headers['Content-Type'] = SCIM_MEDIA_TYPE;
    if (opts.ifMatch) headers['If-Match'] = opts.ifMatch;

    const started = performance.now();
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (e) {
      const err = networkError(e, url, this.#timeoutMs);
      this.#log.debug({ method, path, code: err.code }, 'scim request failed');
      throw err;
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw networkError(e, url, this.#timeoutMs);
    }
    const ms = Math.round(performance.now() - started);
    this.#log.debug({ method, path, status: res.status, ms }, 'scim request');
    let body: unknown = undefined;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    if (!res.ok) throw httpError(res.status, body, res.headers, opts.about, this.#clock);
    if (typeof body === 'string') {
      throw new ConnectorError(
        'target_error',
        `the SCIM server answered ${opts.about} with something that is not JSON`,
        {
          targetMessage: body.slice(0, 500),
        },
      );
    }
    return { status: res.status, body, headers: res.headers };
  }
}
