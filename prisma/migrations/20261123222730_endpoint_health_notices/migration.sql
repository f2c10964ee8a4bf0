-- AlterTable
ALTER TABLE "Endpoint" ADD COLUMN     "failingNotified" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "failingNotifiedAt" TIMESTAMPTZ(3);
