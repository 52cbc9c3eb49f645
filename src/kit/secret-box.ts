import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { GatehouseError } from './errors.ts';

export const SecretErrors = { keyMissing: 'secret_key_missing', corrupt: 'secret_corrupt' } as const;

/**
 * Encrypts small secrets at rest with AES-256-GCM. Format: "v1:" + base64(iv(12) | tag(16) | ciphertext). The
 * associated data binds a ciphertext to its purpose (e.g. "totp:<operator id>"), so a value copied into another
 * row does not decrypt.
 */
export interface SecretBox {
  available(): boolean;
  seal(plaintext: string, aad: string): string;
  open(sealed: string, aad: string): string;
}

export function secretBox(key: Buffer | undefined, missingReason: string): SecretBox {
  const need = (): Buffer => {
    if (!key) throw new GatehouseError(SecretErrors.keyMissing, missingReason, { status: 503 });
    return key;
  };
  return {
    available: () => key !== undefined,
    seal(plaintext, aad) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', need(), iv);
      c.setAAD(Buffer.from(aad, 'utf8'));
      const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
      return 'v1:' + Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64');
    },
    open(sealed, aad) {
      if (!sealed.startsWith('v1:'))
        throw new GatehouseError(SecretErrors.corrupt, 'an encrypted value has an unknown format', {
          status: 500,
        });
      const raw = Buffer.from(sealed.slice(3), 'base64');
      try {
        const d = createDecipheriv('aes-256-gcm', need(), raw.subarray(0, 12));
        d.setAAD(Buffer.from(aad, 'utf8'));
        d.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
      } catch (e) {
        if (e instanceof GatehouseError) throw e;
        throw new GatehouseError(
          SecretErrors.corrupt,
          'an encrypted value could not be decrypted (wrong GATEHOUSE_SECRET_KEY, or the value was tampered with)',
          { status: 500, cause: e },
        );
      }
    },
  };
}
