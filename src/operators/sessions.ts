import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { appendAudit, personal } from '../audit/index.ts';
import { transaction, type Database, type Tx } from '../db/pool.ts';
import type { Clock } from '../kit/clock.ts';
import type { CommandContext } from '../kit/context.ts';
import { GatehouseError } from '../kit/errors.ts';
import type { IdGenerator } from '../kit/ids.ts';
import type { SecretBox } from '../kit/secret-box.ts';
import { OperatorErrors, createOperator } from './operators.ts';
import { dummyHash, verifyPassword } from './passwords.ts';
import { scopesOf, type Role } from './roles.ts';
import { operatorSessions, operators, setupLinks } from './schema.ts';
import { newTotpSecret, totpQrDataUrl, totpUri, verifyTotp } from './totp.ts';

export const SessionErrors = {
  loginFailed: 'login_failed',
  locked: 'login_locked',
  mfaFailed: 'mfa_failed',
  unauthenticated: 'unauthenticated',
  expired: 'session_expired',
  wrongStage: 'session_stage_invalid',
  csrf: 'csrf_failed',
  setupInvalid: 'setup_link_invalid',
  setupDone: 'setup_already_done',
} as const;

export const LOCKOUT = { freeAttempts: 5, baseMinutes: 1, maxMinutes: 60 } as const;

export interface AuthDeps {
  database: Database;
  secrets: SecretBox;
  clock: Clock;
  ids: IdGenerator;
  idleMinutes: number;
  maxHours: number;
}

export type Stage = 'mfa' | 'enrol' | 'full';

export interface SessionInfo {
  sessionId: string;
  stage: Stage;
  csrfToken: string;
  operator: { id: string; email: string; displayName: string; role: Role; scopes: string[] };
  idleTimeoutSeconds: number;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const newSecret = () => randomBytes(32).toString('base64url');

function ctxFor(deps: AuthDeps, actor: CommandContext['actor'], correlationId?: string): CommandContext {
  return { actor, clock: deps.clock, ids: deps.ids, ...(correlationId ? { correlationId } : {}) };
}

/** Lock duration after the n-th consecutive failure: none for the first 5, then 1, 2, 4 … 60 minutes. */
export function lockoutMinutes(failures: number): number {
  if (failures < LOCKOUT.freeAttempts) return 0;
  return Math.min(LOCKOUT.maxMinutes, LOCKOUT.baseMinutes * 2 ** (failures - LOCKOUT.freeAttempts));
}

function lockedError(until: Date): GatehouseError {
  return new GatehouseError(
    SessionErrors.locked,
    `Too many failed sign-in attempts. Try again after ${until.toISOString()}.`,
    {
      status: 423,
      details: { retryAt: until.toISOString() },
    },
  );
}

async function newSession(
  tx: Tx,
  deps: AuthDeps,
  operatorId: string,
  stage: Stage,
  meta: { ip?: string; userAgent?: string },
): Promise<string> {
  const token = newSecret();
  const now = deps.clock.now();
  await tx.db.insert(operatorSessions).values({
    id: deps.ids(),
    tokenHash: sha256(token),
    operatorId,
    stage,
    csrfToken: newSecret(),
    createdAt: now,
    lastSeenAt: now,
    idleExpiresAt: new Date(now.getTime() + deps.idleMinutes * 60_000),
    absoluteExpiresAt: new Date(now.getTime() + deps.maxHours * 3_600_000),
    ip: meta.ip ?? null,
    userAgent: meta.userAgent?.slice(0, 300) ?? null,
  });
  return token;
}

/** Count a failed attempt (password or second factor); lock with backoff. Returns the lock end, if locked now. */
async function recordFailure(
  tx: Tx,
  deps: AuthDeps,
  op: typeof operators.$inferSelect,
  what: string,
  correlationId?: string,
): Promise<Date | null> {
  const failures = op.failedLogins + 1;
  const minutes = lockoutMinutes(failures);
  const until = minutes > 0 ? new Date(deps.clock.now().getTime() + minutes * 60_000) : null;
  await tx.db
    .update(operators)
    .set({ failedLogins: failures, lockedUntil: until })
    .where(eq(operators.id, op.id));
  const ctx = ctxFor(deps, { type: 'operator', id: op.id, name: op.displayName }, correlationId);
  await appendAudit(tx, ctx, {
    action: 'operator.sign_in_failed',
    subject: { type: 'operator', id: op.id },
    after: { step: what, consecutiveFailures: failures },
  });
  if (until) {
    await appendAudit(tx, ctx, {
      action: 'operator.locked',
      subject: { type: 'operator', id: op.id },
      after: { lockedUntil: until.toISOString(), consecutiveFailures: failures },
    });
  }
  return until;
}

/** Step 1: email + password. Starts a half-signed-in session at the `mfa` or `enrol` stage. */
export async function login(
  deps: AuthDeps,
  input: { email: string; password: string; ip?: string; userAgent?: string; correlationId?: string },
): Promise<{ token: string; stage: Stage }> {
  const email = input.email.trim().toLowerCase();
  const [op] = await deps.database.db.select().from(operators).where(eq(operators.email, email));
  const now = deps.clock.now();
  if (!op) {
    await verifyPassword(await dummyHash(), input.password); // same work as a real check
    await transaction(deps.database, (tx) =>
      appendAudit(tx, ctxFor(deps, { type: 'system', id: 'sign-in' }, input.correlationId), {
        action: 'operator.sign_in_failed',
        subject: {
          type: 'operator_email',
          id: createHash('sha256').update(email).digest('hex').slice(0, 16),
        },
        after: { step: 'password', email: personal(email), reason: 'unknown email' },
        dataSubject: `email:${email}`,
      }),
    );
    throw new GatehouseError(SessionErrors.loginFailed, 'The email or password is not correct.', {
      status: 401,
    });
  }
  if (op.lockedUntil && op.lockedUntil > now) throw lockedError(op.lockedUntil);
  const ok = (await verifyPassword(op.passwordHash, input.password)) && op.status === 'active';
  const outcome = await transaction(deps.database, async (tx) => {
    const [fresh] = await tx.db.select().from(operators).where(eq(operators.id, op.id)).for('update');
    if (!ok)
      return {
        locked: await recordFailure(
          tx,
          deps,
          fresh!,
          op.status === 'active' ? 'password' : 'disabled',
          input.correlationId,
        ),
      };
    const stage: Stage = fresh!.totpEnrolledAt ? 'mfa' : 'enrol';
    return { token: await newSession(tx, deps, op.id, stage, input), stage };
  });
  if ('locked' in outcome) {
    if (outcome.locked) throw lockedError(outcome.locked);
    throw new GatehouseError(SessionErrors.loginFailed, 'The email or password is not correct.', {
      status: 401,
    });
  }
  return { token: outcome.token, stage: outcome.stage };
}

interface Loaded {
  session: typeof operatorSessions.$inferSelect;
  operator: typeof operators.$inferSelect;
}

async function loadSession(deps: AuthDeps, token: string | undefined, tx?: Tx): Promise<Loaded> {
  if (!token)
    throw new GatehouseError(SessionErrors.unauthenticated, 'You are not signed in.', { status: 401 });
  const db = tx?.db ?? deps.database.db;
  const q = db
    .select({ session: operatorSessions, operator: operators })
    .from(operatorSessions)
    .innerJoin(operators, eq(operators.id, operatorSessions.operatorId))
    .where(eq(operatorSessions.tokenHash, sha256(token)));
  const [row] = tx ? await q.for('update', { of: operatorSessions }) : await q;
  const now = deps.clock.now();
  if (!row || row.session.revokedAt)
    throw new GatehouseError(SessionErrors.unauthenticated, 'You are not signed in.', { status: 401 });
  if (
    row.session.idleExpiresAt <= now ||
    row.session.absoluteExpiresAt <= now ||
    row.operator.status !== 'active'
  ) {
    throw new GatehouseError(SessionErrors.expired, 'Your session expired. Please sign in again.', {
      status: 401,
    });
  }
  return row;
}

function info(deps: AuthDeps, l: Loaded): SessionInfo {
  return {
    sessionId: l.session.id,
    stage: l.session.stage,
    csrfToken: l.session.csrfToken,
    operator: {
      id: l.operator.id,
      email: l.operator.email,
      displayName: l.operator.displayName,
      role: l.operator.role,
      scopes: scopesOf(l.operator.role),
    },
    idleTimeoutSeconds: deps.idleMinutes * 60,
  };
}

/** Resolve a session cookie; extends the idle timeout (written at most every 15 s). */
export async function resolveSession(deps: AuthDeps, token: string | undefined): Promise<SessionInfo> {
  const l = await loadSession(deps, token);
  const now = deps.clock.now();
  if (now.getTime() - l.session.lastSeenAt.getTime() > 15_000) {
    const idle = new Date(
      Math.min(now.getTime() + deps.idleMinutes * 60_000, l.session.absoluteExpiresAt.getTime()),
    );
    await deps.database.db
      .update(operatorSessions)
      .set({ lastSeenAt: now, idleExpiresAt: idle })
      .where(eq(operatorSessions.id, l.session.id));
  }
  return info(deps, l);
}

export function csrfMatches(expected: string, presented: string | undefined): boolean {
  if (!presented) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

function requireStage(l: Loaded, stage: Stage): void {
  if (l.session.stage !== stage) {
    throw new GatehouseError(
      SessionErrors.wrongStage,
      stage === 'enrol'
        ? 'Authenticator enrolment is not expected now.'
        : 'An authentication code is not expected now.',
      { status: 409 },
    );
  }
}

async function signedIn(
  tx: Tx,
  deps: AuthDeps,
  l: Loaded,
  method: string,
  correlationId?: string,
): Promise<void> {
  const now = deps.clock.now();
  await tx.db
    .update(operatorSessions)
    .set({ stage: 'full', pendingTotpEnc: null, lastSeenAt: now })
    .where(eq(operatorSessions.id, l.session.id));
  await tx.db
    .update(operators)
    .set({ failedLogins: 0, lockedUntil: null, lastLoginAt: now })
    .where(eq(operators.id, l.operator.id));
  await appendAudit(
    tx,
    ctxFor(deps, { type: 'operator', id: l.operator.id, name: l.operator.displayName }, correlationId),
    {
      action: 'operator.sign_in',
      subject: { type: 'operator', id: l.operator.id },
      after: { method, sessionId: l.session.id },
    },
  );
}

/** Step 2: a TOTP code or a recovery code. */
export async function verifySecondFactor(
  deps: AuthDeps,
  token: string | undefined,
  input: { code?: string; recoveryCode?: string; correlationId?: string },
): Promise<{ stage: Stage }> {
  const outcome = await transaction(deps.database, async (tx) => {
    const l = await loadSession(deps, token, tx);
    requireStage(l, 'mfa');
    const [op] = await tx.db.select().from(operators).where(eq(operators.id, l.operator.id)).for('update');
    const now = deps.clock.now();
    if (op!.lockedUntil && op!.lockedUntil > now) return { locked: op!.lockedUntil };
    if (input.recoveryCode) {
      const h = sha256(normaliseRecovery(input.recoveryCode)).toString('hex');
      if (op!.recoveryCodeHashes.includes(h)) {
        await tx.db
          .update(operators)
          .set({ recoveryCodeHashes: op!.recoveryCodeHashes.filter((x) => x !== h) })
          .where(eq(operators.id, op!.id));
        await signedIn(tx, deps, l, 'recovery_code', input.correlationId);
        return { ok: true as const, left: op!.recoveryCodeHashes.length - 1 };
      }
    } else if (input.code && op!.totpSecretEnc) {
      const secret = deps.secrets.open(op!.totpSecretEnc, `totp:${op!.id}`);
      const step = await verifyTotp(secret, input.code.trim(), now, op!.totpLastStep);
      if (step !== null) {
        await tx.db.update(operators).set({ totpLastStep: step }).where(eq(operators.id, op!.id));
        await signedIn(tx, deps, l, 'totp', input.correlationId);
        return { ok: true as const, left: op!.recoveryCodeHashes.length };
      }
    }
    return {
      locked: await recordFailure(
        tx,
        deps,
        op!,
        input.recoveryCode ? 'recovery_code' : 'totp',
        input.correlationId,
      ),
    };
  });
  if ('locked' in outcome) {
    if (outcome.locked) throw lockedError(outcome.locked);
    throw new GatehouseError(
      SessionErrors.mfaFailed,
      input.recoveryCode
        ? 'That recovery code is not valid (each code works once).'
        : 'That code is not correct. Check the time on your phone and try the newest code.',
      { status: 401 },
    );
  }
  return { stage: 'full' };
}

/** Enrolment: a new TOTP secret for this half-signed-in session (kept encrypted on the session until confirmed). */
export async function startTotpEnrolment(
  deps: AuthDeps,
  token: string | undefined,
): Promise<{ secret: string; otpauthUrl: string; qrDataUrl: string }> {
  const l = await loadSession(deps, token);
  requireStage(l, 'enrol');
  const secret = newTotpSecret();
  await deps.database.db
    .update(operatorSessions)
    .set({ pendingTotpEnc: deps.secrets.seal(secret, `totp-pending:${l.session.id}`) })
    .where(eq(operatorSessions.id, l.session.id));
  const otpauthUrl = totpUri(secret, l.operator.email);
  return { secret, otpauthUrl, qrDataUrl: await totpQrDataUrl(otpauthUrl) };
}

function normaliseRecovery(code: string): string {
  return code.replace(/[\s-]/g, '').toLowerCase();
}

function newRecoveryCodes(): string[] {
  // 10 codes of 10 base32 characters (50 bits each), shown as xxxxx-xxxxx.
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  return Array.from({ length: 10 }, () => {
    const bytes = randomBytes(10);
    const s = Array.from(bytes, (b) => alphabet[b % 32]).join('');
    return `${s.slice(0, 5)}-${s.slice(5)}`;
  });
}

/** Confirm enrolment with a first code; returns recovery codes (shown once). The session is then fully signed in. */
export async function confirmTotpEnrolment(
  deps: AuthDeps,
  token: string | undefined,
  input: { code: string; correlationId?: string },
): Promise<{ stage: Stage; recoveryCodes: string[] }> {
  return transaction(deps.database, async (tx) => {
    const l = await loadSession(deps, token, tx);
    requireStage(l, 'enrol');
    if (!l.session.pendingTotpEnc)
      throw new GatehouseError(SessionErrors.wrongStage, 'Start the enrolment first (scan the QR code).', {
        status: 409,
      });
    const secret = deps.secrets.open(l.session.pendingTotpEnc, `totp-pending:${l.session.id}`);
    const step = await verifyTotp(secret, input.code.trim(), deps.clock.now(), null);
    if (step === null) {
      throw new GatehouseError(
        SessionErrors.mfaFailed,
        'That code is not correct. Scan the QR code again and enter the newest 6-digit code.',
        { status: 401, problems: [{ field: 'code', message: 'is not correct' }] },
      );
    }
    const codes = newRecoveryCodes();
    await tx.db
      .update(operators)
      .set({
        totpSecretEnc: deps.secrets.seal(secret, `totp:${l.operator.id}`),
        totpEnrolledAt: deps.clock.now(),
        totpLastStep: step,
        recoveryCodeHashes: codes.map((c) => sha256(normaliseRecovery(c)).toString('hex')),
      })
      .where(eq(operators.id, l.operator.id));
    await appendAudit(
      tx,
      ctxFor(
        deps,
        { type: 'operator', id: l.operator.id, name: l.operator.displayName },
        input.correlationId,
      ),
      {
        action: 'operator.mfa_enrol',
        subject: { type: 'operator', id: l.operator.id },
        after: { method: 'totp', recoveryCodes: codes.length },
      },
    );
    await signedIn(tx, deps, l, 'totp_enrolment', input.correlationId);
    return { stage: 'full' as const, recoveryCodes: codes };
  });
}

export async function logout(
  deps: AuthDeps,
  token: string | undefined,
  correlationId?: string,
): Promise<void> {
  if (!token) return;
  await transaction(deps.database, async (tx) => {
    const [s] = await tx.db
      .update(operatorSessions)
      .set({ revokedAt: deps.clock.now() })
      .where(and(eq(operatorSessions.tokenHash, sha256(token)), isNull(operatorSessions.revokedAt)))
      .returning();
    if (s) {
      await appendAudit(tx, ctxFor(deps, { type: 'operator', id: s.operatorId }, correlationId), {
        action: 'operator.sign_out',
        subject: { type: 'operator', id: s.operatorId },
        after: { sessionId: s.id },
      });
    }
  });
}

// ---------- first administrator ----------

async function operatorCount(db: Pick<Database, 'db'>['db']): Promise<number> {
  const [r] = await db.select({ n: sql<number>`count(*)::int` }).from(operators);
  return r?.n ?? 0;
}

export async function setupRequired(database: Pick<Database, 'db'>): Promise<boolean> {
  return (await operatorCount(database.db)) === 0;
}

const SETUP_LOCK = 7_201_004;

/**
 * First start with no operator: either create the administrator from the bootstrap settings, or issue a one-time
 * setup link (valid 24 h; a new start issues a new one and voids the old). Returns the link token when issued.
 */
export async function bootstrapFirstAdmin(
  deps: AuthDeps,
  opts: { email?: string; password?: string },
): Promise<{ created?: string; setupToken?: string }> {
  return transaction(deps.database, async (tx) => {
    await tx.client.query('select pg_advisory_xact_lock($1)', [SETUP_LOCK]);
    if ((await operatorCount(tx.db)) > 0) return {};
    const ctx = ctxFor(deps, { type: 'system', id: 'bootstrap' });
    if (opts.email && opts.password) {
      try {
        const op = await createOperator(tx, ctx, {
          email: opts.email,
          displayName: 'Administrator',
          role: 'administrator',
          password: opts.password,
        });
        return { created: op.email };
      } catch (e) {
        // Name the settings the values came from, so the fix is obvious.
        if (!(e instanceof GatehouseError) || e.code !== OperatorErrors.invalid) throw e;
        const settings: Record<string, string> = {
          email: 'GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL',
          password: 'GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD',
        };
        const problems = e.problems.map((p) => ({ field: settings[p.field] ?? p.field, message: p.message }));
        throw new GatehouseError(
          'config_invalid',
          `Invalid configuration:\n${problems.map((p) => `  ${p.field}: ${p.message}`).join('\n')}`,
          { problems },
        );
      }
    }
    const now = deps.clock.now();
    await tx.db.update(setupLinks).set({ usedAt: now }).where(isNull(setupLinks.usedAt));
    const token = newSecret();
    await tx.db.insert(setupLinks).values({
      id: deps.ids(),
      tokenHash: sha256(token),
      purpose: 'first_admin',
      createdAt: now,
      expiresAt: new Date(now.getTime() + 24 * 3_600_000),
    });
    await appendAudit(tx, ctx, {
      action: 'system.setup_link_issued',
      subject: { type: 'system', id: 'gatehouse' },
      after: { expiresAt: new Date(now.getTime() + 24 * 3_600_000).toISOString() },
    });
    return { setupToken: token };
  });
}

/** Use the one-time setup link: create the first administrator and start their session at the enrol stage. */
export async function completeSetup(
  deps: AuthDeps,
  input: {
    token: string;
    email: string;
    displayName: string;
    password: string;
    ip?: string;
    userAgent?: string;
    correlationId?: string;
  },
): Promise<{ token: string; stage: Stage }> {
  return transaction(deps.database, async (tx) => {
    await tx.client.query('select pg_advisory_xact_lock($1)', [SETUP_LOCK]);
    if ((await operatorCount(tx.db)) > 0)
      throw new GatehouseError(
        SessionErrors.setupDone,
        'Gatehouse already has an administrator. Sign in instead.',
        { status: 409 },
      );
    const now = deps.clock.now();
    const [link] = await tx.db
      .select()
      .from(setupLinks)
      .where(eq(setupLinks.tokenHash, sha256(input.token)));
    if (!link || link.usedAt || link.expiresAt <= now) {
      throw new GatehouseError(
        SessionErrors.setupInvalid,
        'This setup link is not valid (it may have expired or been replaced by a newer one). Restart Gatehouse to print a new link.',
        { status: 400 },
      );
    }
    await tx.db.update(setupLinks).set({ usedAt: now }).where(eq(setupLinks.id, link.id));
    const op = await createOperator(
      tx,
      ctxFor(deps, { type: 'system', id: 'setup-link' }, input.correlationId),
      {
        email: input.email,
        displayName: input.displayName,
        role: 'administrator',
        password: input.password,
      },
    );
    return { token: await newSession(tx, deps, op.id, 'enrol', input), stage: 'enrol' as const };
  });
}
