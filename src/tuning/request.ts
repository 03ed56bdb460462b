import { validationError } from '../shared/index.js';
import type { ParameterSpec, ScalingType } from './space.js';
import { gridSize } from './space.js';
import type { StrategyName, TuningConfig } from './model.js';

/** CreateHyperParameterTuningJob in SageMaker's shape (what the tuner reads of it). */
export interface WireRange {
  Name: string;
  MinValue?: string;
  MaxValue?: string;
  ScalingType?: ScalingType;
  Values?: string[];
}
export interface WireTrainingJobDefinition {
  DefinitionName?: string;
  TuningObjective?: { Type: 'Maximize' | 'Minimize'; MetricName: string };
  HyperParameterRanges?: WireParameterRanges;
  StaticHyperParameters?: Record<string, string>;
  AlgorithmSpecification: {
    TrainingImage?: string;
    AlgorithmName?: string;
    TrainingInputMode: string;
    MetricDefinitions?: { Name: string; Regex: string }[];
  };
  RoleArn: string;
  InputDataConfig?: unknown[];
  OutputDataConfig: { S3OutputPath: string; KmsKeyId?: string; CompressionType?: string };
  ResourceConfig?: Record<string, unknown>;
  HyperParameterTuningResourceConfig?: {
    InstanceType?: string;
    InstanceCount?: number;
    VolumeSizeInGB?: number;
  };
  StoppingCondition: { MaxRuntimeInSeconds?: number; MaxWaitTimeInSeconds?: number };
  CheckpointConfig?: { S3Uri: string; LocalPath?: string };
  RetryStrategy?: { MaximumRetryAttempts: number };
  Environment?: Record<string, string>;
  [k: string]: unknown;
}
export interface WireParameterRanges {
  IntegerParameterRanges?: WireRange[];
  ContinuousParameterRanges?: WireRange[];
  CategoricalParameterRanges?: WireRange[];
  AutoParameters?: { Name: string; ValueHint: string }[];
}
/** The CreateHyperParameterTuningJob request body, as the wire carries it. */
export interface CreateTuningJobRequest {
  HyperParameterTuningJobName: string;
  HyperParameterTuningJobConfig: {
    Strategy: StrategyName;
    StrategyConfig?: { HyperbandStrategyConfig?: { MinResource?: number; MaxResource?: number } };
    HyperParameterTuningJobObjective?: { Type: 'Maximize' | 'Minimize'; MetricName: string };
    ResourceLimits: {
      MaxNumberOfTrainingJobs?: number;
      MaxParallelTrainingJobs: number;
      MaxRuntimeInSeconds?: number;
    };
    ParameterRanges?: WireParameterRanges;
    TrainingJobEarlyStoppingType?: 'Off' | 'Auto';
    TuningJobCompletionCriteria?: {
      TargetObjectiveMetricValue?: number;
      BestObjectiveNotImproving?: { MaxNumberOfTrainingJobsNotImproving?: number };
      ConvergenceDetected?: { CompleteOnConvergence?: 'Disabled' | 'Enabled' };
    };
    RandomSeed?: number;
  };
  TrainingJobDefinition?: WireTrainingJobDefinition;
  TrainingJobDefinitions?: WireTrainingJobDefinition[];
  WarmStartConfig?: {
    ParentHyperParameterTuningJobs: { HyperParameterTuningJobName?: string }[];
    WarmStartType: 'IdenticalDataAndAlgorithm' | 'TransferLearning';
  };
  Tags?: { Key: string; Value?: string }[];
  Autotune?: unknown;
  [k: string]: unknown;
}

/** SageMaker's documented limits. */
export const TUNING_LIMITS = {
  maxTrainingJobs: 750,
  maxTrainingJobsRandom: 10_000,
  maxParallelJobs: 100,
  maxTunableParameters: 30,
  maxHyperParameters: 100,
  maxHyperbandResource: 20_000,
} as const;

/** Static hyperparameters Hyperband reads MaxResource from, in SageMaker's order. */
export const EPOCH_HYPERPARAMETERS = [
  'epochs',
  'numepochs',
  'n-epochs',
  'n_epochs',
  'num_epochs',
] as const;

/** The built-in object-detection algorithm's only tunable metric. */
const BUILT_IN_OBJECTIVES: readonly {
  image: RegExp;
  metric: string;
  type: 'Maximize' | 'Minimize';
}[] = [
  {
    image: /^(?:[^/]+\/)*object-detection(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/,
    metric: 'validation:mAP',
    type: 'Maximize',
  },
];

function parseNumber(text: string | undefined, where: string, integer: boolean): number {
  const v = text === undefined ? Number.NaN : Number(text.trim());
  if (
    text === undefined ||
    text.trim() === '' ||
    !Number.isFinite(v) ||
    (integer && !Number.isInteger(v))
  ) {
    throw validationError(
      `${where} '${text ?? ''}' is not ${integer ? 'an integer' : 'a number'}; ranges take MinValue and MaxValue as strings such as "${integer ? '8' : '0.001'}"`,
    );
  }
  return v;
}

/** Turns ParameterRanges into the search space; throws ValidationException naming the range. */
export function parseRanges(ranges: WireParameterRanges | undefined): ParameterSpec[] {
  const space: ParameterSpec[] = [];
  if (ranges?.AutoParameters?.length) {
    throw validationError(
      'AutoParameters (Autotune) are not supported by Apiary; give IntegerParameterRanges, ContinuousParameterRanges or CategoricalParameterRanges',
    );
  }
  for (const [kind, list] of [
    ['integer', ranges?.IntegerParameterRanges],
    ['continuous', ranges?.ContinuousParameterRanges],
  ] as const) {
    for (const r of list ?? []) {
      const label = `${kind === 'integer' ? 'IntegerParameterRange' : 'ContinuousParameterRange'} '${r.Name}'`;
      const min = parseNumber(r.MinValue, `${label}: MinValue`, kind === 'integer');
      const max = parseNumber(r.MaxValue, `${label}: MaxValue`, kind === 'integer');
      if (min > max)
        throw validationError(
          `${label}: MinValue ${r.MinValue} must not be greater than MaxValue ${r.MaxValue}`,
        );
      const scaling = r.ScalingType ?? 'Auto';
      if (scaling === 'Logarithmic' && min <= 0) {
        throw validationError(
          `${label}: Logarithmic scaling needs MinValue greater than 0 (got ${r.MinValue})`,
        );
      }
      if (scaling === 'ReverseLogarithmic') {
        if (kind === 'integer')
          throw validationError(
            `${label}: ReverseLogarithmic scaling is only for continuous ranges`,
          );
        if (min < 0 || max >= 1) {
          throw validationError(
            `${label}: ReverseLogarithmic scaling needs 0 <= MinValue and MaxValue < 1 (got ${r.MinValue}..${r.MaxValue})`,
          );
        }
      }
      space.push({ kind, name: r.Name, min, max, scaling });
    }
  }
  for (const r of ranges?.CategoricalParameterRanges ?? []) {
    const values = r.Values ?? [];
    if (values.length === 0)
      throw validationError(
        `CategoricalParameterRange '${r.Name}': Values must list at least one value`,
      );
    if (new Set(values).size !== values.length)
      throw validationError(`CategoricalParameterRange '${r.Name}': Values must be distinct`);
    space.push({ kind: 'categorical', name: r.Name, values });
  }
  const names = new Set<string>();
  for (const s of space) {
    if (names.has(s.name))
      throw validationError(
        `The hyperparameter '${s.name}' has more than one range; give each tunable hyperparameter one range`,
      );
    names.add(s.name);
  }
  if (space.length === 0)
    throw validationError('ParameterRanges must define at least one hyperparameter range to tune');
  if (space.length > TUNING_LIMITS.maxTunableParameters) {
    throw validationError(
      `${space.length} tunable hyperparameters given; at most ${TUNING_LIMITS.maxTunableParameters} can be tuned`,
    );
  }
  return space;
}

/**
 * Validates a CreateHyperParameterTuningJob request beyond what the service model checks and
 * derives the tuner's config. `seed` is used when the request has no RandomSeed.
 * @throws AppError ValidationException with a message naming the member and what is allowed.
 */
export function tuningConfigFromRequest(
  req: CreateTuningJobRequest,
  seed: number,
): { config: TuningConfig; definition: WireTrainingJobDefinition } {
  const c = req.HyperParameterTuningJobConfig;
  if (req.TrainingJobDefinitions?.length) {
    throw validationError(
      'TrainingJobDefinitions (several algorithms in one tuning job) is not supported by Apiary; use TrainingJobDefinition',
    );
  }
  const def = req.TrainingJobDefinition;
  if (!def) throw validationError('TrainingJobDefinition is required');
  if (req.Autotune)
    throw validationError(
      'Autotune is not supported by Apiary; give the strategy and ranges yourself',
    );
  const objective = c.HyperParameterTuningJobObjective ?? def.TuningObjective;
  if (!objective)
    throw validationError(
      'HyperParameterTuningJobConfig.HyperParameterTuningJobObjective is required (Type and MetricName)',
    );
  const ranges = c.ParameterRanges ?? def.HyperParameterRanges;
  const space = parseRanges(ranges);
  const statics = def.StaticHyperParameters ?? {};
  for (const s of space) {
    if (s.name in statics)
      throw validationError(
        `The hyperparameter '${s.name}' is both static and tunable; remove it from StaticHyperParameters or from ParameterRanges`,
      );
  }
  if (Object.keys(statics).length + space.length + 1 > TUNING_LIMITS.maxHyperParameters) {
    throw validationError(
      `Static and tunable hyperparameters (plus _tuning_objective_metric) must be at most ${TUNING_LIMITS.maxHyperParameters}`,
    );
  }
  // The objective must be a metric the algorithm defines.
  const image =
    def.AlgorithmSpecification.TrainingImage ?? def.AlgorithmSpecification.AlgorithmName ?? '';
  const builtIn = BUILT_IN_OBJECTIVES.find((b) => b.image.test(image));
  const defined = (def.AlgorithmSpecification.MetricDefinitions ?? []).map((m) => m.Name);
  if (builtIn && !defined.includes(objective.MetricName)) {
    if (objective.MetricName !== builtIn.metric) {
      throw validationError(
        `The objective metric '${objective.MetricName}' is not a tunable metric of the object-detection algorithm; use '${builtIn.metric}' (${builtIn.type})`,
      );
    }
    if (objective.Type !== builtIn.type) {
      throw validationError(
        `The objective metric '${builtIn.metric}' of the object-detection algorithm must be used with Type ${builtIn.type}`,
      );
    }
  } else if (!builtIn && !defined.includes(objective.MetricName)) {
    throw validationError(
      `The objective metric '${objective.MetricName}' is not defined in AlgorithmSpecification.MetricDefinitions (${defined.length ? defined.join(', ') : 'none given'}); add a definition with a regex that captures it`,
    );
  }

  const limits = c.ResourceLimits;
  const strategy = c.Strategy;
  let maxJobs = limits.MaxNumberOfTrainingJobs;
  if (strategy === 'Grid') {
    if (space.some((s) => s.kind !== 'categorical')) {
      throw validationError(
        'The Grid strategy searches categorical ranges only; turn the integer and continuous ranges into CategoricalParameterRanges or use another strategy',
      );
    }
    const combos = gridSize(space);
    if (maxJobs !== undefined && maxJobs !== combos) {
      throw validationError(
        `With the Grid strategy MaxNumberOfTrainingJobs must equal the number of combinations (${combos}) or be omitted; got ${maxJobs}`,
      );
    }
    maxJobs = combos;
  }
  if (maxJobs === undefined)
    throw validationError(
      'ResourceLimits.MaxNumberOfTrainingJobs is required unless the strategy is Grid',
    );
  const cap =
    strategy === 'Random' ? TUNING_LIMITS.maxTrainingJobsRandom : TUNING_LIMITS.maxTrainingJobs;
  if (maxJobs > cap)
    throw validationError(
      `ResourceLimits.MaxNumberOfTrainingJobs ${maxJobs} is over the limit of ${cap} for the ${strategy} strategy`,
    );
  if (limits.MaxParallelTrainingJobs > TUNING_LIMITS.maxParallelJobs) {
    throw validationError(
      `ResourceLimits.MaxParallelTrainingJobs ${limits.MaxParallelTrainingJobs} is over the limit of ${TUNING_LIMITS.maxParallelJobs}`,
    );
  }
  const earlyStopping = c.TrainingJobEarlyStoppingType ?? 'Off';
  let hyperband: TuningConfig['hyperband'];
  const hbConfig = c.StrategyConfig?.HyperbandStrategyConfig;
  if (strategy === 'Hyperband') {
    if (earlyStopping !== 'Off') {
      throw validationError(
        'The Hyperband strategy stops under-performing training jobs itself: TrainingJobEarlyStoppingType must be Off',
      );
    }
    let maxResource = hbConfig?.MaxResource;
    if (maxResource === undefined) {
      const key = EPOCH_HYPERPARAMETERS.find((k) => statics[k] !== undefined);
      const v = key ? Number(statics[key]) : Number.NaN;
      if (!key || !Number.isInteger(v) || v < 1) {
        throw validationError(
          `Hyperband needs MaxResource: set StrategyConfig.HyperbandStrategyConfig.MaxResource or a static hyperparameter ${EPOCH_HYPERPARAMETERS.join('/')} with a positive integer number of epochs`,
        );
      }
      maxResource = v;
    }
    const minResource = hbConfig?.MinResource ?? 1;
    if (maxResource > TUNING_LIMITS.maxHyperbandResource)
      throw validationError(
        `HyperbandStrategyConfig.MaxResource ${maxResource} is over the limit of ${TUNING_LIMITS.maxHyperbandResource}`,
      );
    if (minResource > maxResource)
      throw validationError(
        `HyperbandStrategyConfig.MinResource ${minResource} must not be greater than MaxResource ${maxResource}`,
      );
    hyperband = { minResource, maxResource };
  } else if (hbConfig) {
    throw validationError(
      `StrategyConfig.HyperbandStrategyConfig is only for the Hyperband strategy, not ${strategy}`,
    );
  }
  const criteria = c.TuningJobCompletionCriteria;
  const warm = req.WarmStartConfig;
  if (warm) {
    const names = warm.ParentHyperParameterTuningJobs.map(
      (p) => p.HyperParameterTuningJobName ?? '',
    );
    if (names.some((n) => !n))
      throw validationError(
        'WarmStartConfig.ParentHyperParameterTuningJobs: every parent needs a HyperParameterTuningJobName',
      );
    if (names.some((n) => n.toLowerCase() === req.HyperParameterTuningJobName.toLowerCase())) {
      throw validationError('WarmStartConfig: a tuning job cannot be its own parent');
    }
  }
  return {
    definition: def,
    config: {
      strategy,
      objective: { type: objective.Type, metricName: objective.MetricName },
      space,
      maxTrainingJobs: maxJobs,
      maxParallelJobs: Math.min(limits.MaxParallelTrainingJobs, maxJobs),
      maxRuntimeSeconds: limits.MaxRuntimeInSeconds,
      earlyStopping,
      hyperband,
      completion: {
        targetObjectiveValue: criteria?.TargetObjectiveMetricValue,
        maxJobsNotImproving:
          criteria?.BestObjectiveNotImproving?.MaxNumberOfTrainingJobsNotImproving,
        completeOnConvergence: criteria?.ConvergenceDetected?.CompleteOnConvergence === 'Enabled',
      },
      randomSeed: c.RandomSeed ?? seed,
      maxRetryAttempts: def.RetryStrategy?.MaximumRetryAttempts ?? 0,
      warmStart: warm
        ? {
            parents: warm.ParentHyperParameterTuningJobs.map((p) => p.HyperParameterTuningJobName!),
            type: warm.WarmStartType,
          }
        : undefined,
    },
  };
}
