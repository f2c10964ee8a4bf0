// A maintenance pass repeated on a timer: one at a time (the next is scheduled when the last ends,
// so a slow pass never overlaps the next), a failure logged and tried again at the next interval,
// and stop() awaiting the pass in progress. Shared by the retention job and the retirement sweep.
import type { Logger } from '../logger.js';

export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly o: { intervalMs: number; logger: Logger; what: string; pass: () => Promise<unknown> },
  ) {}

  /** Long passes check this between batches, so stop() does not wait for a whole backlog. */
  get stopping(): boolean {
    return this.stopped;
  }

  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.o
        .pass()
        .then(() => undefined)
        .catch((err: unknown) => this.o.logger.warn({ err }, `${this.o.what} failed; trying again at the next interval`))
        .finally(() => this.schedule());
    }, this.o.intervalMs);
    this.timer.unref();
  }
}
