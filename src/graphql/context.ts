import type { Auth } from '../auth/apiKeys.js';
import type { Services } from '../services.js';
import { HookyardError } from '../errors.js';
import type { FrameSink } from './sharedSubscriptions.js';

export type { Auth };

export interface Context {
  requestId: string;
  auth: Auth | null;
  services: Services;
  /** Set by the graphql-ws layer per subscription: shared results are written through it (sharedSubscriptions.ts). */
  frameSink?: FrameSink;
}

/** The caller's tenant; every resolver scopes its reads and writes by it. */
export function tenantId(ctx: Context): string {
  if (!ctx.auth) throw new HookyardError('UNAUTHENTICATED', 'an API key is required (Authorization: Bearer <key>)');
  return ctx.auth.tenantId;
}
