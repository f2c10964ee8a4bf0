-- AlterTable
ALTER TABLE "Endpoint" ADD COLUMN     "failingSince" TIMESTAMPTZ(3);
