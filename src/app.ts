// Composition root. buildApp() wires the parts and never listens; start() opens the database,
// migrates, and starts serving and/or dispatching per HOOKYARD_ROLE; stop() undoes it in a
// fixed, logged order.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Redis } from 'ioredis';
import { bootstrapApiKey } from './auth/apiKeys.js';
import type { Config } from './config.js';
import { type Database, openDatabase } from './db/client.js';
import { migrate } from './db/migrate.js';
import { Dispatcher } from './dispatcher/dispatcher.js';
import { createWorkSignal, type WorkSignal } from './dispatcher/workSignal.js';
import { OutboxRelay } from './domain/outbox.js';
import { databaseRateLimiter, redisRateLimiter } from './domain/rateLimit.js';
import { buildYoga, type HookyardYoga } from './graphql/yoga.js';
import { createHttpServer } from './http/server.js';
import { createLogger, type Logger } from './logger.js';
import { RetentionJob } from './maintenance/retention.js';
import { createHookyardPubSub, type PubSubHandle } from './pubsub.js';
import type { Services } from './services.js';

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
  /** Available after start(). */
  readonly retention: RetentionJob;
  start(): Promise<Running>;
  stop(): Promise<void>;
}

export function buildApp(config: Config, options: { logger?: Logger } = {}): App {
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
  let http: { server: Server; closeWebSockets(): void } | undefined;
  let started = false;

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is available after start()`);
    return value;
  };

  const app: App = {
    config,
    logger,
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

    async start() {
      if (started) throw new Error('already started');
      started = true;
      database = await openDatabase(config, logger);
      await migrate(database, logger);
      if (config.bootstrapApiKey) await bootstrapApiKey(config.bootstrapApiKey);
      pubsub = createHookyardPubSub(config.redisUrl);
      if (config.redisUrl) redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
      workSignal = await createWorkSignal(database, logger);
      const signal = workSignal;
      outbox = new OutboxRelay(pubsub.pubsub, logger);
      outbox.start();
      services = {
        config,
        logger,
        pubsub: pubsub.pubsub,
        outbox,
        rateLimiter: redis ? redisRateLimiter(redis) : databaseRateLimiter(),
        notifyWork: () => signal.notify(),
      };
      const db = database;
      const checkReady = async () => {
        await db.prisma.$queryRawUnsafe('SELECT 1');
      };
      if (config.role !== 'dispatcher') yoga = buildYoga(services);
      http = createHttpServer({ yoga, services, checkReady });
      await new Promise<void>((resolve, reject) => {
        http!.server.once('error', reject);
        http!.server.listen(config.port, config.host, () => resolve());
      });
      if (config.role !== 'api') {
        dispatcher = new Dispatcher({ config, logger, pubsub: services.pubsub, outbox, workSignal });
        dispatcher.start();
      }
      retention = new RetentionJob({ config, logger, database });
      retention.start();
      const port = (http.server.address() as AddressInfo).port;
      const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
      const url = `http://${host}:${port}`;
      logger.info({ url: `${url}/graphql`, role: config.role, database: database.kind, redis: Boolean(config.redisUrl) }, 'hookyard started');
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
      logger.info('stopping: 3/5 status outbox, work signal and pub/sub');
      await outbox?.stop();
      await workSignal?.close();
      await pubsub?.close();
      await redis?.quit().catch(() => {});
      logger.info('stopping: 4/5 database');
      await database?.close();
      logger.info('stopping: 5/5 stopped');
    },
  };
  return app;
}
