/**
 * Early stopping `Auto`: the median stopping rule as SageMaker documents it. After each epoch of a
 * training job, take every *previous* training job of the tuning job that reached the same epoch,
 * compute the running average of its objective up to that epoch, and take the median of those
 * averages. If the current job's objective at that epoch is worse than the median, stop it.
 *
 * Values here are losses (lower is better); the orchestrator negates Maximize objectives.
 */
export interface MedianRuleOptions {
  /** Previous jobs needed at an epoch before anything is stopped (default 3). */
  readonly minPreviousJobs?: number;
  /** No decision before this epoch (default 1). */
  readonly minEpoch?: number;
}

export type StoppingDecision =
  | { readonly stop: false }
  | {
      readonly stop: true;
      readonly median: number;
      readonly epoch: number;
      readonly reason: string;
    };

export function medianStoppingRule(
  current: readonly number[],
  previous: readonly (readonly number[])[],
  options: MedianRuleOptions = {},
): StoppingDecision {
  const epoch = current.length;
  if (epoch < (options.minEpoch ?? 1)) return { stop: false };
  const averages: number[] = [];
  for (const curve of previous) {
    if (curve.length < epoch) continue;
    let sum = 0;
    for (let e = 0; e < epoch; e++) sum += curve[e]!;
    averages.push(sum / epoch);
  }
  if (averages.length < (options.minPreviousJobs ?? 3)) return { stop: false };
  averages.sort((a, b) => a - b);
  const mid = averages.length >> 1;
  const median = averages.length % 2 ? averages[mid]! : (averages[mid - 1]! + averages[mid]!) / 2;
  const value = current[epoch - 1]!;
  if (value > median) {
    return {
      stop: true,
      median,
      epoch,
      reason: `Training job was stopped by the tuning job's early stopping: its objective after epoch ${epoch} was worse than the median of the running averages of ${averages.length} previous training jobs.`,
    };
  }
  return { stop: false };
}
