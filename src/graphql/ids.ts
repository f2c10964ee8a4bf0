import { invalid, notFound } from '../errors.js';
import { type IdKind, ID_PREFIXES, isId } from '../ids.js';
import { type Context, tenantId } from './context.js';

/** Checks an id argument's form; a malformed id is bad input, not a missing row. */
export function parseId(kind: IdKind, value: string, param = 'id'): string {
  if (!isId(kind, value)) throw invalid(param, `${JSON.stringify(value.slice(0, 64))} is not a ${ID_PREFIXES[kind]}_ id`);
  return value;
}

/**
 * The caller's tenant's row `rawId`, read by `find` with the id and tenant as its filter: a
 * malformed id is VALIDATION_FAILED, and a missing row and another tenant's alike NOT_FOUND.
 */
export async function inTenant<Row>(
  ctx: Context,
  kind: IdKind,
  rawId: string,
  find: (where: { id: string; tenantId: string }) => Promise<Row | null>,
  param = 'id',
): Promise<Row> {
  const id = parseId(kind, rawId, param);
  const row = await find({ id, tenantId: tenantId(ctx) });
  if (!row) throw notFound(kind, id, param);
  return row;
}
