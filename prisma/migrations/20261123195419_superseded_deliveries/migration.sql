-- AlterTable
ALTER TABLE "Delivery" ADD COLUMN     "supersededById" TEXT;

-- CreateIndex
CREATE INDEX "Delivery_supersededById_idx" ON "Delivery"("supersededById") WHERE ("supersededById" IS NOT NULL);

-- AddForeignKey
ALTER TABLE "Delivery" ADD CONSTRAINT "Delivery_supersededById_fkey" FOREIGN KEY ("supersededById") REFERENCES "Delivery"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Existing deliveries: each older delivery of an (event, endpoint) pair points at the pair's newest.
UPDATE "Delivery" d SET "supersededById" = n.id
FROM (
  SELECT DISTINCT ON ("eventId", "endpointId") id, "eventId", "endpointId"
  FROM "Delivery" ORDER BY "eventId", "endpointId", "createdAt" DESC, id DESC
) n
WHERE d."eventId" = n."eventId" AND d."endpointId" = n."endpointId" AND d.id <> n.id;
