import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../shared/random.js';
import {
  BOX_TARGET_IOU,
  chooseThreshold,
  detectionQuality,
  imageConfidence,
  splitByThreshold,
} from './threshold.js';

const box = (left: number, top: number, w = 10, h = 10, label = 'bee') => ({
  left,
  top,
  width: w,
  height: h,
  label,
});

describe('detectionQuality', () => {
  it('is 1 for identical boxes and for two empty labels', () => {
    expect(detectionQuality([box(0, 0)], [box(0, 0)])).toBe(1);
    expect(detectionQuality([], [])).toBe(1);
  });
  it('counts a missed or an extra box as 0 and ignores other labels', () => {
    expect(detectionQuality([box(0, 0)], [box(0, 0), box(50, 50)])).toBe(0.5);
    expect(detectionQuality([box(0, 0), box(50, 50)], [box(0, 0)])).toBe(0.5);
    expect(detectionQuality([box(0, 0, 10, 10, 'wasp')], [box(0, 0)])).toBe(0);
  });
  it('matches each box once, best pairs first', () => {
    // Shifted by 5 px of 10: IoU = 50 / 150.
    expect(detectionQuality([box(0, 0), box(5, 0)], [box(0, 0), box(5, 0)])).toBe(1);
    expect(detectionQuality([box(5, 0)], [box(0, 0)])).toBeCloseTo(1 / 3, 10);
  });
});

describe('imageConfidence', () => {
  it('is the weakest kept box, or 1 − the best dropped score when none is kept', () => {
    const b = (score: number) => ({ ...box(0, 0), score });
    expect(imageConfidence([b(0.9), b(0.7), b(0.2)], 0.5)).toBe(0.7);
    expect(imageConfidence([b(0.3)], 0.5)).toBeCloseTo(0.7, 10);
    expect(imageConfidence([], 0.5)).toBe(1);
  });
});

describe('chooseThreshold', () => {
  it('picks the lowest confidence whose mean quality above it reaches the target', () => {
    const scores = [
      { confidence: 0.95, quality: 0.9 },
      { confidence: 0.9, quality: 0.8 },
      { confidence: 0.8, quality: 0.7 },
      { confidence: 0.6, quality: 0.1 }, // mean of 4 = 0.625 ≥ 0.6
      { confidence: 0.4, quality: 0.0 }, // mean of 5 = 0.5 < 0.6
    ];
    const choice = chooseThreshold(scores, BOX_TARGET_IOU, 2);
    expect(choice?.threshold).toBe(0.6);
    expect(choice?.support).toBe(4);
    expect(choice?.estimatedQuality).toBeCloseTo(0.625, 10);
  });
  it('needs minSupport validation objects and keeps ties together', () => {
    const scores = [
      { confidence: 0.9, quality: 1 },
      { confidence: 0.5, quality: 0.6 },
      { confidence: 0.5, quality: 0 },
    ];
    expect(chooseThreshold(scores, 0.6, 2)).toBeUndefined();
    expect(chooseThreshold(scores, 0.6, 1)?.threshold).toBe(0.9);
    expect(chooseThreshold([], 0.6)).toBeUndefined();
  });
  it('with a margin, needs the estimate to clear the target by that many standard errors', () => {
    // 3 right, 2 wrong: mean 0.6 passes alone, not with one standard error (0.6 − 0.245).
    const lucky = [1, 1, 1, 0, 0].map((quality, i) => ({ confidence: 0.9 - i * 0.01, quality }));
    expect(chooseThreshold(lucky, 0.6, 5)?.support).toBe(5);
    expect(chooseThreshold(lucky, 0.6, 5, 1)).toBeUndefined();
    const steady = Array.from({ length: 8 }, (_, i) => ({
      confidence: 0.9 - i * 0.01,
      quality: 0.8,
    }));
    expect(chooseThreshold(steady, 0.6, 5, 1)?.support).toBe(8);
  });
  it('keeps the realised quality of machine labels near the target on calibrated scores', () => {
    // A calibrated model: quality ≈ confidence + noise. Validation and pool from one distribution.
    const rnd = seededRandom(7);
    const draw = () =>
      Array.from({ length: 400 }, () => {
        const confidence = rnd.next();
        return {
          confidence,
          quality: Math.min(1, Math.max(0, confidence + (rnd.next() - 0.5) * 0.3)),
        };
      });
    const choice = chooseThreshold(draw(), BOX_TARGET_IOU)!;
    const pool = draw();
    const { machine, toHumans } = splitByThreshold(pool, choice.threshold);
    const realised = machine.reduce((s, m) => s + m.quality, 0) / machine.length;
    expect(realised).toBeGreaterThan(BOX_TARGET_IOU - 0.05);
    expect(machine.length).toBeGreaterThan(pool.length * 0.4);
    expect(toHumans[0]!.confidence).toBeLessThanOrEqual(toHumans.at(-1)!.confidence);
    expect(machine.length + toHumans.length).toBe(pool.length);
  });
});
