import type { Clock } from './clock.ts';
import type { IdGenerator } from './ids.ts';

/** Who is acting. Every audit event names one. */
export interface Actor {
  type: 'token' | 'operator' | 'cli' | 'system' | 'worker';
  id: string;
  name?: string;
}

/** What every command receives besides its own input: who acts, why (correlation), and the injected world. */
export interface CommandContext {
  actor: Actor;
  correlationId?: string;
  clock: Clock;
  ids: IdGenerator;
}
