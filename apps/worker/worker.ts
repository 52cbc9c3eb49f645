import type { Config } from '../../src/config/index.ts';
import type { Logger } from '../../src/kit/log.ts';
import { openRuntime } from '../../src/runtime/index.ts';
import { runUntilSignal } from './lifecycle.ts';

/** `gatehouse worker`: job handlers only, until SIGINT/SIGTERM. Any number may run against one database. */
export async function worker(
  config: Config,
  log: Logger,
  opts: { out: (line: string) => void },
): Promise<number> {
  return runUntilSignal(log, config.shutdownTimeoutMs, async (fatal) => {
    const rt = await openRuntime(config, {
      command: 'worker',
      log,
      work: true,
      migrate: true,
      onFatal: fatal,
    });
    opts.out(
      `Gatehouse worker ${rt.workerId} is running (queues: ${rt.jobs.queueNames().join(', ')}; database: ${rt.connection.mode}). Press Ctrl+C to stop.`,
    );
    log.info({ workerId: rt.workerId, queues: rt.jobs.queueNames() }, 'worker started');
    return () => rt.close();
  });
}
