import type { PixelRect } from '../../shared/boxes.js';
import type { PortDetections } from './port.js';
import {
  BOX_TARGET_IOU,
  chooseThreshold,
  detectionQuality,
  ESTIMATE_MARGIN,
  MIN_SUPPORT,
  imageConfidence,
  splitByThreshold,
  type ScoredBox,
  type ThresholdChoice,
} from './threshold.js';

/**
 * A round's decision from its predictions (pure): the detection score cut, the threshold chosen on
 * the held-out human labels, the objects to machine-label and the least confident for people.
 */

/** The detection score cuts tried on the held-out objects (a model trained for minutes is rarely calibrated at 0.5). */
export const KEEP_SCORES: readonly number[] = [0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];

/** A held-out object: the model's boxes and the human label. */
export interface ValidationObject {
  readonly boxes: readonly ScoredBox[];
  readonly human: readonly (PixelRect & { readonly label: string })[];
}

/**
 * The score cut of a round: the one whose kept boxes have the best mean quality against the
 * held-out human labels (ties → the higher cut); 0.5 without validation objects.
 */
export function chooseKeepScore(validation: readonly ValidationObject[]): number {
  if (validation.length === 0) return 0.5;
  let best = 0.5;
  let bestQ = -1;
  for (const k of KEEP_SCORES) {
    const q =
      validation.reduce(
        (sum, v) =>
          sum +
          detectionQuality(
            v.boxes.filter((b) => b.score >= k),
            v.human,
          ),
        0,
      ) / validation.length;
    if (q >= bestQ) {
      best = k;
      bestQ = q;
    }
  }
  return best;
}

/** A port detection as scored boxes named by the job's labels. */
export function scoredBoxes(d: PortDetections, labels: readonly string[]): ScoredBox[] {
  return d.boxes.map((b) => ({
    label: labels[b.classId] ?? String(b.classId),
    score: b.score,
    left: b.left,
    top: b.top,
    width: b.width,
    height: b.height,
  }));
}

/** An unlabelled object with the model's boxes. */
export interface PoolCandidate<T> {
  readonly item: T;
  readonly detections: PortDetections;
  readonly boxes: readonly ScoredBox[];
  readonly confidence: number;
}

/** What a round decided. */
export interface RoundDecision<T> {
  readonly keep: number;
  readonly choice: ThresholdChoice | undefined;
  /** Validation objects the estimate was computed on. */
  readonly validated: number;
  /** Objects to machine-label, with only their boxes at or above `keep`. */
  readonly machine: readonly PoolCandidate<T>[];
  /** The rest, least confident first. */
  readonly toHumans: readonly PoolCandidate<T>[];
}

/**
 * Decides a round: the score cut and threshold from `validation`, then the pool split by it.
 * SageMaker's target for boxes (mean IoU 0.6) must be cleared by `ESTIMATE_MARGIN` standard errors
 * with at least `MIN_SUPPORT` validation objects behind it.
 */
export function decideRound<T>(
  validation: readonly ValidationObject[],
  pool: readonly { readonly item: T; readonly detections: PortDetections }[],
  labels: readonly string[],
): RoundDecision<T> {
  const keep = chooseKeepScore(validation);
  const scores = validation.map((v) => ({
    confidence: imageConfidence(v.boxes, keep),
    quality: detectionQuality(
      v.boxes.filter((b) => b.score >= keep),
      v.human,
    ),
  }));
  const choice = chooseThreshold(scores, BOX_TARGET_IOU, MIN_SUPPORT, ESTIMATE_MARGIN);
  const candidates = pool.map(({ item, detections }) => {
    const all = scoredBoxes(detections, labels);
    return {
      item,
      detections,
      boxes: all.filter((b) => b.score >= keep),
      confidence: imageConfidence(all, keep),
    };
  });
  const { machine, toHumans } = splitByThreshold(candidates, choice?.threshold);
  return { keep, choice, validated: scores.length, machine, toHumans };
}
