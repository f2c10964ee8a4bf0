// `hookyard dev` builds its Config from dev defaults under the user's environment, and keeps its key
// per data directory so a restart prints the same one.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEV_KEY_FILE, DEV_RETRY_SCHEDULE, devApiKey, devBanner, devEnv } from '../../src/cli/dev.js';
import { loadConfig } from '../../src/config.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'hookyard-dev-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('hookyard dev configuration', () => {
  it('allows private targets, retries quickly and binds to loopback', () => {
    const config = loadConfig(devEnv({ PATH: '/bin' }));
    expect(config).toMatchObject({ allowPrivateTargets: true, host: '127.0.0.1', bootstrapApiKey: undefined });
    expect(config.retrySchedule).toEqual([0, 2_000, 5_000, 10_000]);
    expect(DEV_RETRY_SCHEDULE).toBe('0s,2s,5s,10s');
  });

  it('lets what the user set win, and treats an empty variable as unset', () => {
    const config = loadConfig(
      devEnv({ HOOKYARD_BOOTSTRAP_API_KEY: 'hy_mine_0123456789abcdef', HOOKYARD_RETRY_SCHEDULE: '1s', HOST: '0.0.0.0', HOOKYARD_ALLOW_PRIVATE_TARGETS: '', PORT: '4100' }),
    );
    expect(config).toMatchObject({ bootstrapApiKey: 'hy_mine_0123456789abcdef', host: '0.0.0.0', port: 4100, allowPrivateTargets: true });
    expect(config.retrySchedule).toEqual([1_000]);
  });

  it('makes a key once per data directory, readable by its owner only, and reuses it on the next start', async () => {
    const dir = join(tempDir(), 'data'); // not there yet: made as the database would make it
    let minted = 0;
    const mint = () => `hy_generated_key_${++minted}_0123456789`;
    const first = await devApiKey(dir, mint);
    expect(first).toEqual({ key: 'hy_generated_key_1_0123456789', file: join(dir, DEV_KEY_FILE), created: true });
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    expect(readFileSync(first.file, 'utf8')).toBe(`${first.key}\n`);
    const again = await devApiKey(dir, mint);
    expect(again).toEqual({ ...first, created: false });
    expect(minted).toBe(1);
    // Another data directory, another key.
    expect((await devApiKey(tempDir(), mint)).key).toBe('hy_generated_key_2_0123456789');
  });

  it('refuses a key file that holds no key, and says how to get a new one', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, DEV_KEY_FILE), '\n');
    await expect(devApiKey(dir)).rejects.toThrow(/dev-api-key: not an API key; delete the file/);
  });

  it('prints the URLs, the key, where it is kept and a two-line hint', () => {
    const key = { from: 'file', file: '/data/dev-api-key', created: true } as const;
    const text = devBanner({ url: 'http://127.0.0.1:4000', apiKey: 'hy_k', key, retrySchedule: DEV_RETRY_SCHEDULE, allowPrivateTargets: true }).join('\n');
    expect(text).toContain('dashboard   http://127.0.0.1:4000/');
    expect(text).toContain('GraphiQL    http://127.0.0.1:4000/graphql');
    expect(text).toMatch(/API key\s+hy_k\s+\(tenant "default"; new, kept in \/data\/dev-api-key \(mode 0600\) for the next start; delete that file for a new one\)/);
    expect(text).toContain('  hookyard listen --port 3000\n  HOOKYARD_URL=http://127.0.0.1:4000 HOOKYARD_API_KEY=hy_k hookyard endpoints create --url http://127.0.0.1:3000');
    const fromEnv = devBanner({ url: 'http://x', apiKey: 'hy_k', key: { from: 'env' }, retrySchedule: '1s', allowPrivateTargets: false }).join('\n');
    expect(fromEnv).toContain('(tenant "default"; from HOOKYARD_BOOTSTRAP_API_KEY)');
  });
});
