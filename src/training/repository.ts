import type { Kysely } from 'kysely';
import type { ArnContext } from '../shared/arn.js';
import { AppError, ErrorCodes } from '../shared/errors.js';
import {
  jsonColumn,
  NameKeyedRepository,
  parseJsonColumn,
  type NameKeyedOptions,
} from '../store/index.js';
import type { ProcessRef } from './executors/executor.js';
import type { SecondaryStatus, StatusTransition, TrainingJobStatus } from './lifecycle.js';
import type { CreateTrainingJobRequest, TrainingJobSpec } from './spec.js';

/** The last value of one metric a training job reported (FinalMetricDataList). */
export interface FinalMetric {
  readonly metricName: string;
  readonly value: number;
  readonly timestampMs: number;
}

/** The objective a tuning job optimises, carried on the training jobs it launches. */
export interface TuningObjective {
  readonly type: 'Maximize' | 'Minimize';
  readonly metricName: string;
}

/** Why a job was stopped: by StopTrainingJob, or by running past MaxRuntimeInSeconds. */
export type StopReason = 'user' | 'MaxRuntimeExceeded';

/** A stored training job: its request, resolved spec, statuses, times, metrics and artifacts. */
export interface TrainingJobRecord {
  readonly name: string;
  readonly arn: string;
  readonly status: TrainingJobStatus;
  readonly secondaryStatus: SecondaryStatus;
  readonly failureReason: string | undefined;
  /** The create request as received (Tags removed), echoed by Describe. */
  readonly request: Readonly<CreateTrainingJobRequest>;
  readonly spec: TrainingJobSpec;
  readonly transitions: readonly StatusTransition[];
  readonly finalMetrics: readonly FinalMetric[];
  readonly modelArtifacts: string;
  readonly tuningJobArn: string | undefined;
  readonly tuningObjective: TuningObjective | undefined;
  readonly createdAtMs: number;
  readonly lastModifiedMs: number;
  readonly trainingStartMs: number | undefined;
  readonly trainingEndMs: number | undefined;
  /** 1 for the first run; retries after a server restart count up (RetryStrategy). */
  readonly attempt: number;
  readonly process: ProcessRef | undefined;
  readonly stopReason: StopReason | undefined;
}

export type TrainingTables = {
  training_jobs: {
    name: string;
    name_lower: string;
    arn: string;
    status: string;
    secondary_status: string;
    failure_reason: string | null;
    request: string;
    spec: string;
    transitions: string;
    final_metrics: string;
    model_artifacts: string;
    tuning_job_arn: string | null;
    tuning_objective: string | null;
    created_at_ms: number;
    last_modified_ms: number;
    training_start_ms: number | null;
    training_end_ms: number | null;
    attempt: number;
    process: string | null;
    stop_reason: string | null;
  };
  training_metric_points: {
    job: string;
    metric_name: string;
    seq: number;
    timestamp_ms: number;
    value: number;
  };
  training_images: { image: string; command: string; created_at_ms: number };
};

type Row = TrainingTables['training_jobs'];

const num = (v: number | null): number | undefined => (v === null ? undefined : Number(v));

const toRecord = (row: Row): TrainingJobRecord => ({
  name: row.name,
  arn: row.arn,
  status: row.status as TrainingJobStatus,
  secondaryStatus: row.secondary_status as SecondaryStatus,
  failureReason: row.failure_reason ?? undefined,
  request: parseJsonColumn<CreateTrainingJobRequest>(row.request)!,
  spec: parseJsonColumn<TrainingJobSpec>(row.spec)!,
  transitions: parseJsonColumn<StatusTransition[]>(row.transitions) ?? [],
  finalMetrics: parseJsonColumn<FinalMetric[]>(row.final_metrics) ?? [],
  modelArtifacts: row.model_artifacts,
  tuningJobArn: row.tuning_job_arn ?? undefined,
  tuningObjective: parseJsonColumn<TuningObjective>(row.tuning_objective),
  createdAtMs: Number(row.created_at_ms),
  lastModifiedMs: Number(row.last_modified_ms),
  trainingStartMs: num(row.training_start_ms),
  trainingEndMs: num(row.training_end_ms),
  attempt: Number(row.attempt),
  process: parseJsonColumn<ProcessRef>(row.process),
  stopReason: (row.stop_reason ?? undefined) as StopReason | undefined,
});

export type JobPatch = Partial<
  Pick<
    TrainingJobRecord,
    | 'status'
    | 'secondaryStatus'
    | 'failureReason'
    | 'transitions'
    | 'finalMetrics'
    | 'trainingStartMs'
    | 'trainingEndMs'
    | 'attempt'
    | 'process'
    | 'stopReason'
  >
> & { lastModifiedMs: number };

const repositoryOptions: NameKeyedOptions<Row, TrainingJobRecord> = {
  table: 'training_jobs',
  resourceType: 'training-job',
  toRecord,
  alreadyExists: (_name, arn) =>
    new AppError(
      ErrorCodes.InUse,
      `Training job names must be unique within an AWS account and region, and a training job with this name already exists (${arn})`,
    ),
  // As SageMaker's DescribeTrainingJob says it.
  notFound: () => new AppError(ErrorCodes.Validation, 'Requested resource not found.'),
};

/** Training jobs, their metric series and the registered images, in the metadata database. */
export class TrainingJobRepository extends NameKeyedRepository<Row, TrainingJobRecord> {
  constructor(db: Kysely<TrainingTables>, arn: ArnContext) {
    super(db, arn, repositoryOptions);
  }

  private get tables(): Kysely<TrainingTables> {
    return this.db as Kysely<TrainingTables>;
  }

  /** @throws ResourceInUse when the name (case-insensitively) is taken. */
  async insert(record: TrainingJobRecord): Promise<void> {
    await this.insertRow({
      name: record.name,
      name_lower: record.name.toLowerCase(),
      arn: record.arn,
      status: record.status,
      secondary_status: record.secondaryStatus,
      failure_reason: record.failureReason ?? null,
      request: jsonColumn(record.request),
      spec: jsonColumn(record.spec),
      transitions: jsonColumn(record.transitions),
      final_metrics: jsonColumn(record.finalMetrics),
      model_artifacts: record.modelArtifacts,
      tuning_job_arn: record.tuningJobArn ?? null,
      tuning_objective: record.tuningObjective ? jsonColumn(record.tuningObjective) : null,
      created_at_ms: record.createdAtMs,
      last_modified_ms: record.lastModifiedMs,
      training_start_ms: record.trainingStartMs ?? null,
      training_end_ms: record.trainingEndMs ?? null,
      attempt: record.attempt,
      process: record.process ? jsonColumn(record.process) : null,
      stop_reason: record.stopReason ?? null,
    });
  }

  /** Writes `patch`; with `expect`, only while the job's status is still `expect.status`. */
  async update(
    name: string,
    patch: JobPatch,
    expect: { readonly status?: TrainingJobStatus } = {},
  ): Promise<void> {
    const set: Partial<Row> = { last_modified_ms: patch.lastModifiedMs };
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.secondaryStatus !== undefined) set.secondary_status = patch.secondaryStatus;
    if ('failureReason' in patch) set.failure_reason = patch.failureReason ?? null;
    if (patch.transitions !== undefined) set.transitions = jsonColumn(patch.transitions);
    if (patch.finalMetrics !== undefined) set.final_metrics = jsonColumn(patch.finalMetrics);
    if ('trainingStartMs' in patch) set.training_start_ms = patch.trainingStartMs ?? null;
    if ('trainingEndMs' in patch) set.training_end_ms = patch.trainingEndMs ?? null;
    if (patch.attempt !== undefined) set.attempt = patch.attempt;
    if ('process' in patch) set.process = patch.process ? jsonColumn(patch.process) : null;
    if ('stopReason' in patch) set.stop_reason = patch.stopReason ?? null;
    await this.updateRow(name, set, expect);
  }

  /** Jobs not yet in a terminal state, oldest first. */
  listActive(): Promise<TrainingJobRecord[]> {
    return this.records((q) =>
      q
        .where('status', 'in', ['InProgress', 'Stopping'])
        .orderBy('created_at_ms', 'asc')
        .orderBy('name_lower', 'asc'),
    );
  }

  /** The jobs a tuning job launched, oldest first. */
  listByTuningJob(tuningJobArn: string): Promise<TrainingJobRecord[]> {
    return this.records((q) =>
      q
        .where('tuning_job_arn', '=', tuningJobArn)
        .orderBy('created_at_ms', 'asc')
        .orderBy('name_lower', 'asc'),
    );
  }

  async countQueued(): Promise<number> {
    const row = await this.tables
      .selectFrom('training_jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('secondary_status', '=', 'Starting')
      .where('status', '=', 'InProgress')
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async addMetricPoints(
    job: string,
    points: readonly { metricName: string; seq: number; timestampMs: number; value: number }[],
  ): Promise<void> {
    if (points.length === 0) return;
    await this.tables
      .insertInto('training_metric_points')
      .values(
        points.map((p) => ({
          job: job.toLowerCase(),
          metric_name: p.metricName,
          seq: p.seq,
          timestamp_ms: p.timestampMs,
          value: p.value,
        })),
      )
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async metricSeries(
    job: string,
  ): Promise<Record<string, { timestampMs: number; value: number }[]>> {
    const rows = await this.tables
      .selectFrom('training_metric_points')
      .selectAll()
      .where('job', '=', job.toLowerCase())
      .orderBy('metric_name')
      .orderBy('seq')
      .execute();
    const out: Record<string, { timestampMs: number; value: number }[]> = {};
    for (const r of rows)
      (out[r.metric_name] ??= []).push({
        timestampMs: Number(r.timestamp_ms),
        value: Number(r.value),
      });
    return out;
  }

  async metricCounts(job: string): Promise<Record<string, number>> {
    const rows = await this.tables
      .selectFrom('training_metric_points')
      .select(['metric_name', (eb) => eb.fn.max<number>('seq').as('maxSeq')])
      .where('job', '=', job.toLowerCase())
      .groupBy('metric_name')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.metric_name, Number(r.maxSeq) + 1]));
  }

  async registerImage(image: string, command: readonly string[], nowMs: number): Promise<void> {
    await this.tables
      .insertInto('training_images')
      .values({ image, command: jsonColumn(command), created_at_ms: nowMs })
      .onConflict((oc) =>
        oc.column('image').doUpdateSet({ command: jsonColumn(command), created_at_ms: nowMs }),
      )
      .execute();
  }

  async removeImage(image: string): Promise<boolean> {
    const res = await this.tables
      .deleteFrom('training_images')
      .where('image', '=', image)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async images(): Promise<{ image: string; command: string[] }[]> {
    const rows = await this.tables
      .selectFrom('training_images')
      .selectAll()
      .orderBy('image')
      .execute();
    return rows.map((r) => ({
      image: r.image,
      command: parseJsonColumn<string[]>(r.command) ?? [],
    }));
  }
}
