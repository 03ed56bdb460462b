import type { TrialRecord, TuningConfig, TuningJobRecord } from './model.js';

// Result bookkeeping of a tuning job: the best trial, convergence, retries due and why it ends.

/** Finished trials in a row without a >1% improvement after which the search counts as converged. */
export const CONVERGENCE_WINDOW = 10;
const TERMINAL_TRIAL = new Set(['Completed', 'Failed', 'Stopped']);
export const isTrialTerminal = (t: TrialRecord): boolean => TERMINAL_TRIAL.has(t.status);

/** Loss = the objective turned so that lower is better. */
export const lossOf = (config: TuningConfig, value: number): number =>
  config.objective.type === 'Maximize' ? -value : value;

/** Best trial by objective, or undefined. */
export function bestTrial(
  config: TuningConfig,
  trials: readonly TrialRecord[],
): TrialRecord | undefined {
  let best: TrialRecord | undefined;
  for (const t of trials) {
    if (t.objectiveStatus !== 'Succeeded' || t.objectiveValue === undefined) continue;
    if (!best || lossOf(config, t.objectiveValue) < lossOf(config, best.objectiveValue!)) best = t;
  }
  return best;
}

/** Trials (in completion order) since the last one that improved the best objective by more than 1%. */
export function countNotImproving(config: TuningConfig, finished: readonly TrialRecord[]): number {
  let best: number | undefined;
  let count = 0;
  for (const t of finished) {
    const loss = lossOf(config, t.objectiveValue!);
    if (best === undefined || best - loss > 0.01 * Math.abs(best)) {
      best = loss;
      count = 0;
    } else {
      count++;
    }
  }
  return count;
}

/** Failed retryable trials whose newest attempt may run again (as their root's index). */
export function retriesDue(job: TuningJobRecord, trials: readonly TrialRecord[]): TrialRecord[] {
  const due: TrialRecord[] = [];
  for (const t of trials) {
    if (t.status !== 'Failed' || t.errorKind !== 'Retryable') continue;
    const root = t.retryOf ?? t.index;
    const attempts = trials.filter((o) => o.retryOf === root).length;
    const newest = trials.filter((o) => o.index === root || o.retryOf === root).at(-1)!;
    if (newest.index === t.index && attempts < job.config.maxRetryAttempts)
      due.push({ ...t, index: root });
  }
  return due;
}

/** Why the job should complete now (SageMaker's completion criteria), or undefined. */
export function completionReason(
  job: TuningJobRecord,
  trials: readonly TrialRecord[],
  finished: readonly TrialRecord[],
  now: number,
): string | undefined {
  const { config } = job;
  if (
    config.maxRuntimeSeconds !== undefined &&
    now - job.createdAtMs >= config.maxRuntimeSeconds * 1000
  ) {
    return 'MaxRuntimeInSeconds reached';
  }
  const best = bestTrial(config, finished);
  const target = config.completion.targetObjectiveValue;
  if (
    best &&
    target !== undefined &&
    lossOf(config, best.objectiveValue!) <= lossOf(config, target)
  ) {
    return 'TargetObjectiveMetricValue reached';
  }
  const n = config.completion.maxJobsNotImproving;
  if (n !== undefined && job.jobsNotImproving >= n)
    return `BestObjectiveNotImproving: ${job.jobsNotImproving} training jobs did not improve the best objective by more than 1%`;
  if (config.completion.completeOnConvergence && job.convergenceDetectedMs !== undefined) {
    return `ConvergenceDetected: ${CONVERGENCE_WINDOW} training jobs in a row did not improve the best objective by more than 1%`;
  }
  const primary = trials.filter((t) => t.retryOf === undefined).length;
  if (primary >= config.maxTrainingJobs && retriesDue(job, trials).length === 0)
    return 'MaxNumberOfTrainingJobs reached';
  return undefined;
}
