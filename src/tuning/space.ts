import type { Random } from '../shared/index.js';

/**
 * The search space of a tuning job, in the domain's terms. Wire shapes (PascalCase, strings for
 * Min/Max) are turned into these at the API edge; the strategies only ever see this module.
 *
 * Every numeric parameter is "warped" into the unit interval before a strategy looks at it:
 * Linear ranges map affinely, Logarithmic ranges map log(x) affinely, ReverseLogarithmic ranges
 * map -log(1 - x). Categoricals are one-hot coded by the Bayesian strategy and sampled uniformly
 * by the others.
 */
export const ScalingTypes = {
  Auto: 'Auto',
  Linear: 'Linear',
  Logarithmic: 'Logarithmic',
  ReverseLogarithmic: 'ReverseLogarithmic',
} as const;
export type ScalingType = (typeof ScalingTypes)[keyof typeof ScalingTypes];
/** A scaling with Auto already resolved. */
export type ResolvedScaling = Exclude<ScalingType, 'Auto'>;

export type ParameterSpec =
  | {
      readonly kind: 'continuous';
      readonly name: string;
      readonly min: number;
      readonly max: number;
      readonly scaling: ScalingType;
    }
  | {
      readonly kind: 'integer';
      readonly name: string;
      readonly min: number;
      readonly max: number;
      readonly scaling: ScalingType;
    }
  | { readonly kind: 'categorical'; readonly name: string; readonly values: readonly string[] };

export type ParameterValue = number | string;
/** One point of the space: parameter name → value (numbers for numeric ranges). */
export type Config = Readonly<Record<string, ParameterValue>>;

/**
 * Auto resolves to Logarithmic when the range is positive and spans at least two decades
 * (what a person tuning a learning rate would pick), else Linear.
 */
export function resolveScaling(spec: ParameterSpec): ResolvedScaling {
  if (spec.kind === 'categorical') return 'Linear';
  if (spec.scaling !== 'Auto') return spec.scaling;
  return spec.min > 0 && spec.max / spec.min >= 100 ? 'Logarithmic' : 'Linear';
}

/** Warps a numeric value of `spec` into [0, 1]. */
export function toUnit(spec: ParameterSpec, value: number): number {
  if (spec.kind === 'categorical') throw new Error('categorical has no unit coordinate');
  const { min, max } = spec;
  if (max === min) return 0.5;
  const scaling = resolveScaling(spec);
  let u: number;
  if (spec.kind === 'integer' && scaling === 'Linear') {
    // Equal-width cells per integer so uniform sampling is uniform over the integers.
    u = (value - min + 0.5) / (max - min + 1);
  } else if (scaling === 'Logarithmic') {
    u = (Math.log(value) - Math.log(min)) / (Math.log(max) - Math.log(min));
  } else if (scaling === 'ReverseLogarithmic') {
    u = (Math.log(1 - min) - Math.log(1 - value)) / (Math.log(1 - min) - Math.log(1 - max));
  } else {
    u = (value - min) / (max - min);
  }
  return clamp01(u);
}

/** Inverse of {@link toUnit}; integers are rounded and every value is clamped into its range. */
export function fromUnit(spec: ParameterSpec, u: number): number {
  if (spec.kind === 'categorical') throw new Error('categorical has no unit coordinate');
  const { min, max } = spec;
  const t = clamp01(u);
  const scaling = resolveScaling(spec);
  let v: number;
  if (spec.kind === 'integer' && scaling === 'Linear') {
    v = min + Math.floor(t * (max - min + 1));
  } else if (scaling === 'Logarithmic') {
    v = Math.exp(Math.log(min) + t * (Math.log(max) - Math.log(min)));
  } else if (scaling === 'ReverseLogarithmic') {
    v = 1 - Math.exp(Math.log(1 - min) - t * (Math.log(1 - min) - Math.log(1 - max)));
  } else {
    v = min + t * (max - min);
  }
  if (spec.kind === 'integer') v = Math.round(v);
  return Math.min(max, Math.max(min, v));
}

const clamp01 = (u: number): number => (u < 0 ? 0 : u > 1 ? 1 : u);

/** Draws one value of `spec`: uniform in the warped space, uniform over categorical values. */
export function sampleValue(spec: ParameterSpec, random: Random): ParameterValue {
  if (spec.kind === 'categorical') {
    return spec.values[
      Math.min(spec.values.length - 1, Math.floor(random.next() * spec.values.length))
    ]!;
  }
  return fromUnit(spec, random.next());
}

export function sampleConfig(space: readonly ParameterSpec[], random: Random): Config {
  const out: Record<string, ParameterValue> = {};
  for (const spec of space) out[spec.name] = sampleValue(spec, random);
  return out;
}

/**
 * Latin hypercube design of `n` points: each numeric dimension is cut into `n` strata and each
 * stratum is used once; categoricals cycle through their values in a shuffled order.
 */
export function latinHypercube(
  space: readonly ParameterSpec[],
  n: number,
  random: Random,
): Config[] {
  const points: Record<string, ParameterValue>[] = Array.from({ length: n }, () => ({}));
  for (const spec of space) {
    const order = shuffle(
      Array.from({ length: n }, (_, i) => i),
      random,
    );
    if (spec.kind === 'categorical') {
      const values = shuffle([...spec.values], random);
      order.forEach((slot, i) => {
        points[slot]![spec.name] = values[i % values.length]!;
      });
    } else {
      order.forEach((slot, i) => {
        points[slot]![spec.name] = fromUnit(spec, (i + random.next()) / n);
      });
    }
  }
  return points;
}

export function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** A canonical key for a config, used to spot repeats (grid bookkeeping, duplicate avoidance). */
export function configKey(space: readonly ParameterSpec[], config: Config): string {
  return space.map((s) => `${s.name}=${String(config[s.name])}`).join('&');
}

/**
 * The string SageMaker passes to the training job. Continuous values keep 6 significant digits
 * (what the console shows); integers and categoricals are printed as they are.
 */
export function formatValue(spec: ParameterSpec, value: ParameterValue): string {
  if (spec.kind === 'categorical' || typeof value === 'string') return String(value);
  if (spec.kind === 'integer') return String(Math.round(value));
  return String(Number(value.toPrecision(6)));
}

/** Parses a hyperparameter string back into the space's value type (warm start, restarts). */
export function parseValue(spec: ParameterSpec, text: string): ParameterValue | undefined {
  if (spec.kind === 'categorical') return spec.values.includes(text) ? text : undefined;
  const v = Number(text);
  if (!Number.isFinite(v) || v < spec.min || v > spec.max) return undefined;
  return spec.kind === 'integer' ? Math.round(v) : v;
}

/**
 * Encodes a config as the Bayesian strategy's feature vector: one unit coordinate per numeric
 * parameter, one 0/1 coordinate per categorical value (one-hot).
 */
export class Encoder {
  readonly dims: number;
  private readonly offsets: number[] = [];
  constructor(readonly space: readonly ParameterSpec[]) {
    let d = 0;
    for (const spec of space) {
      this.offsets.push(d);
      d += spec.kind === 'categorical' ? spec.values.length : 1;
    }
    this.dims = d;
  }

  encode(config: Config): Float64Array {
    const x = new Float64Array(this.dims);
    this.space.forEach((spec, i) => {
      const off = this.offsets[i]!;
      const value = config[spec.name];
      if (spec.kind === 'categorical') {
        const k = spec.values.indexOf(String(value));
        if (k >= 0) x[off + k] = 1;
      } else {
        x[off] = toUnit(spec, Number(value));
      }
    });
    return x;
  }

  /** Decodes (and so projects onto the lattice: integers rounded, categoricals argmax). */
  decode(x: Float64Array): Config {
    const out: Record<string, ParameterValue> = {};
    this.space.forEach((spec, i) => {
      const off = this.offsets[i]!;
      if (spec.kind === 'categorical') {
        let best = 0;
        for (let k = 1; k < spec.values.length; k++) if (x[off + k]! > x[off + best]!) best = k;
        out[spec.name] = spec.values[best]!;
      } else {
        out[spec.name] = fromUnit(spec, x[off]!);
      }
    });
    return out;
  }

  /** Which coordinates belong to which parameter (for local moves that keep one-hots exact). */
  blocks(): readonly { spec: ParameterSpec; offset: number }[] {
    return this.space.map((spec, i) => ({ spec, offset: this.offsets[i]! }));
  }
}

/** Number of distinct configurations of an all-categorical space (Grid). */
export function gridSize(space: readonly ParameterSpec[]): number {
  let n = 1;
  for (const spec of space) {
    if (spec.kind !== 'categorical') throw new Error('grid needs categorical parameters only');
    n *= spec.values.length;
  }
  return n;
}
