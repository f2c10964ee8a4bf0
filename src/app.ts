// Composition root. buildApp() wires the parts and never listens; start() opens the database,
// migrates, and starts serving and/or dispatching per HOOKYARD_ROLE; stop() undoes it in a
// fixed, logged order.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { SpanKind } from '@opentelemetry/api';
import { bootstrapApiKey, watchRevocations } from './auth/apiKeys.js';
import type { Config } from './config.js';
import { type Database, openDatabase, type RawQuery } from './db/client.js';
import { migrate } from './db/migrate.js';
import type { Dispatcher } from './dispatcher/dispatcher.js';
import type { Sender } from './dispatcher/send.js';
import { createWorkSignal, WORK_CHANNEL, type WorkSignal } from './dispatcher/workSignal.js';
import { emitOperational } from './domain/operationalEvents.js';
import { OutboxRelay } from './domain/outbox.js';
import { databaseRateLimiter, redisRateLimiter } from './domain/rateLimit.js';
import type { HookyardYoga } from './graphql/yoga.js';
import { type ApiRoutes, createHttpServer } from './http/server.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { openSecretBox, resealSecrets } from './security/secretKeys.js';
import { inSpan, startTracing, type Tracing } from './tracing.js';
import { RetentionJob } from './maintenance/retention.js';
import { RetirementSweep } from './maintenance/retirement.js';
import type { Redis } from 'ioredis';
import { createHookyardPubSub, type PubSubHandle } from './pubsub.js';
import { watchRedis } from './redisHealth.js';
import type { Services } from './services.js';
import { EndpointCache } from './domain/endpointCache.js';

export interface Running {
  /** http://host:port of the listening server. */
  url: string;
  port: number;
}

export interface App {
  readonly config: Config;
  readonly logger: Logger;
  /** Available after start(). */
  readonly services: Services;
  readonly yoga: HookyardYoga;
  readonly dispatcher: Dispatcher | undefined;
  readonly database: Database;
  readonly metrics: Metrics;
  /** Available after start(). */
  readonly retention: RetentionJob;
  /** Available after start(). */
  readonly retirement: RetirementSweep;
  start(): Promise<Running>;
  stop(): Promise<void>;
}

export function buildApp(config: Config, options: { logger?: Logger; sender?: Sender } = {}): App {
  const logger = options.logger ?? createLogger(config.logLevel);
  let database: Database | undefined;
  let pubsub: PubSubHandle | undefined;
  let redis: Redis | undefined;
  let workSignal: WorkSignal | undefined;
  let services: Services | undefined;
  let outbox: OutboxRelay | undefined;
  let yoga: HookyardYoga | undefined;
  let dispatcher: Dispatcher | undefined;
  let retention: RetentionJob | undefined;
  let retirement: RetirementSweep | undefined;
  let http: { server: Server; closeWebSockets(): void } | undefined;
  let started = false;
  let tracing: Tracing | undefined;
  const metrics = new Metrics({
    // Counted by the partial index of live work; cached in Metrics so scrapes cannot load the database.
    countPending: async () => {
      const [row] = await need(database, 'database').prisma.$queryRawUnsafe<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM "Delivery" WHERE status = 'PENDING'`,
      );
      return row?.n ?? 0;
    },
  });
  let stopWatchingRevocations = () => {};
  let stopWatchingEndpoints = () => {};

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is available after start()`);
    return value;
  };

  const app: App = {
    config,
    logger,
    metrics,
    get services() {
      return need(services, 'services');
    },
    get yoga() {
      return need(yoga, 'yoga');
    },
    get dispatcher() {
      return dispatcher;
    },
    get database() {
      return need(database, 'database');
    },
    get retention() {
      return need(retention, 'retention');
    },
    get retirement() {
      return need(retirement, 'retirement');
    },

    async start() {
      if (started) throw new Error('already started');
      started = true;
      // First, so that everything after it (Prisma, undici) reports to the provider it registers.
      if (config.otelEndpoint) tracing = await startTracing({ endpoint: config.otelEndpoint, serviceName: config.otelServiceName }, logger);
      const secretBox = await openSecretBox(config, logger);
      database = await openDatabase(config, logger);
      await migrate(database, logger);
      await resealSecrets(database.prisma, secretBox, logger);
      if (config.bootstrapApiKey && (await bootstrapApiKey(database.prisma, config.bootstrapApiKey)).revoked) {
        logger.warn('HOOKYARD_BOOTSTRAP_API_KEY (or hookyard dev\'s kept key) was revoked and stays refused; set another key, or delete the dev-api-key file for a new one');
      }
      pubsub = await createHookyardPubSub(config.redisUrl, logger);
      if (config.redisUrl) {
        const { Redis } = await import('ioredis');
        redis = watchRedis(new Redis(config.redisUrl, { maxRetriesPerRequest: 3 }), 'rate-limits', logger);
      }
      workSignal = await createWorkSignal(database, logger);
      const signal = workSignal;
      outbox = new OutboxRelay(database.prisma, pubsub.pubsub, logger);
      outbox.start();
      services = {
        config,
        db: database.prisma,
        sql: tracing && database.kind === 'postgres' ? tracedQuery(database.query) : database.query,
        logger,
        metrics,
        secretBox,
        pubsub: pubsub.pubsub,
        outbox,
        rateLimiter: redis ? redisRateLimiter(redis) : databaseRateLimiter(database.prisma),
        notifyWork: (inMs, notified) => signal.notify(inMs, notified),
        workChannel: database.connectionString ? WORK_CHANNEL : null,
        endpointCache: new EndpointCache(pubsub.pubsub),
      };
      const db = database;
      const checkReady = async () => {
        await db.prisma.$queryRawUnsafe('SELECT 1');
      };
      let api: ApiRoutes | undefined;
      if (config.role !== 'dispatcher') {
        // Imported here: a dispatcher-only process never loads Yoga, the schema or the API's routes
        // (measured in BENCHMARKS.md, issue 11 item 2).
        const [{ buildYoga }, { createApiRoutes }] = await Promise.all([import('./graphql/yoga.js'), import('./http/api.js')]);
        yoga = buildYoga(services);
        api = createApiRoutes({ yoga, services });
        stopWatchingRevocations = watchRevocations(services.db, services.pubsub);
        stopWatchingEndpoints = services.endpointCache.watch();
      }
      http = createHttpServer({ api, services, checkReady });
      await new Promise<void>((resolve, reject) => {
        http!.server.once('error', reject);
        http!.server.listen(config.port, config.host, () => resolve());
      });
      if (config.role !== 'api') {
        // Imported here: an API-only process never loads the sender (undici, ky) or the
        // dispatcher's code (measured in BENCHMARKS.md, issue 11 item 2).
        const { Dispatcher } = await import('./dispatcher/dispatcher.js');
        const shared = services;
        dispatcher = new Dispatcher({
          config, sql: services.sql, logger, metrics, secretBox, pubsub: services.pubsub, outbox, workSignal, sender: options.sender,
          onOperational: (facts) => emitOperational(shared, facts),
        });
        dispatcher.start();
      }
      retention = new RetentionJob({ config, logger, database });
      retention.start();
      const emitter = services;
      retirement = new RetirementSweep({ config, logger, database, onOperational: (facts) => emitOperational(emitter, facts) });
      retirement.start();
      const port = (http.server.address() as AddressInfo).port;
      const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
      const url = `http://${host}:${port}`;
      const pages = config.role === 'dispatcher' ? {} : { dashboard: `${url}/`, graphiql: `${url}/graphql` };
      logger.info({ url: `${url}/graphql`, ...pages, role: config.role, database: database.kind, redis: Boolean(config.redisUrl) }, 'hookyard started');
      if (config.allowPrivateTargets) logger.warn('HOOKYARD_ALLOW_PRIVATE_TARGETS is on: endpoints may point at private, loopback and link-local addresses (local development only)');
      if ((config.host === '0.0.0.0' || config.host === '::') && config.bootstrapApiKey) {
        logger.warn({ host: config.host }, 'listening on every interface with HOOKYARD_BOOTSTRAP_API_KEY set: anyone who can reach this port and learns the key is in; set HOST=127.0.0.1 or unset the key');
      }
      return { url, port };
    },

    async stop() {
      logger.info('stopping: 1/5 closing HTTP and WebSocket connections');
      if (http) {
        const server = http.server;
        http.closeWebSockets();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          setTimeout(() => server.closeAllConnections(), 2_000).unref();
        });
      }
      logger.info('stopping: 2/5 dispatcher');
      await dispatcher?.stop();
      await retention?.stop();
      await retirement?.stop();
      logger.info('stopping: 3/5 status outbox, work signal and pub/sub');
      await outbox?.stop();
      await workSignal?.close();
      stopWatchingRevocations();
      stopWatchingEndpoints();
      await pubsub?.close();
      await redis?.quit().catch(() => {});
      logger.info('stopping: 4/5 database');
      await database?.close();
      await tracing?.shutdown();
      logger.info('stopping: 5/5 stopped');
    },
  };
  return app;
}

/**
 * Raw statements sent to the `pg` pool directly bypass Prisma's instrumentation: with tracing on,
 * each gets its own span, so a sendEvent trace still shows its SQL. Without tracing, no wrapper.
 */
function tracedQuery(query: RawQuery): RawQuery {
  return (sql, params, name) => inSpan('db.query', { 'db.system': 'postgresql', 'db.statement': sql }, () => query(sql, params, name), { kind: SpanKind.CLIENT });
}
