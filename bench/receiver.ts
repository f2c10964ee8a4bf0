// Benchmark receiver, run as its own process so it does not share an event loop with the sender.
// Answers 200 at once; records when each delivery arrived. Control: GET /__stats, POST /__reset.
// With CHAOS=1 it misbehaves at random (for the soak): 500s, timeouts, resets, slow answers.
// POISON_RATE (default 0.01 with CHAOS, else 0) is the share of answers that are a 200 whose body
// carries NUL and invalid UTF-8 bytes (which PostgreSQL text refuses); each is listed in
// `poisoned` (delivery id, attempt) so the soak can check its attempt was recorded.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const chaos = process.env.CHAOS === '1';
const hangMs = Number(process.env.HANG_MS ?? 3000);
let arrivals: [string, string, number, string][] = []; // delivery id, event id, ms since epoch, attempt
let poisoned: [string, string][] = [];
let count = 0;
const poisonRate = Number(process.env.POISON_RATE ?? (chaos ? 0.01 : 0));
const POISON = Buffer.from([0x6f, 0x6b, 0x00, 0xff, 0xfe, 0xc3, 0x00]);

const server = createServer((req, res) => {
  if (req.url === '/__stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ count, arrivals, poisoned }));
    return;
  }
  if (req.url === '/__count') {
    res.end(String(count));
    return;
  }
  if (req.url === '/__reset') {
    arrivals = [];
    poisoned = [];
    count = 0;
    res.end('ok');
    return;
  }
  req.on('data', () => {});
  req.on('end', () => {
    count++;
    const at = Date.now();
    const arrival: [string, string, number, string] = [String(req.headers['x-hookyard-delivery-id'] ?? ''), String(req.headers['webhook-id'] ?? ''), at, String(req.headers['x-hookyard-attempt'] ?? '')];
    arrivals.push(arrival);
    // Drawn apart from the chaos roll, so the share holds whatever CHAOS does with the rest.
    if (poisonRate > 0 && Math.random() < poisonRate) {
      poisoned.push([arrival[0], arrival[3]]);
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(POISON);
      return;
    }
    if (!chaos) {
      res.writeHead(200, { 'content-length': '2' });
      res.end('ok');
      return;
    }
    const roll = Math.random();
    if (roll < 0.1) {
      res.writeHead(500);
      res.end('chaos');
    } else if (roll < 0.13) {
      setTimeout(() => req.socket.destroy(), 5); // reset
    } else if (roll < 0.15) {
      setTimeout(() => { if (!res.destroyed) res.end('late'); }, hangMs); // beyond the timeout
    } else if (roll < 0.25) {
      setTimeout(() => { if (!res.destroyed) res.end('slow'); }, 200 + Math.random() * 300);
    } else {
      res.end('ok');
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
