import { describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  BusyError,
  ConstraintViolationError,
  InsufficientAccessError,
  InvalidCredentialsError,
  InvalidSyntaxError,
  NoSuchObjectError,
  ObjectClassViolationError,
  StrongAuthRequiredError,
  UnavailableError,
  UndefinedTypeError,
  UnknownStatusCodeError,
  UnwillingToPerformError,
} from 'ldapts';
import { ConnectorError, type ConnectorErrorCode } from '../kit/errors.ts';
import { ldapError } from './errors.ts';

const dn = 'uid=jdoe,ou=people,dc=example,dc=test';

function sysError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('ldapError', () => {
  const cases: [string, unknown, ConnectorErrorCode, boolean, { password?: boolean; attribute?: string }?][] =
    [
      ['49 invalidCredentials', new InvalidCredentialsError(''), 'auth_failed', false],
      ['32 noSuchObject', new NoSuchObjectError('no such object'), 'not_found', false],
      ['68 entryAlreadyExists', new AlreadyExistsError('Already exists'), 'already_exists', false],
      [
        '65 objectClassViolation',
        new ObjectClassViolationError("object class 'inetOrgPerson' requires attribute 'sn'"),
        'schema_violation',
        false,
      ],
      [
        '21 invalidAttributeSyntax',
        new InvalidSyntaxError('mail: value #0 invalid per syntax'),
        'schema_violation',
        false,
      ],
      [
        '17 undefinedAttributeType',
        new UndefinedTypeError('foo: attribute type undefined'),
        'schema_violation',
        false,
      ],
      [
        '19 constraint, setting a password',
        new ConstraintViolationError('Password fails quality checking policy'),
        'policy_violation',
        false,
        { password: true },
      ],
      [
        '19 constraint, other',
        new ConstraintViolationError('attribute uidNumber cannot have multiple values'),
        'schema_violation',
        false,
      ],
      [
        '50 insufficientAccessRights',
        new InsufficientAccessError('no write access to parent'),
        'permission_denied',
        false,
      ],
      ['51 busy', new BusyError('busy'), 'unreachable', true],
      ['52 unavailable', new UnavailableError('unavailable'), 'unreachable', true],
      [
        '53 unwilling (not a password)',
        new UnwillingToPerformError('no global superior knowledge'),
        'target_error',
        false,
      ],
      [
        '53 unwilling, setting a password',
        new UnwillingToPerformError('0000001F: SvcErr'),
        'policy_violation',
        false,
        { password: true },
      ],
      [
        '8 strongerAuthRequired',
        new StrongAuthRequiredError('confidentiality required'),
        'invalid_config',
        false,
      ],
      ['122 assertionFailed', new UnknownStatusCodeError(122, 'assertion failed'), 'conflict', false],
      ['ECONNREFUSED', sysError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), 'unreachable', true],
      ['ECONNRESET', sysError('ECONNRESET', 'read ECONNRESET'), 'unreachable', true],
      [
        'socket closed',
        new Error('Connection closed before message response was received. Message type: X'),
        'unreachable',
        true,
      ],
      ['operation timeout', new Error('SearchRequest: Operation timed out'), 'timeout', true],
      ['connect timeout', new Error('Connection timeout'), 'timeout', true],
      [
        'untrusted certificate',
        sysError('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'),
        'invalid_config',
        false,
      ],
      [
        'self-signed certificate',
        sysError('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'),
        'invalid_config',
        false,
      ],
    ];
  for (const [what, thrown, code, retryable, extra] of cases) {
    it(`${what} → ${code}${retryable ? ' (retryable)' : ''}`, () => {
      const e = ldapError(thrown, { operation: 'modify', dn, url: 'ldap://127.0.0.1:1', ...extra });
      expect(e).toBeInstanceOf(ConnectorError);
      expect(e.code).toBe(code);
      expect(e.retryable).toBe(retryable);
      expect(e.message).toContain(dn);
      expect(e.message).toMatch(/^modify failed/);
      expect(e.targetMessage?.length ?? 0).toBeGreaterThan(0);
      expect(e.targetMessage).not.toMatch(/Code: 0x/);
    });
  }

  it('names the attribute given, or the one the server mentions', () => {
    const given = ldapError(new InvalidSyntaxError('bad'), {
      operation: 'modify',
      dn,
      attribute: ['mail', 'cn'],
    });
    expect(given.message).toContain('attributes mail, cn');
    const said = ldapError(new InvalidSyntaxError('mail: value #0 invalid per syntax'), {
      operation: 'modify',
      dn,
    });
    expect(said.message).toContain('attribute mail');
    expect(said.details.attribute).toBe('mail');
    expect(said.targetMessage).toBe('mail: value #0 invalid per syntax');
    const required = ldapError(
      new ObjectClassViolationError("object class 'inetOrgPerson' requires attribute 'sn'"),
      {
        operation: 'create account',
        dn,
      },
    );
    expect(required.message).toContain('attribute sn');
  });

  it('uses a clearer policy sentence when the caller has one, keeping the server text', () => {
    const e = ldapError(new ConstraintViolationError('Password fails quality checking policy'), {
      operation: 'set password',
      dn,
      password: true,
      policyHint: 'password too short: the policy requires at least 8 characters',
    });
    expect(e.message).toContain('password too short: the policy requires at least 8 characters');
    expect(e.targetMessage).toBe('Password fails quality checking policy');
    expect(e.details.resultCode).toBe(19);
  });

  it('passes a ConnectorError through unchanged', () => {
    const original = new ConnectorError('conflict', 'x');
    expect(ldapError(original, { operation: 'modify' })).toBe(original);
  });
});
