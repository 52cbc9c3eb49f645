/**
 * Applying a change set: per target (one applier per target across processes, through an advisory lock), the
 * operations of each account run in order as a chain, `concurrency` chains at once, no faster than
 * `ratePerSecond`. Each operation reads the before-state, calls the connector, and commits {operation status,
 * account row, audit event} in one transaction. Idempotent: an operation whose effect is already there is recorded
 * as a no-op (and is left out of the inverse); a re-run skips operations already done.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { appendAudit } from '../audit/index.ts';
import { ConnectorError, isConnectorError } from '../connectors/kit/errors.ts';
import {
  Secret,
  type AttributeDelta,
  type AttributeValue,
  type Connector,
  type ConnectorObject,
  type ObjectRef,
  type Scalar,
} from '../connectors/kit/types.ts';
import { transaction, type Tx } from '../db/pool.ts';
import type { Jobs, QueueDefinition } from '../jobs/index.ts';
import type { CommandContext } from '../kit/context.ts';
import { describeError } from '../kit/errors.ts';
import { uuid } from '../kit/ids.ts';
import { directReportsOf } from '../identities/index.ts';
import { loadPolicy } from '../policy/index.ts';
import { openConnector, type OpenDeps } from '../targets/index.ts';
import { APPLY_QUEUE, PLAN_QUEUE } from './plan.ts';
import { ACCOUNT_REF, sameValue, type OpPayload } from './planner.ts';

export interface ApplyDeps extends OpenDeps {
  jobs: Pick<Jobs, 'send'>;
  /** Waits between retries (tests pass a fast one). */
  sleep?: (ms: number) => Promise<void>;
}

/** Attempts per operation for retryable errors (timeouts, rate limits, a busy target). */
export const MAX_ATTEMPTS = 4;
const BACKOFF_MS = 500;
const MAX_WAIT_MS = 30_000;

interface OpRow {
  id: string;
  seq: number;
  person_id: string | null;
  target_id: string;
  target_name: string;
  account_id: string | null;
  kind: OpPayload['kind'];
  summary: string;
  payload: OpPayload;
  status: string;
}

interface AccountRow {
  id: string;
  object_id: string;
  name: string;
  attributes: Record<string, AttributeValue>;
  enabled: boolean;
  memberships: string[];
}

export interface ApplyResult {
  status: 'applied' | 'failed' | 'skipped';
  done: number;
  failed: number;
  skipped: number;
}

const systemCtx = (deps: ApplyDeps): CommandContext => ({
  actor: { type: 'system', id: 'provisioning', name: 'provisioning' },
  clock: deps.clock,
  ids: deps.ids,
});

/** A random initial password that satisfies AD's complexity rules (never stored, never shown). */
export function generatePassword(): string {
  const sets = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!#%+-=?@_'];
  const chars = sets.map((s) => s[randomInt(s.length)]!);
  const all = sets.join('');
  for (const b of randomBytes(20)) chars.push(all[b % all.length]!);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

class TokenBucket {
  #tokens: number;
  #last = Date.now();
  readonly #rate: number;
  constructor(rate: number) {
    this.#rate = rate;
    this.#tokens = Math.max(1, rate);
  }
  async take(): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.#tokens = Math.min(
        Math.max(1, this.#rate),
        this.#tokens + ((now - this.#last) / 1000) * this.#rate,
      );
      this.#last = now;
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.#tokens) / this.#rate) * 1000)));
    }
  }
}

const listOf = (v: AttributeValue | undefined): Scalar[] =>
  v === null || v === undefined ? [] : Array.isArray(v) ? [...(v as readonly Scalar[])] : [v as Scalar];

/** Outcome of one operation: what was there before, whether anything changed, and the account row's new state. */
interface Outcome {
  before: Record<string, unknown>;
  noop: boolean;
  account?: Partial<{
    objectId: string;
    name: string;
    attributes: Record<string, AttributeValue>;
    enabled: boolean;
    state: 'active' | 'disabled' | 'quarantined' | 'deleted';
    quarantineUntil: Date | null;
    addMembership: string;
    removeMembership: string;
  }>;
  audit: { action: string; before?: unknown; after?: unknown };
}

export async function applyChangeSet(deps: ApplyDeps, changeSetId: string): Promise<ApplyResult> {
  const pool = deps.database.pool;
  const now = deps.clock.now();
  const claimed = await pool.query<{ title: string }>(
    `update change_sets set status = 'applying', started_at = coalesce(started_at, $2)
     where id = $1 and status in ('approved', 'applying') returning title`,
    [changeSetId, now],
  );
  if (!claimed.rowCount) return { status: 'skipped', done: 0, failed: 0, skipped: 0 };
  const title = claimed.rows[0]!.title;
  const ops = (
    await pool.query<OpRow>(
      `select o.id, o.seq, o.person_id, o.target_id, t.name as target_name, o.account_id, o.kind, o.summary, o.payload,
         o.status
       from change_ops o join targets t on t.id = o.target_id
       where o.change_set_id = $1 and o.status in ('pending', 'running') order by o.seq`,
      [changeSetId],
    )
  ).rows;
  const byTarget = new Map<string, OpRow[]>();
  for (const op of ops) {
    const list = byTarget.get(op.target_id);
    if (list) list.push(op);
    else byTarget.set(op.target_id, [op]);
  }
  const policy = await loadPolicy(pool).catch(() => undefined);
  await Promise.all(
    [...byTarget.values()].map((list) =>
      applyTarget(deps, title, list, {
        concurrency: policy?.targets.get(list[0]!.target_name)?.policy.apply.concurrency ?? 4,
        rate: policy?.targets.get(list[0]!.target_name)?.policy.apply.ratePerSecond ?? 100,
        usesManager: (policy?.targets.get(list[0]!.target_name)?.attributes ?? []).some(([, e]) =>
          /\bmanager\./.test(e.source),
        ),
        catalogByObject: new Map(
          [...(policy?.catalog.values() ?? [])]
            .filter((e) => e.targetId === list[0]!.target_id)
            .map((e) => [e.objectId, e.id]),
        ),
      }),
    ),
  );
  return transaction(deps.database, async (tx) => {
    const counts = await tx.client.query<{ status: string; n: number }>(
      `select status, count(*)::int as n from change_ops where change_set_id = $1 group by status`,
      [changeSetId],
    );
    const n = (s: string) => counts.rows.find((r) => r.status === s)?.n ?? 0;
    const result: ApplyResult = {
      status: n('failed') + n('skipped') + n('pending') + n('running') ? 'failed' : 'applied',
      done: n('done'),
      failed: n('failed'),
      skipped: n('skipped'),
    };
    await tx.client.query(`update change_sets set status = $2, finished_at = $3 where id = $1`, [
      changeSetId,
      result.status,
      deps.clock.now(),
    ]);
    await appendAudit(tx, systemCtx(deps), {
      action: 'changeset.applied',
      subject: { type: 'change_set', id: changeSetId },
      after: { status: result.status, done: result.done, failed: result.failed, skipped: result.skipped },
    });
    return result;
  });
}

async function applyTarget(
  deps: ApplyDeps,
  title: string,
  ops: OpRow[],
  opts: { concurrency: number; rate: number; usesManager: boolean; catalogByObject: Map<string, string> },
): Promise<void> {
  const targetId = ops[0]!.target_id;
  const lock = await deps.database.pool.connect();
  let connector: Connector | undefined;
  try {
    await lock.query(`select pg_advisory_lock(hashtext('provisioning:' || $1))`, [targetId]);
    try {
      connector = await openConnector(deps, ops[0]!.target_name);
    } catch (e) {
      await failOps(deps, ops, errorOf(e));
      return;
    }
    const chains = new Map<string, OpRow[]>();
    for (const op of ops) {
      const key = op.person_id ?? op.account_id ?? op.id;
      const list = chains.get(key);
      if (list) list.push(op);
      else chains.set(key, [op]);
    }
    /** Resolves when a person's account on this target exists (their create finished, or failed). */
    const created = new Map<string, Promise<void>>();
    const signals = new Map<string, () => void>();
    for (const [person, list] of chains)
      if (list.some((o) => o.kind === 'create_account'))
        created.set(person, new Promise((resolve) => signals.set(person, resolve)));
    const bucket = new TokenBucket(opts.rate);
    const queue = [...chains.entries()];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [person, list] = next;
        try {
          await runChain(deps, connector!, title, list, bucket, created, opts.catalogByObject);
        } finally {
          signals.get(person)?.();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, chains.size) }, worker));
    if (opts.usesManager) await recomputeReports(deps, ops);
  } finally {
    await connector?.close().catch(() => undefined);
    await lock
      .query(`select pg_advisory_unlock(hashtext('provisioning:' || $1))`, [targetId])
      .catch(() => undefined);
    lock.release();
  }
}

/**
 * New accounts that reports' `manager` attribute refers to: reports planned in the same change set already point at
 * them (created first); others are recomputed now that the manager's account exists.
 */
async function recomputeReports(deps: ApplyDeps, ops: OpRow[]): Promise<void> {
  const creates = ops.filter((o) => o.kind === 'create_account').map((o) => o.id);
  if (!creates.length) return;
  const done = await deps.database.pool.query<{ person_id: string }>(
    `select person_id from change_ops where id = any($1::uuid[]) and status = 'done' and not noop and person_id is not null`,
    [creates],
  );
  const inSet = new Set(ops.map((o) => o.person_id));
  const reports = (
    await directReportsOf(
      deps.database.pool,
      done.rows.map((r) => r.person_id),
    )
  ).filter((id) => !inSet.has(id));
  if (reports.length)
    await deps.jobs
      .send(PLAN_QUEUE, { personIds: reports, reason: 'their manager has a new account' })
      .catch((e: unknown) =>
        deps.log.warn({ err: describeError(e) }, 'could not schedule the reports’ recompute'),
      );
}

interface OpError {
  code: string;
  message: string;
  retryable: boolean;
}

function errorOf(e: unknown): OpError {
  if (isConnectorError(e)) {
    const target =
      e.targetMessage && !e.message.includes(e.targetMessage) ? ` (target said: ${e.targetMessage})` : '';
    return { code: e.code, message: `${e.message}${target}`, retryable: e.retryable };
  }
  return { code: 'internal', message: describeError(e), retryable: false };
}

async function failOps(deps: ApplyDeps, ops: OpRow[], error: OpError, first = true): Promise<void> {
  if (!ops.length) return;
  const [head, ...rest] = ops;
  await deps.database.pool.query(
    `update change_ops set status = 'failed', error = $2, done_at = null where id = $1`,
    [head!.id, JSON.stringify(error)],
  );
  const skipped: OpError = {
    code: 'not_attempted',
    message: first ? `not attempted: "${head!.summary}" failed first` : error.message,
    retryable: true,
  };
  if (rest.length)
    await deps.database.pool.query(
      `update change_ops set status = 'skipped', error = $2 where id = any($1::uuid[])`,
      [rest.map((o) => o.id), JSON.stringify(skipped)],
    );
}

async function runChain(
  deps: ApplyDeps,
  connector: Connector,
  title: string,
  ops: OpRow[],
  bucket: TokenBucket,
  created: Map<string, Promise<void>>,
  catalogByObject: Map<string, string>,
): Promise<void> {
  const pool = deps.database.pool;
  let account: AccountRow | undefined;
  const personId = ops[0]!.person_id;
  const targetId = ops[0]!.target_id;
  const loadAccount = async () => {
    const r = await pool.query<AccountRow>(
      `select id, object_id, name, attributes, enabled, memberships from accounts
       where ${ops[0]!.account_id ? 'id = $1' : `person_id = $1 and target_id = $2 and state <> 'deleted'`}`,
      ops[0]!.account_id ? [ops[0]!.account_id] : [personId, targetId],
    );
    return r.rows[0];
  };
  account = await loadAccount();
  /** The account as the target shows it now (read once per chain, kept current as operations succeed). */
  let live: ConnectorObject | undefined;
  const liveAccount = async (): Promise<ConnectorObject> => {
    if (live) return live;
    const got = account ? await connector.get(refOf(account)) : undefined;
    if (!got)
      throw new ConnectorError(
        'not_found',
        `the account ${account?.name ?? ''} is not on the target any more`,
      );
    return (live = got);
  };

  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const startedAt = deps.clock.now();
    let attempts = 0;
    let outcome: Outcome | undefined;
    let failure: OpError | undefined;
    for (;;) {
      attempts += 1;
      await bucket.take();
      try {
        outcome = await runOp(deps, connector, op, account, liveAccount, created, catalogByObject);
        break;
      } catch (e) {
        failure = errorOf(e);
        if (!failure.retryable || attempts >= MAX_ATTEMPTS) break;
        live = undefined;
        const wait = Math.min(
          MAX_WAIT_MS,
          isConnectorError(e) && e.retryAfterMs ? e.retryAfterMs : BACKOFF_MS * 2 ** (attempts - 1),
        );
        await (deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))))(wait);
      }
    }
    if (!outcome) {
      await pool.query(`update change_ops set attempts = $2, started_at = $3 where id = $1`, [
        op.id,
        attempts,
        startedAt,
      ]);
      await failOps(deps, ops.slice(i), failure!);
      return;
    }
    account = await transaction(deps.database, (tx) =>
      recordOutcome(tx, deps, title, op, account, outcome!, attempts, startedAt),
    );
    if (outcome.account?.state === 'quarantined' && outcome.account.quarantineUntil && personId)
      await deps.jobs
        .send(
          PLAN_QUEUE,
          { personIds: [personId], reason: 'quarantine over' },
          { startAfter: outcome.account.quarantineUntil },
        )
        .catch((e: unknown) =>
          deps.log.warn({ err: describeError(e) }, 'could not schedule the end of quarantine'),
        );
    if (live && outcome.account) {
      const a = outcome.account;
      if (a.enabled !== undefined) live.enabled = a.enabled;
      if (a.name) live.name = a.name;
      if (a.addMembership || a.removeMembership) {
        const group = (op.payload as { groupId: string }).groupId;
        const set = new Set(live.memberOf ?? []);
        if (a.addMembership) set.add(group);
        else set.delete(group);
        live.memberOf = [...set];
      }
    }
    if (op.kind === 'update_account' || op.kind === 'rename_account') live = undefined;
  }
}

const refOf = (a: Pick<AccountRow, 'object_id' | 'name'>): ObjectRef => ({
  objectClass: 'account',
  id: a.object_id,
  name: a.name,
});

/** Replace `ACCOUNT_REF<personId>` markers with that person's account name on this target (created first). */
async function resolveRefs(
  deps: ApplyDeps,
  targetId: string,
  attributes: Record<string, AttributeValue>,
  created: Map<string, Promise<void>>,
): Promise<Record<string, AttributeValue>> {
  const out: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(attributes)) {
    if (typeof v === 'string' && v.startsWith(ACCOUNT_REF)) {
      const person = v.slice(ACCOUNT_REF.length);
      await created.get(person);
      const r = await deps.database.pool.query<{ name: string }>(
        `select name from accounts where person_id = $1 and target_id = $2 and state <> 'deleted'`,
        [person, targetId],
      );
      out[k] = r.rows[0]?.name ?? null;
    } else out[k] = v;
  }
  return out;
}

async function runOp(
  deps: ApplyDeps,
  c: Connector,
  op: OpRow,
  account: AccountRow | undefined,
  live: () => Promise<ConnectorObject>,
  created: Map<string, Promise<void>>,
  catalogByObject: Map<string, string>,
): Promise<Outcome> {
  const p = op.payload;
  const now = deps.clock.now();
  if (p.kind === 'create_account') {
    if (account) return { before: { existed: true }, noop: true, audit: { action: 'account.created' } };
    const attributes = Object.fromEntries(
      Object.entries(await resolveRefs(deps, op.target_id, p.attributes, created)).filter(
        ([, v]) => v !== null,
      ),
    );
    let obj: ConnectorObject;
    let adopted = false;
    try {
      obj = await c.create('account', attributes, {
        enabled: p.enabled,
        ...(p.password === 'generate' ? { password: new Secret(generatePassword()) } : {}),
        // "Must change at next sign-in" only means something for a password Gatehouse set.
        mustChangePassword: p.password === 'generate' && p.mustChange,
      });
    } catch (e) {
      if (!isConnectorError(e, 'already_exists')) throw e;
      const found = await findExisting(c, attributes);
      if (!found) throw e;
      obj = found;
      adopted = true;
    }
    return {
      before: adopted ? { existed: true, objectId: obj.id } : { absent: true },
      noop: adopted,
      account: {
        objectId: obj.id,
        name: obj.name,
        attributes,
        enabled: obj.enabled ?? p.enabled,
        state: (obj.enabled ?? p.enabled) ? 'active' : 'disabled',
      },
      audit: {
        action: 'account.created',
        after: { name: obj.name, attributes, enabled: obj.enabled ?? p.enabled, adopted },
      },
    };
  }
  if (!account)
    throw new ConnectorError('not_found', 'Gatehouse knows no account for this person on this target');
  const ref = refOf(account);
  switch (p.kind) {
    case 'update_account': {
      const changes = await Promise.all(
        p.changes.map(async (ch) => ({
          ...ch,
          to: (await resolveRefs(deps, op.target_id, { v: ch.to }, created)).v ?? null,
        })),
      );
      const cur = await c.get(
        ref,
        changes.map((ch) => ch.attribute),
      );
      if (!cur)
        throw new ConnectorError('not_found', `the account ${account.name} is not on the target any more`);
      const before: Record<string, AttributeValue> = {};
      const deltas: AttributeDelta[] = [];
      for (const ch of changes) {
        const current = cur.attributes[ch.attribute] ?? null;
        before[ch.attribute] = current;
        if (!sameValue(current, ch.to))
          deltas.push({ attribute: ch.attribute, op: 'replace', values: listOf(ch.to) });
      }
      const after = Object.fromEntries(changes.map((ch) => [ch.attribute, ch.to]));
      if (deltas.length) await c.update(ref, deltas);
      const fresh = deltas.length
        ? await c.get({ objectClass: 'account', id: account.object_id })
        : undefined;
      return {
        before: { attributes: before },
        noop: !deltas.length,
        account: { attributes: { ...account.attributes, ...after }, ...(fresh ? { name: fresh.name } : {}) },
        audit: { action: 'account.updated', before, after },
      };
    }
    case 'rename_account': {
      const cur = await live();
      const rdn = /^[^=]+=((?:\\.|[^,\\])+)/.exec(cur.name)?.[1]?.replace(/\\(.)/g, '$1') ?? cur.name;
      if (rdn.toLowerCase() === p.to.toLowerCase())
        return {
          before: { name: cur.name },
          noop: true,
          account: { name: cur.name },
          audit: { action: 'account.renamed' },
        };
      const next = await c.rename(ref, p.to);
      return {
        before: { name: cur.name, value: p.from },
        noop: false,
        account: { name: next.name ?? cur.name, attributes: { ...account.attributes, [p.attribute]: p.to } },
        audit: { action: 'account.renamed', before: { name: cur.name }, after: { name: next.name } },
      };
    }
    case 'enable_account':
    case 'disable_account': {
      const want = p.kind === 'enable_account';
      const cur = await live();
      const quarantineDays = p.kind === 'disable_account' ? p.quarantineDays : null;
      const noop = cur.enabled === want;
      if (!noop) await (want ? c.enable(ref) : c.disable(ref));
      const quarantineUntil =
        quarantineDays !== null ? new Date(now.getTime() + quarantineDays * 86_400_000) : null;
      return {
        before: { enabled: cur.enabled ?? !want },
        noop,
        account: {
          enabled: want,
          state: want ? 'active' : quarantineUntil ? 'quarantined' : 'disabled',
          quarantineUntil,
        },
        audit: {
          action: want ? 'account.enabled' : 'account.disabled',
          before: { enabled: cur.enabled ?? null },
          after: {
            enabled: want,
            ...(quarantineUntil ? { quarantineUntil: quarantineUntil.toISOString() } : {}),
          },
        },
      };
    }
    case 'add_member':
    case 'remove_member': {
      const add = p.kind === 'add_member';
      const group: ObjectRef = { objectClass: 'group', id: p.groupId, name: p.groupName };
      const cur = await live();
      const known = cur.memberOf !== undefined;
      const member = known ? cur.memberOf!.includes(p.groupId) : undefined;
      let noop = member === add;
      if (!noop)
        try {
          await (add ? c.addMember(group, ref) : c.removeMember(group, ref));
        } catch (e) {
          if (!(add ? isConnectorError(e, 'already_exists') : isConnectorError(e, 'not_found') && !known))
            throw e;
          noop = true;
        }
      return {
        before: { member: member ?? !add },
        noop,
        account: add ? { addMembership: p.entitlementId } : { removeMembership: p.entitlementId },
        audit: {
          action: add ? 'account.member_added' : 'account.member_removed',
          after: { group: p.groupName, entitlement: p.key },
        },
      };
    }
    case 'delete_account': {
      const cur = await c.get(ref);
      if (!cur)
        return {
          before: { absent: true },
          noop: true,
          account: { state: 'deleted' },
          audit: { action: 'account.deleted' },
        };
      await c.delete(ref);
      const memberships = (cur.memberOf ?? [])
        .map((g) => catalogByObject.get(g))
        .filter((x): x is string => !!x);
      return {
        before: {
          name: cur.name,
          attributes: account.attributes,
          enabled: cur.enabled ?? false,
          memberships,
        },
        noop: false,
        account: { state: 'deleted' },
        audit: { action: 'account.deleted', before: { name: cur.name, enabled: cur.enabled } },
      };
    }
  }
}

/** After `already_exists`: the account that holds the name, to adopt it instead of failing. */
async function findExisting(
  c: Connector,
  attributes: Record<string, AttributeValue>,
): Promise<ConnectorObject | undefined> {
  for (const key of ['sAMAccountName', 'uid', 'userName', 'login', 'cn']) {
    const v = attributes[key];
    if (typeof v !== 'string') continue;
    for await (const o of c.search({
      objectClass: 'account',
      filter: { op: 'eq', attribute: key, value: v },
    }))
      return o;
  }
  return undefined;
}

async function recordOutcome(
  tx: Tx,
  deps: ApplyDeps,
  title: string,
  op: OpRow,
  account: AccountRow | undefined,
  o: Outcome,
  attempts: number,
  startedAt: Date,
): Promise<AccountRow | undefined> {
  const now = deps.clock.now();
  let row = account;
  const a = o.account;
  if (a && op.kind === 'create_account' && !account) {
    const id = deps.ids();
    const r = await tx.client.query<AccountRow>(
      `insert into accounts (id, target_id, person_id, object_id, name, attributes, enabled, state, created_at, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
       returning id, object_id, name, attributes, enabled, memberships`,
      [
        id,
        op.target_id,
        op.person_id,
        a.objectId,
        a.name,
        JSON.stringify(a.attributes ?? {}),
        a.enabled,
        a.state,
        now,
      ],
    );
    row = r.rows[0];
  } else if (a && account) {
    const r = await tx.client.query<AccountRow>(
      `update accounts set name = coalesce($2, name), attributes = coalesce($3::jsonb, attributes),
         enabled = coalesce($4, enabled), state = coalesce($5, state),
         quarantine_until = case when $6 then $7::timestamptz else quarantine_until end,
         memberships = case when $8::uuid is not null then array(select distinct unnest(memberships || $8::uuid))
                            when $9::uuid is not null then array_remove(memberships, $9::uuid) else memberships end,
         updated_at = $10
       where id = $1 returning id, object_id, name, attributes, enabled, memberships`,
      [
        account.id,
        a.name ?? null,
        a.attributes ? JSON.stringify(a.attributes) : null,
        a.enabled ?? null,
        a.state ?? null,
        a.quarantineUntil !== undefined,
        a.quarantineUntil ?? null,
        a.addMembership ?? null,
        a.removeMembership ?? null,
        now,
      ],
    );
    row = r.rows[0];
  }
  await tx.client.query(
    `update change_ops set status = 'done', before = $2, noop = $3, attempts = $4, started_at = $5, done_at = $6,
       account_id = coalesce(account_id, $7), error = null
     where id = $1`,
    [op.id, JSON.stringify(o.before), o.noop, attempts, startedAt, now, row?.id ?? null],
  );
  if (!o.noop && row)
    await appendAudit(tx, systemCtx(deps), {
      action: o.audit.action,
      subject: { type: 'account', id: row.id },
      before: o.audit.before,
      after: o.audit.after,
      reason: title,
      ...(op.person_id ? { dataSubject: `person:${op.person_id}` } : {}),
    });
  return row;
}

export interface ApplyJob {
  changeSetId: string;
}

/** The apply queue: one job per change set (approved, retried or undone). */
export const applyQueue: QueueDefinition<ApplyJob> = {
  name: APPLY_QUEUE,
  description: 'Apply a change set to its targets',
  policy: { retryLimit: 3, retryDelaySeconds: 5, expireInSeconds: 3600 },
  async handle(jobs, ctx) {
    if (!ctx.secrets) throw new Error('the apply queue needs the secret box (Jobs.secrets)');
    for (const job of jobs)
      await applyChangeSet(
        {
          database: ctx.database,
          secrets: ctx.secrets,
          log: ctx.log,
          clock: ctx.clock,
          ids: uuid,
          jobs: ctx.jobs,
        },
        job.data.changeSetId,
      );
  },
};
