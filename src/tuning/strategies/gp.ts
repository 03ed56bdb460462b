import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import type { Random } from '../../shared/index.js';
import { minimizeLbfgs } from './lbfgs.js';

/**
 * Gaussian-process regression with a Matérn 5/2 kernel and one length scale per input dimension
 * (ARD). Targets are standardized before fitting; all means and variances this class returns are
 * in standardized units. Hyperparameters (log length scales, log signal variance, log noise
 * variance) are fitted by maximising the marginal likelihood times weak log-normal priors, with a
 * multi-start L-BFGS. The linear algebra (Cholesky, solves, products) is ml-matrix's.
 */
export interface GpHyperparameters {
  readonly logLengthScales: readonly number[];
  readonly logSignalVariance: number;
  readonly logNoiseVariance: number;
}

/** Noise floor added to the fitted noise variance, keeps K positive definite. */
const JITTER = 1e-6;
const LOG_2PI = Math.log(2 * Math.PI);
const SQRT5 = Math.sqrt(5);

// Priors (standardized targets, unit-cube inputs).
const PRIOR_LOG_LENGTH = { mean: Math.log(0.5), sd: 1.0 };
const PRIOR_LOG_SIGNAL = { mean: 0, sd: 1.0 };
const PRIOR_LOG_NOISE = { mean: Math.log(1e-3), sd: 2.5 };

export interface FitOptions {
  readonly random: Random;
  /** Start from these (the previous fit) in addition to the default and random starts. */
  readonly warmStart?: GpHyperparameters;
  /** Random starts besides the default and the warm start (default 2). */
  readonly restarts?: number;
  /** Fit hyperparameters on at most this many points (best half + a random rest; default 40). */
  readonly maxFitPoints?: number;
  readonly maxIterations?: number;
  /** Per input dimension, the prior median of the length scale (default 0.5 each). */
  readonly lengthScalePriors?: readonly number[];
}

export class GaussianProcess {
  private readonly chol: CholeskyDecomposition;
  private readonly alpha: Matrix;
  private kInv: Matrix | undefined;

  private constructor(
    readonly x: readonly Float64Array[],
    /** Standardized targets. */
    readonly z: readonly number[],
    readonly hp: GpHyperparameters,
  ) {
    const k = kernelMatrix(x, hp, true);
    this.chol = new CholeskyDecomposition(k);
    if (!this.chol.isPositiveDefinite()) throw new Error('kernel matrix is not positive definite');
    this.alpha = this.chol.solve(Matrix.columnVector([...z]));
  }

  /** Standardizes `y` (mean 0, sd 1; a constant y gets sd 1). */
  static standardize(y: readonly number[]): { z: number[]; mean: number; sd: number } {
    const mean = y.reduce((a, b) => a + b, 0) / y.length;
    const variance = y.reduce((a, b) => a + (b - mean) ** 2, 0) / y.length;
    const sd = variance > 1e-24 ? Math.sqrt(variance) : 1;
    return { z: y.map((v) => (v - mean) / sd), mean, sd };
  }

  /** Fits hyperparameters to standardized targets `z` and returns the posterior. */
  static fit(
    x: readonly Float64Array[],
    z: readonly number[],
    options: FitOptions,
  ): GaussianProcess {
    return GaussianProcess.withHyperparameters(
      x,
      z,
      GaussianProcess.fitHyperparameters(x, z, options),
    );
  }

  /** Maximum a-posteriori hyperparameters for standardized targets `z` (multi-start L-BFGS). */
  static fitHyperparameters(
    x: readonly Float64Array[],
    z: readonly number[],
    options: FitOptions,
  ): GpHyperparameters {
    const dims = x[0]?.length ?? 0;
    const { random } = options;
    const [fx, fz] = fitSubset(x, z, options.maxFitPoints ?? 40, random);
    const priors = (options.lengthScalePriors ?? []).map(Math.log);
    const objective = (theta: readonly number[]) =>
      negLogPosterior(fx, fz, unpack(theta, dims), priors);
    const warm = options.warmStart?.logLengthScales.length === dims ? options.warmStart : undefined;
    // With a warm start and no random restarts requested, the default start is skipped too.
    const starts: number[][] =
      warm && options.restarts === 0 ? [pack(warm)] : [pack(defaultHyperparameters(dims, priors))];
    if (warm && options.restarts !== 0) starts.push(pack(warm));
    for (let r = 0; r < (options.restarts ?? 2); r++) {
      starts.push([
        ...Array.from(
          { length: dims },
          (_, d) => (priors[d] ?? PRIOR_LOG_LENGTH.mean) + gaussian(random) * PRIOR_LOG_LENGTH.sd,
        ),
        gaussian(random) * 0.5,
        PRIOR_LOG_NOISE.mean + gaussian(random),
      ]);
    }
    let best: { x: number[]; value: number } | undefined;
    for (const start of starts) {
      const result = minimizeLbfgs(objective, start, {
        maxIterations: options.maxIterations ?? 60,
      });
      if (Number.isFinite(result.value) && (!best || result.value < best.value)) best = result;
    }
    return clampHyperparameters(unpack(best?.x ?? starts[0]!, dims));
  }

  /** The posterior with fixed hyperparameters (adds jitter until the Cholesky succeeds). */
  static withHyperparameters(
    x: readonly Float64Array[],
    z: readonly number[],
    hp: GpHyperparameters,
  ): GaussianProcess {
    let current = hp;
    for (let attempt = 0; attempt < 6; attempt++) {
      try {
        return new GaussianProcess(x, z, current);
      } catch {
        current = {
          ...current,
          logNoiseVariance: Math.max(current.logNoiseVariance, Math.log(1e-6)) + 2,
        };
      }
    }
    throw new Error('could not factor the kernel matrix');
  }

  /** The same hyperparameters with extra (fantasized) observations appended. */
  withFantasies(xs: readonly Float64Array[], zs: readonly number[]): GaussianProcess {
    if (xs.length === 0) return this;
    return GaussianProcess.withHyperparameters([...this.x, ...xs], [...this.z, ...zs], this.hp);
  }

  /** Posterior mean and variance of the latent function at each point (standardized units). */
  predict(points: readonly Float64Array[]): { mean: Float64Array; variance: Float64Array } {
    const m = points.length;
    const n = this.x.length;
    const mean = new Float64Array(m);
    const variance = new Float64Array(m);
    if (m === 0) return { mean, variance };
    const ks = crossKernel(points, this.x, this.hp);
    const mu = ks.mmul(this.alpha);
    this.kInv ??= this.chol.solve(Matrix.eye(n, n));
    const ksKinv = ks.mmul(this.kInv);
    const signal = Math.exp(this.hp.logSignalVariance);
    for (let i = 0; i < m; i++) {
      const a = ks.getRow(i);
      const b = ksKinv.getRow(i);
      let q = 0;
      for (let j = 0; j < n; j++) q += a[j]! * b[j]!;
      mean[i] = mu.get(i, 0);
      variance[i] = Math.max(1e-12, signal - q);
    }
    return { mean, variance };
  }
}

function defaultHyperparameters(dims: number, priors: readonly number[] = []): GpHyperparameters {
  return {
    logLengthScales: Array.from({ length: dims }, (_, d) => priors[d] ?? PRIOR_LOG_LENGTH.mean),
    logSignalVariance: 0,
    logNoiseVariance: PRIOR_LOG_NOISE.mean,
  };
}

const pack = (hp: GpHyperparameters): number[] => [
  ...hp.logLengthScales,
  hp.logSignalVariance,
  hp.logNoiseVariance,
];
const unpack = (theta: readonly number[], dims: number): GpHyperparameters => ({
  logLengthScales: theta.slice(0, dims),
  logSignalVariance: theta[dims]!,
  logNoiseVariance: theta[dims + 1]!,
});

function clampHyperparameters(hp: GpHyperparameters): GpHyperparameters {
  const c = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  return {
    logLengthScales: hp.logLengthScales.map((v) => c(v, Math.log(1e-3), Math.log(1e3))),
    logSignalVariance: c(hp.logSignalVariance, Math.log(1e-4), Math.log(1e4)),
    logNoiseVariance: c(hp.logNoiseVariance, Math.log(1e-9), Math.log(10)),
  };
}

export function fitSubset(
  x: readonly Float64Array[],
  z: readonly number[],
  cap: number,
  random: Random,
): [Float64Array[], number[]] {
  if (x.length <= cap) return [[...x], [...z]];
  const order = z.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const keep = order.slice(0, Math.floor(cap / 2)).map(([, i]) => i);
  const rest = order.slice(Math.floor(cap / 2)).map(([, i]) => i);
  for (let k = rest.length - 1; k > 0; k--) {
    const j = Math.floor(random.next() * (k + 1));
    [rest[k], rest[j]] = [rest[j]!, rest[k]!];
  }
  keep.push(...rest.slice(0, cap - keep.length));
  return [keep.map((i) => x[i]!), keep.map((i) => z[i]!)];
}

function matern(r2: number, signal: number): number {
  const r = Math.sqrt(r2);
  return signal * (1 + SQRT5 * r + (5 / 3) * r2) * Math.exp(-SQRT5 * r);
}

function scaledDistance2(a: Float64Array, b: Float64Array, invLength2: Float64Array): number {
  let s = 0;
  for (let d = 0; d < a.length; d++) {
    const t = a[d]! - b[d]!;
    s += t * t * invLength2[d]!;
  }
  return s;
}

const inverseLength2 = (hp: GpHyperparameters): Float64Array =>
  Float64Array.from(hp.logLengthScales, (l) => Math.exp(-2 * l));

function kernelMatrix(
  x: readonly Float64Array[],
  hp: GpHyperparameters,
  withNoise: boolean,
): Matrix {
  const n = x.length;
  const inv = inverseLength2(hp);
  const signal = Math.exp(hp.logSignalVariance);
  const noise = withNoise ? Math.exp(hp.logNoiseVariance) + JITTER : 0;
  const k = new Matrix(n, n);
  for (let i = 0; i < n; i++) {
    k.set(i, i, signal + noise);
    for (let j = 0; j < i; j++) {
      const v = matern(scaledDistance2(x[i]!, x[j]!, inv), signal);
      k.set(i, j, v);
      k.set(j, i, v);
    }
  }
  return k;
}

function crossKernel(
  a: readonly Float64Array[],
  b: readonly Float64Array[],
  hp: GpHyperparameters,
): Matrix {
  const inv = inverseLength2(hp);
  const signal = Math.exp(hp.logSignalVariance);
  const k = new Matrix(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b.length; j++)
      k.set(i, j, matern(scaledDistance2(a[i]!, b[j]!, inv), signal));
  }
  return k;
}

const logNormalPrior = (v: number, p: { mean: number; sd: number }) => {
  const t = (v - p.mean) / p.sd;
  return { value: 0.5 * t * t, gradient: t / p.sd };
};

/** Negative log marginal likelihood minus log prior, and its gradient in the packed order. */
export function negLogPosterior(
  x: readonly Float64Array[],
  z: readonly number[],
  hp: GpHyperparameters,
  /** Log prior medians of the length scales, per dimension (default log 0.5). */
  lengthPriors: readonly number[] = [],
): { value: number; gradient: number[] } {
  const n = x.length;
  const dims = hp.logLengthScales.length;
  const fail = {
    value: Number.POSITIVE_INFINITY,
    gradient: Array.from({ length: dims + 2 }, () => 0),
  };
  if (![...hp.logLengthScales, hp.logSignalVariance, hp.logNoiseVariance].every(Number.isFinite))
    return fail;
  if (hp.logNoiseVariance > 5 || hp.logSignalVariance > 10) return fail;
  const k = kernelMatrix(x, hp, true);
  let chol: CholeskyDecomposition;
  try {
    chol = new CholeskyDecomposition(k); // throws on a non-finite (hence "non-symmetric") matrix
  } catch {
    return fail;
  }
  if (!chol.isPositiveDefinite()) return fail;
  const alpha = chol.solve(Matrix.columnVector([...z]));
  const l = chol.lowerTriangularMatrix;
  let logDet = 0;
  let fit = 0;
  for (let i = 0; i < n; i++) {
    logDet += Math.log(l.get(i, i));
    fit += z[i]! * alpha.get(i, 0);
  }
  let value = 0.5 * fit + logDet + 0.5 * n * LOG_2PI;
  // dNLML/dθ = ½ Σ_ij W_ij ∂K_ij/∂θ with W = K⁻¹ − ααᵀ.
  const w = chol.solve(Matrix.eye(n, n));
  const gradient = new Float64Array(dims + 2);
  const inv = inverseLength2(hp);
  const signal = Math.exp(hp.logSignalVariance);
  const noise = Math.exp(hp.logNoiseVariance);
  for (let i = 0; i < n; i++) {
    const ai = alpha.get(i, 0);
    const wii = w.get(i, i) - ai * ai;
    gradient[dims] = gradient[dims]! + 0.5 * wii * signal;
    gradient[dims + 1] = gradient[dims + 1]! + 0.5 * wii * noise;
    const xi = x[i]!;
    for (let j = 0; j < i; j++) {
      const wij = w.get(i, j) - ai * alpha.get(j, 0);
      const xj = x[j]!;
      const r2 = scaledDistance2(xi, xj, inv);
      const r = Math.sqrt(r2);
      const e = Math.exp(-SQRT5 * r);
      const kij = signal * (1 + SQRT5 * r + (5 / 3) * r2) * e;
      // Off-diagonal pairs appear twice in the trace: the ½ cancels.
      gradient[dims] = gradient[dims]! + wij * kij;
      const common = wij * signal * (5 / 3) * (1 + SQRT5 * r) * e;
      for (let d = 0; d < dims; d++) {
        const t = xi[d]! - xj[d]!;
        gradient[d] = gradient[d]! + common * t * t * inv[d]!;
      }
    }
  }
  hp.logLengthScales.forEach((v, d) => {
    const p = logNormalPrior(v, {
      mean: lengthPriors[d] ?? PRIOR_LOG_LENGTH.mean,
      sd: PRIOR_LOG_LENGTH.sd,
    });
    value += p.value;
    gradient[d] = gradient[d]! + p.gradient;
  });
  const ps = logNormalPrior(hp.logSignalVariance, PRIOR_LOG_SIGNAL);
  const pn = logNormalPrior(hp.logNoiseVariance, PRIOR_LOG_NOISE);
  value += ps.value + pn.value;
  gradient[dims] = gradient[dims]! + ps.gradient;
  gradient[dims + 1] = gradient[dims + 1]! + pn.gradient;
  return { value, gradient: Array.from(gradient) };
}

/** Standard normal draw (Box–Muller) from a seeded source. */
export function gaussian(random: Random): number {
  const u = Math.max(1e-300, random.next());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.next());
}
