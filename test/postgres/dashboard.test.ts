// The dashboard in a real Chromium (Debian's package, driven by playwright-core), against a real
// Hookyard and a real receiver: every flow, an axe-core check and screenshots per view at 1280 and
// 360 px in light and dark, and a server restart the live updates must survive.
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_CSP } from '../../src/http/csp.js';
import { CreateEndpoint, SendEvent } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

const ARTIFACTS = 'test-artifacts';
const CHROMIUM = process.env.HOOKYARD_CHROMIUM ?? '/usr/bin/chromium';
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core'), 'utf8');

let t: TestApp;
let rx: Receiver;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const cspViolations: string[] = [];

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  t = await startTestApp({ env: { HOOKYARD_RETRY_SCHEDULE: '0s', HOOKYARD_REPLAY_RATE_LIMIT: '4' } });
  rx = await startReceiver((req) => (req.path === '/bad' ? { status: 500, body: 'receiver exploded' } : { status: 200, delayMs: 300 }));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  context = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: 'dark' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.url });
  page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err));
  page.on('console', (m) => /Content.Security.Policy/i.test(m.text()) && cspViolations.push(m.text()));
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await rx?.close();
});

/** No serious or critical axe-core violation in the page as it is now. */
async function axe(p: Page, view: string) {
  // Evaluated over the DevTools protocol: the page's CSP (rightly) refuses addScriptTag's inline script.
  if (!(await p.evaluate(() => 'axe' in window))) await p.evaluate(AXE_SOURCE);
  const violations = await p.evaluate(async () => {
    const r = await (window as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe.run();
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  expect(violations, view).toEqual([]);
}

async function setTheme(p: Page, theme: 'light' | 'dark') {
  if ((await p.evaluate(() => document.documentElement.dataset.theme)) !== theme) {
    // A DOM click: an open drawer covers the header, as drawers do.
    await p.getByTestId('theme').evaluate((b: HTMLButtonElement) => b.click());
  }
  await expect.poll(() => p.evaluate(() => document.documentElement.dataset.theme)).toBe(theme);
}

/** Screenshots and axe for one view: 1280 (the desktop width) and 360 px wide, light and dark. */
async function views(name: string, { themes = true } = {}) {
  const hasToggle = themes && (await page.getByTestId('theme').count()) > 0;
  for (const theme of hasToggle ? (['light', 'dark'] as const) : [null]) {
    if (theme) await setTheme(page, theme);
    for (const width of [1280, 360]) {
      await page.setViewportSize({ width, height: 900 });
      await axe(page, `${name} ${width}px ${theme ?? ''}`);
      await page.screenshot({ path: `${ARTIFACTS}/dashboard-${name}-${width}-${theme ?? 'auto'}.png`, fullPage: width === 1280 });
      // Nothing wider than the screen: the layout stacks instead.
      expect(await page.evaluate(() => document.documentElement.scrollWidth), `${name} at ${width}px`).toBeLessThanOrEqual(width);
    }
  }
  await page.setViewportSize({ width: 1400, height: 900 });
  if (hasToggle) await setTheme(page, 'light');
}

const badgeOf = (id: string) => page.locator(`[data-delivery="${id}"] .badge`);

describe('dashboard', () => {
  it('signs in and manages endpoints: create with the secret shown once, edit, test event, rotate, disable, enable, delete', async () => {
    await page.goto(t.url);
    // No toggle yet: the page follows prefers-color-scheme (dark in this context).
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.getByTestId('api-key').fill('hy_wrong_key_wrong_key_wrong_key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('API key was not accepted');
    await views('signin', { themes: false });
    await page.getByTestId('api-key').fill(t.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('No endpoints yet').waitFor();
    await expect.poll(() => page.getByTestId('live').textContent()).toBe('live');
    // The key went to the server once: the page keeps only an HttpOnly cookie it cannot read.
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
    expect(stored).not.toContain(t.key);
    expect(stored).not.toContain('hookyard_session');
    const [sessionCookie] = await context.cookies(t.url);
    expect(sessionCookie).toMatchObject({ name: 'hookyard_session', httpOnly: true, sameSite: 'Strict' });
    // A reload stays signed in (the cookie), and the socket authenticates with it too.
    await page.reload();
    await expect.poll(() => page.getByTestId('live').textContent()).toBe('live');

    // Create: every field, the secret revealed once, copyable.
    await page.getByTestId('new-endpoint').click();
    await page.getByTestId('f-url').fill(`${rx.url}/good`);
    await page.getByTestId('f-description').fill('orders service');
    await page.getByTestId('f-event-types').fill('order.*, ping.test');
    await page.getByTestId('f-headers').fill('X-Team: payments\nX-Env: test');
    await page.getByTestId('f-rate').fill('50');
    await page.getByTestId('f-save').click();
    const secretText = (await page.getByTestId('secret').textContent())!;
    expect(secretText).toMatch(/^whsec_/);
    const good = await t.prisma.endpoint.findFirstOrThrow({ include: { secrets: true } });
    expect(good).toMatchObject({ url: `${rx.url}/good`, description: 'orders service', eventTypes: ['order.*', 'ping.test'], headers: { 'x-team': 'payments', 'x-env': 'test' }, rateLimitPerSecond: 50 });
    // Stored sealed; opened with the app's key it is the secret the page showed once.
    const open = (stored: string) => t.app.services.secretBox.open(stored, good.id);
    expect(good.secrets.map((s) => open(s.secret))).toEqual([secretText]);
    await page.getByTestId('copy').click();
    await expect.poll(() => page.getByTestId('copy').textContent()).toBe('Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secretText);
    await views('secret');
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.getByTestId('secret').count()).toBe(0);
    await expect.poll(() => page.getByTestId('card-headers').textContent()).toBe('x-env: test, x-team: payments');

    // A bad URL is refused in words, in the form; the error goes when the input is fixed.
    await page.getByTestId('edit-endpoint').click();
    await page.getByTestId('f-url').fill('ftp://nope.example');
    await page.getByTestId('f-save').click();
    await page.getByTestId('form-error').waitFor();
    await page.getByTestId('f-url').fill(`${rx.url}/good`);
    await page.getByTestId('f-description').fill('orders service v2');
    await page.getByTestId('f-rate').fill('');
    await page.getByTestId('f-save').click();
    await expect.poll(async () => (await t.prisma.endpoint.findUniqueOrThrow({ where: { id: good.id } })).description).toBe('orders service v2');
    expect((await t.prisma.endpoint.findUniqueOrThrow({ where: { id: good.id } })).rateLimitPerSecond).toBeNull();
    await expect.poll(() => page.getByTestId('card-rate').textContent()).toBe('none');
    expect(await page.getByTestId('form-error').count()).toBe(0);

    // Test event: it reaches the receiver with the custom headers, and shows up live.
    await page.getByTestId('test-fire').click();
    await page.getByTestId('test-event-type').fill('ping.test');
    await page.getByTestId('confirm-test').click();
    await expect.poll(() => page.getByTestId('endpoint-info').textContent()).toMatch(/Test event sent as dlv_/);
    await expect.poll(() => rx.received.filter((r) => r.path === '/good').length, { timeout: 10_000 }).toBe(1);
    expect(rx.received[0]!.headers['x-team']).toBe('payments');
    const testDelivery = await t.prisma.delivery.findFirstOrThrow({ where: { endpointId: good.id } });
    await expect.poll(() => badgeOf(testDelivery.id).textContent(), { timeout: 10_000 }).toBe('DELIVERED');

    // Rotate with a 2 h grace period: the new secret is shown, the old one expires in 2 h.
    await page.getByTestId('rotate-secret').click();
    await page.getByTestId('grace-hours').fill('2');
    await page.getByTestId('confirm-rotate').click();
    const rotated = (await page.getByTestId('secret').textContent())!;
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secretText);
    const secrets = await t.prisma.endpointSecret.findMany({ where: { endpointId: good.id } });
    const old = secrets.find((s) => open(s.secret) === secretText)!;
    expect(Math.abs(old.expiresAt!.getTime() - Date.now() - 2 * 3600_000)).toBeLessThan(60_000);
    await page.getByRole('button', { name: 'Done' }).click();

    // Disable with a reason, then enable.
    await page.getByTestId('disable-endpoint').click();
    await page.getByTestId('disable-reason').fill('receiver under maintenance');
    await page.getByTestId('confirm-disable').click();
    await expect.poll(() => page.getByTestId('card-disabled-reason').textContent()).toBe('receiver under maintenance');
    expect(await t.prisma.endpoint.findUniqueOrThrow({ where: { id: good.id } })).toMatchObject({ status: 'DISABLED', disabledReason: 'receiver under maintenance' });
    await views('endpoint-disabled');
    await page.getByTestId('enable-endpoint').click();
    await expect.poll(async () => (await t.prisma.endpoint.findUniqueOrThrow({ where: { id: good.id } })).status).toBe('ACTIVE');

    // Delete asks first; Cancel keeps it.
    await page.getByTestId('delete-endpoint').click();
    await page.getByTestId('delete-dialog').getByRole('button', { name: 'Cancel' }).click();
    expect((await t.prisma.endpoint.findUniqueOrThrow({ where: { id: good.id } })).deletedAt).toBeNull();
    await page.getByTestId('delete-endpoint').click();
    await page.getByTestId('confirm-delete').click();
    await page.getByText('No endpoints yet').waitFor();
    expect((await t.prisma.endpoint.findUniqueOrThrow({ where: { id: good.id } })).deletedAt).not.toBeNull();

    // Sign-out revokes the session on the server, not just in this page.
    const [cookie] = await context.cookies(t.url);
    await page.getByTestId('sign-out').click();
    await page.getByTestId('api-key').waitFor();
    const replayed = await fetch(`${t.url}/session`, { headers: { cookie: `${cookie!.name}=${cookie!.value}` } });
    expect(replayed.status).toBe(401);
    await page.getByTestId('api-key').fill(t.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('No endpoints yet').waitFor();
    // A session ended by the server (here: revoked behind the page's back) sends the page to sign-in, saying why.
    await t.prisma.dashboardSession.deleteMany();
    await page.getByTestId('new-endpoint').click();
    await page.getByTestId('f-url').fill(`${rx.url}/good`);
    await page.getByTestId('f-save').click();
    await expect.poll(() => page.getByTestId('session-ended').textContent()).toMatch(/^Your session ended/);
    await page.getByTestId('api-key').fill(t.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('No endpoints yet').waitFor();
    expect(cspViolations).toEqual([]);
  }, 90_000);

  it('shows deliveries changing live, searches, opens the detail in view, replays once however often clicked, and bulk-replays after a dry run', async () => {
    const good = (await t.ok(CreateEndpoint, { input: { url: `${rx.url}/good`, description: 'orders service', eventTypes: ['order.*'], headers: { 'X-Team': 'orders' } } })).createEndpoint.endpoint.id;
    const bad = (await t.ok(CreateEndpoint, { input: { url: `${rx.url}/bad`, description: 'broken receiver', eventTypes: ['invoice.*'] } })).createEndpoint.endpoint.id;
    await page.reload();
    await page.locator(`[data-endpoint="${good}"]`).click();
    await expect.poll(() => page.getByTestId('live').textContent()).toBe('live');

    // Live: a new delivery appears and walks to DELIVERED with no reload.
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    const sent = await t.ok(SendEvent, { input: { eventType: 'order.paid', payload: { order: 42 } } });
    const delivered = await t.prisma.delivery.findFirstOrThrow({ where: { endpointId: good } });
    await expect.poll(() => badgeOf(delivered.id).textContent(), { timeout: 10_000 }).toBe('DELIVERED');
    expect(navigations).toEqual([]);
    // The charts follow: this endpoint's, and the tenant's (which counts the test event of the deleted endpoint too).
    const summary = (chart: string) => page.getByTestId(chart).getByTestId('chart-summary').textContent();
    await expect.poll(() => summary('endpoint-chart'), { timeout: 10_000 }).toBe('1 delivered · 0 failed · 0 waiting · failure rate 0.0%');
    await expect.poll(() => summary('tenant-chart'), { timeout: 10_000 }).toBe('2 delivered · 0 failed · 0 waiting · failure rate 0.0%');
    expect(await page.getByTestId('endpoint-chart').locator('canvas').count()).toBe(1);
    // Relative time, with the absolute time and its zone on hover.
    const created = page.locator(`[data-delivery="${delivered.id}"] time`);
    expect(await created.textContent()).toMatch(/just now|sec/);
    expect(await created.getAttribute('title')).toMatch(/\d{1,2}:\d{2}:\d{2}.*(UTC|GMT)/);

    // Failures land in FAILED live.
    await page.locator(`[data-endpoint="${bad}"]`).click();
    for (let i = 0; i < 3; i++) await t.ok(SendEvent, { input: { eventType: 'invoice.paid', payload: { invoice: i } } });
    const failed = await t.prisma.delivery.findMany({ where: { endpointId: bad }, orderBy: { createdAt: 'asc' } });
    for (const f of failed) await expect.poll(() => badgeOf(f.id).textContent(), { timeout: 10_000 }).toBe('FAILED');
    await expect.poll(() => summary('endpoint-chart'), { timeout: 10_000 }).toBe('0 delivered · 3 failed · 0 waiting · failure rate 100.0%');
    await expect.poll(() => summary('tenant-chart'), { timeout: 10_000 }).toBe('2 delivered · 3 failed · 0 waiting · failure rate 60.0%');
    await views('charts');

    // Search by event id narrows the list to that event's delivery; an unknown delivery id is said so.
    await page.getByTestId('filter-event-id').fill(failed[1]!.eventId);
    await page.getByTestId('filter-event-id').press('Enter');
    await expect.poll(() => page.locator('[data-delivery]').count()).toBe(1);
    expect(await page.locator(`[data-delivery="${failed[1]!.id}"]`).count()).toBe(1);
    await page.getByTestId('filter-event-id').fill('');
    await page.getByTestId('filter-event-id').press('Enter');
    await expect.poll(() => page.locator('[data-delivery]').count()).toBe(3);
    await page.getByTestId('filter-status').selectOption('DELIVERED');
    await page.getByTestId('no-deliveries').waitFor();
    await page.getByTestId('filter-status').selectOption('');
    await page.getByTestId('find-delivery').fill('dlv_doesnotexist');
    await page.getByTestId('find-delivery').press('Enter');
    await expect.poll(() => page.getByTestId('search-error').textContent()).toContain('dlv_doesnotexist');

    // Search by delivery id opens the drawer, in view even with the page scrolled.
    await page.getByTestId('find-delivery').fill(failed[0]!.id);
    await page.getByTestId('find-delivery').press('Enter');
    const drawer = page.getByTestId('delivery-detail');
    await expect.poll(() => drawer.textContent()).toContain('receiver exploded');
    expect(await page.getByTestId('search-error').count()).toBe(0);
    const box = (await drawer.boundingBox())!;
    expect(box.y).toBe(0);
    expect(box.x + box.width).toBeLessThanOrEqual(1400);
    expect(await page.getByTestId('payload').textContent()).toContain('"invoice": 0');
    const headers = await drawer.getByTestId('request-headers').first().textContent();
    expect(headers).toContain(`webhook-id: ${failed[0]!.eventId}`);
    expect(headers).toContain('x-hookyard-attempt: 1');
    await views('failed-detail');

    // Replay asks first, then makes exactly one replay however many clicks land.
    await page.getByTestId('replay').click();
    expect(await t.prisma.delivery.count({ where: { replayOfId: failed[0]!.id } })).toBe(0);
    await page.evaluate(() => {
      const b = document.querySelector<HTMLButtonElement>('[data-testid="confirm-replay"]')!;
      for (let i = 0; i < 12; i++) b.click();
    });
    await expect.poll(() => drawer.getByRole('status').textContent()).toMatch(/Replay queued as dlv_/);
    expect(await t.prisma.delivery.count({ where: { replayOfId: failed[0]!.id } })).toBe(1);
    const replay = await t.prisma.delivery.findFirstOrThrow({ where: { replayOfId: failed[0]!.id } });
    await expect.poll(() => page.getByTestId('replay-chain').textContent()).toContain(`Superseded by ${replay.id}`);
    await expect.poll(() => badgeOf(replay.id).textContent(), { timeout: 10_000 }).toBe('FAILED');
    // Escape closes the drawer.
    await page.keyboard.press('Escape');
    await expect.poll(() => drawer.count()).toBe(0);
    // By keyboard alone: a row's button opens the drawer with focus in it; Escape gives focus back.
    const rowButton = page.getByRole('button', { name: `Details of ${failed[2]!.id}` });
    await rowButton.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('delivery-detail');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Close details');
    await page.keyboard.press('Escape');
    await expect.poll(() => drawer.count()).toBe(0);
    expect(await rowButton.evaluate((b) => b === document.activeElement)).toBe(true);

    // Bulk replay: the dry-run count first, then the result. The first failure has a newer replay
    // (superseded), so only the three current FAILED deliveries go.
    await page.getByTestId('bulk-replay').click();
    await expect.poll(() => page.getByTestId('dry-run-count').textContent()).toMatch(/^3 FAILED deliveries will be replayed/);
    expect(await t.prisma.delivery.count({ where: { endpointId: bad, trigger: 'replay' } })).toBe(1);
    await views('bulk-dry-run');
    await page.getByTestId('confirm-bulk').click();
    await expect.poll(() => page.getByTestId('bulk-result').textContent()).toBe('Replayed 3 deliveries.');
    await page.getByTestId('close-bulk').click();
    expect(await t.prisma.delivery.count({ where: { endpointId: bad, trigger: 'replay' } })).toBe(4);
    // Superseded rows name the newest replay of their event.
    const newest = await t.prisma.delivery.findFirstOrThrow({ where: { replayOfId: replay.id } });
    await expect.poll(() => page.locator(`[data-delivery="${failed[0]!.id}"]`).textContent()).toContain(`replayed → ${newest.id}`);
    await expect.poll(() => page.locator(`[data-delivery="${replay.id}"]`).textContent()).toContain(`replayed → ${newest.id}`);

    // Refusals in words: the replay limit (4 a minute here), then a disabled endpoint.
    await page.getByRole('button', { name: `Details of ${failed[1]!.id}` }).click();
    for (let i = 0; i < 3; i++) {
      await page.getByTestId('replay').click();
      await page.getByTestId('confirm-replay').click();
      await page.getByTestId('replay').waitFor();
    }
    await expect.poll(() => drawer.getByRole('alert').textContent()).toMatch(/Replay limit reached for this endpoint \(4 per minute\)\. Try again in \d+ s\./);
    await page.getByTestId('close-drawer').click();
    await page.getByTestId('disable-endpoint').click();
    await page.getByTestId('confirm-disable').click();
    await expect.poll(async () => (await t.prisma.endpoint.findUniqueOrThrow({ where: { id: bad } })).status).toBe('DISABLED');
    await page.getByRole('button', { name: `Details of ${failed[2]!.id}` }).click();
    await page.getByTestId('replay').click();
    await page.getByTestId('confirm-replay').click();
    await expect.poll(() => drawer.getByRole('alert').textContent()).toMatch(/This endpoint is disabled/);
    void sent;
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
    const violations: string[] = [];
    await fresh.exposeFunction('reportCsp', (v: string) => violations.push(v));
    await fresh.addInitScript(() =>
      document.addEventListener('securitypolicyviolation', (e) => (window as unknown as { reportCsp(v: string): void }).reportCsp(`${e.violatedDirective} ${e.blockedURI}`)),
    );
    const dashboard = await fresh.goto(t.url);
    expect(dashboard!.headers()['content-security-policy']).toBe(DASHBOARD_CSP);
    await fresh.getByTestId('api-key').waitFor();
    const introspected = fresh.waitForResponse((r) => r.url().endsWith('/graphql') && r.request().method() === 'POST' && r.status() === 200);
    const graphiql = await fresh.goto(`${t.url}/graphql`);
    // Strict: nothing inline runs but GraphiQL's own script, by its hash.
    expect(graphiql!.headers()['content-security-policy']).toMatch(/default-src 'none'; .*script-src 'sha256-[A-Za-z0-9+/=]{44}' 'strict-dynamic'/);
    expect(graphiql!.headers()['content-security-policy']).not.toMatch(/script-src[^;]*unsafe-inline/);
    // GraphiQL works under it: its editor is up and its schema introspection came back.
    await introspected;
    await fresh.locator('.graphiql-container').first().waitFor();
    expect(violations).toEqual([]);
    await fresh.screenshot({ path: `${ARTIFACTS}/graphiql.png` });
    expect(external).toEqual([]);
    expect(await fresh.locator('.graphiql-container').count()).toBeGreaterThan(0);
    await fresh.close();
  }, 60_000);
});
