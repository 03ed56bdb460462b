import { jsonColumn, parseJsonColumn } from '../store/index.js';
import { consolidateBoxes, consolidateLabel, consolidateLabels } from './consolidation.js';
import type { LabelingContext } from './context.js';
import {
  labelingJobStates,
  labelingTaskStates,
  type Answer,
  type JobSpec,
  type LabelingJobRecord,
  type LabelingJobStatus,
} from './model.js';
import type { Consolidated } from './output.js';
import type { OutputWriter } from './output-writer.js';
import { jobKey, type ObjectRow, type TaskRow } from './repository.js';

/** The job moves this part makes on its own (checked against the table when the module loads). */
const COMPLETE = labelingJobStates.transition('InProgress', 'Completed');
const LIMIT_REACHED = labelingJobStates.transition('InProgress', 'Stopping');

/**
 * Finishing objects and jobs: an object is consolidated once no slot of it is open or claimed,
 * more objects are released as others finish, and a job ends (Completed, or Stopped with partial
 * results) only after its output is written.
 */
export class Completion {
  constructor(
    private readonly ctx: LabelingContext,
    private readonly output: OutputWriter,
  ) {}

  /** An object finishes when none of its slots is open or claimed: labeled with ≥ 1 answer, else failed. */
  async maybeFinishObject(jobName: string, objectId: number): Promise<void> {
    const { repo } = this.ctx;
    const key = jobKey(jobName);
    const job = await repo.getJob(jobName);
    const obj = await repo.findObject(key, objectId);
    if (!obj || obj.status !== 'pending') return;
    const slots = await repo.slots(key, objectId, obj.iteration);
    if (slots.some((s) => s.status === 'open' || s.status === 'claimed')) return;
    const submitted = slots.filter((s) => s.status === 'submitted');
    const now = this.ctx.now();
    const result = submitted.length ? consolidateObject(job.spec, submitted, obj) : undefined;
    const res = await repo.db
      .updateTable('labeling_objects')
      .set({
        status: result ? 'labeled' : 'failed',
        consolidated: result ? jsonColumn(result) : null,
        completed_at_ms: now,
      })
      .where('job', '=', key)
      .where('object_id', '=', objectId)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return;
    if (submitted.length) await this.output.writeWorkerResponses(job, obj, submitted);
    await this.releaseMore(job);
    await this.maybeComplete(job.name);
  }

  /** Completes an InProgress job with nothing left, or stops it at its labeled-object limit. */
  async maybeComplete(jobName: string): Promise<void> {
    const { repo } = this.ctx;
    const job = await repo.getJob(jobName);
    if (job.status !== 'InProgress') return;
    const c = await repo.counters(job.name);
    const limitReached =
      (job.spec.maxHumanLabeledObjectCount !== undefined &&
        c.humanLabeled >= job.spec.maxHumanLabeledObjectCount) ||
      (job.spec.maxPercentageOfInputDatasetLabeled !== undefined &&
        job.objectCount > 0 &&
        (c.humanLabeled * 100) / job.objectCount >= job.spec.maxPercentageOfInputDatasetLabeled);
    if (c.unlabeled > 0 && !limitReached) return;
    if (c.unlabeled > 0) {
      if (await repo.setStatus(job.name, LIMIT_REACHED.from, LIMIT_REACHED.to))
        await this.finalize(job.name, 'Stopping', 'Stopped');
      return;
    }
    await this.finalize(job.name, COMPLETE.from, COMPLETE.to);
  }

  /**
   * Writes the job's output (consolidation request/response of the iteration and the output
   * manifest) and only then moves it to `to`: when a job says Completed its manifest exists.
   * A failed write moves it to Failed instead, with the reason.
   */
  async finalize(jobName: string, from: LabelingJobStatus, to: LabelingJobStatus): Promise<void> {
    const { repo } = this.ctx;
    const job = await repo.getJob(jobName);
    if (job.status !== from) return;
    labelingJobStates.assertTransition(from, to);
    const key = jobKey(job.name);
    if (to === 'Stopped') {
      // Partial results: objects with some answers are consolidated; open work closes.
      const pending = await repo.db
        .selectFrom('labeling_objects')
        .select(['object_id'])
        .where('job', '=', key)
        .where('status', '=', 'pending')
        .execute();
      await repo.db
        .updateTable('labeling_tasks')
        .set({ status: 'closed' })
        .where('job', '=', key)
        .where('status', 'in', labelingTaskStates.sources('closed'))
        .execute();
      for (const p of pending) await this.finishStoppedObject(job, p.object_id);
    }
    try {
      await this.output.writeOutput(job);
    } catch (err) {
      await repo.setStatus(job.name, from, 'Failed', {
        failureReason: `Could not write the output to ${job.spec.outputPath}: ${(err as Error).message}`,
      });
      return;
    }
    await repo.setStatus(job.name, from, to, { outputWritten: true });
  }

  /** Keeps MaxConcurrentTaskCount objects out for labeling. */
  async releaseMore(job: LabelingJobRecord): Promise<void> {
    const { db } = this.ctx.repo;
    const key = jobKey(job.name);
    const out = await db
      .selectFrom('labeling_objects')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('job', '=', key)
      .where('status', '=', 'pending')
      .where('released', '=', 1)
      .executeTakeFirst();
    const room = job.spec.maxConcurrentTaskCount - Number(out?.n ?? 0);
    if (room <= 0) return;
    const next = await db
      .selectFrom('labeling_objects')
      .select('object_id')
      .where('job', '=', key)
      .where('released', '=', 0)
      .orderBy('object_id')
      .limit(room)
      .execute();
    if (next.length === 0) return;
    const ids = next.map((n) => n.object_id);
    const until = this.ctx.now() + job.spec.availabilityLifetimeSeconds * 1000;
    await db
      .updateTable('labeling_objects')
      .set({ released: 1 })
      .where('job', '=', key)
      .where('object_id', 'in', ids)
      .execute();
    await db
      .updateTable('labeling_tasks')
      .set({ released: 1, available_until_ms: until })
      .where('job', '=', key)
      .where('object_id', 'in', ids)
      .execute();
  }

  /** A pending object of a stopping job: consolidated from the answers it has, without cascading. */
  private async finishStoppedObject(job: LabelingJobRecord, objectId: number): Promise<void> {
    const { repo } = this.ctx;
    const key = jobKey(job.name);
    const obj = await repo.getObject(key, objectId);
    const submitted = await repo.slots(key, objectId, obj.iteration, 'submitted');
    if (submitted.length === 0) {
      // Unlabeled when stopped: left out of the labels, copied verbatim into the output manifest.
      if (obj.iteration > 1 && obj.consolidated)
        await repo.updateObject(key, objectId, { status: 'labeled' });
      return;
    }
    const result = consolidateObject(job.spec, submitted, obj);
    await repo.updateObject(key, objectId, {
      status: 'labeled',
      consolidated: jsonColumn(result),
      completed_at_ms: this.ctx.now(),
    });
    await this.output.writeWorkerResponses(job, obj, submitted);
  }
}

/** One object's consolidated answer from its submitted slots (the job's task type decides how). */
export function consolidateObject(
  spec: JobSpec,
  submitted: readonly TaskRow[],
  obj: ObjectRow,
): Consolidated {
  const answers = submitted.map((s) => ({
    worker: s.worker_id ?? '',
    answer: parseJsonColumn<Answer>(s.answer)!,
  }));
  switch (spec.taskType) {
    case 'bounding-box':
    case 'adjustment-bounding-box': {
      const boxAnswers = answers.filter((a) => a.answer.kind === 'boxes') as {
        worker: string;
        answer: Extract<Answer, { kind: 'boxes' }>;
      }[];
      const first = boxAnswers[0]?.answer;
      return {
        kind: 'boxes',
        boxes: consolidateBoxes(
          boxAnswers.map((a) => ({ workerId: a.worker, boxes: a.answer.boxes })),
        ),
        imageWidth: obj.image_width ?? first?.imageWidth ?? 0,
        imageHeight: obj.image_height ?? first?.imageHeight ?? 0,
        ...(spec.taskType === 'adjustment-bounding-box'
          ? { adjusted: boxAnswers.some((a) => a.answer.initialValueModified) }
          : {}),
      };
    }
    case 'image-classification':
      return {
        kind: 'label',
        result: consolidateLabel(
          answers.map((a) => ({
            workerId: a.worker,
            label: (a.answer as { label: string }).label,
          })),
        )!,
      };
    case 'image-classification-multilabel':
      return {
        kind: 'labels',
        results: consolidateLabels(
          answers.map((a) => ({
            workerId: a.worker,
            labels: (a.answer as Extract<Answer, { kind: 'labels' }>).labels,
          })),
        ),
      };
    case 'verification-bounding-box':
      return {
        kind: 'verification',
        result: consolidateLabel(
          answers.map((a) => ({
            workerId: a.worker,
            label: (a.answer as { label: string }).label,
          })),
        )!,
        comments: answers
          .map((a) => (a.answer as { comment?: string }).comment ?? '')
          .filter((c) => c !== ''),
      };
  }
}
