// The split-and-isolate write, with a fake statement that refuses batches holding a bad item.
import { describe, expect, it } from 'vitest';
import { writeIsolating } from '../../src/dispatcher/isolate.js';
import { isStatementError } from '../../src/dispatcher/store.js';

class StatementError extends Error {}

function harness(bad: Set<number>, opts: { outageAfter?: number } = {}) {
  const written: number[] = [];
  const unwritable: number[] = [];
  const calls: number[][] = [];
  return {
    written,
    unwritable,
    calls,
    w: {
      async write(items: number[]) {
        calls.push(items);
        if (opts.outageAfter !== undefined && calls.length > opts.outageAfter) throw new Error('connect ECONNREFUSED');
        if (items.some((i) => bad.has(i))) throw new StatementError('22021');
        written.push(...items);
      },
      isStatementError: (err: unknown) => err instanceof StatementError,
      async unwritable(item: number) {
        unwritable.push(item);
      },
    },
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('writeIsolating', () => {
  it('writes a clean batch in one statement', async () => {
    const h = harness(new Set());
    await writeIsolating(range(500), h.w);
    expect(h.calls).toHaveLength(1);
    expect(h.written).toEqual(range(500));
  });

  it('finds one bad item among 500 with a logarithmic number of statements and writes all the others', async () => {
    const h = harness(new Set([317]));
    await writeIsolating(range(500), h.w);
    expect(h.unwritable).toEqual([317]);
    expect(h.written.sort((a, b) => a - b)).toEqual(range(500).filter((i) => i !== 317));
    expect(h.calls.length).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(500)));
  });

  it('isolates several bad items, each on its own', async () => {
    const h = harness(new Set([0, 7, 8, 499]));
    await writeIsolating(range(500), h.w);
    expect(h.unwritable.sort((a, b) => a - b)).toEqual([0, 7, 8, 499]);
    expect(h.written).toHaveLength(496);
  });

  it('throws a connection error as it is, without calling anything unwritable', async () => {
    const h = harness(new Set([3]), { outageAfter: 2 });
    await expect(writeIsolating(range(10), h.w)).rejects.toThrow('ECONNREFUSED');
    expect(h.unwritable).toEqual([]);
  });
});

describe('isStatementError', () => {
  const prismaError = (cause: Record<string, unknown>) => Object.assign(new Error('Raw query failed'), { code: 'P2010', meta: { driverAdapterError: { name: 'DriverAdapterError', cause } } });

  it('is true for data errors PostgreSQL reports for the statement', () => {
    for (const code of ['22021', '22P05', '23505', '54000']) expect(isStatementError(prismaError({ kind: 'postgres', originalCode: code, code }))).toBe(true);
  });

  it('is false for outages, lost connections and transient conflicts', () => {
    for (const code of ['08006', '57P01', '57P03', '53300', '40001', '40P01']) expect(isStatementError(prismaError({ kind: 'postgres', originalCode: code, code }))).toBe(false);
    expect(isStatementError(prismaError({ kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 1 }))).toBe(false);
    expect(isStatementError(Object.assign(new Error('Connection terminated unexpectedly'), {}))).toBe(false);
    for (const code of ['ECONNREFUSED', 'EPIPE', 'P1001']) expect(isStatementError(Object.assign(new Error(code), { code }))).toBe(false);
    expect(isStatementError(Object.assign(new Error('straight from pg'), { code: '22021' }))).toBe(true);
  });
});
