import { generateSecret, generateURI, verify, generate } from 'otplib';
import QRCode from 'qrcode';

/** RFC 6238 TOTP, 6 digits, 30 s, SHA-1 (what every authenticator app supports). */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

export function totpUri(secret: string, account: string): string {
  return generateURI({ issuer: 'Gatehouse', label: account, secret });
}

export async function totpQrDataUrl(uri: string): Promise<string> {
  return QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: 2, width: 240 });
}

/**
 * Verify a code at `now`, accepting one step of clock drift either way, and refusing any step at or before
 * `afterStep` (a code cannot be replayed). Returns the matched time step, or null.
 */
export async function verifyTotp(
  secret: string,
  code: string,
  now: Date,
  afterStep: number | null,
): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  const r = await verify({
    secret,
    token: code,
    epoch: Math.floor(now.getTime() / 1000),
    epochTolerance: 30,
    ...(afterStep !== null ? { afterTimeStep: afterStep } : {}),
  });
  return r.valid && 'timeStep' in r ? (r as { timeStep: number }).timeStep : null;
}

/** The current code (tests and the CLI's self-check use it). */
export function totpNow(secret: string, now: Date): Promise<string> {
  return generate({ secret, epoch: Math.floor(now.getTime() / 1000) });
}
