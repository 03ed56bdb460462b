import type { Random } from '../../src/shared/index.js';
import type { Config, ParameterSpec } from '../../src/tuning/space.js';

/**
 * Benchmark problems (all minimised). The same definitions are mirrored in optuna_runner.py; the
 * two are checked against each other at start-up by evaluating fixed points in both languages.
 */
export interface Problem {
  readonly name: string;
  readonly space: readonly ParameterSpec[];
  /** Noise-free value (regret is always measured on it). */
  readonly f: (c: Config) => number;
  /** Observed value; noisy problems add noise here. */
  readonly observe: (c: Config, random: Random) => number;
  readonly optimum: number;
}

const num = (c: Config, k: string) => Number(c[k]);

function branin(c: Config): number {
  const x1 = num(c, 'x1');
  const x2 = num(c, 'x2');
  const b = 5.1 / (4 * Math.PI ** 2);
  const cc = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (x2 - b * x1 * x1 + cc * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10;
}

const H6_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const H6_P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
].map((r) => r.map((v) => v * 1e-4));
const H6_ALPHA = [1.0, 1.2, 3.0, 3.2];

function hartmann6(c: Config): number {
  let s = 0;
  for (let i = 0; i < 4; i++) {
    let inner = 0;
    for (let j = 0; j < 6; j++) inner += H6_A[i]![j]! * (num(c, `x${j + 1}`) - H6_P[i]![j]!) ** 2;
    s += H6_ALPHA[i]! * Math.exp(-inner);
  }
  return -s;
}

/**
 * A 4-D mixed space shaped like a training job: learning rate (log, 1e-5..1), momentum (linear),
 * layers (integer 1..8) and optimizer (categorical). The loss is a smooth bowl in log lr whose
 * centre and depth depend on the optimizer, plus momentum and depth terms that interact with lr.
 */
const OPT_SHIFT: Record<string, { centre: number; floor: number }> = {
  sgd: { centre: -1.5, floor: 0.1 },
  adam: { centre: -3.2, floor: 0.0 },
  rmsprop: { centre: -3.6, floor: 0.25 },
  adagrad: { centre: -2.0, floor: 0.4 },
};
function mixed(c: Config): number {
  const llr = Math.log10(num(c, 'lr'));
  const m = num(c, 'momentum');
  const layers = num(c, 'layers');
  const o = OPT_SHIFT[String(c['optimizer'])]!;
  const centre = o.centre - 0.8 * (m - 0.5);
  return (
    o.floor +
    0.3 * (llr - centre) ** 2 +
    0.5 * (m - 0.8) ** 2 +
    0.05 * (layers - 5) ** 2 +
    0.1 * Math.abs(llr - centre) * (layers / 8)
  );
}

export function gaussianNoise(random: Random): number {
  const u = Math.max(1e-300, random.next());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.next());
}

const unit = (name: string): ParameterSpec => ({
  kind: 'continuous',
  name,
  min: 0,
  max: 1,
  scaling: 'Linear',
});

export const PROBLEMS: readonly Problem[] = [
  {
    name: 'branin',
    space: [
      { kind: 'continuous', name: 'x1', min: -5, max: 10, scaling: 'Linear' },
      { kind: 'continuous', name: 'x2', min: 0, max: 15, scaling: 'Linear' },
    ],
    f: branin,
    observe: branin,
    optimum: 0.397887,
  },
  {
    name: 'hartmann6',
    space: [1, 2, 3, 4, 5, 6].map((i) => unit(`x${i}`)),
    f: hartmann6,
    observe: hartmann6,
    optimum: -3.32237,
  },
  {
    name: 'mixed4d',
    space: [
      { kind: 'continuous', name: 'lr', min: 1e-5, max: 1, scaling: 'Logarithmic' },
      { kind: 'continuous', name: 'momentum', min: 0, max: 0.99, scaling: 'Linear' },
      { kind: 'integer', name: 'layers', min: 1, max: 8, scaling: 'Linear' },
      { kind: 'categorical', name: 'optimizer', values: ['sgd', 'adam', 'rmsprop', 'adagrad'] },
    ],
    f: mixed,
    observe: mixed,
    optimum: 0, // adam, momentum 0.8, layers 5, log10 lr = -3.44
  },
  {
    name: 'hartmann6-noisy',
    space: [1, 2, 3, 4, 5, 6].map((i) => unit(`x${i}`)),
    f: hartmann6,
    // sd 0.1 on a function whose range is ~3.3: a noisy validation metric.
    observe: (c, r) => hartmann6(c) + 0.1 * gaussianNoise(r),
    optimum: -3.32237,
  },
];
