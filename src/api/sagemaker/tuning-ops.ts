import type {
  CreateTuningJobRequest,
  TrialRecord,
  Tuning,
  TuningConfig,
  TuningJobRecord,
} from '../../tuning/index.js';
import { bestTrial } from '../../tuning/index.js';
import { validationError } from '../../shared/index.js';
import type { OperationTable } from './protocol.js';
import { tagsFromWire } from './tags.js';
import {
  compact,
  decodeNextToken,
  encodeNextToken,
  listQueryFrom,
  toEpochSeconds,
  type ListInput,
} from './wire.js';

/** SageMaker wire shapes ⇄ the tuning context, one function per operation. */

export function trainingJobStatusCounters(trials: readonly TrialRecord[]) {
  const c = { Completed: 0, InProgress: 0, RetryableError: 0, NonRetryableError: 0, Stopped: 0 };
  for (const t of trials) {
    if (t.status === 'Completed') c.Completed++;
    else if (t.status === 'Stopped') c.Stopped++;
    else if (t.status === 'Failed')
      c[t.errorKind === 'Retryable' ? 'RetryableError' : 'NonRetryableError']++;
    else c.InProgress++;
  }
  return c;
}

export function objectiveStatusCounters(trials: readonly TrialRecord[]) {
  const c = { Succeeded: 0, Pending: 0, Failed: 0 };
  for (const t of trials) c[t.objectiveStatus]++;
  return c;
}

/** HyperParameterTrainingJobSummary of a trial. */
export function trialSummary(
  config: TuningConfig,
  t: TrialRecord,
  trainingJobArn: (name: string) => string,
) {
  return compact({
    TrainingJobName: t.trainingJobName,
    TrainingJobArn: trainingJobArn(t.trainingJobName),
    TuningJobName: t.tuningJobName,
    CreationTime: toEpochSeconds(t.createdAtMs)!,
    TrainingStartTime: toEpochSeconds(t.trainingStartMs),
    TrainingEndTime: toEpochSeconds(t.trainingEndMs),
    TrainingJobStatus: t.status === 'Launching' ? 'InProgress' : t.status,
    TunedHyperParameters: { ...t.tunedHyperParameters },
    FailureReason: t.failureReason ?? (t.status === 'Stopped' ? t.stopReason : undefined),
    FinalHyperParameterTuningJobObjectiveMetric:
      t.objectiveValue === undefined
        ? undefined
        : {
            Type: config.objective.type,
            MetricName: config.objective.metricName,
            Value: t.objectiveValue,
          },
    ObjectiveStatus: t.objectiveStatus,
  });
}

function describeTuningJob(
  job: TuningJobRecord,
  trials: readonly TrialRecord[],
  parentTrials: readonly TrialRecord[],
  arnOf: (n: string) => string,
) {
  const best = bestTrial(job.config, trials);
  const overall =
    job.config.warmStart?.type === 'IdenticalDataAndAlgorithm'
      ? bestTrial(job.config, [...trials, ...parentTrials])
      : undefined;
  const endOrNow = job.endMs ?? job.lastModifiedMs;
  return compact({
    ...job.request,
    Tags: undefined,
    HyperParameterTuningJobName: job.name,
    HyperParameterTuningJobArn: job.arn,
    HyperParameterTuningJobStatus: job.status,
    CreationTime: toEpochSeconds(job.createdAtMs),
    HyperParameterTuningEndTime: toEpochSeconds(job.endMs),
    LastModifiedTime: toEpochSeconds(job.lastModifiedMs),
    TrainingJobStatusCounters: trainingJobStatusCounters(trials),
    ObjectiveStatusCounters: objectiveStatusCounters(trials),
    BestTrainingJob: best ? trialSummary(job.config, best, arnOf) : undefined,
    OverallBestTrainingJob: overall ? trialSummary(job.config, overall, arnOf) : undefined,
    FailureReason: job.failureReason,
    TuningJobCompletionDetails: compact({
      NumberOfTrainingJobsObjectiveNotImproving: job.jobsNotImproving,
      ConvergenceDetectedTime: toEpochSeconds(job.convergenceDetectedMs),
    }),
    ConsumedResources: {
      RuntimeInSeconds: Math.max(0, Math.round((endOrNow - job.createdAtMs) / 1000)),
    },
  });
}

const STATUS_ORDER = ['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped'];

export function tuningOperations(deps: {
  tuning: Tuning;
  trainingJobArn: (name: string) => string;
  addTags: (arn: string, tags: { key: string; value: string }[]) => Promise<void>;
}): OperationTable {
  const { tuning, trainingJobArn } = deps;
  return {
    async CreateHyperParameterTuningJob(input: CreateTuningJobRequest) {
      const job = await tuning.create(input);
      const tags = tagsFromWire(input.Tags);
      if (tags.length) await deps.addTags(job.arn, tags);
      return { HyperParameterTuningJobArn: job.arn };
    },
    async DescribeHyperParameterTuningJob(input: { HyperParameterTuningJobName: string }) {
      const { job, trials, parentTrials } = await tuning.describe(
        input.HyperParameterTuningJobName,
      );
      return describeTuningJob(job, trials, parentTrials, trainingJobArn);
    },
    async ListHyperParameterTuningJobs(input: ListInput) {
      const page = await tuning.list(listQueryFrom(input, { sortBy: 'name', sortOrder: 'asc' }));
      const summaries = [];
      for (const job of page.items) {
        const { trials } = await tuning.trials(job.name);
        summaries.push(
          compact({
            HyperParameterTuningJobName: job.name,
            HyperParameterTuningJobArn: job.arn,
            HyperParameterTuningJobStatus: job.status,
            Strategy: job.config.strategy,
            CreationTime: toEpochSeconds(job.createdAtMs),
            HyperParameterTuningEndTime: toEpochSeconds(job.endMs),
            LastModifiedTime: toEpochSeconds(job.lastModifiedMs),
            TrainingJobStatusCounters: trainingJobStatusCounters(trials),
            ObjectiveStatusCounters: objectiveStatusCounters(trials),
            ResourceLimits: (
              job.request as { HyperParameterTuningJobConfig?: { ResourceLimits?: unknown } }
            ).HyperParameterTuningJobConfig?.ResourceLimits,
          }),
        );
      }
      return compact({
        HyperParameterTuningJobSummaries: summaries,
        NextToken: encodeNextToken(page.nextOffset),
      });
    },
    async StopHyperParameterTuningJob(input: { HyperParameterTuningJobName: string }) {
      await tuning.stop(input.HyperParameterTuningJobName);
      return {};
    },
    async ListTrainingJobsForHyperParameterTuningJob(input: {
      HyperParameterTuningJobName: string;
      NextToken?: string;
      MaxResults?: number;
      StatusEquals?: string;
      SortBy?: 'Name' | 'CreationTime' | 'Status' | 'FinalObjectiveMetricValue';
      SortOrder?: 'Ascending' | 'Descending';
    }) {
      const { job, trials } = await tuning.trials(input.HyperParameterTuningJobName);
      const offset = decodeNextToken(input.NextToken);
      const max = input.MaxResults ?? 10;
      let items = trials.map((t) => trialSummary(job.config, t, trainingJobArn));
      if (input.StatusEquals)
        items = items.filter((s) => s.TrainingJobStatus === input.StatusEquals);
      const sortBy = input.SortBy ?? 'Name';
      const dir = input.SortOrder === 'Descending' ? -1 : 1;
      if (sortBy === 'FinalObjectiveMetricValue')
        items = items.filter((s) => s.FinalHyperParameterTuningJobObjectiveMetric);
      const key = (s: (typeof items)[number]): string | number =>
        sortBy === 'Name'
          ? s.TrainingJobName.toLowerCase()
          : sortBy === 'CreationTime'
            ? s.CreationTime
            : sortBy === 'Status'
              ? STATUS_ORDER.indexOf(s.TrainingJobStatus)
              : s.FinalHyperParameterTuningJobObjectiveMetric!.Value;
      items.sort((a, b) => {
        const ka = key(a);
        const kb = key(b);
        return (
          (ka < kb ? -1 : ka > kb ? 1 : a.TrainingJobName.localeCompare(b.TrainingJobName)) * dir
        );
      });
      if (offset > items.length)
        throw validationError(
          `NextToken '${input.NextToken}' is invalid; pass the NextToken of the previous response`,
        );
      const page = items.slice(offset, offset + max);
      return compact({
        TrainingJobSummaries: page,
        NextToken: encodeNextToken(offset + max < items.length ? offset + max : undefined),
      });
    },
  };
}
