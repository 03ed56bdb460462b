import { AppError, ErrorCodes } from '../../shared/errors.js';

/**
 * The routing timeline of a blue/green or rolling update: which share of the traffic the new
 * fleet gets, and for how long, from the moment the new fleet is ready. Pure (no clock): the
 * runner asks {@link phaseAt} with the elapsed time, so every timeline is tested with numbers.
 */

/** One traffic shift and the bake that follows it. */
export interface TrafficStep {
  /** Share of the traffic the new fleet gets, 0–100. */
  readonly newPercent: number;
  /** How long the step bakes (alarms watched) before the next one, seconds. */
  readonly waitSeconds: number;
}

export interface DeploymentPlan {
  readonly kind: 'ALL_AT_ONCE' | 'CANARY' | 'LINEAR' | 'ROLLING';
  readonly steps: readonly TrafficStep[];
  /** After the last bake, the old fleet stays up (idle) this long before it stops. */
  readonly terminationWaitSeconds: number;
  /** The whole deployment (shifting, baking, termination wait) must end within this. */
  readonly maxExecutionSeconds: number;
  /** Alarms that roll the update back when any is in ALARM. */
  readonly alarms: readonly string[];
}

export const DeploymentPhase = {
  Shifting: 'ActivatingTraffic',
  Baking: 'Baking',
  TerminationWait: 'TerminationWait',
  Done: 'Done',
} as const;
export type DeploymentPhase = (typeof DeploymentPhase)[keyof typeof DeploymentPhase];

export interface PhaseAt {
  readonly phase: DeploymentPhase;
  /** Index of the current step (steps.length once all have baked). */
  readonly step: number;
  readonly newPercent: number;
  /** Milliseconds until the timeline changes next (0 when done). */
  readonly nextChangeInMs: number;
}

/** SageMaker's defaults and limits (botocore's model checks the ranges). */
export const DEFAULT_MAX_EXECUTION_SECONDS = 28_800;

interface CapacitySize {
  readonly Type?: string;
  readonly Value?: number;
}

/** DeploymentConfig as the wire has it (validated by the service model's types first). */
export interface WireDeploymentConfig {
  readonly BlueGreenUpdatePolicy?: {
    readonly TrafficRoutingConfiguration?: {
      readonly Type?: string;
      readonly WaitIntervalInSeconds?: number;
      readonly CanarySize?: CapacitySize;
      readonly LinearStepSize?: CapacitySize;
    };
    readonly TerminationWaitInSeconds?: number;
    readonly MaximumExecutionTimeoutInSeconds?: number;
  };
  readonly RollingUpdatePolicy?: {
    readonly MaximumBatchSize?: CapacitySize;
    readonly WaitIntervalInSeconds?: number;
    readonly MaximumExecutionTimeoutInSeconds?: number;
    readonly RollbackMaximumBatchSize?: CapacitySize;
  };
  readonly AutoRollbackConfiguration?: {
    readonly Alarms?: readonly { readonly AlarmName?: string }[];
  };
}

const invalid = (msg: string) => new AppError(ErrorCodes.Validation, msg);

/** Instances a capacity size stands for, out of `total` (at least 1, at most `total`). */
function instancesOf(size: CapacitySize | undefined, total: number, field: string): number {
  if (!size || size.Type === undefined || size.Value === undefined) {
    throw invalid(`${field} must have a Type (INSTANCE_COUNT or CAPACITY_PERCENT) and a Value.`);
  }
  if (size.Type === 'INSTANCE_COUNT') {
    if (size.Value < 1)
      throw invalid(`${field}.Value ${size.Value} must be at least 1 for INSTANCE_COUNT.`);
    return Math.min(total, size.Value);
  }
  if (size.Type === 'CAPACITY_PERCENT') {
    if (size.Value < 1 || size.Value > 100)
      throw invalid(`${field}.Value ${size.Value} must be between 1 and 100 for CAPACITY_PERCENT.`);
    return Math.min(total, Math.max(1, Math.ceil((size.Value / 100) * total)));
  }
  throw invalid(
    `${field}.Type '${size.Type}' is not valid; use INSTANCE_COUNT or CAPACITY_PERCENT.`,
  );
}

const percent = (n: number, total: number) => Math.round((n / total) * 10_000) / 100;

/** Steps of `batch` instances out of `total`, each followed by `wait` seconds. */
function linearSteps(batch: number, total: number, wait: number): TrafficStep[] {
  const steps: TrafficStep[] = [];
  for (let n = batch; ; n += batch) {
    const done = Math.min(n, total);
    steps.push({ newPercent: done >= total ? 100 : percent(done, total), waitSeconds: wait });
    if (done >= total) return steps;
  }
}

/**
 * The plan of an update from its DeploymentConfig (none: ALL_AT_ONCE without bake).
 * `newInstances` is the new fleet's instance count (canary and linear sizes are counted in it).
 * @throws ValidationException for a size that does not fit or a missing field, in SageMaker's words.
 */
export function planDeployment(
  config: WireDeploymentConfig | undefined,
  newInstances: number,
): DeploymentPlan {
  const alarms = (config?.AutoRollbackConfiguration?.Alarms ?? [])
    .map((a) => a.AlarmName ?? '')
    .filter((n) => n !== '');
  const total = Math.max(1, newInstances);
  const bg = config?.BlueGreenUpdatePolicy;
  const rolling = config?.RollingUpdatePolicy;
  if (bg && rolling)
    throw invalid(
      'DeploymentConfig can have either BlueGreenUpdatePolicy or RollingUpdatePolicy, not both.',
    );
  if (rolling) {
    const wait = rolling.WaitIntervalInSeconds ?? 0;
    const batch = instancesOf(
      rolling.MaximumBatchSize,
      total,
      'RollingUpdatePolicy.MaximumBatchSize',
    );
    if (rolling.RollbackMaximumBatchSize)
      instancesOf(
        rolling.RollbackMaximumBatchSize,
        total,
        'RollingUpdatePolicy.RollbackMaximumBatchSize',
      );
    return {
      kind: 'ROLLING',
      steps: linearSteps(batch, total, wait),
      terminationWaitSeconds: 0,
      maxExecutionSeconds:
        rolling.MaximumExecutionTimeoutInSeconds ?? DEFAULT_MAX_EXECUTION_SECONDS,
      alarms,
    };
  }
  const routing = bg?.TrafficRoutingConfiguration;
  const type = routing?.Type ?? 'ALL_AT_ONCE';
  const wait = routing?.WaitIntervalInSeconds ?? 0;
  const common = {
    terminationWaitSeconds: bg?.TerminationWaitInSeconds ?? 0,
    maxExecutionSeconds: bg?.MaximumExecutionTimeoutInSeconds ?? DEFAULT_MAX_EXECUTION_SECONDS,
    alarms,
  };
  if (bg && !routing)
    throw invalid('BlueGreenUpdatePolicy.TrafficRoutingConfiguration is required.');
  if (type === 'ALL_AT_ONCE') {
    if (routing?.CanarySize || routing?.LinearStepSize)
      throw invalid(
        'CanarySize and LinearStepSize are not allowed for TrafficRoutingConfiguration Type ALL_AT_ONCE.',
      );
    return { kind: 'ALL_AT_ONCE', steps: [{ newPercent: 100, waitSeconds: wait }], ...common };
  }
  if (type === 'CANARY') {
    if (routing?.LinearStepSize)
      throw invalid('LinearStepSize is not allowed for TrafficRoutingConfiguration Type CANARY.');
    const n = instancesOf(routing?.CanarySize, total, 'TrafficRoutingConfiguration.CanarySize');
    const canary = n >= total ? 100 : percent(n, total);
    const steps =
      canary >= 100
        ? [{ newPercent: 100, waitSeconds: wait }]
        : [
            { newPercent: canary, waitSeconds: wait },
            { newPercent: 100, waitSeconds: wait },
          ];
    return { kind: 'CANARY', steps, ...common };
  }
  if (type === 'LINEAR') {
    if (routing?.CanarySize)
      throw invalid('CanarySize is not allowed for TrafficRoutingConfiguration Type LINEAR.');
    const n = instancesOf(
      routing?.LinearStepSize,
      total,
      'TrafficRoutingConfiguration.LinearStepSize',
    );
    return { kind: 'LINEAR', steps: linearSteps(n, total, wait), ...common };
  }
  throw invalid(
    `TrafficRoutingConfiguration.Type '${type}' is not valid; use ALL_AT_ONCE, CANARY or LINEAR.`,
  );
}

/** Where a plan stands `elapsedMs` after the new fleet became ready. */
export function phaseAt(plan: DeploymentPlan, elapsedMs: number): PhaseAt {
  let t = 0;
  for (let i = 0; i < plan.steps.length; i++) {
    const s = plan.steps[i]!;
    const end = t + s.waitSeconds * 1000;
    if (elapsedMs < end) {
      // A step's first instant is the shift itself; the rest of it is its bake.
      return {
        phase: elapsedMs === t ? 'ActivatingTraffic' : 'Baking',
        step: i,
        newPercent: s.newPercent,
        nextChangeInMs: end - elapsedMs,
      };
    }
    t = end;
  }
  const end = t + plan.terminationWaitSeconds * 1000;
  if (elapsedMs < end)
    return {
      phase: 'TerminationWait',
      step: plan.steps.length,
      newPercent: 100,
      nextChangeInMs: end - elapsedMs,
    };
  return { phase: 'Done', step: plan.steps.length, newPercent: 100, nextChangeInMs: 0 };
}

/** Total seconds a plan takes from the first shift to the old fleet's termination. */
export const planSeconds = (plan: DeploymentPlan): number =>
  plan.steps.reduce((n, s) => n + s.waitSeconds, 0) + plan.terminationWaitSeconds;
