import { eq } from 'drizzle-orm';
import { appendAudit } from '../audit/index.ts';
import { transaction, type Database } from '../db/pool.ts';
import type { CommandContext } from '../kit/context.ts';
import { createToken } from '../tokens/index.ts';
import { systemState } from './schema.ts';

const BOOTSTRAP_LOCK = 7_201_003;

export interface BootstrapResult {
  /** True when this call did the bootstrap (first start of an empty database). */
  performed: boolean;
  /** The generated admin token, only when one was generated (print it once, never log it). */
  generatedToken?: string;
  /** When the database was bootstrapped, if it already was. */
  bootstrappedAt?: string;
}

/**
 * First start: create the first admin API token — GATEHOUSE_BOOTSTRAP_TOKEN when given, otherwise a generated one
 * that is returned once. Runs at most once per database, whatever the number of processes starting together.
 */
export async function bootstrap(
  database: Database,
  ctx: CommandContext,
  opts: { bootstrapToken?: string },
): Promise<BootstrapResult> {
  return transaction(database, async (tx) => {
    await tx.client.query('select pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK]);
    const [done] = await tx.db.select().from(systemState).where(eq(systemState.key, 'bootstrap'));
    if (done) return { performed: false, bootstrappedAt: (done.value as { at: string }).at };
    const { token, view } = await createToken(tx, ctx, {
      name: 'bootstrap admin',
      scopes: ['admin'],
      ...(opts.bootstrapToken ? { secret: opts.bootstrapToken } : {}),
    });
    const at = ctx.clock.now().toISOString();
    await tx.db.insert(systemState).values({
      key: 'bootstrap',
      value: { at, tokenId: view.id, source: opts.bootstrapToken ? 'environment' : 'generated' },
      updatedAt: ctx.clock.now(),
    });
    await appendAudit(tx, ctx, {
      action: 'system.bootstrap',
      subject: { type: 'system', id: 'gatehouse' },
      after: {
        adminTokenId: view.id,
        tokenSource: opts.bootstrapToken ? 'GATEHOUSE_BOOTSTRAP_TOKEN' : 'generated',
      },
    });
    return opts.bootstrapToken ? { performed: true } : { performed: true, generatedToken: token };
  });
}
