import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isObjectStoreError } from '../objects/index.js';
import { parseS3Uri } from '../shared/s3-uri.js';
import { stageFileChannel, PipeFeeder } from './channels.js';
import type { Executor, ExitInfo, RunningProcess } from './executors/executor.js';
import { describeExit } from './executors/local/local-executor.js';
import { clipReason, JobFailure } from './failure.js';
import type { ImageProgram } from './images.js';
import { inputDataConfig, resourceConfig } from './job-env.js';
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
import { verifyPipeChannel } from './input-checks.js';
import { programLaunch, v3DriverCommand } from './program-command.js';
import { CheckpointSync, dirBytes, readJobText, uploadDirectoryTarGz } from './outputs.js';
import type {
  JobPatch,
  StopReason,
  TrainingJobRecord,
  TrainingJobRepository,
} from './repository.js';
import { modelArtifactsUri, outputDataUri } from './spec.js';

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
      const launch = await this.prepare();
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

  /** Downloading: job folder, config files, checkpoints, channels, script-mode code. */
  private async prepare() {
    const { spec, name, arn } = this.record;
    const ml = this.mlDir;
    for (const sub of ['input', 'model', 'output', 'code', '.apiary'])
      fs.rmSync(path.join(ml, sub), { recursive: true, force: true });
    for (const sub of [
      'input/config',
      'input/data',
      'model',
      'output/data',
      'output/intermediate',
      'code',
      '.apiary',
    ]) {
      fs.mkdirSync(path.join(ml, sub), { recursive: true });
    }
    if (this.host.executorWarning) this.platformLog(`Apiary WARNING: ${this.host.executorWarning}`);
    this.platformLog(
      `Apiary: running ${name} (attempt ${this.record.attempt}) as a ${this.host.executor.description}`,
    );
    const cfg = path.join(ml, 'input', 'config');
    fs.writeFileSync(path.join(cfg, 'hyperparameters.json'), JSON.stringify(spec.hyperParameters));
    fs.writeFileSync(
      path.join(cfg, 'inputdataconfig.json'),
      JSON.stringify(inputDataConfig(spec.channels)),
    );
    fs.writeFileSync(path.join(cfg, 'resourceconfig.json'), JSON.stringify(resourceConfig(spec)));

    const root = this.host.executor.mlRootFor(ml);
    const ckptRel = spec.checkpoint
      ? spec.checkpoint.localPath.slice('/opt/ml/'.length)
      : 'checkpoints';
    const ckptHost = path.join(ml, ckptRel);
    fs.mkdirSync(ckptHost, { recursive: true });
    if (spec.checkpoint) {
      this.checkpoints = new CheckpointSync(this.host.objects, spec.checkpoint.location, ckptHost);
      const n = await this.checkpoints.download();
      this.platformLog(`Apiary: ${n} checkpoint file(s) copied from ${spec.checkpoint.uri}`);
    }

    const dataDir = path.join(ml, 'input', 'data');
    for (const ch of spec.channels) {
      if (this.abort.signal.aborted) return this.launchSpec(root, [], {});
      if (ch.inputMode === 'Pipe') {
        await verifyPipeChannel(this.host.objects, ch);
        const feeder = new PipeFeeder(this.host.objects, ch, dataDir, (err) =>
          this.failFast(
            err instanceof JobFailure
              ? err.reason
              : `InternalServerError: Pipe mode channel '${ch.name}' failed (${(err as Error).message})`,
          ),
        );
        await feeder.create(0);
        this.feeders.push(feeder);
        this.platformLog(
          `Apiary: channel '${ch.name}' (Pipe mode${ch.recordWrapper === 'RecordIO' ? ', RecordIO' : ''}): FIFO ${ch.name}_0 ready`,
        );
      } else {
        const t0 = Date.now();
        const n = await stageFileChannel(this.host.objects, ch, path.join(dataDir, ch.name), {
          link: this.host.executor.isolated,
          signal: this.abort.signal,
        });
        this.platformLog(
          `Apiary: channel '${ch.name}' (${ch.inputMode} mode): ${n} file(s) staged in ${Date.now() - t0} ms`,
        );
      }
    }

    const { command, cwd, env } = await programLaunch({
      program: this.program,
      spec,
      name,
      root,
      ml,
      ckptRel,
      python: this.host.pythonPath,
      algorithmDir: this.host.algorithmDir,
      isolated: this.host.executor.isolated,
      objects: this.host.objects,
      log: (m) => this.platformLog(m),
    });
    env.TRAINING_JOB_NAME = name;
    env.TRAINING_JOB_ARN = arn;
    return this.launchSpec(cwd, command, env);
  }

  private launchSpec(cwd: string, command: string[], platformEnv: Record<string, string>) {
    const isolated = this.host.executor.isolated;
    const base: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      HOME: isolated ? '/tmp' : os.homedir(),
      TORCH_HOME: process.env.TORCH_HOME ?? path.join(os.homedir(), '.cache', 'torch'),
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
    };
    const user = this.record.spec.environment;
    const env = { ...base, ...user, ...platformEnv };
    if (user.PYTHONPATH && platformEnv.PYTHONPATH)
      env.PYTHONPATH = `${platformEnv.PYTHONPATH}:${user.PYTHONPATH}`;
    const { spec } = this.record;
    return {
      jobName: this.record.name,
      mlDir: this.mlDir,
      command,
      env,
      cwd,
      logFile: this.log.rawFile,
      kubernetes: {
        image: spec.image,
        builtIn: this.program.kind === 'object-detection',
        instanceType: spec.instanceType ?? 'ml.m5.large',
        instanceCount: spec.instanceCount,
        maxRuntimeSeconds: spec.maxRuntimeSeconds,
        attempt: this.record.attempt,
      },
    };
  }

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

  private async uploadOutputs(): Promise<void> {
    const { spec, name } = this.record;
    const modelDir = path.join(this.mlDir, 'model');
    const bytes = dirBytes(modelDir);
    if (bytes > this.host.modelCapBytes) {
      throw new JobFailure(
        `ClientError: the model folder holds ${bytes} bytes, more than ${this.host.modelCapBytes} (APIARY_TRAINING_MODEL_CAP_BYTES)`,
      );
    }
    const t0 = Date.now();
    const size = await uploadDirectoryTarGz(
      this.host.objects,
      modelDir,
      parseS3Uri(modelArtifactsUri(spec.outputPath, name)),
    ).catch((err: unknown) => {
      // A full disk is the operator's to fix, not a fault a retry on this machine would mend.
      if (isObjectStoreError(err) && err.code === 'InsufficientStorage')
        throw new JobFailure(
          `InternalServerError: the model could not be stored at ${modelArtifactsUri(spec.outputPath, name)}: ${err.message}`,
        );
      throw err;
    });
    this.platformLog(
      `Apiary: model.tar.gz (${size} bytes) uploaded to ${modelArtifactsUri(spec.outputPath, name)} in ${Date.now() - t0} ms`,
    );
    const outDir = path.join(this.mlDir, 'output', 'data');
    if (fs.existsSync(outDir) && fs.readdirSync(outDir).length > 0) {
      await uploadDirectoryTarGz(
        this.host.objects,
        outDir,
        parseS3Uri(outputDataUri(spec.outputPath, name)),
      );
    }
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
