import type { Clock } from '../../shared/clock.js';
import { phaseAt, type DeploymentPhase, type DeploymentPlan } from './timeline.js';

/** One point of the traffic timeline: from `atMs` on, the new fleet had `newPercent`. */
export interface TrafficPoint {
  readonly atMs: number;
  readonly newPercent: number;
  readonly phase: DeploymentPhase;
}

export type ShiftOutcome =
  | { readonly outcome: 'Completed' }
  | { readonly outcome: 'RollBack'; readonly reason: string }
  | { readonly outcome: 'Aborted' };

export interface ShiftDeps {
  readonly clock: Clock;
  /** Waits `ms` or until aborted (tests advance a fake clock here). */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Current states of the plan's alarms (absent ones are not there). */
  readonly alarmStates: (
    names: readonly string[],
  ) => Promise<ReadonlyMap<string, { state: string; reason: string }>>;
  /** Routes `percent` of the traffic to the new fleet, live. */
  readonly route: (newPercent: number) => void;
  /** Told of every change (persisted for DescribeEndpoint and the console). */
  readonly progress: (point: TrafficPoint) => Promise<void>;
  /** How often alarms are read while a step bakes (APIARY_DEPLOYMENT_POLL_MS). */
  readonly pollMs: number;
  readonly signal: AbortSignal;
}

/**
 * Runs a plan's traffic timeline from now: shifts, bakes, watches the alarms, and stops at the
 * first alarm in ALARM (rollback), at MaximumExecutionTimeoutInSeconds (rollback), at an abort,
 * or when the termination wait ends (completed). The caller builds the fleets and acts on the outcome.
 */
export async function runTrafficShift(
  plan: DeploymentPlan,
  deps: ShiftDeps,
): Promise<ShiftOutcome> {
  const start = deps.clock.nowMs();
  let shown: { percent: number; phase: DeploymentPhase } | undefined;
  for (;;) {
    if (deps.signal.aborted) return { outcome: 'Aborted' };
    const elapsed = deps.clock.nowMs() - start;
    const at = phaseAt(plan, elapsed);
    if (!shown || shown.percent !== at.newPercent || shown.phase !== at.phase) {
      deps.route(at.newPercent);
      shown = { percent: at.newPercent, phase: at.phase };
      await deps.progress({ atMs: deps.clock.nowMs(), newPercent: at.newPercent, phase: at.phase });
    }
    if (plan.alarms.length > 0) {
      const states = await deps.alarmStates(plan.alarms);
      const firing = plan.alarms.filter((n) => states.get(n)?.state === 'ALARM');
      if (firing.length > 0) {
        const why = firing.map((n) => `${n} (${states.get(n)!.reason})`).join('; ');
        return {
          outcome: 'RollBack',
          reason:
            `Rolled back because the alarm(s) in AutoRollbackConfiguration went into ALARM during the deployment: ${why}`.slice(
              0,
              1024,
            ),
        };
      }
    }
    if (at.phase === 'Done') return { outcome: 'Completed' };
    if (elapsed >= plan.maxExecutionSeconds * 1000) {
      return {
        outcome: 'RollBack',
        reason: `Rolled back because the deployment did not finish within MaximumExecutionTimeoutInSeconds (${plan.maxExecutionSeconds} s).`,
      };
    }
    const untilTimeout = plan.maxExecutionSeconds * 1000 - elapsed;
    const wait = Math.max(
      1,
      Math.min(at.nextChangeInMs, untilTimeout, plan.alarms.length > 0 ? deps.pollMs : Infinity),
    );
    await deps.sleep(wait, deps.signal);
  }
}

/** A real sleep that an abort cuts short. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
