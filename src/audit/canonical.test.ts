import { describe, expect, it } from 'vitest';
import canonicalize from 'canonicalize';
import { canonicalJson } from './canonical.ts';

/** Deterministic pseudo-random JSON values, to compare our serialiser with the reference package byte for byte. */
function* values(seed: number, count: number): Generator<unknown> {
  let s = seed;
  const rnd = () => (s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const pieces = ['a', 'Z', 'é', 'ë', '€', '😀', '"', '\\', '\n', '\u2028', '\u0000', ' ', 'Å', '中'];
  const str = () =>
    Array.from({ length: Math.floor(rnd() * 6) }, () => pieces[Math.floor(rnd() * pieces.length)]).join('');
  const gen = (depth: number): unknown => {
    const k = Math.floor(rnd() * (depth > 3 ? 5 : 7));
    switch (k) {
      case 0:
        return null;
      case 1:
        return rnd() < 0.5;
      case 2:
        return [0, -0, 1, -1.5, 1e21, 1e-7, 123456789.125, 2 ** 53][Math.floor(rnd() * 8)];
      case 3:
      case 4:
        return str();
      case 5:
        return Array.from({ length: Math.floor(rnd() * 4) }, () => gen(depth + 1));
      default:
        return Object.fromEntries(
          Array.from({ length: Math.floor(rnd() * 5) }, () => [str(), gen(depth + 1)]),
        );
    }
  };
  for (let i = 0; i < count; i++) yield gen(0);
}

describe('canonical JSON (RFC 8785)', () => {
  it('matches the reference implementation byte for byte on 5,000 generated values', () => {
    let compared = 0;
    for (const v of values(42, 5000)) {
      expect(canonicalJson(v)).toBe(canonicalize(v as never));
      compared += 1;
    }
    expect(compared).toBe(5000);
  });

  it('sorts keys by UTF-16 code units, omits undefined, serialises dates via toJSON', () => {
    expect(canonicalJson({ b: 1, a: undefined, A: [undefined], '€': 2, é: 3 })).toBe(
      '{"A":[null],"b":1,"é":3,"€":2}',
    );
    expect(canonicalJson({ at: new Date(0) })).toBe('{"at":"1970-01-01T00:00:00.000Z"}');
  });

  it('refuses what JSON cannot hold faithfully', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(/NaN/);
    expect(() => canonicalJson(Number.POSITIVE_INFINITY)).toThrow(/Infinity/);
    expect(() => canonicalJson('\uD800x')).toThrow(/Lone surrogate/);
  });
});
