// `hookyard dev` builds its Config from dev defaults under the user's environment.
import { describe, expect, it } from 'vitest';
import { DEV_RETRY_SCHEDULE, devBanner, devEnv } from '../../src/cli/dev.js';
import { loadConfig } from '../../src/config.js';

describe('hookyard dev configuration', () => {
  it('allows private targets, retries quickly, binds to loopback and generates a key when none is set', () => {
    const { env, generatedKey } = devEnv({ PATH: '/bin' }, () => 'hy_generated_key_0123456789');
    const config = loadConfig(env);
    expect(generatedKey).toBe(true);
    expect(config).toMatchObject({ allowPrivateTargets: true, host: '127.0.0.1', bootstrapApiKey: 'hy_generated_key_0123456789' });
    expect(config.retrySchedule).toEqual([0, 2_000, 5_000, 10_000]);
    expect(DEV_RETRY_SCHEDULE).toBe('0s,2s,5s,10s');
  });

  it('lets what the user set win, and treats an empty variable as unset', () => {
    const { env, generatedKey } = devEnv(
      { HOOKYARD_BOOTSTRAP_API_KEY: 'hy_mine_0123456789abcdef', HOOKYARD_RETRY_SCHEDULE: '1s', HOST: '0.0.0.0', HOOKYARD_ALLOW_PRIVATE_TARGETS: '', PORT: '4100' },
      () => 'hy_never_used_0123456789',
    );
    const config = loadConfig(env);
    expect(generatedKey).toBe(false);
    expect(config).toMatchObject({ bootstrapApiKey: 'hy_mine_0123456789abcdef', host: '0.0.0.0', port: 4100, allowPrivateTargets: true });
    expect(config.retrySchedule).toEqual([1_000]);
  });

  it('prints the URLs, the key and a two-line hint', () => {
    const lines = devBanner({ url: 'http://127.0.0.1:4000', apiKey: 'hy_k', generatedKey: true, retrySchedule: DEV_RETRY_SCHEDULE, allowPrivateTargets: true });
    const text = lines.join('\n');
    expect(text).toContain('dashboard   http://127.0.0.1:4000/');
    expect(text).toContain('GraphiQL    http://127.0.0.1:4000/graphql');
    expect(text).toMatch(/API key\s+hy_k/);
    expect(text).toContain('  hookyard listen --port 3000\n  HOOKYARD_URL=http://127.0.0.1:4000 HOOKYARD_API_KEY=hy_k hookyard endpoints create --url http://127.0.0.1:3000');
  });
});
