import type { Config } from '../../src/config/index.ts';
import { ConfigErrors } from '../../src/config/index.ts';
import { GatehouseError } from '../../src/kit/errors.ts';
import type { Logger } from '../../src/kit/log.ts';
import { bootstrapFirstAdmin } from '../../src/operators/index.ts';
import { openRuntime, type Runtime } from '../../src/runtime/index.ts';
import { VERSION, bootstrap } from '../../src/system/index.ts';
import { authDeps } from './auth.ts';
import { buildApp, WEB_ROOT } from './app.ts';
import { runUntilSignal } from '../worker/lifecycle.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ServeErrors = { portInUse: 'port_in_use', listenFailed: 'listen_failed' } as const;

/** `gatehouse serve`: API, console (+ job workers unless disabled) until SIGINT/SIGTERM. Resolves with the exit code. */
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
    try {
      return await start(runtime, config, log, opts);
    } catch (e) {
      await runtime.close();
      throw e;
    }
  });
}

async function start(
  runtime: Runtime,
  config: Config,
  log: Logger,
  opts: { workers: boolean; out: (line: string) => void },
): Promise<() => Promise<void>> {
  if (!runtime.secrets.available()) {
    throw new GatehouseError(
      ConfigErrors.invalid,
      'GATEHOUSE_SECRET_KEY: is required when DATABASE_URL is set, to encrypt secrets at rest (generate one with: openssl rand -base64 32)',
      { problems: [{ field: 'GATEHOUSE_SECRET_KEY', message: 'is required when DATABASE_URL is set' }] },
    );
  }
  const sys = { actor: { type: 'system' as const, id: 'bootstrap' }, clock: runtime.clock, ids: runtime.ids };
  const boot = await bootstrap(runtime.database, sys, {
    ...(config.bootstrapToken ? { bootstrapToken: config.bootstrapToken } : {}),
  });
  const lines: string[] = [];
  if (boot.generatedToken) {
    lines.push(
      '  An admin API token was created. It is shown only this once — store it now:',
      '',
      `    ${boot.generatedToken}`,
      '',
    );
  } else if (boot.performed) {
    log.info('first start: GATEHOUSE_BOOTSTRAP_TOKEN is now an admin API token');
  } else if (config.bootstrapToken) {
    log.info(
      { bootstrappedAt: boot.bootstrappedAt },
      'GATEHOUSE_BOOTSTRAP_TOKEN is ignored: this database was bootstrapped before',
    );
  }
  const publicUrl = (
    config.publicUrl ??
    `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${config.port}`
  ).replace(/\/$/, '');
  const admin = await bootstrapFirstAdmin(authDeps(runtime), {
    ...(config.bootstrapAdminEmail ? { email: config.bootstrapAdminEmail } : {}),
    ...(config.bootstrapAdminPassword ? { password: config.bootstrapAdminPassword } : {}),
  });
  if (admin.created)
    log.info(
      { email: admin.created },
      'first start: created the first console administrator from GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL',
    );
  if (admin.setupToken) {
    lines.push(
      '  No console administrator exists yet. Open this one-time link (valid 24 hours) to create one:',
      '',
      `    ${publicUrl}/setup#${admin.setupToken}`,
      '',
    );
  }
  if (lines.length) opts.out(['', ...lines].join('\n'));

  const app = await buildApp({
    config,
    log,
    database: runtime.database,
    jobs: runtime.jobs,
    clock: runtime.clock,
    ids: runtime.ids,
    secrets: runtime.secrets,
    workers: opts.workers,
    degraded: runtime.degraded,
    databaseMode: runtime.connection.mode,
    version: VERSION,
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
  if (!existsSync(join(WEB_ROOT, 'index.html')))
    log.warn('the console is not built (apps/web/dist): "npm start" builds it; the API works without it');
  opts.out(
    `Gatehouse is running at ${publicUrl} (${opts.workers ? 'API, console and job workers' : 'API and console'}; database: ${runtime.connection.mode}). Press Ctrl+C to stop.`,
  );
  log.info(
    { port: config.port, host: config.host, database: runtime.connection.mode, workers: opts.workers },
    'gatehouse serving',
  );
  return async () => {
    await app.close();
    await runtime.close();
  };
}
