import { describe, expect, it } from 'vitest';
import { isId, kindOfId, newId } from '../../src/ids.js';

describe('ids', () => {
  it('are prefixed and well formed', () => {
    const id = newId('delivery');
    expect(id).toMatch(/^dlv_[0-9a-z]{26}$/);
    expect(isId('delivery', id)).toBe(true);
    expect(isId('event', id)).toBe(false);
    expect(kindOfId(id)).toBe('delivery');
    expect(kindOfId('dlv_short')).toBeUndefined();
    expect(kindOfId("evt_'; drop table")).toBeUndefined();
  });

  it('sort in creation order, even within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => newId('event'));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('sort by time across milliseconds', async () => {
    const a = newId('event');
    await new Promise((r) => setTimeout(r, 3));
    const b = newId('event');
    expect(a < b).toBe(true);
  });
});
