-- DropIndex
DROP INDEX "Delivery_replayOfId_idx";

-- CreateIndex
CREATE INDEX "Delivery_replayOfId_idx" ON "Delivery"("replayOfId") WHERE ("replayOfId" IS NOT NULL);
