// The `hookyard` client commands: they talk to a running server over its GraphQL API. The command
// tree and flag parsing are in program.ts (commander); each function here is one command's body.
import { GraphQLClientError, graphqlClient, type VariablesArgs } from '../client/graphql.js';
import type { ClientConfig } from '../config.js';
import type { CliListApiKeysQuery, CliListDeliveriesQuery, CliListEndpointsQuery, TypedDocumentString } from '../generated/gql/graphql.js';
import { CliBulkReplay, CliCreateApiKey, CliListApiKeys, CliRevokeApiKey, CliCreateEndpoint, CliListDeliveries, CliListEndpoints, CliReplay, CliSendEvent, CliTestFire } from './operations.js';

/** Exit codes (sysexits.h where one fits), documented in the README. */
export const EXIT = {
  ok: 0,
  usage: 64,
  invalid: 65,
  notFound: 66,
  unavailable: 69,
  server: 70,
  conflict: 73,
  rateLimited: 75,
  unauthenticated: 77,
  config: 78,
} as const;

const CODE_EXIT: Record<string, number> = {
  VALIDATION_FAILED: EXIT.invalid,
  PAYLOAD_TOO_LARGE: EXIT.invalid,
  GRAPHQL_VALIDATION_FAILED: EXIT.invalid,
  NOT_FOUND: EXIT.notFound,
  ENDPOINT_DISABLED: EXIT.conflict,
  REPLAY_RATE_LIMITED: EXIT.rateLimited,
  TEST_FIRE_RATE_LIMITED: EXIT.rateLimited,
  UNAUTHENTICATED: EXIT.unauthenticated,
};

/**
 * An expected failure of a command. `code` is what `--json` prints, so scripts can branch on it:
 * the server's own error code, or one of the CLI's (USAGE, API_KEY_MISSING, SERVER_UNREACHABLE,
 * BAD_SERVER_RESPONSE).
 */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number, readonly code: string, readonly extensions: Record<string, unknown> = {}) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage, 'USAGE');

export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Progress on a terminal line that is rewritten (stderr). */
  progress(line: string): void;
}

/** Flags every client command takes. */
export interface ClientFlags {
  server?: string;
  apiKey?: string;
  json?: boolean;
}

type Gql = <R, V>(doc: TypedDocumentString<R, V>, ...variables: VariablesArgs<V>) => Promise<R>;

export interface ClientContext {
  gql: Gql;
  io: Io;
  json: boolean;
  print(data: unknown, lines: () => string[]): void;
}

function client(config: ClientConfig): Gql {
  const api = graphqlClient({ url: `${config.url}/graphql`, apiKey: config.apiKey });
  return async (doc, ...variables) => {
    if (!config.apiKey) throw new CliError('an API key is needed: --api-key or HOOKYARD_API_KEY', EXIT.usage, 'API_KEY_MISSING');
    try {
      return await api.request(doc, ...variables);
    } catch (err) {
      if (!(err instanceof GraphQLClientError)) throw err;
      throw cliErrorOf(err, config.url);
    }
  };
}

/** The CLI's words and exit code for a failed request. */
function cliErrorOf(err: GraphQLClientError, url: string): CliError {
  switch (err.code) {
    case 'NETWORK': {
      const cause = (err.cause as { cause?: Error } | undefined)?.cause ?? (err.cause as Error | undefined);
      return new CliError(`cannot reach ${url}: ${cause?.message ?? err.message} (is the server running? set --server or HOOKYARD_URL)`, EXIT.unavailable, 'SERVER_UNREACHABLE');
    }
    case 'BAD_RESPONSE':
      return new CliError(`unexpected answer from ${url} (HTTP ${err.status})`, EXIT.server, 'BAD_SERVER_RESPONSE');
    // The CLI always sends a key, so the server's "a key is required" means this one was refused.
    case 'UNAUTHENTICATED':
      return new CliError(
        `that API key was not accepted by ${url} (UNAUTHENTICATED): check --api-key or HOOKYARD_API_KEY; it may be revoked or belong to another server`,
        EXIT.unauthenticated,
        err.code,
        err.extensions,
      );
    default: {
      const param = err.extensions.param ? ` (${String(err.extensions.param)})` : '';
      return new CliError(`${err.code}: ${err.message}${param}`, CODE_EXIT[err.code] ?? EXIT.server, err.code, err.extensions);
    }
  }
}

/** Prints a CliError the way the command was asked to print (JSON always carries a code). */
export function reportError(err: CliError, json: boolean, io: Io): number {
  if (json) io.out(JSON.stringify({ error: { message: err.message, code: err.code, ...err.extensions } }));
  else io.err(err.message);
  return err.exitCode;
}

/** Runs one client command's body with a GraphQL client; returns the exit code. */
export async function runClient(
  flags: ClientFlags,
  config: (flags: { url?: string; apiKey?: string }) => ClientConfig,
  io: Io,
  body: (ctx: ClientContext) => Promise<void>,
): Promise<number> {
  const json = Boolean(flags.json);
  const ctx: ClientContext = {
    gql: client(config({ url: flags.server, apiKey: flags.apiKey })),
    io,
    json,
    print: (data, lines) => {
      if (json) io.out(JSON.stringify(data));
      else for (const line of lines()) io.out(line);
    },
  };
  try {
    await body(ctx);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CliError) return reportError(err, json, io);
    throw err;
  }
}

function table(rows: string[][]): string[] {
  if (rows.length === 0) return [];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

const STATUSES = ['PENDING', 'SENDING', 'DELIVERED', 'FAILED'] as const;
type Status = (typeof STATUSES)[number];
function statusOf(value: string): Status {
  const upper = value.toUpperCase();
  if (!(STATUSES as readonly string[]).includes(upper)) throw usageError(`unknown status ${value}; one of ${STATUSES.join(', ')}`);
  return upper as Status;
}

function isoDate(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw usageError(`${flag} must be a date, e.g. 2026-04-20T00:00:00Z`);
  return d.toISOString();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function endpointsList({ gql, print }: ClientContext, o: { status?: string }): Promise<void> {
  const status = o.status ? (o.status.toUpperCase() as 'ACTIVE' | 'DISABLED') : undefined;
  if (status && status !== 'ACTIVE' && status !== 'DISABLED') throw usageError('--status is ACTIVE or DISABLED');
  const all: CliListEndpointsQuery['endpoints']['edges'][number]['node'][] = [];
  let after: string | null | undefined;
  do {
    const page: CliListEndpointsQuery = await gql(CliListEndpoints, { first: 100, after, status });
    all.push(...page.endpoints.edges.map((e) => e.node));
    after = page.endpoints.pageInfo.hasNextPage ? page.endpoints.pageInfo.endCursor : null;
  } while (after);
  print(all, () =>
    table([
      ['ID', 'STATUS', 'FAILURE RATE (24H)', 'URL'],
      ...all.map((e) => [e.id, e.status, e.deliveryStats.failureRate === null ? '-' : `${(e.deliveryStats.failureRate * 100).toFixed(1)}%`, e.url]),
    ]),
  );
}

export async function endpointsCreate({ gql, print }: ClientContext, o: { url: string; eventType?: string[]; description?: string }): Promise<void> {
  const res = await gql(CliCreateEndpoint, { input: { url: o.url, eventTypes: o.eventType, description: o.description } });
  print(res.createEndpoint, () => [
    `endpoint ${res.createEndpoint.endpoint.id} (${res.createEndpoint.endpoint.url})`,
    `signing secret (shown once): ${res.createEndpoint.secret}`,
  ]);
}

export async function keysList({ gql, print }: ClientContext): Promise<void> {
  const all: CliListApiKeysQuery['apiKeys']['edges'][number]['node'][] = [];
  let after: string | null | undefined;
  do {
    const page: CliListApiKeysQuery = await gql(CliListApiKeys, { first: 100, after });
    all.push(...page.apiKeys.edges.map((e) => e.node));
    after = page.apiKeys.pageInfo.hasNextPage ? page.apiKeys.pageInfo.endCursor : null;
  } while (after);
  print(all, () =>
    table([
      ['ID', 'NAME', 'PREFIX', 'CREATED', 'LAST USED', 'REVOKED'],
      ...all.map((k) => [k.id, k.name, `${k.prefix}…`, k.createdAt, k.lastUsedAt ?? '-', k.revokedAt ?? '-']),
    ]),
  );
}

export async function keysCreate({ gql, print }: ClientContext, o: { name?: string }): Promise<void> {
  const res = await gql(CliCreateApiKey, { name: o.name ?? 'cli' });
  print(res.createApiKey, () => [`API key ${res.createApiKey.apiKey.id} (${res.createApiKey.apiKey.name}), shown once:`, res.createApiKey.key]);
}

export async function keysRevoke({ gql, print }: ClientContext, id: string): Promise<void> {
  const res = await gql(CliRevokeApiKey, { id });
  print(res.revokeApiKey, () => [`revoked ${res.revokeApiKey.id} (${res.revokeApiKey.name}) at ${res.revokeApiKey.revokedAt}`]);
}

export async function eventsSend({ gql, print }: ClientContext, o: { type: string; data?: string; idempotencyKey?: string }): Promise<void> {
  let payload: unknown = {};
  if (o.data !== undefined) {
    try {
      payload = JSON.parse(o.data);
    } catch {
      throw usageError('--data must be JSON');
    }
  }
  const res = await gql(CliSendEvent, { input: { eventType: o.type, payload, idempotencyKey: o.idempotencyKey } });
  print(res.sendEvent, () => [
    `event ${res.sendEvent.event.id}${res.sendEvent.duplicate ? ' (already sent with this idempotency key)' : ''}: ${res.sendEvent.deliveriesCreated} deliveries`,
  ]);
}

export async function eventsTrigger({ gql, print }: ClientContext, o: { endpoint: string; event: string }): Promise<void> {
  const res = await gql(CliTestFire, { id: o.endpoint, eventType: o.event });
  print(res.testFireEndpoint, () => [`test event ${res.testFireEndpoint.event.id} queued as delivery ${res.testFireEndpoint.id}`]);
}

export async function deliveriesList(
  { gql, print }: ClientContext,
  o: { endpoint?: string; status?: string[]; eventType?: string; limit?: string; since?: string; until?: string },
): Promise<void> {
  const limit = o.limit ? Number(o.limit) : 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw usageError('--limit is a whole number from 1 to 10000');
  const filter = {
    endpointId: o.endpoint,
    status: o.status?.map(statusOf),
    eventType: o.eventType,
    createdAfter: isoDate(o.since, '--since'),
    createdBefore: isoDate(o.until, '--until'),
  };
  const rows: CliListDeliveriesQuery['deliveries']['edges'][number]['node'][] = [];
  let after: string | null | undefined;
  do {
    const page: CliListDeliveriesQuery = await gql(CliListDeliveries, { filter, first: Math.min(100, limit - rows.length), after });
    rows.push(...page.deliveries.edges.map((e) => e.node));
    after = page.deliveries.pageInfo.hasNextPage && rows.length < limit ? page.deliveries.pageInfo.endCursor : null;
  } while (after);
  print(rows, () =>
    table([
      ['ID', 'STATUS', 'ATTEMPTS', 'HTTP', 'EVENT TYPE', 'CREATED', 'LAST ERROR'],
      ...rows.map((d) => [d.id, d.status, String(d.attemptCount), String(d.lastResponseStatus ?? '-'), d.eventType, d.createdAt, d.lastError ?? '']),
    ]),
  );
}

export async function deliveriesReplay({ gql, print }: ClientContext, id: string): Promise<void> {
  const res = await gql(CliReplay, { id });
  print(res.replayDelivery, () => [`replayed ${id} as ${res.replayDelivery.id} (${res.replayDelivery.status})`]);
}

export async function deliveriesBulkReplay(
  { gql, io, print }: ClientContext,
  o: { endpoint: string; status?: string; eventType?: string; since?: string; until?: string; dryRun?: boolean; all?: boolean },
): Promise<void> {
  const base = {
    endpointId: o.endpoint,
    status: o.status ? statusOf(o.status) : undefined,
    eventType: o.eventType,
    createdBefore: isoDate(o.until, '--until'),
    dryRun: Boolean(o.dryRun),
  };
  let cursor: { createdAfter?: string; afterDeliveryId?: string } = { createdAfter: isoDate(o.since, '--since') };
  let enqueued = 0;
  let total: number | null = null;
  let calls = 0;
  for (;;) {
    let res;
    try {
      res = (await gql(CliBulkReplay, { input: { ...base, ...cursor } })).bulkReplayDeliveries;
    } catch (err) {
      // A long backfill waits out the replay limit instead of failing halfway.
      if (o.all && err instanceof CliError && err.code === 'REPLAY_RATE_LIMITED') {
        const wait = Number(err.extensions.retryAfterSeconds ?? 10);
        io.progress(`replayed ${enqueued}${total !== null ? `/${total}` : ''}; replay limit reached, waiting ${wait}s`);
        await sleep(wait * 1000);
        continue;
      }
      throw err;
    }
    calls++;
    total ??= res.totalMatching;
    enqueued += res.enqueued;
    if (!res.dryRun) io.progress(`replayed ${enqueued}/${total} (${total ? Math.round((enqueued / total) * 100) : 100}%)`);
    if (res.dryRun || !res.capped || !o.all) {
      const summary = { enqueued, capped: res.capped, dryRun: res.dryRun, totalMatching: total, calls };
      io.progress('');
      print(summary, () => [
        res.dryRun
          ? `dry run: ${res.enqueued} of ${total} matching deliveries would be replayed by one call${res.capped ? ' (capped; use --all to replay them all)' : ''}`
          : `replayed ${enqueued} of ${total} matching deliveries in ${calls} call(s)${res.capped ? ' — more remain; run again or pass --all' : ''}`,
      ]);
      return;
    }
    cursor = { createdAfter: res.nextCreatedAfter ?? undefined, afterDeliveryId: res.nextAfterDeliveryId ?? undefined };
  }
}
