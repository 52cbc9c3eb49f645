import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { Option, type Command } from 'commander';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { createLogger, type Logger } from '../../src/kit/log.ts';
import type { CommandContext } from '../../src/kit/context.ts';
import { openRuntime, type Runtime } from '../../src/runtime/index.ts';
import { EXIT, makeOut, reportError, type Out } from './output.ts';
import { api } from './remote.ts';

/** What every CLI command shares: configuration, the local runtime, the context, and the action wrapper. */
export const state = { exitCode: EXIT.ok as number };

export function config(): Config {
  return loadConfig();
}

export function cliLogger(cfg: Config, longRunning: boolean): Logger {
  // One-shot commands keep stderr for what matters unless the user asked for more.
  const level = longRunning || ['debug', 'trace'].includes(cfg.logLevel) ? cfg.logLevel : 'warn';
  return createLogger({ level });
}

export function cliContext(rt: Runtime): CommandContext {
  return {
    actor: { type: 'cli', id: safeUser(), name: 'gatehouse CLI' },
    correlationId: randomUUID(),
    clock: rt.clock,
    ids: rt.ids,
  };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** Open the local runtime for a one-shot command (attaching to a running server's database when there is one). */
export async function withRuntime<T>(
  cfg: Config,
  command: string,
  fn: (rt: Runtime) => Promise<T>,
  opts: { jobs?: boolean } = {},
): Promise<T> {
  const rt = await openRuntime(cfg, {
    command: `cli ${command}`,
    log: cliLogger(cfg, false),
    migrate: true,
    jobs: opts.jobs ?? false,
  });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

type Action<O> = (opts: O, out: Out, cmd: Command) => Promise<number | void>;
export function run<O extends { json?: boolean }>(action: Action<O>) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const opts = cmd.opts() as O;
    const out = makeOut(opts.json === true);
    try {
      const code = await action(opts, out, cmd);
      state.exitCode = code ?? EXIT.ok;
    } catch (e) {
      state.exitCode = reportError(e, opts.json === true);
    }
  };
}

export const jsonOption = () => new Option('--json', 'print the result as JSON on stdout');

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Run against GATEHOUSE_URL when set, else on the local runtime (with the job system for commands that enqueue). */
export async function call<T>(
  cfg: Config,
  remote: [Method, string, unknown?],
  command: string,
  local: (rt: Runtime) => Promise<T>,
  jobs = false,
): Promise<T> {
  if (cfg.remoteUrl) return api<T>(cfg, remote[0], remote[1], remote[2]);
  return withRuntime(cfg, command, local, { jobs });
}
