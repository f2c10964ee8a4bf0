// Start-up side of secrets at rest: which keys this instance uses, and re-sealing rows that are in
// clear (written before encryption existed) or sealed with a key that is no longer the first.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError, type Config } from '../config.js';
import type { PrismaClient } from '../db/client.js';
import type { Logger } from '../logger.js';
import { generateKey, parseKey, SecretBox, SecretBoxError } from './secretBox.js';

const KEY_FILE = 'encryption.key';

/**
 * The configured keys; on the embedded database without any, a key generated once and kept in the
 * data directory (a single process owns that directory). PostgreSQL is shared by instances that
 * must all hold the same key, so there the variable is required.
 */
export async function openSecretBox(config: Pick<Config, 'encryptionKeys' | 'databaseUrl' | 'dataDir'>, logger: Logger): Promise<SecretBox> {
  if (config.encryptionKeys.length > 0) return new SecretBox(config.encryptionKeys);
  if (config.databaseUrl) {
    throw new ConfigError([
      'HOOKYARD_ENCRYPTION_KEY: required with DATABASE_URL, identical on every instance (signing secrets are encrypted with it); create one with `openssl rand -base64 32`',
    ]);
  }
  await mkdir(resolve(config.dataDir), { recursive: true });
  const path = join(resolve(config.dataDir), KEY_FILE);
  const existing = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (existing !== undefined) {
    const key = parseKey(existing);
    if (!key) throw new ConfigError([`${path}: not a 32-byte base64 key; restore it from a backup or set HOOKYARD_ENCRYPTION_KEY`]);
    return new SecretBox([key]);
  }
  const text = generateKey();
  await writeFile(path, `${text}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(path, 0o600);
  logger.warn({ path }, 'generated the key that encrypts signing secrets: back it up with the data directory, or set HOOKYARD_ENCRYPTION_KEY');
  return new SecretBox([parseKey(text)!]);
}

/**
 * Seals every secret that is in clear or under an older key with the current key, in batches.
 * Idempotent: instances starting together may both re-seal a row; either result opens.
 */
export async function resealSecrets(prisma: PrismaClient, box: SecretBox, logger: Logger): Promise<{ resealed: number; unreadable: number }> {
  let resealed = 0;
  let unreadable = 0;
  const skip: string[] = [];
  for (;;) {
    const rows = await prisma.endpointSecret.findMany({
      where: { NOT: { secret: { startsWith: `enc:v1:${box.primaryKeyId}:` } }, id: { notIn: skip } },
      select: { id: true, endpointId: true, secret: true },
      take: 500,
    });
    if (rows.length === 0) break;
    const updates = [];
    for (const row of rows) {
      try {
        updates.push({ id: row.id, secret: box.seal(box.open(row.secret, row.endpointId), row.endpointId) });
      } catch (err) {
        if (!(err instanceof SecretBoxError)) throw err;
        unreadable++;
        skip.push(row.id);
      }
    }
    if (updates.length > 0) {
      await prisma.$executeRawUnsafe(
        `UPDATE "EndpointSecret" s SET secret = u.secret FROM unnest($1::text[], $2::text[]) AS u(id, secret) WHERE s.id = u.id`,
        updates.map((u) => u.id),
        updates.map((u) => u.secret),
      );
      resealed += updates.length;
    }
  }
  if (resealed > 0) logger.info({ resealed }, 'signing secrets sealed with the current encryption key');
  if (unreadable > 0) {
    logger.error({ unreadable }, 'signing secrets sealed with a key HOOKYARD_ENCRYPTION_KEY does not hold: their deliveries fail until that key is added back');
  }
  return { resealed, unreadable };
}
