import { AppError, ErrorCodes } from '../shared/errors.js';
import { parseJsonColumn } from '../store/index.js';
import { iou } from './consolidation.js';
import type { LabelingContext } from './context.js';
import { labelingJobStates, type Answer } from './model.js';
import type { Consolidated } from './output.js';
import { jobKey, newTask } from './repository.js';

/** A review page row: one object, its consolidated result and its workers' answers. */
export interface ReviewObject {
  objectId: number;
  sourceRef: string | null;
  status: string;
  iteration: number;
  consolidated: Consolidated | undefined;
  answers: { worker: string; answer: Answer; submittedAtMs: number }[];
  imageWidth: number | null;
  imageHeight: number | null;
}

/** A worker's record on one job (the review page's table). */
export interface WorkerStats {
  worker: string;
  submitted: number;
  medianSeconds: number;
  skipped: number;
  declined: number;
  meanIou: number | null;
  agreement: number | null;
}

/** A review that sends objects of a Completed job back reopens it (checked at load). */
const REOPEN = labelingJobStates.transition('Completed', 'InProgress');

/** What a reviewer sees and does: objects with their answers, worker statistics, relabelling. */
export class Review {
  constructor(private readonly ctx: LabelingContext) {}

  /** A page of the job's objects (optionally of one status) with the answers of their iteration. */
  async reviewObjects(
    jobName: string,
    offset: number,
    limit: number,
    status?: string,
  ): Promise<{ total: number; items: ReviewObject[] }> {
    const { repo } = this.ctx;
    const job = await repo.getJob(jobName);
    const key = jobKey(job.name);
    let q = repo.db.selectFrom('labeling_objects').selectAll().where('job', '=', key);
    if (status) q = q.where('status', '=', status);
    const rows = await q.orderBy('object_id').limit(limit).offset(offset).execute();
    let countQ = repo.db
      .selectFrom('labeling_objects')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('job', '=', key);
    if (status) countQ = countQ.where('status', '=', status);
    const total = Number((await countQ.executeTakeFirst())?.n ?? 0);
    const ids = rows.map((r) => r.object_id);
    const answers = ids.length
      ? await repo.db
          .selectFrom('labeling_tasks')
          .selectAll()
          .where('job', '=', key)
          .where('status', '=', 'submitted')
          .where('object_id', 'in', ids)
          .execute()
      : [];
    return {
      total,
      items: rows.map((r) => ({
        objectId: r.object_id,
        sourceRef: r.source_ref,
        status: r.status,
        iteration: r.iteration,
        consolidated: parseJsonColumn<Consolidated>(r.consolidated),
        imageWidth: r.image_width,
        imageHeight: r.image_height,
        answers: answers
          .filter((a) => a.object_id === r.object_id && a.iteration === r.iteration)
          .map((a) => ({
            worker: a.worker_name ?? '',
            answer: parseJsonColumn<Answer>(a.answer)!,
            submittedAtMs: Number(a.submitted_at_ms),
          })),
      })),
    };
  }

  /** Per worker: answers, median seconds per task, skips/declines, mean IoU of their boxes to the consolidated ones. */
  async workerStats(jobName: string): Promise<WorkerStats[]> {
    const { repo } = this.ctx;
    const job = await repo.getJob(jobName);
    const key = jobKey(job.name);
    const tasks = await repo.db
      .selectFrom('labeling_tasks')
      .selectAll()
      .where('job', '=', key)
      .where('status', '=', 'submitted')
      .execute();
    const objects = await repo.db
      .selectFrom('labeling_objects')
      .select(['object_id', 'iteration', 'consolidated'])
      .where('job', '=', key)
      .where('status', '=', 'labeled')
      .execute();
    const consolidated = new Map(
      objects.map((o) => [
        `${o.object_id}/${o.iteration}`,
        parseJsonColumn<Consolidated>(o.consolidated),
      ]),
    );
    const exclusions = await repo.db
      .selectFrom('labeling_exclusions')
      .select(['worker_id', 'reason'])
      .where('job', '=', key)
      .execute();
    const names = new Map<string, string>();
    const stats = new Map<string, { times: number[]; ious: number[]; agree: number[] }>();
    for (const t of tasks) {
      const id = t.worker_id ?? '';
      names.set(id, t.worker_name ?? id);
      const s = stats.get(id) ?? { times: [], ious: [], agree: [] };
      s.times.push((Number(t.submitted_at_ms) - Number(t.claimed_at_ms)) / 1000);
      const c = consolidated.get(`${t.object_id}/${t.iteration}`);
      const a = parseJsonColumn<Answer>(t.answer);
      if (c?.kind === 'boxes' && a?.kind === 'boxes') {
        for (const r of c.boxes) s.ious.push(Math.max(0, ...a.boxes.map((b) => iou(b, r))));
      } else if (c?.kind === 'label' && a?.kind === 'label')
        s.agree.push(a.label === c.result.label ? 1 : 0);
      stats.set(id, s);
    }
    const mean = (xs: number[]) =>
      xs.length ? Math.round((xs.reduce((p, q) => p + q, 0) / xs.length) * 1000) / 1000 : null;
    return [...stats.entries()]
      .map(([id, s]) => {
        const sorted = [...s.times].sort((a, b) => a - b);
        return {
          worker: names.get(id) ?? id,
          submitted: s.times.length,
          medianSeconds: Math.round((sorted[Math.floor(sorted.length / 2)] ?? 0) * 10) / 10,
          skipped: exclusions.filter((e) => e.worker_id === id && e.reason === 'skipped').length,
          declined: exclusions.filter((e) => e.worker_id === id && e.reason === 'declined').length,
          meanIou: mean(s.ious),
          agreement: mean(s.agree),
        };
      })
      .sort((a, b) => (a.worker < b.worker ? -1 : 1));
  }

  /**
   * Sends objects back for relabelling: a new iteration with N fresh slots; a Completed job reopens.
   * @throws ValidationException when the job is not InProgress/Completed or has no such object.
   */
  async relabel(jobName: string, objectIds: readonly number[]): Promise<void> {
    const { repo } = this.ctx;
    const job = await repo.getJob(jobName);
    if (job.status !== 'InProgress' && job.status !== 'Completed') {
      throw new AppError(
        ErrorCodes.Validation,
        `The labeling job ${job.name} is ${job.status}; only InProgress or Completed jobs take objects back`,
      );
    }
    const key = jobKey(job.name);
    const now = this.ctx.now();
    await repo.db.transaction().execute(async (trx) => {
      for (const id of objectIds) {
        const obj = await trx
          .selectFrom('labeling_objects')
          .selectAll()
          .where('job', '=', key)
          .where('object_id', '=', id)
          .executeTakeFirst();
        if (!obj) throw new AppError(ErrorCodes.Validation, `The job has no object ${id}`);
        if (obj.status === 'pending') continue;
        const iteration = obj.iteration + 1;
        await trx
          .updateTable('labeling_objects')
          .set({ status: 'pending', released: 1, iteration, declines: 0, completed_at_ms: null })
          .where('job', '=', key)
          .where('object_id', '=', id)
          .execute();
        for (let slot = 0; slot < job.spec.workersPerObject; slot++) {
          await trx
            .insertInto('labeling_tasks')
            .values(
              newTask(
                key,
                id,
                iteration,
                slot,
                true,
                now + job.spec.availabilityLifetimeSeconds * 1000,
              ),
            )
            .execute();
        }
        await trx
          .updateTable('labeling_jobs')
          .set((eb) => ({ iteration: eb.fn('max', [eb.ref('iteration'), eb.val(iteration)]) }))
          .where('name_lower', '=', key)
          .execute();
      }
      if (job.status === REOPEN.from) {
        await trx
          .updateTable('labeling_jobs')
          .set({ status: REOPEN.to, last_modified_ms: now })
          .where('name_lower', '=', key)
          .where('status', '=', REOPEN.from)
          .execute();
      }
    });
  }
}
