/**
 * One mapping from what ldapts throws (LDAP result codes, socket and TLS errors) to ConnectorError, shared by the LDAP
 * and Active Directory connectors. The message is Gatehouse's sentence and names the operation, the entry DN and the
 * attribute when known; the server's own diagnostic text is kept verbatim in `targetMessage`.
 */
import { ConnectorError, type ConnectorErrorCode } from '../kit/errors.ts';

export interface LdapErrorContext {
  /** What we were doing, as a verb phrase: "create account", "modify", "bind", "search". */
  operation: string;
  /** The entry the operation was about. */
  dn?: string;
  /** The attribute(s) the operation touched, when known. */
  attribute?: string | readonly string[];
  /** The operation sets a password: a constraint violation is then the password policy speaking. */
  password?: boolean;
  /** Where we were connecting (URL), for connection errors. Never contains credentials. */
  url?: string;
  /** A clearer sentence for a policy violation (e.g. "password too short: …"), when the caller could work it out. */
  policyHint?: string;
}

/** RFC 4511 result code names, for messages and details. */
const RESULT_NAMES: Record<number, string> = {
  1: 'operationsError',
  2: 'protocolError',
  3: 'timeLimitExceeded',
  4: 'sizeLimitExceeded',
  7: 'authMethodNotSupported',
  8: 'strongerAuthRequired',
  10: 'referral',
  11: 'adminLimitExceeded',
  12: 'unavailableCriticalExtension',
  13: 'confidentialityRequired',
  16: 'noSuchAttribute',
  17: 'undefinedAttributeType',
  18: 'inappropriateMatching',
  19: 'constraintViolation',
  20: 'attributeOrValueExists',
  21: 'invalidAttributeSyntax',
  32: 'noSuchObject',
  34: 'invalidDNSyntax',
  48: 'inappropriateAuthentication',
  49: 'invalidCredentials',
  50: 'insufficientAccessRights',
  51: 'busy',
  52: 'unavailable',
  53: 'unwillingToPerform',
  54: 'loopDetect',
  64: 'namingViolation',
  65: 'objectClassViolation',
  66: 'notAllowedOnNonLeaf',
  67: 'notAllowedOnRDN',
  68: 'entryAlreadyExists',
  69: 'objectClassModsProhibited',
  71: 'affectsMultipleDSAs',
  80: 'other',
  122: 'assertionFailed',
};

/** The LDAP result code of an ldapts error, if it is one. */
export function resultCode(e: unknown): number | undefined {
  if (e instanceof Error && typeof (e as { code?: unknown }).code === 'number') {
    return (e as unknown as { code: number }).code;
  }
  return undefined;
}

/** The server's diagnostic text: ldapts appends " Code: 0x31" to it; strip that. */
export function serverMessage(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  return raw.replace(/\s*Code: 0x[0-9a-f]+$/i, '').trim();
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
]);

const TLS_CODE_RE = /CERT|SELF_SIGNED|UNABLE_TO_|ALTNAME|ERR_SSL|ERR_TLS|EPROTO/;

function where(ctx: LdapErrorContext): string {
  const parts: string[] = [];
  if (ctx.dn !== undefined) parts.push(ctx.dn === '' ? 'the root DSE' : ctx.dn);
  const attrs =
    ctx.attribute === undefined ? [] : typeof ctx.attribute === 'string' ? [ctx.attribute] : ctx.attribute;
  if (attrs.length === 1) parts.push(`attribute ${attrs[0]}`);
  else if (attrs.length > 1) parts.push(`attributes ${attrs.join(', ')}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** Attribute names the server mentions in its diagnostic ("mail: value #0 invalid per syntax", "attribute 'x'"). */
function attributeFromMessage(msg: string): string | undefined {
  return (
    /^([A-Za-z][\w-]*): value #\d/.exec(msg)?.[1] ??
    /attribute '([^']+)'/i.exec(msg)?.[1] ??
    /attribute type '([^']+)'/i.exec(msg)?.[1] ??
    /^([A-Za-z][\w-]*): attribute type undefined/.exec(msg)?.[1] ??
    /object class '([^']+)' requires attribute '([^']+)'/.exec(msg)?.[2]
  );
}

/**
 * Map anything an LDAP call threw to a ConnectorError. An existing ConnectorError passes through unchanged.
 *
 * Result codes: 49 → auth_failed; 32 → not_found; 68 → already_exists; 17/21/34/64/65/67/69 → schema_violation;
 * 19 → policy_violation when a password was being set (or the server says so), else schema_violation; 50 →
 * permission_denied; 8/13 (encryption required) → invalid_config; 51/52 → unreachable (retryable); 3 → timeout;
 * 20/16/66/122 → conflict; 12 → unsupported; 53 → policy_violation for a password, else target_error (servers answer
 * "unwilling" for permanent refusals, so it is not retried). Sockets: ECONNREFUSED and friends → unreachable,
 * timeouts → timeout (both retryable); TLS certificate failures → invalid_config.
 */
export function ldapError(e: unknown, ctx: LdapErrorContext): ConnectorError {
  if (e instanceof ConnectorError) return e;
  const rc = resultCode(e);
  const targetMessage = serverMessage(e);
  const attribute = ctx.attribute ?? (rc !== undefined ? attributeFromMessage(targetMessage) : undefined);
  const at = where({ ...ctx, attribute });
  const details: Record<string, unknown> = { operation: ctx.operation };
  if (ctx.dn !== undefined) details.dn = ctx.dn;
  if (attribute !== undefined) details.attribute = attribute;

  if (rc !== undefined) {
    details.resultCode = rc;
    const name = RESULT_NAMES[rc] ?? `result code ${rc}`;
    const said = targetMessage ? `: ${targetMessage}` : '';
    const mk = (code: ConnectorErrorCode, sentence: string, retryable?: boolean) =>
      new ConnectorError(code, `${ctx.operation} failed${at}: ${sentence}`, {
        targetMessage: targetMessage || name,
        cause: e,
        details,
        ...(retryable === undefined ? {} : { retryable }),
      });
    const passwordish = ctx.password || /password/i.test(targetMessage);
    switch (rc) {
      case 49:
        return mk('auth_failed', `the directory refused the credentials (invalidCredentials)${said}`);
      case 48:
      case 7:
        return mk('auth_failed', `the directory does not accept this kind of sign-in (${name})${said}`);
      case 32:
        return mk('not_found', `the entry does not exist (noSuchObject)${said}`);
      case 68:
        return mk('already_exists', `an entry with this DN already exists (entryAlreadyExists)${said}`);
      case 19:
        if (passwordish)
          return mk(
            'policy_violation',
            ctx.policyHint ?? `the password was refused by the directory's password policy${said}`,
          );
        return mk('schema_violation', `a constraint was violated (constraintViolation)${said}`);
      case 53:
        if (ctx.password)
          return mk(
            'policy_violation',
            ctx.policyHint ?? `the directory is unwilling to set this password${said}`,
          );
        return mk('target_error', `the directory is unwilling to perform the operation${said}`);
      case 17:
      case 21:
      case 34:
      case 64:
      case 65:
      case 67:
      case 69:
      case 18:
        return mk('schema_violation', `the directory's schema refused it (${name})${said}`);
      case 50:
        return mk(
          'permission_denied',
          `the bind account lacks the access rights (insufficientAccessRights)${said}`,
        );
      case 8:
      case 13:
        return mk(
          'invalid_config',
          `the directory requires an encrypted connection: use tls.mode "starttls" or "ldaps" (${name})${said}`,
        );
      case 51:
      case 52:
        return mk('unreachable', `the directory is ${rc === 51 ? 'busy' : 'unavailable'}${said}`, true);
      case 3:
        return mk('timeout', `the directory's time limit was exceeded${said}`);
      case 20:
        return mk('conflict', `the value is already present (attributeOrValueExists)${said}`);
      case 16:
        return mk('conflict', `the attribute or value is not present (noSuchAttribute)${said}`);
      case 66:
        return mk('conflict', `the entry still has entries below it (notAllowedOnNonLeaf)${said}`);
      case 122:
        return mk(
          'conflict',
          `the entry no longer matches what the operation asserted (assertionFailed)${said}`,
        );
      case 12:
        return mk('unsupported', `the directory does not support a control this operation needs${said}`);
      default:
        return mk('target_error', `the directory answered ${name}${said}`);
    }
  }

  const sys = e as { code?: unknown; message?: unknown } | undefined;
  const code = typeof sys?.code === 'string' ? sys.code : '';
  const msg = targetMessage;
  const to = ctx.url ? ` ${ctx.url}` : '';
  const opts = { targetMessage: code && !msg.includes(code) ? `${msg} (${code})` : msg, cause: e, details };
  if (code === 'ETIMEDOUT' || /timed out|timeout/i.test(msg))
    return new ConnectorError(
      'timeout',
      `${ctx.operation} failed${at}: the directory${to} did not answer in time`,
      opts,
    );
  if (NETWORK_CODES.has(code) || /Socket error|Connection closed|socket hang up|not established/i.test(msg))
    return new ConnectorError(
      'unreachable',
      `${ctx.operation} failed${at}: cannot reach the directory${to} (${code || 'connection lost'})`,
      opts,
    );
  if (TLS_CODE_RE.test(code) || /certificate|self[- ]signed|TLS|SSL/i.test(msg))
    return new ConnectorError(
      'invalid_config',
      `${ctx.operation} failed${at}: the TLS connection to the directory${to} was refused (${code || msg}); ` +
        'check tls.ca (the CA that signed the server certificate) and the host name in the URL',
      opts,
    );
  return new ConnectorError('target_error', `${ctx.operation} failed${at}: ${msg || 'unknown error'}`, opts);
}
