import { describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  ConstraintViolationError,
  InvalidCredentialsError,
  NoSuchObjectError,
  UnknownStatusCodeError,
} from 'ldapts';
import { ConnectorError } from '../kit/errors.ts';
import {
  adError,
  bindSubCode,
  complexityCategories,
  containsAccountName,
  explainPasswordRefusal,
  win32Code,
  type PasswordPolicy,
} from './errors.ts';

/** The diagnostic text Windows AD and Samba put in a failed simple bind. */
const bindText = (sub: string) =>
  `80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data ${sub}, v1db1`;

describe('bind sub-codes', () => {
  it.each([
    ['52e', /user name or password is wrong/],
    ['525', /does not exist/],
    ['530', /at this time/],
    ['531', /workstation/],
    ['532', /password has expired/],
    ['533', /disabled/],
    ['701', /account has expired/],
    ['773', /must be changed/],
    ['775', /locked out/],
  ])('data %s → auth_failed with a sentence and details.adCode', (sub, sentence) => {
    const e = adError(new InvalidCredentialsError(bindText(sub)), {
      operation: 'sign in',
      dn: 'jdoe@corp.example.test',
    });
    expect(e.code).toBe('auth_failed');
    expect(e.details.adCode).toBe(sub);
    expect(e.message).toMatch(sentence);
    expect(e.message).toContain('jdoe@corp.example.test');
    expect(e.targetMessage).toBe(bindText(sub));
  });

  it('reads the sub-code case-insensitively and leaves an unknown one as the plain LDAP error', () => {
    expect(bindSubCode(bindText('52E'))).toBe('52e');
    const e = adError(new InvalidCredentialsError(bindText('999')), { operation: 'bind' });
    expect(e.code).toBe('auth_failed');
    expect(e.details.adCode).toBeUndefined();
  });
});

describe('Win32 codes of modify and add failures', () => {
  it('0000052D is a policy violation, explained by the policy hint when there is one', () => {
    const raw = new ConstraintViolationError(
      '0000052D: Constraint violation - check_password_restrictions: the password is too short. It should be equal or longer than 7 characters!',
    );
    const plain = adError(raw, { operation: 'set password', dn: 'CN=x,DC=y', password: true });
    expect(plain.code).toBe('policy_violation');
    expect(plain.details.adCode).toBe('0000052D');
    const hinted = adError(raw, {
      operation: 'set password',
      dn: 'CN=x,DC=y',
      password: true,
      policyHint: 'password too short: the domain requires at least 7 characters',
    });
    expect(hinted.message).toBe(
      'set password failed (CN=x,DC=y): password too short: the domain requires at least 7 characters',
    );
    expect(hinted.targetMessage).toContain('0000052D');
  });

  it('00002071 names the sAMAccountName already in use', () => {
    const e = adError(new AlreadyExistsError("00002071: samldb: samAccountName 'zoe1' already in use!"), {
      operation: 'create account',
      dn: 'CN=Zoe,OU=P,DC=y',
    });
    expect(e.code).toBe('already_exists');
    expect(e.details.adCode).toBe('00002071');
    expect(e.message).toContain('"zoe1" is already used');
  });

  it('a missing parent OU and a missing rename target are not_found with a sentence about the OU', () => {
    const add = adError(
      new NoSuchObjectError('00002030: objectclass: Cannot add CN=X,OU=Nope,DC=y, parent does not exist!'),
      { operation: 'create account', dn: 'CN=X,OU=Nope,DC=y' },
    );
    expect(add.code).toBe('not_found');
    expect(add.message).toMatch(/container \(OU\).*does not exist/);
    const move = adError(
      new UnknownStatusCodeError(
        80,
        '00002095: objectclass: Cannot rename CN=X,OU=A,DC=y, parent does not exist!',
      ),
      { operation: 'move account', dn: 'CN=X,OU=A,DC=y' },
    );
    expect(move.code).toBe('not_found');
    expect(move.details.adCode).toBe('00002095');
  });

  it('keeps an error it already refined, and maps ConnectorErrors from the shared client too', () => {
    const once = adError(new InvalidCredentialsError(bindText('775')), { operation: 'bind' });
    expect(adError(once, { operation: 'other' })).toBe(once);
    const fromClient = new ConnectorError('auth_failed', 'bind failed', { targetMessage: bindText('533') });
    expect(adError(fromClient, { operation: 'bind' }).details.adCode).toBe('533');
  });

  it('reads the leading Win32 code only', () => {
    expect(win32Code('0000052D: Constraint violation')).toBe('0000052D');
    expect(win32Code('Entry CN=x already exists')).toBeUndefined();
  });
});

describe('explainPasswordRefusal', () => {
  const domain: PasswordPolicy = { minLength: 7, complexity: true, historyLength: 24, source: 'the domain' };
  const account = { sAMAccountName: 'jdoe', displayName: 'John Doe-Smith' };

  it.each([
    ['Ab1!', domain, 'password too short: the domain requires at least 7 characters'],
    [
      'abcdefghij',
      domain,
      'password does not meet complexity requirements: the domain requires characters from at least three of ' +
        'upper-case letters, lower-case letters, digits and symbols (this one has lower-case letters)',
    ],
    [
      'Xx-jdoe-2026',
      domain,
      'password does not meet complexity requirements: the domain does not allow a password that contains the ' +
        'account name or part of the display name',
    ],
    ['Smith-2026!x', domain, /contains the account name or part of the display name/],
    [
      'Perfectly-Fine-1',
      domain,
      "password refused by the domain's password policy (at least 7 characters, complexity required, none of the last 24 passwords)",
    ],
    [
      'Abc-123',
      { minLength: 12, complexity: false, historyLength: 0, source: 'the password settings object "Admins"' },
      'password too short: the password settings object "Admins" requires at least 12 characters',
    ],
    [
      'lowercaseonly',
      { ...domain, complexity: false },
      "password refused by the domain's password policy (at least 7 characters, none of the last 24 passwords)",
    ],
  ])('%j', (password, policy, want) => {
    const got = explainPasswordRefusal(policy, password, account);
    if (typeof want === 'string') expect(got).toBe(want);
    else expect(got).toMatch(want);
    expect(got).not.toContain(password);
  });

  it('counts characters, not UTF-16 units', () => {
    expect(explainPasswordRefusal(domain, '😀😀😀😀😀😀😀', account)).not.toMatch(/too short/);
  });

  it('knows the five character categories', () => {
    expect(complexityCategories('aB3$')).toEqual([
      'upper-case letters',
      'lower-case letters',
      'digits',
      'symbols',
    ]);
    expect(complexityCategories('日本語')).toEqual(['other letters']);
    expect(containsAccountName('my-JDOE-pw', { sAMAccountName: 'jdoe' })).toBe(true);
    expect(containsAccountName('my-jd-pw', { sAMAccountName: 'jd' })).toBe(false);
  });
});
