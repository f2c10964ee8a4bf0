// Dashboard sessions: the key is traded for an HttpOnly, SameSite=Strict, expiring cookie that
// GraphQL over HTTP and the WebSocket accept, and that sign-out, expiry and key revocation end.
import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import { graphqlClient } from '../../src/client/graphql.js';
import type { ListEndpointsQuery } from '../../src/generated/gql/graphql.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEndpoint, ListEndpoints } from '../helpers/operations.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { collect, wsClient } from '../helpers/ws.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.stop());

const signIn = (key: unknown, headers: Record<string, string> = {}) =>
  fetch(`${t.url}/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ key }) });
const cookieOf = (res: Response) => res.headers.get('set-cookie')!.split(';')[0]!;
const withCookie = (cookie: string) => graphqlClient({ url: t.graphqlUrl, headers: { cookie } }).execute(ListEndpoints, {});

describe('dashboard sessions', () => {
  it('sets an HttpOnly, SameSite=Strict, 12 h cookie for a good key only, and stores only its hash', async () => {
    const wrong = await signIn('hy_wrong_key_wrong_key_wrong_key');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.json()).toEqual({ error: { code: 'UNAUTHENTICATED', message: 'that API key was not accepted' } });
    expect((await signIn(42)).status).toBe(400);
    const form = await fetch(`${t.url}/session`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `key=${t.key}` });
    expect(form.status).toBe(415);
    expect(form.headers.get('set-cookie')).toBeNull();

    const res = await signIn(t.key);
    expect(res.status).toBe(204);
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^hookyard_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    const token = cookieOf(res).split('=')[1]!;
    const row = await t.prisma.dashboardSession.findUniqueOrThrow({ where: { id: createHash('sha256').update(token).digest('hex') } });
    expect(Math.abs(row.expiresAt.getTime() - Date.now() - 12 * 3600_000)).toBeLessThan(60_000);
    expect(await t.prisma.dashboardSession.count({ where: { id: token } })).toBe(0);
    // Behind an https proxy the cookie is Secure.
    expect((await signIn(t.key, { 'x-forwarded-proto': 'https' })).headers.get('set-cookie')).toMatch(/; Secure$/);
  });

  it('authenticates GraphQL over HTTP and the WebSocket with the cookie, scoped to its tenant', async () => {
    const cookie = cookieOf(await signIn(t.key));
    const mine = (await t.ok(CreateEndpoint, { input: { url: 'https://mine.example.com/in' } })).createEndpoint.endpoint.id;
    await t.ok(CreateEndpoint, { input: { url: 'https://theirs.example.com/in' } }, t.otherKey);
    const res = (await withCookie(cookie)) as { data: ListEndpointsQuery };
    expect(res.data.endpoints.edges.map((e) => e.node.id)).toContain(mine);
    expect(res.data.endpoints.edges).toHaveLength((await t.prisma.endpoint.count({ where: { tenant: { name: 'default' }, deletedAt: null } })));

    const host = new URL(t.url).host;
    const socket = (origin: string) =>
      class extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols, { headers: { cookie, origin } });
        }
      };
    const client = wsClient(t.wsUrl, null, { webSocketImpl: socket(`http://${host}`) });
    const sub = collect<{ deliveryStatusChanged: { endpointId: string } }>(client, 'subscription { deliveryStatusChanged { endpointId status } }');
    await new Promise<void>((resolve) => client.on('connected', () => resolve()));
    const sent = await t.gql('mutation { testFireEndpoint(id: "' + mine + '", eventType: "ping.test") { id } }');
    expect(sent.errors).toBeUndefined();
    await sub.until((items) => items.some((i) => i.deliveryStatusChanged.endpointId === mine));
    await client.dispose();

    // A page of another site cannot open a socket on the cookie.
    const foreign = wsClient(t.wsUrl, null, { webSocketImpl: socket('https://evil.example') });
    const closed = await new Promise<number>((resolve) => {
      foreign.on('closed', (e) => resolve((e as { code: number }).code));
      foreign.subscribe({ query: 'subscription { deliveryStatusChanged { status } }' }, { next() {}, error() {}, complete() {} });
    });
    expect(closed).toBe(4403);
    await foreign.dispose();
  });

  it('stops accepting the cookie after sign-out, after expiry, and once its key is revoked', async () => {
    const out = cookieOf(await signIn(t.key));
    const del = await fetch(`${t.url}/session`, { method: 'DELETE', headers: { cookie: out } });
    expect(del.status).toBe(204);
    expect(del.headers.get('set-cookie')).toMatch(/^hookyard_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/);
    expect((await withCookie(out)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await fetch(`${t.url}/session`, { headers: { cookie: out } })).status).toBe(401);

    const expiring = cookieOf(await signIn(t.key));
    expect((await fetch(`${t.url}/session`, { headers: { cookie: expiring } })).status).toBe(200);
    await t.prisma.dashboardSession.updateMany({ data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await withCookie(expiring)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const revoked = cookieOf(await signIn(t.otherKey));
    expect((await withCookie(revoked)).data).toBeTruthy();
    await t.prisma.apiKey.updateMany({ where: { tenant: { name: 'intruder' } }, data: { revokedAt: new Date() } });
    expect((await withCookie(revoked)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
