// Hostile answers against the real sender, from raw `net` servers that write exactly the bytes a
// test wants (node:http would refuse or fix most of them). Each must end as a storable outcome,
// within the delivery timeout, without downloading what it should not.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSender, MAX_RESPONSE_BODY, type Outgoing } from '../../src/dispatcher/send.js';
import { storableText } from '../../src/dispatcher/text.js';

const TIMEOUT_MS = 800;
const sender = createSender({ timeoutMs: TIMEOUT_MS, allowPrivateTargets: true });
const servers: Server[] = [];
const sockets: Socket[] = [];
afterAll(() => sender.close());
afterEach(async () => {
  // The sender keeps connections alive: close them, or server.close() waits for its keep-alive timeout.
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

interface Conn {
  socket: Socket;
  /** Bytes the server managed to hand to its socket. */
  written: number;
  closed: Promise<void>;
}

/** A server that reads the request head, then lets `answer` write whatever it likes. */
async function rawServer(answer: (conn: Conn) => void): Promise<{ url: string; conns: Conn[] }> {
  const conns: Conn[] = [];
  const server = createServer((socket) => {
    const conn: Conn = { socket, written: 0, closed: new Promise((r) => socket.on('close', () => r())) };
    conns.push(conn);
    sockets.push(socket);
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (d) => {
      const before = head.includes('\r\n\r\n');
      head += d.toString('latin1');
      if (!before && head.includes('\r\n\r\n')) answer(conn);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, conns };
}

function write(conn: Conn, data: Buffer | string): boolean {
  const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  if (conn.socket.destroyed) return false;
  conn.written += buf.byteLength;
  return conn.socket.write(buf);
}

const out = (url: string): Outgoing => ({
  deliveryId: 'dlv_1', eventId: 'evt_1', eventType: 'a.b', attemptNumber: 1, url, headers: {}, secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], body: '{}',
});

/** What PostgreSQL text accepts: valid UTF-8 (round-trips through a strict decoder) without NUL. */
function expectStorable(text: string | null, maxBytes: number) {
  if (text === null) return;
  expect(text).not.toContain('\u0000');
  const bytes = Buffer.from(text, 'utf8');
  expect(new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toBe(text);
  expect(bytes.byteLength).toBeLessThanOrEqual(maxBytes);
}

describe('storableText', () => {
  it('replaces NUL and invalid UTF-8, and cuts at a character boundary within the byte cap', () => {
    expect(storableText(Buffer.from([0x6f, 0x6b, 0x00, 0xff, 0xc3]), 100)).toBe('ok\uFFFD\uFFFD\uFFFD');
    expect(storableText('aé€😀', 6)).toBe('aé€'); // the 4-byte emoji does not fit: dropped whole
    expect(storableText('€€', 5)).toBe('€'); // cap inside the second character
    expect(storableText('x\ud800y', 10)).toBe('x\uFFFDy'); // an unpaired surrogate
    // Replacement characters are longer than the bytes they replace: still within the cap.
    const nuls = storableText('\u0000'.repeat(100), 10);
    expect(nuls).toBe('\uFFFD\uFFFD\uFFFD');
    for (const s of [Buffer.from([0xe2, 0x82]), Buffer.from([0xf0, 0x9f, 0x98]), Buffer.alloc(50, 0x80)]) expectStorable(storableText(s, 7), 7);
  });
});

describe('hostile responses', () => {
  it('stores a 200 whose body has NUL and invalid UTF-8 bytes as valid text', async () => {
    const body = Buffer.concat([Buffer.from('ok'), Buffer.from([0x00, 0xff, 0xfe, 0xc3, 0x28]), Buffer.from(' done')]);
    const { url } = await rawServer((c) => {
      write(c, `HTTP/1.1 200 OK\r\ncontent-length: ${body.byteLength}\r\n\r\n`);
      write(c, body);
    });
    const res = await sender.send(out(url));
    expect(res).toMatchObject({ ok: true, responseStatus: 200, error: null });
    expect(res.responseBody).toBe('ok\uFFFD\uFFFD\uFFFD\uFFFD( done');
    expectStorable(res.responseBody, MAX_RESPONSE_BODY);
  });

  it('reads at most the cap of a 100 MB body and drops the connection instead of downloading it', async () => {
    const total = 100 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 'a'.charCodeAt(0));
    chunk[10] = 0; // a NUL within the part that is kept
    const { url, conns } = await rawServer((c) => {
      write(c, `HTTP/1.1 200 OK\r\ncontent-length: ${total}\r\n\r\n`);
      // Write as fast as the socket takes it: only the client reading (or closing) stops this.
      const pump = () => {
        while (c.written < total && !c.socket.destroyed) if (!write(c, chunk)) return void c.socket.once('drain', pump);
      };
      pump();
    });
    const res = await sender.send(out(url));
    expect(res).toMatchObject({ ok: true, responseStatus: 200, error: null });
    expect(Buffer.byteLength(res.responseBody!)).toBeLessThanOrEqual(MAX_RESPONSE_BODY);
    expectStorable(res.responseBody, MAX_RESPONSE_BODY);
    await conns[0]!.closed; // the client closed it: the server's pump stops
    // Socket buffers take a few MB at most; the rest was never sent.
    expect(conns[0]!.written).toBeLessThan(16 * 1024 * 1024);
  });

  it('ends a body that trickles a byte a second at the delivery timeout', async () => {
    const { url, conns } = await rawServer((c) => {
      write(c, 'HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n');
      const timer = setInterval(() => (c.socket.destroyed ? clearInterval(timer) : write(c, 'x')), 1000);
      c.socket.on('close', () => clearInterval(timer));
    });
    const res = await sender.send(out(url));
    // Not delivered: the 200 never finished. The error names the delivery timeout, not undici's 300 s.
    expect(res).toMatchObject({ ok: false, error: `timeout after ${TIMEOUT_MS} ms` });
    await conns[0]!.closed;
    expect(conns[0]!.written).toBeLessThan(100);
  });

  it('ends headers that trickle at the delivery timeout', async () => {
    const { url } = await rawServer((c) => {
      write(c, 'HTTP/1.1 200 OK\r\n');
      const timer = setInterval(() => (c.socket.destroyed ? clearInterval(timer) : write(c, 'x-slow: 1\r\n')), 300);
      c.socket.on('close', () => clearInterval(timer));
    });
    expect(await sender.send(out(url))).toMatchObject({ ok: false, responseStatus: null, error: `timeout after ${TIMEOUT_MS} ms` });
  });

  it('refuses thousands of response headers without reading them all', async () => {
    const { url, conns } = await rawServer((c) => {
      write(c, 'HTTP/1.1 200 OK\r\n');
      for (let i = 0; i < 20_000; i++) write(c, `x-h${i}: ${'v'.repeat(20)}\r\n`);
      write(c, 'content-length: 2\r\n\r\nok');
    });
    expect(await sender.send(out(url))).toMatchObject({ ok: false, responseStatus: null, error: 'response headers too large' });
    await conns[0]!.closed;
  });

  it('takes a few hundred small headers (within the size limit) as a normal answer', async () => {
    const { url } = await rawServer((c) => {
      write(c, 'HTTP/1.1 200 OK\r\n');
      for (let i = 0; i < 500; i++) write(c, `x-h${i}: v\r\n`);
      write(c, 'content-length: 2\r\n\r\nok');
    });
    expect(await sender.send(out(url))).toMatchObject({ ok: true, responseStatus: 200, responseBody: 'ok' });
  });

  it('reports a reset half-way through the body as a failed attempt', async () => {
    const { url } = await rawServer((c) => {
      write(c, 'HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n');
      write(c, 'x'.repeat(500));
      setTimeout(() => c.socket.resetAndDestroy(), 50);
    });
    expect(await sender.send(out(url))).toMatchObject({ ok: false, responseStatus: null, error: 'connection reset' });
  });

  it('stores a redirect Location carrying non-ASCII bytes as valid text', async () => {
    const { url } = await rawServer((c) => {
      write(c, Buffer.concat([Buffer.from('HTTP/1.1 302 Found\r\nlocation: /a'), Buffer.from([0xff, 0xfe]), Buffer.from('b\r\ncontent-length: 0\r\n\r\n')]));
    });
    const res = await sender.send(out(url));
    expect(res).toMatchObject({ ok: false, responseStatus: 302 });
    expect(res.error).toMatch(/^redirect not followed \(302 to \/a.+b\)$/);
    expectStorable(res.error, 1024);
  });
});
