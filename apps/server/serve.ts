import type { Config } from '../../src/config/index.ts';
import { GatehouseError } from '../../src/kit/errors.ts';
import type { Logger } from '../../src/kit/log.ts';
import { openRuntime, type Runtime } from '../../src/runtime/index.ts';
import { bootstrap } from '../../src/system/index.ts';
import { buildApp } from './app.ts';
import { runUntilSignal } from '../worker/lifecycle.ts';

export const ServeErrors = { portInUse: 'port_in_use', listenFailed: 'listen_failed' } as const;

/** `gatehouse serve`: API (+ job workers unless disabled) until SIGINT/SIGTERM. Resolves with the exit code. */
export async function serve(
  config: Config,
  log: Logger,
  opts: { workers: boolean; out: (line: string) => void },
): Promise<number> {
  let rt: Runtime | undefined;
  return runUntilSignal(log, config.shutdownTimeoutMs, async (fatal) => {
    rt = await openRuntime(config, {
      command: 'serve',
      log,
      work: opts.workers,
      jobs: true,
      migrate: true,
      onFatal: fatal,
    });
    const runtime = rt;
    const boot = await bootstrap(
      runtime.database,
      { actor: { type: 'system', id: 'bootstrap' }, clock: runtime.clock, ids: runtime.ids },
      {
        ...(config.bootstrapToken ? { bootstrapToken: config.bootstrapToken } : {}),
      },
    );
    if (boot.generatedToken) {
      opts.out(
        [
          '',
          '  First start: an admin API token was created. It is shown only this once — store it now:',
          '',
          `    ${boot.generatedToken}`,
          '',
          '  Use it as "Authorization: Bearer <token>", or GATEHOUSE_TOKEN for the CLI against this server.',
          '',
        ].join('\n'),
      );
    } else if (boot.performed) {
      log.info('first start: GATEHOUSE_BOOTSTRAP_TOKEN is now an admin API token');
    } else if (config.bootstrapToken) {
      log.info(
        { bootstrappedAt: boot.bootstrappedAt },
        'GATEHOUSE_BOOTSTRAP_TOKEN is ignored: this database was bootstrapped before',
      );
    }
    const app = await buildApp({
      config,
      log,
      database: runtime.database,
      jobs: runtime.jobs,
      clock: runtime.clock,
      ids: runtime.ids,
      workers: opts.workers,
      degraded: runtime.degraded,
    });
    try {
      await app.listen({ port: config.port, host: config.host });
    } catch (e) {
      await app.close().catch(() => undefined);
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') {
        throw new GatehouseError(
          ServeErrors.portInUse,
          `PORT: ${config.host}:${config.port} is already in use (is Gatehouse already running?). Set PORT to another port.`,
          { cause: e, status: 503 },
        );
      }
      throw new GatehouseError(
        ServeErrors.listenFailed,
        `HOST/PORT: cannot listen on ${config.host}:${config.port}: ${(e as Error).message}`,
        { cause: e, status: 503 },
      );
    }
    const shown = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    opts.out(
      `Gatehouse is running at http://${shown}:${config.port} (${opts.workers ? 'API and job workers' : 'API only'}; database: ${runtime.connection.mode}). Press Ctrl+C to stop.`,
    );
    log.info(
      { port: config.port, host: config.host, database: runtime.connection.mode, workers: opts.workers },
      'gatehouse serving',
    );
    return async () => {
      await app.close();
      await runtime.close();
    };
  });
}
