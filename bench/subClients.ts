// The graphql-ws subscribers of the subscriptions bench, in their own process (so the server's
// CPU is not the clients'). argv: url key endpointId subscribers expectedPushes deadlineMs warmupEvents.
// Prints {"connected":n} once every socket is acknowledged, then one line of raw figures (the
// driver merges those of all client processes) and exits when every expected push arrived or the
// deadline passed. A subscriber's first `warmupEvents` deliveries (the first distinct delivery ids
// it is pushed: the driver sends events one after another) are warm-up: their lags are kept apart
// and not counted in expectedPushes. Also counts the sockets' TCP reads ('data' events under ws) from the first push
// on: frames per read says how many pushes shared a read (a write, or the kernel's buffer).
import WebSocket from 'ws';
import { subscribe, subscriptionClient } from '../src/client/graphql.js';
import { BenchEndpointStatus } from './operations.js';

const [url, key, endpointId, n, expected, deadlineMs, warmup = '0'] = process.argv.slice(2);
const warmupEvents = Number(warmup);
const warmupLags: number[] = [];
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
let reads = 0;
class CountingWebSocket extends WebSocket {
  constructor(address: string, protocols?: string | string[]) {
    super(address, protocols);
    this.on('upgrade', (res) => res.socket.on('data', () => void (cpuAtFirst && reads++)));
  }
}
const clients = Array.from({ length: subscribers }, () =>
  subscriptionClient({
    url: url!,
    webSocketImpl: CountingWebSocket,
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
  // This subscriber's deliveries in the order it first heard of them, up to warmupEvents of them.
  const early: string[] = [];
  subscribe(
    c,
    BenchEndpointStatus,
    { endpointId: endpointId! },
    {
      next: (v) => {
        const now = Date.now();
        const deliveryId = v.data!.deliveryStatusChanged.delivery.id;
        if (early.length < warmupEvents && !early.includes(deliveryId)) early.push(deliveryId);
        if (early.includes(deliveryId)) {
          warmupLags.push(now - Date.parse(v.data!.deliveryStatusChanged.occurredAt));
          return;
        }
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
const changeTimes = [...changes.values()];
const figures = JSON.stringify({
  raw: { byStatus, errors, changes: changeTimes, spans: Object.fromEntries(spans), firstAt, lastAt, reads, cpuMs: Math.round((cpu.user + cpu.system) / 1000), warmupLags },
});
await Promise.all(clients.map((c) => c.dispose()));
// Half a megabyte into a pipe: exit only once it is written (process.exit drops what is pending).
process.stdout.write(`${figures}\n`, () => process.exit(0));
