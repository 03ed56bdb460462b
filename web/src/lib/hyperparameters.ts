/**
 * The built-in object-detection algorithm's hyperparameters (SageMaker's object-detection names, as Apiary's
 * trainer accepts them): defaults for the create form and the same checks the trainer makes, so
 * the form explains a bad value before the job fails. Pure; unit-tested.
 */
export type HyperparameterKind = 'int' | 'float' | 'enum' | 'bool' | 'binary' | 'steps' | 'regex';

export interface HyperparameterSpec {
  readonly name: string;
  readonly kind: HyperparameterKind;
  readonly required?: boolean;
  /** SageMaker's default, as the string the API carries; '' = none. */
  readonly default: string;
  readonly description: string;
  readonly min?: number;
  readonly max?: number;
  readonly minOpen?: boolean;
  readonly maxOpen?: boolean;
  readonly options?: readonly string[];
  /** Shown in the form by default (others are under "Additional hyperparameters"). */
  readonly common?: boolean;
}

export const OBJECT_DETECTION_HYPERPARAMETERS: readonly HyperparameterSpec[] = [
  {
    name: 'num_classes',
    kind: 'int',
    required: true,
    default: '',
    min: 1,
    description: 'Number of object classes (output size of the network).',
    common: true,
  },
  {
    name: 'num_training_samples',
    kind: 'int',
    required: true,
    default: '',
    min: 1,
    description: 'Number of images in the training set.',
    common: true,
  },
  {
    name: 'base_network',
    kind: 'enum',
    default: 'vgg-16',
    options: ['vgg-16', 'resnet-50', 'mobilenet-v3'],
    description: 'Backbone of the SSD detector.',
    common: true,
  },
  {
    name: 'use_pretrained_model',
    kind: 'binary',
    default: '1',
    description: '1 = start from pretrained backbone weights when available, 0 = from scratch.',
  },
  {
    name: 'epochs',
    kind: 'int',
    default: '30',
    min: 1,
    description: 'Number of training epochs.',
    common: true,
  },
  {
    name: 'learning_rate',
    kind: 'float',
    default: '0.001',
    min: 0,
    max: 1,
    minOpen: true,
    description: 'Initial learning rate, in (0, 1].',
    common: true,
  },
  {
    name: 'lr_scheduler_step',
    kind: 'steps',
    default: '',
    description: "Epochs at which to reduce the learning rate, e.g. '10,20'.",
  },
  {
    name: 'lr_scheduler_factor',
    kind: 'float',
    default: '0.1',
    min: 0,
    max: 1,
    minOpen: true,
    maxOpen: true,
    description: 'Factor the learning rate is multiplied by at each step, in (0, 1).',
  },
  {
    name: 'mini_batch_size',
    kind: 'int',
    default: '32',
    min: 1,
    description: 'Images per batch.',
    common: true,
  },
  {
    name: 'optimizer',
    kind: 'enum',
    default: 'sgd',
    options: ['sgd', 'adam', 'rmsprop', 'adadelta'],
    description: 'Optimizer.',
    common: true,
  },
  {
    name: 'momentum',
    kind: 'float',
    default: '0.9',
    min: 0,
    max: 1,
    description: 'Momentum for sgd, in [0, 1].',
  },
  {
    name: 'weight_decay',
    kind: 'float',
    default: '0.0005',
    min: 0,
    max: 1,
    maxOpen: true,
    description: 'Weight decay for sgd and rmsprop, in [0, 1).',
  },
  {
    name: 'image_shape',
    kind: 'int',
    default: '300',
    min: 64,
    max: 2048,
    description:
      'Images are resized to this square size (300 or 512 recommended; Apiary accepts 64 and up for quick runs).',
    common: true,
  },
  {
    name: 'label_width',
    kind: 'int',
    default: '350',
    min: 7,
    description: 'Padded label length (>= 2 + 5 x the most objects in an image).',
  },
  {
    name: 'nms_threshold',
    kind: 'float',
    default: '0.45',
    min: 0,
    max: 1,
    minOpen: true,
    description: 'Non-maximum suppression IoU threshold, in (0, 1].',
  },
  {
    name: 'overlap_threshold',
    kind: 'float',
    default: '0.5',
    min: 0,
    max: 1,
    minOpen: true,
    description: 'IoU threshold of the evaluation, in (0, 1].',
  },
  {
    name: 'freeze_layer_pattern',
    kind: 'regex',
    default: '',
    description: 'Regular expression over backbone layer names to freeze.',
  },
  {
    name: 'kv_store',
    kind: 'enum',
    default: '',
    options: ['dist_sync', 'dist_async'],
    description: 'Multi-host synchronization (multi-instance training only).',
  },
  {
    name: 'early_stopping',
    kind: 'bool',
    default: 'False',
    description: 'Stop when validation mAP stops improving.',
  },
  {
    name: 'early_stopping_min_epochs',
    kind: 'int',
    default: '10',
    min: 1,
    description: 'Epochs to run before early stopping may stop.',
  },
  {
    name: 'early_stopping_patience',
    kind: 'int',
    default: '5',
    min: 1,
    description: 'Epochs without improvement before stopping.',
  },
  {
    name: 'early_stopping_tolerance',
    kind: 'float',
    default: '0.0',
    min: 0,
    max: 1,
    description: 'Relative mAP improvement below this counts as none, in [0, 1].',
  },
];

const SPECS = new Map(OBJECT_DETECTION_HYPERPARAMETERS.map((s) => [s.name, s]));

export function hyperparameterSpec(name: string): HyperparameterSpec | undefined {
  return SPECS.get(name);
}

function range(spec: HyperparameterSpec): string {
  const lo = spec.min ?? -Infinity;
  const hi = spec.max ?? Infinity;
  if (spec.kind === 'int')
    return hi === Infinity ? `an integer >= ${lo}` : `an integer from ${lo} to ${hi}`;
  return `a number in ${spec.minOpen ? '(' : '['}${lo}, ${hi}${spec.maxOpen ? ')' : ']'}`;
}

/**
 * Why `value` is not valid for hyperparameter `name` of the built-in algorithm, or undefined.
 * Unknown names are not checked here (a custom image takes any); see {@link unknownHyperparameters}.
 */
export function hyperparameterProblem(name: string, value: string): string | undefined {
  const spec = SPECS.get(name);
  if (!spec) return undefined;
  const v = value.trim();
  if (v === '') return spec.required ? `${name} is required: ${range(spec)}.` : undefined;
  switch (spec.kind) {
    case 'int': {
      if (!/^[+-]?\d+$/.test(v)) return `Expected ${range(spec)}; got '${value}'.`;
      const n = Number(v);
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max))
        return `Expected ${range(spec)}; got ${n}.`;
      return undefined;
    }
    case 'float': {
      const n = Number(v);
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v) || !Number.isFinite(n))
        return `Expected ${range(spec)}; got '${value}'.`;
      const lo = spec.min ?? -Infinity;
      const hi = spec.max ?? Infinity;
      if (n < lo || n > hi || (spec.minOpen && n === lo) || (spec.maxOpen && n === hi))
        return `Expected ${range(spec)}; got ${n}.`;
      return undefined;
    }
    case 'enum':
      return spec.options!.includes(v)
        ? undefined
        : `Expected one of ${spec.options!.join(', ')}; got '${value}'.`;
    case 'bool':
      return /^(true|false|1|0)$/i.test(v) ? undefined : `Expected True or False; got '${value}'.`;
    case 'binary':
      return v === '0' || v === '1' ? undefined : `Expected 0 or 1; got '${value}'.`;
    case 'steps': {
      const parts = v.split(',').map((p) => p.trim());
      const nums = parts.map(Number);
      const ok =
        parts.every((p) => /^\d+$/.test(p)) &&
        nums.every((n, i) => n > 0 && (i === 0 || n > nums[i - 1]!));
      return ok
        ? undefined
        : `Expected increasing epoch numbers separated by commas, e.g. '10,20'; got '${value}'.`;
    }
    case 'regex':
      try {
        new RegExp(v);
        return undefined;
      } catch {
        return `Expected a valid regular expression; got '${value}'.`;
      }
  }
}

/** Names the built-in algorithm does not know (the trainer would refuse them). */
export function unknownHyperparameters(names: readonly string[]): string[] {
  return names.filter((n) => !SPECS.has(n) && !n.startsWith('_') && !n.startsWith('sagemaker_'));
}

/** The form's starting rows: the common hyperparameters with their defaults. */
export function defaultHyperparameters(): { key: string; value: string }[] {
  return OBJECT_DETECTION_HYPERPARAMETERS.filter((s) => s.common).map((s) => ({
    key: s.name,
    value: s.default,
  }));
}

/** Every problem of a set of rows, keyed by row index (duplicates and empty names included). */
export function hyperparameterRowProblems(
  rows: readonly { key: string; value: string }[],
  builtIn: boolean,
): Map<number, string> {
  const problems = new Map<number, string>();
  const seen = new Set<string>();
  rows.forEach((r, i) => {
    const key = r.key.trim();
    if (key === '') return void problems.set(i, 'Enter a name.');
    if (key.length > 256) return void problems.set(i, 'Names have at most 256 characters.');
    if (r.value.length > 2500) return void problems.set(i, 'Values have at most 2500 characters.');
    if (seen.has(key)) return void problems.set(i, `${key} appears twice.`);
    seen.add(key);
    if (!builtIn) return;
    if (unknownHyperparameters([key]).length > 0)
      return void problems.set(
        i,
        `${key} is not a hyperparameter of the built-in object-detection algorithm.`,
      );
    const p = hyperparameterProblem(key, r.value);
    if (p) problems.set(i, p);
  });
  if (builtIn) {
    for (const s of OBJECT_DETECTION_HYPERPARAMETERS) {
      if (s.required && !seen.has(s.name))
        problems.set(-1, `${s.name} is required by the built-in algorithm.`);
    }
  }
  return problems;
}
