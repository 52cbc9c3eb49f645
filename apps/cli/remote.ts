import type { Config } from '../../src/config/index.ts';
import { GatehouseError } from '../../src/kit/errors.ts';

/** Call a Gatehouse server's API (GATEHOUSE_URL + GATEHOUSE_TOKEN). Problem responses become GatehouseErrors. */
export async function api<T>(
  config: Config,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  const url = new URL(path, config.remoteUrl);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${config.remoteToken}`,
        accept: 'application/json',
        ...(body !== undefined
          ? { 'content-type': Buffer.isBuffer(body) ? 'text/csv' : 'application/json' }
          : {}),
      },
      ...(body !== undefined
        ? { body: Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body) }
        : {}),
      signal: AbortSignal.timeout(120_000),
    });
  } catch (e) {
    throw new GatehouseError(
      'server_unreachable',
      `GATEHOUSE_URL: cannot reach ${url.origin}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}`,
      {
        status: 503,
        cause: e,
      },
    );
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const p = parsed as
      | {
          code?: string;
          detail?: string;
          errors?: { field: string; message: string }[];
          targetMessage?: string;
        }
      | undefined;
    throw new GatehouseError(
      p?.code ?? `http_${res.status}`,
      `${url.origin} answered ${res.status}: ${p?.detail ?? text.slice(0, 200)}`,
      {
        status: (res.status as 400) ?? 500,
        problems: p?.errors ?? [],
        // What a connector's target itself said (connection tests), kept for the caller to show.
        ...(typeof p?.targetMessage === 'string' ? { details: { targetMessage: p.targetMessage } } : {}),
      },
    );
  }
  return parsed as T;
}
