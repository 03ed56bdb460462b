import type { Kysely } from 'kysely';
import { AppError, ErrorCodes } from '../shared/errors.js';
import type { ListPage, ListQuery } from '../shared/list-query.js';
import { ActiveLearningLoop } from './active-learning/loop.js';
import type { RoundView } from './active-learning/round-view.js';
import { BackgroundWork } from './background.js';
import { Completion } from './completion.js';
import type { LabelingContext, LabelingDeps } from './context.js';
import { ImageGrants } from './image-grants.js';
import { Initializer } from './initializer.js';
import { createLabelingJob, labelingJobArn, type CreateLabelingJobInput } from './job-creation.js';
import {
  labelingJobStates,
  type LabelCounters,
  type LabelingJobRecord,
  type TaskView,
  type Worker,
} from './model.js';
import { OutputWriter } from './output-writer.js';
import { Prelabel, type PrelabelSummary } from './prelabel.js';
import { LabelingRepository } from './repository.js';
import { Review, type ReviewObject, type WorkerStats } from './review.js';
import { TaskQueue } from './task-queue.js';
import { WorkteamRepository, type WorkteamsTable } from './workteams.js';

export { validateAnswer } from './answer-validation.js';
export type { LabelingDeps } from './context.js';
export type { PrelabelDeps, PrelabelSummary } from './prelabel.js';
export { PRELABEL_ENDPOINT_TAG, PRELABEL_MIN_SCORE_TAG } from './prelabel.js';
export type { CreateLabelingJobInput } from './job-creation.js';
export type { RoundView } from './active-learning/round-view.js';
export type { AutoLabelingPort, PortDetections, RoundTrainingJob } from './active-learning/port.js';
export type { TaskView, Worker } from './model.js';
export type { ReviewObject, WorkerStats } from './review.js';
export { TaskError } from './task-error.js';

/**
 * The labeling context's one entry point (the API layer's view): work teams, jobs, the workers'
 * task queue, images, review. Each part lives in its own file; this class wires them together.
 */
export class Labeling {
  readonly workteams: WorkteamRepository;
  private readonly ctx: LabelingContext;
  private readonly output: OutputWriter;
  private readonly images: ImageGrants;
  private readonly queue: TaskQueue;
  private readonly review: Review;
  private readonly background: BackgroundWork;
  private readonly prelabel: Prelabel;
  private readonly loop: ActiveLearningLoop;

  constructor(deps: LabelingDeps) {
    const repo = new LabelingRepository(deps.db, deps.clock);
    this.workteams = new WorkteamRepository(
      repo.db as unknown as Kysely<WorkteamsTable>,
      deps.clock,
      deps.arn,
    );
    this.ctx = { deps, repo, workteams: this.workteams, now: () => deps.clock.nowMs() };
    this.prelabel = new Prelabel(this.ctx);
    this.output = new OutputWriter(this.ctx, this.prelabel);
    const completion = new Completion(this.ctx, this.output);
    this.images = new ImageGrants(this.ctx);
    this.queue = new TaskQueue(this.ctx, completion, this.images, this.prelabel);
    this.review = new Review(this.ctx);
    const initializer = new Initializer(this.ctx, completion);
    this.loop = new ActiveLearningLoop(this.ctx, completion);
    this.background = new BackgroundWork(this.ctx, {
      initializer,
      completion,
      queue: this.queue,
      loop: this.loop,
    });
  }

  /** Starts the background tick (see {@link LabelingDeps.tickMs}). */
  start(): void {
    this.background.start();
  }

  async close(): Promise<void> {
    await this.background.close();
  }

  /** One pass of background work: initialize jobs, expire claims, close stale slots, finish jobs. */
  tick(): Promise<void> {
    return this.background.tick();
  }

  /** Pre-labeling: what workers did with a job's suggestions. @throws ResourceNotFound. */
  async prelabelSummary(name: string): Promise<PrelabelSummary> {
    const job = await this.findJob(name);
    if (!job) throw new AppError(ErrorCodes.NotFound, `Could not find labeling job "${name}".`);
    return this.prelabel.summary(job);
  }

  jobArn(name: string): string {
    return labelingJobArn(this.ctx, name);
  }

  // ---- work teams ----------------------------------------------------------------------------

  /** Whether an ARN names a labeling resource that exists (for tag operations); undefined if not ours. */
  async arnExists(arn: string): Promise<boolean | undefined> {
    const m = /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:(labeling-job|workteam)\/(.+)$/.exec(
      arn,
    );
    if (!m) return undefined;
    if (m[1] === 'workteam') return (await this.workteams.findByArn(arn)) !== undefined;
    const job = await this.findJob(m[2]!);
    return (
      job !== undefined &&
      job.arn ===
        arn
          .toLowerCase()
          .replace(/^(arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:labeling-job\/)/, '$1')
    );
  }

  /** @throws ResourceNotFound, ResourceInUse (a job of the team still runs). */
  async deleteWorkteam(name: string): Promise<void> {
    const team = await this.workteams.get(name);
    const [busy] = await this.ctx.repo.jobsOfTeams(
      [team.arn],
      ['Initializing', 'InProgress', 'Stopping'],
    );
    if (busy) {
      throw new AppError(
        ErrorCodes.InUse,
        `Workteam "${team.arn}" is used by labeling job ${busy.name}, which is still running; stop it first.`,
      );
    }
    await this.workteams.delete(name);
    await this.ctx.deps.tags.removeAll(team.arn);
  }

  // ---- jobs ----------------------------------------------------------------------------------

  /** @throws ResourceInUse (duplicate name), ValidationException (bad input). Starts Initializing. */
  async createJob(input: CreateLabelingJobInput): Promise<LabelingJobRecord> {
    const job = await createLabelingJob(this.ctx, input);
    void this.tick();
    return job;
  }

  findJob(name: string): Promise<LabelingJobRecord | undefined> {
    return this.ctx.repo.findJob(name);
  }

  /** @throws ResourceNotFound (as DescribeLabelingJob / StopLabelingJob answer). */
  getJob(name: string): Promise<LabelingJobRecord> {
    return this.ctx.repo.getJob(name);
  }

  listJobs(q: ListQuery, workteamArn?: string): Promise<ListPage<LabelingJobRecord>> {
    return this.ctx.repo.listJobs(q, workteamArn);
  }

  counters(name: string): Promise<LabelCounters> {
    return this.ctx.repo.counters(name);
  }

  /** Pending human work for ListLabelingJobsForWorkteam: objects still waiting for answers. */
  pendingHuman(name: string): Promise<number> {
    return this.ctx.repo.pendingObjectCount(name);
  }

  /** InProgress → Stopping; the tick writes partial results and ends Stopped. @throws ResourceNotFound */
  async stopJob(name: string): Promise<void> {
    const job = await this.getJob(name);
    if (job.status === 'Stopping' || job.status === 'Stopped') return;
    if (!labelingJobStates.canTransition(job.status, 'Stopping')) {
      throw new AppError(
        ErrorCodes.Validation,
        `The labeling job ${job.name} is ${job.status} and cannot be stopped.`,
      );
    }
    await this.ctx.repo.setStatus(job.name, job.status, 'Stopping');
    void this.tick();
  }

  /** Automated data labeling: the job's rounds, oldest first (empty for other jobs). */
  autoLabelingRounds(name: string): Promise<RoundView[]> {
    return this.loop.rounds(name);
  }

  /** `LabelingJobOutput.FinalActiveLearningModelArn`: the last round's model, if any. */
  finalActiveLearningModelArn(name: string): Promise<string | undefined> {
    return this.loop.finalModelArn(name);
  }

  /** `{S3OutputPath}/{job}/manifests/output/output.manifest`. */
  outputManifestUri(job: LabelingJobRecord): string {
    return this.output.outputManifestUri(job);
  }

  // ---- the worker's side (task-queue.ts) -----------------------------------------------------

  /** Jobs of the worker's teams that are InProgress, with what is left for them. */
  jobsForWorker(
    worker: Worker,
  ): Promise<{ job: LabelingJobRecord; available: number; claimedTaskId: string | undefined }[]> {
    return this.queue.jobsForWorker(worker);
  }

  /** The worker's current task of the job, or the next open slot claimed for them. */
  claimNext(worker: Worker, jobName: string): Promise<TaskView | undefined> {
    return this.queue.claimNext(worker, jobName);
  }

  /** The worker's own claimed task (a reload). @throws TaskError NotFound / Gone */
  getTask(worker: Worker, taskId: string): Promise<TaskView> {
    return this.queue.getTask(worker, taskId);
  }

  /** Saves the worker's draft; `version` must be the task's current one (409 otherwise). */
  saveDraft(
    worker: Worker,
    taskId: string,
    version: number,
    draft: unknown,
  ): Promise<{ version: number }> {
    return this.queue.saveDraft(worker, taskId, version, draft);
  }

  /** Submits an answer, idempotent on `submissionId`. */
  submit(
    worker: Worker,
    taskId: string,
    version: number,
    submissionId: string,
    rawAnswer: unknown,
  ): Promise<{ version: number }> {
    return this.queue.submit(worker, taskId, version, submissionId, rawAnswer);
  }

  /** Gives the slot back: `skip` lets someone else take it; `decline` also counts towards the object failing. */
  release(worker: Worker, taskId: string, kind: 'skip' | 'decline'): Promise<void> {
    return this.queue.release(worker, taskId, kind);
  }

  // ---- images (image-grants.ts) --------------------------------------------------------------

  imageToken(worker: Worker, what: { j: string; o: number } | { s: string }): Promise<string> {
    return this.images.token(worker, what);
  }

  /** The image a signed token names for this user; undefined when forged, expired, someone else's or gone. */
  imageFor(worker: Worker, token: string): Promise<{ bucket: string; key: string } | undefined> {
    return this.images.resolve(worker, token);
  }

  // ---- review (review.ts) --------------------------------------------------------------------

  reviewObjects(
    jobName: string,
    offset: number,
    limit: number,
    status?: string,
  ): Promise<{ total: number; items: ReviewObject[] }> {
    return this.review.reviewObjects(jobName, offset, limit, status);
  }

  /** Per worker: answers, median seconds per task, skips/declines, mean IoU of their boxes to the consolidated ones. */
  workerStats(jobName: string): Promise<WorkerStats[]> {
    return this.review.workerStats(jobName);
  }

  /** Sends objects back for relabelling: a new iteration with N fresh slots; a Completed job reopens. */
  relabel(jobName: string, objectIds: readonly number[]): Promise<void> {
    return this.review.relabel(jobName, objectIds);
  }
}
