import { randomUUID } from 'node:crypto';
import type { Connector } from '../connectors/kit/types.ts';
import type { Database } from '../db/pool.ts';
import { systemClock } from '../kit/clock.ts';
import { silentLogger } from '../kit/log.ts';
import { secretBox } from '../kit/secret-box.ts';
import { openConnector } from './targets.ts';

/**
 * For tests: a target's live connector, opened as the provisioning worker will (quiet logger, system clock). `key`
 * is the secret key the target's credentials were sealed with; targets without credentials need none.
 */
export function openTargetForTest(
  database: Pick<Database, 'pool'>,
  name: string,
  key: Buffer = Buffer.alloc(32, 1),
): Promise<Connector> {
  return openConnector(
    {
      database,
      secrets: secretBox(key, 'test'),
      log: silentLogger,
      clock: systemClock,
      ids: randomUUID,
    },
    name,
  );
}
