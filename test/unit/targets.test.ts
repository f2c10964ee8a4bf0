import { describe, expect, it } from 'vitest';
import { HookyardError } from '../../src/errors.js';
import { guardedLookup, isBlockedAddress, validateEndpointUrl } from '../../src/security/targets.js';

describe('SSRF guard', () => {
  it.each([
    '127.0.0.1', '127.1.2.3', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '169.254.169.254',
    '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fc00::1', 'fd00:ec2::254',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe', '64:ff9b::10.0.0.1', '[::1]',
    'ff02::1', 'not-an-ip',
  ])('blocks %s', (ip) => {
    expect(isBlockedAddress(ip)).toBe(true);
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])('allows %s', (ip) => {
    expect(isBlockedAddress(ip)).toBe(false);
  });

  it.each([
    'http://127.0.0.1/hook', 'http://[::1]:8080/', 'http://169.254.169.254/latest/meta-data', 'http://10.1.2.3/',
    'http://localhost:3000/', 'http://metadata.google.internal/', 'http://intranet/', 'http://[::ffff:127.0.0.1]/',
    'http://2130706433/', 'http://0x7f000001/', 'http://0177.0.0.1/',
  ])('refuses to save %s, saying how to allow it', (url) => {
    expect(() => validateEndpointUrl(url, false)).toThrow(HookyardError);
    expect(() => validateEndpointUrl(url, false)).toThrow(/HOOKYARD_ALLOW_PRIVATE_TARGETS=true or run `hookyard dev`/);
  });

  it.each(['ftp://example.com/', 'javascript:alert(1)', 'not a url', 'https://user:pass@example.com/', `https://example.com/${'a'.repeat(2100)}`])(
    'rejects %s whatever the setting',
    (url) => {
      expect(() => validateEndpointUrl(url, true)).toThrow(HookyardError);
    },
  );

  it('accepts public URLs, and private ones when allowed', () => {
    expect(validateEndpointUrl('https://example.com/hooks?x=1#frag', false)).toBe('https://example.com/hooks?x=1');
    expect(validateEndpointUrl('http://127.0.0.1:9999/h', true)).toBe('http://127.0.0.1:9999/h');
  });

  it('refuses at connect time a name that resolves to a private address', async () => {
    const result = await new Promise<{ err: Error | null; address: unknown }>((resolve) =>
      guardedLookup('localhost', {}, (err, address) => resolve({ err, address })),
    );
    expect(result.err?.message).toMatch(/blocked target/);
  });
});
