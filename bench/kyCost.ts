// ky's own CPU per request, without a network: ky.post through a `fetch` that answers at once, as
// the dispatcher calls it (src/dispatcher/send.ts: no hooks, retry 0, a timeout, the body and
// headers as unknown options), beside a bare `new Request` and a direct call of the same `fetch`.
// What ky costs here is a floor under each delivery's CPU that no change of ours can lower while
// ky 1.14 is the client (BENCHMARKS.md, issue 12, item 5). Alternating rounds, medians of 5.
// Run: npx tsx bench/kyCost.ts
import ky from 'ky';
import { median, round } from './stats.js';

const N = 100_000;
const answer = new Response(null, { status: 200 });
const immediate = async (_req: Request, _init?: unknown) => answer;
const client = ky.create({ retry: 0, throwHttpErrors: false, timeout: 15_000, fetch: immediate as typeof fetch });
const url = 'http://127.0.0.1:9/hook';
const headers = { 'content-type': 'application/json', 'webhook-id': 'evt_1', 'webhook-timestamp': '1', 'webhook-signature': 'v1,x' };

/** CPU µs per call with 64 calls in flight, as the dispatcher has. */
async function cpuUsPerCall(call: () => Promise<unknown>): Promise<number> {
  const c0 = process.cpuUsage();
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < N; i++) {
    inFlight.push(call());
    if (inFlight.length === 64) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / N;
}

const cases: Record<string, () => Promise<unknown>> = {
  'the fetch alone': () => immediate({ url } as Request, { payload: '{}', requestHeaders: { ...headers } }),
  'new Request(url, { method: POST })': async () => new Request(url, { method: 'POST' }),
  'ky.post (as send.ts calls it)': () => client.post(url, { payload: '{}', requestHeaders: { ...headers } } as never),
};
const results = new Map(Object.keys(cases).map((k) => [k, [] as number[]]));
for (const call of Object.values(cases)) await cpuUsPerCall(call); // warm-up
for (let round = 0; round < 5; round++) {
  for (const [name, call] of Object.entries(cases)) results.get(name)!.push(await cpuUsPerCall(call));
}
for (const [name, xs] of results) console.log(`${name}: ${round(median(xs), 1)} µs CPU per call (${xs.map((x) => round(x, 1)).join(', ')})`);
