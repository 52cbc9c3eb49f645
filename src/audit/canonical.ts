/**
 * RFC 8785 (JSON Canonicalization Scheme) for the values the audit trail holds: objects with keys sorted by UTF-16
 * code units, ECMAScript number and string serialisation, no whitespace. Byte-for-byte the same as the
 * `canonicalize` package (tested against it), several times faster: an HR import hashes one event per person.
 *
 * The fast path lets the native JSON.stringify do the work, with a replacer that re-creates each object with its
 * keys in sorted order. JavaScript objects always list integer-like keys ("7", "42") first in numeric order, which
 * is not code-unit order, so a value with such a key takes the plain recursive path instead.
 */
export function canonicalJson(value: unknown): string {
  let slow = false;
  const out = JSON.stringify(value, function (this: unknown, _key: string, v: unknown) {
    if (typeof v === 'string') {
      if (!v.isWellFormed()) throw new Error('Lone surrogate is not allowed');
      return v;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v))
        throw new Error(Number.isNaN(v) ? 'NaN is not allowed' : 'Infinity is not allowed');
      return v;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const keys = Object.keys(v).sort();
    const sorted: Record<string, unknown> = {};
    for (const k of keys) {
      if (INTEGER_KEY.test(k)) slow = true;
      if (!k.isWellFormed()) throw new Error('Lone surrogate is not allowed');
      sorted[k] = (v as Record<string, unknown>)[k];
    }
    return sorted;
  });
  return slow ? recursive(value) : out;
}

const INTEGER_KEY = /^(0|[1-9]\d*)$/;

function recursive(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return JSON.stringify(value);
    case 'object': {
      const withJson = value as { toJSON?: () => unknown };
      if (typeof withJson.toJSON === 'function') return recursive(withJson.toJSON());
      if (Array.isArray(value))
        return `[${value.map((v: unknown) => (v === undefined || typeof v === 'function' || typeof v === 'symbol' ? 'null' : recursive(v))).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const k of Object.keys(obj).sort()) {
        const v = obj[k];
        if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
        parts.push(`${JSON.stringify(k)}:${recursive(v)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      return undefined as unknown as string;
  }
}
