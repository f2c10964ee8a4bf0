-- CreateIndex
CREATE INDEX "Delivery_tenantId_endpointId_createdAt_id_idx" ON "Delivery"("tenantId", "endpointId", "createdAt", "id");
