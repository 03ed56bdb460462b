import type { Kysely } from 'kysely';
import { AppError, ErrorCodes, isAppError, randomHex, seededRandom, validationError } from '../shared/index.js';
import type { ArnContext, Clock, ListPage, ListQuery } from '../shared/index.js';
import type { Db } from '../store/index.js';
import { medianStoppingRule } from './early-stopping.js';
import { canTransition, isTerminalTuningStatus } from './model.js';
import type { TrialRecord, TuningConfig, TuningJobRecord, TuningJobStatus } from './model.js';
import { TuningRepository, type TuningTables } from './repository.js';
import { tuningConfigFromRequest, type CreateTuningJobRequest, type WireTrainingJobDefinition } from './request.js';
import { configKey, formatValue, parseValue } from './space.js';
import type { Config, ParameterValue } from './space.js';
import { BayesianSearch } from './strategies/bayesian.js';
import { GridSearch } from './strategies/grid.js';
import { Hyperband } from './strategies/hyperband.js';
import { RandomSearch } from './strategies/random.js';
import type { Observation, SearchStrategy } from './strategies/strategy.js';
import type { ChildJob, MetricEvent, TrainingPort } from './training-port.js';

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
}

/** Finished trials in a row without a >1% improvement after which the search counts as converged. */
export const CONVERGENCE_WINDOW = 10;
const SILENT_PREFIX = 'InternalServerError: the trial was silent';
const TERMINAL_TRIAL = new Set(['Completed', 'Failed', 'Stopped']);
export const isTrialTerminal = (t: TrialRecord): boolean => TERMINAL_TRIAL.has(t.status);

/** Loss = the objective turned so that lower is better. */
const lossOf = (config: TuningConfig, value: number): number => (config.objective.type === 'Maximize' ? -value : value);

/** Best trial by objective, or undefined. */
export function bestTrial(config: TuningConfig, trials: readonly TrialRecord[]): TrialRecord | undefined {
  let best: TrialRecord | undefined;
  for (const t of trials) {
    if (t.objectiveStatus !== 'Succeeded' || t.objectiveValue === undefined) continue;
    if (!best || lossOf(config, t.objectiveValue) < lossOf(config, best.objectiveValue!)) best = t;
  }
  return best;
}

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
  private readonly strategies = new Map<string, { strategy: SearchStrategy; hyperband: Hyperband | undefined }>();
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly deps: TuningDeps) {
    this.repo = new TuningRepository(deps.db.withTables<TuningTables>() as unknown as Kysely<TuningTables>, deps.arn);
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
        if (!p) throw validationError(`WarmStartConfig: the parent tuning job '${parent}' does not exist`);
        if (!isTerminalTuningStatus(p.status)) {
          throw validationError(`WarmStartConfig: the parent tuning job '${parent}' is ${p.status}; parents must have ended (Completed, Stopped or Failed)`);
        }
        if (p.config.objective.metricName !== config.objective.metricName || p.config.objective.type !== config.objective.type) {
          throw validationError(`WarmStartConfig: the parent tuning job '${parent}' optimises ${p.config.objective.type} ${p.config.objective.metricName}; a warm start needs the same objective`);
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

  async describe(name: string): Promise<{ job: TuningJobRecord; trials: TrialRecord[]; parentTrials: TrialRecord[] }> {
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
        throw validationError(`The hyperparameter tuning job ${job.name} is ${job.status} and cannot be stopped; only InProgress tuning jobs can be stopped.`);
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
      for (const t of await this.repo.trials(job.name)) this.childToTuning.set(t.trainingJobName.toLowerCase(), job.name);
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
    await Promise.allSettled([...this.chains.values()]);
  }

  /** Resolves when no step is queued or running (tests; graceful close). */
  async settled(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()]);
  }

  /** Re-examines every active tuning job (timer; tests call it directly). */
  async pollAll(): Promise<void> {
    const active = await this.repo.listActive();
    await Promise.all(active.map((j) => this.kick(j.name)));
  }

  /** Runs one step of `name` after any step already queued for it. */
  kick(name: string): Promise<void> {
    return this.serialized(name, () => this.step(name));
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
    void this.serialized(tuning, () => this.recordIntermediate(tuning, event)).catch(() => undefined);
  }

  // ------------------------------------------------------------------------------------------
  // The step

  private async recordIntermediate(name: string, event: MetricEvent): Promise<void> {
    const job = await this.repo.get(name);
    if (event.metricName !== job.config.objective.metricName || isTerminalTuningStatus(job.status)) return;
    const trials = await this.repo.trials(job.name);
    const trial = trials.find((t) => t.trainingJobName.toLowerCase() === event.jobName.toLowerCase());
    if (!trial || isTrialTerminal(trial)) return;
    const updated: TrialRecord = { ...trial, curve: [...trial.curve, event.value], lastActivityMs: this.deps.clock.nowMs() };
    await this.repo.saveTrial(updated);
    if (updated.stopReason || job.status !== 'InProgress') return;
    const reason = this.stopDecision(job, updated, trials);
    if (reason) {
      await this.repo.saveTrial({ ...updated, stopReason: reason });
      await this.stopChild(updated.trainingJobName);
    }
  }

  /** Early stopping (median rule) or Hyperband's rung decision for a trial that just reported. */
  stopDecision(job: TuningJobRecord, trial: TrialRecord, trials: readonly TrialRecord[]): string | undefined {
    const { config } = job;
    const losses = trial.curve.map((v) => lossOf(config, v));
    if (config.strategy === 'Hyperband' && trial.bracket !== undefined) {
      const hb = this.strategyFor(job).hyperband!;
      const others = trials
        .filter((t) => t.index !== trial.index && t.bracket !== undefined)
        .map((t) => ({ bracket: t.bracket!, losses: t.curve.map((v) => lossOf(config, v)) }));
      const d = hb.decide({ bracket: trial.bracket, losses }, others);
      return d.action === 'stop' ? d.reason : undefined;
    }
    if (config.earlyStopping === 'Auto') {
      const previous = trials.filter((t) => t.index < trial.index).map((t) => t.curve.map((v) => lossOf(config, v)));
      const d = medianStoppingRule(losses, previous);
      return d.stop ? d.reason : undefined;
    }
    return undefined;
  }

  private strategyFor(job: TuningJobRecord): { strategy: SearchStrategy; hyperband: Hyperband | undefined } {
    const key = job.name.toLowerCase();
    let s = this.strategies.get(key);
    if (!s) {
      const { config } = job;
      const strategy =
        config.strategy === 'Bayesian'
          ? new BayesianSearch(config.space, { seed: config.randomSeed })
          : config.strategy === 'Grid'
            ? new GridSearch(config.space)
            : new RandomSearch(config.space);
      s = { strategy, hyperband: config.hyperband ? new Hyperband({ ...config.hyperband, eta: 3 }) : undefined };
      this.strategies.set(key, s);
    }
    return s;
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
    for (const t of trials) next.push(isTrialTerminal(t) ? t : await this.follow(job, t, now));
    trials = next;

    const running = trials.filter((t) => !isTrialTerminal(t));
    if (job.status === 'Stopping') {
      for (const t of running) if (t.status !== 'Stopping') await this.stopChild(t.trainingJobName);
      if (running.length === 0) await this.setStatus(job, 'Stopped', { endMs: now, endReason: 'StopHyperParameterTuningJob was called' });
      return;
    }

    // 2. Completion bookkeeping.
    const finished = trials.filter((t) => t.objectiveStatus === 'Succeeded').sort((a, b) => (a.trainingEndMs ?? 0) - (b.trainingEndMs ?? 0));
    const notImproving = countNotImproving(job.config, finished);
    if (notImproving !== job.jobsNotImproving) {
      await this.repo.update(job.name, { jobsNotImproving: notImproving });
      job = { ...job, jobsNotImproving: notImproving };
    }
    if (job.convergenceDetectedMs === undefined && notImproving >= CONVERGENCE_WINDOW) {
      await this.repo.update(job.name, { convergenceDetectedMs: now });
      job = { ...job, convergenceDetectedMs: now };
    }
    const endReason = this.completionReason(job, trials, finished, now);
    const launchedPrimary = trials.filter((t) => t.retryOf === undefined).length;

    // 3. Retries of retryable failures.
    const retries: TrialRecord[] = endReason ? [] : this.retriesDue(job, trials);

    // 4. New trials.
    if (!endReason) {
      let slots = job.config.maxParallelJobs - running.length;
      for (const r of retries) {
        if (slots <= 0) break;
        await this.launch(job, trials, r.config, r.bracket, r.index, now);
        slots--;
        trials = await this.repo.trials(job.name);
      }
      const remaining = job.config.maxTrainingJobs - launchedPrimary;
      const count = Math.min(slots, remaining);
      if (count > 0) {
        for (const config of this.suggest(job, trials, count)) {
          const bracket = this.strategyFor(job).hyperband?.bracketFor(trials.filter((t) => t.retryOf === undefined).length);
          await this.launch(job, trials, config, bracket, undefined, now);
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
          if (!t.stopReason) await this.repo.saveTrial({ ...t, stopReason: `The tuning job is completing: ${endReason}` });
          if (t.status !== 'Stopping') await this.stopChild(t.trainingJobName);
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
          failureReason: `All ${trials.length} training jobs of the tuning job ended without an objective value${last ? `; the last one: ${last.failureReason}` : ''}`.slice(0, 1024),
        });
      } else {
        await this.setStatus(job, 'Completed', { endMs: now, endReason: endReason ?? 'MaxNumberOfTrainingJobs reached' });
      }
    }
  }

  private nothingMoreToLaunch(job: TuningJobRecord, trials: readonly TrialRecord[]): boolean {
    const primary = trials.filter((t) => t.retryOf === undefined).length;
    if (this.retriesDue(job, trials).length > 0) return false;
    if (primary >= job.config.maxTrainingJobs) return true;
    if (job.config.strategy === 'Grid') return this.suggest(job, trials, 1).length === 0;
    return false;
  }

  private completionReason(job: TuningJobRecord, trials: readonly TrialRecord[], finished: readonly TrialRecord[], now: number): string | undefined {
    const { config } = job;
    if (config.maxRuntimeSeconds !== undefined && now - job.createdAtMs >= config.maxRuntimeSeconds * 1000) {
      return 'MaxRuntimeInSeconds reached';
    }
    const best = bestTrial(config, finished);
    const target = config.completion.targetObjectiveValue;
    if (best && target !== undefined && lossOf(config, best.objectiveValue!) <= lossOf(config, target)) {
      return 'TargetObjectiveMetricValue reached';
    }
    const n = config.completion.maxJobsNotImproving;
    if (n !== undefined && job.jobsNotImproving >= n) return `BestObjectiveNotImproving: ${job.jobsNotImproving} training jobs did not improve the best objective by more than 1%`;
    if (config.completion.completeOnConvergence && job.convergenceDetectedMs !== undefined) {
      return `ConvergenceDetected: ${CONVERGENCE_WINDOW} training jobs in a row did not improve the best objective by more than 1%`;
    }
    const primary = trials.filter((t) => t.retryOf === undefined).length;
    if (primary >= config.maxTrainingJobs && this.retriesDue(job, trials).length === 0) return 'MaxNumberOfTrainingJobs reached';
    return undefined;
  }

  private retriesDue(job: TuningJobRecord, trials: readonly TrialRecord[]): TrialRecord[] {
    const due: TrialRecord[] = [];
    for (const t of trials) {
      if (t.status !== 'Failed' || t.errorKind !== 'Retryable') continue;
      const root = t.retryOf ?? t.index;
      const attempts = trials.filter((o) => o.retryOf === root).length;
      const newest = trials.filter((o) => o.index === root || o.retryOf === root).at(-1)!;
      if (newest.index === t.index && attempts < job.config.maxRetryAttempts) due.push({ ...t, index: root });
    }
    return due;
  }

  private suggest(job: TuningJobRecord, trials: readonly TrialRecord[], count: number): Config[] {
    const { config } = job;
    const { strategy } = this.strategyFor(job);
    const observations: Observation[] = [];
    const pending: Config[] = [];
    const failed: Config[] = [];
    for (const t of trials) {
      if (t.objectiveStatus === 'Succeeded' && t.objectiveValue !== undefined) observations.push({ config: t.config, loss: lossOf(config, t.objectiveValue) });
      else if (!isTrialTerminal(t)) pending.push(t.config);
      else failed.push(t.config);
    }
    const primary = trials.filter((t) => t.retryOf === undefined).length;
    const warm = this.warmObservations.get(job.name.toLowerCase()) ?? [];
    const trialIndex = primary + warm.length;
    return strategy.suggest(
      {
        observations: [...warm, ...observations],
        pending,
        failed,
        trialIndex,
        random: seededRandom((config.randomSeed * 2654435761 + trialIndex * 40503) >>> 0),
      },
      count,
    );
  }

  private readonly warmObservations = new Map<string, Observation[]>();

  /** Loads the parents' finished trials as observations (warm start), once per process. */
  async loadWarmStart(job: TuningJobRecord): Promise<void> {
    const key = job.name.toLowerCase();
    if (!job.config.warmStart || this.warmObservations.has(key)) return;
    const obs: Observation[] = [];
    for (const parentName of job.config.warmStart.parents) {
      const parent = await this.repo.find(parentName);
      if (!parent) continue;
      for (const t of await this.repo.trials(parent.name)) {
        if (t.objectiveStatus !== 'Succeeded' || t.objectiveValue === undefined) continue;
        const c: Record<string, ParameterValue> = {};
        let ok = true;
        for (const spec of job.config.space) {
          const text = t.tunedHyperParameters[spec.name];
          const v = text === undefined ? undefined : parseValue(spec, text);
          if (v === undefined) ok = false;
          else c[spec.name] = v;
        }
        if (ok) obs.push({ config: c, loss: lossOf(job.config, t.objectiveValue) });
      }
    }
    this.warmObservations.set(key, obs);
  }

  private async launch(
    job: TuningJobRecord,
    trials: readonly TrialRecord[],
    config: Config,
    bracket: number | undefined,
    retryOf: number | undefined,
    now: number,
  ): Promise<void> {
    await this.loadWarmStart(job);
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
    await this.repo.insertTrial(trial);
    this.childToTuning.set(trainingJobName.toLowerCase(), job.name);
    await this.createChild(job, trial);
  }

  private async createChild(job: TuningJobRecord, trial: TrialRecord): Promise<TrialRecord> {
    const def = (job.request as { TrainingJobDefinition: WireTrainingJobDefinition }).TrainingJobDefinition;
    try {
      await this.deps.training.create(childRequest(job, def, trial), { tuningJobArn: job.arn, objective: job.config.objective });
      const updated: TrialRecord = { ...trial, status: 'InProgress' };
      await this.repo.saveTrial(updated);
      return updated;
    } catch (err) {
      const retryable = isAppError(err) && (err.code === ErrorCodes.LimitExceeded || err.code === ErrorCodes.Internal || err.retryable);
      if (isAppError(err) && err.code === ErrorCodes.InUse) {
        // Created before a crash: follow it.
        const updated: TrialRecord = { ...trial, status: 'InProgress' };
        await this.repo.saveTrial(updated);
        return updated;
      }
      const message = isAppError(err) ? err.message : 'internal error';
      const updated: TrialRecord = {
        ...trial,
        status: 'Failed',
        objectiveStatus: 'Failed',
        errorKind: retryable ? 'Retryable' : 'NonRetryable',
        failureReason: `${retryable ? 'InternalServerError' : 'ClientError'}: the training job could not be created: ${message}`.slice(0, 1024),
      };
      await this.repo.saveTrial(updated);
      return updated;
    }
  }

  /** Brings a non-terminal trial up to date with its child training job. */
  private async follow(job: TuningJobRecord, trial: TrialRecord, now: number): Promise<TrialRecord> {
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
      await this.repo.saveTrial(updated);
      return updated;
    }
    let updated: TrialRecord = {
      ...trial,
      status: child.status === 'InProgress' && trial.status === 'Launching' ? 'InProgress' : (child.status as TrialRecord['status']),
      trainingStartMs: child.trainingStartMs,
      trainingEndMs: child.trainingEndMs,
    };
    const objectiveMetric = child.finalMetrics.find((m) => m.metricName === job.config.objective.metricName);
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
        errorKind: /^InternalServerError|^InternalFailure|interrupted by a server restart/i.test(reason) ? 'Retryable' : 'NonRetryable',
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
    if (updated.status !== trial.status || updated.trainingStartMs !== trial.trainingStartMs) updated = { ...updated, lastActivityMs: now };
    await this.repo.saveTrial(updated);
    return updated;
  }

  private async stopChild(name: string): Promise<void> {
    try {
      await this.deps.training.stop(name);
    } catch (err) {
      if (!isAppError(err)) this.deps.logger?.warn({ err }, `stopping training job ${name} failed`);
    }
  }

  private async setStatus(
    job: TuningJobRecord,
    to: TuningJobStatus,
    patch: { endMs?: number; endReason?: string; failureReason?: string },
  ): Promise<void> {
    if (!canTransition(job.status, to)) {
      throw new AppError(ErrorCodes.Internal, `tuning job ${job.name}: no transition from ${job.status} to ${to}`);
    }
    await this.repo.update(job.name, { status: to, lastModifiedMs: this.deps.clock.nowMs(), ...patch });
    if (isTerminalTuningStatus(to)) this.strategies.delete(job.name.toLowerCase());
  }
}

/** Trials (in completion order) since the last one that improved the best objective by more than 1%. */
export function countNotImproving(config: TuningConfig, finished: readonly TrialRecord[]): number {
  let best: number | undefined;
  let count = 0;
  for (const t of finished) {
    const loss = lossOf(config, t.objectiveValue!);
    if (best === undefined || best - loss > 0.01 * Math.abs(best)) {
      best = loss;
      count = 0;
    } else {
      count++;
    }
  }
  return count;
}

/** The child's CreateTrainingJob request: the definition + static and tuned hyperparameters. */
export function childRequest(job: TuningJobRecord, def: WireTrainingJobDefinition, trial: TrialRecord): { TrainingJobName: string } & Record<string, unknown> {
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
      ...(StaticHyperParameters ?? {}),
      ...trial.tunedHyperParameters,
      _tuning_objective_metric: job.config.objective.metricName,
    },
  };
}

export { configKey };
