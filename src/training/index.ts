import path from 'node:path';
import type { Settings } from '../config/index.js';
import { createLocalExecutor } from './executors/local/local-executor.js';
import { KubernetesExecutor, newStagingKey } from './executors/kubernetes/kubernetes-executor.js';
import { kvGetOrCreate } from '../store/index.js';
import type { Executor } from './executors/executor.js';
import { Training } from './training.js';
import { REPO_ROOT, type TrainingDeps } from './training-deps.js';

export { Training } from './training.js';
export { REPO_ROOT } from './training-deps.js';
export type { TrainingDeps, TrainingEvents, CreateJobOptions } from './training-deps.js';
export { trainingMigrations } from './migrations.js';
export { sharedLogMigrations } from './shared-log.js';
export type { JobLogReader } from './shared-log.js';
export type { TrainingJobRecord, FinalMetric, TuningObjective, StopReason } from './repository.js';
export type {
  CreateTrainingJobRequest,
  TrainingJobSpec,
  ChannelSpec,
  MetricDefinition,
} from './spec.js';
export { modelArtifactsUri } from './spec.js';
export type { StatusTransition, TrainingJobStatus, SecondaryStatus } from './lifecycle.js';
export { isTerminal, primaryStatusOf } from './lifecycle.js';
export type { LogLine } from './logs.js';
export { OBJECT_DETECTION_METRICS } from './metrics.js';
export type { Executor } from './executors/executor.js';
export { KubernetesExecutor } from './executors/kubernetes/kubernetes-executor.js';
export { loadInstanceTypes, resourcesFor } from './executors/kubernetes/instance-types.js';
export type { StagingToken } from './executors/kubernetes/kubernetes-executor.js';

/**
 * Builds the training context with the executor the settings pick: sandboxed local processes
 * (`APIARY_SANDBOX`) or Kubernetes Jobs (`APIARY_EXECUTOR=kubernetes`). `listeningUrl` is the
 * server's URL once it listens (the default address training pods call back).
 */
export function createTraining(
  deps: Omit<
    TrainingDeps,
    | 'executor'
    | 'executorWarning'
    | 'maxRunningJobs'
    | 'maxQueuedJobs'
    | 'logCapBytes'
    | 'modelCapBytes'
    | 'stopGraceSeconds'
    | 'pythonPath'
    | 'dataDir'
  >,
  settings: Settings,
  listeningUrl: () => string = () => '',
): Training {
  // Jobs must not read Apiary's data dir (credentials, database, blobs) unless the interpreter or
  // the algorithm lives inside it.
  const python = settings.pythonPath || path.join(REPO_ROOT, '.venv', 'bin', 'python');
  const inside = (dir: string, p: string) =>
    p === dir || p.startsWith(dir.endsWith('/') ? dir : dir + '/');
  const hidden =
    inside(settings.dataDir, python) || inside(settings.dataDir, REPO_ROOT)
      ? []
      : [settings.dataDir];
  let executor: Executor;
  let warning: string | undefined;
  if (settings.executor === 'kubernetes') {
    executor = new KubernetesExecutor({
      ...settings.k8s,
      apiaryImage: settings.k8s.image,
      callbackUrl: () => settings.k8s.callbackUrl || settings.advertiseUrl || listeningUrl(),
      stopGraceSeconds: settings.trainingStopGraceSeconds,
      uploadTimeoutSeconds: 300,
      signingKey: async () =>
        Buffer.from(
          await kvGetOrCreate(deps.db, 'k8s-staging-key', () => newStagingKey().toString('base64')),
          'base64',
        ),
      warn: (message, err) => deps.logger?.warn({ err }, message),
    });
  } else {
    ({ executor, warning } = createLocalExecutor(settings.sandbox, hidden));
    if (warning) deps.logger?.warn({}, warning);
  }
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
    sharedLogs: /^postgres(ql)?:\/\//.test(settings.databaseUrl),
  });
}
