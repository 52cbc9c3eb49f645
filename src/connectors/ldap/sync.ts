/**
 * Incremental sync by modifyTimestamp. A position is the (modifyTimestamp, entryCSN, entryUUID) of the last change
 * delivered; the next call searches `(modifyTimestamp>=ts)` — inclusive, because modifyTimestamp has one-second
 * resolution — and keeps only entries whose key sorts after the position. OpenLDAP's entryCSN
 * (`20261122083002.803916Z#000000#000#000000`: microseconds, then a change counter) orders changes within the same
 * second; on a server without it, two changes to different entries in the same second are told apart by entryUUID,
 * but an entry changed twice in the same second after being delivered is only seen at its next change.
 *
 * The token is opaque to callers: base64url of JSON, versioned.
 */
import { ConnectorError } from '../kit/errors.ts';

export interface SyncPosition {
  /** modifyTimestamp, GeneralizedTime `YYYYMMDDHHMMSSZ`. */
  ts: string;
  /** entryCSN of the last delivered change ('' when unknown). */
  csn: string;
  /** entryUUID of the last delivered change ('' before the first). */
  id: string;
}

export function encodeToken(p: SyncPosition): string {
  return Buffer.from(JSON.stringify({ v: 1, ...p }), 'utf8').toString('base64url');
}

export function decodeToken(token: string): SyncPosition {
  try {
    const o = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<SyncPosition> & {
      v?: number;
    };
    if (o.v === 1 && typeof o.ts === 'string' && /^\d{14}(\.\d+)?Z$/.test(o.ts)) {
      return {
        ts: o.ts,
        csn: typeof o.csn === 'string' ? o.csn : '',
        id: typeof o.id === 'string' ? o.id : '',
      };
    }
  } catch {
    /* fall through */
  }
  throw new ConnectorError('invalid_config', 'the LDAP sync token is not one this connector issued', {
    details: { token },
  });
}

/** Normalise a GeneralizedTime to `YYYYMMDDHHMMSSZ` (drops fractions; OpenLDAP writes whole seconds). */
export function normalizeTime(gt: string): string {
  const m = /^(\d{14})/.exec(gt);
  return m ? `${m[1]}Z` : gt;
}

export function generalizedTime(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** Total order of changes: by timestamp, then CSN, then id. */
export function compareKeys(a: SyncPosition, b: SyncPosition): number {
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return cmp(a.ts, b.ts) || cmp(a.csn, b.csn) || cmp(a.id, b.id);
}
