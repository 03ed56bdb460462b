import type { Settings } from '../config/index.js';
import { createLocalExecutor } from './executors/local/local-executor.js';
import { Training, type TrainingDeps } from './training.js';

export { Training, REPO_ROOT } from './training.js';
export type { TrainingDeps, TrainingEvents, CreateJobOptions } from './training.js';
export { trainingMigrations } from './migrations.js';
export type { TrainingJobRecord, FinalMetric, TuningObjective, StopReason } from './repository.js';
export type { CreateTrainingJobRequest, TrainingJobSpec, ChannelSpec, MetricDefinition } from './spec.js';
export { modelArtifactsUri } from './spec.js';
export type { StatusTransition, TrainingJobStatus, SecondaryStatus } from './lifecycle.js';
export { isTerminal, primaryStatusOf } from './lifecycle.js';
export type { LogLine } from './logs.js';
export { OBJECT_DETECTION_METRICS } from './metrics.js';
export type { Executor } from './executors/executor.js';

/** Builds the training context with the local executor that `APIARY_SANDBOX` picks. */
export function createTraining(
  deps: Omit<TrainingDeps, 'executor' | 'executorWarning' | 'maxRunningJobs' | 'maxQueuedJobs' | 'logCapBytes' | 'modelCapBytes' | 'stopGraceSeconds' | 'pythonPath' | 'dataDir'>,
  settings: Settings,
): Training {
  const { executor, warning } = createLocalExecutor(settings.sandbox);
  if (warning) deps.logger?.warn({}, warning);
  return new Training({
    ...deps,
    dataDir: settings.dataDir,
    executor,
    executorWarning: warning,
    maxRunningJobs: settings.maxRunningTrainingJobs,
    maxQueuedJobs: settings.maxQueuedTrainingJobs,
    logCapBytes: settings.trainingLogCapBytes,
    modelCapBytes: settings.trainingModelCapBytes,
    stopGraceSeconds: settings.trainingStopGraceSeconds,
    pythonPath: settings.pythonPath,
  });
}
