/**
 * One reconciliation run of one target: read every account (paged by the connector) into a staging table with
 * COPY, refuse a bad read, merge the observations, correlate, and refresh the findings — all but the read in one
 * transaction, so a run either lands whole or changes nothing. A run never writes to the target.
 */
import { drizzle } from 'drizzle-orm/node-postgres';
import { appendAudit } from '../audit/index.ts';
import type { ConnectorObject } from '../connectors/kit/types.ts';
import { copyRows, type CopyValue } from '../db/copy.ts';
import type { Database, Tx } from '../db/index.ts';
import type { CommandContext } from '../kit/context.ts';
import { GatehouseError, describeError } from '../kit/errors.ts';
import type { CompiledPolicy } from '../policy/compile.ts';
import { loadPolicy } from '../policy/index.ts';
import { getTarget, openConnector, type OpenDeps } from '../targets/index.ts';
import { correlate, correlationRules } from './correlate.ts';
import { ReconErrors } from './errors.ts';
import { refreshFindings } from './findings.ts';
import type { RunCounts, RunStatus } from './schema.ts';

export type ReconcileDeps = OpenDeps & { database: Pick<Database, 'pool'> };

export interface ReconcileOptions {
  target: string;
  trigger?: 'manual' | 'schedule';
  /**
   * full (default): every account is read; incremental: only what changed since the last run's sync token (the
   * connector's `sync`), which cannot see deletions — a full run does.
   */
  mode?: 'full' | 'incremental';
  /** Merge even when the read is much smaller than the last one (someone checked it is right). */
  force?: boolean;
  pageSize?: number;
  /** Called while reading (accounts so far), every `progressEvery` accounts (default 5,000). */
  onProgress?: (read: number) => void;
  progressEvery?: number;
}

export interface RunResult {
  id: string;
  seq: number;
  target: string;
  mode: 'full' | 'incremental';
  status: RunStatus;
  reason: string | null;
  counts: Partial<RunCounts>;
  findingsOpened: number;
  findingsClosed: number;
}

const STAGE_COLUMNS = ['object_id', 'name', 'attributes', 'enabled', 'locked', 'member_of', 'last_login_at'];
const PROGRESS_EVERY = 5000;

/** Which lock a target's runs share (a session advisory lock: one run of a target at a time, across processes). */
const lockKey = (targetId: string) => `recon:${targetId}`;

export async function reconcileTarget(
  deps: ReconcileDeps,
  ctx: CommandContext,
  opts: ReconcileOptions,
): Promise<RunResult> {
  const target = await getTarget(deps.database.pool, opts.target);
  const client = await deps.database.pool.connect();
  const started = ctx.clock.now();
  const id = ctx.ids();
  let seq = 0;
  let locked = false;
  try {
    const lock = await client.query<{ ok: boolean }>(
      'select pg_try_advisory_lock(hashtextextended($1, 0)) as ok',
      [lockKey(target.id)],
    );
    locked = lock.rows[0]!.ok;
    if (!locked) {
      const running = await client.query<{ seq: number }>(
        `select seq from recon_runs where target_id = $1 and status = 'running' order by seq desc limit 1`,
        [target.id],
      );
      throw new GatehouseError(
        ReconErrors.running,
        `a reconciliation of "${target.name}" is already running${running.rows[0] ? ` (run #${running.rows[0].seq})` : ''}; wait for it to finish`,
        { status: 409 },
      );
    }
    // A run left "running" by a process that died holds no lock any more: it is over.
    await client.query(
      `update recon_runs set status = 'failed', finished_at = $2, reason = 'the process running it stopped'
       where target_id = $1 and status = 'running'`,
      [target.id, started],
    );
    const mode = opts.mode ?? 'full';
    const last = await client.query<{ sync_token: string | null; seq: number }>(
      `select sync_token, seq from recon_runs where target_id = $1 and status = 'completed'
       order by seq desc limit 1`,
      [target.id],
    );
    if (mode === 'incremental' && !last.rows[0]?.sync_token)
      throw new GatehouseError(
        ReconErrors.noSyncToken,
        `"${target.name}" has no completed full reconciliation with a sync position to start from: run a full one first`,
        { status: 409 },
      );
    const ins = await client.query<{ seq: number }>(
      `insert into recon_runs (id, target_id, mode, trigger, status, started_by, started_at)
       values ($1, $2, $3, $4, 'running', $5, $6) returning seq`,
      [id, target.id, mode, opts.trigger ?? 'manual', ctx.actor.name ?? ctx.actor.id, started],
    );
    seq = ins.rows[0]!.seq;
    const finish = async (
      status: RunStatus,
      reason: string | null,
      counts: Partial<RunCounts>,
      opened = 0,
      closed = 0,
    ): Promise<RunResult> => {
      await client.query(
        `update recon_runs set status = $2, reason = $3, counts = $4, findings_opened = $5, findings_closed = $6,
           finished_at = $7, sync_token = $8 where id = $1`,
        [
          id,
          status,
          reason,
          JSON.stringify(counts),
          opened,
          closed,
          ctx.clock.now(),
          status === 'completed' ? syncToken : null,
        ],
      );
      return {
        id,
        seq,
        target: target.name,
        mode,
        status,
        reason,
        counts,
        findingsOpened: opened,
        findingsClosed: closed,
      };
    };

    // READ ─ outside any transaction: a long read holds no locks on Gatehouse's tables.
    await client.query(`drop table if exists recon_stage`);
    await client.query(`create temp table recon_stage (object_id text, name text, attributes jsonb, enabled boolean,
      locked boolean, member_of jsonb, last_login_at timestamptz)`);
    let read = 0;
    let syncToken: string | null = null;
    const deleted: string[] = [];
    const t0 = performance.now();
    try {
      const connector = await openConnector(deps, target.name);
      try {
        if (!connector.capabilities.has('search'))
          throw new GatehouseError(
            ReconErrors.unsupported,
            `the ${connector.type} connector of "${target.name}" cannot list accounts, so it cannot be reconciled`,
            { status: 409 },
          );
        const counted = (o: ConnectorObject) => {
          read += 1;
          if (read % (opts.progressEvery ?? PROGRESS_EVERY) === 0) {
            opts.onProgress?.(read);
            void deps.database.pool
              .query(`update recon_runs set counts = jsonb_build_object('read', $2::int) where id = $1`, [
                id,
                read,
              ])
              .catch(() => undefined);
          }
          return stageRow(o);
        };
        if (mode === 'full') {
          // The sync position before the read: changes made while reading are seen again by the next incremental run.
          if (connector.capabilities.has('sync')) syncToken = (await connector.sync('account', null)).token;
          const rows = async function* () {
            for await (const o of connector.search({
              objectClass: 'account',
              // The target's own page size (its configuration) unless the caller says otherwise.
              ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
            }))
              yield counted(o);
          };
          await copyRows(client, 'recon_stage', STAGE_COLUMNS, rows());
        } else {
          if (!connector.capabilities.has('sync'))
            throw new GatehouseError(
              ReconErrors.unsupported,
              `the ${connector.type} connector of "${target.name}" cannot report changes, so only full reconciliations are possible`,
              { status: 409 },
            );
          let token = last.rows[0]!.sync_token!;
          const rows = async function* () {
            for (;;) {
              const batch = await connector.sync('account', token);
              for (const ch of batch.changes)
                if (ch.type === 'upsert') yield counted(ch.object as ConnectorObject);
                else deleted.push(ch.object.id);
              token = batch.token;
              if (!batch.more) break;
            }
          };
          await copyRows(client, 'recon_stage', STAGE_COLUMNS, rows());
          syncToken = token;
        }
      } finally {
        await connector.close().catch(() => undefined);
      }
    } catch (e) {
      if (e instanceof GatehouseError && e.code === ReconErrors.unsupported) {
        await finish('failed', e.message, { read });
        throw e;
      }
      return finish(
        'failed',
        `the read failed after ${read} account${read === 1 ? '' : 's'}, so nothing was changed: ${describeError(e)}`,
        { read },
      );
    }
    const readSeconds = (performance.now() - t0) / 1000;
    opts.onProgress?.(read);

    let policy: CompiledPolicy | null = null;
    try {
      policy = await loadPolicy(client);
    } catch {
      // A policy that does not compile leaves only the SQL findings (orphans, leavers, inactive): still worth having.
      policy = null;
    }
    const tx: Tx = { client, db: drizzle(client) };
    const maxDrop = policy?.targets.get(target.name)?.policy.reconcile.maxDrop ?? 0.2;
    const prev = await client.query<{ read: number; seq: number }>(
      `select (counts ->> 'read')::int as read, seq from recon_runs
       where target_id = $1 and status = 'completed' and mode = 'full' order by seq desc limit 1`,
      [target.id],
    );
    const previous = prev.rows[0]?.read ?? null;
    await client.query('BEGIN');
    try {
      let result: RunResult;
      if (
        mode === 'full' &&
        previous !== null &&
        previous > 0 &&
        read < previous * (1 - maxDrop) &&
        !opts.force
      ) {
        const drop = Math.round((1 - read / previous) * 100);
        result = await finish(
          'aborted',
          `the read found ${read} account${read === 1 ? '' : 's'}, ${drop}% fewer than the ${previous} of run #${prev.rows[0]!.seq} ` +
            `(the limit is ${Math.round(maxDrop * 100)}%). That looks like a partial read (a wrong base DN or filter, a ` +
            `permission change, a truncated page), so nothing was changed and no account was marked orphaned. Check the ` +
            `target, then run again — with --force if the accounts really are gone.`,
          { read, previous },
        );
        await appendAudit(tx, ctx, {
          action: 'recon.aborted',
          subject: { type: 'target', id: target.id },
          after: { run: result.seq, read, previous },
          reason: result.reason ?? '',
        });
      } else
        result = await settle(
          tx,
          ctx,
          policy,
          target,
          id,
          { read, previous, readSeconds, mode, deleted },
          finish,
        );
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      await finish('failed', `the run failed, so nothing was changed: ${describeError(e)}`, { read });
      throw e;
    }
  } finally {
    await client.query('drop table if exists recon_stage').catch(() => undefined);
    if (locked)
      await client
        .query('select pg_advisory_unlock(hashtextextended($1, 0))', [lockKey(target.id)])
        .catch(() => undefined);
    client.release();
  }
}

function stageRow(o: ConnectorObject): CopyValue[] {
  return [
    o.id,
    o.name,
    o.attributes,
    o.enabled ?? null,
    o.locked ?? null,
    o.memberOf ?? [],
    o.lastLoginAt ? new Date(o.lastLoginAt) : null,
  ];
}

async function settle(
  tx: Tx,
  ctx: CommandContext,
  policy: CompiledPolicy | null,
  target: { id: string; name: string },
  runId: string,
  read: {
    read: number;
    previous: number | null;
    readSeconds: number;
    mode: 'full' | 'incremental';
    /** Incremental: ids the connector reported deleted. */
    deleted: string[];
  },
  finish: (
    status: RunStatus,
    reason: string | null,
    counts: Partial<RunCounts>,
    opened?: number,
    closed?: number,
  ) => Promise<RunResult>,
): Promise<RunResult> {
  const client = tx.client;
  const now = ctx.clock.now();
  const compiled = policy?.targets.get(target.name);
  const t1 = performance.now();
  await client.query('analyze recon_stage');
  const merged = await client.query<{ inserted: boolean }>(
    `insert into recon_objects as o (id, target_id, object_id, name, attributes, enabled, locked, member_of,
       last_login_at, hash, first_seen_at, changed_at)
     select gen_random_uuid(), $1, s.object_id, s.name, s.attributes, s.enabled, s.locked,
       array(select jsonb_array_elements_text(s.member_of) order by 1), s.last_login_at,
       md5(concat_ws('|', s.name, s.attributes::text, s.enabled, s.locked, s.member_of::text, s.last_login_at)), $2, $2
     from recon_stage s
     on conflict (target_id, object_id) do update set name = excluded.name, attributes = excluded.attributes,
       enabled = excluded.enabled, locked = excluded.locked, member_of = excluded.member_of,
       last_login_at = excluded.last_login_at, hash = excluded.hash, changed_at = excluded.changed_at, gone_at = null
     where o.hash <> excluded.hash or o.gone_at is not null
     returning (xmax = 0) as inserted`,
    [target.id, now],
  );
  const inserted = merged.rows.filter((r) => r.inserted).length;
  // The merge may have added or changed a target's worth of rows in this transaction: the joins that follow need
  // statistics that know it (autovacuum cannot see uncommitted rows), or PostgreSQL may loop over the whole stage
  // once per account. The stage's index keeps the "gone" anti-join cheap whatever plan is chosen.
  if (merged.rows.length > 1000) await client.query('analyze recon_objects');
  await client.query('create index on recon_stage (object_id)');
  const gone =
    read.mode === 'full'
      ? await client.query(
          `update recon_objects o set gone_at = $2
           where o.target_id = $1 and o.gone_at is null
             and not exists (select 1 from recon_stage s where s.object_id = o.object_id)`,
          [target.id, now],
        )
      : await client.query(
          `update recon_objects o set gone_at = $2
           where o.target_id = $1 and o.gone_at is null and o.object_id = any($3::text[])`,
          [target.id, now, read.deleted],
        );
  const t2 = performance.now();
  const corr = await correlate(client, target.id, correlationRules(compiled));
  const t3 = performance.now();
  const f = await refreshFindings(client, policy, target, runId, now);
  const t4 = performance.now();
  const counts: RunCounts = {
    read: read.read,
    new: inserted,
    changed: merged.rows.length - inserted,
    gone: gone.rowCount ?? 0,
    ...corr,
    previous: read.previous,
    seconds: {
      read: round(read.readSeconds),
      merge: round((t2 - t1) / 1000),
      correlate: round((t3 - t2) / 1000),
      findings: round((t4 - t3) / 1000),
    },
  };
  const result = await finish('completed', null, counts, f.opened, f.closed);
  await appendAudit(tx, ctx, {
    action: 'recon.completed',
    subject: { type: 'target', id: target.id },
    after: {
      run: result.seq,
      read: read.read,
      new: counts.new,
      changed: counts.changed,
      gone: counts.gone,
      unmatched: counts.unmatched,
      findingsOpened: f.opened,
      findingsClosed: f.closed,
      findingsReopened: f.reopened,
      openFindings: f.open,
    },
  });
  return result;
}

const round = (s: number) => Math.round(s * 1000) / 1000;
