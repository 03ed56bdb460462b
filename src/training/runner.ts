import fs from 'node:fs';
import path from 'node:path';
import type { PipeFeeder } from './channels.js';
import type { Executor, ExitInfo, RunningProcess } from './executors/executor.js';
import { describeExit } from './executors/local/local-executor.js';
import { clipReason, JobFailure } from './failure.js';
import type { ImageProgram } from './images.js';
import {
  appendTransition,
  assertTransition,
  DEFAULT_MESSAGES,
  isTerminal,
  primaryStatusOf,
  type SecondaryStatus,
} from './lifecycle.js';
import { type JobLog, LogTailer, type LogLine } from './logs.js';
import { mergeMetricDefinitions, OBJECT_DETECTION_METRICS } from './metrics.js';
import { JobMetrics } from './job-metrics.js';
import type { TrainingObjectStore } from './object-port.js';
import { v3DriverCommand } from './program-command.js';
import { prepareJob } from './job-prepare.js';
import { CheckpointSync, dirBytes, readJobText, uploadJobOutputs } from './outputs.js';
import type {
  JobPatch,
  StopReason,
  TrainingJobRecord,
  TrainingJobRepository,
} from './repository.js';

/** What a runner needs from the training context. */
export interface RunnerHost {
  readonly repo: TrainingJobRepository;
  readonly objects: TrainingObjectStore;
  readonly executor: Executor;
  readonly executorWarning: string | undefined;
  readonly now: () => number;
  readonly logCapBytes: number;
  readonly modelCapBytes: number;
  readonly stopGraceSeconds: number;
  readonly pythonPath: string;
  readonly algorithmDir: string;
  /** This replica's id, kept with the process reference (see ProcessRef.replica). */
  readonly replicaId: string;
  jobDir(name: string): string;
  jobLog(name: string): JobLog;
  emitStatus(record: TrainingJobRecord): void;
  emitMetric(e: { jobName: string; metricName: string; value: number; timestampMs: number }): void;
  emitLog(jobName: string, line: LogLine): void;
  warn(message: string, err?: unknown): void;
}

/**
 * Runs one training job from Downloading to a terminal state (or re-attaches to its process
 * after a restart). It is the only writer of its job's row while it runs.
 */
export class JobRunner {
  private record: TrainingJobRecord;
  private readonly abort = new AbortController();
  private proc: RunningProcess | undefined;
  private stopReason: StopReason | undefined;
  private capFailure: string | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly feeders: PipeFeeder[] = [];
  private tailer: LogTailer | undefined;
  private readonly metrics: JobMetrics;
  private checkpoints: CheckpointSync | undefined;
  private readonly log: JobLog;
  private closed = false;
  /** Serialises row writes. */
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: RunnerHost,
    record: TrainingJobRecord,
    private readonly program: ImageProgram,
  ) {
    this.record = record;
    this.stopReason = record.stopReason;
    this.metrics = new JobMetrics(record.name, host.repo, record.finalMetrics, {
      point: (p) => this.host.emitMetric({ jobName: this.record.name, ...p }),
      dropped: (name, reason) =>
        this.platformLog(
          `Apiary: MetricDefinitions '${name}' is no longer evaluated for this job: ${reason}`,
        ),
      warn: (message, err) => this.host.warn(message, err),
    });
    this.log = host.jobLog(record.name);
    this.log.ensure();
  }

  get name(): string {
    return this.record.name;
  }

  get current(): TrainingJobRecord {
    return this.record;
  }

  private get mlDir(): string {
    return path.join(this.host.jobDir(this.record.name), 'ml');
  }

  private platformLog(message: string): void {
    try {
      this.log.appendPlatformLine(message);
    } catch (err) {
      this.host.warn(`cannot write the log of training job ${this.record.name}`, err);
    }
  }

  private async write(patch: Omit<JobPatch, 'lastModifiedMs'>): Promise<void> {
    // Detached (shutdown, or another replica took the job over): this runner writes nothing more.
    if (this.closed) return;
    const now = this.host.now();
    this.record = { ...this.record, ...patch, lastModifiedMs: now } as TrainingJobRecord;
    const run = this.writes.then(() =>
      this.host.repo.update(this.record.name, { ...patch, lastModifiedMs: now }),
    );
    this.writes = run.catch((err) =>
      this.host.warn(`cannot save training job ${this.record.name}`, err),
    );
    await run;
  }

  private async transition(
    to: SecondaryStatus,
    message = DEFAULT_MESSAGES[to],
    extra: Omit<JobPatch, 'lastModifiedMs'> = {},
  ) {
    assertTransition(this.record.secondaryStatus, to);
    const now = this.host.now();
    await this.write({
      ...extra,
      secondaryStatus: to,
      status: primaryStatusOf(to),
      transitions: appendTransition(this.record.transitions, to, now, message),
    });
    this.host.emitStatus(this.record);
  }

  /** StopTrainingJob, or MaxRuntimeInSeconds elapsed. */
  async requestStop(reason: StopReason): Promise<void> {
    if (this.stopReason || isTerminal(this.record.secondaryStatus)) return;
    // The process is done and its model is being stored: let that finish.
    if (this.record.secondaryStatus === 'Uploading') return;
    this.stopReason = reason;
    this.abort.abort(new JobFailure('stopped'));
    if (this.record.secondaryStatus !== 'Stopping') {
      await this.transition(
        'Stopping',
        reason === 'MaxRuntimeExceeded'
          ? `Stopping the training job: it ran longer than MaxRuntimeInSeconds (${this.record.spec.maxRuntimeSeconds} s)`
          : DEFAULT_MESSAGES.Stopping,
        { stopReason: reason },
      );
    }
    this.platformLog(
      reason === 'MaxRuntimeExceeded'
        ? `Apiary: MaxRuntimeInSeconds (${this.record.spec.maxRuntimeSeconds} s) exceeded: stopping the training job`
        : 'Apiary: StopTrainingJob: stopping the training job',
    );
    this.signalStop();
  }

  private signalStop(): void {
    if (!this.proc) return;
    this.proc.signal('SIGTERM');
    if (!this.killTimer) {
      this.killTimer = setTimeout(
        () => this.proc?.signal('SIGKILL'),
        this.host.stopGraceSeconds * 1000,
      );
      this.killTimer.unref();
    }
  }

  private failFast(reason: string): void {
    if (this.capFailure) return;
    this.capFailure = reason;
    this.platformLog(`Apiary: ${reason}`);
    this.proc?.signal('SIGKILL');
  }

  /** Kills the process (server shutdown). The row stays as it is for the next start to reconcile. */
  detachAndKill(): void {
    this.closed = true;
    this.metrics.close();
    this.abort.abort(new JobFailure('server shutting down'));
    // A Kubernetes Job outlives Apiary: the next start (on any replica) re-attaches to it.
    if (!this.proc?.ref.kubernetes) this.proc?.signal('SIGKILL');
    for (const f of this.feeders) f.stop();
  }

  // ------------------------------------------------------------------------------------------

  /** A fresh attempt: Downloading → Training → Uploading → Completed (or a failure/stop). */
  async runFresh(): Promise<void> {
    try {
      if (this.stopReason) return await this.finishStopped();
      const startMs = this.record.trainingStartMs ?? this.host.now();
      await this.transition('Downloading', DEFAULT_MESSAGES.Downloading, {
        trainingStartMs: startMs,
        failureReason: undefined,
      });
      this.armMaxRuntime();
      const { launch, checkpoints } = await prepareJob({
        host: this.host,
        record: this.record,
        program: this.program,
        mlDir: this.mlDir,
        logFile: this.log.rawFile,
        signal: this.abort.signal,
        feeders: this.feeders,
        log: (m) => this.platformLog(m),
        failFast: (reason) => this.failFast(reason),
      });
      this.checkpoints = checkpoints;
      if (this.stopReason) return await this.finishStopped();
      await this.transition('Training', DEFAULT_MESSAGES.Training);
      if (this.stopReason) return await this.finishStopped();
      this.startWatching();
      this.proc = await this.host.executor.launch(launch);
      await this.write({ process: { ...this.proc.ref, replica: this.host.replicaId } });
      if (this.stopReason) this.signalStop();
      const exit = await this.proc.wait();
      await this.afterExit(exit);
    } catch (err) {
      await this.handleError(err);
    } finally {
      this.cleanupTimers();
    }
  }

  /** After a restart: the process may still run (re-attach) or have finished meanwhile. */
  async runReattached(proc: RunningProcess | undefined, exit: ExitInfo | undefined): Promise<void> {
    try {
      this.armMaxRuntime();
      this.platformLog('Apiary: the server restarted; re-attached to the running training job');
      if (proc) {
        this.proc = proc;
        this.startWatching();
        if (this.stopReason) this.signalStop();
        exit = await proc.wait();
      } else {
        this.startWatching();
      }
      await this.afterExit(exit ?? { code: null, signal: 'SIGKILL' });
    } catch (err) {
      await this.handleError(err);
    } finally {
      this.cleanupTimers();
    }
  }

  private armMaxRuntime(): void {
    const start = this.record.trainingStartMs ?? this.host.now();
    const left = start + this.record.spec.maxRuntimeSeconds * 1000 - this.host.now();
    const t = setTimeout(
      () => void this.requestStop('MaxRuntimeExceeded').catch(() => {}),
      Math.max(0, left),
    );
    t.unref();
    this.timers.push(t);
  }

  private cleanupTimers(): void {
    for (const t of this.timers) clearInterval(t);
    if (this.killTimer) clearTimeout(this.killTimer);
    for (const f of this.feeders) f.stop();
    this.metrics.close();
  }

  private async handleError(err: unknown): Promise<void> {
    if (this.closed) return;
    this.tailer?.close();
    this.tailer = undefined;
    if (this.stopReason && !(err instanceof JobFailure && err.message !== 'stopped')) {
      return this.finishStopped().catch((e) =>
        this.host.warn(`stopping ${this.record.name} failed`, e),
      );
    }
    const reason =
      err instanceof JobFailure
        ? err.reason
        : `InternalServerError: Apiary could not run the training job (${err instanceof Error ? err.message.replace(/\/[^\s'"]+/g, '<path>') : String(err)})`;
    if (!(err instanceof JobFailure))
      this.host.warn(`training job ${this.record.name} failed inside Apiary`, err);
    await this.fail(reason);
  }

  private async fail(reason: string): Promise<void> {
    if (isTerminal(this.record.secondaryStatus)) return;
    this.platformLog(`Apiary: training job failed: ${reason}`);
    await this.flushMetrics();
    await this.transition('Failed', DEFAULT_MESSAGES.Failed, {
      failureReason: clipReason(reason),
      trainingEndMs: this.record.trainingStartMs !== undefined ? this.host.now() : undefined,
      process: undefined,
    });
    this.cleanupJobFolder();
  }

  // ------------------------------------------------------------------------------------------

  // ------------------------------------------------------------------------------------------

  private startWatching(): void {
    const { spec } = this.record;
    const defs =
      this.program.kind === 'object-detection'
        ? mergeMetricDefinitions(OBJECT_DETECTION_METRICS, spec.metricDefinitions)
        : spec.metricDefinitions;
    this.metrics.start(defs);
    this.tailer = new LogTailer(
      this.log,
      (line) => this.onLine(line),
      this.host.now,
      (err) => this.host.warn(`log capture of ${this.record.name} failed`, err),
    );
    this.tailer.start();
    for (const f of this.feeders) void f.run();
    const flush = setInterval(() => void this.flushMetrics(), 1000);
    flush.unref();
    this.timers.push(flush);
    const modelDir = path.join(this.mlDir, 'model');
    const watch = setInterval(() => {
      if (dirBytes(modelDir) > this.host.modelCapBytes) {
        this.failFast(
          `ClientError: the model folder holds more than ${this.host.modelCapBytes} bytes (APIARY_TRAINING_MODEL_CAP_BYTES)`,
        );
      }
    }, 5000);
    watch.unref();
    this.timers.push(watch);
    if (this.checkpoints || spec.checkpoint) {
      const ckptHost = path.join(this.mlDir, spec.checkpoint!.localPath.slice('/opt/ml/'.length));
      this.checkpoints ??= new CheckpointSync(
        this.host.objects,
        spec.checkpoint!.location,
        ckptHost,
      );
      const sync = setInterval(
        () =>
          void this.checkpoints!.sync().catch((e) => this.host.warn('checkpoint sync failed', e)),
        10_000,
      );
      sync.unref();
      this.timers.push(sync);
    }
  }

  private onLine(line: LogLine): void {
    this.host.emitLog(this.record.name, line);
    if (this.tailer && this.tailer.bytesSeen > this.host.logCapBytes) {
      this.failFast(
        `ClientError: the training job wrote more than ${this.host.logCapBytes} bytes of logs (APIARY_TRAINING_LOG_CAP_BYTES)`,
      );
    }
    this.metrics.push(line.message, line.timestampMs);
  }

  private async flushMetrics(): Promise<void> {
    const finals = await this.metrics.flush();
    if (finals) await this.write({ finalMetrics: finals });
  }

  // ------------------------------------------------------------------------------------------

  private async afterExit(exit: ExitInfo): Promise<void> {
    if (this.closed) return;
    // While the log is still read: a regex dropped now gets its note into the job's log.
    await this.metrics.drain();
    this.tailer?.close();
    this.tailer = undefined;
    for (const f of this.feeders) f.stop();
    if (this.killTimer) clearTimeout(this.killTimer);
    await this.flushMetrics();
    if (this.checkpoints)
      await this.checkpoints.sync().catch((e) => this.host.warn('checkpoint sync failed', e));
    if (this.capFailure) return this.fail(this.capFailure);
    if (this.stopReason) return this.finishStopped();
    if (exit.failure) return this.fail(exit.failure);
    if (exit.code === 0 && !exit.signal) {
      if (this.record.secondaryStatus !== 'Uploading') {
        await this.transition('Uploading', DEFAULT_MESSAGES.Uploading);
      }
      await this.uploadOutputs();
      const end = this.host.now();
      await this.transition('Completed', DEFAULT_MESSAGES.Completed, {
        trainingEndMs: end,
        process: undefined,
      });
      this.cleanupJobFolder();
      return;
    }
    const failure = readJobText(path.join(this.mlDir, 'output', 'failure'), 4096)?.trim();
    if (failure) return this.fail(failure);
    const last = this.log
      .tail(12)
      .filter((l) => !l.message.startsWith('Apiary'))
      .slice(-8)
      .map((l) => l.message)
      .join('\n');
    await this.fail(
      `AlgorithmError: the training process failed: ${describeExit(exit)}${last ? `. Last log lines:\n${last}` : ''}`,
    );
  }

  private uploadOutputs(): Promise<void> {
    return uploadJobOutputs({
      objects: this.host.objects,
      spec: this.record.spec,
      name: this.record.name,
      mlDir: this.mlDir,
      modelCapBytes: this.host.modelCapBytes,
      log: (m) => this.platformLog(m),
    });
  }

  private async finishStopped(): Promise<void> {
    this.tailer?.close();
    this.tailer = undefined;
    if (this.record.secondaryStatus !== 'Stopping') {
      await this.transition('Stopping', DEFAULT_MESSAGES.Stopping, { stopReason: this.stopReason });
    }
    // Intermediate artifacts are uploaded on a stop too (best effort), when training ran.
    if (this.proc || this.record.process) {
      try {
        await this.uploadOutputs();
      } catch (err) {
        this.platformLog(
          `Apiary: model artifacts of the stopped job were not uploaded: ${err instanceof JobFailure ? err.reason : (err as Error).message}`,
        );
      }
    }
    const to: SecondaryStatus =
      this.stopReason === 'MaxRuntimeExceeded' ? 'MaxRuntimeExceeded' : 'Stopped';
    await this.transition(to, DEFAULT_MESSAGES[to], {
      trainingEndMs: this.record.trainingStartMs !== undefined ? this.host.now() : undefined,
      process: undefined,
    });
    this.cleanupJobFolder();
  }

  /** The job folder goes once the job is over (its outputs are in the store); the log stays. */
  private cleanupJobFolder(): void {
    fs.rm(this.mlDir, { recursive: true, force: true }, () => {});
  }
}

export { v3DriverCommand };
