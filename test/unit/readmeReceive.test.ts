// The README's "Receive webhooks" receiver, run as written (only its port and log line changed) and
// sent a delivery signed as the dispatcher signs one: it accepts that and refuses a bad signature.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { generateSecret, signatureHeader } from '../../src/signing.js';

const dir = mkdtempSync(join(tmpdir(), 'hookyard-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('the README receiver verifies a signed delivery and refuses a forged one', async () => {
  const section = readFileSync('README.md', 'utf8').split('## Receive webhooks')[1]!;
  const snippet = /```js\n([\s\S]*?)```/.exec(section)![1]!;
  expect(snippet).toContain('.listen(3000);');
  const standardwebhooks = pathToFileURL(createRequire(import.meta.url).resolve('standardwebhooks')).href;
  const code = snippet
    .replace("from 'standardwebhooks'", `from '${standardwebhooks}'`)
    .replace('createServer(async', 'globalThis.readmeServer = createServer(async')
    .replace('.listen(3000);', '.listen(0, "127.0.0.1");');
  const file = join(dir, 'receiver.mjs');
  writeFileSync(file, code);
  const secret = generateSecret();
  process.env.WEBHOOK_SECRET = secret;
  await import(pathToFileURL(file).href);
  const server = (globalThis as { readmeServer?: Server }).readmeServer!;
  try {
    await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    const body = JSON.stringify({ id: 'evt_1', type: 'invoice.paid', timestamp: new Date().toISOString(), data: { id: 'in_1' } });
    const ts = Math.floor(Date.now() / 1000);
    const post = (signature: string) =>
      fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', 'webhook-id': 'evt_1', 'webhook-timestamp': String(ts), 'webhook-signature': signature } });
    expect((await post(signatureHeader([generateSecret(), secret], 'evt_1', ts, body))).status).toBe(204);
    expect((await post(signatureHeader([generateSecret()], 'evt_1', ts, body))).status).toBe(400);
  } finally {
    server.close();
    delete process.env.WEBHOOK_SECRET;
  }
});
