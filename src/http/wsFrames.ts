// A graphql-ws `next` frame built as one buffer and written straight to the connection's TCP
// socket. Through ws's send, each of a shared result's 1,000 frames cost a string concat, a UTF-8
// encode of the whole payload, ws's frame header and a two-buffer writev; here the payload's bytes
// are encoded once per group result (sharedSubscriptions.ts) and each socket only copies its own
// prefix and those bytes into one buffer: 0.87x the server CPU per send in a 1,000-socket loopback
// measurement (BENCHMARKS.md, "Issue 12, this round"). The bytes are those ws writes: a server frame is unmasked, and
// with no extension negotiated (no permessage-deflate: ws's server default, and ours) ws's sender
// writes each frame straight to the socket, so a frame written here keeps its place among ws's own.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

const FIN_TEXT = 0x81;
const CLOSE_BRACE = 0x7d;

/** An unmasked, unfragmented text frame of `prefix` + `payload` + `}`. */
export function nextFrame(prefix: Buffer, payload: Buffer): Buffer {
  const length = prefix.length + payload.length + 1;
  const header = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = FIN_TEXT;
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  prefix.copy(frame, header);
  payload.copy(frame, header + prefix.length);
  frame[header + length - 1] = CLOSE_BRACE;
  return frame;
}

/**
 * Writes `prefix` + payload + `}` as one text message on `socket`, whose TCP socket is `tcp`. Where
 * ws's sender might transform or hold frames (an extension negotiated: known once the handshake is
 * done, before any subscription) it goes through ws's own send. Skips a socket that is no longer
 * open, as graphql-ws's own send does.
 */
export function nextFrameWriter(socket: WebSocket, tcp: Socket, prefix: Buffer): (payload: Buffer) => void {
  if (socket.extensions !== '') {
    return (payload) => {
      if (socket.readyState === socket.OPEN) socket.send(Buffer.concat([prefix, payload, Buffer.of(CLOSE_BRACE)]), { binary: false });
    };
  }
  return (payload) => {
    if (socket.readyState === socket.OPEN) tcp.write(nextFrame(prefix, payload));
  };
}
