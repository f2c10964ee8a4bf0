// The `hookyard` client commands: they talk to a running server over its GraphQL API.
import { parseArgs } from 'node:util';
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

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number, readonly code?: string, readonly extensions: Record<string, unknown> = {}) {
    super(message);
  }
}

export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Progress on a terminal line that is rewritten (stderr). */
  progress(line: string): void;
}

export const USAGE = `usage: hookyard <command> [options]

server:   serve | migrate | keys create --tenant NAME [--name LABEL]   (local: mints a tenant's first key)
client:   keys list | keys create [--name LABEL] | keys revoke ID      (the calling key's tenant)
          endpoints list [--status ACTIVE|DISABLED]
          endpoints create --url URL [--event-type TYPE]... [--description TEXT]
          events send --type TYPE [--data JSON] [--idempotency-key KEY]
          events trigger --endpoint ID --event TYPE          (test-fire)
          deliveries list [--endpoint ID] [--status S]... [--event-type T] [--limit N]
          deliveries replay ID
          deliveries bulk-replay --endpoint ID [--status S] [--event-type T] [--since ISO] [--until ISO] [--dry-run] [--all]

client options: --server URL (or HOOKYARD_URL, default http://localhost:4000), --api-key KEY (or HOOKYARD_API_KEY), --json`;

type Gql = <R, V>(doc: TypedDocumentString<R, V>, variables: V) => Promise<R>;

function client(config: ClientConfig): Gql {
  return async (doc, variables) => {
    if (!config.apiKey) throw new CliError('an API key is needed: --api-key or HOOKYARD_API_KEY', EXIT.usage);
    let res: Response;
    try {
      res = await fetch(`${config.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${config.apiKey}` },
        body: JSON.stringify({ query: doc.toString(), variables }),
      });
    } catch (err) {
      throw new CliError(`cannot reach ${config.url}: ${(err as Error).cause ? String((err as { cause: Error }).cause.message) : (err as Error).message}`, EXIT.unavailable);
    }
    const body = (await res.json().catch(() => null)) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] } | null;
    if (!body) throw new CliError(`unexpected answer from ${config.url} (HTTP ${res.status})`, EXIT.server);
    const first = body.errors?.[0];
    if (first) {
      const code = String(first.extensions?.code ?? 'INTERNAL_SERVER_ERROR');
      const param = first.extensions?.param ? ` (${String(first.extensions.param)})` : '';
      throw new CliError(`${code}: ${first.message}${param}`, CODE_EXIT[code] ?? EXIT.server, code, first.extensions ?? {});
    }
    return body.data as never;
  };
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
  if (!(STATUSES as readonly string[]).includes(upper)) throw new CliError(`unknown status ${value}; one of ${STATUSES.join(', ')}`, EXIT.usage);
  return upper as Status;
}

function isoDate(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new CliError(`${flag} must be a date, e.g. 2026-04-20T00:00:00Z`, EXIT.usage);
  return d.toISOString();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a client command; returns the exit code. */
export async function runClientCommand(argv: string[], config: (flags: { url?: string; apiKey?: string }) => ClientConfig, io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        server: { type: 'string' },
        url: { type: 'string' },
        'api-key': { type: 'string' },
        json: { type: 'boolean', default: false },
        status: { type: 'string', multiple: true },
        endpoint: { type: 'string' },
        event: { type: 'string' },
        'event-type': { type: 'string', multiple: true },
        type: { type: 'string' },
        data: { type: 'string' },
        'idempotency-key': { type: 'string' },
        description: { type: 'string' },
        name: { type: 'string' },
        limit: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        all: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    io.err((err as Error).message);
    io.err(USAGE);
    return EXIT.usage;
  }
  const { values: v, positionals } = parsed;
  const gql = client(config({ url: v.server, apiKey: v['api-key'] }));
  const print = (data: unknown, lines: () => string[]) => {
    if (v.json) io.out(JSON.stringify(data));
    else for (const line of lines()) io.out(line);
  };
  const [group, action, arg] = positionals;

  try {
    switch (`${group} ${action}`) {
      case 'endpoints list': {
        const status = v.status?.[0] ? (v.status[0].toUpperCase() as 'ACTIVE' | 'DISABLED') : undefined;
        if (status && status !== 'ACTIVE' && status !== 'DISABLED') throw new CliError('--status is ACTIVE or DISABLED', EXIT.usage);
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
        return EXIT.ok;
      }
      case 'keys list': {
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
        return EXIT.ok;
      }
      case 'keys create': {
        const res = await gql(CliCreateApiKey, { name: v.name ?? 'cli' });
        print(res.createApiKey, () => [`API key ${res.createApiKey.apiKey.id} (${res.createApiKey.apiKey.name}), shown once:`, res.createApiKey.key]);
        return EXIT.ok;
      }
      case 'keys revoke': {
        if (!arg) throw new CliError('keys revoke needs a key id (key_…; see keys list)', EXIT.usage);
        const res = await gql(CliRevokeApiKey, { id: arg });
        print(res.revokeApiKey, () => [`revoked ${res.revokeApiKey.id} (${res.revokeApiKey.name}) at ${res.revokeApiKey.revokedAt}`]);
        return EXIT.ok;
      }
      case 'endpoints create': {
        if (!v.url) throw new CliError('endpoints create needs --url', EXIT.usage);
        const res = await gql(CliCreateEndpoint, { input: { url: v.url, eventTypes: v['event-type'], description: v.description } });
        print(res.createEndpoint, () => [
          `endpoint ${res.createEndpoint.endpoint.id} (${res.createEndpoint.endpoint.url})`,
          `signing secret (shown once): ${res.createEndpoint.secret}`,
        ]);
        return EXIT.ok;
      }
      case 'events send': {
        if (!v.type) throw new CliError('events send needs --type', EXIT.usage);
        let payload: unknown = {};
        if (v.data !== undefined) {
          try {
            payload = JSON.parse(v.data);
          } catch {
            throw new CliError('--data must be JSON', EXIT.usage);
          }
        }
        const res = await gql(CliSendEvent, { input: { eventType: v.type, payload, idempotencyKey: v['idempotency-key'] } });
        print(res.sendEvent, () => [
          `event ${res.sendEvent.event.id}${res.sendEvent.duplicate ? ' (already sent with this idempotency key)' : ''}: ${res.sendEvent.deliveriesCreated} deliveries`,
        ]);
        return EXIT.ok;
      }
      case 'events trigger': {
        if (!v.endpoint || !v.event) throw new CliError('events trigger needs --endpoint and --event', EXIT.usage);
        const res = await gql(CliTestFire, { id: v.endpoint, eventType: v.event });
        print(res.testFireEndpoint, () => [`test event ${res.testFireEndpoint.event.id} queued as delivery ${res.testFireEndpoint.id}`]);
        return EXIT.ok;
      }
      case 'deliveries list': {
        const limit = v.limit ? Number(v.limit) : 50;
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new CliError('--limit is a whole number from 1 to 10000', EXIT.usage);
        const filter = {
          endpointId: v.endpoint,
          status: v.status?.map(statusOf),
          eventType: v['event-type']?.[0],
          createdAfter: isoDate(v.since, '--since'),
          createdBefore: isoDate(v.until, '--until'),
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
        return EXIT.ok;
      }
      case 'deliveries replay': {
        if (!arg) throw new CliError('deliveries replay needs a delivery id', EXIT.usage);
        const res = await gql(CliReplay, { id: arg });
        print(res.replayDelivery, () => [`replayed ${arg} as ${res.replayDelivery.id} (${res.replayDelivery.status})`]);
        return EXIT.ok;
      }
      case 'deliveries bulk-replay':
        return await bulkReplay(gql, v, io, print);
      default:
        io.err(USAGE);
        return EXIT.usage;
    }
  } catch (err) {
    if (err instanceof CliError) {
      if (v.json) io.out(JSON.stringify({ error: { message: err.message, code: err.code ?? null, ...err.extensions } }));
      else io.err(err.message);
      return err.exitCode;
    }
    throw err;
  }
}

async function bulkReplay(
  gql: Gql,
  v: { endpoint?: string; status?: string[]; 'event-type'?: string[]; since?: string; until?: string; 'dry-run'?: boolean; all?: boolean; json?: boolean },
  io: Io,
  print: (data: unknown, lines: () => string[]) => void,
): Promise<number> {
  if (!v.endpoint) throw new CliError('deliveries bulk-replay needs --endpoint', EXIT.usage);
  const base = {
    endpointId: v.endpoint,
    status: v.status?.[0] ? statusOf(v.status[0]) : undefined,
    eventType: v['event-type']?.[0],
    createdBefore: isoDate(v.until, '--until'),
    dryRun: v['dry-run'],
  };
  let cursor: { createdAfter?: string; afterDeliveryId?: string } = { createdAfter: isoDate(v.since, '--since') };
  let enqueued = 0;
  let total: number | null = null;
  let calls = 0;
  for (;;) {
    let res;
    try {
      res = (await gql(CliBulkReplay, { input: { ...base, ...cursor } })).bulkReplayDeliveries;
    } catch (err) {
      // A long backfill waits out the replay limit instead of failing halfway.
      if (v.all && err instanceof CliError && err.code === 'REPLAY_RATE_LIMITED') {
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
    if (res.dryRun || !res.capped || !v.all) {
      const summary = { enqueued, capped: res.capped, dryRun: res.dryRun, totalMatching: total, calls };
      io.progress('');
      print(summary, () => [
        res.dryRun
          ? `dry run: ${res.enqueued} of ${total} matching deliveries would be replayed by one call${res.capped ? ' (capped; use --all to replay them all)' : ''}`
          : `replayed ${enqueued} of ${total} matching deliveries in ${calls} call(s)${res.capped ? ' — more remain; run again or pass --all' : ''}`,
      ]);
      return EXIT.ok;
    }
    cursor = { createdAfter: res.nextCreatedAfter ?? undefined, afterDeliveryId: res.nextAfterDeliveryId ?? undefined };
  }
}
