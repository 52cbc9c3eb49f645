import { describe, expect, it } from 'vitest';
import { statementName } from './statement-name.ts';

describe('statementName', () => {
  it('names a text the same way every time, apart by prefix and by text, and within 63 bytes', () => {
    const text = `select ${'x, '.repeat(200)}y from t where a = $1`;
    const name = statementName('ins', text);
    expect(name).toMatch(/^ins_[0-9a-f]{20}$/);
    expect(statementName('ins', text)).toBe(name);
    expect(statementName('scim', text)).toBe(`scim_${name.slice(4)}`);
    expect(statementName('ins', `${text} `)).not.toBe(name);
  });

  it('gives the same names after more texts than it remembers', () => {
    const first = statementName('t', 'select 0');
    const names = Array.from({ length: 2_500 }, (_, i) => statementName('t', `select ${i}`));
    expect(new Set(names).size).toBe(2_500);
    expect(statementName('t', 'select 0')).toBe(first);
    expect(names[0]).toBe(first);
  });
});
