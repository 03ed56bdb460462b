import type { V1Pod } from '@kubernetes/client-node';

/** Waiting reasons that will not clear by themselves (the image or its name is wrong). */
const IMAGE_PROBLEMS = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
]);
/** Waiting reasons of a container that keeps failing after it started. */
const CRASH_PROBLEMS = new Set([
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** Why a variant's pod is not ready yet, in words a FailureReason can carry. */
export interface PodProblem {
  readonly pod: string;
  readonly kind: 'unschedulable' | 'image' | 'crash';
  readonly reason: string;
}

/**
 * What keeps a pod from becoming ready, when it is something that needs a person: the scheduler
 * cannot place it (PodScheduled False/Unschedulable), its image cannot be pulled, or a container
 * keeps crashing. A pod that is merely starting has no problem (undefined).
 */
export function podProblem(pod: V1Pod): PodProblem | undefined {
  const name = pod.metadata?.name ?? '(unnamed pod)';
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return {
      pod: name,
      kind: 'unschedulable',
      reason: `Unschedulable: ${scheduled.message ?? 'no node can run the pod'}`,
    };
  }
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  for (const s of statuses) {
    const waiting = s.state?.waiting;
    if (!waiting?.reason) continue;
    if (IMAGE_PROBLEMS.has(waiting.reason)) {
      return {
        pod: name,
        kind: 'image',
        reason: `${waiting.reason}: container ${s.name}: ${waiting.message ?? `cannot pull image ${s.image}`}`,
      };
    }
    if (CRASH_PROBLEMS.has(waiting.reason)) {
      const last = s.lastState?.terminated;
      const exit = last
        ? ` (last exit code ${last.exitCode}${last.reason ? `, ${last.reason}` : ''})`
        : '';
      return {
        pod: name,
        kind: 'crash',
        reason: `${waiting.reason}: container ${s.name}${exit}${waiting.message ? `: ${waiting.message}` : ''}`,
      };
    }
  }
  return undefined;
}
