import type pg from 'pg';
import { appendAudit } from '../audit/index.ts';
import type { Connector } from '../connectors/kit/types.ts';
import type { Tx } from '../db/pool.ts';
import type { CommandContext } from '../kit/context.ts';
import { GatehouseError } from '../kit/errors.ts';
import {
  catalogKey,
  compilePolicy,
  formatPath,
  type CatalogEntitlement,
  type CompiledPolicy,
  type PolicyCatalog,
  type PolicyProblem,
} from './compile.ts';
import { EMPTY_POLICY, policyDocumentSchema, type PolicyDocument } from './document.ts';

export const PolicyErrors = {
  invalid: 'policy_invalid',
  /** The policy in force refers to something that is gone (a deleted target or entitlement). */
  stale: 'policy_stale',
  entitlementNotFound: 'entitlement_not_found',
  entitlementExists: 'entitlement_exists',
  entitlementInvalid: 'entitlement_invalid',
  assignmentNotFound: 'assignment_not_found',
  assignmentInvalid: 'assignment_invalid',
} as const;

type Q = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export interface PolicyVersion {
  version: number;
  document: PolicyDocument;
  comment: string;
  createdAt: string | null;
  createdBy: string | null;
}

export async function getPolicy(db: Q): Promise<PolicyVersion> {
  const r = await db.query<{
    version: number;
    document: PolicyDocument;
    comment: string;
    created_at: Date;
    created_by: string;
  }>(
    'select version, document, comment, created_at, created_by from policy_versions order by version desc limit 1',
  );
  const row = r.rows[0];
  if (!row) return { version: 0, document: EMPTY_POLICY, comment: '', createdAt: null, createdBy: null };
  return {
    version: row.version,
    document: policyDocumentSchema.parse(row.document),
    comment: row.comment,
    createdAt: row.created_at.toISOString(),
    createdBy: row.created_by,
  };
}

interface EntitlementRow {
  id: string;
  target_id: string;
  target_name: string;
  key: string;
  kind: string;
  object_id: string;
  object_name: string;
  display_name: string;
  description: string;
  privileged: boolean;
  owner: string | null;
  monthly_cost: string | null;
  origin: 'discovered' | 'declared';
  missing_since: Date | null;
  created_at: Date;
  updated_at: Date;
}

const ENTITLEMENT_SELECT = `e.id, e.target_id, t.name as target_name, e.key, e.kind, e.object_id, e.object_name,
  e.display_name, e.description, e.privileged, e.owner, e.monthly_cost::text, e.origin, e.missing_since,
  e.created_at, e.updated_at`;

function catalogOf(r: EntitlementRow): CatalogEntitlement {
  return {
    id: r.id,
    targetId: r.target_id,
    targetName: r.target_name,
    key: r.key,
    kind: r.kind,
    objectId: r.object_id,
    objectName: r.object_name,
    displayName: r.display_name,
    privileged: r.privileged,
  };
}

export async function loadCatalog(db: Q): Promise<PolicyCatalog> {
  const t = await db.query<{ id: string; name: string; connector: string }>(
    'select id, name, connector from targets',
  );
  const e = await db.query<EntitlementRow>(
    `select ${ENTITLEMENT_SELECT} from entitlements e join targets t on t.id = e.target_id`,
  );
  return {
    targets: new Map(t.rows.map((r) => [r.name, { id: r.id, connector: r.connector }])),
    entitlements: new Map(e.rows.map((r) => [catalogKey(r.target_name, r.key), catalogOf(r)])),
  };
}

export function invalidPolicy(problems: PolicyProblem[], file?: string): GatehouseError {
  const where = (p: PolicyProblem) => (file ? `${file}: ${formatPath(p.path)}` : formatPath(p.path));
  return new GatehouseError(
    PolicyErrors.invalid,
    `the policy has ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems
      .slice(0, 3)
      .map((p) => `${where(p)}: ${p.message}`)
      .join('; ')}${problems.length > 3 ? '; …' : ''}`,
    { status: 422, problems: problems.map((p) => ({ field: where(p), message: p.message })) },
  );
}

/** The policy in force, compiled. Throws `policy_stale` when it refers to something that no longer exists. */
export async function loadPolicy(db: Q): Promise<CompiledPolicy> {
  const [current, catalog] = await Promise.all([getPolicy(db), loadCatalog(db)]);
  const { policy, problems } = compilePolicy(current.document, catalog, current.version);
  if (!policy) {
    const err = invalidPolicy(problems);
    throw new GatehouseError(
      PolicyErrors.stale,
      `the policy in force (version ${current.version}) no longer fits the targets and catalog: ${err.message}`,
      { status: 409, problems: err.problems },
    );
  }
  return policy;
}

/** Check a candidate document against the current catalog; throws `policy_invalid` with every problem. */
export async function checkDocument(db: Q, input: unknown, file?: string): Promise<CompiledPolicy> {
  const parsed = policyDocumentSchema.safeParse(input);
  if (!parsed.success)
    throw invalidPolicy(
      parsed.error.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message })),
      file,
    );
  const { policy, problems } = compilePolicy(parsed.data, await loadCatalog(db));
  if (!policy) throw invalidPolicy(problems, file);
  return policy;
}

/** Store a new version (already checked by `checkDocument`) and audit it. */
export async function savePolicy(
  tx: Tx,
  ctx: CommandContext,
  document: PolicyDocument,
  comment: string,
): Promise<number> {
  await tx.client.query('lock table policy_versions in exclusive mode');
  const before = await getPolicy(tx.client);
  const r = await tx.client.query<{ version: number }>(
    `insert into policy_versions (document, comment, created_at, created_by) values ($1, $2, $3, $4) returning version`,
    [JSON.stringify(document), comment, ctx.clock.now(), ctx.actor.name ?? ctx.actor.id],
  );
  const version = r.rows[0]!.version;
  await appendAudit(tx, ctx, {
    action: 'policy.applied',
    subject: { type: 'policy', id: String(version) },
    before: { version: before.version, document: before.document },
    after: { version, document },
    reason: comment || undefined,
  });
  return version;
}

// ── Entitlement catalog ─────────────────────────────────────────────────────────────────────────────────────────

export interface EntitlementView {
  id: string;
  target: string;
  key: string;
  kind: string;
  objectId: string;
  objectName: string;
  displayName: string;
  description: string;
  privileged: boolean;
  owner: string | null;
  monthlyCost: number | null;
  origin: 'discovered' | 'declared';
  missingSince: string | null;
  createdAt: string;
  updatedAt: string;
}

function entitlementView(r: EntitlementRow): EntitlementView {
  return {
    id: r.id,
    target: r.target_name,
    key: r.key,
    kind: r.kind,
    objectId: r.object_id,
    objectName: r.object_name,
    displayName: r.display_name,
    description: r.description,
    privileged: r.privileged,
    owner: r.owner,
    monthlyCost: r.monthly_cost === null ? null : Number(r.monthly_cost),
    origin: r.origin,
    missingSince: r.missing_since?.toISOString() ?? null,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

export async function listEntitlements(db: Q, target?: string): Promise<EntitlementView[]> {
  const r = await db.query<EntitlementRow>(
    `select ${ENTITLEMENT_SELECT} from entitlements e join targets t on t.id = e.target_id
     where ($1::text is null or t.name = $1) order by t.name, e.key`,
    [target ?? null],
  );
  return r.rows.map(entitlementView);
}

async function targetIdOf(db: Q, name: string): Promise<string> {
  const r = await db.query<{ id: string }>('select id from targets where name = $1', [name]);
  if (!r.rows[0]) throw new GatehouseError('target_not_found', `no target named "${name}"`, { status: 404 });
  return r.rows[0].id;
}

async function entitlementRow(db: Q, target: string, key: string, lock = false): Promise<EntitlementRow> {
  const r = await db.query<EntitlementRow>(
    `select ${ENTITLEMENT_SELECT} from entitlements e join targets t on t.id = e.target_id
     where t.name = $1 and e.key = $2 ${lock ? 'for update of e' : ''}`,
    [target, key],
  );
  if (!r.rows[0])
    throw new GatehouseError(
      PolicyErrors.entitlementNotFound,
      `target "${target}" has no entitlement "${key}" in its catalog`,
      { status: 404 },
    );
  return r.rows[0];
}

export async function getEntitlement(db: Q, target: string, key: string): Promise<EntitlementView> {
  return entitlementView(await entitlementRow(db, target, key));
}

/** The first RDN's value of a DN (`cn=Sales Team,ou=groups,…` → `Sales Team`), else the name itself. */
function shortName(name: string): string {
  const m = /^[A-Za-z][\w-]*=((?:\\.|[^,\\])+)/.exec(name);
  return m ? m[1]!.replace(/\\(.)/g, '$1') : name;
}

export interface DiscoveryResult {
  added: number;
  updated: number;
  missing: number;
  total: number;
}

/**
 * Read the target's groups into the catalog: new ones are added (key = the group's short name), renamed ones
 * follow by object id, ones no longer found are marked missing (never dropped: policy and history refer to them).
 */
export async function discoverEntitlements(
  tx: Tx,
  ctx: CommandContext,
  target: string,
  connector: Pick<Connector, 'search'>,
): Promise<DiscoveryResult> {
  const targetId = await targetIdOf(tx.client, target);
  const now = ctx.clock.now();
  const existing = await tx.client.query<EntitlementRow>(
    `select ${ENTITLEMENT_SELECT} from entitlements e join targets t on t.id = e.target_id where e.target_id = $1 for update of e`,
    [targetId],
  );
  const byObject = new Map(
    existing.rows.filter((r) => r.origin === 'discovered').map((r) => [r.object_id, r]),
  );
  const keys = new Set(existing.rows.map((r) => r.key.toLowerCase()));
  const seen = new Set<string>();
  const result: DiscoveryResult = { added: 0, updated: 0, missing: 0, total: 0 };
  const audits: Parameters<typeof appendAudit>[2] & unknown[] = [];
  for await (const g of connector.search({ objectClass: 'group' })) {
    result.total += 1;
    seen.add(g.id);
    const attr = (n: string) => {
      const v = g.attributes[n];
      const s = Array.isArray(v) ? v[0] : v;
      return typeof s === 'string' && s ? s : undefined;
    };
    const display = attr('displayName') ?? attr('cn') ?? shortName(g.name);
    const description = attr('description') ?? '';
    const known = byObject.get(g.id);
    if (known) {
      if (known.object_name !== g.name || known.display_name !== display || known.missing_since) {
        await tx.client.query(
          `update entitlements set object_name = $2, display_name = $3, missing_since = null, updated_at = $4 where id = $1`,
          [known.id, g.name, display, now],
        );
        result.updated += 1;
        audits.push({
          action: 'entitlement.updated',
          subject: { type: 'entitlement', id: known.id },
          before: { objectName: known.object_name, displayName: known.display_name },
          after: { objectName: g.name, displayName: display },
          reason: 'discovered on the target',
        });
      }
      continue;
    }
    let key = shortName(g.name);
    if (keys.has(key.toLowerCase())) key = g.name;
    if (keys.has(key.toLowerCase())) continue;
    keys.add(key.toLowerCase());
    const id = ctx.ids();
    await tx.client.query(
      `insert into entitlements (id, target_id, key, kind, object_id, object_name, display_name, description, origin, created_at, updated_at)
       values ($1, $2, $3, 'group', $4, $5, $6, $7, 'discovered', $8, $8)`,
      [id, targetId, key, g.id, g.name, display, description, now],
    );
    result.added += 1;
    audits.push({
      action: 'entitlement.created',
      subject: { type: 'entitlement', id },
      after: { target, key, objectName: g.name, displayName: display },
      reason: 'discovered on the target',
    });
  }
  for (const r of byObject.values())
    if (!seen.has(r.object_id) && !r.missing_since) {
      await tx.client.query('update entitlements set missing_since = $2, updated_at = $2 where id = $1', [
        r.id,
        now,
      ]);
      result.missing += 1;
      audits.push({
        action: 'entitlement.updated',
        subject: { type: 'entitlement', id: r.id },
        before: { missingSince: null },
        after: { missingSince: now.toISOString() },
        reason: 'no longer found on the target',
      });
    }
  await appendAudit(tx, ctx, audits);
  return result;
}

export interface EntitlementInput {
  key: string;
  kind?: string;
  objectId: string;
  objectName?: string;
  displayName?: string;
  description?: string;
  privileged?: boolean;
  owner?: string | null;
  monthlyCost?: number | null;
}

const KEY_OK = (k: string) => k.length >= 1 && k.length <= 200 && ![...k].some((ch) => ch.charCodeAt(0) < 32);

function checkEntitlementFields(input: Partial<EntitlementInput>): void {
  const problems = [];
  if (input.key !== undefined && !KEY_OK(input.key))
    problems.push({ field: 'key', message: 'must be 1–200 printable characters', value: input.key });
  if (
    input.monthlyCost !== undefined &&
    input.monthlyCost !== null &&
    !(input.monthlyCost >= 0 && input.monthlyCost < 1e9)
  )
    problems.push({
      field: 'monthlyCost',
      message: 'must be a positive amount below 1,000,000,000',
      value: input.monthlyCost,
    });
  if (problems.length)
    throw new GatehouseError(
      PolicyErrors.entitlementInvalid,
      problems.map((p) => `${p.field}: ${p.message}`).join('; '),
      {
        status: 400,
        problems,
      },
    );
}

/** Declare an entitlement the target cannot list (a licence, an application role). */
export async function declareEntitlement(
  tx: Tx,
  ctx: CommandContext,
  target: string,
  input: EntitlementInput,
): Promise<EntitlementView> {
  checkEntitlementFields(input);
  const targetId = await targetIdOf(tx.client, target);
  const now = ctx.clock.now();
  const id = ctx.ids();
  const r = await tx.client.query(
    `insert into entitlements (id, target_id, key, kind, object_id, object_name, display_name, description, privileged,
       owner, monthly_cost, origin, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'declared', $12, $12) on conflict do nothing`,
    [
      id,
      targetId,
      input.key,
      input.kind ?? 'group',
      input.objectId,
      input.objectName ?? input.objectId,
      input.displayName ?? input.key,
      input.description ?? '',
      input.privileged ?? false,
      input.owner ?? null,
      input.monthlyCost ?? null,
      now,
    ],
  );
  if (!r.rowCount)
    throw new GatehouseError(
      PolicyErrors.entitlementExists,
      `target "${target}" already has an entitlement "${input.key}"`,
      {
        status: 409,
      },
    );
  const view = await getEntitlement(tx.client, target, input.key);
  await appendAudit(tx, ctx, {
    action: 'entitlement.created',
    subject: { type: 'entitlement', id },
    after: view,
  });
  return view;
}

export interface EntitlementPatch {
  displayName?: string;
  description?: string;
  privileged?: boolean;
  owner?: string | null;
  monthlyCost?: number | null;
}

export async function updateEntitlement(
  tx: Tx,
  ctx: CommandContext,
  target: string,
  key: string,
  patch: EntitlementPatch,
): Promise<EntitlementView> {
  checkEntitlementFields(patch);
  const before = entitlementView(await entitlementRow(tx.client, target, key, true));
  await tx.client.query(
    `update entitlements set display_name = coalesce($2, display_name), description = coalesce($3, description),
       privileged = coalesce($4, privileged),
       owner = case when $5 then $6 else owner end,
       monthly_cost = case when $7 then $8::numeric else monthly_cost end, updated_at = $9
     where id = $1`,
    [
      before.id,
      patch.displayName ?? null,
      patch.description ?? null,
      patch.privileged ?? null,
      patch.owner !== undefined,
      patch.owner ?? null,
      patch.monthlyCost !== undefined,
      patch.monthlyCost ?? null,
      ctx.clock.now(),
    ],
  );
  const after = await getEntitlement(tx.client, target, key);
  const changed = (Object.keys(patch) as (keyof EntitlementPatch)[]).filter((k) => before[k] !== after[k]);
  if (changed.length)
    await appendAudit(tx, ctx, {
      action: 'entitlement.updated',
      subject: { type: 'entitlement', id: before.id },
      before: Object.fromEntries(changed.map((k) => [k, before[k]])),
      after: Object.fromEntries(changed.map((k) => [k, after[k]])),
    });
  return after;
}

export type { PolicyDocument };
