// Live updates over graphql-ws. The socket retries for ever with a capped, jittered backoff, and
// every reconnect bumps `resync` so views re-fetch what they missed while it was down.
import { signal } from '@preact/signals';
import type { Client } from 'graphql-ws';
import { subscribe, subscriptionClient, subscriptionUrl } from '../src/client/graphql.js';
import type { DashDeliveriesQuery, DashLiveSubscription } from '../src/generated/gql/graphql.js';
import { DashLive } from './operations.js';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'offline';
export const liveState = signal<LiveState>('connecting');
/** Bumped on each reconnect after the first connection. */
export const resync = signal(0);
/** The last subscription error, cleared when the socket is live again. */
export const liveError = signal<string | null>(null);

/** A row of the deliveries list; a live change's delivery has the same fields but supersededBy (the list query's). */
export type LiveRow = Omit<DashDeliveriesQuery['deliveries']['edges'][number]['node'], 'supersededBy'> & { supersededBy?: { id: string } | null };
export type LiveChange = DashLiveSubscription['deliveryStatusChanged'];

const MAX_WAIT_MS = 10_000;
/** 0.5 s, 1 s, 2 s … capped at 10 s, with jitter so restarted servers are not stampeded. */
export const backoffMs = (retries: number) => Math.min(MAX_WAIT_MS, 500 * 2 ** Math.min(retries, 5)) * (0.75 + Math.random() * 0.5);

let client: Client | null = null;
const REFUSED = 'The server refused the live connection: sign in again.';

export function connect(): Client {
  client?.dispose();
  let connectedOnce = false;
  liveState.value = 'connecting';
  client = subscriptionClient({
    url: subscriptionUrl(`${location.origin}/graphql`),
    // No API key: the upgrade request carries the session cookie.
    lazy: false,
    keepAlive: 10_000,
    retryAttempts: Infinity,
    retryWait: async (retries) => new Promise((resolve) => setTimeout(resolve, backoffMs(retries))),
    // 4403: the server refused the credentials; retrying cannot help, the error is shown instead.
    shouldRetry: (e) => !(e && typeof e === 'object' && 'code' in e && (e as CloseEvent).code === 4403),
    on: {
      connected: () => {
        liveState.value = 'live';
        liveError.value = null;
        if (connectedOnce) resync.value++;
        connectedOnce = true;
      },
      closed: (e) => {
        // After a refusal the client gives up, so the indicator must not promise a reconnect.
        const refused = (e as CloseEvent)?.code === 4403;
        liveState.value = refused ? 'offline' : 'reconnecting';
        if (refused) liveError.value = REFUSED;
      },
    },
  });
  return client;
}

export function disconnect(): void {
  client?.dispose();
  client = null;
}

/** Every change of `endpointId`'s deliveries (all the tenant's when null); returns the unsubscribe. */
export function watch(endpointId: string | null, onChange: (c: LiveChange) => void): () => void {
  if (!client) return () => {};
  return subscribe(client, DashLive, { endpointId }, {
    next: ({ data, errors }) => {
      if (errors?.length) liveError.value = `Live updates failed: ${errors.map((e) => e.message).join('; ')}`;
      if (data) onChange(data.deliveryStatusChanged);
    },
    error: (err) => {
      if (err && typeof err === 'object' && (err as CloseEvent).code === 4403) liveError.value = REFUSED;
      else liveError.value = `Live updates stopped: ${err instanceof Error ? err.message : Array.isArray(err) ? err.map((e) => (e as Error).message).join('; ') : 'the connection was refused'}`;
    },
    complete: () => {},
  });
}
