-- CreateTable
CREATE TABLE "StatusOutbox" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "changes" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "StatusOutbox_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "StatusOutbox_createdAt_idx" ON "StatusOutbox"("createdAt");
