import type { Logger } from '../../src/kit/log.ts';

/**
 * Run a long-lived process: `start` brings it up and returns its `stop`. SIGINT/SIGTERM stop it cleanly (exit 0);
 * a second signal, or a stop slower than the timeout, exits at once (1). `fatal` stops it with exit 1.
 */
export async function runUntilSignal(
  log: Logger,
  shutdownTimeoutMs: number,
  start: (fatal: (reason: string) => void) => Promise<() => Promise<void>>,
): Promise<number> {
  let stop: (() => Promise<void>) | undefined;
  let stopping = false;
  let firstSignalAt = 0;
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((r) => (resolveExit = r));

  const shutdown = async (code: number, why: string) => {
    if (stopping) {
      log.warn('stopping now without waiting');
      resolveExit(1);
      return;
    }
    stopping = true;
    log.info({ reason: why }, 'stopping');
    const timer = setTimeout(() => {
      log.error(`did not stop within ${shutdownTimeoutMs + 60_000} ms; exiting`);
      resolveExit(1);
    }, shutdownTimeoutMs + 60_000);
    timer.unref();
    try {
      await stop?.();
      log.info('stopped cleanly');
      resolveExit(code);
    } catch (e) {
      log.error({ err: e instanceof Error ? e.message : String(e) }, 'error while stopping');
      resolveExit(1);
    } finally {
      clearTimeout(timer);
    }
  };
  const onSignal = (sig: NodeJS.Signals) => {
    // The same Ctrl+C can arrive twice (terminal process group + a forwarding parent): only a second signal
    // a moment later means "stop now".
    const now = Date.now();
    if (stopping && now - firstSignalAt < 1000) return;
    if (!stopping) firstSignalAt = now;
    void shutdown(0, sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    stop = await start((reason) => {
      log.fatal({ reason }, 'cannot continue');
      void shutdown(1, reason);
    });
  } catch (e) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    throw e;
  }
  if (stopping) {
    // A signal arrived while starting: stop what was started.
    await stop();
  }
  const code = await exited;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return code;
}
