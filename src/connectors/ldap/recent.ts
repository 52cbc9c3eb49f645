/**
 * DNs this connector was told by the directory a moment ago, by entryUUID: the DN the post-read control returned
 * for an add, a rename's new DN, and the DNs an identity search found. A member write uses a DN from here instead
 * of searching for it again, when it is younger than `maxAgeMs` — so a joiner created and put in two groups costs
 * one add and two modifies, not also two searches (about a quarter of the directory's work per joiner).
 *
 * What it trusts: that no other tool renamed or deleted the entry in those `maxAgeMs`. The connector's own renames
 * and deletes update it; a write to a DN that no longer exists (noSuchObject) drops the entries it used and is
 * retried after a search. A member value is not checked by the directory (memberof's default `dangling ignore`),
 * so a member renamed by another tool inside the window would be written under its old DN: `maxAgeMs: 0` looks
 * every DN up right before the write instead (the search then is one round trip before the modify).
 */
export class RecentDns {
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #max: number;
  /** entryUUID (lower case) → where it was and when the directory said so; oldest first. */
  readonly #byId = new Map<string, { dn: string; objectClass: string; at: number }>();

  constructor(maxAgeMs: number, now: () => number, max = 10_000) {
    this.#maxAgeMs = maxAgeMs;
    this.#now = now;
    this.#max = max;
  }

  remember(id: string, objectClass: string, dn: string): void {
    if (this.#maxAgeMs <= 0 || !id) return;
    const key = id.toLowerCase();
    this.#byId.delete(key);
    this.#byId.set(key, { dn, objectClass, at: this.#now() });
    if (this.#byId.size > this.#max) this.#byId.delete(this.#byId.keys().next().value!);
  }

  /** The DN of `id` if the directory gave it within `maxAgeMs` for an object of this class. */
  get(id: string, objectClass: string): string | undefined {
    const key = id.toLowerCase();
    const hit = this.#byId.get(key);
    if (!hit) return undefined;
    if (this.#now() - hit.at > this.#maxAgeMs) {
      this.#byId.delete(key);
      return undefined;
    }
    return hit.objectClass === objectClass ? hit.dn : undefined;
  }

  forget(id: string): void {
    this.#byId.delete(id.toLowerCase());
  }

  /** Forget whatever was at this DN (an entry deleted through a ref without its id). */
  forgetDn(dn: string): void {
    const lower = dn.toLowerCase();
    for (const [id, hit] of this.#byId) if (hit.dn.toLowerCase() === lower) this.#byId.delete(id);
  }
}
