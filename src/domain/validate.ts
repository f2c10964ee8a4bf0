// Input rules shared by the mutations. Each failure names the offending input field (`param`).
import { invalid } from '../errors.js';

const EVENT_TYPE = /^[A-Za-z0-9][A-Za-z0-9_.:\-/]{0,199}$/;
// A filter may also be "*" or end in ".*" (every type under a prefix).
const EVENT_TYPE_FILTER = /^(\*|[A-Za-z0-9][A-Za-z0-9_.:\-/]{0,199}(\.\*)?)$/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$/;
const RESERVED_HEADERS = /^(webhook-|x-hookyard-|content-|host$|connection$|transfer-encoding$|keep-alive$|upgrade$|te$|trailer$|expect$|proxy-)/i;

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
    if (typeof v !== 'string' || v.length > 4096 || /[\r\n\0]/.test(v)) {
      throw invalid(`${param}.${name}`, 'header values must be strings of at most 4096 characters without line breaks');
    }
    out[name.toLowerCase()] = v;
  }
  return out;
}

export function optionalText(value: string | null | undefined, param: string, max: number): string | null {
  if (value === null || value === undefined) return null;
  if (value.length > max) throw invalid(param, `${param} must be at most ${max} characters`);
  return value;
}

export function intInRange(value: number | null | undefined, param: string, min: number, max: number): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isInteger(value) || value < min || value > max) throw invalid(param, `${param} must be a whole number from ${min} to ${max}`);
  return value;
}

export function dateRange(after: Date | null | undefined, before: Date | null | undefined, param = 'createdAfter'): void {
  if (after && before && after.getTime() >= before.getTime()) throw invalid(param, 'createdAfter must be earlier than createdBefore');
}
