import { defineStateMachine, type TransitionTable } from '../shared/state-machine.js';

/** The training job's primary status, as SageMaker's `TrainingJobStatus`. */
export const TrainingJobStatuses = {
  InProgress: 'InProgress',
  Completed: 'Completed',
  Failed: 'Failed',
  Stopping: 'Stopping',
  Stopped: 'Stopped',
} as const;
/** A training job's primary status, as DescribeTrainingJob's TrainingJobStatus. */
export type TrainingJobStatus = (typeof TrainingJobStatuses)[keyof typeof TrainingJobStatuses];

/** The subset of SageMaker's `SecondaryStatus` values Apiary goes through. */
export const SecondaryStatuses = {
  Starting: 'Starting',
  Downloading: 'Downloading',
  Training: 'Training',
  Uploading: 'Uploading',
  Stopping: 'Stopping',
  Stopped: 'Stopped',
  MaxRuntimeExceeded: 'MaxRuntimeExceeded',
  Completed: 'Completed',
  Failed: 'Failed',
} as const;
/** A training job's detailed status, as DescribeTrainingJob's SecondaryStatus. */
export type SecondaryStatus = (typeof SecondaryStatuses)[keyof typeof SecondaryStatuses];

/**
 * Every allowed secondary-status transition. The primary status follows from the secondary one
 * ({@link primaryStatusOf}). `Starting` is re-entered when a job is retried (RetryStrategy) after
 * the server was interrupted. Terminal states have no way out.
 */
export const trainingJobStates = defineStateMachine(
  {
    Starting: ['Downloading', 'Stopping', 'Failed'],
    Downloading: ['Training', 'Stopping', 'Failed', 'Starting'],
    Training: ['Uploading', 'Stopping', 'Failed', 'Starting'],
    Uploading: ['Completed', 'Stopping', 'Failed'],
    Stopping: ['Stopped', 'MaxRuntimeExceeded', 'Failed'],
    Completed: [],
    Failed: [],
    Stopped: [],
    MaxRuntimeExceeded: [],
  } as const satisfies TransitionTable<SecondaryStatus>,
  { name: 'training job' },
);

/** The table of {@link trainingJobStates}. */
export const TRANSITIONS: Readonly<Record<SecondaryStatus, readonly SecondaryStatus[]>> =
  trainingJobStates.table;

export const TERMINAL_SECONDARY: ReadonlySet<SecondaryStatus> = new Set(
  trainingJobStates.terminalStates,
);

/** The primary status a secondary status belongs to (e.g. Downloading → InProgress). */
export function primaryStatusOf(s: SecondaryStatus): TrainingJobStatus {
  switch (s) {
    case 'Starting':
    case 'Downloading':
    case 'Training':
    case 'Uploading':
      return 'InProgress';
    case 'Stopping':
      return 'Stopping';
    case 'Stopped':
    case 'MaxRuntimeExceeded':
      return 'Stopped';
    case 'Completed':
      return 'Completed';
    case 'Failed':
      return 'Failed';
  }
}

/** Whether a job in this secondary status is finished for good. */
export const isTerminal = (s: SecondaryStatus): boolean => trainingJobStates.isTerminal(s);

export const canTransition = (from: SecondaryStatus, to: SecondaryStatus): boolean =>
  trainingJobStates.canTransition(from, to);

/** @throws AppError InternalFailure when the table does not allow the transition (a bug). */
export const assertTransition = (from: SecondaryStatus, to: SecondaryStatus): void =>
  trainingJobStates.assertTransition(from, to);

/** SageMaker's usual status messages (clients must not parse them). */
export const DEFAULT_MESSAGES: Readonly<Record<SecondaryStatus, string>> = {
  Starting: 'Preparing the instances for training',
  Downloading: 'Downloading input data',
  Training: 'Training image download completed. Training in progress.',
  Uploading: 'Uploading generated training model',
  Stopping: 'Stopping the training job',
  Stopped: 'Training job stopped',
  MaxRuntimeExceeded: 'Training job stopped: it ran longer than MaxRuntimeInSeconds',
  Completed: 'Training job completed',
  Failed: 'Training job failed',
};

/** One entry of SecondaryStatusTransitions: status, start and end times (ms), message. */
export interface StatusTransition {
  readonly status: SecondaryStatus;
  readonly startMs: number;
  readonly endMs?: number;
  readonly message: string;
}

/**
 * Appends a transition (closing the previous one), or, for the same status, replaces its message
 * in place, as SageMaker does for e.g. the queue position while Starting.
 */
export function appendTransition(
  transitions: readonly StatusTransition[],
  status: SecondaryStatus,
  nowMs: number,
  message: string,
): StatusTransition[] {
  const out = transitions.slice();
  const last = out[out.length - 1];
  if (last && last.status === status && last.endMs === undefined) {
    out[out.length - 1] = { ...last, message };
    return out;
  }
  if (last && last.endMs === undefined) out[out.length - 1] = { ...last, endMs: nowMs };
  const next: StatusTransition = isTerminal(status)
    ? { status, startMs: nowMs, endMs: nowMs, message }
    : { status, startMs: nowMs, message };
  out.push(next);
  return out;
}
