// The `hookyard` command tree on commander: every command has its own --help, unknown commands
// and flags are refused (exit 64) with commander's "did you mean" hint. Server-side commands are
// handed in by main.ts; client commands (client.ts) load no server, database or Prisma module.
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import type { ClientConfig } from '../config.js';
import {
  type ClientContext,
  type ClientFlags,
  CliError,
  deliveriesBulkReplay,
  deliveriesList,
  deliveriesReplay,
  endpointsCreate,
  endpointsList,
  eventsSend,
  eventsTrigger,
  EXIT,
  type Io,
  keysCreate,
  keysList,
  keysRevoke,
  reportError,
  runClient,
} from './client.js';

export interface ServerCommands {
  /** Starts the server; resolves once it listens (the process then keeps running). */
  serve(): Promise<void>;
  dev(): Promise<void>;
  migrate(): Promise<number>;
  /** Opens the database itself to mint a tenant's key (a new tenant has no key to call with). */
  mintKey(tenant: string, name: string | undefined, json: boolean): Promise<number>;
}

export interface CliDeps {
  io: Io;
  server: ServerCommands;
  clientConfig: (flags: { url?: string; apiKey?: string }) => ClientConfig;
}

/** The process keeps running (serve, dev, listen): do not exit. */
export const KEEP_RUNNING = -1;

const collect = (value: string, previous: string[] = []) => [...previous, value];

const clientFlags = (cmd: Command) =>
  cmd
    .option('--server <url>', 'server URL (default: HOOKYARD_URL or http://localhost:4000)')
    .option('--api-key <key>', 'API key (default: HOOKYARD_API_KEY)')
    .option('--json', 'machine-readable output, errors too');

const positiveInt = (flag: string, min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${flag} is a whole number from ${min} to ${max}.`);
  return n;
};

export function buildProgram(deps: CliDeps, setExit: (code: number) => void): Command {
  const { io } = deps;
  const program = new Command('hookyard')
    .description('Self-hosted webhook delivery with a GraphQL API: run the server, or talk to a running one.')
    .usage('<command> [options]')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Client commands talk to a running server: --server URL (or HOOKYARD_URL, default
http://localhost:4000) and --api-key KEY (or HOOKYARD_API_KEY); --json for machine output.
Exit codes: 0 ok, 64 bad usage, 65 invalid input, 66 not found, 69 server unreachable,
70 server error, 73 endpoint disabled, 75 rate limited, 77 API key not accepted, 78 bad configuration.`,
    );

  // Adds --server, --api-key and --json, and runs the body through the GraphQL client.
  const client = <O>(cmd: Command, body: (ctx: ClientContext, o: O, args: string[]) => Promise<void>) =>
    clientFlags(cmd).action(async (...args: unknown[]) => {
      // commander calls the action with the positionals, then the options, then the command.
      const command = args[args.length - 1] as Command;
      const o = command.opts<O & ClientFlags>();
      setExit(await runClient(o, deps.clientConfig, io, (ctx) => body(ctx, o, args.slice(0, -2) as string[])));
    });

  program
    .command('serve')
    .description('run the server (configured by environment variables: see README "Configure")')
    .action(async () => {
      await deps.server.serve();
      setExit(KEEP_RUNNING);
    });

  program
    .command('dev')
    .description('run the server for local development: private targets allowed, retries 0s,2s,5s,10s, an API key printed')
    .action(async () => {
      await deps.server.dev();
      setExit(KEEP_RUNNING);
    });

  program
    .command('migrate')
    .description('apply database migrations and exit')
    .action(async () => setExit(await deps.server.migrate()));

  program
    .command('listen')
    .description('receive webhooks locally and print each one (event type, ids, attempt, signature check)')
    .option('--port <port>', 'port to listen on', positiveInt('--port', 0, 65535), 3000)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--secret <whsec>', "the endpoint's signing secret, to verify signatures")
    .option('--status <code>', 'HTTP status to answer with', positiveInt('--status', 200, 599), 200)
    .option('--json', 'one JSON object per webhook')
    .action(async (o: { port: number; host: string; secret?: string; status: number; json?: boolean }) => {
      const { listen } = await import('./listen.js');
      const listener = await listen({ ...o, json: Boolean(o.json) }, io);
      const stop = () => {
        void listener.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      setExit(KEEP_RUNNING);
    });

  const keys = program.command('keys').description('API keys: list, create, revoke');
  client(keys.command('list').description("list the calling key's tenant's API keys"), (ctx) => keysList(ctx));
  const create = keys
    .command('create')
    .description('create an API key: through the server with a key, or with --tenant straight in the database (a tenant\'s first key)')
    .option('--tenant <name>', 'open the database itself and mint a key for this tenant (created if new)')
    .option('--name <label>', 'label for the key (default: cli)');
  clientFlags(create).action(async (o: ClientFlags & { tenant?: string; name?: string }) => {
    if (o.tenant !== undefined) return setExit(await deps.server.mintKey(o.tenant, o.name, Boolean(o.json)));
    setExit(await runClient(o, deps.clientConfig, io, (ctx) => keysCreate(ctx, { name: o.name })));
  });
  client(keys.command('revoke').description('revoke an API key').argument('<id>', 'key id (key_…; see keys list)'), (ctx, _o, [id]) => keysRevoke(ctx, id!),
  );

  const endpoints = program.command('endpoints').description('webhook endpoints: list, create');
  client(endpoints.command('list').description('list endpoints').option('--status <status>', 'ACTIVE or DISABLED'), (ctx, o: { status?: string }) => endpointsList(ctx, o),
  );
  client(
    endpoints
      .command('create')
      .description('create an endpoint; prints its signing secret once')
      .requiredOption('--url <url>', 'where deliveries go')
      .option('--event-type <type>', 'event type or pattern (order.*); repeat for more; none: every event', collect)
      .option('--description <text>', 'free text'),
    (ctx, o: { url: string; eventType?: string[]; description?: string }) => endpointsCreate(ctx, o),
  );

  const events = program.command('events').description('events: send, trigger a test');
  client(
    events
      .command('send')
      .description('send an event to every matching endpoint')
      .requiredOption('--type <type>', 'event type, e.g. invoice.paid')
      .option('--data <json>', 'payload as JSON', undefined)
      .option('--idempotency-key <key>', 'the same key within 24 h sends nothing new'),
    (ctx, o: { type: string; data?: string; idempotencyKey?: string }) => eventsSend(ctx, o),
  );
  client(
    events
      .command('trigger')
      .description('send a signed test event to one endpoint')
      .requiredOption('--endpoint <id>', 'endpoint id (ep_…)')
      .requiredOption('--event <type>', 'event type'),
    (ctx, o: { endpoint: string; event: string }) => eventsTrigger(ctx, o),
  );

  const deliveries = program.command('deliveries').description('deliveries: list, replay, bulk-replay');
  client(
    deliveries
      .command('list')
      .description('list deliveries, newest first')
      .option('--endpoint <id>', 'only this endpoint')
      .option('--status <status>', 'PENDING, SENDING, DELIVERED or FAILED; repeat for more', collect)
      .option('--event-type <type>', 'only this event type')
      .option('--limit <n>', 'at most this many (1–10000, default 50)')
      .option('--since <iso>', 'created at or after')
      .option('--until <iso>', 'created before'),
    (ctx, o: { endpoint?: string; status?: string[]; eventType?: string; limit?: string; since?: string; until?: string }) => deliveriesList(ctx, o),
  );
  client(deliveries.command('replay').description('send a delivery again (as a new delivery)').argument('<id>', 'delivery id (dlv_…)'), (ctx, _o, [id]) => deliveriesReplay(ctx, id!),
  );
  client(
    deliveries
      .command('bulk-replay')
      .description("replay an endpoint's deliveries, oldest first, at most HOOKYARD_BULK_REPLAY_CAP per call")
      .requiredOption('--endpoint <id>', 'endpoint id (ep_…)')
      .option('--status <status>', 'PENDING, SENDING, DELIVERED or FAILED')
      .option('--event-type <type>', 'only this event type')
      .option('--since <iso>', 'created at or after')
      .option('--until <iso>', 'created before')
      .option('--dry-run', 'count what would be replayed')
      .option('--all', 'page past the cap and wait out rate limits'),
    (ctx, o: { endpoint: string; status?: string; eventType?: string; since?: string; until?: string; dryRun?: boolean; all?: boolean }) => deliveriesBulkReplay(ctx, o),
  );

  return program;
}

/** Parses argv and runs the command; returns the exit code, or KEEP_RUNNING. */
export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(deps, (c) => {
    code = c;
  });
  // A bare `hookyard` explains itself; serving is `hookyard serve`.
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT.ok;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; a group without its subcommand shows its help as a usage error.
      if (err.exitCode === 0) return EXIT.ok;
      if (argv.includes('--json') && err.code !== 'commander.help') deps.io.out(JSON.stringify({ error: { message: err.message.replace(/^error: /, ''), code: 'USAGE' } }));
      return EXIT.usage;
    }
    if (err instanceof CliError) return reportError(err, argv.includes('--json'), deps.io);
    throw err;
  }
}
