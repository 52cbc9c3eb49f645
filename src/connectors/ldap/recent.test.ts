import { describe, expect, it } from 'vitest';
import { RecentDns } from './recent.ts';

describe('RecentDns', () => {
  const ID = '5F1B0C7E-0000-4000-8000-00000000000A';

  it('gives a DN back until it is older than maxAgeMs, by id in any case, for the same kind only', () => {
    let now = 1_000;
    const r = new RecentDns(500, () => now);
    r.remember(ID, 'account', 'uid=a,ou=people,dc=x');
    expect(r.get(ID.toLowerCase(), 'account')).toBe('uid=a,ou=people,dc=x');
    expect(r.get(ID, 'group')).toBeUndefined();
    now += 500;
    expect(r.get(ID, 'account')).toBe('uid=a,ou=people,dc=x');
    now += 1;
    expect(r.get(ID, 'account')).toBeUndefined();
    // Remembering again starts the age over, and the newest DN wins.
    r.remember(ID, 'account', 'uid=b,ou=people,dc=x');
    now += 400;
    expect(r.get(ID, 'account')).toBe('uid=b,ou=people,dc=x');
    r.forget(ID.toLowerCase());
    expect(r.get(ID, 'account')).toBeUndefined();
    r.remember(ID, 'account', 'uid=b,ou=people,dc=x');
    r.remember('other', 'account', 'uid=c,ou=people,dc=x');
    r.forgetDn('UID=B,ou=people,dc=x');
    expect([r.get(ID, 'account'), r.get('other', 'account')]).toEqual([undefined, 'uid=c,ou=people,dc=x']);
  });

  it('remembers nothing when maxAgeMs is 0, and nothing without an id', () => {
    const r = new RecentDns(0, () => 0);
    r.remember(ID, 'account', 'uid=a,dc=x');
    expect(r.get(ID, 'account')).toBeUndefined();
    const s = new RecentDns(1000, () => 0);
    s.remember('', 'account', 'uid=a,dc=x');
    expect(s.get('', 'account')).toBeUndefined();
  });

  it('holds at most `max` entries, dropping the least recently remembered', () => {
    const r = new RecentDns(1000, () => 0, 2);
    r.remember('a', 'account', 'uid=a');
    r.remember('b', 'account', 'uid=b');
    r.remember('a', 'account', 'uid=a2'); // a is now the newest
    r.remember('c', 'account', 'uid=c');
    expect([r.get('a', 'account'), r.get('b', 'account'), r.get('c', 'account')]).toEqual([
      'uid=a2',
      undefined,
      'uid=c',
    ]);
  });
});
