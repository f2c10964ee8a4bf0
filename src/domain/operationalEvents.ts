// Operational events: what the statement recording outcomes, or the retirement sweep, decided
// (endpoint failing, recovered, disabled; a delivery failed) becomes `hookyard.*` events of the
// tenant, delivered like any other to its endpoints whose filters name them and never to the
// endpoint they are about, and is published on `endpointHealthChanged`.
import type { OperationalFact } from '../pubsub.js';
import type { Services } from '../services.js';
import { MAX_BATCH, sendEvents } from './events.js';

/**
 * Stores the facts as events (one statement per tenant and 100 facts), then publishes each with
 * its event id. Called after the statement that decided them committed; if this process dies in
 * between, they are lost (at most once), as a live push is.
 */
export async function emitOperational(services: Services, facts: OperationalFact[]): Promise<void> {
  const byTenant = new Map<string, OperationalFact[]>();
  for (const f of facts) byTenant.set(f.tenantId, [...(byTenant.get(f.tenantId) ?? []), f]);
  for (const [tenantId, list] of byTenant) {
    // A disabled endpoint must not linger in the fan-out cache, here or on other instances.
    if (list.some((f) => f.type === 'hookyard.endpoint.disabled')) services.endpointCache.changed(tenantId);
    for (const f of list) {
      const level = f.type === 'hookyard.delivery.failed' ? 'info' : f.type === 'hookyard.endpoint.recovered' ? 'info' : 'warn';
      services.logger[level]({ tenantId, endpointId: f.endpointId, deliveryId: f.data.deliveryId, type: f.type }, f.type);
    }
    for (let i = 0; i < list.length; i += MAX_BATCH) {
      const chunk = list.slice(i, i + MAX_BATCH);
      let eventIds: (string | null)[] = chunk.map(() => null);
      try {
        const items = await sendEvents(
          services,
          tenantId,
          chunk.map((f) => ({ eventType: f.type, payload: f.data, internal: true, excludeEndpointIds: [f.endpointId] })),
        );
        eventIds = items.map((item) => item.sent?.eventId ?? null);
      } finally {
        // Subscribers hear of it even when storing the event failed (eventId null then).
        chunk.forEach((f, j) => services.pubsub.publish('endpointHealthChanged', tenantId, { ...f, eventId: eventIds[j] ?? null }));
      }
    }
  }
}
