import { describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { podProblem } from './pod-problems.js';

const pod = (status: V1Pod['status']): V1Pod => ({ metadata: { name: 'ep-a-b-1' }, status });

describe('podProblem', () => {
  it('names an unschedulable pod with the scheduler message', () => {
    const p = podProblem(
      pod({
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/1 nodes are available: 1 Insufficient cpu.',
          },
        ],
      }),
    );
    expect(p).toEqual({
      pod: 'ep-a-b-1',
      kind: 'unschedulable',
      reason: 'Unschedulable: 0/1 nodes are available: 1 Insufficient cpu.',
    });
  });

  it('names an image that cannot be pulled, init containers included', () => {
    const p = podProblem(
      pod({
        phase: 'Pending',
        initContainerStatuses: [
          {
            name: 'fetch-model',
            image: 'registry.invalid/apiary',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: {
              waiting: {
                reason: 'ImagePullBackOff',
                message: 'Back-off pulling image "registry.invalid/apiary"',
              },
            },
          },
        ],
      }),
    );
    expect(p?.kind).toBe('image');
    expect(p?.reason).toBe(
      'ImagePullBackOff: container fetch-model: Back-off pulling image "registry.invalid/apiary"',
    );
  });

  it('names a crash loop with the last exit', () => {
    const p = podProblem(
      pod({
        phase: 'Running',
        containerStatuses: [
          {
            name: 'serve',
            image: 'x',
            imageID: '',
            ready: false,
            restartCount: 3,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } },
          },
        ],
      }),
    );
    expect(p).toEqual({
      pod: 'ep-a-b-1',
      kind: 'crash',
      reason: 'CrashLoopBackOff: container serve (last exit code 137, OOMKilled)',
    });
  });

  it('sees no problem in a pod that is starting', () => {
    expect(
      podProblem(
        pod({
          phase: 'Pending',
          containerStatuses: [
            {
              name: 'serve',
              image: 'x',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { waiting: { reason: 'ContainerCreating' } },
            },
          ],
        }),
      ),
    ).toBeUndefined();
    expect(
      podProblem(
        pod({
          phase: 'Pending',
          conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }],
        }),
      ),
    ).toBeUndefined();
  });
});
