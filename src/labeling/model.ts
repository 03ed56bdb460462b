import type { TaskSuggestions } from './prelabel.js';
import type { AutoLabelingConfig } from './active-learning/config.js';
/** Records, statuses and transitions of the labeling context (domain terms, camelCase). */
import type { LabeledBox } from '../shared/boxes.js';
import { defineStateMachine, type TransitionTable } from '../shared/state-machine.js';

export const LabelingJobStatuses = {
  Initializing: 'Initializing',
  InProgress: 'InProgress',
  Completed: 'Completed',
  Failed: 'Failed',
  Stopping: 'Stopping',
  Stopped: 'Stopped',
} as const;
export type LabelingJobStatus = (typeof LabelingJobStatuses)[keyof typeof LabelingJobStatuses];

/**
 * Allowed job transitions (SageMaker's Ground Truth state machine). `Completed → InProgress` is a
 * reviewer sending objects back (a new iteration), so only Failed and Stopped are terminal.
 */
export const labelingJobStates = defineStateMachine(
  {
    Initializing: ['InProgress', 'Failed', 'Stopping'],
    InProgress: ['Completed', 'Failed', 'Stopping'],
    Completed: ['InProgress'],
    Failed: [],
    Stopping: ['Stopped', 'Failed'],
    Stopped: [],
  } as const satisfies TransitionTable<LabelingJobStatus>,
  { name: 'labeling job' },
);

/** The table of {@link labelingJobStates}. */
export const JOB_TRANSITIONS: Readonly<Record<LabelingJobStatus, readonly LabelingJobStatus[]>> =
  labelingJobStates.table;

/** Whether the labeling job status table allows moving from `from` to `to`. */
export const canTransition = (from: LabelingJobStatus, to: LabelingJobStatus): boolean =>
  labelingJobStates.canTransition(from, to);

/** A slot: one worker's turn at one object. */
export const TaskStatuses = {
  Open: 'open',
  Claimed: 'claimed',
  Submitted: 'submitted',
  /** No longer claimable: the object finished, failed or its availability lifetime ran out. */
  Closed: 'closed',
} as const;
export type TaskStatus = (typeof TaskStatuses)[keyof typeof TaskStatuses];

/** A slot's transitions; the task queue moves slots only along these (task-queue.test.ts). */
export const labelingTaskStates = defineStateMachine(
  {
    open: ['claimed', 'closed'],
    // claimed → open: expiry, skip or decline return the slot to the queue.
    claimed: ['submitted', 'open', 'closed'],
    submitted: [],
    closed: [],
  } as const satisfies TransitionTable<TaskStatus>,
  { name: 'labeling task' },
);

/** The table of {@link labelingTaskStates}. */
export const TASK_TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> =
  labelingTaskStates.table;

export const ObjectStatuses = {
  Pending: 'pending',
  Labeled: 'labeled',
  Failed: 'failed',
} as const;
export type ObjectStatus = (typeof ObjectStatuses)[keyof typeof ObjectStatuses];

export type TaskType =
  | 'bounding-box'
  | 'adjustment-bounding-box'
  | 'verification-bounding-box'
  | 'image-classification'
  | 'image-classification-multilabel';

export interface InstructionBlock {
  readonly kind: 'heading' | 'text' | 'image';
  /** Text of a heading or paragraph; alt text of an image. */
  readonly text: string;
  /** Image source: an `s3://` URI (served signed) or a `data:image/...` URI. */
  readonly src?: string;
  /** 'good' / 'bad' when the block sits under a GOOD / BAD EXAMPLE heading. */
  readonly example?: 'good' | 'bad';
}

/** What a job needs at run time, derived once from the CreateLabelingJob request. */
export interface JobSpec {
  readonly taskType: TaskType;
  readonly labels: readonly string[];
  readonly labelAttributeName: string;
  readonly manifestUri: string;
  readonly labelCategoryConfigUri: string | undefined;
  readonly outputPath: string;
  readonly workersPerObject: number;
  readonly taskTimeLimitSeconds: number;
  readonly availabilityLifetimeSeconds: number;
  readonly maxConcurrentTaskCount: number;
  readonly taskTitle: string;
  readonly taskDescription: string;
  readonly header: string;
  readonly shortInstructions: readonly InstructionBlock[];
  readonly fullInstructions: readonly InstructionBlock[];
  /** Adjustment / verification: the label attribute holding the earlier boxes. */
  readonly auditLabelAttributeName: string | undefined;
  readonly maxHumanLabeledObjectCount: number | undefined;
  readonly maxPercentageOfInputDatasetLabeled: number | undefined;
  /** `LabelingJobAlgorithmsConfig`, validated: the job runs the active-learning loop. */
  readonly autoLabeling?: AutoLabelingConfig;
}

export interface LabelCounters {
  readonly totalLabeled: number;
  readonly humanLabeled: number;
  readonly machineLabeled: number;
  readonly failedNonRetryableError: number;
  readonly unlabeled: number;
}

export interface LabelingJobRecord {
  readonly name: string;
  readonly arn: string;
  readonly status: LabelingJobStatus;
  readonly failureReason: string | undefined;
  readonly workteamArn: string;
  readonly jobReferenceCode: string;
  readonly spec: JobSpec;
  readonly request: Readonly<Record<string, unknown>>;
  readonly objectCount: number;
  readonly iteration: number;
  readonly outputWritten: boolean;
  readonly createdAtMs: number;
  readonly lastModifiedMs: number;
}

/** Who is asking, as the labeling context needs it (the identity context's user). */
export interface Worker {
  readonly id: string;
  readonly username: string;
  readonly role: string;
  readonly groups: readonly string[];
}

/** What the portal shows for one claimed task. */
export interface TaskView {
  readonly taskId: string;
  readonly version: number;
  readonly jobName: string;
  readonly title: string;
  readonly description: string;
  readonly header: string;
  readonly taskType: TaskType;
  readonly labels: readonly string[];
  readonly shortInstructions: readonly InstructionBlock[];
  readonly fullInstructions: readonly InstructionBlock[];
  readonly imageToken: string;
  readonly sourceName: string;
  readonly claimedAtMs: number;
  readonly expiresAtMs: number;
  readonly draft: unknown;
  readonly initialValue: readonly Box[] | undefined;
  /** Pre-labeling: the model's boxes for this image, or a notice why there are none. */
  readonly suggestions?: TaskSuggestions;
}

export interface WorkteamRecord {
  readonly name: string;
  readonly arn: string;
  readonly description: string;
  /** Apiary group names the team's MemberDefinitions name. */
  readonly memberGroups: readonly string[];
  readonly request: Readonly<Record<string, unknown>>;
  readonly createdAtMs: number;
  readonly lastModifiedMs: number;
}

/** A box in pixels, top-left origin, as crowd-bounding-box answers and Ground Truth outputs. */
export type Box = LabeledBox;

/** A worker's answer in Apiary terms (turned into crowd-element answerContent in the output). */
export type Answer =
  | {
      readonly kind: 'boxes';
      readonly boxes: readonly Box[];
      readonly imageWidth: number;
      readonly imageHeight: number;
      readonly initialValueModified?: boolean;
    }
  | { readonly kind: 'label'; readonly label: string }
  | { readonly kind: 'labels'; readonly labels: readonly string[] }
  | { readonly kind: 'verification'; readonly label: string; readonly comment?: string };
