// graphql-ws `next` frames written past ws's send (src/http/wsFrames.ts): the same bytes ws would
// write, received by a real ws client as the same messages, in the order they were sent among ws's
// own frames, and never on a socket that is no longer open.
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import * as wsModule from 'ws';
import WebSocket, { WebSocketServer } from 'ws';
import { nextFrame, nextFrameWriter } from '../../src/http/wsFrames.js';

const prefix = Buffer.from('{"id":"0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f","type":"next","payload":');
// Around each length boundary of a frame header (7-bit, 16-bit, 64-bit), and non-ASCII text.
const payloadOf = (frameLength: number) => Buffer.from(`"${'é'.repeat(4)}${'x'.repeat(frameLength - prefix.length - 1 - 2 - 8)}"`);
const LENGTHS = [prefix.length + 12, 125, 126, 127, 0xffff, 0x10000, 0x10001, 200_000];

// ws's sender (ws exports it, its type declarations do not).
const { Sender } = wsModule as unknown as {
  Sender: { frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[] };
};

/** What ws's own sender writes for a text message (unmasked: a server's frame). */
function wsFrame(text: Buffer): Buffer {
  return Buffer.concat(Sender.frame(text, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }));
}

describe('nextFrame', () => {
  it('is byte for byte the frame ws writes for prefix + payload + }', () => {
    for (const length of LENGTHS) {
      const payload = payloadOf(length);
      const text = Buffer.concat([prefix, payload, Buffer.from('}')]);
      expect(text.length).toBe(length);
      expect(nextFrame(prefix, payload).equals(wsFrame(text))).toBe(true);
    }
  });
});

describe('nextFrameWriter over a real socket', () => {
  let wss: WebSocketServer | undefined;
  afterEach(async () => {
    for (const c of wss?.clients ?? []) c.terminate();
    await new Promise((r) => wss?.close(r));
  });

  /** A server socket (and its TCP socket) and a client that records the text messages it gets. */
  async function pair(perMessageDeflate: boolean) {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate });
    await new Promise((r) => wss!.once('listening', r));
    const server = new Promise<[WebSocket, IncomingMessage]>((r) => wss!.once('connection', (ws, req) => r([ws, req])));
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate });
    const got: string[] = [];
    client.on('message', (data, binary) => got.push(`${binary ? 'binary' : 'text'}:${String(data)}`));
    const [ws, req] = await server;
    await new Promise((r) => client.once('open', r));
    return { ws, tcp: req.socket, client, got };
  }

  it('delivers each frame as the text message, in order with ws\'s own sends', async () => {
    const { ws, tcp, got } = await pair(false);
    const expected: string[] = [];
    for (const length of LENGTHS) {
      const payload = payloadOf(length);
      nextFrameWriter(ws, tcp, prefix)(payload);
      expected.push(`text:${prefix}${payload}}`);
      ws.send(`after ${length}`);
      expected.push(`text:after ${length}`);
    }
    await expect.poll(() => got.length).toBe(expected.length);
    expect(got).toEqual(expected);
  });

  it('leaves ordering to ws where an extension makes its sender hold frames (permessage-deflate)', async () => {
    const { ws, tcp, got } = await pair(true);
    expect(ws.extensions).not.toBe('');
    // ws compresses asynchronously: its frame is still queued when the next one is sent.
    const big = 'y'.repeat(100_000);
    ws.send(big);
    nextFrameWriter(ws, tcp, prefix)(payloadOf(300));
    await expect.poll(() => got.length).toBe(2);
    expect(got).toEqual([`text:${big}`, `text:${prefix}${payloadOf(300)}}`]);
  });

  it('writes nothing once the socket is closing', async () => {
    const { ws, tcp, client, got } = await pair(false);
    const closed = new Promise<number>((r) => client.once('close', (code) => r(code)));
    ws.close(1000);
    // The client stops reading at the close frame: what is written after it shows at the server.
    const written = tcp.bytesWritten;
    nextFrameWriter(ws, tcp, prefix)(payloadOf(300));
    expect(tcp.bytesWritten).toBe(written);
    expect(await closed).toBe(1000);
    expect(got).toEqual([]);
  });
});
