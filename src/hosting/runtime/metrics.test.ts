import { describe, expect, it } from 'vitest';
import { RECENT_SAMPLES, RECENT_WINDOW_MS, ServingMetrics } from './metrics.js';

describe('serving metrics: recent latency per variant', () => {
  it('gives percentiles of the recent invocations, the last invocation, and forgets old samples', async () => {
    let now = Date.parse('2026-11-25T12:00:00Z');
    const m = new ServingMetrics(() => now);
    // 100 answers of 1..100 ms (model time is half of each).
    for (let i = 1; i <= 100; i++) {
      m.invocations.inc({ endpoint: 'ep', variant: 'A', instance: 'A-1' });
      m.recordAnswered('ep', 'A', i * 1000, i * 500);
    }
    m.errors5xx.inc({ endpoint: 'ep', variant: 'B', instance: 'none' });
    m.recordFailed('ep', 'B');
    const s = await m.summary('ep', ['A', 'B', 'C']);
    expect(s.A!.invocations).toBe(100);
    expect(s.A!.latency).toEqual({
      samples: 100,
      windowSeconds: RECENT_WINDOW_MS / 1000,
      p50Ms: 50,
      p90Ms: 90,
      p99Ms: 99,
      meanMs: 50.5,
      modelP50Ms: 25,
    });
    expect(s.A!.lastInvocationTime).toBe('2026-11-25T12:00:00.000Z');
    // A failure is activity, not a latency sample.
    expect(s.B).toMatchObject({
      invocations: 0,
      errors5xx: 1,
      lastInvocationTime: '2026-11-25T12:00:00.000Z',
    });
    expect(s.B!.latency).toBeUndefined();
    // A variant that never served is listed with zeros.
    expect(s.C).toEqual({ invocations: 0, errors4xx: 0, errors5xx: 0, instances: {} });

    // Out of the window: no latency, but the last invocation is still known.
    now += RECENT_WINDOW_MS + 1;
    const later = await m.summary('ep');
    expect(later.A!.latency).toBeUndefined();
    expect(later.A!.lastInvocationTime).toBe('2026-11-25T12:00:00.000Z');

    await m.forget('ep');
    expect(await m.summary('ep')).toEqual({});
  });

  it('keeps only the newest samples once the ring is full', async () => {
    const m = new ServingMetrics(() => 0);
    for (let i = 0; i < RECENT_SAMPLES; i++) m.recordAnswered('ep', 'A', 1000_000, 0); // 1 s each
    for (let i = 0; i < RECENT_SAMPLES; i++) m.recordAnswered('ep', 'A', 2000, 0); // then 2 ms each
    const s = await m.summary('ep', ['A']);
    expect(s.A!.latency).toMatchObject({ samples: RECENT_SAMPLES, p50Ms: 2, p99Ms: 2 });
  });
});
