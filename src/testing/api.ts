import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../apps/server/app.ts';
import { decodeKey, loadConfig, type Env } from '../config/index.ts';
import { secretBox } from '../kit/secret-box.ts';
import type { Clock } from '../kit/clock.ts';

/** A fixed key for tests (never used outside them). */
export const TEST_SECRET_KEY = Buffer.alloc(32, 7).toString('base64');
import { Jobs } from '../jobs/index.ts';
import { systemClock } from '../kit/clock.ts';
import { uuid } from '../kit/ids.ts';
import { silentLogger } from '../kit/log.ts';
import { ALL_QUEUES } from '../runtime/queues.ts';
import type { TestDatabase } from './db.ts';

export interface TestApi {
  app: FastifyInstance;
  jobs: Jobs;
  /** Base URL when started with `listen: true`. */
  url?: string;
  close(): Promise<void>;
}

/** The real HTTP app with real job workers on a test database (in-process; `listen` for a real socket). */
export async function startTestApi(
  database: TestDatabase,
  opts: { env?: Env; workerId?: string; listen?: boolean; clock?: Clock; webRoot?: string } = {},
): Promise<TestApi> {
  const config = loadConfig({ DATABASE_URL: database.url, ...opts.env });
  const secrets = secretBox(decodeKey(config.secretKey ?? TEST_SECRET_KEY), 'test');
  const jobs = new Jobs({
    pool: database.pool,
    log: silentLogger,
    clock: systemClock,
    queues: ALL_QUEUES,
    workerId: opts.workerId ?? 'api-test',
    concurrency: 2,
    pollingIntervalSeconds: 0.5,
    secrets,
  });
  await jobs.start({ work: true });
  const app = await buildApp({
    config,
    log: silentLogger,
    database,
    jobs,
    clock: opts.clock ?? systemClock,
    ids: uuid,
    secrets,
    workers: true,
    degraded: () => undefined,
    databaseMode: 'external',
    version: 'test',
    ...(opts.webRoot ? { webRoot: opts.webRoot } : {}),
  });
  let url: string | undefined;
  if (opts.listen) {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  }
  return {
    app,
    jobs,
    ...(url ? { url } : {}),
    close: async () => {
      await app.close();
      await jobs.stop(2000);
    },
  };
}
