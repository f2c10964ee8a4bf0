// `hookyard listen`: a local webhook receiver that prints what it gets and checks the Standard
// Webhooks signature with the `standardwebhooks` package (what a receiver would use), so a
// developer can watch Hookyard deliver without writing one.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { CliError, EXIT, type Io } from './client.js';

export interface ListenOptions {
  port: number;
  host: string;
  /** whsec_… of the endpoint; without it signatures are not checked. */
  secret?: string;
  /** HTTP status to answer every webhook with. */
  status: number;
  json: boolean;
}

export interface Listener {
  url: string;
  close(): Promise<void>;
}

export interface ReceivedWebhook {
  receivedAt: string;
  method: string;
  path: string;
  eventType: string | null;
  webhookId: string | null;
  deliveryId: string | null;
  attempt: number | null;
  /** null: no --secret given, so not checked. */
  verified: boolean | null;
  verifyError?: string;
  payload: unknown;
}

const header = (req: IncomingMessage, name: string) => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : null;
};

function describe(req: IncomingMessage, body: string, webhook: Webhook | undefined): ReceivedWebhook {
  let payload: unknown = body;
  try {
    payload = JSON.parse(body);
  } catch {
    // not JSON: printed as received
  }
  let verified: boolean | null = null;
  let verifyError: string | undefined;
  if (webhook) {
    try {
      webhook.verify(body, {
        'webhook-id': header(req, 'webhook-id') ?? '',
        'webhook-timestamp': header(req, 'webhook-timestamp') ?? '',
        'webhook-signature': header(req, 'webhook-signature') ?? '',
      });
      verified = true;
    } catch (err) {
      verified = false;
      verifyError = (err as Error).message;
    }
  }
  const envelopeType = typeof payload === 'object' && payload !== null && typeof (payload as { type?: unknown }).type === 'string' ? (payload as { type: string }).type : null;
  const attempt = header(req, 'x-hookyard-attempt');
  return {
    receivedAt: new Date().toISOString(),
    method: req.method ?? 'POST',
    path: req.url ?? '/',
    eventType: header(req, 'x-hookyard-event-type') ?? envelopeType,
    webhookId: header(req, 'webhook-id'),
    deliveryId: header(req, 'x-hookyard-delivery-id'),
    attempt: attempt === null ? null : Number(attempt),
    verified,
    ...(verifyError ? { verifyError } : {}),
    payload,
  };
}

function humanLines(w: ReceivedWebhook): string[] {
  const signature = w.verified === null ? 'signature not checked (no --secret)' : w.verified ? 'signature verified' : `signature NOT verified (${w.verifyError})`;
  const payload = JSON.stringify(w.payload, null, 2) ?? '';
  return [
    `${w.receivedAt}  ${w.method} ${w.path}  ${w.eventType ?? '(no event type)'}`,
    `  webhook-id ${w.webhookId ?? '-'}  delivery ${w.deliveryId ?? '-'}  attempt ${w.attempt ?? '-'}  ${signature}`,
    ...payload.split('\n').map((l) => `  ${l}`),
  ];
}

/** Starts the receiver; resolves once it is listening. */
export async function listen(options: ListenOptions, io: Io): Promise<Listener> {
  let webhook: Webhook | undefined;
  if (options.secret) {
    try {
      webhook = new Webhook(options.secret);
    } catch (err) {
      throw new CliError(`--secret is not a signing secret (whsec_… as createEndpoint returned it): ${(err as Error).message}`, EXIT.usage, 'USAGE');
    }
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received = describe(req, Buffer.concat(chunks).toString('utf8'), webhook);
      if (options.json) io.out(JSON.stringify(received));
      else for (const line of humanLines(received)) io.out(line);
      res.writeHead(options.status, { 'content-type': 'text/plain' }).end(options.status < 300 ? 'ok\n' : 'refused by hookyard listen --status\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new CliError(`port ${options.port} on ${options.host} is already in use: pick another with --port`, EXIT.unavailable, 'PORT_IN_USE')
          : err,
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;
  io.err(`hookyard listen: receiving webhooks on ${url} (any path), answering ${options.status}`);
  io.err(webhook ? 'checking signatures with the given secret' : 'signatures not checked: pass --secret whsec_… (the endpoint secret) to verify them');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
