// The graphql-ws subscribers of the subscriptions bench, in their own process (so the server's
// CPU is not the clients'). argv: url key endpointId subscribers expectedPushes deadlineMs.
// Prints {"connected":n} once every socket is acknowledged, then one summary line and exits when
// every expected push arrived or the deadline passed.
import WebSocket from 'ws';
import { subscribe, subscriptionClient } from '../src/client/graphql.js';
import { BenchEndpointStatus } from './operations.js';

const [url, key, endpointId, n, expected, deadlineMs] = process.argv.slice(2);
const subscribers = Number(n);
const lags: number[] = [];
const byStatus: Record<string, number[]> = {};
let connected = 0;
let errors = 0;
// This process's CPU from the first push to the last: whether the clients bound the figures.
let cpuAtFirst: NodeJS.CpuUsage | undefined;
let firstAt = 0;
let lastAt = 0;
// The changes' own times (occurredAt) per delivery, from the first subscriber: how close together
// an event's three changes come, i.e. how bursty the pushes are offered.
const changes = new Map<string, Record<string, number>>();
// Per change (delivery and status): its first and last arrival over all subscribers, to tell the
// wait before a change's fan-out starts from the fan-out's own length.
const spans = new Map<string, { occurred: number; first: number; last: number }>();
const clients = Array.from({ length: subscribers }, () =>
  subscriptionClient({
    url: url!,
    webSocketImpl: WebSocket,
    apiKey: key,
    retryAttempts: 0,
    on: {
      connected: () => {
        if (++connected === subscribers) console.log(JSON.stringify({ connected }));
      },
    },
  }),
);
let finish: () => void;
const done = new Promise<void>((r) => (finish = r));
for (const [i, c] of clients.entries()) {
  subscribe(
    c,
    BenchEndpointStatus,
    { endpointId: endpointId! },
    {
      next: (v) => {
        const now = Date.now();
        if (!cpuAtFirst) {
          cpuAtFirst = process.cpuUsage();
          firstAt = now;
        }
        lastAt = now;
        const lag = now - Date.parse(v.data!.deliveryStatusChanged.occurredAt);
        lags.push(lag);
        (byStatus[v.data!.deliveryStatusChanged.status] ??= []).push(lag);
        const change = `${v.data!.deliveryStatusChanged.delivery.id} ${v.data!.deliveryStatusChanged.status}`;
        const span = spans.get(change);
        if (span) span.last = now;
        else spans.set(change, { occurred: now - lag, first: now, last: now });
        if (i === 0) {
          const { delivery, status, occurredAt } = v.data!.deliveryStatusChanged;
          const times = changes.get(delivery.id) ?? {};
          times[status] = Date.parse(occurredAt);
          changes.set(delivery.id, times);
        }
        if (lags.length >= Number(expected)) finish();
      },
      error: () => void errors++,
      complete: () => {},
    },
  );
}
// The deadline starts once the driver has sent every event: it signals with SIGUSR2.
process.on('SIGUSR2', () => setTimeout(() => finish(), Number(deadlineMs)));
await done;
const cpu = process.cpuUsage(cpuAtFirst);
const pushMs = lastAt - firstAt;
const pctOf = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const gaps = (from: string, to: string) => pctOf([...changes.values()].filter((t) => t[from] && t[to]).map((t) => t[to]! - t[from]!), 50);
const fanOutMs = {
  startP50: pctOf([...spans.values()].map((x) => x.first - x.occurred), 50),
  lengthP50: pctOf([...spans.values()].map((x) => x.last - x.first), 50),
  lengthMax: Math.max(...[...spans.values()].map((x) => x.last - x.first)),
};
const changeGapsMs = { pendingToSending: gaps('PENDING', 'SENDING'), sendingToDelivered: gaps('SENDING', 'DELIVERED') };
const statuses = Object.fromEntries(Object.entries(byStatus).map(([s, xs]) => [s, { p50: pctOf(xs, 50), p99: pctOf(xs, 99) }]));
console.log(JSON.stringify({ summary: { received: lags.length, p50: pctOf(lags, 50), p99: pctOf(lags, 99), max: Math.max(...lags), errors, statuses, changeGapsMs, fanOutMs, pushMs, cpuMs: Math.round((cpu.user + cpu.system) / 1000) } }));
await Promise.all(clients.map((c) => c.dispose()));
process.exit(0);
