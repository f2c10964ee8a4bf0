// sendEvent fans out to the tenant's ACTIVE endpoints; reading them on every call was one of its
// three round trips. They change rarely, so each instance keeps them per tenant.
//
// Staleness, and why it is safe: the insert re-checks every endpoint it writes a delivery for
// (ACTIVE, not deleted), so an endpoint disabled or deleted since it was cached gets nothing, even
// when the dispatcher disabled it. What a stale entry could miss is an endpoint created, enabled or
// re-filtered since: those writes call `changed()`, which forgets the tenant here at once and, over
// the pub/sub (Redis with several instances), on every other instance. Should a message be lost
// (Redis down), an entry is read again after `ttlMs` anyway.
import type { HookyardPubSub } from '../pubsub.js';

export interface TargetEndpoint {
  id: string;
  eventTypes: string[];
}

export const ENDPOINT_CACHE_TTL_MS = 5_000;

export class EndpointCache {
  private readonly entries = new Map<string, { at: number; endpoints: TargetEndpoint[] }>();
  /** Bumped by each eviction: a read that raced with one is not cached. */
  private evictions = 0;

  constructor(
    private readonly pubsub: HookyardPubSub,
    private readonly ttlMs = ENDPOINT_CACHE_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  async get(tenantId: string, load: () => Promise<TargetEndpoint[]>): Promise<TargetEndpoint[]> {
    const hit = this.entries.get(tenantId);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.endpoints;
    const evictions = this.evictions;
    const at = this.now();
    const endpoints = await load();
    if (this.evictions === evictions) {
      if (this.entries.size > 10_000) this.entries.clear();
      this.entries.set(tenantId, { at, endpoints });
    }
    return endpoints;
  }

  /** The tenant's endpoints changed (call after the write committed): forget them on every instance. */
  changed(tenantId: string): void {
    this.evict(tenantId);
    this.pubsub.publish('endpointsChanged', { tenantId });
  }

  private evict(tenantId: string): void {
    this.evictions++;
    this.entries.delete(tenantId);
  }

  /** Evicts on other instances' changes; returns the stop function. */
  watch(): () => void {
    const changes = this.pubsub.subscribe('endpointsChanged');
    void (async () => {
      for await (const { tenantId } of changes) this.evict(tenantId);
    })();
    return () => void changes.return?.();
  }
}
