// Endpoint signing secrets at rest: AES-256-GCM under the operator's key (HOOKYARD_ENCRYPTION_KEY),
// so a database dump or backup alone cannot forge webhooks. Several keys are accepted for rotation:
// the first seals, any of them opens, and start-up re-seals rows under older keys (and rows written
// in clear before this existed) with the first one.
//
// Stored form: enc:v1:<key id>:<base64 of iv(12) | tag(16) | ciphertext>. The key id is the first
// 8 hex digits of the key's SHA-256, so keys need no names. The endpoint id is the associated data:
// a sealed secret copied onto another endpoint's row does not open there.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const PREFIX = 'enc:v1:';

export class SecretBoxError extends Error {
  override name = 'SecretBoxError';
}

/** Parses one key: 32 bytes as base64 (44 characters) or hex (64). */
export function parseKey(text: string): Buffer | undefined {
  const t = text.trim();
  if (/^[0-9a-f]{64}$/i.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(t)) {
    const key = Buffer.from(t, 'base64');
    if (key.length === 32) return key;
  }
  return undefined;
}

export function generateKey(): string {
  return randomBytes(32).toString('base64');
}

const keyId = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 8);

export class SecretBox {
  private readonly keys = new Map<string, Buffer>();
  readonly primaryKeyId: string;

  /** `keys[0]` seals; every key opens. */
  constructor(keys: Buffer[]) {
    if (keys.length === 0) throw new SecretBoxError('at least one encryption key is needed');
    for (const k of keys) {
      if (k.length !== 32) throw new SecretBoxError('encryption keys are 32 bytes');
      this.keys.set(keyId(k), k);
    }
    this.primaryKeyId = keyId(keys[0]!);
  }

  seal(plaintext: string, endpointId: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.primaryKeyId)!, iv);
    cipher.setAAD(Buffer.from(endpointId));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${PREFIX}${this.primaryKeyId}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  /** The secret in clear. A row written before encryption existed is returned as it is. */
  open(stored: string, endpointId: string): string {
    if (!stored.startsWith(PREFIX)) return stored;
    const [kid, data] = stored.slice(PREFIX.length).split(':');
    const key = kid ? this.keys.get(kid) : undefined;
    if (!key || !data) throw new SecretBoxError(`signing secret sealed with key ${kid ?? '?'}, which HOOKYARD_ENCRYPTION_KEY does not hold`);
    const raw = Buffer.from(data, 'base64');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(endpointId));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('signing secret failed authentication (tampered, or sealed for another endpoint)');
    }
  }

  /** Whether a stored value is sealed with the key that seals now (nothing to re-seal). */
  isCurrent(stored: string): boolean {
    return stored.startsWith(`${PREFIX}${this.primaryKeyId}:`);
  }
}
