import { describe, expect, it } from 'vitest';
import { IsolatedMetricExtractor } from './metric-worker.js';
import type { MetricPoint } from './metrics.js';

describe('metric regexes off the main thread', () => {
  it('matches lines in order in a worker', async () => {
    const got: MetricPoint[] = [];
    const x = new IsolatedMetricExtractor(
      [{ name: 'loss', regex: 'loss=(\\S+)' }],
      (p) => got.push(...p),
      () => {},
    );
    for (let i = 0; i < 50; i++) x.push(`epoch ${i} loss=${i / 10}`, i);
    await x.drain();
    x.close();
    expect(got.map((p) => p.value)).toEqual(Array.from({ length: 50 }, (_, i) => i / 10));
  });

  it('drops a catastrophic regex, says which, and keeps the others working — the event loop never stalls', async () => {
    const got: MetricPoint[] = [];
    const dropped: string[] = [];
    const x = new IsolatedMetricExtractor(
      [
        { name: 'evil', regex: '^(a+)+$' },
        { name: 'loss', regex: 'loss=(\\S+)' },
      ],
      (p) => got.push(...p),
      (name, reason) => dropped.push(`${name}: ${reason}`),
      200,
    );
    x.push(`${'a'.repeat(40)}! loss=1`, 1);
    x.push('loss=2', 2);
    // The main thread keeps running while the worker is stuck: a timer fires.
    const ticked = await new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 10));
    await x.drain();
    x.close();
    expect(ticked).toBe(true);
    expect(dropped).toEqual(['evil: its regex ran longer than 200 ms on one log line']);
    expect(got).toEqual([{ metricName: 'loss', value: 2, timestampMs: 2 }]);
  });
});
