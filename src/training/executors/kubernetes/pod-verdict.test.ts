import { describe, expect, it } from 'vitest';
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { podVerdict } from './pod-verdict.js';

const pod = (status: V1PodStatus, memory = '16Gi'): V1Pod => ({
  spec: { containers: [{ name: 'algo', resources: { limits: { memory } } }] },
  status,
});
const algo = (state: NonNullable<V1PodStatus['containerStatuses']>[number]['state']) => ({
  containerStatuses: [
    { name: 'algo', image: 'i', imageID: '', ready: false, restartCount: 0, state },
  ],
});
const look = (p: V1Pod, o: Partial<Parameters<typeof podVerdict>[1]> = {}) =>
  podVerdict(p, {
    nowMs: 10_000,
    stuckSince: undefined,
    pendingTimeoutSeconds: 5,
    deleting: false,
    ...o,
  });

describe('podVerdict', () => {
  it('reads the exit code, the failure file (termination message), OOMKilled and the deadline', () => {
    expect(look(pod(algo({ terminated: { exitCode: 0 } })))).toEqual({
      kind: 'ended',
      logs: true,
      exit: { code: 0, signal: null },
    });
    expect(look(pod(algo({ terminated: { exitCode: 3 } })))).toMatchObject({
      exit: { code: 3, signal: null },
    });
    expect(
      look(pod(algo({ terminated: { exitCode: 2, message: ' ClientError: bad labels \n' } }))),
    ).toMatchObject({ exit: { code: 2, failure: 'ClientError: bad labels' } });
    const oom = look(pod(algo({ terminated: { exitCode: 137, reason: 'OOMKilled' } }), '4Gi'));
    expect(oom).toMatchObject({ kind: 'ended', exit: { code: 137 } });
    expect(oom.kind === 'ended' && oom.exit.failure).toMatch(/ran out of memory.*the 4Gi memory/);
    expect(
      look(pod(algo({ terminated: { exitCode: 137, reason: 'DeadlineExceeded' } }))),
    ).toMatchObject({
      exit: { code: null, signal: 'SIGKILL' },
    });
    expect(look(pod({ phase: 'Failed', reason: 'DeadlineExceeded' }))).toMatchObject({
      logs: false,
      exit: { code: null, signal: 'SIGKILL' },
    });
  });

  it('names a pod that failed before its container ran, unless Apiary is deleting it', () => {
    const failed = pod({ phase: 'Failed', reason: 'Evicted', message: 'node out of disk' });
    const v = look(failed);
    expect(v.kind === 'ended' && v.exit.failure).toBe(
      'InternalServerError: the training pod failed before its container ran (Evicted: node out of disk)',
    );
    expect(look(failed, { deleting: true })).toEqual({ kind: 'waiting', logs: false });
  });

  it('fails an image that cannot be pulled, or a pod no node can hold, only after the pending timeout', () => {
    const pull = pod({
      phase: 'Pending',
      ...algo({ waiting: { reason: 'ImagePullBackOff', message: 'not found' } }),
    });
    expect(look(pull)).toEqual({ kind: 'stuck', since: 10_000, logs: false });
    expect(look(pull, { stuckSince: 6_000 })).toEqual({ kind: 'stuck', since: 6_000, logs: false });
    const late = look(pull, { stuckSince: 4_000 });
    expect(late.kind === 'stuck' && late.timedOut?.failure).toBe(
      'ClientError: the training image could not be pulled for 5 s (ImagePullBackOff: not found)',
    );
    const unschedulable = pod({
      phase: 'Pending',
      conditions: [
        { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes' },
      ],
    });
    const v = look(unschedulable, { stuckSince: 0 });
    expect(v.kind === 'stuck' && v.timedOut?.failure).toMatch(
      /^ClientError: the training pod could not be scheduled for 5 s \(Unschedulable: 0\/1 nodes\)/,
    );
  });

  it("fails a pod whose init step cannot pull Apiary's image, though the training container only waits", () => {
    const stage = pod({
      phase: 'Pending',
      ...algo({ waiting: { reason: 'PodInitializing' } }),
      initContainerStatuses: [
        {
          name: 'stage',
          image: 'apiary:missing',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { waiting: { reason: 'ErrImagePull', message: 'manifest unknown' } },
        },
      ],
    });
    expect(look(stage)).toEqual({ kind: 'stuck', since: 10_000, logs: false });
    const v = look(stage, { stuckSince: 0 });
    expect(v.kind === 'stuck' && v.timedOut?.failure).toBe(
      "ClientError: the image of the pod's stage step could not be pulled for 5 s (ErrImagePull: manifest unknown)",
    );
  });

  it('is waiting or running otherwise; logs can be read once the container runs', () => {
    expect(
      look(pod({ phase: 'Pending', ...algo({ waiting: { reason: 'ContainerCreating' } }) })),
    ).toEqual({
      kind: 'waiting',
      logs: false,
    });
    expect(look(pod({ phase: 'Running', ...algo({ running: {} }) }))).toEqual({
      kind: 'running',
      logs: true,
    });
  });
});
