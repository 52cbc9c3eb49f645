import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../kit/clock.ts';
import type { ConnectorErrorCode } from '../kit/errors.ts';
import { scimConnector } from './index.ts';
import { httpError, parseRetryAfter } from './http.ts';

const clock = fixedClock('2026-03-01T12:00:00Z');
const err = (status: number, scimType?: string, headers: Record<string, string> = {}) =>
  httpError(
    status,
    {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: String(status),
      scimType,
      detail: `server says ${status}`,
    },
    new Headers(headers),
    'user bjensen',
    clock,
  );

describe('HTTP answers → ConnectorError', () => {
  it.each<[number, string | undefined, ConnectorErrorCode, boolean]>([
    [401, undefined, 'auth_failed', false],
    [403, undefined, 'permission_denied', false],
    [404, undefined, 'not_found', false],
    [409, 'uniqueness', 'already_exists', false],
    [409, undefined, 'already_exists', false],
    [409, 'other', 'conflict', false],
    [412, undefined, 'conflict', false],
    [400, 'invalidValue', 'schema_violation', false],
    [400, 'invalidSyntax', 'schema_violation', false],
    [400, 'mutability', 'schema_violation', false],
    [400, 'invalidFilter', 'schema_violation', false],
    [400, 'uniqueness', 'already_exists', false],
    [429, undefined, 'rate_limited', true],
    [500, undefined, 'target_error', true],
    [502, undefined, 'target_error', true],
    [503, undefined, 'target_error', true],
    [501, undefined, 'unsupported', false],
    [418, undefined, 'target_error', false],
  ])('%i %s → %s (retryable %s), keeping the server detail', (status, scimType, code, retryable) => {
    const e = err(status, scimType);
    expect(e.code).toBe(code);
    expect(e.retryable).toBe(retryable);
    expect(e.targetMessage).toBe(`server says ${status}`);
    expect(e.message).toContain(`server says ${status}`);
    if (scimType) expect(e.details.scimType).toBe(scimType);
  });

  it('reads Retry-After in seconds and as an HTTP date', () => {
    expect(err(429, undefined, { 'Retry-After': '7' }).retryAfterMs).toBe(7000);
    expect(err(429, undefined, { 'Retry-After': 'Sun, 01 Mar 2026 12:00:30 GMT' }).retryAfterMs).toBe(30_000);
    expect(err(503, undefined, { 'Retry-After': '2' }).retryAfterMs).toBe(2000);
    expect(err(429).retryAfterMs).toBeUndefined();
  });

  it.each([
    ['0', 0],
    ['120', 120_000],
    ['Sun, 01 Mar 2026 11:59:00 GMT', 0],
    ['soon', undefined],
    ['-5', undefined],
    ['', undefined],
  ])('Retry-After %j → %s ms', (value, want) => {
    expect(parseRetryAfter(value, clock.now())).toBe(want);
  });

  it('names a redirect as a configuration problem', () => {
    const e = httpError(308, undefined, new Headers({ location: 'https://x/scim' }), 'the Users list', clock);
    expect(e.code).toBe('invalid_config');
    expect(e.message).toContain('https://x/scim');
  });
});

describe('SCIM connector configuration', () => {
  const parse = (c: unknown) => scimConnector.configSchema.safeParse(c);
  const ok = { baseUrl: 'https://app.example/scim/v2', auth: { type: 'bearer', token: 't0k3n' } };

  it('applies defaults', () => {
    const r = parse(ok);
    expect(r.success).toBe(true);
    expect(r.data).toMatchObject({
      profile: 'rfc',
      pageSize: 100,
      timeoutMs: 30_000,
      sync: { mode: 'auto', overlapMs: 2000 },
    });
  });

  it.each([
    ['a non-http URL', { ...ok, baseUrl: 'ftp://x' }, 'baseUrl'],
    ['an unknown profile', { ...ok, profile: 'azure' }, 'profile'],
    ['an empty token', { ...ok, auth: { type: 'bearer', token: '' } }, 'auth.token'],
    ['basic without a password', { ...ok, auth: { type: 'basic', username: 'u' } }, 'auth.password'],
    [
      'a colon in a basic user name',
      { ...ok, auth: { type: 'basic', username: 'a:b', password: 'p' } },
      'auth.username',
    ],
    [
      'a mapping to a non-path',
      { ...ok, attributeMapping: { mail: 'emails[type eq "work" or 1 eq 1].value' } },
      'attributeMapping.mail',
    ],
    ['a page size of 0', { ...ok, pageSize: 0 }, 'pageSize'],
    ['an unknown key', { ...ok, verifyTls: false }, ''],
  ])('refuses %s, naming the field', (_, config, field) => {
    const r = parse(config);
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toContain(field);
  });

  it('keeps credentials in the secret field', () => {
    expect(scimConnector.secretFields).toEqual(['auth']);
  });
});
