// `hookyard dev`: the server set up for trying Hookyard on one machine. The defaults sit under the
// user's environment (what they set still wins), and loadConfig stays the one reader of it.
import { generateApiKey } from '../auth/apiKeys.js';

type Env = Record<string, string | undefined>;

/** A failing delivery is FAILED within ~20 s instead of the production schedule's ~75 h. */
export const DEV_RETRY_SCHEDULE = '0s,2s,5s,10s';

/** The environment `hookyard dev` builds its Config from; `generated` says whether the key is new. */
export function devEnv(env: Env, newKey: () => string = generateApiKey): { env: Env; generatedKey: boolean } {
  // An empty variable counts as unset, as loadConfig reads it.
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const generatedKey = set.HOOKYARD_BOOTSTRAP_API_KEY === undefined;
  return {
    env: {
      HOST: '127.0.0.1', // a dev server with a printed key stays off the network unless asked
      HOOKYARD_ALLOW_PRIVATE_TARGETS: 'true', // receivers on 127.0.0.1, e.g. `hookyard listen`
      HOOKYARD_RETRY_SCHEDULE: DEV_RETRY_SCHEDULE,
      LOG_LEVEL: 'warn', // the banner says what matters; LOG_LEVEL=info shows every log line
      HOOKYARD_BOOTSTRAP_API_KEY: generatedKey ? newKey() : undefined,
      ...set,
    },
    generatedKey,
  };
}

/** What `hookyard dev` prints once the server listens. */
export function devBanner(o: { url: string; apiKey: string; generatedKey: boolean; retrySchedule: string; allowPrivateTargets: boolean }): string[] {
  return [
    '',
    `Hookyard dev server on ${o.url}`,
    `  dashboard   ${o.url}/`,
    `  GraphiQL    ${o.url}/graphql`,
    `  API key     ${o.apiKey}   (tenant "default"; ${o.generatedKey ? 'new on every start: set HOOKYARD_BOOTSTRAP_API_KEY to keep one' : 'from HOOKYARD_BOOTSTRAP_API_KEY'})`,
    `  retries     ${o.retrySchedule}; private targets ${o.allowPrivateTargets ? 'allowed' : 'refused'}`,
    '',
    'Try it (in another terminal):',
    '  hookyard listen --port 3000',
    `  HOOKYARD_URL=${o.url} HOOKYARD_API_KEY=${o.apiKey} hookyard endpoints create --url http://127.0.0.1:3000`,
    '',
  ];
}
