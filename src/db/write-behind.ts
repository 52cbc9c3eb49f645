/**
 * Writes queued on a transaction's connection without the caller waiting for each, so Node goes on preparing what
 * comes next (rows of the next table, the audit trail) while PostgreSQL loads what came before.
 *
 * Each write starts when the one before it has finished: statements keep the order they were queued in (a write
 * that reads a table loaded by an earlier one sees its rows), and after a failure nothing more is started, so the
 * failure reported is the first one, not the "current transaction is aborted" (25P02) of every statement after it.
 * - `add(write)` queues a write whose result nobody needs;
 * - `run(write)` queues one and waits for its result (failing with the first failure queued before it, if any);
 * - `done()` waits for everything queued so far and throws the first failure;
 * - `abandon()`, for a caller that fails before `done()`: nothing queued starts any more, and it returns once the
 *   write in progress has settled. It must come before the caller's ROLLBACK: a write started after the rollback
 *   would run on the same connection outside any transaction, and what it wrote would stay.
 */
export class WriteBehind {
  private tail: Promise<unknown> = Promise.resolve();
  private abandoned = false;

  private next<T>(write: () => Promise<T>): Promise<T> {
    return this.tail.then(() => {
      if (this.abandoned) throw new Error('write abandoned: the transaction is failing');
      return write();
    });
  }

  add(write: () => Promise<unknown>): void {
    void this.run(write); // a failure is reported by done(), or by a later run()
  }

  run<T>(write: () => Promise<T>): Promise<T> {
    const p = this.next(write);
    p.catch(() => undefined); // the caller may await it later: never an unhandled rejection meanwhile
    this.tail = p;
    return p;
  }

  async done(): Promise<void> {
    await this.tail;
  }

  async abandon(): Promise<void> {
    this.abandoned = true;
    await this.tail.catch(() => undefined);
  }
}

/**
 * Call `fn` on each item, giving the event loop a turn every `sliceMs` of work: long CPU work in Node then lets the
 * streams that feed PostgreSQL (COPY) keep its socket full meanwhile, instead of PostgreSQL waiting for Node. Each
 * turn a COPY sends about one 256 KiB chunk, which PostgreSQL loads in a few ms: with 10 ms slices it waited for
 * the next (the names and people of a 100k import loaded in 2.0–2.2 s and 5.1–6.1 s; with 2 ms, 1.7–1.8 s and
 * 4.7–5.0 s). A turn costs a few µs.
 */
export async function forEachSliced<T>(
  items: Iterable<T>,
  fn: (item: T) => void,
  sliceMs = 2,
): Promise<void> {
  let until = performance.now() + sliceMs;
  let n = 0;
  for (const item of items) {
    fn(item);
    if ((++n & 63) === 0 && performance.now() >= until) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      until = performance.now() + sliceMs;
    }
  }
}
