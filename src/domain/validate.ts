// Input rules shared by the mutations. Each failure names the offending input field (`param`).
import { invalid } from '../errors.js';

const EVENT_TYPE = /^[A-Za-z0-9][A-Za-z0-9_.:\-/]{0,199}$/;
// A filter may also be "*" or end in ".*" (every type under a prefix).
const EVENT_TYPE_FILTER = /^(\*|[A-Za-z0-9][A-Za-z0-9_.:\-/]{0,199}(\.\*)?)$/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$/;
const RESERVED_HEADERS = /^(webhook-|x-hookyard-|content-|host$|connection$|transfer-encoding$|keep-alive$|upgrade$|te$|trailer$|expect$|proxy-)/i;

// What undici (the dispatcher's HTTP client) and RFC 9110 accept in a field value: tab, visible
// ASCII, space and obs-text (0x80-0xFF). Anything else is refused at save, not at every attempt.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

// In a `u` regex a string is read as code points, so only an unpaired surrogate is a \p{Cs}.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Text a client stores (descriptions, reasons, header values, filters): PostgreSQL's text and
 * jsonb cannot hold NUL (22021) and UTF-8 cannot encode an unpaired surrogate.
 */
export function storableText(value: string, param: string): string {
  if (value.includes('\0')) throw invalid(param, `${param} must not contain NUL (\\u0000) characters`);
  if (LONE_SURROGATE.test(value)) throw invalid(param, `${param} must be valid Unicode (no unpaired surrogate \\uD800-\\uDFFF)`);
  return value;
}

/** Years PostgreSQL stores and Prisma writes as ISO text (year 0 and below fail with 22008). */
export function storableDate(value: Date | null | undefined, param: string): Date | null {
  if (value === null || value === undefined) return null;
  const year = value.getUTCFullYear();
  if (!(year >= 1 && year <= 9999)) throw invalid(param, `${param} must be a date from year 1 to 9999`);
  return value;
}

export function eventType(value: string, param = 'eventType'): string {
  if (!EVENT_TYPE.test(value)) {
    throw invalid(param, 'eventType must be 1-200 characters of letters, digits and _ . : - /, starting with a letter or digit');
  }
  return value;
}

export function eventTypeFilter(values: readonly string[] | null | undefined, param = 'eventTypes'): string[] {
  if (!values) return [];
  if (values.length > 100) throw invalid(param, 'at most 100 event types');
  values.forEach((v, i) => {
    if (!EVENT_TYPE_FILTER.test(v)) throw invalid(`${param}[${i}]`, `"${v.slice(0, 50)}" is not an event type, "*" or a "prefix.*" pattern`);
  });
  return [...new Set(values)];
}

/** Does an endpoint with this filter receive events of type `type`? */
export function filterMatches(filter: readonly string[], type: string): boolean {
  if (filter.length === 0) return true;
  return filter.some((f) => f === '*' || f === type || (f.endsWith('.*') && type.startsWith(f.slice(0, -1))));
}

export function headers(value: unknown, param = 'headers'): Record<string, string> {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(param, 'headers must be an object of header names to string values');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 30) throw invalid(param, 'at most 30 custom headers');
  const out: Record<string, string> = {};
  for (const [name, v] of entries) {
    if (!HEADER_NAME.test(name)) throw invalid(`${param}.${name.slice(0, 50)}`, 'not a valid header name');
    if (RESERVED_HEADERS.test(name)) throw invalid(`${param}.${name}`, `header ${name} is set by Hookyard and cannot be overridden`);
    if (typeof v !== 'string' || v.length > 4096 || !HEADER_VALUE.test(v)) {
      throw invalid(
        `${param}.${name}`,
        'header values must be strings of at most 4096 characters: tab, visible ASCII, space or U+0080-U+00FF (no control characters or line breaks)',
      );
    }
    out[name.toLowerCase()] = v;
  }
  return out;
}

export function optionalText(value: string | null | undefined, param: string, max: number): string | null {
  if (value === null || value === undefined) return null;
  if (value.length > max) throw invalid(param, `${param} must be at most ${max} characters`);
  return storableText(value, param);
}

export function intInRange(value: number | null | undefined, param: string, min: number, max: number): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isInteger(value) || value < min || value > max) throw invalid(param, `${param} must be a whole number from ${min} to ${max}`);
  return value;
}

/** A flag that has a value once set (`fifo`): on create absent or null means `fallback`; on update null is refused. */
export function flag(value: boolean | null | undefined, param: string, fallback?: boolean): boolean {
  if (value === null || value === undefined) {
    if (fallback === undefined) throw invalid(param, `${param} cannot be null`);
    return fallback;
  }
  return value;
}

/** `param` names the createdAfter field; createdBefore is its sibling. */
export function dateRange(after: Date | null | undefined, before: Date | null | undefined, param = 'createdAfter'): void {
  storableDate(after, param);
  storableDate(before, param.replace(/createdAfter$/, 'createdBefore'));
  if (after && before && after.getTime() >= before.getTime()) throw invalid(param, 'createdAfter must be earlier than createdBefore');
}

/** A checked createdAfter (inclusive) / createdBefore (exclusive) window as a Prisma filter; undefined when open. */
export function createdWindow(after: Date | null | undefined, before: Date | null | undefined, param = 'createdAfter'): { gte?: Date; lt?: Date } | undefined {
  dateRange(after, before, param);
  if (!after && !before) return undefined;
  return { ...(after ? { gte: after } : {}), ...(before ? { lt: before } : {}) };
}
