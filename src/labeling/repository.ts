import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../shared/clock.js';
import { AppError, ErrorCodes } from '../shared/errors.js';
import type { ListPage, ListQuery } from '../shared/list-query.js';
import { listPage, parseJsonColumn, type Db } from '../store/index.js';
import {
  labelingJobStates,
  type JobSpec,
  type LabelCounters,
  type LabelingJobRecord,
  type LabelingJobStatus,
} from './model.js';
import type { WorkteamsTable } from './workteams.js';

/** The labeling context's tables (migrations.ts creates them). */
export type LabelingTables = {
  labeling_jobs: {
    name: string;
    name_lower: string;
    arn: string;
    status: string;
    failure_reason: string | null;
    workteam_arn: string;
    job_reference_code: string;
    spec: string;
    request: string;
    object_count: number;
    iteration: number;
    output_written_ms: number | null;
    created_at_ms: number;
    last_modified_ms: number;
  };
  labeling_objects: {
    job: string;
    object_id: number;
    source_ref: string | null;
    line: string;
    status: string;
    released: number;
    iteration: number;
    declines: number;
    image_width: number | null;
    image_height: number | null;
    initial_value: string | null;
    consolidated: string | null;
    completed_at_ms: number | null;
    /** 1 = labelled by the active-learning loop's model (migration 0520; absent on insert = 0). */
    machine_labeled?: number;
  };
  labeling_tasks: {
    id: string;
    job: string;
    object_id: number;
    iteration: number;
    slot: number;
    status: string;
    released: number;
    available_until_ms: number | null;
    worker_id: string | null;
    worker_name: string | null;
    claimed_at_ms: number | null;
    expires_at_ms: number | null;
    version: number;
    draft: string | null;
    answer: string | null;
    submission_id: string | null;
    submitted_at_ms: number | null;
  };
  labeling_exclusions: {
    job: string;
    object_id: number;
    worker_id: string;
    iteration: number;
    reason: string;
  };
  labeling_al_rounds: {
    job: string;
    round: number;
    status: string;
    batch: string;
    validation: string;
    training_job: string | null;
    model_arn: string | null;
    threshold: number | null;
    estimated_quality: number | null;
    support: number | null;
    machine_labeled: number;
    notice: string | null;
    created_at_ms: number;
    updated_at_ms: number;
  };
};

export type Tables = LabelingTables & WorkteamsTable;
export type JobRow = LabelingTables['labeling_jobs'];
export type ObjectRow = LabelingTables['labeling_objects'];
export type TaskRow = LabelingTables['labeling_tasks'];

/** Rows of a job carry its lower-cased name (names are case-insensitive, as SageMaker's). */
export const jobKey = (name: string): string => name.toLowerCase();

/**
 * The labeling context's queries that more than one part uses, and row ↔ record mapping. The task
 * queue's claim/expire/release transactions stay beside their rules (task-queue.ts) and use `db`.
 */
export class LabelingRepository {
  readonly db: Kysely<Tables>;

  constructor(
    db: Db,
    private readonly clock: Clock,
  ) {
    this.db = db.withTables<Tables>() as unknown as Kysely<Tables>;
  }

  // ---- jobs ----------------------------------------------------------------------------------

  /** Inserts a new job; false when a job of that name (any case) exists. */
  async insertJob(row: JobRow): Promise<boolean> {
    const res = await this.db
      .insertInto('labeling_jobs')
      .values(row)
      .onConflict((oc) => oc.column('name_lower').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async findJob(name: string): Promise<LabelingJobRecord | undefined> {
    const row = await this.db
      .selectFrom('labeling_jobs')
      .selectAll()
      .where('name_lower', '=', jobKey(name))
      .executeTakeFirst();
    return row ? toJob(row) : undefined;
  }

  /** @throws ResourceNotFound (as DescribeLabelingJob / StopLabelingJob answer). */
  async getJob(name: string): Promise<LabelingJobRecord> {
    const job = await this.findJob(name);
    if (!job) {
      throw new AppError(ErrorCodes.NotFound, `Could not find requested job with name ${name}`);
    }
    return job;
  }

  async listJobs(q: ListQuery, workteamArn?: string): Promise<ListPage<LabelingJobRecord>> {
    let base = this.db.selectFrom('labeling_jobs').selectAll();
    if (workteamArn) base = base.where('workteam_arn', '=', workteamArn.toLowerCase());
    const page = await listPage(base, q);
    return { items: page.items.map(toJob), nextOffset: page.nextOffset };
  }

  /** Names and statuses of the jobs in one of `statuses`. */
  async jobsInStatus(
    statuses: readonly LabelingJobStatus[],
  ): Promise<{ name: string; status: LabelingJobStatus }[]> {
    const rows = await this.db
      .selectFrom('labeling_jobs')
      .select(['name', 'status'])
      .where('status', 'in', statuses)
      .execute();
    return rows.map((r) => ({ name: r.name, status: r.status as LabelingJobStatus }));
  }

  /** The jobs of these teams in one of `statuses`, oldest first. */
  async jobsOfTeams(
    workteamArns: readonly string[],
    statuses: readonly LabelingJobStatus[],
  ): Promise<LabelingJobRecord[]> {
    if (workteamArns.length === 0) return [];
    const rows = await this.db
      .selectFrom('labeling_jobs')
      .selectAll()
      .where('workteam_arn', 'in', workteamArns)
      .where('status', 'in', statuses)
      .orderBy('created_at_ms', 'asc')
      .execute();
    return rows.map(toJob);
  }

  /**
   * Moves a job `from → to` when it is still `from` (a compare-and-set); false when it was not.
   * `from === to` only updates the failure reason and the time.
   * @throws AppError InternalFailure when the table does not allow the move (a bug).
   */
  async setStatus(
    name: string,
    from: LabelingJobStatus,
    to: LabelingJobStatus,
    patch: { failureReason?: string; outputWritten?: boolean } = {},
  ): Promise<boolean> {
    if (from !== to) labelingJobStates.assertTransition(from, to);
    const now = this.clock.nowMs();
    const res = await this.db
      .updateTable('labeling_jobs')
      .set({
        status: to,
        last_modified_ms: now,
        ...(patch.failureReason !== undefined
          ? { failure_reason: patch.failureReason.slice(0, 1024) }
          : {}),
        ...(patch.outputWritten ? { output_written_ms: now } : {}),
      })
      .where('name_lower', '=', jobKey(name))
      .where('status', '=', from)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  // ---- objects -------------------------------------------------------------------------------

  async counters(name: string): Promise<LabelCounters> {
    const rows = await this.db
      .selectFrom('labeling_objects')
      .select(['status', 'machine_labeled', (eb) => eb.fn.countAll<number>().as('n')])
      .where('job', '=', jobKey(name))
      .groupBy(['status', 'machine_labeled'])
      .execute();
    const by = (s: string, machine?: number) =>
      rows
        .filter((r) => r.status === s && (machine === undefined || r.machine_labeled === machine))
        .reduce((n, r) => n + Number(r.n), 0);
    const labeled = by('labeled');
    const machine = by('labeled', 1);
    return {
      totalLabeled: labeled,
      humanLabeled: labeled - machine,
      machineLabeled: machine,
      failedNonRetryableError: by('failed'),
      unlabeled: by('pending'),
    };
  }

  /** Objects still waiting for answers. */
  async pendingObjectCount(name: string): Promise<number> {
    const row = await this.db
      .selectFrom('labeling_objects')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('job', '=', jobKey(name))
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async findObject(key: string, objectId: number): Promise<ObjectRow | undefined> {
    return this.db
      .selectFrom('labeling_objects')
      .selectAll()
      .where('job', '=', key)
      .where('object_id', '=', objectId)
      .executeTakeFirst();
  }

  async getObject(key: string, objectId: number): Promise<ObjectRow> {
    const obj = await this.findObject(key, objectId);
    if (!obj) throw new Error(`labeling job ${key} has no object ${objectId}`);
    return obj;
  }

  /** Every object of the job, in manifest order. */
  async objects(key: string): Promise<ObjectRow[]> {
    return this.db
      .selectFrom('labeling_objects')
      .selectAll()
      .where('job', '=', key)
      .orderBy('object_id')
      .execute();
  }

  async updateObject(
    key: string,
    objectId: number,
    patch: Partial<Omit<ObjectRow, 'job' | 'object_id'>>,
  ): Promise<void> {
    await this.db
      .updateTable('labeling_objects')
      .set(patch)
      .where('job', '=', key)
      .where('object_id', '=', objectId)
      .execute();
  }

  // ---- tasks (slots) -------------------------------------------------------------------------

  async findTask(taskId: string): Promise<TaskRow | undefined> {
    return this.db
      .selectFrom('labeling_tasks')
      .selectAll()
      .where('id', '=', taskId)
      .executeTakeFirst();
  }

  /** The slots of one object in one iteration, optionally only those in `status`. */
  async slots(
    key: string,
    objectId: number,
    iteration: number,
    status?: string,
  ): Promise<TaskRow[]> {
    let q = this.db
      .selectFrom('labeling_tasks')
      .selectAll()
      .where('job', '=', key)
      .where('object_id', '=', objectId)
      .where('iteration', '=', iteration);
    if (status) q = q.where('status', '=', status);
    return q.execute();
  }
}

/** A fresh open slot. */
export function newTask(
  job: string,
  objectId: number,
  iteration: number,
  slot: number,
  released: boolean,
  availableUntil: number,
): TaskRow {
  return {
    id: randomUUID(),
    job,
    object_id: objectId,
    iteration,
    slot,
    status: 'open',
    released: released ? 1 : 0,
    available_until_ms: availableUntil,
    worker_id: null,
    worker_name: null,
    claimed_at_ms: null,
    expires_at_ms: null,
    version: 0,
    draft: null,
    answer: null,
    submission_id: null,
    submitted_at_ms: null,
  };
}

export function toJob(row: JobRow): LabelingJobRecord {
  return {
    name: row.name,
    arn: row.arn,
    status: row.status as LabelingJobStatus,
    failureReason: row.failure_reason ?? undefined,
    workteamArn: row.workteam_arn,
    jobReferenceCode: row.job_reference_code,
    spec: parseJsonColumn<JobSpec>(row.spec)!,
    request: parseJsonColumn<Record<string, unknown>>(row.request) ?? {},
    objectCount: Number(row.object_count),
    iteration: Number(row.iteration),
    outputWritten: row.output_written_ms !== null,
    createdAtMs: Number(row.created_at_ms),
    lastModifiedMs: Number(row.last_modified_ms),
  };
}
