import type { Random } from '../../shared/random.js';
import { defineStateMachine } from '../../shared/state-machine.js';
import { MIN_SUPPORT } from './threshold.js';

/**
 * The rounds of the active-learning loop as data (pure): the round state machine, how many objects
 * go to people and which. The loop that drives them is loop.ts.
 */

/**
 * A round: people label its batch (`HumanLabeling`), a training job learns from every human label
 * so far (`Training`), the model predicts on the unlabelled pool (`Predicting`), machine labels
 * are written (`Done`). A failed training or prediction ends the round `Failed`: the job goes on
 * with people (the next round is a human batch) and says so.
 */
export const roundStates = defineStateMachine(
  {
    HumanLabeling: ['Training', 'Done', 'Failed'],
    Training: ['Predicting', 'Failed'],
    Predicting: ['Done', 'Failed'],
    Done: [],
    Failed: [],
  } as const,
  { name: 'active-learning round' },
);

/** A round's status. */
export type RoundStatus = (typeof roundStates.states)[number];

/**
 * `labeling_objects.released` of an object the loop holds back (neither given to people nor
 * machine-labelled yet); the queue only releases objects at 0, so held ones stay out of it.
 */
export const HELD_BY_LOOP = 2;

/** Share of each human batch held out to validate the threshold (never trained on). */
export const VALIDATION_SHARE = 0.2;

/**
 * SageMaker's validation share: 20 % of the human labels for datasets under 5,000 objects, 10 %
 * from 5,000 on (the larger set has enough held-out objects at the smaller share).
 */
export function validationShare(objects: number): number {
  return objects < 5000 ? VALIDATION_SHARE : 0.1;
}

/** Smallest human batch (at 20 % held out it gives the threshold its 5 validation objects). */
export const MIN_BATCH = 25;
/** The first random sample's share of the dataset (Ground Truth's first batch is about 10 %). */
export const BATCH_SHARE = 0.1;

/**
 * A round's human batch, as Ground Truth sizes it: the first random sample and each later batch of
 * least-confident objects are 10 % of the dataset (at least `MIN_BATCH`), never more than the
 * job's `MaxConcurrentTaskCount` (SageMaker's "batch size": objects out to people at one time)
 * nor than the dataset.
 */
export function humanBatchSize(objects: number, maxConcurrentTaskCount: number): number {
  const size = Math.max(MIN_BATCH, Math.ceil(objects * BATCH_SHARE));
  return Math.max(1, Math.min(objects, maxConcurrentTaskCount, size));
}

/** The first batch: a uniform random sample of the objects, part of it held out for validation. */
export interface FirstBatch {
  readonly train: readonly number[];
  readonly validation: readonly number[];
}

/**
 * Picks the first human batch: `size` objects drawn uniformly (Fisher–Yates on a copy, seeded so a
 * restarted server picks the same batch), `VALIDATION_SHARE` of it — at least `minHeld`, at most
 * half, at least one when the batch has two or more — held out for validation. (A departure from
 * SageMaker's plain 20 % for small datasets: 6 held-out objects of a 30-object batch let a lucky
 * estimate machine-label most of a dataset; the first threshold needs `MIN_SUPPORT` behind it.)
 */
export function firstBatch(
  objectIds: readonly number[],
  size: number,
  random: Random,
  share = VALIDATION_SHARE,
  /** Fewest objects held out (a threshold needs `MIN_SUPPORT` validation objects). */
  minHeld = MIN_SUPPORT,
): FirstBatch {
  const ids = [...objectIds];
  const n = Math.min(size, ids.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random.next() * (ids.length - i));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  const batch = ids.slice(0, n);
  // At least `minHeld` (the threshold's support), but never more than half the batch.
  const held =
    n >= 2 ? Math.min(Math.floor(n / 2), Math.max(1, Math.round(n * share), minHeld)) : 0;
  return { validation: batch.slice(0, held), train: batch.slice(held) };
}

/**
 * The training job of round `round` of `jobName`: `<job>-al-round-N`, cut to SageMaker's
 * 63-character TrainingJobName limit without losing the round number.
 */
export function roundTrainingJobName(jobName: string, round: number): string {
  const suffix = `-al-round-${round}`;
  return jobName.slice(0, 63 - suffix.length) + suffix;
}
