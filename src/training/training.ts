import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { parseSagemakerArn } from '../shared/arn.js';
import { DEFAULT_PYTHON } from '../shared/sandbox-paths.js';
import { AppError, ErrorCodes, validationError } from '../shared/errors.js';
import type { ListPage, ListQuery } from '../shared/list-query.js';
import type { Executor } from './executors/executor.js';
import { resolveImage, unknownImageMessage, type ImageProgram } from './images.js';
import { appendTransition, DEFAULT_MESSAGES, isTerminal } from './lifecycle.js';
import { JobLog, type LogLine } from './logs.js';
import {
  TrainingJobRepository,
  type TrainingJobRecord,
  type TrainingTables,
} from './repository.js';
import { JobRunner, type RunnerHost } from './runner.js';
import { releaseRunnerLock, takeRunnerLock } from './runner-lock.js';
import { reconcileJob, type ReconcileHost } from './job-reconciler.js';
import { SharedLog, sharedLogReader, type JobLogReader } from './shared-log.js';
import { checkCreatable } from './create-checks.js';
import { modelArtifactsUri, specFromRequest, type CreateTrainingJobRequest } from './spec.js';
import {
  REPO_ROOT,
  trainingJobLease,
  type CreateJobOptions,
  type TrainingDeps,
  type TrainingEvents,
} from './training-deps.js';

/**
 * The training context: CreateTrainingJob … StopTrainingJob, a slot-limited queue, one runner per
 * running job, restart reconciliation, logs and metric series.
 */
export class Training {
  readonly repo: TrainingJobRepository;
  readonly events = new EventEmitter<TrainingEvents>();
  private readonly runners = new Map<string, JobRunner>();
  private readonly queue: string[] = [];
  private readonly host: RunnerHost;
  private readonly reconciler: ReconcileHost;
  private started = false;
  private closed = false;
  private scheduling = false;
  private lockFile: string;
  private readonly sharedLog: SharedLog | undefined;

  constructor(private readonly deps: TrainingDeps) {
    this.repo = new TrainingJobRepository(
      deps.db.withTables<TrainingTables>() as unknown as Kysely<TrainingTables>,
      deps.arn,
    );
    this.events.setMaxListeners(0);
    const jobsDir = path.join(deps.dataDir, 'training', 'jobs');
    this.sharedLog = deps.sharedLogs
      ? new SharedLog(deps.db, (err) =>
          deps.logger?.warn({ err }, 'cannot store training log lines in the database'),
        )
      : undefined;
    this.lockFile = path.join(deps.dataDir, 'training', 'runner.pid');
    this.host = {
      repo: this.repo,
      objects: deps.objects,
      executor: deps.executor,
      executorWarning: deps.executorWarning,
      now: () => deps.clock.nowMs(),
      logCapBytes: deps.logCapBytes,
      modelCapBytes: deps.modelCapBytes,
      stopGraceSeconds: deps.stopGraceSeconds,
      pythonPath: deps.pythonPath || DEFAULT_PYTHON,
      algorithmDir: path.join(REPO_ROOT, 'algorithms', 'object-detection'),
      replicaId: deps.coordinator?.replicaId ?? 'local',
      jobDir: (name) => path.join(jobsDir, name.toLowerCase()),
      jobLog: (name) => this.jobLog(name),
      emitStatus: (r) => this.events.emit('status', r),
      emitMetric: (e) => this.events.emit('metric', e),
      emitLog: (jobName, line) => {
        this.sharedLog?.append(jobName, line);
        this.events.emit('log', { jobName, line });
      },
      warn: (msg, err) => deps.logger?.warn({ err }, msg),
    };
    this.reconciler = {
      ...this.host,
      runnerHost: this.host,
      sharedLog: this.sharedLog,
      running: (name) => this.runners.has(name.toLowerCase()),
      resolve: (image, registered) => this.resolve(image, registered),
      enqueue: (name) => void this.queue.push(name),
      launch: (runner, body) => this.launch(runner, body),
      release: (name) => this.release(name),
    };
  }

  jobLog(name: string): JobLog {
    return new JobLog(path.join(this.deps.dataDir, 'training', 'jobs', name.toLowerCase(), 'log'));
  }

  /** CloudWatch-style log stream of a job: `{job}/algo-1-{creation epoch seconds}`. */
  logStreamName(record: TrainingJobRecord): string {
    return `${record.name}/algo-1-${Math.floor(record.createdAtMs / 1000)}`;
  }

  // ------------------------------------------------------------------------------------------
  // Operations

  /**
   * CreateTrainingJob. The job starts at once when a slot is free, else waits in the queue
   * (InProgress / Starting, with its position in the status message).
   * @throws ValidationException (bad URI, unknown image, output bucket missing),
   *   ResourceInUse (name taken), ResourceLimitExceeded (queue full).
   */
  async createTrainingJob(
    request: CreateTrainingJobRequest,
    options: CreateJobOptions = {},
  ): Promise<TrainingJobRecord> {
    const spec = specFromRequest(request);
    const registered = await this.repo.images();
    const program = this.resolve(spec.image, registered);
    if (!program) throw validationError(unknownImageMessage(spec.image, registered));
    await checkCreatable(spec, this.deps.executor, this.deps.objects);
    const freeSlot = this.runners.size < this.deps.maxRunningJobs && this.queue.length === 0;
    if (!freeSlot && this.queue.length >= this.deps.maxQueuedJobs) {
      throw new AppError(
        ErrorCodes.LimitExceeded,
        `The limit of ${this.deps.maxQueuedJobs} queued training jobs (APIARY_MAX_QUEUED_TRAINING_JOBS) is reached: ${this.runners.size} job(s) run and ${this.queue.length} wait. Wait for jobs to finish or stop some.`,
      );
    }
    const now = this.deps.clock.nowMs();
    const arn = this.repo.arnOf(request.TrainingJobName);
    const { Tags, ...echo } = request;
    const record: TrainingJobRecord = {
      name: request.TrainingJobName,
      arn,
      status: 'InProgress',
      secondaryStatus: 'Starting',
      failureReason: undefined,
      request: echo,
      spec,
      transitions: appendTransition(
        [],
        'Starting',
        now,
        freeSlot ? DEFAULT_MESSAGES.Starting : this.queueMessage(this.queue.length),
      ),
      finalMetrics: [],
      modelArtifacts: modelArtifactsUri(spec.outputPath, request.TrainingJobName),
      tuningJobArn: options.tuningJobArn,
      tuningObjective: options.tuningObjective,
      createdAtMs: now,
      lastModifiedMs: now,
      trainingStartMs: undefined,
      trainingEndMs: undefined,
      attempt: 1,
      process: undefined,
      stopReason: undefined,
    };
    await this.repo.insert(record);
    await this.claim(record.name);
    if (Tags?.length) {
      await this.deps.tags.add(
        arn,
        Tags.map((t) => ({ key: t.Key, value: t.Value ?? '' })),
      );
    }
    this.events.emit('status', record);
    this.queue.push(record.name);
    this.program.set(record.name.toLowerCase(), program);
    void this.schedule();
    return record;
  }

  private readonly program = new Map<string, ImageProgram>();

  /** What runs for an image: locally known programs, or (container executors) the image itself. */
  private resolve(
    image: string,
    registered: readonly { image: string; command: readonly string[] }[],
  ): ImageProgram | undefined {
    return (
      resolveImage(image, registered) ??
      (this.deps.executor.runsImages ? { kind: 'registered', command: ['train'] } : undefined)
    );
  }

  /**
   * Who runs a job: this replica, a peer (calls that need the job's process, such as stopping
   * it or reading its live log, go there), or nobody yet.
   */
  async owner(
    name: string,
  ): Promise<
    { kind: 'self' } | { kind: 'peer'; replicaId: string; url: string } | { kind: 'none' }
  > {
    if (!this.deps.coordinator || this.runners.has(name.toLowerCase())) return { kind: 'self' };
    return this.deps.coordinator.ownerOf(trainingJobLease(name));
  }

  /** Takes the job's lease for this replica; true when this replica runs it. */
  private async claim(name: string): Promise<boolean> {
    const c = this.deps.coordinator;
    if (!c) return true;
    return c.own(trainingJobLease(name), { lost: () => this.lost(name) });
  }

  /** Another replica took the job over (our lease expired, e.g. the database was unreachable). */
  private lost(name: string): void {
    const key = name.toLowerCase();
    const runner = this.runners.get(key);
    this.deps.logger?.warn(
      {},
      `training job ${name}: another replica took it over; stopping it here`,
    );
    runner?.detachAndKill();
    this.runners.delete(key);
    const i = this.queue.indexOf(name);
    if (i >= 0) this.queue.splice(i, 1);
  }

  private release(name: string): void {
    this.deps.coordinator
      ?.disown(trainingJobLease(name))
      .catch((err) => this.deps.logger?.warn({ err }, `releasing training job ${name}`));
  }

  /** @throws ValidationException "Requested resource not found." */
  async describe(name: string): Promise<TrainingJobRecord> {
    const running = this.runners.get(name.toLowerCase());
    if (running) return running.current;
    return this.repo.get(name);
  }

  async find(name: string): Promise<TrainingJobRecord | undefined> {
    return this.runners.get(name.toLowerCase())?.current ?? (await this.repo.find(name));
  }

  list(q: ListQuery): Promise<ListPage<TrainingJobRecord>> {
    return this.repo.list(q);
  }

  listByTuningJob(tuningJobArn: string): Promise<TrainingJobRecord[]> {
    return this.repo.listByTuningJob(tuningJobArn);
  }

  /**
   * StopTrainingJob: a queued job stops at once; a running one gets SIGTERM, then SIGKILL after
   * the grace period, and its model folder is still uploaded.
   * @throws ResourceNotFound for an unknown job; ValidationException for a finished one.
   */
  async stop(name: string): Promise<void> {
    const record = await this.find(name);
    if (!record) throw new AppError(ErrorCodes.NotFound, `Training job '${name}' does not exist.`);
    if (isTerminal(record.secondaryStatus)) {
      throw validationError(
        `The training job ${record.name} is in status ${record.status} and cannot be stopped; only InProgress jobs can be stopped.`,
      );
    }
    const runner = this.runners.get(record.name.toLowerCase());
    if (runner) return runner.requestStop('user');
    const i = this.queue.indexOf(record.name);
    if (i >= 0) this.queue.splice(i, 1);
    if (record.secondaryStatus === 'Stopping') return;
    await this.finishQueued(record, 'Stopped');
    this.release(record.name);
    void this.refreshQueueMessages();
  }

  private async finishQueued(
    record: TrainingJobRecord,
    to: 'Stopped' | 'Failed',
    reason?: string,
  ): Promise<void> {
    const now = this.deps.clock.nowMs();
    let transitions = record.transitions;
    if (to === 'Stopped')
      transitions = appendTransition(transitions, 'Stopping', now, DEFAULT_MESSAGES.Stopping);
    transitions = appendTransition(transitions, to, now, DEFAULT_MESSAGES[to]);
    await this.repo.update(record.name, {
      lastModifiedMs: now,
      status: to,
      secondaryStatus: to,
      transitions,
      failureReason: reason,
      stopReason: to === 'Stopped' ? 'user' : undefined,
    });
    this.events.emit('status', await this.repo.get(record.name));
  }

  async registerImage(image: string, command: readonly string[]): Promise<void> {
    if (!image.trim() || command.length === 0)
      throw validationError('an image name and a command are required');
    await this.repo.registerImage(image, command, this.deps.clock.nowMs());
  }

  images(): Promise<{ image: string; command: string[] }[]> {
    return this.repo.images();
  }

  /** A job's log for reading: its local file, or the database when logs are shared (replicas). */
  logReader(name: string): JobLogReader {
    const log = this.jobLog(name);
    // A job that ran here reads its own file (every line at once); one that ran on another
    // replica reads the lines that replica stored in the database.
    if (this.sharedLog && log.count() === 0) return sharedLogReader(this.sharedLog, name);
    return {
      count: async () => log.count(),
      read: async (from, limit) => log.read(from, limit),
      timeRange: async () => log.timeRange(),
    };
  }

  /** The executor (the API's staging routes serve Kubernetes pods through it). */
  get executor(): Executor {
    return this.deps.executor;
  }

  /** Log lines from a sequence number (console, CLI, Logs API). */
  async readLogs(
    name: string,
    fromSeq: number,
    limit: number,
  ): Promise<{ lines: LogLine[]; next: number; total: number }> {
    const record = await this.describe(name);
    const log = this.logReader(record.name);
    const lines = await log.read(fromSeq, limit);
    return { lines, next: fromSeq + lines.length, total: await log.count() };
  }

  metricSeries(name: string): Promise<Record<string, { timestampMs: number; value: number }[]>> {
    return this.repo.metricSeries(name);
  }

  /** Whether an ARN names a training job that exists (tag operations). */
  async arnExists(arn: string): Promise<boolean | undefined> {
    const parsed = parseSagemakerArn(arn);
    if (!parsed || parsed.type !== 'training-job') return undefined;
    return (await this.repo.find(parsed.name)) !== undefined;
  }

  // ------------------------------------------------------------------------------------------
  // Scheduling

  private queueMessage(position: number): string {
    return `Waiting for a training slot: ${position} job(s) ahead in the queue; ${this.deps.maxRunningJobs} job(s) run at a time (APIARY_MAX_RUNNING_TRAINING_JOBS)`;
  }

  private async refreshQueueMessages(): Promise<void> {
    for (const [i, name] of this.queue.entries()) {
      const r = await this.repo.find(name);
      if (!r || r.secondaryStatus !== 'Starting') continue;
      const message = this.queueMessage(i);
      const last = r.transitions[r.transitions.length - 1];
      if (last?.message === message) continue;
      // Only while it still waits: a job stopped meanwhile (StopTrainingJob answered) keeps the
      // transitions that stop wrote.
      await this.repo.update(
        name,
        {
          lastModifiedMs: this.deps.clock.nowMs(),
          transitions: appendTransition(
            r.transitions,
            'Starting',
            this.deps.clock.nowMs(),
            message,
          ),
        },
        { status: 'InProgress' },
      );
    }
  }

  private async schedule(): Promise<void> {
    if (!this.started || this.closed || this.scheduling) return;
    this.scheduling = true;
    try {
      while (this.runners.size < this.deps.maxRunningJobs && this.queue.length > 0) {
        const name = this.queue.shift()!;
        const key = name.toLowerCase();
        if (this.runners.has(key)) continue;
        const record = await this.repo.find(name);
        if (!record || record.secondaryStatus !== 'Starting' || record.status !== 'InProgress')
          continue;
        if (!(await this.claim(record.name))) continue;
        const program =
          this.program.get(key) ?? this.resolve(record.spec.image, await this.repo.images());
        if (!program) {
          await this.finishQueued(
            record,
            'Failed',
            `ClientError: ${unknownImageMessage(record.spec.image, await this.repo.images())}`,
          );
          this.release(record.name);
          continue;
        }
        const now = this.deps.clock.nowMs();
        // A queue position gives way to SageMaker's usual message; a restart message stays.
        const waiting =
          record.transitions.at(-1)?.message.startsWith('Waiting for a training slot') ?? false;
        const fresh: TrainingJobRecord = {
          ...record,
          transitions: waiting
            ? appendTransition(record.transitions, 'Starting', now, DEFAULT_MESSAGES.Starting)
            : record.transitions,
          lastModifiedMs: now,
        };
        if (waiting)
          await this.repo.update(name, { lastModifiedMs: now, transitions: fresh.transitions });
        this.launch(new JobRunner(this.host, fresh, program), (r) => r.runFresh());
      }
      await this.refreshQueueMessages();
    } catch (err) {
      this.deps.logger?.warn({ err }, 'training scheduler failed');
    } finally {
      this.scheduling = false;
    }
  }

  private launch(runner: JobRunner, body: (r: JobRunner) => Promise<void>): void {
    const key = runner.name.toLowerCase();
    this.runners.set(key, runner);
    this.program.delete(key);
    void body(runner)
      .catch((err) => this.deps.logger?.warn({ err }, `training job ${runner.name} runner failed`))
      .finally(() => {
        if (this.runners.get(key) === runner) {
          this.runners.delete(key);
          if (isTerminal(runner.current.secondaryStatus)) this.release(runner.name);
        }
        void this.schedule();
      });
  }

  // ------------------------------------------------------------------------------------------
  // Start, restart reconciliation, close

  /**
   * Takes the runner lock (one server per data dir runs jobs), then reconciles every job the
   * database says is active: queued ones are queued again; a running process is re-attached; a
   * process that finished meanwhile is finished; one that is gone is retried from its checkpoint
   * when RetryStrategy allows, else Failed "interrupted by a server restart".
   */
  async start(): Promise<void> {
    if (this.started) return;
    await this.deps.executor.check?.();
    takeRunnerLock(this.lockFile);
    this.started = true;
    await this.takeOver();
    this.deps.coordinator?.onHeartbeat(() => this.takeOver());
    await this.schedule();
  }

  /**
   * Reconciles every active job that no live replica runs: at start, and at every heartbeat when
   * several replicas share the database (a dead replica's jobs move to a live one after the TTL).
   */
  private async takeOver(): Promise<void> {
    if (this.closed) return;
    let taken = false;
    for (const record of await this.repo.listActive()) {
      const key = record.name.toLowerCase();
      if (this.runners.has(key) || this.queue.includes(record.name)) continue;
      if (!(await this.claim(record.name))) continue;
      try {
        await reconcileJob(this.reconciler, record);
        taken = true;
      } catch (err) {
        this.deps.logger?.warn({ err }, `reconciling training job ${record.name} failed`);
      }
    }
    if (taken) await this.schedule();
  }

  /**
   * Stops background work. Running job processes are killed; their rows stay InProgress so the
   * next start reconciles them (retry from checkpoint per RetryStrategy, or Failed). A crashed
   * server, by contrast, leaves them running and re-attaches at its next start.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.runners.values()) r.detachAndKill();
    this.deps.executor.close?.();
    await this.sharedLog?.close();
    this.runners.clear();
    releaseRunnerLock(this.lockFile);
  }
}
