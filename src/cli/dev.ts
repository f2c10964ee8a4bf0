// `hookyard dev`: the server set up for trying Hookyard on one machine. The defaults sit under the
// user's environment (what they set still wins), and loadConfig stays the one reader of it.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { generateApiKey } from '../auth/apiKeys.js';

type Env = Record<string, string | undefined>;

/** A failing delivery is FAILED within ~20 s instead of the production schedule's ~75 h. */
export const DEV_RETRY_SCHEDULE = '0s,2s,5s,10s';

/** Where `hookyard dev` keeps its key, in the data directory beside the embedded database. */
export const DEV_KEY_FILE = 'dev-api-key';

/** The environment `hookyard dev` builds its Config from: dev defaults under what the user set. */
export function devEnv(env: Env): Env {
  // An empty variable counts as unset, as loadConfig reads it.
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  return {
    HOST: '127.0.0.1', // a dev server with a printed key stays off the network unless asked
    HOOKYARD_ALLOW_PRIVATE_TARGETS: 'true', // receivers on 127.0.0.1, e.g. `hookyard listen`
    HOOKYARD_RETRY_SCHEDULE: DEV_RETRY_SCHEDULE,
    LOG_LEVEL: 'warn', // the banner says what matters; LOG_LEVEL=info shows every log line
    ...set,
  };
}

export type DevKeySource = { from: 'env' } | { from: 'file'; file: string; created: boolean };

/**
 * The dev server's key when HOOKYARD_BOOTSTRAP_API_KEY is not set: made once per data directory and
 * kept in its `dev-api-key` (mode 0600), so a restart prints the same key and the tools configured
 * with it keep working. The database holds only its hash, like any key's; the file is the one place
 * the plaintext lives, as the data directory's `encryption.key` is for the embedded database.
 */
export async function devApiKey(dataDir: string, newKey: () => string = generateApiKey): Promise<{ key: string; file: string; created: boolean }> {
  const dir = resolve(dataDir);
  const file = join(dir, DEV_KEY_FILE);
  const existing = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (existing !== undefined) {
    const key = existing.trim();
    if (/^\S{16,200}$/.test(key)) return { key, file, created: false };
    throw new Error(`${file}: not an API key; delete the file and start \`hookyard dev\` again for a new one`);
  }
  await mkdir(dir, { recursive: true });
  const key = newKey();
  await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600); // whatever the umask
  return { key, file, created: true };
}

/** What `hookyard dev` prints once the server listens. */
export function devBanner(o: { url: string; apiKey: string; key: DevKeySource; retrySchedule: string; allowPrivateTargets: boolean }): string[] {
  const whence =
    o.key.from === 'env'
      ? 'from HOOKYARD_BOOTSTRAP_API_KEY'
      : `${o.key.created ? 'new, kept' : 'kept'} in ${o.key.file} (mode 0600) for the next start; delete that file for a new one`;
  return [
    '',
    `Hookyard dev server on ${o.url}`,
    `  dashboard   ${o.url}/`,
    `  GraphiQL    ${o.url}/graphql`,
    `  API key     ${o.apiKey}   (tenant "default"; ${whence})`,
    `  retries     ${o.retrySchedule}; private targets ${o.allowPrivateTargets ? 'allowed' : 'refused'}`,
    '',
    'Try it (in another terminal):',
    '  hookyard listen --port 3000',
    `  HOOKYARD_URL=${o.url} HOOKYARD_API_KEY=${o.apiKey} hookyard endpoints create --url http://127.0.0.1:3000`,
    '',
  ];
}
