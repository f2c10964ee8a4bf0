// Per-endpoint token buckets (rateLimitPerSecond), one set per instance. A burst of up to one
// second's worth is allowed; then sends wait for tokens.

interface Bucket {
  rate: number;
  tokens: number;
  updatedAt: number;
}

export class EndpointRateLimits {
  private readonly buckets = new Map<string, Bucket>();

  private bucket(endpointId: string, rate: number): Bucket {
    let b = this.buckets.get(endpointId);
    const now = performance.now();
    if (!b || b.rate !== rate) {
      b = { rate, tokens: rate, updatedAt: now };
      this.buckets.set(endpointId, b);
    }
    b.tokens = Math.min(b.rate, b.tokens + ((now - b.updatedAt) / 1000) * b.rate);
    b.updatedAt = now;
    return b;
  }

  /** Whole tokens available now, or undefined when the endpoint has no limit known here. */
  available(endpointId: string): number | undefined {
    const b = this.buckets.get(endpointId);
    return b ? Math.floor(this.bucket(endpointId, b.rate).tokens) : undefined;
  }

  /**
   * Milliseconds until the endpoint has a quarter of its rate in whole tokens (at least one): when
   * a claim held back for want of tokens is worth making again. 0 without a limit known here.
   */
  msUntilRefill(endpointId: string): number {
    const known = this.buckets.get(endpointId);
    if (!known) return 0;
    const b = this.bucket(endpointId, known.rate);
    const want = Math.max(1, Math.floor(b.rate / 4));
    return b.tokens >= want ? 0 : Math.ceil(((want - b.tokens) / b.rate) * 1000);
  }

  /** Endpoints with a rate limit known here. */
  limitedEndpoints(): Iterable<string> {
    return this.buckets.keys();
  }

  /** Waits until a send to the endpoint is allowed, then takes the token. */
  async take(endpointId: string, rate: number | null, signal?: AbortSignal): Promise<void> {
    if (!rate) {
      this.buckets.delete(endpointId);
      return;
    }
    for (;;) {
      const b = this.bucket(endpointId, rate);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return;
      }
      if (signal?.aborted) throw new Error('aborted');
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - b.tokens) / b.rate) * 1000)));
    }
  }
}
