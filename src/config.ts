// The only reader of process.env. Parsed once at start; every problem is reported together.
import { parseKey } from './security/secretBox.js';

export type Role = 'all' | 'api' | 'dispatcher';

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  redisUrl: string | undefined;
  bootstrapApiKey: string | undefined;
  role: Role;
  allowPrivateTargets: boolean;
  /** Delay before each attempt, in ms; its length is the number of attempts. */
  retrySchedule: number[];
  deliveryTimeoutMs: number;
  dispatchConcurrency: number;
  /** Worker threads the HTTP attempts run in (HOOKYARD_DISPATCH_THREADS); 0: on the main thread. */
  dispatchThreads: number;
  /** Sends in flight per endpoint per instance. */
  endpointConcurrency: number;
  maxPayloadBytes: number;
  bulkReplayCap: number;
  replayRateLimit: number;
  testFireRateLimit: number;
  logLevel: string;
  /** How long a claim is held before another instance may take the delivery over. */
  leaseMs: number;
  /** Poll interval when nothing wakes the dispatcher. */
  pollIntervalMs: number;
  /** How long shutdown waits for in-flight sends. */
  shutdownGraceMs: number;
  /** Most a Retry-After header may push the next attempt out. */
  maxRetryAfterMs: number;
  /** Bearer token GET /metrics requires; unset: open, as Prometheus scrapers expect. */
  metricsToken: string | undefined;
  /** OTLP/HTTP base URL; tracing is on only when set (the OpenTelemetry variable name). */
  otelEndpoint: string | undefined;
  otelServiceName: string;
  /** Keys for signing secrets at rest (HOOKYARD_ENCRYPTION_KEY, comma-separated): the first seals, all open. */
  encryptionKeys: Buffer[];
  /** Age after which finished events (with their deliveries and attempts) are deleted; 0 keeps everything. */
  retentionMs: number;
  /** An endpoint whose attempts have all failed for this long is disabled; 0 never. */
  disableAfterMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]);
}

type Env = Record<string, string | undefined>;

function encryptionKeys(raw: string | undefined, problems: string[]): Buffer[] {
  if (raw === undefined) return [];
  const keys = raw.split(',').map((part) => parseKey(part));
  if (keys.some((k) => k === undefined)) {
    problems.push('HOOKYARD_ENCRYPTION_KEY: expected comma-separated 32-byte keys, base64 or hex (`openssl rand -base64 32`), the one to encrypt with first');
    return [];
  }
  return keys as Buffer[];
}

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const str = (name: string) => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int = (name: string, def: number, min: number, max: number) => {
    const raw = str(name);
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected a whole number from ${min} to ${max}`);
      return def;
    }
    return n;
  };
  const bool = (name: string, def: boolean) => {
    const raw = str(name)?.toLowerCase();
    if (raw === undefined) return def;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    problems.push(`${name}=${JSON.stringify(raw)}: expected true or false`);
    return def;
  };
  const url = (name: string, protocols: string[]) => {
    const raw = str(name);
    if (raw === undefined) return undefined;
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol)) throw new Error();
      return raw;
    } catch {
      problems.push(`${name}: expected a ${protocols.map((p) => `${p}//`).join(' or ')} URL`);
      return undefined;
    }
  };

  const role = (str('HOOKYARD_ROLE') ?? 'all') as Role;
  if (!['all', 'api', 'dispatcher'].includes(role)) {
    problems.push(`HOOKYARD_ROLE=${JSON.stringify(role)}: expected all, api or dispatcher`);
  }

  const scheduleRaw = str('HOOKYARD_RETRY_SCHEDULE') ?? '0s,5s,5m,30m,2h,5h,10h,14h,20h,24h';
  const retrySchedule = scheduleRaw.split(',').map((part) => parseDuration(part));
  if (retrySchedule.some((d) => d === undefined) || retrySchedule.length === 0 || retrySchedule.length > 50) {
    problems.push(
      `HOOKYARD_RETRY_SCHEDULE=${JSON.stringify(scheduleRaw)}: expected 1 to 50 comma-separated durations like 0s,5s,5m,2h`,
    );
  }

  const retentionRaw = str('HOOKYARD_RETENTION') ?? '30d';
  const retentionMs = retentionRaw === '0' ? 0 : parseDuration(retentionRaw);
  if (retentionMs === undefined) {
    problems.push(`HOOKYARD_RETENTION=${JSON.stringify(retentionRaw)}: expected a duration like 30d, 12h or 3s, or 0 to keep everything`);
  }

  const disableAfterRaw = str('HOOKYARD_DISABLE_AFTER') ?? '5d';
  const disableAfterMs = disableAfterRaw === '0' ? 0 : parseDuration(disableAfterRaw);
  if (disableAfterMs === undefined) {
    problems.push(`HOOKYARD_DISABLE_AFTER=${JSON.stringify(disableAfterRaw)}: expected a duration like 5d, 12h or 3s, or 0 to never disable a failing endpoint`);
  }

  const bootstrapApiKey = str('HOOKYARD_BOOTSTRAP_API_KEY');
  if (bootstrapApiKey !== undefined && bootstrapApiKey.length < 16) {
    problems.push('HOOKYARD_BOOTSTRAP_API_KEY: must be at least 16 characters');
  }
  const logLevel = str('LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    problems.push(`LOG_LEVEL=${JSON.stringify(logLevel)}: expected fatal, error, warn, info, debug, trace or silent`);
  }

  const config: Config = {
    port: int('PORT', 4000, 0, 65535),
    host: str('HOST') ?? '0.0.0.0',
    databaseUrl: url('DATABASE_URL', ['postgres:', 'postgresql:']),
    dataDir: str('HOOKYARD_DATA_DIR') ?? './.hookyard',
    redisUrl: url('REDIS_URL', ['redis:', 'rediss:']),
    bootstrapApiKey,
    role,
    allowPrivateTargets: bool('HOOKYARD_ALLOW_PRIVATE_TARGETS', false),
    retrySchedule: retrySchedule.filter((d): d is number => d !== undefined),
    deliveryTimeoutMs: int('HOOKYARD_DELIVERY_TIMEOUT_MS', 15_000, 100, 300_000),
    dispatchConcurrency: int('HOOKYARD_DISPATCH_CONCURRENCY', 64, 1, 10_000),
    dispatchThreads: int('HOOKYARD_DISPATCH_THREADS', 0, 0, 64),
    endpointConcurrency: int('HOOKYARD_ENDPOINT_CONCURRENCY', 16, 1, 10_000),
    maxPayloadBytes: int('HOOKYARD_MAX_PAYLOAD_BYTES', 262_144, 1, 10 * 1024 * 1024),
    bulkReplayCap: int('HOOKYARD_BULK_REPLAY_CAP', 1000, 1, 100_000),
    replayRateLimit: int('HOOKYARD_REPLAY_RATE_LIMIT', 10, 1, 1_000_000),
    testFireRateLimit: int('HOOKYARD_TEST_FIRE_RATE_LIMIT', 20, 1, 1_000_000),
    logLevel,
    leaseMs: int('HOOKYARD_LEASE_MS', 60_000, 1_000, 3_600_000),
    pollIntervalMs: int('HOOKYARD_POLL_INTERVAL_MS', 1_000, 10, 60_000),
    shutdownGraceMs: int('HOOKYARD_SHUTDOWN_GRACE_MS', 10_000, 0, 300_000),
    maxRetryAfterMs: int('HOOKYARD_MAX_RETRY_AFTER_MS', 3_600_000, 0, 86_400_000),
    metricsToken: str('HOOKYARD_METRICS_TOKEN'),
    otelEndpoint: url('OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']),
    otelServiceName: str('OTEL_SERVICE_NAME') ?? 'hookyard',
    encryptionKeys: encryptionKeys(str('HOOKYARD_ENCRYPTION_KEY'), problems),
    retentionMs: retentionMs ?? 0,
    disableAfterMs: disableAfterMs ?? 0,
  };
  if (config.leaseMs <= config.deliveryTimeoutMs) {
    problems.push('HOOKYARD_LEASE_MS: must be longer than HOOKYARD_DELIVERY_TIMEOUT_MS (a claim must outlive its send)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** What the `hookyard` client commands need: where the server is and which key to use. */
export interface ClientConfig {
  url: string;
  apiKey: string | undefined;
}

export function loadClientConfig(flags: { url?: string; apiKey?: string }, env: Env = process.env): ClientConfig {
  return {
    url: (flags.url ?? env.HOOKYARD_URL ?? 'http://localhost:4000').replace(/\/+$/, ''),
    apiKey: flags.apiKey ?? env.HOOKYARD_API_KEY,
  };
}
