// The dashboard's live updates across a server restart, in a real Chromium: its own file, since
// a process holds one database and this test restarts the server on the same port.
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/db.js';
import { CreateEndpoint, SendEvent } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { startTestApp } from '../helpers/testApp.js';

let rx: Receiver;
let browser: Browser;
beforeAll(async () => {
  rx = await startReceiver(() => ({ status: 200 }));
  browser = await chromium.launch({
    executablePath: process.env.HOOKYARD_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});
afterAll(async () => {
  await browser?.close();
  await rx?.close();
});

it('recovers live updates after a server restart and shows what changed while it was down', async () => {
  const database = await createTestDatabase();
  let app = await startTestApp({ db: database, env: { HOOKYARD_RETRY_SCHEDULE: '0s' } });
  const port = new URL(app.url).port;
  const p = await browser.newPage();
  // While `reachable` is false the page's sockets are refused, as by a server still starting: the
  // test decides when the page gets back, so changes happen while it is away.
  let reachable = true;
  let refuse = false;
  await p.routeWebSocket(/\/graphql$/, (ws) => {
    if (refuse) ws.close({ code: 4403, reason: 'Forbidden' });
    else if (reachable) ws.connectToServer();
    else ws.close({ code: 1013, reason: 'try again later' });
  });
  try {
    const endpoint = (await app.ok(CreateEndpoint, { input: { url: `${rx.url}/good` } })).createEndpoint.endpoint.id;
    await p.goto(app.url);
    await p.getByTestId('api-key').fill(app.key);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.locator(`[data-endpoint="${endpoint}"]`).waitFor();
    await expect.poll(() => p.getByTestId('live').textContent()).toBe('live');

    reachable = false;
    await app.stop();
    await expect.poll(() => p.getByTestId('live').textContent()).toBe('reconnecting…');
    app = await startTestApp({ db: database, env: { PORT: port, HOOKYARD_RETRY_SCHEDULE: '0s' } });
    await app.ok(SendEvent, { input: { eventType: 'order.paid', payload: { missed: true } } });
    const missed = await app.prisma.delivery.findFirstOrThrow({ where: { endpointId: endpoint } });
    await expect.poll(async () => (await app.prisma.delivery.findUniqueOrThrow({ where: { id: missed.id } })).status, { timeout: 10_000 }).toBe('DELIVERED');
    expect(await p.getByTestId('live').textContent()).toBe('reconnecting…');
    expect(await p.locator('[data-delivery]').count()).toBe(0);

    reachable = true;
    await expect.poll(() => p.getByTestId('live').textContent(), { timeout: 20_000 }).toBe('live');
    await expect.poll(() => p.locator(`[data-delivery="${missed.id}"] .badge`).textContent(), { timeout: 10_000 }).toBe('DELIVERED');
    // And pushes flow again on the new socket.
    await app.ok(SendEvent, { input: { eventType: 'order.paid', payload: { after: true } } });
    await expect.poll(() => p.locator('[data-delivery]').count(), { timeout: 10_000 }).toBe(2);

    // A socket the server refuses (4403: its credentials no longer pass) is said so, not retried in silence.
    refuse = true;
    await app.stop();
    app = await startTestApp({ db: database, env: { PORT: port } });
    await expect.poll(() => p.getByTestId('live-error').textContent(), { timeout: 20_000 }).toBe('The server refused the live connection: sign in again.');
    expect(await p.getByTestId('live').textContent()).toBe('offline');
  } finally {
    await p.close();
    await app.stop();
    await database.drop();
  }
}, 90_000);
