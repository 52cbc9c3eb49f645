/**
 * Microsoft's SCIM conformance collection (AzureAD/SCIMReferenceCode's Postman collection, copied to
 * test/fixtures/scim/microsoft-PostmanCollection.json) run through newman's Node API, with no reporter: nothing is
 * printed unless `verbose` asks for newman's cli reporter. The collection's own scripts run in newman's sandbox.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const MICROSOFT_COLLECTION = fileURLToPath(
  new URL('../fixtures/scim/microsoft-PostmanCollection.json', import.meta.url),
);

/** Every folder but "Get Token", which fetches a token from Microsoft's reference server only. */
export const DEFAULT_FOLDERS = [
  'Endpoint tests',
  'User tests',
  'Group tests',
  'ComplexAttribute tests',
  'User tests with garbage',
  'Group tests with garbage',
  'Teardown garbage',
];

export interface MicrosoftRunOptions {
  protocol: 'http';
  /** Host name or address, e.g. 127.0.0.1. */
  server: string;
  port: number;
  /** The path of the SCIM base below the server, without slashes around it, e.g. 'scim/v2'. */
  api: string;
  /** The bearer token (without "Bearer "). */
  token: string;
  /** Folders to run, in the collection's order (default: DEFAULT_FOLDERS). */
  folders?: string[];
  /** Print newman's cli report to stdout. */
  verbose?: boolean;
  /** Per-request timeout in ms (default 10 s), so a server that hangs fails the run instead of stalling it. */
  timeoutRequest?: number;
}

export interface MicrosoftFailure {
  /** The folder of the request (absent for requests at the collection's top level). */
  folder?: string;
  request: string;
  /** The name of the failed test, or where a non-assertion failure happened (e.g. "test-script", "request"). */
  assertion: string;
  message: string;
}

export interface MicrosoftRunResult {
  /** Assertions (pm.test calls) run. */
  total: number;
  /** Failures: failed assertions plus script and request errors (`failures` lists each). */
  failed: number;
  /** Failed assertions only (newman's own count; script and request errors are not assertions). */
  assertionsFailed: number;
  failures: MicrosoftFailure[];
  /** Requests sent. */
  requests: number;
}

/** The part of newman's API used here (newman ships no type declarations). */
interface NewmanNamed {
  name?: string;
}
interface NewmanRunFailure {
  error: { name?: string; test?: string; message?: string };
  at: string;
  source?: NewmanNamed;
  parent?: NewmanNamed;
}
interface NewmanSummary {
  run: {
    stats: { assertions: { total: number; failed: number }; requests: { total: number; failed: number } };
    failures: NewmanRunFailure[];
  };
}
interface NewmanApi {
  run(
    options: {
      collection: object;
      envVar: { key: string; value: string }[];
      folder: string[];
      reporters: string[];
      timeoutRequest: number;
    },
    callback: (err: Error | null, summary: NewmanSummary) => void,
  ): unknown;
}

// newman is CommonJS without declarations; `import newman from 'newman'` would be an implicit any (TS7016).
const newman = createRequire(import.meta.url)('newman') as NewmanApi;

export function runMicrosoftCollection(opts: MicrosoftRunOptions): Promise<MicrosoftRunResult> {
  const collection = JSON.parse(readFileSync(MICROSOFT_COLLECTION, 'utf8')) as { info?: { name?: string } };
  const rootName = collection.info?.name;
  const envVar = Object.entries({
    Protocol: opts.protocol,
    Server: opts.server,
    Port: `:${opts.port}`, // the collection writes {{Server}}{{Port}}
    Api: opts.api.replace(/^\/+|\/+$/g, ''),
    token: opts.token,
  }).map(([key, value]) => ({ key, value }));

  return new Promise((resolve, reject) => {
    newman.run(
      {
        collection,
        envVar,
        folder: opts.folders ?? DEFAULT_FOLDERS,
        reporters: opts.verbose ? ['cli'] : [],
        timeoutRequest: opts.timeoutRequest ?? 10_000,
      },
      (err, summary) => {
        if (err) return reject(err);
        const { stats, failures } = summary.run;
        resolve({
          total: stats.assertions.total,
          failed: failures.length,
          assertionsFailed: stats.assertions.failed,
          requests: stats.requests.total,
          failures: failures.map((f) => {
            // The parent is the request's folder, or the collection itself for top-level requests.
            const folder = f.parent?.name && f.parent.name !== rootName ? f.parent.name : undefined;
            return {
              ...(folder ? { folder } : {}),
              request: f.source?.name ?? '(unknown request)',
              assertion: f.error.test ?? f.at,
              message: f.error.message ?? String(f.error.name ?? 'failed'),
            };
          }),
        });
      },
    );
  });
}

/** A readable report: the totals, then each failure with its folder, request, assertion and message. */
export function formatNewmanReport(result: MicrosoftRunResult, title = 'microsoft collection'): string {
  const lines = [
    `${title}: ${result.requests} requests, ${result.total} assertions, ${result.failed} failed`,
  ];
  for (const f of result.failures)
    lines.push(`  ✗ ${f.folder ? `${f.folder} / ` : ''}${f.request}: ${f.assertion}`, `      ${f.message}`);
  return lines.join('\n');
}
