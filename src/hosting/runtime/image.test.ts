import { describe, expect, it } from 'vitest';
import { TensorPool, toChw } from './image.js';
import type { DetectorSpec } from './model-spec.js';

const spec: DetectorSpec = {
  inputName: 'images',
  width: 2,
  height: 1,
  scale: 255,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
  boxesName: 'boxes',
  scoresName: 'scores',
  labelsName: 'labels',
  maxDetections: 1,
  classNames: ['bee'],
  scoreThreshold: 0,
};

describe('TensorPool', () => {
  it('hands back a returned tensor of the same length, keeps at most max while idle', () => {
    const pool = new TensorPool(1);
    const a = new Float32Array(6);
    const b = new Float32Array(6);
    pool.give(a);
    pool.give(b);
    expect(pool.take(12)).toBeUndefined();
    expect(pool.take(6)).toBe(a);
    expect(pool.take(6)).toBeUndefined();
  });

  it('a reused tensor gets every value overwritten, the same as a fresh one', () => {
    const hwc = Uint8Array.from([0, 51, 102, 153, 204, 255]);
    const fresh = toChw(hwc, spec);
    const reused = toChw(hwc, spec, new Float32Array(6).fill(NaN));
    expect(Array.from(reused)).toEqual(Array.from(fresh));
    expect(fresh[0]).toBeCloseTo(-1);
    expect(fresh[5]).toBeCloseTo(1);
  });
});
