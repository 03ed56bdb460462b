import type {
  CreateTrainingJobRequest,
  Training,
  TrainingJobRecord,
} from '../../training/index.js';
import type { OperationTable } from './protocol.js';
import { compact, encodeNextToken, listQueryFrom, toEpochSeconds, type ListInput } from './wire.js';

/** SageMaker wire shapes ⇄ the training context, one function per operation. */

const seconds = (fromMs: number | undefined, toMs: number | undefined): number | undefined =>
  fromMs === undefined || toMs === undefined
    ? undefined
    : Math.max(1, Math.round((toMs - fromMs) / 1000));

export function describeTrainingJob(r: TrainingJobRecord) {
  const elapsed = seconds(r.trainingStartMs, r.trainingEndMs);
  return compact({
    ...r.request,
    TrainingJobName: r.name,
    TrainingJobArn: r.arn,
    TuningJobArn: r.tuningJobArn,
    ModelArtifacts: { S3ModelArtifacts: r.modelArtifacts },
    TrainingJobStatus: r.status,
    SecondaryStatus: r.secondaryStatus,
    FailureReason: r.failureReason,
    HyperParameters: r.request.HyperParameters,
    AlgorithmSpecification: {
      TrainingInputMode: r.spec.inputMode,
      ...r.request.AlgorithmSpecification,
    },
    StoppingCondition: {
      MaxRuntimeInSeconds: r.spec.maxRuntimeSeconds,
      ...r.request.StoppingCondition,
    },
    CreationTime: toEpochSeconds(r.createdAtMs),
    TrainingStartTime: toEpochSeconds(r.trainingStartMs),
    TrainingEndTime: toEpochSeconds(r.trainingEndMs),
    LastModifiedTime: toEpochSeconds(r.lastModifiedMs),
    SecondaryStatusTransitions: r.transitions.map((t) =>
      compact({
        Status: t.status,
        StartTime: toEpochSeconds(t.startMs)!,
        EndTime: toEpochSeconds(t.endMs),
        StatusMessage: t.message,
      }),
    ),
    FinalMetricDataList: r.finalMetrics.length
      ? r.finalMetrics.map((m) => ({
          MetricName: m.metricName,
          Value: m.value,
          Timestamp: toEpochSeconds(m.timestampMs),
        }))
      : undefined,
    TrainingTimeInSeconds: elapsed,
    BillableTimeInSeconds: elapsed,
    EnableNetworkIsolation: r.request.EnableNetworkIsolation ?? false,
    EnableInterContainerTrafficEncryption: r.request.EnableInterContainerTrafficEncryption ?? false,
    EnableManagedSpotTraining: r.request.EnableManagedSpotTraining ?? false,
    ProfilingStatus: 'Disabled',
  });
}

export function trainingOperations(deps: { training: Training }): OperationTable {
  const { training } = deps;
  return {
    async CreateTrainingJob(input: CreateTrainingJobRequest) {
      const record = await training.createTrainingJob(input);
      return { TrainingJobArn: record.arn };
    },
    async DescribeTrainingJob(input: { TrainingJobName: string }) {
      return describeTrainingJob(await training.describe(input.TrainingJobName));
    },
    async ListTrainingJobs(input: ListInput) {
      const page = await training.list(
        listQueryFrom(input, { sortBy: 'creationTime', sortOrder: 'asc' }),
      );
      return compact({
        TrainingJobSummaries: page.items.map((r) =>
          compact({
            TrainingJobName: r.name,
            TrainingJobArn: r.arn,
            CreationTime: toEpochSeconds(r.createdAtMs)!,
            TrainingEndTime: toEpochSeconds(r.trainingEndMs),
            LastModifiedTime: toEpochSeconds(r.lastModifiedMs),
            TrainingJobStatus: r.status,
            SecondaryStatus: r.secondaryStatus,
          }),
        ),
        NextToken: encodeNextToken(page.nextOffset),
      });
    },
    async StopTrainingJob(input: { TrainingJobName: string }) {
      await training.stop(input.TrainingJobName);
      return {};
    },
  };
}
