import { describe, expect, it } from 'vitest';
import { bestF1Threshold } from './calibrate.js';

/** A detection at a labelled box (pixels on a 100×100 image), normalised as the endpoint answers. */
const det = (score: number, left: number, top: number, size = 20, classId = 0) => ({
  classId,
  score,
  xmin: left / 100,
  ymin: top / 100,
  xmax: (left + size) / 100,
  ymax: (top + size) / 100,
});
const box = (left: number, top: number, size = 20, classId = 0) => ({
  classId,
  left,
  top,
  width: size,
  height: size,
});

describe('best-F1 score threshold on labelled images', () => {
  it('cuts below the true detections and above the false ones', () => {
    const c = bestF1Threshold([
      // Two bees found at 0.4 and 0.3, a flower at 0.2, a duplicate of the first bee at 0.35.
      {
        width: 100,
        height: 100,
        truth: [box(10, 10), box(60, 60)],
        detections: [det(0.4, 10, 10), det(0.35, 11, 11), det(0.3, 60, 60), det(0.2, 30, 70)],
      },
      // A bee found at 0.6; an empty picture with a false 0.1.
      { width: 100, height: 100, truth: [box(40, 40)], detections: [det(0.6, 41, 41)] },
      { width: 100, height: 100, truth: [], detections: [det(0.1, 5, 5)] },
    ]);
    // Sorted: 0.6 TP, 0.4 TP, 0.35 FP (duplicate), 0.3 TP, 0.2 FP, 0.1 FP. Best F1 at 0.3: P 3/4, R 3/3.
    expect(c).toEqual({ threshold: 0.3, f1: (2 * 0.75 * 1) / 1.75, precision: 0.75, recall: 1 });
  });

  it('needs IoU ≥ 0.5 and the same class, and treats equal scores together', () => {
    const c = bestF1Threshold([
      {
        width: 100,
        height: 100,
        truth: [box(0, 0), box(50, 50, 20, 1)],
        detections: [det(0.9, 12, 12), det(0.5, 50, 50, 20, 0), det(0.5, 50, 50, 20, 1)],
      },
    ]);
    // 0.9 overlaps the bee by IoU 64/736 < 0.5: false. At 0.5 one of two is right.
    expect(c).toMatchObject({ threshold: 0.5, precision: 1 / 3, recall: 0.5 });
  });

  it('has nothing to say without labels or detections', () => {
    expect(bestF1Threshold([])).toBeUndefined();
    expect(
      bestF1Threshold([{ width: 10, height: 10, truth: [], detections: [det(0.5, 1, 1)] }]),
    ).toBeUndefined();
    expect(
      bestF1Threshold([{ width: 10, height: 10, truth: [box(1, 1)], detections: [] }]),
    ).toBeUndefined();
  });
});
