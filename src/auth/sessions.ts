// Dashboard sessions: sign-in trades an API key for a random token kept in an HttpOnly cookie, so
// no script on the page ever holds the key. Rows live in the database (any instance can serve a
// signed-in browser) and only the token's sha256 is stored.
import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../db/client.js';
import type { Auth } from '../graphql/context.js';

export const SESSION_COOKIE = 'hookyard_session';
/** A working day: an operator signs in again the next morning. */
export const SESSION_TTL_MS = 12 * 3600_000;

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** Starts a session for an authenticated key; returns the cookie's token (never stored). */
export async function createSession(db: PrismaClient, auth: Auth, now = new Date()): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
  // Expired rows are swept here, on the rare sign-in, rather than by a timer of their own.
  await db.dashboardSession.deleteMany({ where: { expiresAt: { lt: now } } });
  await db.dashboardSession.create({ data: { id: hashToken(token), tenantId: auth.tenantId, apiKeyId: auth.apiKeyId, expiresAt } });
  return { token, expiresAt };
}

export async function revokeSession(db: PrismaClient, token: string): Promise<void> {
  await db.dashboardSession.deleteMany({ where: { id: hashToken(token) } });
}

/** The session token in a Cookie header, if any. */
export function sessionToken(cookieHeader: string | null | undefined): string | null {
  if (!cookieHeader) return null;
  for (const part of cookieHeader.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === SESSION_COOKIE) {
      const value = part.slice(at + 1).trim();
      return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : null;
    }
  }
  return null;
}

/** The tenant of a live session: unexpired, and its API key not revoked since sign-in. */
export async function authenticateSession(db: PrismaClient, cookieHeader: string | null | undefined): Promise<Auth | null> {
  const token = sessionToken(cookieHeader);
  if (!token) return null;
  // One statement: the session and its key's revocation are read together on every request.
  const rows = await db.$queryRawUnsafe<Auth[]>(
    `SELECT s."tenantId", s."apiKeyId"
       FROM "DashboardSession" s JOIN "ApiKey" k ON k.id = s."apiKeyId" AND k."revokedAt" IS NULL
      WHERE s.id = $1 AND s."expiresAt" > now()`,
    hashToken(token),
  );
  return rows[0] ?? null;
}
