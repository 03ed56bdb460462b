import type { V1Pod } from '@kubernetes/client-node';
import type { ExitInfo } from '../executor.js';
import { ALGO_CONTAINER } from './job-spec.js';

const IMAGE_PULL_FAILURES = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
]);

/** What one look at a training pod says. */
export type PodVerdict =
  /** The job's process has ended (exit code, signal, or a failure reason for FailureReason). */
  | { readonly kind: 'ended'; readonly exit: ExitInfo; readonly logs: boolean }
  /** Waiting on something that may never come (an image pull, a node): since `since`. */
  | {
      readonly kind: 'stuck';
      readonly since: number;
      readonly timedOut?: ExitInfo;
      readonly logs: false;
    }
  /** Nothing to act on yet. */
  | { readonly kind: 'waiting' | 'running'; readonly logs: boolean };
// `logs`: whether the training container has started, so that its log can be read.

/**
 * Maps a training pod's status onto the job's end, the way SageMaker reports it: OOMKilled names
 * the instance type's memory, a deadline is MaxRuntime's kill, the termination message is the
 * failure file, a pod that failed before its container ran is an internal error, and an image
 * that cannot be pulled or a pod that cannot be scheduled fails the job once it has been so for
 * `pendingTimeoutSeconds` (`stuckSince` is when that began, carried between looks).
 */
export function podVerdict(
  pod: V1Pod,
  o: {
    readonly nowMs: number;
    readonly stuckSince: number | undefined;
    readonly pendingTimeoutSeconds: number;
    readonly deleting: boolean;
  },
): PodVerdict {
  const status = pod.status ?? {};
  const algo = status.containerStatuses?.find((c) => c.name === ALGO_CONTAINER);
  const terminated = algo?.state?.terminated;
  if (terminated) {
    const code = terminated.exitCode ?? null;
    if (terminated.reason === 'OOMKilled') {
      const memory = pod.spec?.containers?.[0]?.resources?.limits?.memory ?? '';
      return ended(true, {
        code,
        signal: null,
        failure: `ClientError: the training container ran out of memory (OOMKilled: exceeded the ${memory} memory of its instance type); choose a larger InstanceType`,
      });
    }
    if (terminated.reason === 'DeadlineExceeded')
      return ended(true, { code: null, signal: 'SIGKILL' });
    // The failure file (as the termination message), else the outputs the upload step sends.
    if (code !== 0 && terminated.message?.trim())
      return ended(true, { code, signal: null, failure: terminated.message.trim().slice(0, 1024) });
    return ended(true, { code, signal: null });
  }
  if (status.phase === 'Failed' && status.reason === 'DeadlineExceeded')
    return ended(false, { code: null, signal: 'SIGKILL' });
  if (status.phase === 'Failed' && !o.deleting) {
    return ended(false, {
      code: null,
      signal: null,
      failure: `InternalServerError: the training pod failed before its container ran (${status.reason ?? 'Failed'}: ${status.message ?? 'no message'})`,
    });
  }
  // Every container's waiting state counts: while an init step (staging, the upload sidecar)
  // cannot pull Apiary's image, the training container only says PodInitializing.
  const pulling = [algo, ...(status.initContainerStatuses ?? [])].find((c) =>
    IMAGE_PULL_FAILURES.has(c?.state?.waiting?.reason ?? ''),
  );
  const pullFailure = pulling?.state?.waiting;
  const unschedulable = status.conditions?.find(
    (c) => c.type === 'PodScheduled' && c.status === 'False',
  );
  if (pullFailure || unschedulable) {
    const since = o.stuckSince ?? o.nowMs;
    if (o.nowMs - since < o.pendingTimeoutSeconds * 1000)
      return { kind: 'stuck', since, logs: false };
    const why = unschedulable
      ? `the training pod could not be scheduled for ${o.pendingTimeoutSeconds} s (${unschedulable.reason ?? 'Unschedulable'}: ${unschedulable.message ?? ''})`
      : `${pulling === algo ? 'the training image' : `the image of the pod's ${pulling!.name} step`} could not be pulled for ${o.pendingTimeoutSeconds} s (${pullFailure!.reason}: ${pullFailure!.message ?? ''})`;
    return {
      kind: 'stuck',
      since,
      logs: false,
      timedOut: { code: null, signal: null, failure: `ClientError: ${why}` },
    };
  }
  return algo?.state?.running ? { kind: 'running', logs: true } : { kind: 'waiting', logs: false };
}

const ended = (logs: boolean, exit: ExitInfo): PodVerdict => ({ kind: 'ended', exit, logs });
