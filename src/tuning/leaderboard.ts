import type { TrialRecord, TuningJobRecord } from './model.js';

/** Rows of the leaderboard: best objective first, trials without an objective last. */
export function leaderboardRows(job: TuningJobRecord, trials: readonly TrialRecord[]): string[][] {
  const sign = job.config.objective.type === 'Maximize' ? -1 : 1;
  const sorted = [...trials].sort((a, b) => {
    if (a.objectiveValue === undefined)
      return b.objectiveValue === undefined ? a.index - b.index : 1;
    if (b.objectiveValue === undefined) return -1;
    return sign * (a.objectiveValue - b.objectiveValue) || a.index - b.index;
  });
  const names = job.config.space.map((s) => s.name);
  const header = [
    'rank',
    'training job',
    'status',
    job.config.objective.metricName,
    ...names,
    'note',
  ];
  const rows = sorted.map((t, i) => [
    String(i + 1),
    t.trainingJobName,
    t.status,
    t.objectiveValue === undefined ? '-' : String(Number(t.objectiveValue.toPrecision(6))),
    ...names.map((n) => t.tunedHyperParameters[n] ?? ''),
    t.stopReason ?? t.failureReason ?? '',
  ]);
  return [header, ...rows];
}
