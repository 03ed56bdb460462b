import { jsonColumn, parseJsonColumn } from '../store/index.js';
import { validateAnswer } from './answer-validation.js';
import type { Completion } from './completion.js';
import type { LabelingContext } from './context.js';
import type { ImageGrants } from './image-grants.js';
import {
  labelingTaskStates,
  type Box,
  type LabelingJobRecord,
  type TaskView,
  type Worker,
} from './model.js';
import type { Consolidated } from './output.js';
import type { Prelabel } from './prelabel.js';
import { jobKey, type TaskRow } from './repository.js';
import { TaskError } from './task-error.js';

const MAX_DRAFT_BYTES = 1024 * 1024;

/** Every slot move the queue makes, checked against TASK_TRANSITIONS by the compiler and at load. */
const CLAIM = labelingTaskStates.transition('open', 'claimed');
const SUBMIT = labelingTaskStates.transition('claimed', 'submitted');
/** Expiry, skip and decline return a claimed slot to the queue. */
const RETURN = labelingTaskStates.transition('claimed', 'open');
/** Availability lifetime over, or N workers declined the object. */
const CLOSE = labelingTaskStates.transition('open', 'closed');

/** The slot fields a return to the queue clears: the claim and its draft. */
const UNCLAIMED = {
  worker_id: null,
  worker_name: null,
  claimed_at_ms: null,
  expires_at_ms: null,
  draft: null,
} as const;

/**
 * The workers' task queue: claim (atomic, never two holders), drafts with versions, idempotent
 * submit, skip/decline, and the sweeps that expire claims and close slots past their lifetime.
 */
export class TaskQueue {
  constructor(
    private readonly ctx: LabelingContext,
    private readonly completion: Completion,
    private readonly images: ImageGrants,
    private readonly prelabel: Prelabel,
  ) {}

  // ---- sweeps (the background tick and claimNext run them) ---------------------------------

  /** Claims that ran past their time limit go back to the queue (their drafts with them). */
  async expireClaims(job: string): Promise<void> {
    const now = this.ctx.now();
    const key = jobKey(job);
    await this.ctx.repo.db.transaction().execute(async (trx) => {
      const stale = await trx
        .selectFrom('labeling_tasks')
        .select(['id', 'object_id', 'worker_id', 'iteration'])
        .where('job', '=', key)
        .where('status', '=', RETURN.from)
        .where('expires_at_ms', '<=', now)
        .execute();
      if (stale.length === 0) return;
      for (const t of stale) {
        await trx
          .deleteFrom('labeling_exclusions')
          .where('job', '=', key)
          .where('worker_id', '=', t.worker_id!)
          .where('object_id', '=', t.object_id)
          .where('iteration', '=', t.iteration)
          .where('reason', '=', 'assigned')
          .execute();
      }
      await trx
        .updateTable('labeling_tasks')
        .set((eb) => ({ status: RETURN.to, ...UNCLAIMED, version: eb('version', '+', 1) }))
        .where(
          'id',
          'in',
          stale.map((t) => t.id),
        )
        .execute();
    });
  }

  /** Open slots past their availability lifetime close; objects with no slot left finish. */
  async closeUnavailable(job: string): Promise<void> {
    const { db } = this.ctx.repo;
    const key = jobKey(job);
    const now = this.ctx.now();
    const stale = await db
      .selectFrom('labeling_tasks')
      .select(['object_id'])
      .distinct()
      .where('job', '=', key)
      .where('status', '=', CLOSE.from)
      .where('released', '=', 1)
      .where('available_until_ms', '<=', now)
      .execute();
    if (stale.length === 0) return;
    await db
      .updateTable('labeling_tasks')
      .set({ status: CLOSE.to })
      .where('job', '=', key)
      .where('status', '=', CLOSE.from)
      .where('released', '=', 1)
      .where('available_until_ms', '<=', now)
      .execute();
    for (const s of stale) await this.completion.maybeFinishObject(job, s.object_id);
  }

  // ---- the worker's side ---------------------------------------------------------------------

  /** Jobs of the worker's teams that are InProgress, with what is left for them. */
  async jobsForWorker(
    worker: Worker,
  ): Promise<{ job: LabelingJobRecord; available: number; claimedTaskId: string | undefined }[]> {
    const { db } = this.ctx.repo;
    const teams = await this.ctx.workteams.teamsOfGroups(worker.groups);
    const jobs = await this.ctx.repo.jobsOfTeams(
      teams.map((t) => t.arn),
      ['InProgress'],
    );
    const out = [];
    for (const job of jobs) {
      const key = jobKey(job.name);
      const now = this.ctx.now();
      const claimed = await db
        .selectFrom('labeling_tasks')
        .select('id')
        .where('job', '=', key)
        .where('worker_id', '=', worker.id)
        .where('status', '=', 'claimed')
        .where('expires_at_ms', '>', now)
        .executeTakeFirst();
      const available = await db
        .selectFrom('labeling_tasks as t')
        .select((eb) => eb.fn.count<number>('t.object_id').distinct().as('n'))
        .where('t.job', '=', key)
        .where('t.status', '=', 'open')
        .where('t.released', '=', 1)
        .where('t.available_until_ms', '>', now)
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom('labeling_exclusions as e')
                .select('e.object_id')
                .whereRef('e.job', '=', 't.job')
                .where('e.worker_id', '=', worker.id)
                .whereRef('e.object_id', '=', 't.object_id')
                .whereRef('e.iteration', '=', 't.iteration'),
            ),
          ),
        )
        .executeTakeFirst();
      out.push({ job, available: Number(available?.n ?? 0), claimedTaskId: claimed?.id });
    }
    return out;
  }

  /**
   * Hands the worker their current task of the job, or claims the next open slot: atomically in SQL
   * (`UPDATE … WHERE id = ? AND status = 'open'`), never a slot of an object they already hold,
   * answered, skipped or declined. Undefined when nothing is left for them.
   * @throws TaskError NotFound when the job is not one of the worker's teams.
   */
  async claimNext(worker: Worker, jobName: string): Promise<TaskView | undefined> {
    const { db } = this.ctx.repo;
    const job = await this.jobForWorker(worker, jobName);
    if (job.status !== 'InProgress') return undefined;
    const key = jobKey(job.name);
    const now = this.ctx.now();
    await this.expireClaims(job.name);
    const current = await db
      .selectFrom('labeling_tasks')
      .selectAll()
      .where('job', '=', key)
      .where('worker_id', '=', worker.id)
      .where('status', '=', 'claimed')
      .orderBy('claimed_at_ms')
      .executeTakeFirst();
    if (current) return this.view(job, current, worker);
    for (let attempt = 0; attempt < 5; attempt++) {
      const claimed = await db.transaction().execute(async (trx) => {
        const candidate = await trx
          .selectFrom('labeling_tasks as t')
          .select(['t.id', 't.object_id', 't.iteration'])
          .where('t.job', '=', key)
          .where('t.status', '=', CLAIM.from)
          .where('t.released', '=', 1)
          .where('t.available_until_ms', '>', now)
          .where((eb) =>
            eb.not(
              eb.exists(
                eb
                  .selectFrom('labeling_exclusions as e')
                  .select('e.object_id')
                  .where('e.job', '=', key)
                  .where('e.worker_id', '=', worker.id)
                  .whereRef('e.object_id', '=', 't.object_id')
                  .whereRef('e.iteration', '=', 't.iteration'),
              ),
            ),
          )
          .orderBy('t.object_id')
          .orderBy('t.slot')
          .limit(1)
          .executeTakeFirst();
        if (!candidate) return null;
        const res = await trx
          .updateTable('labeling_tasks')
          .set((eb) => ({
            status: CLAIM.to,
            worker_id: worker.id,
            worker_name: worker.username,
            claimed_at_ms: now,
            expires_at_ms: now + job.spec.taskTimeLimitSeconds * 1000,
            draft: null,
            version: eb('version', '+', 1),
          }))
          .where('id', '=', candidate.id)
          .where('status', '=', CLAIM.from)
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) === 0) return undefined; // lost a race: try again
        await trx
          .insertInto('labeling_exclusions')
          .values({
            job: key,
            object_id: candidate.object_id,
            worker_id: worker.id,
            iteration: candidate.iteration,
            reason: 'assigned',
          })
          .execute();
        return trx
          .selectFrom('labeling_tasks')
          .selectAll()
          .where('id', '=', candidate.id)
          .executeTakeFirstOrThrow();
      });
      if (claimed === null) return undefined;
      if (claimed) return this.view(job, claimed, worker);
    }
    return undefined;
  }

  /** The worker's own claimed task (a reload). @throws TaskError NotFound / Gone */
  async getTask(worker: Worker, taskId: string): Promise<TaskView> {
    const { job, task } = await this.ownTask(worker, taskId);
    return this.view(job, task, worker);
  }

  /**
   * Saves the worker's draft; `version` must be the task's current one.
   * @throws TaskError Conflict (stale version, with the current one), Gone, Invalid (too large).
   */
  async saveDraft(
    worker: Worker,
    taskId: string,
    version: number,
    draft: unknown,
  ): Promise<{ version: number }> {
    const { task } = await this.ownTask(worker, taskId);
    if (task.status !== 'claimed')
      throw new TaskError('Gone', 'This task is no longer yours to edit');
    const text = JSON.stringify(draft ?? null);
    if (text.length > MAX_DRAFT_BYTES)
      throw new TaskError('Invalid', `A draft is at most ${MAX_DRAFT_BYTES} bytes`);
    const res = await this.ctx.repo.db
      .updateTable('labeling_tasks')
      .set((eb) => ({ draft: text, version: eb('version', '+', 1) }))
      .where('id', '=', taskId)
      .where('worker_id', '=', worker.id)
      .where('status', '=', 'claimed')
      .where('version', '=', version)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) {
      throw new TaskError(
        'Conflict',
        `The task was saved elsewhere (version ${task.version}, you sent ${version}); reload it`,
        task.version,
      );
    }
    return { version: version + 1 };
  }

  /**
   * Submits an answer. Idempotent on `submissionId`: a retried submit returns the first result and
   * stores one answer. A stale `version` gets Conflict (409); a claim that expired, Gone (410).
   */
  async submit(
    worker: Worker,
    taskId: string,
    version: number,
    submissionId: string,
    rawAnswer: unknown,
  ): Promise<{ version: number }> {
    const { repo } = this.ctx;
    const { job, task } = await this.ownTask(worker, taskId);
    if (task.status === 'submitted') {
      if (task.submission_id === submissionId) return { version: task.version };
      throw new TaskError('Conflict', 'This task was already submitted', task.version);
    }
    if (task.status !== SUBMIT.from)
      throw new TaskError('Gone', 'This task is no longer yours to submit');
    const answer = validateAnswer(job.spec, rawAnswer);
    const now = this.ctx.now();
    const res = await repo.db
      .updateTable('labeling_tasks')
      .set((eb) => ({
        status: SUBMIT.to,
        answer: jsonColumn(answer),
        submission_id: submissionId,
        submitted_at_ms: now,
        draft: null,
        version: eb('version', '+', 1),
      }))
      .where('id', '=', taskId)
      .where('worker_id', '=', worker.id)
      .where('status', '=', SUBMIT.from)
      .where('version', '=', version)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) {
      const again = await repo.findTask(taskId);
      if (again?.status === 'submitted' && again.submission_id === submissionId)
        return { version: again.version };
      throw new TaskError(
        'Conflict',
        `The task changed since you loaded it (version ${again?.version ?? '?'}, you sent ${version}); reload it`,
        again?.version,
      );
    }
    await repo.db
      .updateTable('labeling_exclusions')
      .set({ reason: 'answered' })
      .where('job', '=', task.job)
      .where('worker_id', '=', worker.id)
      .where('object_id', '=', task.object_id)
      .where('iteration', '=', task.iteration)
      .execute();
    if (answer.kind === 'boxes') {
      await repo.db
        .updateTable('labeling_objects')
        .set({ image_width: answer.imageWidth, image_height: answer.imageHeight })
        .where('job', '=', task.job)
        .where('object_id', '=', task.object_id)
        .where('image_width', 'is', null)
        .execute();
    }
    await this.prelabel.recordSubmit(task, answer);
    await this.completion.maybeFinishObject(job.name, task.object_id);
    return { version: version + 1 };
  }

  /** Gives the slot back: `skip` lets someone else take it; `decline` also counts towards the object failing. */
  async release(worker: Worker, taskId: string, kind: 'skip' | 'decline'): Promise<void> {
    const { job, task } = await this.ownTask(worker, taskId);
    if (task.status !== RETURN.from) throw new TaskError('Gone', 'This task is no longer yours');
    await this.ctx.repo.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('labeling_tasks')
        .set((eb) => ({ status: RETURN.to, ...UNCLAIMED, version: eb('version', '+', 1) }))
        .where('id', '=', taskId)
        .where('status', '=', RETURN.from)
        .execute();
      await trx
        .updateTable('labeling_exclusions')
        .set({ reason: kind === 'skip' ? 'skipped' : 'declined' })
        .where('job', '=', task.job)
        .where('worker_id', '=', worker.id)
        .where('object_id', '=', task.object_id)
        .where('iteration', '=', task.iteration)
        .execute();
      if (kind === 'decline') {
        await trx
          .updateTable('labeling_objects')
          .set((eb) => ({ declines: eb('declines', '+', 1) }))
          .where('job', '=', task.job)
          .where('object_id', '=', task.object_id)
          .execute();
        const obj = await trx
          .selectFrom('labeling_objects')
          .select(['declines'])
          .where('job', '=', task.job)
          .where('object_id', '=', task.object_id)
          .executeTakeFirstOrThrow();
        // Once N workers declined, nobody else is asked: the object's open slots close.
        if (obj.declines >= job.spec.workersPerObject) {
          await trx
            .updateTable('labeling_tasks')
            .set({ status: CLOSE.to })
            .where('job', '=', task.job)
            .where('object_id', '=', task.object_id)
            .where('iteration', '=', task.iteration)
            .where('status', '=', CLOSE.from)
            .execute();
        }
      }
    });
    await this.completion.maybeFinishObject(job.name, task.object_id);
  }

  // ---- access --------------------------------------------------------------------------------

  /** The job, when `worker` is in its team. @throws TaskError NotFound (never says whether it exists). */
  private async jobForWorker(worker: Worker, jobName: string): Promise<LabelingJobRecord> {
    const job = await this.ctx.repo.findJob(jobName);
    const team = job ? await this.ctx.workteams.findByArn(job.workteamArn) : undefined;
    if (!job || !team || !team.memberGroups.some((g) => worker.groups.includes(g))) {
      throw new TaskError('NotFound', 'No such labeling job for your teams');
    }
    return job;
  }

  /** The worker's task and its job. @throws TaskError NotFound (not theirs), Gone (claim expired). */
  private async ownTask(
    worker: Worker,
    taskId: string,
  ): Promise<{ job: LabelingJobRecord; task: TaskRow }> {
    const task = await this.ctx.repo.findTask(taskId);
    if (!task) throw new TaskError('NotFound', 'No such task of yours');
    if (task.worker_id !== worker.id) {
      // Back in the queue (worker_id cleared): its time limit ran out and a sweep reopened it. Say
      // so to a worker of the job's teams; to anyone else the task does not exist.
      const ofTeam = await this.jobForWorker(worker, task.job).then(
        () => true,
        () => false,
      );
      if (ofTeam && task.worker_id === null && task.status === 'open')
        throw new TaskError(
          'Gone',
          'The time limit of this task ran out; it went back to the queue',
        );
      throw new TaskError('NotFound', 'No such task of yours');
    }
    const job = await this.jobForWorker(worker, task.job);
    if (task.status === 'claimed' && Number(task.expires_at_ms) <= this.ctx.now()) {
      await this.expireClaims(job.name);
      throw new TaskError('Gone', 'The time limit of this task ran out; it went back to the queue');
    }
    return { job, task };
  }

  private async view(job: LabelingJobRecord, task: TaskRow, worker: Worker): Promise<TaskView> {
    const obj = await this.ctx.repo.getObject(task.job, task.object_id);
    const initial = parseJsonColumn<Box[]>(obj.initial_value);
    // A relabel after review starts from the consolidated answer of the earlier iteration.
    const fromReview =
      obj.iteration > 1
        ? boxesOfConsolidated(parseJsonColumn<Consolidated>(obj.consolidated))
        : undefined;
    return {
      taskId: task.id,
      version: task.version,
      jobName: job.name,
      title: job.spec.taskTitle,
      description: job.spec.taskDescription,
      header: job.spec.header,
      taskType: job.spec.taskType,
      labels: job.spec.labels,
      shortInstructions: job.spec.shortInstructions,
      fullInstructions: job.spec.fullInstructions,
      imageToken: await this.images.token(worker, { j: task.job, o: task.object_id }),
      sourceName: (obj.source_ref ?? '').split('/').pop() ?? '',
      claimedAtMs: Number(task.claimed_at_ms),
      expiresAtMs: Number(task.expires_at_ms),
      draft: parseJsonColumn(task.draft) ?? null,
      initialValue: initial ?? fromReview,
      suggestions: initial || fromReview ? undefined : await this.prelabel.forObject(job, obj),
    };
  }
}

function boxesOfConsolidated(c: Consolidated | undefined): Box[] | undefined {
  return c?.kind === 'boxes'
    ? c.boxes.map(({ label, left, top, width, height }) => ({ label, left, top, width, height }))
    : undefined;
}
