/** Labeling (Ground Truth): work teams, labeling jobs, the task queue, consolidation, output. */
import { Labeling, type LabelingDeps } from './labeling.js';

export {
  Labeling,
  TaskError,
  validateAnswer,
  type CreateLabelingJobInput,
  type LabelingDeps,
  type ReviewObject,
  type WorkerStats,
} from './labeling.js';
export { labelingMigrations } from './migrations.js';
export { groupsOfMembers, type MemberDefinitionInput } from './workteams.js';
export { humanTaskUiArn, BUILT_IN_UIS, parseTemplate } from './templates.js';
export {
  consolidateBoxes,
  consolidateBoxJob,
  consolidateLabel,
  consolidateLabels,
  iou,
} from './consolidation.js';
export { sniffImageType } from './image-urls.js';
export type { WireAlgorithmsConfig } from './active-learning/config.js';
export type { RoundView } from './active-learning/round-view.js';
export type { AutoLabelingPort, PortDetections, RoundTrainingJob } from './active-learning/port.js';
export type { Consolidated } from './output.js';
export type * from './model.js';
export {
  JOB_TRANSITIONS,
  TASK_TRANSITIONS,
  canTransition,
  labelingJobStates,
  labelingTaskStates,
} from './model.js';

/** Builds the labeling context (labeling jobs, work teams, the task queue and consolidation). */
export const createLabeling = (deps: LabelingDeps): Labeling => new Labeling(deps);
