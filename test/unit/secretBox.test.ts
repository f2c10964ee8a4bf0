import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateKey, parseKey, SecretBox, SecretBoxError } from '../../src/security/secretBox.js';

const a = randomBytes(32);
const b = randomBytes(32);

describe('SecretBox', () => {
  it('seals with the first key and opens with any, bound to the endpoint', () => {
    const sealed = new SecretBox([a]).seal('whsec_abc', 'ep_1');
    expect(sealed).toMatch(/^enc:v1:[0-9a-f]{8}:/);
    expect(sealed).not.toContain('whsec_');
    expect(new SecretBox([b, a]).open(sealed, 'ep_1')).toBe('whsec_abc');
    expect(new SecretBox([b, a]).isCurrent(sealed)).toBe(false);
    expect(new SecretBox([a, b]).isCurrent(sealed)).toBe(true);
    // Two seals of one secret differ (fresh IV each time).
    expect(new SecretBox([a]).seal('whsec_abc', 'ep_1')).not.toBe(sealed);
  });

  it('refuses a secret moved to another endpoint, tampered with, or sealed with a key it lacks', () => {
    const box = new SecretBox([a]);
    const sealed = box.seal('whsec_abc', 'ep_1');
    expect(() => box.open(sealed, 'ep_2')).toThrow(SecretBoxError);
    const raw = Buffer.from(sealed.split(':')[3]!, 'base64');
    raw[raw.length - 1]! ^= 1;
    expect(() => box.open(`${sealed.split(':').slice(0, 3).join(':')}:${raw.toString('base64')}`, 'ep_1')).toThrow(SecretBoxError);
    expect(() => new SecretBox([b]).open(sealed, 'ep_1')).toThrow(/does not hold/);
  });

  it('passes a secret stored before encryption through as it is', () => {
    expect(new SecretBox([a]).open('whsec_legacy', 'ep_1')).toBe('whsec_legacy');
  });

  it('parses base64 and hex keys of 32 bytes only', () => {
    expect(parseKey(generateKey())).toHaveLength(32);
    expect(parseKey(a.toString('hex'))).toEqual(a);
    expect(parseKey(randomBytes(16).toString('base64'))).toBeUndefined();
    expect(parseKey('not a key')).toBeUndefined();
  });
});
