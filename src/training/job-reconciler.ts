import fs from 'node:fs';
import { unknownImageMessage, type ImageProgram } from './images.js';
import { appendTransition, DEFAULT_MESSAGES, type SecondaryStatus } from './lifecycle.js';
import type { TrainingJobRecord } from './repository.js';
import { JobRunner, type RunnerHost } from './runner.js';
import type { SharedLog } from './shared-log.js';

/** What restart reconciliation needs from the training context (and the runners it starts). */
export interface ReconcileHost extends Pick<
  RunnerHost,
  'repo' | 'executor' | 'now' | 'jobLog' | 'emitStatus'
> {
  readonly runnerHost: RunnerHost;
  readonly sharedLog: SharedLog | undefined;
  /** Whether a runner of this job is live in this process. */
  running(name: string): boolean;
  resolve(
    image: string,
    registered: readonly { image: string; command: readonly string[] }[],
  ): ImageProgram | undefined;
  /** Puts the job at the end of the slot queue. */
  enqueue(name: string): void;
  launch(runner: JobRunner, body: (r: JobRunner) => Promise<void>): void;
  /** Gives the job's lease back. */
  release(name: string): void;
}

/**
 * Reconciles one active job after a restart (or a take-over from a dead replica): a queued one is
 * queued again; a running process is re-attached; a process that finished meanwhile is finished;
 * one that is gone is retried from its checkpoint when RetryStrategy allows, else Failed
 * "interrupted by a server restart".
 */
export async function reconcileJob(host: ReconcileHost, record: TrainingJobRecord): Promise<void> {
  if (host.running(record.name)) return;
  await seedLogFromShared(host, record.name);
  const program = host.resolve(record.spec.image, await host.repo.images());
  const s: SecondaryStatus = record.secondaryStatus;
  if (s === 'Starting') {
    host.enqueue(record.name);
    return;
  }
  if (!program) {
    await failInterrupted(
      host,
      record,
      `ClientError: ${unknownImageMessage(record.spec.image, await host.repo.images())}`,
    );
    return;
  }
  if (s === 'Downloading' && !record.process) {
    // Nothing of the user's ran yet: start over.
    return requeue(host, record, 'Restarting the training job after a server restart');
  }
  // A local process can only be re-attached by the replica that started it; a Kubernetes Job by any.
  const elsewhere =
    record.process?.replica !== undefined &&
    record.process.replica !== host.runnerHost.replicaId &&
    !record.process.kubernetes;
  // Pipe-mode input cannot be resumed mid-stream (the FIFOs' writer died with the server, and
  // where the trainer was in its data is unknown): a trainer still running would wait on its
  // pipe forever, so it is stopped and the job retried from its checkpoint, or failed.
  const pipe = record.spec.channels.some((c) => c.inputMode === 'Pipe');
  let pipeStopped = false;
  if (record.process && !elsewhere) {
    const proc = await host.executor.reattach(record.process);
    const left = proc ? undefined : await host.executor.leftExitStatus(record.process);
    if (proc && pipe && s === 'Training') {
      proc.signal('SIGKILL');
      await proc.wait();
      pipeStopped = true;
    } else if (proc || left) {
      host.launch(new JobRunner(host.runnerHost, record, program), (r) =>
        r.runReattached(proc, left),
      );
      return;
    }
  }
  if (s === 'Stopping' && !elsewhere) {
    host.launch(new JobRunner(host.runnerHost, record, program), (r) =>
      r.runReattached(undefined, { code: null, signal: 'SIGKILL' }),
    );
    return;
  }
  const why = elsewhere
    ? `the Apiary replica that ran it (${record.process?.replica}) stopped answering`
    : pipeStopped
      ? 'a server restart (its Pipe-mode input cannot be resumed mid-stream, so the trainer was stopped)'
      : 'a server restart';
  if (s === 'Stopping') {
    // Its process went down with the replica that ran it: the requested stop is complete.
    await endJob(host, record, 'Stopped');
    host.emitStatus(await host.repo.get(record.name));
    host.release(record.name);
    return;
  }
  if (record.attempt <= record.spec.maxRetryAttempts) {
    return requeue(
      host,
      record,
      `Restarting the training job after ${why} (attempt ${record.attempt + 1} of ${record.spec.maxRetryAttempts + 1}); it resumes from its newest checkpoint`,
      record.attempt + 1,
    );
  }
  await failInterrupted(
    host,
    record,
    `InternalServerError: the training job was interrupted by ${why}` +
      (record.spec.maxRetryAttempts > 0
        ? ` and used all ${record.spec.maxRetryAttempts} retry attempts`
        : ' (set RetryStrategy to resume such jobs from their checkpoint)'),
  );
}

/**
 * A job taken over from another replica has no local log yet: its stored lines are written to
 * the local file first, so the new attempt's lines continue the numbering instead of reusing it.
 */
async function seedLogFromShared(host: ReconcileHost, name: string): Promise<void> {
  const shared = host.sharedLog;
  if (!shared) return;
  const local = host.jobLog(name);
  if (local.rawSize() > 0) return;
  const stored = await shared.count(name);
  if (stored === 0) return;
  local.ensure();
  for (let from = 0; from < stored; from += 1000) {
    const lines = await shared.read(name, from, 1000);
    fs.appendFileSync(local.rawFile, lines.map((l) => l.message + '\n').join(''));
  }
}

async function requeue(
  host: ReconcileHost,
  record: TrainingJobRecord,
  message: string,
  attempt = record.attempt,
): Promise<void> {
  const now = host.now();
  await host.repo.update(record.name, {
    lastModifiedMs: now,
    status: 'InProgress',
    secondaryStatus: 'Starting',
    transitions: appendTransition(record.transitions, 'Starting', now, message),
    process: undefined,
    attempt,
  });
  host.enqueue(record.name);
  host.emitStatus(await host.repo.get(record.name));
}

async function failInterrupted(
  host: ReconcileHost,
  record: TrainingJobRecord,
  reason: string,
): Promise<void> {
  await endJob(host, record, 'Failed', reason);
  host.jobLog(record.name).ensure();
  host.jobLog(record.name).appendPlatformLine(`Apiary: training job failed: ${reason}`);
  host.emitStatus(await host.repo.get(record.name));
  host.release(record.name);
}

/** Ends a job that has no runner, straight in its row: the transition, the end time, no process. */
async function endJob(
  host: ReconcileHost,
  record: TrainingJobRecord,
  to: 'Stopped' | 'Failed',
  failureReason?: string,
): Promise<void> {
  const now = host.now();
  await host.repo.update(record.name, {
    lastModifiedMs: now,
    status: to,
    secondaryStatus: to,
    transitions: appendTransition(record.transitions, to, now, DEFAULT_MESSAGES[to]),
    ...(failureReason !== undefined ? { failureReason } : {}),
    trainingEndMs: record.trainingStartMs !== undefined ? now : undefined,
    process: undefined,
  });
}
