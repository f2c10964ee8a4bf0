import { recordInOutbox } from './outbox.js';
import type { Services } from '../services.js';

/**
 * Soft-deletes an endpoint: its deliveries stay for audit, and those still waiting end FAILED
 * (sending ones are failed by the dispatcher when they come back).
 */
export async function deleteEndpoint(services: Services, tenantId: string, endpointId: string): Promise<void> {
  const now = new Date();
  const { failed, outboxRow } = await services.db.$transaction(async (tx) => {
    await tx.endpoint.update({
      where: { id: endpointId },
      data: { deletedAt: now, status: 'DISABLED', disabledReason: 'deleted' },
    });
    const rows = await tx.delivery.updateManyAndReturn({
      where: { endpointId, status: 'PENDING' },
      data: { status: 'FAILED', nextAttemptAt: null, lastError: 'endpoint deleted', updatedAt: now },
      select: { id: true, eventId: true },
    });
    const changes = rows.map((d) => ({
      deliveryId: d.id,
      endpointId,
      eventId: d.eventId,
      previousStatus: 'PENDING' as const,
      status: 'FAILED' as const,
      attemptId: null,
      occurredAt: now.toISOString(),
    }));
    return { failed: rows, outboxRow: await recordInOutbox(tx, tenantId, changes) };
  });
  if (outboxRow) services.outbox.publish([outboxRow]);
  services.logger.info({ endpointId, tenantId, failedDeliveries: failed.length }, 'endpoint deleted');
}
