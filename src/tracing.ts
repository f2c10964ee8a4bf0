// OpenTelemetry traces, on only when OTEL_EXPORTER_OTLP_ENDPOINT is set. The SDK and its
// instrumentations are imported only then: an instance without tracing loads none of them, and
// every span call below goes to @opentelemetry/api's no-op tracer.
//
// What is traced: each GraphQL operation (yoga.ts), each delivery attempt (the dispatcher), the
// HTTP request an attempt makes (undici instrumentation, through diagnostics_channel) and the SQL
// (Prisma's instrumentation; a db.query span from app.ts for statements sent to the pg pool
// directly). sendEvent stores its trace context on the event, and every attempt of every delivery
// of that event is a child of it, so one trace shows an event from the API call to each receiver's
// answer.
//
// The OTel API is process-global by design (one provider per process), unlike the rest of the app.
import { context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Logger } from './logger.js';

export const TRACER = 'hookyard';

export interface TracingOptions {
  /** OTLP/HTTP base URL; spans go to <endpoint>/v1/traces. */
  endpoint: string;
  serviceName: string;
}

export interface Tracing {
  shutdown(): Promise<void>;
}

export async function startTracing(options: TracingOptions, logger: Logger): Promise<Tracing> {
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, { registerInstrumentations }, { UndiciInstrumentation }, { PrismaInstrumentation }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/instrumentation'),
      import('@opentelemetry/instrumentation-undici'),
      import('@prisma/instrumentation'),
    ]);
  const exporter = new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/+$/, '')}/v1/traces` });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 500 })],
  });
  // Sets the global provider, the AsyncLocalStorage context manager and the W3C propagator.
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      // Only requests made inside an attempt span: the OTLP exporter's own posts stay untraced.
      new UndiciInstrumentation({ requireParentforSpans: true }),
      // Prisma's own spans (operation, and db_query with the SQL): pg's instrumentation would need a
      // loader hook to see an ESM import of pg, and every query goes through Prisma anyway.
      new PrismaInstrumentation(),
    ],
  });
  logger.info({ endpoint: options.endpoint, serviceName: options.serviceName }, 'tracing on: spans exported over OTLP/HTTP');
  return {
    async shutdown() {
      await provider.shutdown().catch((err: unknown) => logger.warn({ err }, 'flushing spans failed'));
    },
  };
}

/** The W3C traceparent of the active span, to store with work that runs later; null without one. */
export function currentTraceparent(): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/**
 * Runs `fn` in a new span, a child of `traceparent` when given (a stored context) or of the active
 * span. Ends the span when `fn` settles; errors mark it and are rethrown.
 */
export async function inSpan<T>(
  name: string,
  attributes: Record<string, string | number | boolean>,
  fn: (span: Span) => Promise<T>,
  options: { traceparent?: string | null; kind?: SpanKind } = {},
): Promise<T> {
  const parent = options.traceparent ? propagation.extract(context.active(), { traceparent: options.traceparent }) : context.active();
  const span = trace.getTracer(TRACER).startSpan(name, { attributes, kind: options.kind ?? SpanKind.INTERNAL }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}

export { SpanKind, SpanStatusCode };
