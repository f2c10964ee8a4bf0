// The dashboard in a real Chromium (Debian's package, driven by playwright-core).
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEndpoint, SendEvent } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

const ARTIFACTS = 'test-artifacts';
const CHROMIUM = process.env.HOOKYARD_CHROMIUM ?? '/usr/bin/chromium';

let t: TestApp;
let rx: Receiver;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  t = await startTestApp({ env: { HOOKYARD_RETRY_SCHEDULE: '0s', HOOKYARD_REPLAY_RATE_LIMIT: '4' } });
  rx = await startReceiver((req) => (req.path === '/bad' ? { status: 500, body: 'receiver exploded' } : { status: 200, delayMs: 600 }));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (err) => console.error('page error:', err));
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await rx?.close();
});

const shot = (name: string) => page.screenshot({ path: `${ARTIFACTS}/dashboard-${name}.png`, fullPage: true });
const badgeOf = (id: string) => page.locator(`[data-delivery="${id}"] .badge`);

describe('dashboard', () => {
  it('signs in, shows deliveries changing live, replays one and bulk-replays the rest, and explains refusals', async () => {
    const good = (await t.ok(CreateEndpoint, { input: { url: `${rx.url}/good`, description: 'orders service', eventTypes: ['order.*'] } })).createEndpoint.endpoint.id;
    const bad = (await t.ok(CreateEndpoint, { input: { url: `${rx.url}/bad`, description: 'broken receiver', eventTypes: ['invoice.*'] } })).createEndpoint.endpoint.id;

    await page.goto(t.url);
    await page.getByTestId('api-key').fill('hy_wrong_key_wrong_key_wrong_key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('API key was not accepted');
    await page.getByTestId('api-key').fill(t.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator(`[data-endpoint="${good}"]`).click();
    await page.locator('.live.on').waitFor();

    // Live: a new delivery appears and walks to DELIVERED with no reload.
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    await t.ok(SendEvent, { input: { eventType: 'order.paid', payload: { order: 42 } } });
    const delivered = await t.prisma.delivery.findFirstOrThrow({ where: { endpointId: good } });
    await badgeOf(delivered.id).waitFor();
    await expect.poll(() => badgeOf(delivered.id).textContent(), { timeout: 10_000 }).toBe('DELIVERED');
    expect(navigations).toEqual([]);
    await shot('live-delivered');

    // A failure lands in FAILED; its detail shows the attempt and the receiver's answer.
    await page.locator(`[data-endpoint="${bad}"]`).click();
    for (let i = 0; i < 3; i++) await t.ok(SendEvent, { input: { eventType: 'invoice.paid', payload: { invoice: i } } });
    const failed = await t.prisma.delivery.findMany({ where: { endpointId: bad }, orderBy: { createdAt: 'asc' } });
    for (const f of failed) await expect.poll(() => badgeOf(f.id).textContent(), { timeout: 10_000 }).toBe('FAILED');
    await page.locator(`[data-delivery="${failed[0]!.id}"]`).click();
    const detailPane = page.getByTestId('delivery-detail');
    await expect.poll(() => detailPane.textContent()).toContain('receiver exploded');
    expect(await page.getByTestId('payload').textContent()).toContain('"invoice": 0');
    await shot('failed-detail');

    // Replay from the button: a new delivery shows up live, marked as a replay.
    await page.getByTestId('replay').click();
    await expect.poll(() => page.getByTestId('banner').textContent()).toMatch(/Replay queued as dlv_/);
    const replay = await t.prisma.delivery.findFirstOrThrow({ where: { replayOfId: failed[0]!.id } });
    await expect.poll(() => badgeOf(replay.id).textContent(), { timeout: 10_000 }).toBe('FAILED');

    // Bulk replay: the dry-run count first, then the result.
    await page.getByTestId('bulk-replay').click();
    await expect.poll(() => page.getByTestId('dry-run-count').textContent()).toMatch(/^4 FAILED deliveries will be replayed/);
    await shot('bulk-dry-run');
    await page.getByTestId('confirm-bulk').click();
    await expect.poll(() => page.getByTestId('bulk-result').textContent()).toBe('Replayed 4 deliveries.');
    await page.getByRole('button', { name: 'Close' }).click();
    expect(await t.prisma.delivery.count({ where: { endpointId: bad, trigger: 'replay' } })).toBe(5);

    // Refusals in words: the replay limit (4 a minute here), then a disabled endpoint.
    await page.locator(`[data-delivery="${failed[1]!.id}"]`).click();
    for (let i = 0; i < 3; i++) {
      await page.getByTestId('replay').click();
      await expect.poll(() => page.getByTestId('banner').textContent()).toMatch(/Replay queued|limit/);
    }
    await expect.poll(() => page.getByTestId('banner').textContent()).toMatch(/Replay limit reached for this endpoint \(4 per minute\)\. Try again in \d+ s\./);
    await shot('rate-limited');
    await page.getByTestId(`toggle-${bad}`).uncheck();
    await expect.poll(async () => (await t.prisma.endpoint.findUniqueOrThrow({ where: { id: bad } })).status).toBe('DISABLED');
    await page.locator(`[data-endpoint="${bad}"]`).click();
    await page.locator(`[data-delivery="${failed[2]!.id}"]`).click();
    await page.getByTestId('replay').click();
    await expect.poll(() => page.getByTestId('banner').textContent()).toMatch(/This endpoint is disabled/);
    await shot('disabled');
  }, 90_000);

  it('loads nothing from outside the server', async () => {
    const external: string[] = [];
    const fresh = await browser.newPage();
    const host = new URL(t.url).host;
    fresh.on('request', (r) => {
      const url = new URL(r.url());
      // data: and blob: URLs are made in the page; anything on the network must be this server.
      if (/^(https?|wss?):$/.test(url.protocol) && url.host !== host) external.push(r.url());
    });
    await fresh.goto(t.url);
    await fresh.waitForLoadState('networkidle');
    await fresh.goto(`${t.url}/graphql`);
    await fresh.waitForLoadState('networkidle');
    await fresh.screenshot({ path: `${ARTIFACTS}/graphiql.png` });
    expect(external).toEqual([]);
    expect(await fresh.locator('.graphiql-container').count()).toBeGreaterThan(0);
    await fresh.close();
  }, 60_000);
});
