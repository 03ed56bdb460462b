import type { ArnContext } from '../shared/arn.js';
import type { Clock } from '../shared/clock.js';
import { APIARY_ROOT } from '../shared/sandbox-paths.js';
import type { Coordinator, Db, TagRepository } from '../store/index.js';
import type { Executor } from './executors/executor.js';
import type { LogLine } from './logs.js';
import type { TrainingObjectStore } from './object-port.js';
import type { TrainingJobRecord, TuningObjective } from './repository.js';

/** What the training context needs: database, clock, object store, executor, queue and size caps, coordinator. */
export interface TrainingDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly arn: ArnContext;
  readonly objects: TrainingObjectStore;
  readonly tags: TagRepository;
  /** Jobs live under `<dataDir>/training/jobs/<name>/` (the /opt/ml folder, logs). */
  readonly dataDir: string;
  readonly executor: Executor;
  /** Said once in every job's log (e.g. "no sandbox"). */
  readonly executorWarning?: string;
  readonly maxRunningJobs: number;
  readonly maxQueuedJobs: number;
  readonly logCapBytes: number;
  readonly modelCapBytes: number;
  readonly stopGraceSeconds: number;
  /** Interpreter with the pinned torch; default `<repo>/.venv/bin/python`. */
  readonly pythonPath?: string;
  readonly logger?: { warn(obj: unknown, msg?: string): void };
  /**
   * Ownership of jobs among replicas (leases in the database). Without one, this process owns
   * every job (a single server).
   */
  readonly coordinator?: Coordinator;
  /**
   * Keep every log line in the database too, and read logs from there (replicas on PostgreSQL:
   * any replica answers for any job, also after the replica that ran it is gone).
   */
  readonly sharedLogs?: boolean;
}

/** The lease that says which replica runs a training job. */
export const trainingJobLease = (name: string): string => `training-job:${name.toLowerCase()}`;

/** Events for the tuning engine and the console. */
export interface TrainingEvents {
  status: [record: TrainingJobRecord];
  metric: [event: { jobName: string; metricName: string; value: number; timestampMs: number }];
  log: [event: { jobName: string; line: LogLine }];
}

/** Extra options of job creation used by tuning: the parent tuning job and its objective metric. */
export interface CreateJobOptions {
  /** Set when a hyperparameter tuning job launches this training job. */
  readonly tuningJobArn?: string;
  readonly tuningObjective?: TuningObjective;
}

/** `<repo>`: the checkout the built-in algorithm and `.venv` live in. */
export const REPO_ROOT = APIARY_ROOT;
