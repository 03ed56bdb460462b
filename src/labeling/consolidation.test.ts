import { describe, expect, it } from 'vitest';
import { seededRandom } from '../shared/random.js';
import {
  consolidateBoxes,
  consolidateBoxJob,
  consolidateLabel,
  consolidateLabels,
  iou,
} from './consolidation.js';
import type { Box } from './model.js';

/** Mean IoU of a prediction to the truth: greedy one-to-one matching; misses and extras count 0. */
function meanIou(truth: readonly Box[], pred: readonly Box[]): number {
  const used = new Set<number>();
  let sum = 0;
  for (const t of truth) {
    let best = -1;
    let bestIou = 0;
    pred.forEach((p, i) => {
      const v = iou(t, p);
      if (!used.has(i) && v > bestIou) {
        bestIou = v;
        best = i;
      }
    });
    if (best >= 0) used.add(best);
    sum += bestIou;
  }
  const n = truth.length + (pred.length - used.size);
  return n === 0 ? 1 : sum / n;
}

describe('box consolidation', () => {
  it('averages matching boxes and keeps one worker alone at confidence 0', () => {
    expect(
      consolidateBoxes([
        { workerId: 'a', boxes: [{ label: 'bee', left: 1, top: 2, width: 3, height: 4 }] },
      ]),
    ).toEqual([{ label: 'bee', left: 1, top: 2, width: 3, height: 4, confidence: 0, support: 1 }]);
    const r = consolidateBoxes([
      { workerId: 'a', boxes: [{ label: 'bee', left: 10, top: 10, width: 20, height: 20 }] },
      { workerId: 'b', boxes: [{ label: 'bee', left: 12, top: 10, width: 20, height: 20 }] },
      {
        workerId: 'c',
        boxes: [
          { label: 'bee', left: 11, top: 10, width: 20, height: 20 },
          { label: 'bee', left: 80, top: 80, width: 5, height: 5 },
        ],
      },
    ]);
    expect(r).toHaveLength(1); // the box only c drew is a minority: dropped
    expect(r[0]!.left).toBeCloseTo(11, 5);
    expect(r[0]!.confidence).toBeGreaterThan(0.9);
  });

  it('never merges two boxes of the same worker, and votes on the label', () => {
    const r = consolidateBoxes([
      {
        workerId: 'a',
        boxes: [
          { label: 'bee', left: 0, top: 0, width: 10, height: 10 },
          { label: 'bee', left: 1, top: 0, width: 10, height: 10 },
        ],
      },
      { workerId: 'b', boxes: [{ label: 'wasp', left: 0, top: 0, width: 10, height: 10 }] },
      { workerId: 'c', boxes: [{ label: 'bee', left: 0, top: 1, width: 10, height: 10 }] },
    ]);
    expect(r.map((b) => b.label)).toEqual(['bee']);
    expect(r[0]!.support).toBe(3);
  });

  it('is at least as close to the truth as the median single worker, with simulated noisy workers', () => {
    const rnd = seededRandom(42);
    const gauss = () =>
      Math.sqrt(-2 * Math.log(1 - rnd.next())) * Math.cos(2 * Math.PI * rnd.next());
    // Five workers: jitter of 4–20 % of the box size, 5–25 % missed boxes, some false boxes.
    const workers = [0.04, 0.08, 0.12, 0.16, 0.2].map((noise, i) => ({
      id: `w${i}`,
      noise,
      miss: 0.05 + i * 0.05,
      extra: 0.05 * i,
    }));
    const objects: { truth: Box[]; answers: { workerId: string; boxes: Box[] }[] }[] = [];
    for (let o = 0; o < 300; o++) {
      const truth: Box[] = [];
      const n = 1 + Math.floor(rnd.next() * 5);
      for (let k = 0; k < n; k++) {
        const w = 30 + rnd.next() * 120;
        const h = 30 + rnd.next() * 120;
        truth.push({
          label: 'bee',
          left: rnd.next() * 800,
          top: rnd.next() * 600,
          width: w,
          height: h,
        });
      }
      const answers = workers.slice(0, 3 + (o % 3)).map((w) => {
        const boxes: Box[] = [];
        for (const t of truth) {
          if (rnd.next() < w.miss) continue;
          const j = () => gauss() * w.noise;
          const x1 = t.left + j() * t.width;
          const y1 = t.top + j() * t.height;
          const x2 = t.left + t.width + j() * t.width;
          const y2 = t.top + t.height + j() * t.height;
          boxes.push({
            label: 'bee',
            left: Math.min(x1, x2),
            top: Math.min(y1, y2),
            width: Math.abs(x2 - x1),
            height: Math.abs(y2 - y1),
          });
        }
        if (rnd.next() < w.extra)
          boxes.push({
            label: 'bee',
            left: rnd.next() * 800,
            top: rnd.next() * 600,
            width: 40,
            height: 40,
          });
        return { workerId: w.id, boxes };
      });
      objects.push({ truth, answers });
    }
    const consolidated = consolidateBoxJob(objects.map((o) => o.answers));
    const ours =
      objects.reduce((s, o, i) => s + meanIou(o.truth, consolidated[i]!), 0) / objects.length;
    const perWorker = workers.map((w) => {
      const mine = objects.filter((o) => o.answers.some((a) => a.workerId === w.id));
      return (
        mine.reduce(
          (s, o) => s + meanIou(o.truth, o.answers.find((a) => a.workerId === w.id)!.boxes),
          0,
        ) / mine.length
      );
    });
    const median = [...perWorker].sort((a, b) => a - b)[2]!;
    expect(ours).toBeGreaterThanOrEqual(median);
    expect(ours).toBeGreaterThan(0.7);
  });
});

describe('label consolidation', () => {
  it('takes the majority label with its share as confidence', () => {
    expect(
      consolidateLabel([
        { workerId: 'a', label: 'bee' },
        { workerId: 'b', label: 'bee' },
        { workerId: 'c', label: 'wasp' },
      ]),
    ).toEqual({ label: 'bee', confidence: 0.67 });
    expect(consolidateLabel([{ workerId: 'a', label: 'bee' }])).toEqual({
      label: 'bee',
      confidence: 0,
    });
  });
  it('keeps multi-labels that at least half the workers chose', () => {
    expect(
      consolidateLabels([
        { workerId: 'a', labels: ['bee', 'flower'] },
        { workerId: 'b', labels: ['bee'] },
        { workerId: 'c', labels: ['bee', 'sky'] },
      ]),
    ).toEqual([{ label: 'bee', confidence: 1 }]);
  });
});
