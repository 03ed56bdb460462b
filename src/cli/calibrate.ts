import { iou } from '../labeling/index.js';
import type { Detection } from './draw.js';

/** A detection matches a labelled box at IoU ≥ 0.5 (VOC, and the trainer's validation mAP). */
const MATCH_IOU = 0.5;

/** One validation image: its labelled boxes and what the endpoint detected, both in pixels. */
export interface CalibrationImage {
  readonly truth: readonly {
    classId: number;
    left: number;
    top: number;
    width: number;
    height: number;
  }[];
  readonly detections: readonly Detection[];
  readonly width: number;
  readonly height: number;
}

export interface Calibration {
  /** Keep detections with score ≥ this. */
  readonly threshold: number;
  readonly f1: number;
  readonly precision: number;
  readonly recall: number;
}

/**
 * The score threshold with the best F1 on labelled images (IoU ≥ 0.5, same class), VOC-style:
 * per image, detections in descending score take the best unmatched labelled box; a detection that
 * finds none is a false positive. Sweeping the threshold down the sorted scores gives precision and
 * recall at every cut; the chosen threshold is the score of the last detection kept. `undefined`
 * when there is nothing labelled or nothing detected.
 */
export function bestF1Threshold(images: readonly CalibrationImage[]): Calibration | undefined {
  const scored: { score: number; tp: boolean }[] = [];
  let positives = 0;
  for (const img of images) {
    positives += img.truth.length;
    const used = new Set<number>();
    const dets = [...img.detections].sort((a, b) => b.score - a.score);
    for (const d of dets) {
      const box = {
        label: '',
        left: d.xmin * img.width,
        top: d.ymin * img.height,
        width: (d.xmax - d.xmin) * img.width,
        height: (d.ymax - d.ymin) * img.height,
      };
      let best = -1;
      let bestIou = MATCH_IOU;
      img.truth.forEach((t, i) => {
        if (used.has(i) || t.classId !== d.classId) return;
        const o = iou(box, { label: '', ...t });
        if (o >= bestIou) {
          bestIou = o;
          best = i;
        }
      });
      if (best >= 0) used.add(best);
      scored.push({ score: d.score, tp: best >= 0 });
    }
  }
  if (positives === 0 || scored.length === 0) return undefined;
  scored.sort((a, b) => b.score - a.score);
  let tp = 0;
  let best: Calibration | undefined;
  for (let k = 0; k < scored.length; k++) {
    if (scored[k]!.tp) tp++;
    // Only cut between different scores: equal scores are kept or dropped together.
    if (k + 1 < scored.length && scored[k + 1]!.score === scored[k]!.score) continue;
    const precision = tp / (k + 1);
    const recall = tp / positives;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    if (!best || f1 > best.f1) best = { threshold: scored[k]!.score, f1, precision, recall };
  }
  return best;
}
