import { describe, expect, it } from 'vitest';
import { Batcher } from './batch.ts';

/** A loader that records each call's keys and answers key → key upper-cased, except the keys it is told to miss. */
function recording(miss: string[] = []) {
  const calls: string[][] = [];
  const batcher = new Batcher<string, string>(async (keys) => {
    calls.push(keys);
    return new Map(keys.filter((k) => !miss.includes(k)).map((k) => [k, k.toUpperCase()]));
  }, 3);
  return { calls, batcher };
}

describe('Batcher', () => {
  it('loads the keys asked for in one turn with one call, each answered with its own value', async () => {
    const { calls, batcher } = recording(['b']);
    const loads = [batcher.load('a'), batcher.load('b')];
    // Asked for from promise reactions of the same turn (as a group's resolved requests do): still the same batch.
    const later = Promise.resolve().then(() => batcher.load('a'));
    expect(await Promise.all([...loads, later])).toEqual(['A', undefined, 'A']);
    expect(calls).toEqual([['a', 'b']]);
  });

  it('starts a new batch in a later turn', async () => {
    const { calls, batcher } = recording();
    expect(await batcher.load('a')).toBe('A');
    expect(await batcher.load('b')).toBe('B');
    expect(calls).toEqual([['a'], ['b']]);
  });

  it('sends a batch as soon as it holds the most keys, and the rest in the next', async () => {
    const { calls, batcher } = recording();
    const all = await Promise.all(['a', 'b', 'c', 'd'].map((k) => batcher.load(k)));
    expect(all).toEqual(['A', 'B', 'C', 'D']);
    expect(calls).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it("fails every load of a batch with the loader's error, and the next batch loads afresh", async () => {
    let fail = true;
    const batcher = new Batcher<string, string>((keys) => {
      if (fail) throw new Error('connection lost');
      return Promise.resolve(new Map(keys.map((k) => [k, k])));
    });
    const results = await Promise.allSettled([batcher.load('a'), batcher.load('b')]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : r.value))).toEqual([
      'connection lost',
      'connection lost',
    ]);
    fail = false;
    expect(await batcher.load('a')).toBe('a');
  });
});
