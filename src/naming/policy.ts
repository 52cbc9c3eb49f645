import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { appendAudit } from '../audit/index.ts';
import type { Database, Tx } from '../db/pool.ts';
import type { CommandContext } from '../kit/context.ts';
import { GatehouseError, type FieldProblem } from '../kit/errors.ts';
import { systemState } from '../system/schema.ts';
import { templateProblems } from './templates.ts';

export const NamingErrors = {
  /** A naming policy (given, or stored) does not validate. */
  invalidPolicy: 'naming_policy_invalid',
  /** A name asked for is held by someone else (or under a leaver's embargo). */
  taken: 'naming_name_taken',
  /** A name asked for is on the policy's reserved list. */
  reserved: 'naming_name_reserved',
  /** A name asked for is not a valid username or email address under the policy. */
  invalidName: 'naming_name_invalid',
  /** Every candidate of a base is taken within the length limit. */
  exhausted: 'naming_candidates_exhausted',
  /** Names to allocate were given twice for one person, or a person is unknown. */
  invalidInput: 'naming_input_invalid',
} as const;

export interface NamingPolicy {
  username: { template: string; maxLength: number };
  /** `maxLength` is the local part's (before the "@"). */
  email: { template: string; domain: string; maxLength: number };
  displayName: { template: string };
  /** Values no person may get (compared with the username and the email local part, case-insensitively). */
  reserved: string[];
  /** Days a leaver's names stay reserved to them before anyone else may get them. */
  embargoDays: number;
}

/** The system_state key the policy is stored under. */
export const NAMING_POLICY_KEY = 'naming.policy';

export const DEFAULT_NAMING_POLICY: NamingPolicy = {
  // 20: the sAMAccountName limit of Active Directory.
  username: { template: '{first}.{last}', maxLength: 20 },
  // 64: the longest local part RFC 5321 allows.
  email: { template: '{first}.{last}', domain: 'example.com', maxLength: 64 },
  displayName: { template: '{first} {last}' },
  reserved: [
    'abuse',
    'admin',
    'administrator',
    'administrators',
    'anonymous',
    'api',
    'backup',
    'daemon',
    'default',
    'defaultaccount',
    'everyone',
    'ftp',
    'guest',
    'guests',
    'help',
    'helpdesk',
    'hostmaster',
    'info',
    'it',
    'krbtgt',
    'localadmin',
    'mail',
    'mailer-daemon',
    'marketing',
    'news',
    'no-reply',
    'nobody',
    'noc',
    'noreply',
    'null',
    'operator',
    'postmaster',
    'privacy',
    'root',
    'sa',
    'sales',
    'security',
    'service',
    'support',
    'sys',
    'sysadmin',
    'system',
    'test',
    'user',
    'users',
    'uucp',
    'webmaster',
    'wpad',
    'www',
    'wdagutilityaccount',
  ],
  embargoDays: 365,
};

const USERNAME_MAX = 64;
const EMAIL_LOCAL_MAX = 64;
/** RFC 5321: an address (local@domain) is at most 254 octets. */
const EMAIL_ADDRESS_MAX = 254;
const EMBARGO_MAX_DAYS = 3650;
const RESERVED_MAX = 10_000;
const DOMAIN_RE = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const IDENTIFIER_RE = /^[a-z0-9._-]+$/;

function templateField(mode: 'identifier' | 'display') {
  return z.string({ error: 'must be a template such as {first}.{last}' }).superRefine((t, ctx) => {
    for (const message of templateProblems(t, mode)) ctx.addIssue({ code: 'custom', message });
  });
}

function lengthField(min: number, max: number) {
  return z
    .number({ error: `must be a whole number from ${min} to ${max}` })
    .int({ error: `must be a whole number from ${min} to ${max}` })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });
}

/** Validates (and normalises: lower-cases the domain and reserved names, drops duplicates) a naming policy. */
export const namingPolicySchema = z
  .strictObject({
    username: z.strictObject({
      template: templateField('identifier'),
      maxLength: lengthField(3, USERNAME_MAX),
    }),
    email: z.strictObject({
      template: templateField('identifier'),
      domain: z
        .string({ error: 'must be a domain name such as example.com' })
        .trim()
        .toLowerCase()
        .refine((d) => DOMAIN_RE.test(d), {
          error: (iss) =>
            `"${String(iss.input)}" is not a domain name such as example.com (letters, digits and "-" in dot-separated labels)`,
        }),
      maxLength: lengthField(3, EMAIL_LOCAL_MAX),
    }),
    displayName: z.strictObject({ template: templateField('display') }),
    reserved: z
      .array(
        z
          .string({ error: 'must be a name' })
          .trim()
          .toLowerCase()
          .superRefine((r, ctx) => {
            if (r === '') ctx.addIssue({ code: 'custom', message: 'must not be empty' });
            else if (r.length > USERNAME_MAX)
              ctx.addIssue({ code: 'custom', message: `"${r}" is longer than ${USERNAME_MAX} characters` });
            else if (!IDENTIFIER_RE.test(r))
              ctx.addIssue({
                code: 'custom',
                message: `"${r}" can never be generated (names only have letters a-z, digits, ".", "_" and "-"), so reserving it has no effect`,
              });
          }),
        { error: 'must be a list of names' },
      )
      .max(RESERVED_MAX, { error: `at most ${RESERVED_MAX} reserved names` })
      .transform((list) => [...new Set(list)]),
    embargoDays: lengthField(0, EMBARGO_MAX_DAYS),
  })
  .superRefine((p, ctx) => {
    const longest = p.email.maxLength + 1 + p.email.domain.length;
    if (longest > EMAIL_ADDRESS_MAX) {
      ctx.addIssue({
        code: 'custom',
        path: ['email', 'maxLength'],
        message: `addresses could be ${longest} characters long (local part ${p.email.maxLength} + "@" + ${p.email.domain.length}); at most ${EMAIL_ADDRESS_MAX} are allowed`,
      });
    }
  });

function fieldOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out || 'policy';
}

/** Validate a policy; throws `naming_policy_invalid` naming every problem (field and message). */
export function validateNamingPolicy(input: unknown): NamingPolicy {
  const r = namingPolicySchema.safeParse(input);
  if (r.success) return r.data;
  const problems: FieldProblem[] = r.error.issues.map((i) => ({
    field: fieldOf(i.path),
    message: i.message,
  }));
  throw new GatehouseError(
    NamingErrors.invalidPolicy,
    `The naming policy is invalid: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
    { problems },
  );
}

/** A stored policy with any section it lacks (written by an older version) taken from the default. */
function withDefaults(stored: unknown): unknown {
  if (!stored || typeof stored !== 'object' || Array.isArray(stored)) return stored;
  const s = stored as Record<string, unknown>;
  const section = (k: 'username' | 'email' | 'displayName') =>
    s[k] && typeof s[k] === 'object' ? { ...DEFAULT_NAMING_POLICY[k], ...(s[k] as object) } : s[k];
  return {
    ...DEFAULT_NAMING_POLICY,
    ...s,
    username: section('username') ?? DEFAULT_NAMING_POLICY.username,
    email: section('email') ?? DEFAULT_NAMING_POLICY.email,
    displayName: section('displayName') ?? DEFAULT_NAMING_POLICY.displayName,
  };
}

/** The naming policy in force: the stored one, or the default when none was ever set. */
export async function getNamingPolicy(db: Pick<Database, 'db'>): Promise<NamingPolicy> {
  const [row] = await db.db
    .select({ value: systemState.value })
    .from(systemState)
    .where(eq(systemState.key, NAMING_POLICY_KEY));
  if (!row) return structuredClone(DEFAULT_NAMING_POLICY);
  const r = namingPolicySchema.safeParse(withDefaults(row.value));
  if (!r.success) {
    throw new GatehouseError(
      NamingErrors.invalidPolicy,
      `The stored naming policy (system_state "${NAMING_POLICY_KEY}") is invalid: ${r.error.issues
        .map((i) => `${fieldOf(i.path)}: ${i.message}`)
        .join('; ')}. Set it again.`,
      { status: 500 },
    );
  }
  return r.data;
}

/**
 * Validate and store the naming policy, audited (`naming.policy_changed`, before and after) in the caller's
 * transaction. Returns the policy as stored (normalised). Storing the policy in force again changes nothing and
 * writes no event.
 */
export async function setNamingPolicy(
  tx: Tx,
  ctx: CommandContext,
  policy: NamingPolicy,
): Promise<NamingPolicy> {
  const next = validateNamingPolicy(policy);
  // Lock the row (when there is one) so that concurrent changes are recorded one after the other.
  await tx.db
    .select({ key: systemState.key })
    .from(systemState)
    .where(eq(systemState.key, NAMING_POLICY_KEY))
    .for('update');
  const before = await getNamingPolicy(tx).catch(() => null);
  if (before && JSON.stringify(before) === JSON.stringify(next)) return next;
  const now = ctx.clock.now();
  await tx.db
    .insert(systemState)
    .values({ key: NAMING_POLICY_KEY, value: next, updatedAt: now })
    .onConflictDoUpdate({ target: systemState.key, set: { value: next, updatedAt: now } });
  await appendAudit(tx, ctx, {
    action: 'naming.policy_changed',
    subject: { type: 'naming_policy', id: 'default' },
    before,
    after: next,
  });
  return next;
}
