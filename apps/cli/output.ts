import { GatehouseError, describeError } from '../../src/kit/errors.ts';
import { ConfigErrors } from '../../src/config/index.ts';
import { ConnectErrors } from '../../src/db/index.ts';
import { DataDirErrors } from '../../src/db/data-dir.ts';

/** Exit codes. Scripts may rely on these; they are listed in `gatehouse --help` and docs/CLI.md. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** The check ran and found a problem (audit chain broken, probe incomplete). */
  checkFailed: 3,
  /** The remote server refused the token (401/403). */
  denied: 77,
  /** A database or server could not be reached. */
  unavailable: 69,
  /** The configuration is invalid. */
  config: 78,
} as const;

export function exitCodeFor(e: unknown): number {
  if (!(e instanceof GatehouseError)) return EXIT.failure;
  if (e.code === ConfigErrors.invalid) return EXIT.config;
  if (
    e.code === ConnectErrors.unreachable ||
    e.code === 'server_unreachable' ||
    e.code === DataDirErrors.locked
  )
    return EXIT.unavailable;
  if (e.status === 401 || e.status === 403) return EXIT.denied;
  if (e.status === 400 || e.status === 404 || e.status === 409 || e.status === 422) return EXIT.usage;
  return EXIT.failure;
}

export interface Out {
  json: boolean;
  line(s: string): void;
  data(v: unknown): void;
}

export function makeOut(json: boolean): Out {
  return {
    json,
    line: (s) => {
      if (!json) process.stdout.write(s + '\n');
    },
    data: (v) => process.stdout.write(JSON.stringify(v, null, 2) + '\n'),
  };
}

/** Report an error: JSON on stdout with --json (so scripts get one document), else a readable message on stderr. */
export function reportError(e: unknown, json: boolean): number {
  const code = exitCodeFor(e);
  if (json) {
    const ge = e instanceof GatehouseError ? e : undefined;
    process.stdout.write(
      JSON.stringify(
        {
          error: {
            code: ge?.code ?? 'internal_error',
            message: describeError(e),
            ...(ge?.problems.length ? { problems: ge.problems } : {}),
          },
        },
        null,
        2,
      ) + '\n',
    );
  } else {
    process.stderr.write(`gatehouse: ${describeError(e)}\n`);
    if (e instanceof GatehouseError && e.problems.length && !e.message.includes(e.problems[0]!.message)) {
      for (const p of e.problems) process.stderr.write(`  ${p.field}: ${p.message}\n`);
    }
  }
  return code;
}

export function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((r) =>
    columns.map((c) => (r[c] === null || r[c] === undefined ? '-' : String(r[c]))),
  );
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const fmt = (row: string[]) =>
    row
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [fmt(columns.map((c) => c.toUpperCase())), ...cells.map(fmt)].join('\n');
}
