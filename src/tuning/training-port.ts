/**
 * What the tuner needs of the training context. `fromTraining` adapts the real one; tests pass a
 * fake so orchestration runs fast and deterministic.
 */
export type ChildStatus = 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';

/** The view of a child training job tuning works with: status, failure, final metrics, times. */
export interface ChildJob {
  readonly name: string;
  readonly arn: string;
  readonly status: ChildStatus;
  readonly failureReason: string | undefined;
  readonly finalMetrics: readonly { readonly metricName: string; readonly value: number }[];
  readonly trainingStartMs: number | undefined;
  readonly trainingEndMs: number | undefined;
  readonly tuningJobArn: string | undefined;
}

/** A metric value a child training job reported, pushed to the tuner for early stopping. */
export interface MetricEvent {
  readonly jobName: string;
  readonly metricName: string;
  readonly value: number;
  readonly timestampMs: number;
}

/** What tuning needs from training: create, find, stop child jobs and follow their metrics. */
export interface TrainingPort {
  /** CreateTrainingJob for a child; throws AppError on a bad request. */
  create(
    request: { TrainingJobName: string } & Record<string, unknown>,
    options: {
      tuningJobArn: string;
      objective: { type: 'Maximize' | 'Minimize'; metricName: string };
    },
  ): Promise<void>;
  find(name: string): Promise<ChildJob | undefined>;
  stop(name: string): Promise<void>;
  /** Status changes and metric values of every training job; returns the unsubscribe function. */
  subscribe(listener: {
    status(job: ChildJob): void;
    metric(event: MetricEvent): void;
  }): () => void;
}

/** The slice of `Training` (src/training) the adapter uses. */
export interface TrainingLike {
  createTrainingJob(
    request: any,
    options: {
      tuningJobArn?: string;
      tuningObjective?: { type: 'Maximize' | 'Minimize'; metricName: string };
    },
  ): Promise<unknown>;
  find(name: string): Promise<
    | {
        name: string;
        arn: string;
        status: string;
        failureReason: string | undefined;
        finalMetrics: readonly { metricName: string; value: number }[];
        trainingStartMs: number | undefined;
        trainingEndMs: number | undefined;
        tuningJobArn: string | undefined;
      }
    | undefined
  >;
  stop(name: string): Promise<void>;
  readonly events: {
    on(event: 'status', l: (r: any) => void): unknown;
    on(event: 'metric', l: (e: MetricEvent) => void): unknown;
    off(event: 'status', l: (r: any) => void): unknown;
    off(event: 'metric', l: (e: MetricEvent) => void): unknown;
  };
}

const toChild = (r: NonNullable<Awaited<ReturnType<TrainingLike['find']>>>): ChildJob => ({
  name: r.name,
  arn: r.arn,
  status: r.status as ChildStatus,
  failureReason: r.failureReason,
  finalMetrics: r.finalMetrics,
  trainingStartMs: r.trainingStartMs,
  trainingEndMs: r.trainingEndMs,
  tuningJobArn: r.tuningJobArn,
});

/** Adapts the training context to the TrainingPort tuning depends on. */
export function fromTraining(training: TrainingLike): TrainingPort {
  return {
    async create(request, options) {
      await training.createTrainingJob(request, {
        tuningJobArn: options.tuningJobArn,
        tuningObjective: options.objective,
      });
    },
    async find(name) {
      const r = await training.find(name);
      return r ? toChild(r) : undefined;
    },
    stop: (name) => training.stop(name),
    subscribe(listener) {
      const onStatus = (r: Parameters<typeof toChild>[0]) => listener.status(toChild(r));
      const onMetric = (e: MetricEvent) => listener.metric(e);
      training.events.on('status', onStatus);
      training.events.on('metric', onMetric);
      return () => {
        training.events.off('status', onStatus);
        training.events.off('metric', onMetric);
      };
    },
  };
}
