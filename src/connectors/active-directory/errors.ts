/**
 * Active Directory's own error detail on top of the shared LDAP mapping (../ldap/errors.ts):
 *
 * - bind failures carry a sub-code in the diagnostic ("AcceptSecurityContext error, data 775, v1db1"): 52e bad
 *   credentials, 525 no such user, 530 logon hours, 531 workstation, 532 password expired, 533 disabled, 701 account
 *   expired, 773 must change password, 775 locked out;
 * - other failures start with a Win32 error code ("0000052D: Constraint violation - …"): 0000052D password policy,
 *   00002071 / 00000524 name already in use, 0000208D / 00002030 no such object, 00000005 access denied.
 *
 * Each becomes a ConnectorError with a sentence that says what happened, `details.adCode` with the code (tests and
 * code match on `code` and `details.adCode`, never on the message) and the DC's text in `targetMessage`. For a refused
 * password, `explainPasswordRefusal` says which rule of the effective policy the password broke.
 */
import { ConnectorError, type ConnectorErrorCode } from '../kit/errors.ts';
import { ldapError, type LdapErrorContext } from '../ldap/errors.ts';

/** Bind sub-codes (the `data …` part of an AcceptSecurityContext error) and what they mean. */
export const BIND_SUBCODES: Readonly<Record<string, string>> = {
  '525': 'the account does not exist',
  '52e': 'the user name or password is wrong',
  '530': 'the account may not sign in at this time (logon hours)',
  '531': 'the account may not sign in from this workstation',
  '532': 'the password has expired',
  '533': 'the account is disabled',
  '701': 'the account has expired (accountExpires)',
  '773': 'the password must be changed before the account can sign in (pwdLastSet = 0)',
  '775': 'the account is locked out after too many failed sign-ins',
};

/** The bind sub-code in a diagnostic ("… data 52e, v1db1" → "52e"), lower-case. */
export function bindSubCode(message: string): string | undefined {
  return /\bdata ([0-9a-f]{3,8})\b/i.exec(message)?.[1]?.toLowerCase();
}

/** The leading Win32 error code of a diagnostic ("0000052D: Constraint violation" → "0000052D"). */
export function win32Code(message: string): string | undefined {
  return /^([0-9A-F]{8}):/i.exec(message.trim())?.[1]?.toUpperCase();
}

export interface AdErrorContext extends LdapErrorContext {
  /** For a refused password: the sentence `explainPasswordRefusal` made. */
  policyHint?: string;
}

function where(ctx: AdErrorContext): string {
  return ctx.dn === undefined || ctx.dn === '' ? '' : ` (${ctx.dn})`;
}

function refined(
  base: ConnectorError,
  ctx: AdErrorContext,
  code: ConnectorErrorCode,
  sentence: string,
  adCode: string,
): ConnectorError {
  return new ConnectorError(code, `${ctx.operation} failed${where(ctx)}: ${sentence}`, {
    ...(base.targetMessage === undefined ? {} : { targetMessage: base.targetMessage }),
    cause: base.cause ?? base,
    details: { ...base.details, adCode },
  });
}

/**
 * Map anything an LDAP call to a domain controller threw to a ConnectorError: the shared LDAP mapping first, then
 * AD's sub-codes for a clearer sentence. An existing ConnectorError is refined the same way (its targetMessage is
 * the DC's text), so errors from the shared client pass through here too.
 */
export function adError(e: unknown, ctx: AdErrorContext): ConnectorError {
  const base = ldapError(e, ctx);
  // Already refined: keep it, unless this call can now explain a refused password.
  if (base.details.adCode !== undefined && !(ctx.policyHint && base.details.adCode === '0000052D'))
    return base;
  const said = base.targetMessage ?? '';
  if (base.code === 'auth_failed') {
    const sub = bindSubCode(said);
    const meaning = sub ? BIND_SUBCODES[sub] : undefined;
    if (sub && meaning) return refined(base, ctx, 'auth_failed', `${meaning} (AD ${sub})`, sub);
    return base;
  }
  const w = win32Code(said);
  if (!w) return base;
  switch (w) {
    case '0000052D':
      return refined(
        base,
        ctx,
        'policy_violation',
        ctx.policyHint ?? 'the password does not meet the domain password policy (AD 0000052D)',
        w,
      );
    case '00002071':
    case '00000524': {
      const sam = /samAccountName '([^']*)'/i.exec(said)?.[1];
      const sentence = sam
        ? `the sAMAccountName "${sam}" is already used by another object in the domain`
        : 'an object with this name already exists in the domain';
      return refined(base, ctx, 'already_exists', sentence, w);
    }
    case '0000208D':
    case '00002030':
      if (base.code === 'not_found' && /parent does not exist/i.test(said))
        return refined(base, ctx, 'not_found', 'the container (OU) it should go in does not exist', w);
      return base.code === 'not_found'
        ? refined(base, ctx, 'not_found', 'the object does not exist', w)
        : base;
    case '00002095':
      return refined(base, ctx, 'not_found', 'the container (OU) it should move to does not exist', w);
    case '00000005':
      return refined(
        base,
        ctx,
        'permission_denied',
        'the bind account lacks the rights for this (access denied)',
        w,
      );
    default:
      return new ConnectorError(base.code, base.message, {
        ...(base.targetMessage === undefined ? {} : { targetMessage: base.targetMessage }),
        cause: base.cause ?? base,
        details: { ...base.details, adCode: w },
        retryable: base.retryable,
      });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Password policy

export interface PasswordPolicy {
  minLength: number;
  complexity: boolean;
  historyLength: number;
  /** Who sets it, for the sentence: "the domain" or "the password settings object <name>". */
  source: string;
}

/** pwdProperties bit: DOMAIN_PASSWORD_COMPLEX. */
export const DOMAIN_PASSWORD_COMPLEX = 0x1;

const SYMBOL = /[~!@#$%^&*_\-+=`|\\(){}[\]:;"'<>,.?/]/u;

/** AD's complexity rule: which of the five character categories the password uses. */
export function complexityCategories(password: string): string[] {
  const out: string[] = [];
  if (/\p{Lu}/u.test(password)) out.push('upper-case letters');
  if (/\p{Ll}/u.test(password)) out.push('lower-case letters');
  if (/[0-9]/.test(password)) out.push('digits');
  if (SYMBOL.test(password)) out.push('symbols');
  if (/[\p{L}--[\p{Lu}\p{Ll}]]/v.test(password)) out.push('other letters');
  return out;
}

/** Whether the password contains the account name, or a 3+ character part of the display name (AD's rule). */
export function containsAccountName(
  password: string,
  account: { sAMAccountName?: string; displayName?: string },
): boolean {
  const pw = password.toLowerCase();
  const sam = account.sAMAccountName?.toLowerCase();
  if (sam && sam.length >= 3 && pw.includes(sam)) return true;
  const parts = (account.displayName ?? '').toLowerCase().split(/[,.\-_ #\t]+/);
  return parts.some((p) => p.length >= 3 && pw.includes(p));
}

/**
 * Why the DC refused a password (0000052D), as one sentence that never repeats the password: the first rule of
 * `policy` it breaks, or the whole policy when it breaks none we can check (history, minimum age, a filter DLL).
 */
export function explainPasswordRefusal(
  policy: PasswordPolicy,
  password: string,
  account: { sAMAccountName?: string; displayName?: string } = {},
): string {
  const length = [...password].length;
  if (length < policy.minLength)
    return `password too short: ${policy.source} requires at least ${policy.minLength} characters`;
  if (policy.complexity) {
    const used = complexityCategories(password);
    if (used.length < 3)
      return (
        `password does not meet complexity requirements: ${policy.source} requires characters from at least ` +
        `three of upper-case letters, lower-case letters, digits and symbols (this one has ` +
        `${used.length === 0 ? 'none' : used.join(' and ')})`
      );
    if (containsAccountName(password, account))
      return (
        `password does not meet complexity requirements: ${policy.source} does not allow a password that ` +
        'contains the account name or part of the display name'
      );
  }
  const rules = [`at least ${policy.minLength} characters`];
  if (policy.complexity) rules.push('complexity required');
  if (policy.historyLength > 0) rules.push(`none of the last ${policy.historyLength} passwords`);
  return `password refused by ${policy.source}'s password policy (${rules.join(', ')})`;
}
