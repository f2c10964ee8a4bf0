// One bad row must not keep a batch of unrelated outcomes from being written. When the database
// refuses a batched statement for its data, the batch is split in halves down to single items, so
// the good ones are written and the bad one is found with about 2·log2(n) extra statements.

export interface IsolatingWrite<T> {
  /** Writes these items in one statement. */
  write(items: T[]): Promise<void>;
  /** The error is about the statement's data (retrying it as it is cannot succeed). */
  isStatementError(err: unknown): boolean;
  /** Called for an item the database refuses on its own; should write what it can instead. */
  unwritable(item: T, err: unknown): Promise<void>;
}

/**
 * Writes `items`, isolating those the database refuses. Any other error (the connection, an
 * outage) is thrown as it is, with the parts before it already written: the caller retries the
 * rest later, with backoff.
 */
export async function writeIsolating<T>(items: T[], w: IsolatingWrite<T>): Promise<void> {
  if (items.length === 0) return;
  try {
    await w.write(items);
  } catch (err) {
    if (!w.isStatementError(err)) throw err;
    if (items.length === 1) return w.unwritable(items[0]!, err);
    const mid = Math.ceil(items.length / 2);
    await writeIsolating(items.slice(0, mid), w);
    await writeIsolating(items.slice(mid), w);
  }
}
