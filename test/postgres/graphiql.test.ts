// The README's subscription in GraphiQL, in a real Chromium (Debian's package, playwright-core),
// as a user runs it: the README's whole block pasted into the editor, the key pasted into the
// Headers tab in the casings people type, the subscription run, an event sent to a real receiver,
// and DELIVERED seen in the result pane.
import { mkdirSync, readFileSync } from 'node:fs';
import { Kind, parse } from 'graphql';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEndpoint, SendEvent } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { watchSubscriptions } from '../helpers/ws.js';

const ARTIFACTS = 'test-artifacts';
const CHROMIUM = process.env.HOOKYARD_CHROMIUM ?? '/usr/bin/chromium';

/** The README's example operations: its first graphql block. */
const README_BLOCK = /```graphql\n([\s\S]*?)```/.exec(readFileSync('README.md', 'utf8'))![1]!;

let t: TestApp;
let rx: Receiver;
let browser: Browser;
let page: Page;
const problems: string[] = [];
const sockets: string[] = [];

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  t = await startTestApp({ env: { HOOKYARD_RETRY_SCHEDULE: '0s' } });
  rx = await startReceiver(() => ({ status: 200 }));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.url });
  page = await context.newPage();
  // A CSP that blocked the socket, or a script error, would show here (and hang the result pane).
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('websocket', (ws) => {
    sockets.push(ws.url());
    ws.on('framesent', (f) => sockets.push(`sent ${String(f.payload).replace(t.key, '<key>').slice(0, 200)}`));
    ws.on('framereceived', (f) => sockets.push(`received ${String(f.payload).slice(0, 200)}`));
    ws.on('close', () => sockets.push('closed'));
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await rx?.close();
});

/** Replaces a Monaco editor's text the way a user does: click, select all, paste. */
async function pasteInto(editor: ReturnType<Page['locator']>, text: string) {
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.evaluate((s) => navigator.clipboard.writeText(s), text);
  await page.keyboard.press('Control+V');
  // Monaco renders spaces as non-breaking ones.
  await expect.poll(async () => (await editor.locator('.view-lines').innerText()).replace(/\u00a0/g, ' ').replace(/\s+/g, '')).toContain(text.replace(/\s+/g, '').slice(0, 60));
}

const resultText = async () => ((await page.locator('.graphiql-response').innerText()) ?? '').replace(/\u00a0/g, ' ');

/** Clicks run and picks the README's subscription from GraphiQL's list of the block's operations. */
async function runSubscription() {
  await page.locator('.graphiql-execute-button').click();
  await page.getByRole('menuitem', { name: 'WatchDeliveries' }).click();
}

async function stop() {
  await page.locator('.graphiql-execute-button').click();
}

describe('GraphiQL', () => {
  it('names every operation of the README block, so it can be pasted whole', () => {
    const operations = parse(README_BLOCK).definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    expect(operations.length).toBeGreaterThanOrEqual(4);
    for (const op of operations) expect(op.name?.value, README_BLOCK).toBeTruthy();
    expect(operations.map((o) => o.operation)).toContain('subscription');
  });

  it('runs the README subscription with the key in the Headers tab, any casing, and shows DELIVERED', async () => {
    const { createEndpoint } = await t.ok(CreateEndpoint, { input: { url: `${rx.url}/graphiql` } });
    const listening = watchSubscriptions(t.app.services);
    await page.goto(`${t.url}/graphql`);
    await page.locator('.graphiql-container').first().waitFor();
    await pasteInto(page.locator('.graphiql-query-editor'), README_BLOCK);
    await page.getByRole('button', { name: 'Headers' }).click();
    const headers = page.locator('.graphiql-editor-tool .graphiql-editor').last();

    for (const [i, name] of ['Authorization', 'authorization', 'AUTHORIZATION'].entries()) {
      await pasteInto(headers, JSON.stringify({ [name]: `Bearer ${t.key}` }, null, 2));
      const started = listening.expect(1);
      await runSubscription();
      await started();
      const { sendEvent } = await t.ok(SendEvent, { input: { eventType: 'invoice.paid', payload: { id: `in_${i}` } } });
      const delivery = await t.prisma.delivery.findFirstOrThrow({ where: { eventId: sendEvent.event!.id, endpointId: createEndpoint.endpoint.id } });
      await expect.poll(resultText, { timeout: 15_000, message: `${name}: ${sockets.join('\n')}` }).toMatch(new RegExp(`"status": "DELIVERED"[\\s\\S]*"id": "${delivery.id}"`));
      await page.screenshot({ path: `${ARTIFACTS}/graphiql-subscription-${name}.png` });
      await stop();
    }
    expect(rx.received.length).toBe(3);

    // A wrong key reads as one in the result pane, not as a socket that closes and hangs.
    await pasteInto(headers, JSON.stringify({ Authorization: 'Bearer hy_wrong_key_wrong_key_wrong_key' }, null, 2));
    await runSubscription();
    await expect.poll(resultText, { timeout: 10_000 }).toContain('that API key was not accepted');
    await page.screenshot({ path: `${ARTIFACTS}/graphiql-subscription-wrong-key.png` });
    expect(problems).toEqual([]);
  }, 90_000);
});
