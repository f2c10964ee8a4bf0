// API keys: `hy_<random>` shown once, stored as a sha256 hash. A key of 32 random bytes needs no
// slow hash: nobody can guess it, and sha256 lets the lookup be an indexed equality.
import { createHash, randomBytes } from 'node:crypto';
import { db } from '../db/client.js';
import { newId } from '../ids.js';
import type { Auth } from '../graphql/context.js';

export const hashApiKey = (key: string) => createHash('sha256').update(key).digest('hex');

export function generateApiKey(): string {
  return `hy_${randomBytes(32).toString('base64url')}`;
}

/** The tenant named `name`, created if missing. */
export async function ensureTenant(name: string): Promise<string> {
  const tenant = await db().tenant.upsert({
    where: { name },
    create: { id: newId('tenant'), name },
    update: {},
    select: { id: true },
  });
  return tenant.id;
}

/** Mints a key for the tenant `tenantName` (created if missing); the key is returned only here. */
export async function createApiKey(tenantName: string, keyName = 'default'): Promise<{ key: string; tenantId: string; id: string }> {
  const tenantId = await ensureTenant(tenantName);
  const key = generateApiKey();
  const row = await db().apiKey.create({
    data: { id: newId('apiKey'), tenantId, name: keyName, hash: hashApiKey(key), prefix: key.slice(0, 10) },
    select: { id: true },
  });
  return { key, tenantId, id: row.id };
}

/** Makes `key` valid for tenant `default` (HOOKYARD_BOOTSTRAP_API_KEY). */
export async function bootstrapApiKey(key: string): Promise<void> {
  const tenantId = await ensureTenant('default');
  const hash = hashApiKey(key);
  await db().apiKey.upsert({
    where: { hash },
    create: { id: newId('apiKey'), tenantId, name: 'bootstrap', hash, prefix: key.slice(0, 6) },
    update: { revokedAt: null, tenantId },
  });
}

const CACHE_MS = 5_000;
// Per database client, so a process that reopens another database never sees stale tenants.
const caches = new WeakMap<object, Map<string, { auth: Auth | null; until: number }>>();

/** Resolves `Authorization: Bearer <key>` (or a bare key) to its tenant; null when unknown. */
export async function authenticate(header: string | null | undefined): Promise<Auth | null> {
  if (!header) return null;
  const key = header.replace(/^Bearer\s+/i, '').trim();
  if (key.length < 16 || key.length > 200) return null;
  const hash = hashApiKey(key);
  const now = Date.now();
  const client = db();
  let cache = caches.get(client);
  if (!cache) caches.set(client, (cache = new Map()));
  const hit = cache.get(hash);
  if (hit && hit.until > now) return hit.auth;
  const row = await client.apiKey.findUnique({ where: { hash }, select: { id: true, tenantId: true, revokedAt: true } });
  const auth = row && !row.revokedAt ? { tenantId: row.tenantId, apiKeyId: row.id } : null;
  if (cache.size > 10_000) cache.clear();
  cache.set(hash, { auth, until: now + CACHE_MS });
  return auth;
}
