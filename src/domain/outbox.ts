// Final status changes travel through StatusOutbox so that no subscriber misses one when an
// instance dies between committing a change and publishing it. Whoever commits a row publishes it
// and then deletes it (lazily, in batches); rows older than a few seconds were left by an instance
// that died, and any instance publishes them. Delivery is at least once: a push may repeat.
import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../db/client.js';
import type { Prisma } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import { type DeliveryStatusEvent, type HookyardPubSub, type OutboxRow, publishStatusChanges } from '../pubsub.js';
import type { StatusOutbox } from '../services.js';

export type { OutboxRow };

const ORPHAN_AFTER_MS = 5_000;

/** Writes changes to the outbox inside the caller's transaction. */
export async function recordInOutbox(tx: Prisma.TransactionClient, tenantId: string, changes: DeliveryStatusEvent[]): Promise<OutboxRow | null> {
  if (changes.length === 0) return null;
  const id = randomUUID();
  await tx.statusOutbox.create({ data: { id, tenantId, changes: changes as unknown as Prisma.InputJsonValue } });
  return { id, tenantId, changes };
}

export class OutboxRelay implements StatusOutbox {
  private readonly toDelete = new Set<string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: PrismaClient,
    private readonly pubsub: HookyardPubSub,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timers.push(setInterval(() => this.serial(() => this.sweep()), 250).unref());
    this.timers.push(setInterval(() => this.serial(() => this.recoverOrphans()), 2_000).unref());
  }

  /** Publishes committed outbox rows and schedules their deletion. */
  publish(rows: OutboxRow[]): void {
    for (const row of rows) {
      publishStatusChanges(this.pubsub, row.tenantId, row.changes);
      this.toDelete.add(row.id);
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.serial(() => this.sweep());
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    this.running = this.running.then(fn).catch((err: unknown) => this.logger.warn({ err }, 'status outbox upkeep failed'));
    return this.running;
  }

  private async sweep(): Promise<void> {
    if (this.toDelete.size === 0) return;
    const ids = [...this.toDelete];
    await this.db.statusOutbox.deleteMany({ where: { id: { in: ids } } });
    for (const id of ids) this.toDelete.delete(id);
  }

  /** Rows nobody deleted in time: their instance died before publishing. Publish, then delete. */
  private async recoverOrphans(): Promise<void> {
    await this.db.$transaction(async (tx) => {
      const rows = await tx.$queryRawUnsafe<OutboxRow[]>(
        `SELECT id, "tenantId", changes FROM "StatusOutbox"
         WHERE "createdAt" < now() - make_interval(secs => $1)
         ORDER BY "createdAt" LIMIT 200 FOR UPDATE SKIP LOCKED`,
        ORPHAN_AFTER_MS / 1000,
      );
      if (rows.length === 0) return;
      for (const row of rows) publishStatusChanges(this.pubsub, row.tenantId, row.changes);
      await tx.statusOutbox.deleteMany({ where: { id: { in: rows.map((r) => r.id) } } });
      this.logger.warn({ rows: rows.length }, 'published status changes left behind by a stopped instance');
    });
  }
}
