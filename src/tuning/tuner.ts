import type { Kysely } from 'kysely';
import { AppError, ErrorCodes, isAppError, validationError } from '../shared/index.js';
import type { ArnContext, Clock, ListPage, ListQuery } from '../shared/index.js';
import type { Coordinator, Db } from '../store/index.js';
import { canTransition, isTerminalTuningStatus } from './model.js';
import type { TrialRecord, TuningJobRecord, TuningJobStatus } from './model.js';
import {
  completionReason,
  CONVERGENCE_WINDOW,
  countNotImproving,
  isTrialTerminal,
  retriesDue,
} from './progress.js';
import { TuningRepository, type TuningTables } from './repository.js';
import { tuningConfigFromRequest, type CreateTuningJobRequest } from './request.js';
import { configKey } from './space.js';
import { SearchPlanner } from './search.js';
import { TrialRunner } from './trials.js';
import type { ChildJob, MetricEvent, TrainingPort } from './training-port.js';

// Split by responsibility: this file is the tuning context's API and its per-job step loop;
// search.ts picks configurations and early-stops, trials.ts launches and follows child jobs,
// progress.ts keeps the results (best trial, convergence, retries, completion).
export { bestTrial, CONVERGENCE_WINDOW, countNotImproving, isTrialTerminal } from './progress.js';
export { childRequest } from './trials.js';

/** What the tuning context needs: database, clock, training port, poll interval, coordinator. */
export interface TuningDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly arn: ArnContext;
  readonly training: TrainingPort;
  /** How often every active tuning job is re-examined besides events (default 2000 ms; 0 = never). */
  readonly pollIntervalMs?: number;
  /** A child job with no status or metric activity for this long is stopped and retried/failed (default 1 h). */
  readonly trialSilenceMs?: number;
  /** Seed used when a request has no RandomSeed (default: random). */
  readonly defaultSeed?: () => number;
  /** The 8 hex characters of child job names (default: crypto random). */
  readonly childSuffix?: () => string;
  readonly logger?: { warn(obj: unknown, msg?: string): void };
  /**
   * Ownership among replicas: one replica steps a tuning job at a time (lease
   * `tuning-job:<name>`); a dead replica's jobs are picked up by another's next poll.
   */
  readonly coordinator?: Coordinator;
}

/** The lease that says which replica steps a tuning job. */
export const tuningJobLease = (name: string): string => `tuning-job:${name.toLowerCase()}`;

/**
 * The tuning context: validates and stores tuning jobs, launches child training jobs as the
 * strategy suggests, follows them through the training context's events, applies early stopping
 * and Hyperband's rung decisions, retries retryable failures, and ends the job. Every step reads
 * the persisted state first, so a restarted server resumes exactly where the database says.
 */
export class Tuning {
  readonly repo: TuningRepository;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly childToTuning = new Map<string, string>();
  private readonly search: SearchPlanner;
  private readonly runner: TrialRunner;
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly deps: TuningDeps) {
    this.repo = new TuningRepository(
      deps.db.withTables<TuningTables>() as unknown as Kysely<TuningTables>,
      deps.arn,
    );
    this.search = new SearchPlanner(this.repo);
    this.runner = new TrialRunner({
      repo: this.repo,
      training: deps.training,
      search: this.search,
      trialSilenceMs: deps.trialSilenceMs,
      childSuffix: deps.childSuffix,
      logger: deps.logger,
      onLaunched: (child, tuning) => this.childToTuning.set(child.toLowerCase(), tuning),
    });
  }

  // ------------------------------------------------------------------------------------------
  // Operations

  /** @throws ValidationException (rules), ResourceInUse (name taken). */
  async create(request: CreateTuningJobRequest): Promise<TuningJobRecord> {
    const seed = this.deps.defaultSeed?.() ?? Math.floor(Math.random() * 2 ** 31);
    const { config } = tuningConfigFromRequest(request, seed);
    if (config.warmStart) {
      for (const parent of config.warmStart.parents) {
        const p = await this.repo.find(parent);
        if (!p)
          throw validationError(
            `WarmStartConfig: the parent tuning job '${parent}' does not exist`,
          );
        if (!isTerminalTuningStatus(p.status)) {
          throw validationError(
            `WarmStartConfig: the parent tuning job '${parent}' is ${p.status}; parents must have ended (Completed, Stopped or Failed)`,
          );
        }
        if (
          p.config.objective.metricName !== config.objective.metricName ||
          p.config.objective.type !== config.objective.type
        ) {
          throw validationError(
            `WarmStartConfig: the parent tuning job '${parent}' optimises ${p.config.objective.type} ${p.config.objective.metricName}; a warm start needs the same objective`,
          );
        }
      }
    }
    const now = this.deps.clock.nowMs();
    const { Tags: _tags, ...echo } = request;
    const job: TuningJobRecord = {
      name: request.HyperParameterTuningJobName,
      arn: this.repo.arnOf(request.HyperParameterTuningJobName),
      status: 'InProgress',
      failureReason: undefined,
      request: echo,
      config,
      createdAtMs: now,
      lastModifiedMs: now,
      endMs: undefined,
      endReason: undefined,
      jobsNotImproving: 0,
      convergenceDetectedMs: undefined,
    };
    await this.repo.insert(job);
    await this.kick(job.name);
    return this.repo.get(job.name);
  }

  async describe(
    name: string,
  ): Promise<{ job: TuningJobRecord; trials: TrialRecord[]; parentTrials: TrialRecord[] }> {
    const job = await this.repo.get(name);
    const trials = await this.repo.trials(job.name);
    const parentTrials: TrialRecord[] = [];
    if (job.config.warmStart?.type === 'IdenticalDataAndAlgorithm') {
      for (const p of job.config.warmStart.parents) {
        const parent = await this.repo.find(p);
        if (parent) parentTrials.push(...(await this.repo.trials(parent.name)));
      }
    }
    return { job, trials, parentTrials };
  }

  list(q: ListQuery): Promise<ListPage<TuningJobRecord>> {
    return this.repo.list(q);
  }

  /** Whether an ARN names a tuning job that exists (tag operations); undefined for other types. */
  async arnExists(arn: string): Promise<boolean | undefined> {
    if (!/:hyper-parameter-tuning-job\//i.test(arn)) return undefined;
    return (await this.repo.resolveArn(arn)) !== undefined;
  }

  async trials(name: string): Promise<{ job: TuningJobRecord; trials: TrialRecord[] }> {
    const job = await this.repo.get(name);
    return { job, trials: await this.repo.trials(job.name) };
  }

  /**
   * StopHyperParameterTuningJob: Stopping now, Stopped once every running child has stopped.
   * @throws ResourceNotFound; ValidationException when the job already ended.
   */
  async stop(name: string): Promise<void> {
    await this.serialized(name, async () => {
      const job = await this.repo.get(name);
      if (job.status === 'Stopping') return;
      if (!canTransition(job.status, 'Stopping')) {
        throw validationError(
          `The hyperparameter tuning job ${job.name} is ${job.status} and cannot be stopped; only InProgress tuning jobs can be stopped.`,
        );
      }
      await this.setStatus(job, 'Stopping', {});
    });
    await this.kick(name);
  }

  // ------------------------------------------------------------------------------------------
  // Lifecycle

  /** Subscribes to training events and resumes every tuning job the database says is active. */
  async start(): Promise<void> {
    this.unsubscribe = this.deps.training.subscribe({
      status: (job) => this.onChildStatus(job),
      metric: (event) => this.onMetric(event),
    });
    const active = await this.repo.listActive();
    for (const job of active) {
      for (const t of await this.repo.trials(job.name))
        this.childToTuning.set(t.trainingJobName.toLowerCase(), job.name);
    }
    await Promise.all(active.map((j) => this.kick(j.name)));
    const every = this.deps.pollIntervalMs ?? 2000;
    if (every > 0) {
      this.timer = setInterval(() => void this.pollAll(), every);
      this.timer.unref();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    await Promise.allSettled(this.chains.values());
  }

  /** Resolves when no step is queued or running (tests; graceful close). */
  async settled(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled(this.chains.values());
  }

  /** Re-examines every active tuning job (timer; tests call it directly). */
  async pollAll(): Promise<void> {
    const active = await this.repo.listActive();
    await Promise.all(active.map((j) => this.kick(j.name)));
  }

  /** Runs one step of `name` after any step already queued for it. */
  kick(name: string): Promise<void> {
    return this.serialized(name, async () => {
      const c = this.deps.coordinator;
      if (c && !(await c.own(tuningJobLease(name)))) return; // another replica steps it
      await this.step(name);
      if (c && isTerminalTuningStatus((await this.repo.get(name)).status))
        await c.disown(tuningJobLease(name));
    });
  }

  private serialized<T>(name: string, body: () => Promise<T>): Promise<T> {
    const key = name.toLowerCase();
    const prev = this.chains.get(key) ?? Promise.resolve();
    const run = prev.then(body, body);
    const settled = run.then(
      () => undefined,
      (err) => {
        if (!isAppError(err)) this.deps.logger?.warn({ err }, `tuning job ${name} step failed`);
      },
    );
    this.chains.set(key, settled);
    void settled.finally(() => {
      if (this.chains.get(key) === settled) this.chains.delete(key);
    });
    return run;
  }

  private onChildStatus(child: ChildJob): void {
    const tuning = this.childToTuning.get(child.name.toLowerCase());
    if (tuning && !this.closed) void this.kick(tuning).catch(() => undefined);
  }

  private onMetric(event: MetricEvent): void {
    const tuning = this.childToTuning.get(event.jobName.toLowerCase());
    if (!tuning || this.closed) return;
    void this.serialized(tuning, () => this.recordIntermediate(tuning, event)).catch(
      () => undefined,
    );
  }

  // ------------------------------------------------------------------------------------------
  // The step

  private async recordIntermediate(name: string, event: MetricEvent): Promise<void> {
    const job = await this.repo.get(name);
    if (event.metricName !== job.config.objective.metricName || isTerminalTuningStatus(job.status))
      return;
    const trials = await this.repo.trials(job.name);
    const trial = trials.find(
      (t) => t.trainingJobName.toLowerCase() === event.jobName.toLowerCase(),
    );
    if (!trial || isTrialTerminal(trial)) return;
    const updated: TrialRecord = {
      ...trial,
      curve: [...trial.curve, event.value],
      lastActivityMs: this.deps.clock.nowMs(),
    };
    await this.repo.saveTrial(updated);
    if (updated.stopReason || job.status !== 'InProgress') return;
    const reason = this.search.stopDecision(job, updated, trials);
    if (reason) {
      await this.repo.saveTrial({ ...updated, stopReason: reason });
      await this.runner.stopChild(updated.trainingJobName);
    }
  }

  private async step(name: string): Promise<void> {
    if (this.closed) return;
    let job = await this.repo.get(name);
    if (isTerminalTuningStatus(job.status)) return;
    const now = this.deps.clock.nowMs();
    let trials = await this.repo.trials(job.name);
    for (const t of trials) this.childToTuning.set(t.trainingJobName.toLowerCase(), job.name);

    // 1. Follow the children.
    const next: TrialRecord[] = [];
    for (const t of trials)
      next.push(isTrialTerminal(t) ? t : await this.runner.follow(job, t, now));
    trials = next;

    const running = trials.filter((t) => !isTrialTerminal(t));
    if (job.status === 'Stopping') {
      for (const t of running)
        if (t.status !== 'Stopping') await this.runner.stopChild(t.trainingJobName);
      if (running.length === 0)
        await this.setStatus(job, 'Stopped', {
          endMs: now,
          endReason: 'StopHyperParameterTuningJob was called',
        });
      return;
    }

    // 2. Completion bookkeeping.
    const finished = trials
      .filter((t) => t.objectiveStatus === 'Succeeded')
      .sort((a, b) => (a.trainingEndMs ?? 0) - (b.trainingEndMs ?? 0));
    const notImproving = countNotImproving(job.config, finished);
    if (notImproving !== job.jobsNotImproving) {
      await this.repo.update(job.name, { jobsNotImproving: notImproving });
      job = { ...job, jobsNotImproving: notImproving };
    }
    if (job.convergenceDetectedMs === undefined && notImproving >= CONVERGENCE_WINDOW) {
      await this.repo.update(job.name, { convergenceDetectedMs: now });
      job = { ...job, convergenceDetectedMs: now };
    }
    const endReason = completionReason(job, trials, finished, now);
    const launchedPrimary = trials.filter((t) => t.retryOf === undefined).length;

    // 3. Retries of retryable failures.
    const retries: TrialRecord[] = endReason ? [] : retriesDue(job, trials);

    // 4. New trials.
    if (!endReason) {
      let slots = job.config.maxParallelJobs - running.length;
      for (const r of retries) {
        if (slots <= 0) break;
        await this.runner.launch(job, trials, r.config, r.bracket, r.index, now);
        slots--;
        trials = await this.repo.trials(job.name);
      }
      const remaining = job.config.maxTrainingJobs - launchedPrimary;
      const count = Math.min(slots, remaining);
      if (count > 0) {
        for (const config of this.search.suggest(job, trials, count)) {
          const bracket = this.search
            .strategyFor(job)
            .hyperband?.bracketFor(trials.filter((t) => t.retryOf === undefined).length);
          await this.runner.launch(job, trials, config, bracket, undefined, now);
          trials = await this.repo.trials(job.name);
        }
      }
    }

    // 5. End.
    const stillRunning = trials.filter((t) => !isTrialTerminal(t));
    const exhausted = this.nothingMoreToLaunch(job, trials);
    if (endReason && stillRunning.length > 0) {
      if (endReason !== 'MaxNumberOfTrainingJobs reached') {
        for (const t of stillRunning) {
          if (!t.stopReason)
            await this.repo.saveTrial({
              ...t,
              stopReason: `The tuning job is completing: ${endReason}`,
            });
          if (t.status !== 'Stopping') await this.runner.stopChild(t.trainingJobName);
        }
      }
      return;
    }
    if (stillRunning.length > 0) return;
    if (endReason || exhausted) {
      if (!trials.some((t) => t.objectiveStatus === 'Succeeded')) {
        const last = [...trials].reverse().find((t) => t.failureReason);
        await this.setStatus(job, 'Failed', {
          endMs: now,
          failureReason:
            `All ${trials.length} training jobs of the tuning job ended without an objective value${last ? `; the last one: ${last.failureReason}` : ''}`.slice(
              0,
              1024,
            ),
        });
      } else {
        await this.setStatus(job, 'Completed', {
          endMs: now,
          endReason: endReason ?? 'MaxNumberOfTrainingJobs reached',
        });
      }
    }
  }

  private nothingMoreToLaunch(job: TuningJobRecord, trials: readonly TrialRecord[]): boolean {
    const primary = trials.filter((t) => t.retryOf === undefined).length;
    if (retriesDue(job, trials).length > 0) return false;
    if (primary >= job.config.maxTrainingJobs) return true;
    if (job.config.strategy === 'Grid') return this.search.suggest(job, trials, 1).length === 0;
    return false;
  }

  private async setStatus(
    job: TuningJobRecord,
    to: TuningJobStatus,
    patch: { endMs?: number; endReason?: string; failureReason?: string },
  ): Promise<void> {
    if (!canTransition(job.status, to)) {
      throw new AppError(
        ErrorCodes.Internal,
        `tuning job ${job.name}: no transition from ${job.status} to ${to}`,
      );
    }
    await this.repo.update(job.name, {
      status: to,
      lastModifiedMs: this.deps.clock.nowMs(),
      ...patch,
    });
    if (isTerminalTuningStatus(to)) this.search.forget(job.name);
  }
}

export { configKey };
