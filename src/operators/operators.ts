import { and, asc, desc, eq, ilike, ne, or, sql, type SQL } from 'drizzle-orm';
import { appendAudit, personal } from '../audit/index.ts';
import type { Database, Tx } from '../db/pool.ts';
import type { CommandContext } from '../kit/context.ts';
import { GatehouseError, type FieldProblem } from '../kit/errors.ts';
import { hashPassword, passwordProblems } from './passwords.ts';
import { ROLES, type Role } from './roles.ts';
import { operatorSessions, operators } from './schema.ts';

export const OperatorErrors = {
  notFound: 'operator_not_found',
  invalid: 'operator_invalid',
  emailTaken: 'operator_email_taken',
  lastAdmin: 'last_administrator',
  self: 'operator_self_change',
} as const;

export interface OperatorView {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  status: 'active' | 'disabled';
  mfaEnrolled: boolean;
  lockedUntil: string | null;
  lastLoginAt: string | null;
  createdAt: string;
}

type Row = typeof operators.$inferSelect;

export function operatorView(r: Row, now: Date): OperatorView {
  return {
    id: r.id,
    email: r.email,
    displayName: r.displayName,
    role: r.role,
    status: r.status,
    mfaEnrolled: r.totpEnrolledAt !== null,
    lockedUntil: r.lockedUntil && r.lockedUntil > now ? r.lockedUntil.toISOString() : null,
    lastLoginAt: r.lastLoginAt?.toISOString() ?? null,
    createdAt: r.createdAt.toISOString(),
  };
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function invalid(problems: FieldProblem[]): GatehouseError {
  return new GatehouseError(
    OperatorErrors.invalid,
    problems.map((p) => `${p.field}: ${p.message}`).join('; '),
    { problems },
  );
}

export interface CreateOperatorInput {
  email: string;
  displayName: string;
  role: string;
  password: string;
}

/** Create an operator (audited). They enrol TOTP at their first sign-in. */
export async function createOperator(
  tx: Tx,
  ctx: CommandContext,
  input: CreateOperatorInput,
): Promise<OperatorView> {
  const email = input.email.trim().toLowerCase();
  const displayName = input.displayName.trim();
  const problems: FieldProblem[] = [];
  if (!EMAIL_RE.test(email))
    problems.push({ field: 'email', message: 'must be an email address', value: input.email });
  if (displayName.length < 1 || displayName.length > 100)
    problems.push({ field: 'displayName', message: 'must be 1 to 100 characters' });
  if (!(ROLES as readonly string[]).includes(input.role))
    problems.push({ field: 'role', message: `must be one of ${ROLES.join(', ')}`, value: input.role });
  problems.push(...passwordProblems(input.password, { email, displayName }));
  if (problems.length) throw invalid(problems);
  const [existing] = await tx.db
    .select({ id: operators.id })
    .from(operators)
    .where(eq(operators.email, email));
  if (existing) {
    throw new GatehouseError(OperatorErrors.emailTaken, `an operator with email ${email} already exists`, {
      status: 409,
      problems: [{ field: 'email', message: 'is already used by another operator' }],
    });
  }
  const now = ctx.clock.now();
  const [row] = await tx.db
    .insert(operators)
    .values({
      id: ctx.ids(),
      email,
      displayName,
      role: input.role as Role,
      status: 'active',
      passwordHash: await hashPassword(input.password),
      passwordChangedAt: now,
      createdAt: now,
      createdBy: `${ctx.actor.type}:${ctx.actor.id}`,
    })
    .returning();
  const v = operatorView(row!, now);
  await appendAudit(tx, ctx, {
    action: 'operator.create',
    subject: { type: 'operator', id: v.id },
    after: { email: personal(v.email), displayName: personal(v.displayName), role: v.role, status: v.status },
    dataSubject: `operator:${v.id}`,
  });
  return v;
}

async function load(tx: Tx, id: string): Promise<Row> {
  const [row] = await tx.db.select().from(operators).where(eq(operators.id, id)).for('update');
  if (!row) throw new GatehouseError(OperatorErrors.notFound, `no operator with id ${id}`, { status: 404 });
  return row;
}

async function otherActiveAdmins(tx: Tx, id: string): Promise<number> {
  // Lock the administrators so two concurrent demotions cannot both pass this check.
  const rows = await tx.db
    .select({ id: operators.id })
    .from(operators)
    .where(and(eq(operators.role, 'administrator'), eq(operators.status, 'active'), ne(operators.id, id)))
    .for('update');
  return rows.length;
}

async function endSessions(tx: Tx, operatorId: string, now: Date): Promise<void> {
  await tx.db
    .update(operatorSessions)
    .set({ revokedAt: now })
    .where(and(eq(operatorSessions.operatorId, operatorId), sql`${operatorSessions.revokedAt} is null`));
}

export interface UpdateOperatorInput {
  displayName?: string;
  role?: string;
  status?: string;
}

export async function updateOperator(
  tx: Tx,
  ctx: CommandContext,
  id: string,
  patch: UpdateOperatorInput,
): Promise<OperatorView> {
  const row = await load(tx, id);
  const problems: FieldProblem[] = [];
  const next: Partial<Row> = {};
  if (patch.displayName !== undefined) {
    const d = patch.displayName.trim();
    if (d.length < 1 || d.length > 100)
      problems.push({ field: 'displayName', message: 'must be 1 to 100 characters' });
    else if (d !== row.displayName) next.displayName = d;
  }
  if (patch.role !== undefined) {
    if (!(ROLES as readonly string[]).includes(patch.role))
      problems.push({ field: 'role', message: `must be one of ${ROLES.join(', ')}`, value: patch.role });
    else if (patch.role !== row.role) next.role = patch.role as Role;
  }
  if (patch.status !== undefined) {
    if (patch.status !== 'active' && patch.status !== 'disabled')
      problems.push({ field: 'status', message: 'must be active or disabled', value: patch.status });
    else if (patch.status !== row.status) next.status = patch.status;
  }
  if (problems.length) throw invalid(problems);
  const isSelf = ctx.actor.type === 'operator' && ctx.actor.id === id;
  if (isSelf && (next.role !== undefined || next.status !== undefined)) {
    throw new GatehouseError(
      OperatorErrors.self,
      'you cannot change your own role or disable yourself; ask another administrator',
      { status: 409 },
    );
  }
  const losesAdmin =
    row.role === 'administrator' &&
    row.status === 'active' &&
    (next.role !== undefined || next.status === 'disabled');
  if (losesAdmin && (await otherActiveAdmins(tx, id)) === 0) {
    throw new GatehouseError(
      OperatorErrors.lastAdmin,
      `${row.displayName} is the last active administrator; make someone else an administrator first`,
      { status: 409 },
    );
  }
  if (Object.keys(next).length === 0) return operatorView(row, ctx.clock.now());
  const now = ctx.clock.now();
  const [updated] = await tx.db.update(operators).set(next).where(eq(operators.id, id)).returning();
  if (next.status === 'disabled' || next.role !== undefined) await endSessions(tx, id, now);
  const pick = (r: Row) => ({
    ...(next.displayName !== undefined ? { displayName: personal(r.displayName) } : {}),
    ...(next.role !== undefined ? { role: r.role } : {}),
    ...(next.status !== undefined ? { status: r.status } : {}),
  });
  await appendAudit(tx, ctx, {
    action: 'operator.update',
    subject: { type: 'operator', id },
    before: pick(row),
    after: pick(updated!),
    dataSubject: `operator:${id}`,
  });
  return operatorView(updated!, now);
}

export async function unlockOperator(tx: Tx, ctx: CommandContext, id: string): Promise<OperatorView> {
  const row = await load(tx, id);
  const now = ctx.clock.now();
  const [updated] = await tx.db
    .update(operators)
    .set({ failedLogins: 0, lockedUntil: null })
    .where(eq(operators.id, id))
    .returning();
  await appendAudit(tx, ctx, {
    action: 'operator.unlock',
    subject: { type: 'operator', id },
    before: { failedLogins: row.failedLogins, lockedUntil: row.lockedUntil?.toISOString() ?? null },
    after: { failedLogins: 0, lockedUntil: null },
  });
  return operatorView(updated!, now);
}

/** Remove the operator's TOTP and recovery codes; they enrol again at next sign-in. Ends their sessions. */
export async function resetOperatorMfa(
  tx: Tx,
  ctx: CommandContext,
  id: string,
  reason?: string,
): Promise<OperatorView> {
  const row = await load(tx, id);
  const now = ctx.clock.now();
  const [updated] = await tx.db
    .update(operators)
    .set({ totpSecretEnc: null, totpEnrolledAt: null, totpLastStep: null, recoveryCodeHashes: [] })
    .where(eq(operators.id, id))
    .returning();
  await endSessions(tx, id, now);
  await appendAudit(tx, ctx, {
    action: 'operator.mfa_reset',
    subject: { type: 'operator', id },
    before: { mfaEnrolled: row.totpEnrolledAt !== null },
    after: { mfaEnrolled: false },
    ...(reason ? { reason } : {}),
  });
  return operatorView(updated!, now);
}

export async function setOperatorPassword(
  tx: Tx,
  ctx: CommandContext,
  id: string,
  password: string,
): Promise<OperatorView> {
  const row = await load(tx, id);
  const problems = passwordProblems(password, { email: row.email, displayName: row.displayName });
  if (problems.length) throw invalid(problems);
  const now = ctx.clock.now();
  const [updated] = await tx.db
    .update(operators)
    .set({
      passwordHash: await hashPassword(password),
      passwordChangedAt: now,
      failedLogins: 0,
      lockedUntil: null,
    })
    .where(eq(operators.id, id))
    .returning();
  await endSessions(tx, id, now);
  await appendAudit(tx, ctx, {
    action: 'operator.password_set',
    subject: { type: 'operator', id },
    after: { passwordChangedAt: now.toISOString() },
  });
  return operatorView(updated!, now);
}

export const OPERATOR_SORTS = ['email', 'displayName', 'role', 'lastLoginAt', 'createdAt'] as const;

export interface OperatorQuery {
  q?: string;
  role?: Role;
  status?: 'active' | 'disabled';
  sort?: (typeof OPERATOR_SORTS)[number];
  order?: 'asc' | 'desc';
  page?: number;
  pageSize?: number;
}

export async function listOperators(
  database: Pick<Database, 'db'>,
  q: OperatorQuery,
  now: Date,
): Promise<{ items: OperatorView[]; total: number; page: number; pageSize: number }> {
  const where: SQL[] = [];
  if (q.q?.trim()) {
    const like = `%${q.q.trim().replace(/[\\%_]/g, '\\$&')}%`;
    where.push(or(ilike(operators.email, like), ilike(operators.displayName, like))!);
  }
  if (q.role) where.push(eq(operators.role, q.role));
  if (q.status) where.push(eq(operators.status, q.status));
  const page = Math.max(q.page ?? 1, 1);
  const pageSize = Math.min(Math.max(q.pageSize ?? 25, 1), 200);
  const col = {
    email: operators.email,
    displayName: operators.displayName,
    role: operators.role,
    lastLoginAt: operators.lastLoginAt,
    createdAt: operators.createdAt,
  }[q.sort ?? 'email'];
  const dir = q.order === 'desc' ? desc : asc;
  const filter = where.length ? and(...where) : undefined;
  const rows = await database.db
    .select()
    .from(operators)
    .where(filter)
    .orderBy(dir(col), asc(operators.id))
    .limit(pageSize)
    .offset((page - 1) * pageSize);
  const [{ n } = { n: 0 }] = await database.db
    .select({ n: sql<number>`count(*)::int` })
    .from(operators)
    .where(filter);
  return { items: rows.map((r) => operatorView(r, now)), total: n, page, pageSize };
}

export async function getOperator(
  database: Pick<Database, 'db'>,
  id: string,
  now: Date,
): Promise<OperatorView> {
  const [row] = await database.db.select().from(operators).where(eq(operators.id, id));
  if (!row) throw new GatehouseError(OperatorErrors.notFound, `no operator with id ${id}`, { status: 404 });
  return operatorView(row, now);
}

export async function operatorStats(
  database: Pick<Database, 'db'>,
  now: Date,
): Promise<{ total: number; active: number; lockedOut: number; withoutMfa: number }> {
  const [r] = await database.db
    .select({
      total: sql<number>`count(*)::int`,
      active: sql<number>`count(*) filter (where ${operators.status} = 'active')::int`,
      lockedOut: sql<number>`count(*) filter (where ${operators.lockedUntil} > ${now})::int`,
      withoutMfa: sql<number>`count(*) filter (where ${operators.totpEnrolledAt} is null and ${operators.status} = 'active')::int`,
    })
    .from(operators);
  return r ?? { total: 0, active: 0, lockedOut: 0, withoutMfa: 0 };
}
