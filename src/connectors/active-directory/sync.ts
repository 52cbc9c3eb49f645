/**
 * Incremental sync by uSNChanged. Every write on a domain controller takes the next update sequence number (USN) of
 * that DC; an object's uSNChanged is the USN of its last change and the rootDSE's highestCommittedUSN the newest
 * committed one. A position is (highestCommittedUSN when the last call began, the DC's dsServiceName): USNs are per
 * DC, so a token from another DC (behind a load balancer, after a restore) is refused rather than trusted.
 *
 * The token is opaque to callers: base64url of JSON, versioned.
 */
import { ConnectorError } from '../kit/errors.ts';

export interface UsnPosition {
  /** Decimal text of a 64-bit USN. */
  usn: string;
  /** dsServiceName of the DC that issued it. */
  dc: string;
}

export function encodeToken(p: UsnPosition): string {
  return Buffer.from(JSON.stringify({ v: 1, ...p }), 'utf8').toString('base64url');
}

export function decodeToken(token: string): UsnPosition {
  try {
    const o = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<UsnPosition> & {
      v?: number;
    };
    if (o.v === 1 && typeof o.usn === 'string' && /^\d+$/.test(o.usn) && typeof o.dc === 'string')
      return { usn: o.usn, dc: o.dc };
  } catch {
    /* fall through */
  }
  throw new ConnectorError(
    'invalid_config',
    'the Active Directory sync token is not one this connector issued',
    {
      details: { token },
    },
  );
}
