/**
 * Counts failures (bad passwords, bad signatures) per key within a sliding window and says when a
 * key has had too many. In memory: a restart forgives, which is fine for a limit.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    readonly maxFailures: number,
    readonly windowMs: number,
  ) {}

  /** Seconds until `key` may try again, or undefined when it is not blocked. */
  retryAfterSeconds(key: string, nowMs: number): number | undefined {
    const recent = this.recent(key, nowMs);
    if (recent.length < this.maxFailures) return undefined;
    return Math.max(
      1,
      Math.ceil((recent[recent.length - this.maxFailures]! + this.windowMs - nowMs) / 1000),
    );
  }

  fail(key: string, nowMs: number): void {
    this.failures.set(key, [...this.recent(key, nowMs), nowMs].slice(-this.maxFailures));
    if (this.failures.size >= 10_000) {
      for (const [k, times] of this.failures) {
        if (!times.some((t) => t > nowMs - this.windowMs)) this.failures.delete(k);
      }
    }
  }

  reset(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string, nowMs: number): number[] {
    return (this.failures.get(key) ?? []).filter((t) => t > nowMs - this.windowMs);
  }
}
