import { hash as oneShotHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, asc, desc, eq, ilike, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { appendAudit } from '../audit/index.ts';
import type { Database, Tx } from '../db/pool.ts';
import type { CommandContext } from '../kit/context.ts';
import { GatehouseError, type FieldProblem } from '../kit/errors.ts';
import { apiTokens } from './schema.ts';
import { SCOPES, isScope, type Scope } from './scopes.ts';

export const TokenErrors = {
  invalid: 'token_invalid',
  expired: 'token_expired',
  revoked: 'token_revoked',
  badScope: 'token_scope_unknown',
  badName: 'token_name_invalid',
  badExpiry: 'token_expiry_invalid',
  badScim: 'token_scim_invalid',
  notFound: 'token_not_found',
  alreadyRevoked: 'token_already_revoked',
} as const;

export const TOKEN_PREFIX = 'gh_';
/** Generated tokens are gh_ + 43 base64url characters; a bootstrap token from the environment may be any long random string. */
const TOKEN_RE = /^[A-Za-z0-9._~+/=-]{32,256}$/;

export interface TokenView {
  id: string;
  name: string;
  hint: string;
  scopes: string[];
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
  lastUsedAt: string | null;
  status: 'active' | 'expired' | 'revoked';
  /** SCIM clients only: the HR source it pushes into and its compatibility profile. */
  scim: ScimClientSettings | null;
}

export const SCIM_PROFILES = ['strict', 'lenient'] as const;
export type ScimProfile = (typeof SCIM_PROFILES)[number];
export interface ScimClientSettings {
  source: string;
  profile: ScimProfile;
}
/** The HR source a SCIM client pushes into when its token names none. */
export const DEFAULT_SCIM_SOURCE = 'scim';
/** A SCIM client that reads every person (Gatehouse as the SCIM endpoint of its own identities); it cannot write. */
export const ALL_SOURCES = '*';
/** HR source names (as `src/hr/sources.ts` checks them). */
const SCIM_SOURCE_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): Buffer {
  return oneShotHash('sha256', token, 'buffer');
}

function hintOf(token: string): string {
  return `${token.slice(0, 7)}…${token.slice(-4)}`;
}

function view(r: typeof apiTokens.$inferSelect, now: Date): TokenView {
  return {
    id: r.id,
    name: r.name,
    hint: r.hint,
    scopes: r.scopes,
    createdAt: r.createdAt.toISOString(),
    createdBy: r.createdBy,
    expiresAt: r.expiresAt?.toISOString() ?? null,
    revokedAt: r.revokedAt?.toISOString() ?? null,
    revokedBy: r.revokedBy,
    lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
    scim: r.scim ?? null,
    status: r.revokedAt ? 'revoked' : r.expiresAt && r.expiresAt <= now ? 'expired' : 'active',
  };
}

/** "90d", "12h", "30m" or an ISO 8601 date-time → an absolute instant after `now`. */
export function parseExpiry(input: string, now: Date): Date {
  const m = /^(\d+)\s*([mhdw])$/.exec(input.trim());
  let at: Date;
  if (m) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 'm' | 'h' | 'd' | 'w'];
    at = new Date(now.getTime() + Number(m[1]) * unit);
  } else {
    at = new Date(input);
    if (!/^\d{4}-\d{2}-\d{2}/.test(input.trim()) || Number.isNaN(at.getTime())) {
      throw new GatehouseError(
        TokenErrors.badExpiry,
        `expiry "${input}" is neither a duration (30d, 12h) nor an ISO 8601 date-time`,
        {
          problems: [
            {
              field: 'expiresIn',
              message: 'expected a duration like 30d or a date-time like 2027-01-31T00:00:00Z',
              value: input,
            },
          ],
        },
      );
    }
  }
  if (at <= now) {
    throw new GatehouseError(TokenErrors.badExpiry, `expiry "${input}" is not in the future`, {
      problems: [{ field: 'expiresIn', message: 'must be in the future', value: input }],
    });
  }
  return at;
}

export interface CreateTokenInput {
  name: string;
  scopes: string[];
  expiresAt?: Date | null;
  /** Use this secret instead of generating one (bootstrap only). */
  secret?: string;
  /** For a token with a `scim:` scope: its HR source (default "scim") and profile (default strict). */
  scim?: { source?: string | undefined; profile?: string | undefined } | undefined;
}

export function validateTokenInput(input: CreateTokenInput): {
  name: string;
  scopes: Scope[];
  scim: ScimClientSettings | null;
} {
  const problems: FieldProblem[] = [];
  const scimScoped = input.scopes.some((s) => s.startsWith('scim:'));
  let scim: ScimClientSettings | null = null;
  if (input.scim && !scimScoped)
    problems.push({
      field: 'scim',
      message: 'SCIM settings need a scim:read or scim:write scope on the token',
    });
  if (scimScoped) {
    const source = (input.scim?.source ?? DEFAULT_SCIM_SOURCE).trim();
    const profile = input.scim?.profile ?? 'strict';
    if (source !== ALL_SOURCES && !SCIM_SOURCE_RE.test(source))
      problems.push({
        field: 'scim.source',
        message: `an HR source name (lower-case letters, digits, ".", "_" or "-"), or "${ALL_SOURCES}" to read everyone`,
        value: source,
      });
    if (!(SCIM_PROFILES as readonly string[]).includes(profile))
      problems.push({
        field: 'scim.profile',
        message: `unknown profile; use ${SCIM_PROFILES.join(' or ')}`,
        value: profile,
      });
    scim = { source, profile: profile as ScimProfile };
  }
  const name = input.name.trim();
  if (name.length === 0 || name.length > 100)
    problems.push({ field: 'name', message: 'must be 1 to 100 characters', value: input.name });
  if (input.scopes.length === 0)
    problems.push({
      field: 'scopes',
      message: `at least one scope is required (one of: ${Object.keys(SCOPES).join(', ')})`,
    });
  input.scopes.forEach((s, i) => {
    if (!isScope(s))
      problems.push({
        field: `scopes[${i}]`,
        message: `unknown scope "${s}"; known scopes: ${Object.keys(SCOPES).join(', ')}`,
        value: s,
      });
  });
  if (problems.length) {
    const code = problems.some((p) => p.field.startsWith('scopes'))
      ? TokenErrors.badScope
      : problems.some((p) => p.field.startsWith('scim'))
        ? TokenErrors.badScim
        : TokenErrors.badName;
    throw new GatehouseError(code, problems.map((p) => `${p.field}: ${p.message}`).join('; '), { problems });
  }
  return { name, scopes: [...new Set(input.scopes)] as Scope[], scim };
}

/** Create a token in the caller's transaction (audited). Returns the secret once; only its hash is stored. */
export async function createToken(
  tx: Tx,
  ctx: CommandContext,
  input: CreateTokenInput,
): Promise<{ token: string; view: TokenView }> {
  const { name, scopes, scim } = validateTokenInput(input);
  const token = input.secret ?? generateToken();
  const now = ctx.clock.now();
  if (input.expiresAt && input.expiresAt <= now) {
    throw new GatehouseError(TokenErrors.badExpiry, 'the expiry is not in the future', {
      problems: [{ field: 'expiresAt', message: 'must be in the future' }],
    });
  }
  const [row] = await tx.db
    .insert(apiTokens)
    .values({
      id: ctx.ids(),
      name,
      tokenHash: hashToken(token),
      hint: hintOf(token),
      scopes,
      createdAt: now,
      createdBy: `${ctx.actor.type}:${ctx.actor.id}`,
      expiresAt: input.expiresAt ?? null,
      scim,
    })
    .returning();
  const v = view(row!, now);
  await appendAudit(tx, ctx, {
    action: 'token.create',
    subject: { type: 'api_token', id: v.id },
    after: { name: v.name, scopes: v.scopes, expiresAt: v.expiresAt, hint: v.hint, scim: v.scim },
  });
  return { token, view: v };
}

export async function revokeToken(
  tx: Tx,
  ctx: CommandContext,
  id: string,
  reason?: string,
): Promise<TokenView> {
  const now = ctx.clock.now();
  const [current] = await tx.db.select().from(apiTokens).where(eq(apiTokens.id, id)).for('update');
  if (!current) throw new GatehouseError(TokenErrors.notFound, `no API token with id ${id}`, { status: 404 });
  if (current.revokedAt)
    throw new GatehouseError(
      TokenErrors.alreadyRevoked,
      `token "${current.name}" was already revoked at ${current.revokedAt.toISOString()}`,
      { status: 409 },
    );
  forgetCachedTokens(id); // before the commit: see TOKEN_CACHE_MS
  const [row] = await tx.db
    .update(apiTokens)
    .set({ revokedAt: now, revokedBy: `${ctx.actor.type}:${ctx.actor.id}` })
    .where(eq(apiTokens.id, id))
    .returning();
  const v = view(row!, now);
  await appendAudit(tx, ctx, {
    action: 'token.revoke',
    subject: { type: 'api_token', id },
    before: { status: view(current, now).status },
    after: { status: 'revoked' },
    ...(reason ? { reason } : {}),
  });
  return v;
}

export const TOKEN_SORTS = ['createdAt', 'name', 'expiresAt', 'lastUsedAt'] as const;

export interface TokenQuery {
  includeRevoked?: boolean;
  /** Name contains (case-insensitive). */
  q?: string;
  sort?: (typeof TOKEN_SORTS)[number];
  order?: 'asc' | 'desc';
  page?: number;
  pageSize?: number;
}

/** Search, sort and page on the server. */
export async function listTokens(
  database: Pick<Database, 'db'>,
  now: Date,
  opts: TokenQuery = {},
): Promise<{ items: TokenView[]; total: number; page: number; pageSize: number }> {
  const where: SQL[] = [];
  if (!opts.includeRevoked) where.push(isNull(apiTokens.revokedAt));
  if (opts.q?.trim()) where.push(ilike(apiTokens.name, `%${opts.q.trim().replace(/[\\%_]/g, '\\$&')}%`));
  const filter = where.length ? and(...where) : undefined;
  const page = Math.max(opts.page ?? 1, 1);
  const pageSize = Math.min(Math.max(opts.pageSize ?? 100, 1), 500);
  const col = {
    createdAt: apiTokens.createdAt,
    name: apiTokens.name,
    expiresAt: apiTokens.expiresAt,
    lastUsedAt: apiTokens.lastUsedAt,
  }[opts.sort ?? 'createdAt'];
  const dir = (opts.order ?? (opts.sort === undefined ? 'desc' : 'asc')) === 'desc' ? desc : asc;
  const rows = await database.db
    .select()
    .from(apiTokens)
    .where(filter)
    .orderBy(dir(col), asc(apiTokens.id))
    .limit(pageSize)
    .offset((page - 1) * pageSize);
  const [{ n } = { n: 0 }] = await database.db
    .select({ n: sql<number>`count(*)::int` })
    .from(apiTokens)
    .where(filter);
  return { items: rows.map((r) => view(r, now)), total: n, page, pageSize };
}

export async function getToken(database: Pick<Database, 'db'>, id: string, now: Date): Promise<TokenView> {
  const [row] = await database.db.select().from(apiTokens).where(eq(apiTokens.id, id));
  if (!row) throw new GatehouseError(TokenErrors.notFound, `no API token with id ${id}`, { status: 404 });
  return view(row, now);
}

export interface TokenPrincipal {
  tokenId: string;
  name: string;
  scopes: string[];
  scim: ScimClientSettings | null;
}

/**
 * The lookup every authenticated request makes, as a named prepared statement (parsed and planned once per
 * connection), one per database handle.
 */
const TOKEN_BY_HASH = new WeakMap<Database['db'], ReturnType<typeof prepareTokenByHash>>();
function prepareTokenByHash(db: Database['db']) {
  return db
    .select()
    .from(apiTokens)
    .where(eq(apiTokens.tokenHash, sql.placeholder('hash')))
    .prepare('api_token_by_hash');
}
function tokenByHash(db: Database['db']) {
  let q = TOKEN_BY_HASH.get(db);
  if (!q) TOKEN_BY_HASH.set(db, (q = prepareTokenByHash(db)));
  return q;
}

/**
 * Tokens recently found, by hash (one cache per process: ids and hashes are unique). A SCIM client or script makes
 * thousands of requests a second with one token, and each would otherwise wait for the same lookup. An entry is used
 * for TOKEN_CACHE_MS at most; the expiry is checked on every request. A revocation in this process takes effect at
 * once (`revokeToken` forgets the token and keeps it out of the cache for two lifetimes, so a lookup racing the
 * revocation's commit cannot bring it back); one made by another Gatehouse process is seen within TOKEN_CACHE_MS.
 */
export const TOKEN_CACHE_MS = 5_000;
const TOKEN_CACHE_MAX = 1_000;
type TokenRow = typeof apiTokens.$inferSelect;
const cachedByHash = new Map<string, { row: TokenRow; at: number }>();
/** Token id → until when (performance.now() ms) it is not cached. */
const uncachedUntil = new Map<string, number>();

/** Forget one cached token (a revocation does), or every one. */
export function forgetCachedTokens(tokenId?: string): void {
  if (tokenId === undefined) {
    cachedByHash.clear();
    return;
  }
  for (const [k, v] of cachedByHash) if (v.row.id === tokenId) cachedByHash.delete(k);
  const t = performance.now();
  if (uncachedUntil.size >= TOKEN_CACHE_MAX)
    for (const [k, until] of uncachedUntil) if (until <= t) uncachedUntil.delete(k);
  uncachedUntil.set(tokenId, t + 2 * TOKEN_CACHE_MS);
}

function uncached(tokenId: string, t: number): boolean {
  const until = uncachedUntil.get(tokenId);
  if (until === undefined) return false;
  if (until > t) return true;
  uncachedUntil.delete(tokenId);
  return false;
}

async function findTokenRow(database: Pick<Database, 'db'>, hash: Buffer): Promise<TokenRow | undefined> {
  const key = hash.toString('base64');
  const t = performance.now();
  const hit = cachedByHash.get(key);
  if (hit && t - hit.at < TOKEN_CACHE_MS && !uncached(hit.row.id, t)) return hit.row;
  const [row] = await tokenByHash(database.db).execute({ hash });
  if (!row || !timingSafeEqual(row.tokenHash, hash)) {
    cachedByHash.delete(key);
    return undefined;
  }
  if (!uncached(row.id, t)) {
    if (cachedByHash.size >= TOKEN_CACHE_MAX) cachedByHash.clear();
    cachedByHash.set(key, { row, at: t });
  }
  return row;
}

/**
 * Resolve a presented bearer token. Errors say which of malformed / unknown / expired / revoked it is, so that a
 * client can tell "rotate your token" from "you typed it wrong"; all are 401 at the edge.
 */
export async function authenticateToken(
  database: Pick<Database, 'db'>,
  presented: string,
  now: Date,
): Promise<TokenPrincipal> {
  if (!TOKEN_RE.test(presented)) {
    throw new GatehouseError(
      TokenErrors.invalid,
      'the API token is malformed (expected a token like gh_ followed by 43 characters)',
      { status: 401 },
    );
  }
  const row = await findTokenRow(database, hashToken(presented));
  if (!row) throw new GatehouseError(TokenErrors.invalid, 'the API token is not known', { status: 401 });
  if (row.revokedAt)
    throw new GatehouseError(TokenErrors.revoked, `the API token "${row.name}" was revoked`, { status: 401 });
  if (row.expiresAt && row.expiresAt <= now)
    throw new GatehouseError(
      TokenErrors.expired,
      `the API token "${row.name}" expired at ${row.expiresAt.toISOString()}`,
      { status: 401 },
    );
  // Record use at most once a minute per token: a write per request would be a needless hot row (and, for a SCIM
  // client making thousands of requests a second, a second round trip each).
  if (!row.lastUsedAt || row.lastUsedAt.getTime() < now.getTime() - 60_000) {
    row.lastUsedAt = now; // (the cached row too)
    await database.db
      .update(apiTokens)
      .set({ lastUsedAt: now })
      .where(
        and(
          eq(apiTokens.id, row.id),
          or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, new Date(now.getTime() - 60_000))),
        ),
      );
  }
  return { tokenId: row.id, name: row.name, scopes: row.scopes, scim: row.scim ?? null };
}

export async function countTokens(database: Pick<Database, 'db'>): Promise<number> {
  const [r] = await database.db.select({ n: sql<number>`count(*)::int` }).from(apiTokens);
  return r?.n ?? 0;
}

export async function tokenStats(
  database: Pick<Database, 'db'>,
  now: Date,
): Promise<{ active: number; expiringSoon: number }> {
  const soon = new Date(now.getTime() + 14 * 86_400_000);
  const [r] = await database.db
    .select({
      active: sql<number>`count(*) filter (where ${apiTokens.revokedAt} is null and (${apiTokens.expiresAt} is null or ${apiTokens.expiresAt} > ${now}))::int`,
      expiringSoon: sql<number>`count(*) filter (where ${apiTokens.revokedAt} is null and ${apiTokens.expiresAt} > ${now} and ${apiTokens.expiresAt} <= ${soon})::int`,
    })
    .from(apiTokens);
  return r ?? { active: 0, expiringSoon: 0 };
}
