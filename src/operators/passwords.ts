import { hash, verify } from '@node-rs/argon2';
import type { FieldProblem } from '../kit/errors.ts';

/** argon2id with OWASP's recommended parameters (19 MiB, 2 iterations, 1 lane). */
const ARGON2ID = 2; // Algorithm.Argon2id (an ambient const enum we cannot import under verbatimModuleSyntax)
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/** A hash to verify against when the account does not exist, so timing does not reveal which emails exist. */
let dummy: Promise<string> | undefined;
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword('not-a-real-password-' + Math.random());
  return dummy;
}

// The most common passwords that pass a length check; a full breached-password list comes with the credentials issue.
const COMMON = new Set([
  'password1234',
  'password12345',
  'passwordpassword',
  '123456789012',
  'qwertyuiopas',
  'letmeinletmein',
  'administrator',
  'iloveyou1234',
  'welcome12345',
  'changeme1234',
]);

/** NIST SP 800-63B: length matters (12–256 here), no composition rules, refuse known-bad and context-specific values. */
export function passwordProblems(
  password: string,
  context: { email?: string; displayName?: string },
  field = 'password',
): FieldProblem[] {
  const p: FieldProblem[] = [];
  if (password.length < 12) p.push({ field, message: 'must be at least 12 characters' });
  if (password.length > 256) p.push({ field, message: 'must be at most 256 characters' });
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) p.push({ field, message: 'is too common; choose a longer phrase' });
  const local = context.email?.split('@')[0]?.toLowerCase();
  if (local && local.length >= 4 && lower.includes(local))
    p.push({ field, message: 'must not contain your email name' });
  if (/^(.)\1+$/.test(password)) p.push({ field, message: 'must not be one repeated character' });
  return p;
}
