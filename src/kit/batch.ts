/**
 * Loads by key, batched: the keys asked for in one turn of the event loop are loaded by one call of `loadMany` (one
 * statement `… where id = any($1)` instead of one per key). On this kind of machine each statement costs both
 * processes a wake-up and the socket write that causes it, whatever it reads: a SCIM group of sixteen creates
 * answers its sixteen requests at once, and their sixteen read-backs become one statement.
 *
 * A key asked for twice in a batch is loaded once. `loadMany` failing fails every load of its batch with its error;
 * a key it does not answer loads as `undefined`.
 */
export class Batcher<K, V> {
  readonly #loadMany: (keys: K[]) => Promise<Map<K, V>>;
  readonly #max: number;
  #waiting = new Map<K, { resolve: (v: V | undefined) => void; reject: (e: unknown) => void }[]>();
  #scheduled: NodeJS.Immediate | undefined;

  /** `max`: most keys per call (a batch that reaches it goes at once). */
  constructor(loadMany: (keys: K[]) => Promise<Map<K, V>>, max = 500) {
    this.#loadMany = loadMany;
    this.#max = max;
  }

  load(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.#waiting.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.#waiting.set(key, [{ resolve, reject }]);
      if (this.#waiting.size >= this.#max) this.#flush();
      // After the callbacks of this turn (and their promise reactions): every key asked for by then goes together.
      else this.#scheduled ??= setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    const batch = this.#waiting;
    this.#waiting = new Map();
    const keys = [...batch.keys()];
    (async () => this.#loadMany(keys))().then(
      (found) => {
        for (const [key, waiters] of batch) for (const w of waiters) w.resolve(found.get(key));
      },
      (e: unknown) => {
        for (const waiters of batch.values()) for (const w of waiters) w.reject(e);
      },
    );
  }
}
