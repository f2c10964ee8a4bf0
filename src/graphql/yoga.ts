// The Yoga server: context (auth), limits on what a query may ask for, and the error channel
// (typed codes pass through, anything else is masked and logged with the request id).
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { type GraphQLArmorRejectCallback } from '@escape.tech/graphql-armor-types';
import { GraphQLError, Kind, type DocumentNode, type ExecutionResult } from 'graphql';
import { createYoga, maskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { authenticate } from '../auth/apiKeys.js';
import { authenticateSession } from '../auth/sessions.js';
import { HookyardError } from '../errors.js';
import type { Services } from '../services.js';
import type { Auth, Context } from './context.js';
import { schema } from './schema.js';

/** What the HTTP and WebSocket layers hand to Yoga for each request. */
export interface ServerContext {
  requestId: string;
  /** Set by the WebSocket layer, which authenticates once per connection. */
  auth?: Auth | null;
}

export const LIMITS = { depth: 12, aliases: 15, tokens: 3000, cost: 20_000 } as const;

// Limits report through the validation context, so the error keeps our code.
const tooComplex: GraphQLArmorRejectCallback = (ctx, error) => {
  ctx?.reportError(
    new GraphQLError(error.message.replace(/^Syntax Error: /, ''), { extensions: { code: 'QUERY_TOO_COMPLEX', limits: LIMITS } }),
  );
};
const armor = { onReject: [tooComplex], propagateOnRejection: false, exposeLimits: true };

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

function defaultCode(error: GraphQLError): string {
  if (error.message.startsWith('Syntax Error')) return 'GRAPHQL_PARSE_FAILED';
  if (/^Variable "\$[^"]+" (got invalid value|of required type|of non-null type)/.test(error.message)) return 'VALIDATION_FAILED';
  return 'GRAPHQL_VALIDATION_FAILED';
}

/** Every error carries a code and the request id, whatever phase raised it. */
export function stampErrors(result: ExecutionResult, requestId: string): ExecutionResult {
  if (!result.errors?.length) return result;
  return {
    ...result,
    errors: result.errors.map((e) => {
      // The token limit fires inside the parser, which Yoga labels GRAPHQL_PARSE_FAILED.
      const code = /limit of \d+ exceeded/.test(e.message)
        ? 'QUERY_TOO_COMPLEX'
        : ((e.extensions?.code as string | undefined) ?? defaultCode(e));
      const param =
        e.extensions?.param ?? (code === 'VALIDATION_FAILED' ? /^Variable "\$([^"]+)"/.exec(e.message)?.[1] : undefined);
      return new GraphQLError(e.message, {
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

export type HookyardYoga = YogaServerInstance<ServerContext, Context>;

export function buildYoga(services: Services): HookyardYoga {
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: false, // served by the HTTP layer, inlined for offline use
    logging: false,
    maskedErrors: {
      maskError(error, message, isDev) {
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
            ? await authenticate(request.headers.get('authorization'))
            : await authenticateSession(request.headers.get('cookie')), // the dashboard's session
      services,
    }),
    plugins: [
      // Counted while parsing, before any validation context exists: it throws, defaultCode() names it.
      maxTokensPlugin({ n: LIMITS.tokens, exposeLimits: true }),
      maxDepthPlugin({ n: LIMITS.depth, ...armor }),
      maxAliasesPlugin({ n: LIMITS.aliases, ...armor }),
      costLimitPlugin({ maxCost: LIMITS.cost, ...armor }),
      requireAuth as Plugin,
      stampResults as Plugin,
    ],
  });
}
