import { invalid } from '../errors.js';
import { type IdKind, ID_PREFIXES, isId } from '../ids.js';

/** Checks an id argument's form; a malformed id is bad input, not a missing row. */
export function parseId(kind: IdKind, value: string, param = 'id'): string {
  if (!isId(kind, value)) throw invalid(param, `${JSON.stringify(value.slice(0, 64))} is not a ${ID_PREFIXES[kind]}_ id`);
  return value;
}
