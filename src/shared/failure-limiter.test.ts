import { describe, expect, it } from 'vitest';
import { FailureLimiter } from './failure-limiter.js';

describe('FailureLimiter', () => {
  it('blocks a key after max failures within the window, per key, and forgives after it', () => {
    const l = new FailureLimiter(3, 60_000);
    for (let i = 0; i < 3; i++) {
      expect(l.retryAfterSeconds('a', 1000 + i)).toBeUndefined();
      l.fail('a', 1000 + i);
    }
    expect(l.retryAfterSeconds('a', 2000)).toBe(59);
    expect(l.retryAfterSeconds('b', 2000)).toBeUndefined();
    expect(l.retryAfterSeconds('a', 61_001)).toBeUndefined();
    l.fail('b', 0);
    l.reset('b');
    expect(l.retryAfterSeconds('b', 1)).toBeUndefined();
  });
});
