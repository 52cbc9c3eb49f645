import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical.ts';
import {
  GENESIS_HASH,
  canonicalEvent,
  extractPersonal,
  hashEvent,
  hashEventParts,
  personal,
  personalRowRefs,
  personalValueCount,
  personalValueOf,
  resolvePersonal,
  type HashedEvent,
} from './chain.ts';

const event: HashedEvent = {
  seq: 1,
  id: '00000000-0000-4000-8000-000000000001',
  occurredAt: '2026-11-22T10:00:00.000Z',
  actor: { type: 'cli', id: 'root', name: null },
  action: 'token.create',
  subject: { type: 'api_token', id: 'abc' },
  before: null,
  after: { name: 'x', scopes: ['admin'] },
  reason: null,
  correlationId: null,
};

describe('audit chain hashing', () => {
  it('is canonical: key order does not change the hash', () => {
    const reordered = { ...event, after: { scopes: ['admin'], name: 'x' } };
    expect(hashEvent(GENESIS_HASH, reordered)).toBe(hashEvent(GENESIS_HASH, event));
  });

  it('canonical form is RFC 8785 (sorted keys, no spaces)', () => {
    const c = canonicalEvent(event, GENESIS_HASH);
    expect(
      c.startsWith(
        '{"action":"token.create","actor":{"id":"root","name":null,"type":"cli"},"after":{"name":"x","scopes":["admin"]}',
      ),
    ).toBe(true);
    expect(c).not.toContain(' ');
  });

  it.each([
    ['action', { ...event, action: 'token.revoke' }],
    ['after', { ...event, after: { name: 'y', scopes: ['admin'] } }],
    ['actor', { ...event, actor: { type: 'cli', id: 'mallory', name: null } }],
    ['time', { ...event, occurredAt: '2026-11-22T10:00:00.001Z' }],
    ['seq', { ...event, seq: 2 }],
  ])('changes when %s changes', (_what, changed) => {
    expect(hashEvent(GENESIS_HASH, changed as HashedEvent)).not.toBe(hashEvent(GENESIS_HASH, event));
  });

  it('depends on the previous hash', () => {
    expect(hashEvent('a'.repeat(64), event)).not.toBe(hashEvent(GENESIS_HASH, event));
  });

  it.each([
    ['a plain event', event],
    [
      'reason, correlation, unicode and nesting',
      {
        ...event,
        seq: 123_456,
        actor: { type: 'token', id: 't1', name: 'Zoë "HR" feed' },
        subject: { type: 'person', id: 'ßubject\u2028' },
        before: { department: 'Sales', nested: { b: [1, 2.5, null, true], a: 'é' } },
        after: { department: 'Légal', attributes: { '10': 'x', '9': 'y', z: { $personal: 'r1' } } },
        reason: 'HR import from hr (row 7): mover',
        correlationId: 'req-42',
      },
    ],
    ['before and after null', { ...event, before: null, after: null }],
  ])('hashEventParts is hashEvent for %s', (_what, e) => {
    const ev = e as HashedEvent;
    const parts = {
      actor: canonicalJson(ev.actor),
      before: canonicalJson(ev.before),
      after: canonicalJson(ev.after),
    };
    expect(hashEventParts(GENESIS_HASH, ev, parts)).toBe(hashEvent(GENESIS_HASH, ev));
    expect(hashEventParts('b'.repeat(64), ev, parts)).toBe(hashEvent('b'.repeat(64), ev));
  });

  it('is sha256 hex', () => {
    expect(hashEvent(GENESIS_HASH, event)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('personal values', () => {
  it('are replaced by references and collected', () => {
    let n = 0;
    const r = extractPersonal(
      { email: personal('ana@example.com'), dept: 'Sales', phones: [personal('+49 30 1')] },
      () => `ref-${++n}`,
    );
    expect(r.value).toEqual({
      email: { $personal: 'ref-1' },
      dept: 'Sales',
      phones: [{ $personal: 'ref-2' }],
    });
    expect(r.personal).toEqual([
      { ref: 'ref-1', value: 'ana@example.com' },
      { ref: 'ref-2', value: '+49 30 1' },
    ]);
  });

  it('normalises to what JSONB gives back (dates, undefined)', () => {
    const r = extractPersonal(
      { at: new Date('2026-01-01T00:00:00Z'), gone: undefined, list: [undefined, 1] },
      () => 'r',
    );
    expect(r.value).toEqual({ at: '2026-01-01T00:00:00.000Z', list: [null, 1] });
  });

  it("are found in an event's pack by their index, and in a one-value row of the earlier form", () => {
    const rows = new Map<string, unknown>([
      ['p1', { $values: ['ana@example.com', '+49 30 1'] }],
      ['legacy', 'old@example.com'],
      ['legacy-list', ['a', 'b']],
    ]);
    expect(personalValueOf(rows, 'p1#0')).toBe('ana@example.com');
    expect(personalValueOf(rows, 'p1#1')).toBe('+49 30 1');
    expect(personalValueOf(rows, 'legacy')).toBe('old@example.com');
    expect(personalValueOf(rows, 'legacy-list')).toEqual(['a', 'b']);
    // Gone (erased) or not there: undefined, never another value.
    for (const ref of ['p1#2', 'p1#-1', 'p1#x', 'p2#0', 'legacy-list#0', 'missing'])
      expect(personalValueOf(rows, ref)).toBeUndefined();
    expect(personalRowRefs(['p1#0', 'p1#1', 'legacy'])).toEqual(['p1', 'legacy']);
    expect(personalValueCount(rows.get('p1'))).toBe(2);
    expect(personalValueCount(rows.get('legacy-list'))).toBe(1);
  });

  it('resolve puts values back, or marks them erased', () => {
    const stored = { email: { $personal: 'a' }, name: { $personal: 'b' } };
    const values = new Map([['a', 'ana@example.com']]);
    expect(resolvePersonal(stored, (ref) => values.get(ref) ?? '[erased]')).toEqual({
      email: 'ana@example.com',
      name: '[erased]',
    });
  });
});
