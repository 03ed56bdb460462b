import { ErrorCodes, isAppError, randomHex } from '../shared/index.js';
import type { TrialRecord, TuningJobRecord } from './model.js';
import type { TuningRepository } from './repository.js';
import type { WireTrainingJobDefinition } from './request.js';
import type { SearchPlanner } from './search.js';
import { formatValue } from './space.js';
import type { Config } from './space.js';
import type { TrainingPort } from './training-port.js';

/** How a trial the tuner stopped for silence is marked (read back to count it as retryable). */
const SILENT_PREFIX = 'InternalServerError: the trial was silent';

export interface TrialRunnerDeps {
  readonly repo: TuningRepository;
  readonly training: TrainingPort;
  readonly search: SearchPlanner;
  /** A child job with no status or metric activity for this long is stopped (default 1 h). */
  readonly trialSilenceMs?: number;
  /** The 8 hex characters of child job names (default: crypto random). */
  readonly childSuffix?: () => string;
  readonly logger?: { warn(obj: unknown, msg?: string): void };
  /** Told of every child launched, so its events reach the tuning job. */
  readonly onLaunched: (trainingJobName: string, tuningJobName: string) => void;
}

/**
 * The training side of the tuner: launches a trial's child training job (write-ahead, so a crash
 * in between is resumed), follows it into the trial record, and stops it.
 */
export class TrialRunner {
  constructor(private readonly deps: TrialRunnerDeps) {}

  async launch(
    job: TuningJobRecord,
    trials: readonly TrialRecord[],
    config: Config,
    bracket: number | undefined,
    retryOf: number | undefined,
    now: number,
  ): Promise<void> {
    await this.deps.search.loadWarmStart(job);
    const index = trials.length;
    const suffix = this.deps.childSuffix?.() ?? randomHex(4);
    const trainingJobName = `${job.name}-${String(index + 1).padStart(3, '0')}-${suffix}`;
    const tuned: Record<string, string> = {};
    for (const spec of job.config.space) tuned[spec.name] = formatValue(spec, config[spec.name]!);
    const trial: TrialRecord = {
      tuningJobName: job.name,
      index,
      trainingJobName,
      config,
      tunedHyperParameters: tuned,
      bracket,
      status: 'Launching',
      objectiveStatus: 'Pending',
      objectiveValue: undefined,
      curve: [],
      errorKind: undefined,
      failureReason: undefined,
      stopReason: undefined,
      retryOf,
      createdAtMs: now,
      trainingStartMs: undefined,
      trainingEndMs: undefined,
      lastActivityMs: now,
    };
    // Write-ahead: the trial row exists before the child, so a crash in between is resumed.
    await this.deps.repo.insertTrial(trial);
    this.deps.onLaunched(trainingJobName, job.name);
    await this.createChild(job, trial);
  }

  private async createChild(job: TuningJobRecord, trial: TrialRecord): Promise<TrialRecord> {
    const def = (job.request as { TrainingJobDefinition: WireTrainingJobDefinition })
      .TrainingJobDefinition;
    try {
      await this.deps.training.create(childRequest(job, def, trial), {
        tuningJobArn: job.arn,
        objective: job.config.objective,
      });
      const updated: TrialRecord = { ...trial, status: 'InProgress' };
      await this.deps.repo.saveTrial(updated);
      return updated;
    } catch (err) {
      const retryable =
        isAppError(err) &&
        (err.code === ErrorCodes.LimitExceeded ||
          err.code === ErrorCodes.Internal ||
          err.retryable);
      if (isAppError(err) && err.code === ErrorCodes.InUse) {
        // Created before a crash: follow it.
        const updated: TrialRecord = { ...trial, status: 'InProgress' };
        await this.deps.repo.saveTrial(updated);
        return updated;
      }
      const message = isAppError(err) ? err.message : 'internal error';
      const updated: TrialRecord = {
        ...trial,
        status: 'Failed',
        objectiveStatus: 'Failed',
        errorKind: retryable ? 'Retryable' : 'NonRetryable',
        failureReason:
          `${retryable ? 'InternalServerError' : 'ClientError'}: the training job could not be created: ${message}`.slice(
            0,
            1024,
          ),
      };
      await this.deps.repo.saveTrial(updated);
      return updated;
    }
  }

  /** Brings a non-terminal trial up to date with its child training job. */
  async follow(job: TuningJobRecord, trial: TrialRecord, now: number): Promise<TrialRecord> {
    const child = await this.deps.training.find(trial.trainingJobName);
    if (!child) {
      if (trial.status === 'Launching') return this.createChild(job, trial);
      const updated: TrialRecord = {
        ...trial,
        status: 'Failed',
        objectiveStatus: 'Failed',
        errorKind: 'Retryable',
        failureReason: 'InternalServerError: the training job of this trial no longer exists',
      };
      await this.deps.repo.saveTrial(updated);
      return updated;
    }
    let updated: TrialRecord = {
      ...trial,
      status:
        child.status === 'InProgress' && trial.status === 'Launching'
          ? 'InProgress'
          : (child.status as TrialRecord['status']),
      trainingStartMs: child.trainingStartMs,
      trainingEndMs: child.trainingEndMs,
    };
    const objectiveMetric = child.finalMetrics.find(
      (m) => m.metricName === job.config.objective.metricName,
    );
    const objective = objectiveMetric?.value ?? trial.curve.at(-1);
    if (child.status === 'Completed' || child.status === 'Stopped') {
      const silent = child.status === 'Stopped' && trial.failureReason?.startsWith(SILENT_PREFIX);
      updated = {
        ...updated,
        objectiveStatus: objective === undefined ? 'Failed' : 'Succeeded',
        objectiveValue: objective,
        failureReason:
          objective === undefined && !silent
            ? `The training job ended without reporting the objective metric ${job.config.objective.metricName}`
            : trial.failureReason,
      };
      // A trial the tuner stopped for silence counts as an internal (retryable) failure.
      if (silent) updated = { ...updated, status: 'Failed', errorKind: 'Retryable' };
    } else if (child.status === 'Failed') {
      const reason = child.failureReason ?? 'The training job failed';
      updated = {
        ...updated,
        objectiveStatus: 'Failed',
        objectiveValue: undefined,
        errorKind: /^InternalServerError|^InternalFailure|interrupted by a server restart/i.test(
          reason,
        )
          ? 'Retryable'
          : 'NonRetryable',
        failureReason: reason,
      };
    } else if (child.status === 'InProgress') {
      const silenceMs = this.deps.trialSilenceMs ?? 3_600_000;
      if (now - trial.lastActivityMs > silenceMs && !trial.stopReason) {
        updated = {
          ...updated,
          stopReason: `no status change or metric for ${Math.round(silenceMs / 1000)} s`,
          failureReason: `${SILENT_PREFIX} (no status change or objective metric) for ${Math.round(silenceMs / 1000)} s and was stopped`,
        };
        await this.stopChild(trial.trainingJobName);
      }
    }
    if (updated.status !== trial.status || updated.trainingStartMs !== trial.trainingStartMs)
      updated = { ...updated, lastActivityMs: now };
    await this.deps.repo.saveTrial(updated);
    return updated;
  }

  async stopChild(name: string): Promise<void> {
    try {
      await this.deps.training.stop(name);
    } catch (err) {
      if (!isAppError(err)) this.deps.logger?.warn({ err }, `stopping training job ${name} failed`);
    }
  }
}

/** The child's CreateTrainingJob request: the definition + static and tuned hyperparameters. */
export function childRequest(
  job: TuningJobRecord,
  def: WireTrainingJobDefinition,
  trial: TrialRecord,
): { TrainingJobName: string } & Record<string, unknown> {
  const {
    DefinitionName: _d,
    TuningObjective: _o,
    HyperParameterRanges: _r,
    StaticHyperParameters,
    HyperParameterTuningResourceConfig,
    ResourceConfig,
    AlgorithmSpecification,
    ...rest
  } = def;
  const resource =
    ResourceConfig ??
    (HyperParameterTuningResourceConfig
      ? {
          InstanceType: HyperParameterTuningResourceConfig.InstanceType ?? 'ml.m5.large',
          InstanceCount: HyperParameterTuningResourceConfig.InstanceCount ?? 1,
          VolumeSizeInGB: HyperParameterTuningResourceConfig.VolumeSizeInGB ?? 1,
        }
      : { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 });
  return {
    ...rest,
    TrainingJobName: trial.trainingJobName,
    AlgorithmSpecification: { ...AlgorithmSpecification },
    ResourceConfig: resource,
    HyperParameters: {
      ...StaticHyperParameters,
      ...trial.tunedHyperParameters,
      _tuning_objective_metric: job.config.objective.metricName,
    },
  };
}
