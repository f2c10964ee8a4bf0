// API keys: `hy_<random>` shown once, stored as a sha256 hash. A key of 32 random bytes needs no
// slow hash: nobody can guess it, and sha256 lets the lookup be an indexed equality.
import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../db/client.js';
import { newId } from '../ids.js';
import type { HookyardPubSub } from '../pubsub.js';

/** Who is calling: the tenant every read and write is scoped by, and the key that proved it. */
export interface Auth {
  tenantId: string;
  apiKeyId: string;
}

export const hashApiKey = (key: string) => createHash('sha256').update(key).digest('hex');

export function generateApiKey(): string {
  return `hy_${randomBytes(32).toString('base64url')}`;
}

/** The tenant named `name`, created if missing. */
export async function ensureTenant(db: PrismaClient, name: string): Promise<string> {
  const tenant = await db.tenant.upsert({
    where: { name },
    create: { id: newId('tenant'), name },
    update: {},
    select: { id: true },
  });
  return tenant.id;
}

/** Mints a key for the tenant `tenantId`; the key is returned only here. */
export async function mintApiKey(db: PrismaClient, tenantId: string, keyName: string): Promise<{ key: string; id: string }> {
  const key = generateApiKey();
  const row = await db.apiKey.create({
    data: { id: newId('apiKey'), tenantId, name: keyName, hash: hashApiKey(key), prefix: key.slice(0, 10) },
    select: { id: true },
  });
  return { key, id: row.id };
}

/** Mints a key for the tenant `tenantName` (created if missing); the key is returned only here. */
export async function createApiKey(db: PrismaClient, tenantName: string, keyName = 'default'): Promise<{ key: string; tenantId: string; id: string }> {
  const tenantId = await ensureTenant(db, tenantName);
  return { ...(await mintApiKey(db, tenantId, keyName)), tenantId };
}

/**
 * Makes `key` valid for tenant `default` (HOOKYARD_BOOTSTRAP_API_KEY, `hookyard dev`'s kept key) the
 * first time it is seen. A key revoked since stays revoked: a restart must not undo `keys revoke`.
 */
export async function bootstrapApiKey(db: PrismaClient, key: string): Promise<{ revoked: boolean }> {
  const tenantId = await ensureTenant(db, 'default');
  const hash = hashApiKey(key);
  const row = await db.apiKey.upsert({
    where: { hash },
    create: { id: newId('apiKey'), tenantId, name: 'bootstrap', hash, prefix: key.slice(0, 6) },
    update: {},
    select: { revokedAt: true },
  });
  return { revoked: row.revokedAt !== null };
}

// A key's tenant is cached this long. Revocation evicts it at once on the revoking instance and,
// through the pub/sub (Redis when configured), on every other; without Redis another instance may
// accept a revoked key for up to this long (README).
const CACHE_MS = 5_000;
// lastUsedAt is written at most this often per key, so authentication stays a cache hit.
const LAST_USED_EVERY_MS = 60_000;

interface Cached {
  auth: Auth | null;
  until: number;
  /** When lastUsedAt was last known to be stamped (ms), for the once-a-minute write. */
  lastUsed: number;
}
interface Cache {
  entries: Map<string, Cached>;
  /** Bumped by each eviction: a lookup that raced with one is not cached. */
  evictions: number;
}
// Per database client: apps on different databases in one process never share tenants.
const caches = new WeakMap<object, Cache>();

function cacheOf(client: object): Cache {
  let cache = caches.get(client);
  if (!cache) caches.set(client, (cache = { entries: new Map(), evictions: 0 }));
  return cache;
}

function stampLastUsed(db: PrismaClient, apiKeyId: string, entry: Cached, now: number): void {
  if (now - entry.lastUsed < LAST_USED_EVERY_MS) return;
  entry.lastUsed = now;
  // One conditional statement: many instances serving one key write it about once a minute in
  // all, and a failed stamp must not fail the request it rode on (it is retried a minute later).
  void db.apiKey
    .updateMany({ where: { id: apiKeyId, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now - LAST_USED_EVERY_MS) } }] }, data: { lastUsedAt: new Date(now) } })
    .catch(() => {
      entry.lastUsed = 0;
    });
}

/** Resolves `Authorization: Bearer <key>` (or a bare key) to its tenant; null when unknown. */
export async function authenticate(db: PrismaClient, header: string | null | undefined): Promise<Auth | null> {
  if (!header) return null;
  const key = header.replace(/^Bearer\s+/i, '').trim();
  if (key.length < 16 || key.length > 200) return null;
  const hash = hashApiKey(key);
  const now = Date.now();
  const cache = cacheOf(db);
  const hit = cache.entries.get(hash);
  if (hit && hit.until > now) {
    if (hit.auth) stampLastUsed(db, hit.auth.apiKeyId, hit, now);
    return hit.auth;
  }
  const evictions = cache.evictions;
  const row = await db.apiKey.findUnique({ where: { hash }, select: { id: true, tenantId: true, revokedAt: true, lastUsedAt: true } });
  const auth = row && !row.revokedAt ? { tenantId: row.tenantId, apiKeyId: row.id } : null;
  const entry: Cached = { auth, until: now + CACHE_MS, lastUsed: row?.lastUsedAt?.getTime() ?? 0 };
  if (cache.evictions === evictions) {
    if (cache.entries.size > 10_000) cache.entries.clear();
    cache.entries.set(hash, entry);
  }
  if (auth) stampLastUsed(db, auth.apiKeyId, entry, now);
  return auth;
}

/** Forgets the cached lookup of key `apiKeyId` in this process, so its next use reads the row. */
export function evictApiKey(db: PrismaClient, apiKeyId: string): void {
  const cache = cacheOf(db);
  cache.evictions++;
  for (const [hash, entry] of cache.entries) if (entry.auth?.apiKeyId === apiKeyId) cache.entries.delete(hash);
}

/** Evicts keys revoked on any instance (the pub/sub spans instances with Redis). Returns stop. */
export function watchRevocations(db: PrismaClient, pubsub: HookyardPubSub): () => void {
  const revoked = pubsub.subscribe('apiKeyRevoked');
  void (async () => {
    for await (const { apiKeyId } of revoked) evictApiKey(db, apiKeyId);
  })();
  return () => void revoked.return?.();
}

/** Revokes the tenant's key `apiKeyId` (a no-op when already revoked); null when it has no such key. */
export async function revokeApiKey(db: PrismaClient, pubsub: HookyardPubSub, tenantId: string, apiKeyId: string): Promise<{ id: string } | null> {
  await db.apiKey.updateMany({ where: { id: apiKeyId, tenantId, revokedAt: null }, data: { revokedAt: new Date() } });
  const row = await db.apiKey.findFirst({ where: { id: apiKeyId, tenantId }, select: { id: true } });
  if (!row) return null;
  // Here at once; elsewhere as soon as the message arrives (Redis) instead of after CACHE_MS.
  evictApiKey(db, row.id);
  pubsub.publish('apiKeyRevoked', { apiKeyId: row.id });
  return row;
}
