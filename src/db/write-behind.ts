import { sendingAs, statementsSent, type Tx } from './pool.ts';

/**
 * Writes queued on a transaction's connection without the caller waiting for each, so Node goes on preparing what
 * comes next (rows of the next table, the audit trail) while PostgreSQL loads what came before.
 *
 * Each write starts when the one before it has finished: statements keep the order they were queued in (a write
 * that reads a table loaded by an earlier one sees its rows), and after a failure nothing more is started, so the
 * failure reported is the first one, not the "current transaction is aborted" (25P02) of every statement after it.
 * On a pipelined transaction (`new WriteBehind(tx)`, `pipelinedTransaction`) each write starts as soon as it is
 * queued instead, and the connection keeps their order; the statements sent behind a failed one fail with 25P02,
 * and the failure reported is still the first. The transaction's COMMIT goes out only once every write has sent
 * its statement (`Tx.sendsBeforeCommit`; a write that sends late is watched with `sendingAs`).
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
  private readonly sent: (() => number) | undefined;
  /** Pipelined: the transaction's COMMIT waits for a write that has not sent its statement yet. */
  private readonly sendsBeforeCommit: ((sent: Promise<void>) => void) | undefined;
  /** Pipelined: what the next write waits for before it starts (a write that sent nothing when called), if any. */
  private blocked: Promise<void> | null = null;

  /**
   * On a pipelined transaction (`pipelinedTransaction`), `tx` makes each write start as soon as it is queued: the
   * connection carries it behind the ones before, so PostgreSQL runs them back to back, in order, without waiting
   * for Node. A write must then send its statement when called; one that sends nothing at once (it awaits something
   * first) is waited for, as without a pipeline, before the next starts.
   */
  constructor(tx?: Tx) {
    const sent = tx && statementsSent(tx) !== undefined ? () => statementsSent(tx)! : undefined;
    this.sent = sent;
    this.sendsBeforeCommit = tx?.sendsBeforeCommit;
  }

  private next<T>(write: () => Promise<T>): Promise<T> {
    if (this.sent) return this.pipelined(write, this.sent);
    return this.tail.then(() => {
      if (this.abandoned) throw new Error('write abandoned: the transaction is failing');
      return write();
    });
  }

  private pipelined<T>(write: () => Promise<T>, sent: () => number): Promise<T> {
    /** Until the write has sent its statement (or settled without): the COMMIT waits for it. */
    let late: PromiseWithResolvers<void> | null = null;
    const onSend = () => late?.resolve();
    const sendsLate = () => {
      if (!late) {
        late = Promise.withResolvers<void>();
        this.sendsBeforeCommit?.(late.promise);
      }
      return late;
    };
    const start = (): { result: Promise<T>; wait: Promise<unknown> | null } => {
      if (this.abandoned) {
        late?.resolve();
        throw new Error('write abandoned: the transaction is failing');
      }
      const before = sent();
      const result = sendingAs(onSend, write);
      if (sent() !== before) return { result, wait: null };
      // Sent nothing yet: the writes after it wait until it has finished, and the COMMIT until it has sent.
      const { resolve } = sendsLate();
      void result.then(
        () => resolve(),
        () => resolve(),
      );
      return { result, wait: result };
    };
    if (!this.blocked) {
      let started;
      try {
        started = start();
      } catch (e) {
        return Promise.reject(e as Error);
      }
      if (started.wait) this.unblockAfter(started.wait);
      return this.after(started.result);
    }
    sendsLate();
    const started = this.blocked.then(start);
    this.unblockAfter(started.then((s) => s.wait));
    return this.after(started.then((s) => s.result));
  }

  /** Writes wait for `p`; when it settles and nothing else was queued to wait for, they start at once again. */
  private unblockAfter(p: Promise<unknown>): void {
    const blocked = p.then(
      () => undefined,
      () => undefined,
    );
    this.blocked = blocked;
    void blocked.then(() => {
      if (this.blocked === blocked) this.blocked = null;
    });
  }

  /** The write's result, or the first failure of a write queued before it. */
  private after<T>(result: Promise<T>): Promise<T> {
    result.catch(() => undefined);
    return this.tail.then(() => result);
  }

  /**
   * `unordered`: nothing queued after this write depends on it (e.g. jobs published for the events written), so on a
   * pipelined transaction the writes after it start at once even if it sends its statement a moment later.
   */
  add(write: () => Promise<unknown>, opts: { unordered?: boolean } = {}): void {
    if (opts.unordered && this.sent) {
      const blocked = this.blocked;
      void this.run(write);
      this.blocked = blocked;
      return;
    }
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
