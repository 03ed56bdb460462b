import type { Kysely } from 'kysely';
import { AppError, ErrorCodes, type ArnContext } from '../shared/index.js';
import {
  jsonColumn,
  NameKeyedRepository,
  parseJsonColumn,
  type NameKeyedOptions,
} from '../store/index.js';
import type { Config } from './space.js';
import type { TrialRecord, TuningConfig, TuningJobRecord, TuningJobStatus } from './model.js';

export type TuningTables = {
  tuning_jobs: {
    name: string;
    name_lower: string;
    arn: string;
    status: string;
    failure_reason: string | null;
    request: string;
    config: string;
    created_at_ms: number;
    last_modified_ms: number;
    end_ms: number | null;
    end_reason: string | null;
    jobs_not_improving: number;
    convergence_ms: number | null;
  };
  tuning_trials: {
    tuning_name_lower: string;
    idx: number;
    training_job_name: string;
    config: string;
    tuned: string;
    bracket: number | null;
    status: string;
    objective_status: string;
    objective_value: number | null;
    curve: string;
    error_kind: string | null;
    failure_reason: string | null;
    stop_reason: string | null;
    retry_of: number | null;
    created_at_ms: number;
    training_start_ms: number | null;
    training_end_ms: number | null;
    last_activity_ms: number;
  };
};

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
const optNum = (v: number | null): number | undefined => (v === null ? undefined : Number(v));

function jobFromRow(r: TuningTables['tuning_jobs']): TuningJobRecord {
  return {
    name: r.name,
    arn: r.arn,
    status: r.status as TuningJobStatus,
    failureReason: opt(r.failure_reason),
    request: parseJsonColumn<Record<string, unknown>>(r.request)!,
    config: parseJsonColumn<TuningConfig>(r.config)!,
    createdAtMs: Number(r.created_at_ms),
    lastModifiedMs: Number(r.last_modified_ms),
    endMs: optNum(r.end_ms),
    endReason: opt(r.end_reason),
    jobsNotImproving: Number(r.jobs_not_improving),
    convergenceDetectedMs: optNum(r.convergence_ms),
  };
}

function trialFromRow(r: TuningTables['tuning_trials'], tuningJobName: string): TrialRecord {
  return {
    tuningJobName,
    index: Number(r.idx),
    trainingJobName: r.training_job_name,
    config: parseJsonColumn<Config>(r.config)!,
    tunedHyperParameters: parseJsonColumn<Record<string, string>>(r.tuned)!,
    bracket: optNum(r.bracket),
    status: r.status as TrialRecord['status'],
    objectiveStatus: r.objective_status as TrialRecord['objectiveStatus'],
    objectiveValue: r.objective_value === null ? undefined : Number(r.objective_value),
    curve: parseJsonColumn<number[]>(r.curve) ?? [],
    errorKind: opt(r.error_kind) as TrialRecord['errorKind'],
    failureReason: opt(r.failure_reason),
    stopReason: opt(r.stop_reason),
    retryOf: optNum(r.retry_of),
    createdAtMs: Number(r.created_at_ms),
    trainingStartMs: optNum(r.training_start_ms),
    trainingEndMs: optNum(r.training_end_ms),
    lastActivityMs: Number(r.last_activity_ms),
  };
}

function trialRow(t: TrialRecord): TuningTables['tuning_trials'] {
  return {
    tuning_name_lower: t.tuningJobName.toLowerCase(),
    idx: t.index,
    training_job_name: t.trainingJobName,
    config: jsonColumn(t.config)!,
    tuned: jsonColumn(t.tunedHyperParameters)!,
    bracket: t.bracket ?? null,
    status: t.status,
    objective_status: t.objectiveStatus,
    objective_value: t.objectiveValue ?? null,
    curve: jsonColumn(t.curve)!,
    error_kind: t.errorKind ?? null,
    failure_reason: t.failureReason ?? null,
    stop_reason: t.stopReason ?? null,
    retry_of: t.retryOf ?? null,
    created_at_ms: t.createdAtMs,
    training_start_ms: t.trainingStartMs ?? null,
    training_end_ms: t.trainingEndMs ?? null,
    last_activity_ms: t.lastActivityMs,
  };
}

const repositoryOptions: NameKeyedOptions<TuningTables['tuning_jobs'], TuningJobRecord> = {
  table: 'tuning_jobs',
  resourceType: 'hyper-parameter-tuning-job',
  toRecord: jobFromRow,
  alreadyExists: (name) =>
    new AppError(
      ErrorCodes.InUse,
      `Hyperparameter tuning job '${name}' already exists; choose another name`,
    ),
  // As SageMaker says it for tuning jobs.
  notFound: (name) =>
    new AppError(ErrorCodes.NotFound, `Amazon SageMaker can't find a tuning job with name ${name}`),
};

/** Tuning jobs and their trials. Names are unique case-insensitively (the ARN lower-cases them). */
export class TuningRepository extends NameKeyedRepository<
  TuningTables['tuning_jobs'],
  TuningJobRecord
> {
  constructor(db: Kysely<TuningTables>, arn: ArnContext) {
    super(db, arn, repositoryOptions);
  }

  private get tables(): Kysely<TuningTables> {
    return this.db as Kysely<TuningTables>;
  }

  /** @throws ResourceInUse when the name (case-insensitively) is taken. */
  async insert(job: TuningJobRecord): Promise<void> {
    await this.insertRow({
      name: job.name,
      name_lower: job.name.toLowerCase(),
      arn: job.arn,
      status: job.status,
      failure_reason: job.failureReason ?? null,
      request: jsonColumn(job.request),
      config: jsonColumn(job.config),
      created_at_ms: job.createdAtMs,
      last_modified_ms: job.lastModifiedMs,
      end_ms: job.endMs ?? null,
      end_reason: job.endReason ?? null,
      jobs_not_improving: job.jobsNotImproving,
      convergence_ms: job.convergenceDetectedMs ?? null,
    });
  }

  async update(
    name: string,
    patch: Partial<
      Pick<
        TuningJobRecord,
        | 'status'
        | 'failureReason'
        | 'endMs'
        | 'endReason'
        | 'jobsNotImproving'
        | 'convergenceDetectedMs'
        | 'lastModifiedMs'
      >
    >,
  ): Promise<void> {
    const set: Partial<TuningTables['tuning_jobs']> = {};
    if (patch.status !== undefined) set.status = patch.status;
    if ('failureReason' in patch) set.failure_reason = patch.failureReason ?? null;
    if ('endMs' in patch) set.end_ms = patch.endMs ?? null;
    if ('endReason' in patch) set.end_reason = patch.endReason ?? null;
    if (patch.jobsNotImproving !== undefined) set.jobs_not_improving = patch.jobsNotImproving;
    if ('convergenceDetectedMs' in patch) set.convergence_ms = patch.convergenceDetectedMs ?? null;
    if (patch.lastModifiedMs !== undefined) set.last_modified_ms = patch.lastModifiedMs;
    await this.updateRow(name, set);
  }

  /** Tuning jobs not yet in a terminal state. */
  listActive(): Promise<TuningJobRecord[]> {
    return this.records((q) => q.where('status', 'in', ['InProgress', 'Stopping']));
  }

  async trials(tuningJobName: string): Promise<TrialRecord[]> {
    const rows = await this.tables
      .selectFrom('tuning_trials')
      .selectAll()
      .where('tuning_name_lower', '=', tuningJobName.toLowerCase())
      .orderBy('idx')
      .execute();
    return rows.map((r) => trialFromRow(r, tuningJobName));
  }

  async insertTrial(t: TrialRecord): Promise<void> {
    await this.tables.insertInto('tuning_trials').values(trialRow(t)).execute();
  }

  async saveTrial(t: TrialRecord): Promise<void> {
    const { tuning_name_lower, idx, ...rest } = trialRow(t);
    await this.tables
      .updateTable('tuning_trials')
      .set(rest)
      .where('tuning_name_lower', '=', tuning_name_lower)
      .where('idx', '=', idx)
      .execute();
  }
}
