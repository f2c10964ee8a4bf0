-- DropIndex
DROP INDEX "Delivery_eventId_idx";

-- DropIndex
DROP INDEX "Delivery_status_leaseExpiresAt_idx";

-- DropIndex
DROP INDEX "Delivery_status_nextAttemptAt_idx";

-- CreateIndex
CREATE INDEX "Delivery_pending_nextAttemptAt_idx" ON "Delivery"("nextAttemptAt") WHERE (status = 'PENDING');

-- CreateIndex
CREATE INDEX "Delivery_sending_leaseExpiresAt_idx" ON "Delivery"("leaseExpiresAt") WHERE (status = 'SENDING');

-- CreateIndex
CREATE INDEX "Delivery_eventId_endpointId_createdAt_idx" ON "Delivery"("eventId", "endpointId", "createdAt");

-- CreateIndex
CREATE INDEX "Event_createdAt_idx" ON "Event"("createdAt");

-- Vacuum and analyze Delivery by how many rows changed, not by a fraction of the table: with the
-- default 10-20%, a table holding months of finished deliveries would wait for millions of changes,
-- leaving dead entries in the queue's partial indexes and statistics that say PENDING is rare
-- after an outage's backlog. This replaces the dispatcher's run-time ANALYZE.
ALTER TABLE "Delivery" SET (
  autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 20000,
  autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 5000
);
