import { describe, expect, it } from 'vitest';
import { Coalescer } from './coalesce.ts';

/** A fake directory write: resolves when `release()` is called, so a test controls what is in flight. */
function gate() {
  let release!: () => void;
  const p = new Promise<void>((r) => (release = r));
  return { p, release };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('Coalescer', () => {
  it('sends the first request at once and merges the ones that arrive while it is in flight', async () => {
    const sent: string[][] = [];
    const first = gate();
    const c = new Coalescer(async (_key, values) => {
      sent.push(values);
    });
    const alone = (v: string) => async () => {
      sent.push([v]);
      if (v === 'a') await first.p;
    };
    const results = [c.run('g1', 'a', alone('a'))];
    await tick();
    expect(sent).toEqual([['a']]);
    results.push(c.run('g1', 'b', alone('b')), c.run('g1', 'c', alone('c')), c.run('g2', 'x', alone('x')));
    await tick();
    // g2 is another key: not held behind g1.
    expect(sent).toEqual([['a'], ['x']]);
    first.release();
    await Promise.all(results);
    expect(sent).toEqual([['a'], ['x'], ['b', 'c']]);
  });

  it('retries each request of a failed merge on its own, so each caller gets its own answer', async () => {
    const first = gate();
    const c = new Coalescer(async () => {
      throw new Error('one value is bad');
    });
    const calls: string[] = [];
    const alone = (v: string) => async () => {
      calls.push(v);
      if (v === 'a') await first.p;
      if (v === 'bad') throw new Error(`bad value ${v}`);
    };
    const a = c.run('g', 'a', alone('a'));
    await tick();
    const good = c.run('g', 'good', alone('good'));
    const bad = c.run('g', 'bad', alone('bad'));
    first.release();
    await expect(a).resolves.toBeUndefined();
    await expect(good).resolves.toBeUndefined();
    await expect(bad).rejects.toThrow('bad value bad');
    expect(calls).toEqual(['a', 'good', 'bad']);
  });

  it('sends a value queued twice once and answers both; caps a merge at max requests', async () => {
    const first = gate();
    const merged: string[][] = [];
    const c = new Coalescer(
      async (_k, values) => {
        merged.push(values);
      },
      { max: 2 },
    );
    const a = c.run('g', 'a', () => first.p);
    await tick();
    const rest = ['B', 'b', 'c', 'd'].map((v) => c.run('g', v, async () => void merged.push([`alone ${v}`])));
    first.release();
    await Promise.all([a, ...rest]);
    // Two requests per merge: B and b are the same value (DNs compare case-insensitively), so that one goes alone
    // and answers both; then c and d merge.
    expect(merged).toEqual([['alone B'], ['c', 'd']]);
  });

  it('merges items of any type by their identity, and merges nothing when requests do not overlap', async () => {
    interface Item {
      id: string;
      caller: number;
    }
    const first = gate();
    const merged: string[][] = [];
    const c = new Coalescer<Item>(
      async (_k, items) => {
        merged.push(items.map((i) => `${i.id}/${i.caller}`));
      },
      { identity: (i) => i.id },
    );
    const a = c.run('g', { id: 'a', caller: 1 }, () => first.p);
    await tick();
    const rest = [
      c.run('g', { id: 'b', caller: 2 }, async () => void merged.push(['alone b'])),
      c.run('g', { id: 'b', caller: 3 }, async () => void merged.push(['alone b'])),
      c.run('g', { id: 'c', caller: 4 }, async () => void merged.push(['alone c'])),
    ];
    first.release();
    await Promise.all([a, ...rest]);
    // The first of two requests with the same identity stands for both.
    expect(merged).toEqual([['b/2', 'c/4']]);
    expect(c.counts).toEqual({ requests: 4, writes: 2 });
    // One at a time: each goes alone, at once.
    await c.run('g', { id: 'd', caller: 5 }, async () => void merged.push(['alone d']));
    await c.run('g', { id: 'e', caller: 6 }, async () => void merged.push(['alone e']));
    expect(merged.slice(1)).toEqual([['alone d'], ['alone e']]);
  });
});
