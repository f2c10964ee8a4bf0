-- DropIndex
DROP INDEX "Delivery_pending_nextAttemptAt_idx";

-- AlterTable
ALTER TABLE "Endpoint" ADD COLUMN     "fifo" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE INDEX "Delivery_pending_endpoint_due_idx" ON "Delivery"("endpointId", "nextAttemptAt") WHERE (status = 'PENDING');

-- CreateIndex
CREATE INDEX "Delivery_live_endpoint_line_idx" ON "Delivery"("endpointId", "createdAt", "id") WHERE (status < 'DELIVERED');
