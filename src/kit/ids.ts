import { randomFillSync } from 'node:crypto';

export type IdGenerator = () => string;

/**
 * Gatehouse's ids: UUID version 7 (RFC 9562 §5.7), a 48-bit Unix millisecond timestamp, then a 12-bit counter
 * (method 1 of §6.2), then 62 random bits.
 *
 * Why not version 4: every table keys its rows by id, and so do the indexes that name a person or an event (audit
 * subject, personal data, lifecycle events, names). Ids made one after another sort one after another, so a bulk
 * import appends to the right-hand edge of each index instead of splitting pages all over it; on 200,000 rows with
 * two such indexes that is about half the time (see bench/README.md, hr-import). The timestamp says when a row was
 * made, which every such row also stores in `created_at`; the 62 random bits keep ids unguessable.
 *
 * Ids from one process are strictly increasing: within a millisecond the counter counts up from a random start in
 * its lower half, and when it runs out the timestamp borrows the next millisecond.
 */
export const uuid: IdGenerator = () => uuidV7(Date.now());

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const POOL_IDS = 512;
const pool = Buffer.alloc(POOL_IDS * 10);
let poolAt = pool.length;
let lastMs = -1;
let counter = 0;

/** A version 7 UUID for the given millisecond (exported for tests: the clock is the caller's). */
export function uuidV7(nowMs: number): string {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const r = poolAt;
  poolAt += 10;
  if (nowMs > lastMs) {
    lastMs = nowMs;
    counter = ((pool[r]! << 8) | pool[r + 1]!) & 0x7ff; // a random start in the lower half leaves room to count
  } else if (counter < 0xfff) {
    counter += 1;
  } else {
    lastMs += 1; // 4,096 ids in one millisecond: borrow the next one, so order still holds
    counter = 0;
  }
  const ms = lastMs;
  const hi = Math.floor(ms / 2 ** 16); // the upper 32 of the 48 timestamp bits
  const lo = ms % 2 ** 16;
  return (
    HEX[(hi >>> 24) & 0xff]! +
    HEX[(hi >>> 16) & 0xff]! +
    HEX[(hi >>> 8) & 0xff]! +
    HEX[hi & 0xff]! +
    '-' +
    HEX[lo >>> 8]! +
    HEX[lo & 0xff]! +
    '-' +
    HEX[0x70 | (counter >>> 8)]! +
    HEX[counter & 0xff]! +
    '-' +
    HEX[0x80 | (pool[r + 2]! & 0x3f)]! +
    HEX[pool[r + 3]!]! +
    '-' +
    HEX[pool[r + 4]!]! +
    HEX[pool[r + 5]!]! +
    HEX[pool[r + 6]!]! +
    HEX[pool[r + 7]!]! +
    HEX[pool[r + 8]!]! +
    HEX[pool[r + 9]!]!
  );
}
