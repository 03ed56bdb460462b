import { describe, expect, it } from 'vitest';
import { medianStoppingRule } from '../early-stopping.js';
import { Hyperband, quantile } from './hyperband.js';

describe('Hyperband', () => {
  const hb = new Hyperband({ minResource: 1, maxResource: 27, eta: 3 });

  it('builds the classic brackets for 1..27 epochs with eta 3', () => {
    expect(hb.brackets.map((b) => [b.index, b.startResource, b.rungs, b.trialsPerCycle])).toEqual([
      [3, 1, [1, 3, 9], 27],
      [2, 3, [3, 9], 12],
      [1, 9, [9], 6],
      [0, 27, [], 4],
    ]);
    expect(hb.bracketFor(0)).toBe(3);
    expect(hb.bracketFor(27)).toBe(2);
    expect(hb.bracketFor(49)).toBe(3);
  });

  it('lets a trial continue only when it is in the best third at its rung', () => {
    const others = [0.5, 0.6, 0.7, 0.8, 0.9].map((v) => ({ bracket: 3, losses: [v] }));
    expect(hb.decide({ bracket: 3, losses: [0.4] }, others).action).toBe('continue');
    const stop = hb.decide({ bracket: 3, losses: [0.85] }, others);
    expect(stop).toEqual({ action: 'stop', reason: expect.stringContaining('epoch 1') });
  });

  it('never judges between rungs, in another bracket, or the first trial to reach a rung', () => {
    const others = [{ bracket: 3, losses: [0.1, 0.1] }];
    expect(hb.decide({ bracket: 3, losses: [0.9, 0.9] }, others).action).toBe('continue');
    expect(hb.decide({ bracket: 2, losses: [0.9] }, others).action).toBe('continue');
    expect(hb.decide({ bracket: 3, losses: [0.9] }, []).action).toBe('continue');
  });

  it('computes quantiles like numpy', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([3, 1, 2], 1 / 3)).toBeCloseTo(1.6667, 4);
  });
});

describe('median stopping rule', () => {
  const previous = [
    [1.0, 0.8, 0.6],
    [0.9, 0.7, 0.5],
    [1.2, 1.0, 0.9],
  ];

  it("stops a job worse than the median of the previous jobs' running averages", () => {
    // Running averages at epoch 2: 0.9, 0.8, 1.1 → median 0.9.
    const d = medianStoppingRule([1.0, 0.95], previous);
    expect(d).toMatchObject({ stop: true, median: 0.9, epoch: 2 });
    expect(medianStoppingRule([1.0, 0.85], previous)).toEqual({ stop: false });
  });

  it('waits until enough previous jobs reached the epoch', () => {
    expect(medianStoppingRule([5, 5, 5, 5], previous)).toEqual({ stop: false });
    expect(medianStoppingRule([5], previous.slice(0, 2))).toEqual({ stop: false });
  });
});
