import { defineStateMachine, type TransitionTable } from '../shared/state-machine.js';
import type { Config, ParameterSpec } from './space.js';

/** Tuning job statuses (SageMaker's HyperParameterTuningJobStatus, less the Delete* ones). */
export const TuningJobStatuses = {
  InProgress: 'InProgress',
  Completed: 'Completed',
  Failed: 'Failed',
  Stopping: 'Stopping',
  Stopped: 'Stopped',
} as const;
/** A hyperparameter tuning job's status, as DescribeHyperParameterTuningJob names it. */
export type TuningJobStatus = (typeof TuningJobStatuses)[keyof typeof TuningJobStatuses];

/** The tuning job's state machine: allowed transitions, nothing else. */
export const tuningJobStates = defineStateMachine(
  {
    InProgress: ['Completed', 'Failed', 'Stopping'],
    Stopping: ['Stopped'],
    Completed: [],
    Failed: [],
    Stopped: [],
  } as const satisfies TransitionTable<TuningJobStatus>,
  { name: 'tuning job' },
);
/** The table of {@link tuningJobStates}. */
export const TUNING_TRANSITIONS: Readonly<Record<TuningJobStatus, readonly TuningJobStatus[]>> =
  tuningJobStates.table;
export const canTransition = (from: TuningJobStatus, to: TuningJobStatus): boolean =>
  tuningJobStates.canTransition(from, to);
export const isTerminalTuningStatus = (s: TuningJobStatus): boolean =>
  tuningJobStates.isTerminal(s);

export type StrategyName = 'Bayesian' | 'Random' | 'Grid' | 'Hyperband';
export type ObjectiveType = 'Maximize' | 'Minimize';

/** What the tuner runs with, derived once from the create request (camelCase, units in names). */
export interface TuningConfig {
  readonly strategy: StrategyName;
  readonly objective: { readonly type: ObjectiveType; readonly metricName: string };
  readonly space: readonly ParameterSpec[];
  readonly maxTrainingJobs: number;
  readonly maxParallelJobs: number;
  readonly maxRuntimeSeconds: number | undefined;
  readonly earlyStopping: 'Off' | 'Auto';
  readonly hyperband: { readonly minResource: number; readonly maxResource: number } | undefined;
  readonly completion: {
    readonly targetObjectiveValue: number | undefined;
    readonly maxJobsNotImproving: number | undefined;
    readonly completeOnConvergence: boolean;
  };
  readonly randomSeed: number;
  /** Retries of a trial whose training job failed with an internal (retryable) error. */
  readonly maxRetryAttempts: number;
  readonly warmStart:
    | {
        readonly parents: readonly string[];
        readonly type: 'IdenticalDataAndAlgorithm' | 'TransferLearning';
      }
    | undefined;
}

export type TrialStatus =
  'Launching' | 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';
export type ObjectiveStatus = 'Pending' | 'Succeeded' | 'Failed';
export type ErrorKind = 'Retryable' | 'NonRetryable';

/** One training job a tuning job launched: its hyperparameters, status and objective value. */
export interface TrialRecord {
  readonly tuningJobName: string;
  /** 0-based launch order; the child job is named `{tuning}-{index+1 as NNN}-{8 hex}`. */
  readonly index: number;
  readonly trainingJobName: string;
  readonly config: Config;
  /** The tuned hyperparameters as the training job received them. */
  readonly tunedHyperParameters: Readonly<Record<string, string>>;
  readonly bracket: number | undefined;
  readonly status: TrialStatus;
  readonly objectiveStatus: ObjectiveStatus;
  readonly objectiveValue: number | undefined;
  /** Objective values reported so far, one per report (epoch), in the metric's own direction. */
  readonly curve: readonly number[];
  readonly errorKind: ErrorKind | undefined;
  readonly failureReason: string | undefined;
  /** Set when the tuner stopped it (early stopping / Hyperband / completion). */
  readonly stopReason: string | undefined;
  /** The trial this one retries (index), if any. */
  readonly retryOf: number | undefined;
  readonly createdAtMs: number;
  readonly trainingStartMs: number | undefined;
  readonly trainingEndMs: number | undefined;
  readonly lastActivityMs: number;
}

/** A stored hyperparameter tuning job: its request, resolved config, status, times and convergence state. */
export interface TuningJobRecord {
  readonly name: string;
  readonly arn: string;
  readonly status: TuningJobStatus;
  readonly failureReason: string | undefined;
  /** The create request as received (Tags removed), echoed by Describe. */
  readonly request: Readonly<Record<string, unknown>>;
  readonly config: TuningConfig;
  readonly createdAtMs: number;
  readonly lastModifiedMs: number;
  readonly endMs: number | undefined;
  /** Why it ended (Completed): e.g. "MaxNumberOfTrainingJobs reached". */
  readonly endReason: string | undefined;
  readonly jobsNotImproving: number;
  readonly convergenceDetectedMs: number | undefined;
}
