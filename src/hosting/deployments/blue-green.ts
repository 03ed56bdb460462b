import type { Clock } from '../../shared/clock.js';
import type { EndpointRepository, VariantState } from '../endpoints.js';
import type { Fleet } from '../runtime/fleet.js';
import type { ServingManager } from '../runtime/serving.js';
import type { DeploymentLog } from './log.js';
import { abortableSleep, runTrafficShift } from './runner.js';
import type { DeploymentPlan } from './timeline.js';

/** What one blue/green (or rolling) update needs from the hosting context. */
export interface BlueGreenUpdate {
  readonly endpoint: string;
  readonly configName: string;
  readonly target: readonly VariantState[];
  readonly plan: DeploymentPlan;
  readonly deploymentConfig: Record<string, unknown> | undefined;
  readonly startedAtMs: number;
  readonly clock: Clock;
  readonly endpoints: EndpointRepository;
  readonly serving: ServingManager;
  readonly log: DeploymentLog;
  /** Builds and starts the new fleet (nothing routed to it yet). */
  readonly build: () => Promise<Fleet>;
  readonly alarmStates: (
    names: readonly string[],
  ) => Promise<ReadonlyMap<string, { state: string; reason: string }>>;
  readonly pollMs: number;
  /** Aborted when the endpoint is deleted or the server closes. */
  readonly signal: AbortSignal;
  readonly reasonOf: (e: unknown) => string;
  readonly settled: (states: readonly VariantState[]) => VariantState[];
  /** Told once the new fleet is built (or failed to build): the API answers then, not after the bake. */
  readonly built?: () => void;
}

/**
 * Updating: builds the new fleet beside the old one, shifts traffic along the plan's timeline
 * while the alarms are watched, then promotes the new fleet (InService) or rolls back
 * (RollingBack → InService with the reason in FailureReason; UpdateRollbackFailed when the old
 * fleet is gone). The old fleet serves throughout, so no request fails because of the update.
 * An abort leaves the status as it is: a closing server's restart rolls the update back.
 */
export async function runBlueGreenUpdate(u: BlueGreenUpdate): Promise<void> {
  const id = await u.log.start({
    endpoint: u.endpoint,
    configName: u.configName,
    kind: u.plan.kind,
    alarms: u.plan.alarms,
    startedAtMs: u.startedAtMs,
  });
  let fleet: Fleet;
  try {
    fleet = await u.build();
  } catch (e) {
    u.built?.();
    const reason = u.reasonOf(e);
    await u.log.finish(id, 'RolledBack', reason, u.clock.nowMs());
    await u.endpoints.update(
      u.endpoint,
      { status: 'InService', pending: null, failureReason: reason },
      'roll back',
    );
    return;
  }
  u.built?.();
  if (u.signal.aborted) {
    await fleet.stop(0);
    await u.log.finish(
      id,
      'Interrupted',
      'The update was stopped before traffic shifted.',
      u.clock.nowMs(),
    );
    return;
  }
  u.serving.beginShift(u.endpoint, fleet);
  const outcome = await runTrafficShift(u.plan, {
    clock: u.clock,
    sleep: abortableSleep,
    pollMs: u.pollMs,
    signal: u.signal,
    alarmStates: u.alarmStates,
    route: (p) => u.serving.setShift(u.endpoint, p),
    progress: async (point) => {
      await u.log.addPoint(id, point);
      const cur = await u.endpoints.find(u.endpoint);
      if (cur?.pending && cur.status === 'Updating') {
        await u.endpoints.update(u.endpoint, {
          pending: {
            ...cur.pending,
            phase: point.phase,
            newPercent: point.newPercent,
            kind: u.plan.kind,
          },
        });
      }
    },
  }).catch(async (e: unknown) => ({
    outcome: 'RollBack' as const,
    reason: `Rolled back because the deployment failed: ${u.reasonOf(e)}`,
  }));
  if (outcome.outcome === 'Aborted') {
    if (!u.serving.fleet(u.endpoint) || u.signal.aborted)
      await u.serving.endShift(u.endpoint, false);
    await u.log.finish(
      id,
      'Interrupted',
      'The update was interrupted (endpoint deleted or Apiary stopped).',
      u.clock.nowMs(),
    );
    return;
  }
  if (outcome.outcome === 'Completed') {
    // The log first: whoever sees the endpoint InService finds the deployment finished.
    await u.log.finish(id, 'Completed', undefined, u.clock.nowMs());
    await u.endpoints.update(
      u.endpoint,
      {
        status: 'InService',
        configName: u.configName,
        variants: u.settled(u.target),
        pending: null,
        lastDeploymentConfig: u.deploymentConfig ?? null,
      },
      'update',
    );
    await u.serving.endShift(u.endpoint, true);
    return;
  }
  await u.endpoints.update(
    u.endpoint,
    { status: 'RollingBack', failureReason: outcome.reason },
    'roll back',
  );
  await u.serving.endShift(u.endpoint, false);
  if (!u.serving.fleet(u.endpoint)) {
    const reason =
      `${outcome.reason} The previous fleet is not running, so the rollback could not complete.`.slice(
        0,
        1024,
      );
    await u.log.finish(id, 'RollbackFailed', reason, u.clock.nowMs());
    await u.endpoints.update(
      u.endpoint,
      { status: 'UpdateRollbackFailed', pending: null, failureReason: reason },
      'roll back',
    );
    return;
  }
  await u.log.finish(id, 'RolledBack', outcome.reason, u.clock.nowMs());
  await u.endpoints.update(
    u.endpoint,
    { status: 'InService', pending: null, failureReason: outcome.reason },
    'roll back',
  );
}
