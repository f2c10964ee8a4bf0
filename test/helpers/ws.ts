// A real graphql-ws client over ws: src/client/graphql.ts's, with Node's WebSocket from `ws`.
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { vi } from 'vitest';
import type { Metrics } from '../../src/metrics.js';
import { subscribe, subscriptionClient, type SubscriptionClientOptions } from '../../src/client/graphql.js';
import type { TypedDocumentString } from '../../src/generated/gql/graphql.js';

export function wsClient(url: string, apiKey: string | null, extra: Partial<SubscriptionClientOptions> = {}): Client {
  return subscriptionClient({ url, apiKey, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, ...extra });
}

/** Collects a subscription's results until `until` says stop (or the timeout). */
export function collect<T, V = Record<string, unknown>>(client: Client, query: TypedDocumentString<T, V> | string, variables?: V) {
  const items: T[] = [];
  const errors: unknown[] = [];
  let notify: (() => void) | null = null;
  const unsubscribe = subscribe(
    client,
    query,
    variables ?? ({} as V),
    {
      next: (value) => {
        if (value.errors) errors.push(...value.errors);
        if (value.data) items.push(value.data);
        notify?.();
      },
      error: (err) => {
        errors.push(err);
        notify?.();
      },
      complete: () => notify?.(),
    },
  );
  return {
    items,
    errors,
    unsubscribe,
    async until(pred: (items: T[]) => boolean, timeoutMs = 10_000): Promise<T[]> {
      const deadline = Date.now() + timeoutMs;
      while (!pred(items)) {
        if (errors.length) throw new Error(`subscription error: ${JSON.stringify(errors)}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`subscription: condition not met in ${timeoutMs} ms (got ${items.length} items)`);
        await new Promise<void>((resolve) => {
          notify = resolve;
          setTimeout(resolve, Math.min(left, 100));
        });
      }
      return items;
    },
  };
}

/**
 * Waits for the app's subscriptions to listen, instead of sleeping: graphql-ws has no
 * per-subscription acknowledgement. A subscriber counts once the shared stream it joined has
 * asked graphql-yoga's pubsub for its first value, which is when the pubsub adds its listener
 * (src/graphql/sharedSubscriptions.ts reports it through the app's metrics).
 */
export function watchSubscriptions(services: { metrics: Metrics }) {
  return {
    /** Call before subscribing; the returned wait resolves once `n` more subscriptions listen. */
    expect(n: number, timeoutMs = 10_000) {
      const target = services.metrics.subscriptionStats.started + n;
      return () =>
        vi.waitFor(
          () => {
            const started = services.metrics.subscriptionStats.started;
            if (started < target) throw new Error(`${started - target + n} of ${n} subscriptions listening`);
          },
          { timeout: timeoutMs, interval: 10 },
        );
    },
  };
}
