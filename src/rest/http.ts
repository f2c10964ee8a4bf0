// What every REST shape shares: reading a JSON body, checking inputs with the same rules as
// GraphQL (errors are HookyardErrors, raised where the input is read), and turning any thrown
// error into a status + code that each shape renders in its own envelope.
import type { IncomingMessage } from 'node:http';
import { DateTimeResolver } from 'graphql-scalars';
import { HookyardError, invalid } from '../errors.js';
import type { Auth } from '../auth/apiKeys.js';
import type { DeliveryStatus } from '../generated/prisma/enums.js';
import type { Logger } from '../logger.js';
import type { Services } from '../services.js';

/** REST bodies are a handful of fields; anything near this size is not a client of these APIs. */
export const MAX_REST_BODY_BYTES = 64 * 1024;

export interface RestRequest {
  req: IncomingMessage;
  requestId: string;
  params: Record<string, string>;
  query: URLSearchParams;
  auth: Auth;
  services: Services;
}

export interface RestResult {
  status: number;
  body: unknown;
}

/** A failure as the shapes render it: GraphQL's code, the HTTP status, the seed's param name. */
export interface RestFailure {
  status: number;
  code: string;
  message: string;
  param?: string;
  retryAfterSeconds?: number;
}

const STATUS_OF_CODE: Record<string, number> = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  NOT_FOUND: 404,
  ENDPOINT_DISABLED: 409,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  REPLAY_RATE_LIMITED: 429,
  TEST_FIRE_RATE_LIMITED: 429,
};

/**
 * Expected failures keep their code and message; anything else is logged (with the request id,
 * never the request body) and masked, as Yoga does for GraphQL.
 */
export function toFailure(err: unknown, logger: Logger, requestId: string, route: string, renameParam: Record<string, string> = {}): RestFailure {
  if (err instanceof HookyardError) {
    const ext = err.extensions as { param?: string; retryAfterSeconds?: number };
    const param = ext.param === undefined ? undefined : (renameParam[ext.param] ?? ext.param);
    return {
      status: STATUS_OF_CODE[err.code] ?? 400,
      code: err.code,
      message: err.message,
      ...(param !== undefined ? { param } : {}),
      ...(ext.retryAfterSeconds !== undefined ? { retryAfterSeconds: ext.retryAfterSeconds } : {}),
    };
  }
  logger.error({ err, requestId, route }, 'unexpected error in a REST handler');
  return { status: 500, code: 'INTERNAL_SERVER_ERROR', message: `internal error; quote request id ${requestId} when reporting it` };
}

/** The request's JSON object body, or {} when there is none. Never echoes or logs the body. */
export async function readJsonBody(req: IncomingMessage, maxBytes = MAX_REST_BODY_BYTES): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw new HookyardError('PAYLOAD_TOO_LARGE', `request body is ${declared} bytes; the limit is ${maxBytes}`, { param: 'body' });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new HookyardError('PAYLOAD_TOO_LARGE', `request body is over the limit of ${maxBytes} bytes`, { param: 'body' });
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  if (!/^application\/(.+\+)?json\b/i.test(String(req.headers['content-type'] ?? ''))) {
    throw invalid('body', 'the request body must be JSON (Content-Type: application/json)');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid('body', 'the request body is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid('body', 'the request body must be a JSON object');
  return value as Record<string, unknown>;
}

/** Refuses fields this API does not have, so a misspelt filter cannot silently widen a replay. */
export function onlyFields(input: Record<string, unknown> | URLSearchParams, allowed: readonly string[]): void {
  const names = input instanceof URLSearchParams ? [...input.keys()] : Object.keys(input);
  for (const name of names) {
    if (!allowed.includes(name)) throw invalid(name.slice(0, 64), `unknown parameter ${JSON.stringify(name.slice(0, 64))}; expected one of ${allowed.join(', ')}`);
  }
}

export function optionalString(value: unknown, param: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(param, `${param} must be a string`);
  return value;
}

export function requiredString(value: unknown, param: string): string {
  const s = optionalString(value, param);
  if (s === undefined || s === '') throw invalid(param, `${param} is required`);
  return s;
}

/** RFC 3339 date-time, parsed by the same scalar GraphQL's DateTime uses. */
export function optionalDate(value: unknown, param: string): Date | null {
  const s = optionalString(value, param);
  if (s === undefined) return null;
  try {
    return DateTimeResolver.parseValue(s) as Date;
  } catch {
    throw invalid(param, `${param} must be an RFC 3339 date-time such as 2026-04-15T12:00:00Z`);
  }
}

const STATUS_IN: Record<string, DeliveryStatus> = {
  pending: 'PENDING',
  sending: 'SENDING',
  delivered: 'DELIVERED',
  failed: 'FAILED',
  // The seeds' name for a delivery whose retries ran out.
  exhausted: 'FAILED',
};

export function optionalStatus(value: unknown, param = 'status'): DeliveryStatus | undefined {
  const s = optionalString(value, param);
  if (s === undefined) return undefined;
  const status = STATUS_IN[s];
  if (!status) throw invalid(param, `${param} must be one of pending, sending, delivered, failed (or exhausted)`);
  return status;
}

export const statusOut = (status: DeliveryStatus) => status.toLowerCase() as Lowercase<DeliveryStatus>;

/** The fields both seeds' delivery shapes open with (they differ after these). */
export const deliveryHead = (d: { id: string; endpointId: string; eventId: string; eventType: string }) => ({
  id: d.id,
  endpoint_id: d.endpointId,
  event_id: d.eventId,
  event_type: d.eventType,
});

export const iso = (d: Date | null) => (d ? d.toISOString() : null);

export interface Route {
  method: 'GET' | 'POST';
  /** find-my-way syntax (`:id`). */
  path: string;
  /** The domain's `param` names (GraphQL's) as this API calls them, for error bodies. */
  rename?: Record<string, string>;
  run(r: RestRequest): Promise<RestResult>;
}

/** One seed's API: how it sends the key, how it renders errors, its routes. */
export interface Shape {
  name: string;
  apiKey(req: IncomingMessage): string | undefined;
  render(failure: RestFailure, where: { requestId: string; params: Record<string, string> }): RestResult;
  routes: Route[];
}

export function bearer(req: IncomingMessage): string | undefined {
  return req.headers.authorization;
}
