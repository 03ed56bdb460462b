import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../shared/clock.js';
import { phaseAt, planDeployment, planSeconds } from './timeline.js';
import { runTrafficShift, type TrafficPoint } from './runner.js';

const bg = (routing: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: routing, ...extra },
});

describe('deployment timelines', () => {
  it('ALL_AT_ONCE shifts everything at once, bakes, waits for termination, then is done', () => {
    const plan = planDeployment(
      bg({ Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 60 }, { TerminationWaitInSeconds: 30 }),
      2,
    );
    expect(plan.steps).toEqual([{ newPercent: 100, waitSeconds: 60 }]);
    expect(phaseAt(plan, 0)).toMatchObject({
      phase: 'ActivatingTraffic',
      newPercent: 100,
      nextChangeInMs: 60_000,
    });
    expect(phaseAt(plan, 59_999)).toMatchObject({ phase: 'Baking', newPercent: 100 });
    expect(phaseAt(plan, 60_000)).toMatchObject({
      phase: 'TerminationWait',
      newPercent: 100,
      nextChangeInMs: 30_000,
    });
    expect(phaseAt(plan, 90_000)).toMatchObject({ phase: 'Done' });
    expect(planSeconds(plan)).toBe(90);
  });

  it('no DeploymentConfig is ALL_AT_ONCE without a bake', () => {
    const plan = planDeployment(undefined, 1);
    expect(plan.kind).toBe('ALL_AT_ONCE');
    expect(phaseAt(plan, 0).phase).toBe('Done');
  });

  it('CANARY by INSTANCE_COUNT sends the canary share, bakes, then shifts the rest and bakes again', () => {
    const plan = planDeployment(
      bg({
        Type: 'CANARY',
        WaitIntervalInSeconds: 120,
        CanarySize: { Type: 'INSTANCE_COUNT', Value: 1 },
      }),
      4,
    );
    expect(plan.steps).toEqual([
      { newPercent: 25, waitSeconds: 120 },
      { newPercent: 100, waitSeconds: 120 },
    ]);
    expect(phaseAt(plan, 119_000)).toMatchObject({ step: 0, newPercent: 25, phase: 'Baking' });
    expect(phaseAt(plan, 120_000)).toMatchObject({
      step: 1,
      newPercent: 100,
      phase: 'ActivatingTraffic',
    });
    expect(phaseAt(plan, 240_000).phase).toBe('Done');
  });

  it('CANARY by CAPACITY_PERCENT rounds up to whole instances', () => {
    const plan = planDeployment(
      bg({
        Type: 'CANARY',
        WaitIntervalInSeconds: 10,
        CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 },
      }),
      3,
    );
    expect(plan.steps[0]).toEqual({ newPercent: 33.33, waitSeconds: 10 });
  });

  it('LINEAR steps by LinearStepSize until all traffic is on the new fleet', () => {
    const plan = planDeployment(
      bg({
        Type: 'LINEAR',
        WaitIntervalInSeconds: 5,
        LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 30 },
      }),
      10,
    );
    expect(plan.steps.map((s) => s.newPercent)).toEqual([30, 60, 90, 100]);
    expect(phaseAt(plan, 12_000)).toMatchObject({ step: 2, newPercent: 90, nextChangeInMs: 3_000 });
  });

  it('a rolling update moves MaximumBatchSize instances per step', () => {
    const plan = planDeployment(
      {
        RollingUpdatePolicy: {
          MaximumBatchSize: { Type: 'INSTANCE_COUNT', Value: 2 },
          WaitIntervalInSeconds: 30,
        },
      },
      3,
    );
    expect(plan.kind).toBe('ROLLING');
    expect(plan.steps.map((s) => s.newPercent)).toEqual([66.67, 100]);
  });

  it('refuses sizes and combinations SageMaker refuses, saying what is allowed', () => {
    expect(() => planDeployment(bg({ Type: 'CANARY', WaitIntervalInSeconds: 1 }), 2)).toThrow(
      /CanarySize must have a Type/,
    );
    expect(() =>
      planDeployment(
        bg({ Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 150 } }),
        2,
      ),
    ).toThrow(/between 1 and 100/);
    expect(() =>
      planDeployment(bg({ Type: 'LINEAR', LinearStepSize: { Type: 'BOXES', Value: 1 } }), 2),
    ).toThrow(/INSTANCE_COUNT or CAPACITY_PERCENT/);
    expect(() =>
      planDeployment(
        bg({ Type: 'ALL_AT_ONCE', CanarySize: { Type: 'INSTANCE_COUNT', Value: 1 } }),
        2,
      ),
    ).toThrow(/not allowed/);
    expect(() =>
      planDeployment(
        {
          ...bg({ Type: 'ALL_AT_ONCE' }),
          RollingUpdatePolicy: { MaximumBatchSize: { Type: 'INSTANCE_COUNT', Value: 1 } },
        },
        2,
      ),
    ).toThrow(/not both/);
    expect(() => planDeployment(bg({ Type: 'SIDEWAYS' }), 2)).toThrow(
      /ALL_AT_ONCE, CANARY or LINEAR/,
    );
  });
});

/** A runner under a fake clock: sleeping advances the clock, alarms come from a table. */
function harness(alarmAt?: { name: string; atMs: number }) {
  const clock = new FakeClock(0);
  const routed: number[] = [];
  const points: TrafficPoint[] = [];
  const ctl = new AbortController();
  return {
    clock,
    routed,
    points,
    ctl,
    deps: {
      clock,
      pollMs: 1_000,
      signal: ctl.signal,
      sleep: async (ms: number) => clock.advance(ms),
      route: (p: number) => void routed.push(p),
      progress: async (p: TrafficPoint) => void points.push(p),
      alarmStates: async (names: readonly string[]) =>
        new Map(
          names
            .filter((n) => alarmAt && n === alarmAt.name && clock.nowMs() >= alarmAt.atMs)
            .map((n) => [n, { state: 'ALARM', reason: 'Threshold Crossed' }]),
        ),
    },
  };
}

describe('running a timeline', () => {
  it('a canary that stays healthy completes at the planned times', async () => {
    const h = harness();
    const plan = planDeployment(
      {
        ...bg(
          {
            Type: 'CANARY',
            WaitIntervalInSeconds: 60,
            CanarySize: { Type: 'INSTANCE_COUNT', Value: 1 },
          },
          { TerminationWaitInSeconds: 10 },
        ),
        AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'errors' }] },
      },
      2,
    );
    expect(await runTrafficShift(plan, h.deps)).toEqual({ outcome: 'Completed' });
    expect(h.routed).toEqual([50, 50, 100, 100, 100, 100]);
    expect(h.points.map((p) => [p.atMs, p.newPercent, p.phase])).toEqual([
      [0, 50, 'ActivatingTraffic'],
      [1_000, 50, 'Baking'],
      [60_000, 100, 'ActivatingTraffic'],
      [61_000, 100, 'Baking'],
      [120_000, 100, 'TerminationWait'],
      [130_000, 100, 'Done'],
    ]);
  });

  it('an alarm that fires while the canary bakes rolls back with its name in the reason', async () => {
    const h = harness({ name: 'errors', atMs: 30_000 });
    const plan = planDeployment(
      {
        ...bg({
          Type: 'CANARY',
          WaitIntervalInSeconds: 60,
          CanarySize: { Type: 'CAPACITY_PERCENT', Value: 50 },
        }),
        AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'errors' }] },
      },
      2,
    );
    const out = await runTrafficShift(plan, h.deps);
    expect(out).toMatchObject({ outcome: 'RollBack' });
    expect((out as { reason: string }).reason).toMatch(/errors \(Threshold Crossed\)/);
    expect(h.clock.nowMs()).toBe(30_000);
    expect(Math.max(...h.routed)).toBe(50);
  });

  it('a LINEAR update past MaximumExecutionTimeoutInSeconds rolls back', async () => {
    const h = harness();
    const plan = planDeployment(
      bg(
        {
          Type: 'LINEAR',
          WaitIntervalInSeconds: 400,
          LinearStepSize: { Type: 'INSTANCE_COUNT', Value: 1 },
        },
        { MaximumExecutionTimeoutInSeconds: 600 },
      ),
      3,
    );
    const out = await runTrafficShift(plan, h.deps);
    expect(out).toMatchObject({
      outcome: 'RollBack',
      reason: expect.stringMatching(/MaximumExecutionTimeoutInSeconds \(600 s\)/),
    });
    expect(h.clock.nowMs()).toBe(600_000);
  });

  it('an abort (endpoint deleted, server closing) stops at once', async () => {
    const h = harness();
    h.ctl.abort();
    expect(await runTrafficShift(planDeployment(undefined, 1), h.deps)).toEqual({
      outcome: 'Aborted',
    });
  });
});
