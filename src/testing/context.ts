import { randomUUID } from 'node:crypto';
import { fixedClock, systemClock, type Clock } from '../kit/clock.ts';
import type { Actor, CommandContext } from '../kit/context.ts';

export function testContext(
  opts: { actor?: Actor; clock?: Clock; correlationId?: string } = {},
): CommandContext {
  return {
    actor: opts.actor ?? { type: 'system', id: 'test', name: 'test suite' },
    clock: opts.clock ?? systemClock,
    ids: randomUUID,
    ...(opts.correlationId ? { correlationId: opts.correlationId } : {}),
  };
}

export { fixedClock };
