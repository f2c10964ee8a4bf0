// Signing secrets at rest: sealed in the database, re-sealed on key rotation and from clear text,
// and every webhook still verifies with the standardwebhooks package.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { openSecretBox } from '../../src/security/secretKeys.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase } from '../helpers/db.js';
import { CreateEndpoint, GetDelivery, RotateSecret, SendEvent } from '../helpers/operations.js';
import { eventually, sharedDatabaseAndReceiver, startTestApp, type TestApp } from '../helpers/testApp.js';

const KEY_A = Buffer.alloc(32, 1).toString('base64');
const KEY_B = Buffer.alloc(32, 2).toString('base64');

const shared = sharedDatabaseAndReceiver();

async function storedSecrets(t: TestApp, endpointId: string): Promise<string[]> {
  return (await t.prisma.endpointSecret.findMany({ where: { endpointId }, orderBy: { createdAt: 'asc' } })).map((s) => s.secret);
}

/** Sends an event to the endpoint and checks the webhook it received against `secret`. */
async function verifiedDelivery(t: TestApp, endpointId: string, path: string, secret: string): Promise<void> {
  const sent = await t.ok(SendEvent, { input: { eventType: 'secret.check', payload: { path } } });
  const delivery = await t.prisma.delivery.findFirstOrThrow({ where: { eventId: sent.sendEvent.event.id, endpointId } });
  await eventually(async () => (await t.ok(GetDelivery, { id: delivery.id })).delivery?.status === 'DELIVERED', 10_000, 'delivery');
  const req = shared.rx.received.filter((r) => r.path === path).at(-1)!;
  const headers = { 'webhook-id': String(req.headers['webhook-id']), 'webhook-timestamp': String(req.headers['webhook-timestamp']), 'webhook-signature': String(req.headers['webhook-signature']) };
  expect(() => new Webhook(secret).verify(req.body, headers)).not.toThrow();
}

describe('signing secrets at rest', () => {
  it('stores no secret in clear, re-seals old rows under a rotated key, and keeps signatures valid', async () => {
    // 1. Key A: create and rotate; nothing readable in the table.
    let t = await startTestApp({ db: shared.database, env: { HOOKYARD_ENCRYPTION_KEY: KEY_A } });
    let endpointId: string;
    let secret: string;
    try {
      const created = (await t.ok(CreateEndpoint, { input: { url: `${shared.rx.url}/sealed` } })).createEndpoint;
      endpointId = created.endpoint.id;
      const rotated = (await t.ok(RotateSecret, { id: endpointId, graceSeconds: 3600 })).rotateEndpointSecret;
      secret = rotated.secret;
      const rows = await storedSecrets(t, endpointId);
      expect(rows).toHaveLength(2);
      for (const row of rows) expect(row).toMatch(/^enc:v1:[0-9a-f]{8}:/);
      const dump = JSON.stringify(await t.prisma.endpointSecret.findMany());
      expect(dump).not.toContain('whsec_');
      expect(dump).not.toContain(created.secret.slice(6));
      await verifiedDelivery(t, endpointId, '/sealed', secret);
      await verifiedDelivery(t, endpointId, '/sealed', created.secret); // still within the grace period
      // A row from before encryption existed, written in clear.
      await t.prisma.endpointSecret.create({ data: { id: 'sec_legacy_plain', endpointId, secret: 'whsec_bGVnYWN5LXNlY3JldC1ieXRlcy0wMTIz' } });
    } finally {
      await t.stop();
    }

    // 2. Key B first, A still accepted: every row is re-sealed under B at start, the clear one too.
    t = await startTestApp({ db: shared.database, env: { HOOKYARD_ENCRYPTION_KEY: `${KEY_B},${KEY_A}` } });
    try {
      const rows = await storedSecrets(t, endpointId);
      expect(rows).toHaveLength(3);
      const kids = new Set(rows.map((r) => r.split(':')[2]));
      expect(kids.size).toBe(1);
      expect(JSON.stringify(rows)).not.toContain('whsec_');
      await verifiedDelivery(t, endpointId, '/sealed', secret);
      await verifiedDelivery(t, endpointId, '/sealed', 'whsec_bGVnYWN5LXNlY3JldC1ieXRlcy0wMTIz');
    } finally {
      await t.stop();
    }

    // 3. Key A retired: B alone opens everything.
    t = await startTestApp({ db: shared.database, env: { HOOKYARD_ENCRYPTION_KEY: KEY_B } });
    try {
      await verifiedDelivery(t, endpointId, '/sealed', secret);
    } finally {
      await t.stop();
    }
  });

  it('generates a private key file for the embedded database once, and requires the variable with PostgreSQL', async () => {
    const logger = createLogger('silent');
    const dataDir = (await createTestDatabase('pglite')).dataDir;
    const first = await openSecretBox({ encryptionKeys: [], databaseUrl: undefined, dataDir }, logger);
    expect((await stat(join(dataDir, 'encryption.key'))).mode & 0o777).toBe(0o600);
    const again = await openSecretBox({ encryptionKeys: [], databaseUrl: undefined, dataDir }, logger);
    expect(again.primaryKeyId).toBe(first.primaryKeyId);
    await expect(openSecretBox({ encryptionKeys: [], databaseUrl: 'postgres://x@127.0.0.1/db', dataDir }, logger)).rejects.toThrow(
      /HOOKYARD_ENCRYPTION_KEY: required with DATABASE_URL/,
    );
  });
});
