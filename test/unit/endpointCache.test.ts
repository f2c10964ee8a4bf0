import { createPubSub } from 'graphql-yoga';
import { describe, expect, it, vi } from 'vitest';
import { EndpointCache } from '../../src/domain/endpointCache.js';
import type { Topics } from '../../src/pubsub.js';

describe('EndpointCache', () => {
  it('reads a tenant once, and again after a change on another instance (through the pub/sub)', async () => {
    // One pub/sub shared by two caches stands for Redis between two instances.
    const pubsub = createPubSub<Topics>();
    let clock = 0;
    const here = new EndpointCache(pubsub, 5_000, () => clock);
    const there = new EndpointCache(pubsub, 5_000, () => clock);
    const stop = [here.watch(), there.watch()];
    let endpoints: { id: string; eventTypes: string[] }[] = [{ id: 'ep_1', eventTypes: [] }];
    const load = vi.fn(async () => endpoints);

    expect(await here.get('ten_a', load)).toEqual([{ id: 'ep_1', eventTypes: [] }]);
    expect(await here.get('ten_a', load)).toHaveLength(1);
    expect(load).toHaveBeenCalledTimes(1);

    endpoints = [...endpoints, { id: 'ep_2', eventTypes: ['x.*'] }];
    there.changed('ten_a');
    await vi.waitFor(async () => expect(await here.get('ten_a', load)).toHaveLength(2), { timeout: 5_000 });
    expect(clock).toBe(0); // evicted by the message, not by the TTL
    stop.forEach((s) => s());
  });

  it('does not keep a read that raced with a change, and reads again after the TTL', async () => {
    const pubsub = createPubSub<Topics>();
    let clock = 0;
    const cache = new EndpointCache(pubsub, 5_000, () => clock);
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const stale = cache.get('ten_a', async () => {
      await slow;
      return [];
    });
    cache.changed('ten_a');
    release();
    await stale;
    const load = vi.fn(async () => [{ id: 'ep_1', eventTypes: [] }]);
    expect(await cache.get('ten_a', load)).toHaveLength(1);
    clock = 4_999;
    await cache.get('ten_a', load);
    expect(load).toHaveBeenCalledTimes(1);
    clock = 5_000;
    await cache.get('ten_a', load);
    expect(load).toHaveBeenCalledTimes(2);
  });
});
