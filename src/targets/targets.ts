import type pg from 'pg';
import { z } from 'zod';
import { appendAudit } from '../audit/index.ts';
import { CONNECTORS, connectorDefinition } from '../connectors/index.ts';
import { ConnectorError, isConnectorError } from '../connectors/kit/errors.ts';
import type { Connector, ConnectorDefinition, TestResult } from '../connectors/kit/types.ts';
import type { Database, Tx } from '../db/pool.ts';
import type { Clock } from '../kit/clock.ts';
import type { CommandContext } from '../kit/context.ts';
import { GatehouseError, describeError, type FieldProblem } from '../kit/errors.ts';
import type { IdGenerator } from '../kit/ids.ts';
import type { Logger } from '../kit/log.ts';
import type { SecretBox } from '../kit/secret-box.ts';
import { manualBook } from './book.ts';

export const TargetErrors = {
  notFound: 'target_not_found',
  invalid: 'target_invalid',
  exists: 'target_exists',
  disabled: 'target_disabled',
  hasOpenTasks: 'target_has_open_tasks',
} as const;

/** Lower-case letters, digits, ".", "_", "-": safe in URLs, file names and CLI arguments. */
export const TARGET_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export type Registry = readonly ConnectorDefinition<unknown>[];

export interface LastTest {
  ok: boolean;
  at: string;
  /** The ConnectorError code of a failed test. */
  code: string | null;
  message: string | null;
}

/** A target as the API shows it: configuration without credentials, and for each credential only whether it is set. */
export interface TargetView {
  id: string;
  name: string;
  connector: string;
  config: Record<string, unknown>;
  secrets: Record<string, 'set' | 'not set'>;
  enabled: boolean;
  lastTest: LastTest | null;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

export interface TargetRow {
  id: string;
  name: string;
  connector: string;
  config: Record<string, unknown>;
  secret_names: string[];
  secrets: string | null;
  enabled: boolean;
  last_test_at: Date | null;
  last_test_ok: boolean | null;
  last_test_code: string | null;
  last_test_message: string | null;
  created_at: Date;
  created_by: string;
  updated_at: Date;
  updated_by: string;
}

type Q = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/** What reading and writing credentials needs: the SecretBox, and the connector registry (tests pass their own). */
export interface SecretDeps {
  secrets: SecretBox;
  connectors?: Registry;
}

/** What opening a live connector needs. */
export interface OpenDeps extends SecretDeps {
  database: Pick<Database, 'pool'>;
  log: Logger;
  clock: Clock;
  ids: IdGenerator;
}

const aad = (targetId: string) => `target:${targetId}`;

function secretFieldsOf(def: ConnectorDefinition<unknown> | undefined): readonly string[] {
  return def?.secretFields ?? [];
}

export function toView(r: TargetRow, registry: Registry = CONNECTORS): TargetView {
  const fields = secretFieldsOf(connectorDefinition(r.connector, registry));
  const present = new Set(r.secrets ? r.secret_names : []);
  return {
    id: r.id,
    name: r.name,
    connector: r.connector,
    config: r.config,
    secrets: Object.fromEntries(fields.map((f) => [f, present.has(f) ? 'set' : 'not set'])),
    enabled: r.enabled,
    lastTest: r.last_test_at
      ? {
          ok: r.last_test_ok === true,
          at: r.last_test_at.toISOString(),
          code: r.last_test_code,
          message: r.last_test_message,
        }
      : null,
    createdAt: r.created_at.toISOString(),
    createdBy: r.created_by,
    updatedAt: r.updated_at.toISOString(),
    updatedBy: r.updated_by,
  };
}

function seal(box: SecretBox, targetId: string, values: Record<string, unknown>): string | null {
  if (Object.keys(values).length === 0) return null;
  return box.seal(JSON.stringify(values), aad(targetId));
}

function unseal(box: SecretBox, r: Pick<TargetRow, 'id' | 'secrets'>): Record<string, unknown> {
  if (!r.secrets) return {};
  return JSON.parse(box.open(r.secrets, aad(r.id))) as Record<string, unknown>;
}

export function checkTargetName(name: string): void {
  if (!TARGET_NAME_RE.test(name))
    throw new GatehouseError(
      TargetErrors.invalid,
      `"${name}" is not a valid target name: use lower-case letters, digits, ".", "_" or "-" (up to 63, starting with a letter or digit)`,
      { problems: [{ field: 'name', message: 'lower-case letters, digits, ".", "_" or "-" (up to 63)' }] },
    );
}

function definitionFor(type: string, registry: Registry): ConnectorDefinition<unknown> {
  const def = connectorDefinition(type, registry);
  if (!def)
    throw new GatehouseError(
      TargetErrors.invalid,
      `there is no connector type "${type}" (known: ${registry.map((c) => c.type).join(', ')})`,
      { problems: [{ field: 'connector', message: `one of ${registry.map((c) => c.type).join(', ')}` }] },
    );
  return def;
}

/** Replace any credential that a message happens to repeat (a connector's own check might echo its input). */
function scrub(message: string, secrets: Record<string, unknown>): string {
  let m = message;
  for (const v of Object.values(secrets))
    if (typeof v === 'string' && v.length >= 4) m = m.split(v).join('[secret]');
  return m;
}

/**
 * Validate a whole configuration (credentials included) with the connector's schema, then split it: the
 * credentials go to the sealed blob, the rest is stored as given. Problems name `config.<path>`.
 */
function validateConfig(
  def: ConnectorDefinition<unknown>,
  full: Record<string, unknown>,
): { plain: Record<string, unknown>; secret: Record<string, unknown>; parsed: unknown } {
  const fields = new Set(def.secretFields);
  const secret: Record<string, unknown> = {};
  const plain: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(full)) {
    if (v === undefined) continue;
    if (fields.has(k)) secret[k] = v;
    else plain[k] = v;
  }
  const r = def.configSchema.safeParse(full);
  if (!r.success) {
    const problems: FieldProblem[] = r.error.issues.map((i) => ({
      field: ['config', ...i.path.map(String)].join('.'),
      message: scrub(i.message, secret),
    }));
    throw new GatehouseError(
      TargetErrors.invalid,
      `the ${def.title} configuration is not valid: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
      { problems },
    );
  }
  return { plain, secret, parsed: r.data };
}

const createSchema = z
  .object({
    name: z.string(),
    connector: z.string(),
    config: z.record(z.string(), z.unknown()).default({}),
    enabled: z.boolean().optional(),
  })
  .strict();

const updateSchema = z
  .object({
    config: z.record(z.string(), z.unknown()).optional(),
    enabled: z.boolean().optional(),
  })
  .strict();

function parseInput<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const r = schema.safeParse(input);
  if (!r.success) {
    const problems = r.error.issues.map((i) => ({ field: i.path.join('.') || what, message: i.message }));
    throw new GatehouseError(
      TargetErrors.invalid,
      `the ${what} is not valid: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
      { problems },
    );
  }
  return r.data;
}

const actorName = (ctx: CommandContext) => ctx.actor.name ?? ctx.actor.id;

/** What the audit trail keeps of a target: never a credential, only which credentials are set. */
function audited(v: TargetView) {
  return {
    name: v.name,
    connector: v.connector,
    config: v.config,
    secrets: v.secrets,
    enabled: v.enabled,
  };
}

export async function listTargets(db: Q, registry: Registry = CONNECTORS): Promise<TargetView[]> {
  const r = await db.query<TargetRow>('select * from targets order by name');
  return r.rows.map((row) => toView(row, registry));
}

export async function findTargetRow(db: Q, name: string, opts: { lock?: boolean } = {}): Promise<TargetRow> {
  const r = await db.query<TargetRow>(
    `select * from targets where name = $1${opts.lock ? ' for update' : ''}`,
    [name],
  );
  if (!r.rows[0])
    throw new GatehouseError(TargetErrors.notFound, `there is no target named "${name}"`, { status: 404 });
  return r.rows[0];
}

export async function getTarget(db: Q, name: string, registry: Registry = CONNECTORS): Promise<TargetView> {
  return toView(await findTargetRow(db, name), registry);
}

/** Add a target: the configuration is checked by its connector, credentials sealed, the addition audited. */
export async function createTarget(
  tx: Tx,
  ctx: CommandContext,
  deps: SecretDeps,
  input: unknown,
): Promise<TargetView> {
  const registry = deps.connectors ?? CONNECTORS;
  const p = parseInput(createSchema, input, 'target');
  checkTargetName(p.name);
  const def = definitionFor(p.connector, registry);
  const { plain, secret } = validateConfig(def, p.config);
  const id = ctx.ids();
  const now = ctx.clock.now();
  const sealed = seal(deps.secrets, id, secret);
  let row: TargetRow;
  try {
    await tx.client.query('savepoint target_insert');
    const r = await tx.client.query<TargetRow>(
      `insert into targets (id, name, connector, config, secret_names, secrets, enabled, created_at, created_by,
         updated_at, updated_by)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8, $9) returning *`,
      [
        id,
        p.name,
        def.type,
        JSON.stringify(plain),
        Object.keys(secret).sort(),
        sealed,
        p.enabled ?? true,
        now,
        actorName(ctx),
      ],
    );
    row = r.rows[0]!;
  } catch (e) {
    if ((e as { code?: string }).code === '23505') {
      await tx.client.query('rollback to savepoint target_insert');
      throw new GatehouseError(TargetErrors.exists, `a target named "${p.name}" already exists`, {
        status: 409,
        problems: [{ field: 'name', message: 'already taken' }],
      });
    }
    throw e;
  }
  const view = toView(row, registry);
  await appendAudit(tx, ctx, {
    action: 'target.created',
    subject: { type: 'target', id },
    after: audited(view),
  });
  return view;
}

/**
 * Change a target. `config` is merged into the stored one key by key (null removes a key); a credential left out
 * keeps its stored value, so a form need never show it. The result is checked as a whole by the connector.
 */
export async function updateTarget(
  tx: Tx,
  ctx: CommandContext,
  deps: SecretDeps,
  name: string,
  input: unknown,
): Promise<TargetView> {
  const registry = deps.connectors ?? CONNECTORS;
  const p = parseInput(updateSchema, input, 'change');
  const before = await findTargetRow(tx.client, name, { lock: true });
  const def = definitionFor(before.connector, registry);
  const fields = new Set(def.secretFields);
  const patch = p.config ?? {};
  const touchesSecrets = Object.keys(patch).some((k) => fields.has(k));
  // The connector checks the configuration as a whole, credentials included (they may be required).
  const storedSecrets = before.secrets ? unseal(deps.secrets, before) : {};
  const full: Record<string, unknown> = { ...before.config, ...storedSecrets };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete full[k];
    else full[k] = v;
  }
  const { plain, secret } = validateConfig(def, full);
  const now = ctx.clock.now();
  const sealed = touchesSecrets ? seal(deps.secrets, before.id, secret) : before.secrets;
  const r = await tx.client.query<TargetRow>(
    `update targets set config = $2, secret_names = $3, secrets = $4, enabled = $5, updated_at = $6, updated_by = $7
     where id = $1 returning *`,
    [
      before.id,
      JSON.stringify(plain),
      touchesSecrets ? Object.keys(secret).sort() : before.secret_names,
      sealed,
      p.enabled ?? before.enabled,
      now,
      actorName(ctx),
    ],
  );
  const after = toView(r.rows[0]!, registry);
  const changedSecrets = Object.keys(patch).filter((k) => fields.has(k));
  await appendAudit(tx, ctx, {
    action: 'target.changed',
    subject: { type: 'target', id: before.id },
    before: audited(toView(before, registry)),
    after: audited(after),
    ...(changedSecrets.length
      ? { reason: `credentials changed: ${changedSecrets.sort().join(', ')} (values never recorded)` }
      : {}),
  });
  return after;
}

/** Remove a target (its tasks and ledger go with it). Refused while a person still has open tasks for it. */
export async function deleteTarget(
  tx: Tx,
  ctx: CommandContext,
  name: string,
  registry: Registry = CONNECTORS,
): Promise<void> {
  const row = await findTargetRow(tx.client, name, { lock: true });
  const open = await tx.client.query<{ n: number }>(
    `select count(*)::int as n from manual_tasks where target_id = $1 and status = 'open'`,
    [row.id],
  );
  const n = open.rows[0]?.n ?? 0;
  if (n > 0)
    throw new GatehouseError(
      TargetErrors.hasOpenTasks,
      `the target "${name}" still has ${n} open task${n === 1 ? '' : 's'}: complete or cancel ${n === 1 ? 'it' : 'them'} first`,
      { status: 409 },
    );
  await tx.client.query('delete from targets where id = $1', [row.id]);
  await appendAudit(tx, ctx, {
    action: 'target.deleted',
    subject: { type: 'target', id: row.id },
    before: audited(toView(row, registry)),
  });
}

/**
 * A live connector for a target: configuration and credentials checked and merged, a logger naming the target, and
 * for the manual connector its task list and ledger. The caller closes it.
 */
export async function openConnector(
  deps: OpenDeps,
  target: string | TargetRow,
  opts: { allowDisabled?: boolean } = {},
): Promise<Connector> {
  const registry = deps.connectors ?? CONNECTORS;
  const row = typeof target === 'string' ? await findTargetRow(deps.database.pool, target) : target;
  if (!row.enabled && !opts.allowDisabled)
    throw new GatehouseError(TargetErrors.disabled, `the target "${row.name}" is disabled`, { status: 409 });
  const def = connectorDefinition(row.connector, registry);
  if (!def)
    throw new ConnectorError(
      'invalid_config',
      `the target "${row.name}" uses the connector type "${row.connector}", which this version of Gatehouse does not have`,
    );
  const full = { ...row.config, ...unseal(deps.secrets, row) };
  const parsed = def.configSchema.safeParse(full);
  if (!parsed.success)
    throw new ConnectorError(
      'invalid_config',
      `the stored configuration of "${row.name}" is no longer valid: ${parsed.error.issues
        .map((i) => `config.${i.path.join('.')}: ${scrub(i.message, full)}`)
        .join('; ')}`,
    );
  return def.open(parsed.data, {
    log: deps.log.child({ target: row.name, connector: row.connector }),
    clock: deps.clock,
    tasks: manualBook(deps, { id: row.id, name: row.name }),
  });
}

/** How long a connection test may take before it counts as a timeout. */
export const TEST_TIMEOUT_MS = 60_000;

/**
 * Test a target's connection and remember the outcome for the list. A failure is thrown as the connector's
 * ConnectorError (after being recorded); anything else becomes a `target_error` with a plain message.
 */
export async function testTarget(
  deps: OpenDeps,
  name: string,
): Promise<{ ok: true; details: TestResult['details']; testedAt: string }> {
  const row = await findTargetRow(deps.database.pool, name);
  let result: TestResult | undefined;
  let failure: ConnectorError | undefined;
  let connector: Connector | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    connector = await openConnector(deps, row, { allowDisabled: true });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ConnectorError(
              'timeout',
              `the connection test of "${name}" did not finish within ${TEST_TIMEOUT_MS / 1000} seconds`,
            ),
          ),
        TEST_TIMEOUT_MS,
      );
    });
    result = await Promise.race([connector.test(), timeout]);
  } catch (e) {
    failure = isConnectorError(e)
      ? e
      : new ConnectorError('target_error', `the connection test failed: ${describeError(e)}`, { cause: e });
    deps.log.warn({ target: name, code: failure.code }, 'connection test failed');
  } finally {
    clearTimeout(timer);
    await connector?.close().catch(() => undefined);
  }
  const at = deps.clock.now();
  await deps.database.pool.query(
    `update targets set last_test_at = $2, last_test_ok = $3, last_test_code = $4, last_test_message = $5 where id = $1`,
    [row.id, at, failure === undefined, failure?.code ?? null, failure?.message ?? null],
  );
  if (failure) throw failure;
  return { ok: true, details: result!.details, testedAt: at.toISOString() };
}
