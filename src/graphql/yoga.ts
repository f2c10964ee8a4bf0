// The Yoga server: context (auth), limits on what a query may ask for, and the error channel
// (typed codes pass through, anything else is masked and logged with the request id).
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { type GraphQLArmorRejectCallback } from '@escape.tech/graphql-armor-types';
import { type DefinitionNode, GraphQLError, Kind, Lexer, parse, Source, TokenKind, type DocumentNode, type ExecutionResult } from 'graphql';
import { createYoga, maskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { authenticate } from '../auth/apiKeys.js';
import { authenticateSession } from '../auth/sessions.js';
import { HookyardError } from '../errors.js';
import type { Services } from '../services.js';
import { inSpan } from '../tracing.js';
import type { Auth } from '../auth/apiKeys.js';
import type { Context } from './context.js';
import { schema } from './schema.js';
import { createSharedSubscriptions } from './sharedSubscriptions.js';

/** What the HTTP and WebSocket layers hand to Yoga for each request. */
export interface ServerContext {
  requestId: string;
  /** Set by the WebSocket layer, which authenticates once per connection. */
  auth?: Auth | null;
}

export const LIMITS = { depth: 12, aliases: 15, tokens: 3000, nesting: 100, cost: 20_000 } as const;

// Limits report through the validation context, so the error keeps our code. Armor builds its
// errors with graphql-js's syntaxError (a "Syntax Error: " prefix and nothing structured to read
// instead), so the prefix is cut from the text; the code comes from here, not from the message.
const tooComplex: GraphQLArmorRejectCallback = (ctx, error) => {
  ctx?.reportError(
    new GraphQLError(error.message.replace(/^Syntax Error: /, ''), { extensions: { code: 'QUERY_TOO_COMPLEX', limits: LIMITS } }),
  );
};
const armor = { onReject: [tooComplex], propagateOnRejection: false, exposeLimits: true };

const OPENERS = new Set<string>([TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L]);
const CLOSERS = new Set<string>([TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R]);

/**
 * graphql-js's parser recurses once per nesting level and overflows the stack at ~1,700 levels,
 * before a token limit counted while parsing is reached (`f(a: [[[…` 3,000 deep is ~6 KB). So the
 * tokens and the nesting are counted by the (iterative) lexer alone first, and only a document
 * within both limits reaches the parser. Used by HTTP and graphql-ws alike (Yoga's envelop parse).
 */
export function parseWithinLimits(source: string | Source, options?: Parameters<typeof parse>[1]): DocumentNode {
  const lexer = new Lexer(typeof source === 'string' ? new Source(source) : source);
  let tokens = 0;
  let depth = 0;
  for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
    if (++tokens > LIMITS.tokens) throw tooComplexError(`Token limit of ${LIMITS.tokens} exceeded.`);
    if (OPENERS.has(token.kind) && ++depth > LIMITS.nesting) throw tooComplexError(`Nesting limit of ${LIMITS.nesting} exceeded.`);
    if (CLOSERS.has(token.kind)) depth--;
  }
  try {
    return parse(source, { ...options, maxTokens: LIMITS.tokens });
  } catch (err) {
    // graphql-js's parser raises only syntax errors, untyped: the code is given here, where it is known.
    if (!(err instanceof GraphQLError) || err.extensions.code) throw err;
    throw new GraphQLError(err.message, { source: err.source, positions: err.positions, extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
  }
}

function tooComplexError(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX', limits: LIMITS, http: { status: 400 } } });
}

/** graphql-js's validation rules raise untyped errors: each gets its code as validation returns. */
const validationCodes: Plugin = {
  onValidate() {
    return ({ result, setResult }) => {
      if (result.length === 0 || result.every((e) => e.extensions.code)) return;
      setResult(result.map((e) => (e.extensions.code ? e : withExtensions(e, { code: 'GRAPHQL_VALIDATION_FAILED' }))));
    };
  },
};

function withExtensions(e: GraphQLError, extensions: Record<string, unknown>): GraphQLError {
  return new GraphQLError(e.message, {
    nodes: e.nodes,
    source: e.source,
    positions: e.positions,
    path: e.path,
    originalError: e.originalError,
    extensions: { ...e.extensions, ...extensions },
  });
}

/**
 * A variable's value that graphql-js refused while coercing it (before any resolver ran): the
 * error is located at the variable's definition, whose name is the param. Read from the node, not
 * the message text.
 */
function refusedVariable(e: GraphQLError): string | undefined {
  const node = e.nodes?.[0];
  return !e.path && node?.kind === Kind.VARIABLE_DEFINITION ? node.variable.name.value : undefined;
}

const documentLimits: Plugin = {
  onParse({ setParseFn }) {
    setParseFn(parseWithinLimits);
  },
};

function isIntrospectionOnly(document: DocumentNode): boolean {
  return document.definitions.every(
    (def) =>
      def.kind !== Kind.OPERATION_DEFINITION ||
      def.selectionSet.selections.every((s) => s.kind === Kind.FIELD && s.name.value.startsWith('__')),
  );
}

/** Refuses every operation without a valid key, except schema introspection (GraphiQL, codegen). */
const requireAuth: Plugin<Context> = {
  onExecute({ args, setResultAndStopExecution }) {
    if (!args.contextValue.auth && !isIntrospectionOnly(args.document)) {
      setResultAndStopExecution({ errors: [new HookyardError('UNAUTHENTICATED', 'an API key is required (Authorization: Bearer <key>)')] });
    }
  },
  onSubscribe({ args, setResultAndStopExecution }) {
    if (!args.contextValue.auth) {
      setResultAndStopExecution({ errors: [new HookyardError('UNAUTHENTICATED', 'an API key is required')] });
    }
  },
};

/**
 * A span per query or mutation, active while it executes so that what it does (Prisma's spans, the
 * trace context sendEvent stores) joins it. Hand-written: @envelop/opentelemetry pulls a 1.x SDK
 * beside ours, and this is all of it we need. Subscriptions are long-lived and get no span.
 */
const traceOperations: Plugin<Context> = {
  onExecute({ args, executeFn, setExecuteFn }) {
    const operation = args.document.definitions.find((d: DefinitionNode) => d.kind === Kind.OPERATION_DEFINITION && (!args.operationName || d.name?.value === args.operationName));
    const type = operation?.kind === Kind.OPERATION_DEFINITION ? operation.operation : 'query';
    const name = operation?.kind === Kind.OPERATION_DEFINITION ? operation.name?.value : undefined;
    setExecuteFn((execArgs) =>
      inSpan(`graphql.${type}${name ? ` ${name}` : ''}`, { 'graphql.operation.type': type, 'graphql.operation.name': name ?? '' }, async (span) => {
        const result = (await executeFn(execArgs)) as ExecutionResult;
        if (result.errors?.length) {
          span.setAttribute('graphql.error.codes', result.errors.map((e) => String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR')).join(','));
        }
        return result;
      }),
    );
  },
};

const MAX_MESSAGE = 300;

/** graphql-js quotes a refused variable's value whole in its message: a megabyte string would come back. */
function shortened(message: string): string {
  return message.length <= MAX_MESSAGE ? message : `${message.slice(0, MAX_MESSAGE)}…`;
}

/** Every error carries a code and the request id, whatever phase raised it. */
export function stampErrors(result: ExecutionResult, requestId: string): ExecutionResult {
  if (!result.errors?.length) return result;
  return {
    ...result,
    errors: result.errors.map((e) => {
      // Parse and validation errors got their codes where raised; what is left uncoded is a
      // variable graphql-js refused while coercing it (or, as before, a request error of its own).
      const variable = e.extensions?.code ? undefined : refusedVariable(e);
      const code = (e.extensions?.code as string | undefined) ?? (variable !== undefined ? 'VALIDATION_FAILED' : 'GRAPHQL_VALIDATION_FAILED');
      const param = e.extensions?.param ?? variable;
      return new GraphQLError(shortened(e.message), {
        nodes: e.nodes,
        source: e.source,
        positions: e.positions,
        path: e.path,
        originalError: e.originalError,
        extensions: { ...e.extensions, code, ...(param !== undefined ? { param } : {}), requestId },
      });
    }),
  };
}

const stampResults: Plugin<Record<string, unknown>, ServerContext> = {
  onResultProcess({ result, setResult, serverContext }) {
    const requestId = serverContext.requestId;
    if (Array.isArray(result)) setResult(result.map((r) => stampErrors(r, requestId)));
    else if (!(Symbol.asyncIterator in (result as object))) setResult(stampErrors(result as ExecutionResult, requestId));
  },
  onExecute() {
    return {
      onExecuteDone({ result, setResult, args }) {
        const requestId = (args.contextValue as unknown as Context).requestId;
        if (Symbol.asyncIterator in (result as object)) return;
        setResult(stampErrors(result as ExecutionResult, requestId));
      },
    };
  },
  onSubscribe() {
    return {
      onSubscribeResult({ args }) {
        const requestId = (args.contextValue as unknown as Context).requestId;
        return {
          onNext({ result, setResult }) {
            setResult(stampErrors(result, requestId));
          },
        };
      },
    };
  },
};

/**
 * Yoga's own request errors (bad JSON, bad variables, wrong content type, limits) are the client's
 * fault: answered with their 4xx status and code, never logged, and without
 * `extensions.originalError`, which quotes the request body.
 */
function clientError(error: unknown): GraphQLError | null {
  if (!(error instanceof GraphQLError) || error.originalError) return null;
  const status = (error.extensions?.http as { status?: number } | undefined)?.status;
  if (!status || status < 400 || status >= 500) return null;
  const { originalError: _quoted, http: _spec, ...extensions } = error.extensions as Record<string, unknown>;
  // Without `spec`, Yoga keeps the 4xx status for application/json answers too.
  return new GraphQLError(error.message, { extensions: { ...extensions, code: extensions.code ?? 'BAD_REQUEST', http: { status } } });
}

/** Yoga answers other content types with an empty 415; this one says what it takes. */
const jsonBodiesOnly: Plugin<Record<string, unknown>, ServerContext> = {
  onRequest({ request, endResponse, serverContext }) {
    if (request.method !== 'POST' || /json/i.test(request.headers.get('content-type') ?? '')) return;
    const error = {
      message: 'POST a JSON body (content-type: application/json)',
      extensions: { code: 'UNSUPPORTED_MEDIA_TYPE', requestId: serverContext?.requestId },
    };
    endResponse(new Response(JSON.stringify({ errors: [error] }), { status: 415, headers: { 'content-type': 'application/json; charset=utf-8' } }));
  },
};

export type HookyardYoga = YogaServerInstance<ServerContext, Context>;

export function buildYoga(services: Services): HookyardYoga {
  const shared = createSharedSubscriptions({ onChange: (stats) => services.metrics.subscriptions(stats) });
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: false, // served by the HTTP layer, inlined for offline use
    logging: false,
    maskedErrors: {
      maskError(error, message, isDev) {
        const client = clientError(error);
        if (client) return client;
        const original = error instanceof GraphQLError ? error.originalError : error;
        if (!(original instanceof GraphQLError)) {
          services.logger.error({ err: original ?? error, path: (error as GraphQLError).path }, 'unexpected error in a resolver');
        }
        return maskError(error, message, isDev);
      },
    },
    context: async ({ request, requestId, auth }): Promise<Context> => ({
      requestId,
      auth:
        auth !== undefined
          ? auth
          : request.headers.has('authorization')
            ? await authenticate(services.db, request.headers.get('authorization'))
            : await authenticateSession(services.db, request.headers.get('cookie')), // the dashboard's session
      services,
    }),
    plugins: [
      jsonBodiesOnly as Plugin,
      documentLimits,
      validationCodes,
      maxDepthPlugin({ n: LIMITS.depth, ...armor }),
      maxAliasesPlugin({ n: LIMITS.aliases, ...armor }),
      costLimitPlugin({ maxCost: LIMITS.cost, ...armor }),
      requireAuth as Plugin,
      // After the limits and the auth check, which still run per subscriber.
      shared.plugin as Plugin,
      ...(services.config.otelEndpoint ? [traceOperations as Plugin] : []),
      stampResults as Plugin,
    ],
  });
}
