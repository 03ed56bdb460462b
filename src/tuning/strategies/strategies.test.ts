import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../shared/index.js';
import type { Config, ParameterSpec } from '../space.js';
import { BayesianSearch } from './bayesian.js';
import { GaussianProcess, negLogPosterior } from './gp.js';
import { GridSearch } from './grid.js';
import { minimizeLbfgs } from './lbfgs.js';
import { RandomSearch } from './random.js';
import type { Observation, SearchStrategy } from './strategy.js';

const ctx = (observations: Observation[], trialIndex = observations.length, seed = 1) => ({
  observations,
  pending: [] as Config[],
  failed: [] as Config[],
  trialIndex,
  random: seededRandom(seed),
});

const branin = (c: Config) => {
  const x1 = Number(c['x1']);
  const x2 = Number(c['x2']);
  return (
    (x2 - (5.1 / (4 * Math.PI ** 2)) * x1 * x1 + (5 / Math.PI) * x1 - 6) ** 2 +
    10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) +
    10
  );
};
const braninSpace: ParameterSpec[] = [
  { kind: 'continuous', name: 'x1', min: -5, max: 10, scaling: 'Linear' },
  { kind: 'continuous', name: 'x2', min: 0, max: 15, scaling: 'Linear' },
];

function optimise(
  strategy: SearchStrategy,
  f: (c: Config) => number,
  trials: number,
  parallel: number,
): number {
  const obs: Observation[] = [];
  for (let round = 0; obs.length < trials; round++) {
    for (const config of strategy.suggest(ctx(obs, obs.length, round + 100), parallel))
      obs.push({ config, loss: f(config) });
  }
  return Math.min(...obs.map((o) => o.loss));
}

describe('grid search', () => {
  const space: ParameterSpec[] = [
    { kind: 'categorical', name: 'optimizer', values: ['sgd', 'adam'] },
    { kind: 'categorical', name: 'mini_batch_size', values: ['8', '16', '32'] },
  ];

  it('proposes every combination exactly once and then nothing', () => {
    const grid = new GridSearch(space);
    expect(grid.size).toBe(6);
    const obs: Observation[] = [];
    for (let i = 0; i < 4; i++)
      for (const config of grid.suggest(ctx(obs), 2)) obs.push({ config, loss: 0 });
    const keys = obs.map((o) => `${o.config['optimizer']}/${o.config['mini_batch_size']}`);
    expect(keys).toEqual(['sgd/8', 'sgd/16', 'sgd/32', 'adam/8', 'adam/16', 'adam/32']);
    expect(grid.suggest(ctx(obs), 1)).toEqual([]);
  });

  it('skips combinations that are running or failed', () => {
    const grid = new GridSearch(space);
    const out = grid.suggest(
      {
        ...ctx([]),
        pending: [{ optimizer: 'sgd', mini_batch_size: '8' }],
        failed: [{ optimizer: 'sgd', mini_batch_size: '16' }],
      },
      1,
    );
    expect(out).toEqual([{ optimizer: 'sgd', mini_batch_size: '32' }]);
  });

  it('refuses a numeric range', () => {
    expect(() => new GridSearch(braninSpace)).toThrow(/categorical/);
  });
});

describe('random search', () => {
  it('is reproducible for the same seeded source and stays inside the ranges', () => {
    const a = new RandomSearch(braninSpace).suggest(ctx([], 0, 7), 5);
    const b = new RandomSearch(braninSpace).suggest(ctx([], 0, 7), 5);
    expect(a).toEqual(b);
    for (const c of a) {
      expect(Number(c['x1'])).toBeGreaterThanOrEqual(-5);
      expect(Number(c['x2'])).toBeLessThanOrEqual(15);
    }
  });
});

describe('L-BFGS', () => {
  it('minimises the Rosenbrock function', () => {
    const result = minimizeLbfgs(
      ([x, y]) => ({
        value: (1 - x!) ** 2 + 100 * (y! - x! * x!) ** 2,
        gradient: [-2 * (1 - x!) - 400 * x! * (y! - x! * x!), 200 * (y! - x! * x!)],
      }),
      [-1.2, 1],
      { maxIterations: 200 },
    );
    expect(result.x[0]).toBeCloseTo(1, 3);
    expect(result.x[1]).toBeCloseTo(1, 3);
  });
});

describe('Gaussian process', () => {
  const r = seededRandom(5);
  const x = Array.from({ length: 15 }, () => Float64Array.from([r.next(), r.next(), r.next()]));
  const z = GaussianProcess.standardize(x.map((p) => Math.sin(6 * p[0]!) + 0.2 * p[1]!)).z;

  it('has an analytic marginal-likelihood gradient that matches finite differences', () => {
    const theta = [-0.5, 0.3, 1.1, 0.2, -4];
    const unpack = (t: number[]) => ({
      logLengthScales: t.slice(0, 3),
      logSignalVariance: t[3]!,
      logNoiseVariance: t[4]!,
    });
    const { gradient } = negLogPosterior(x, z, unpack(theta));
    theta.forEach((_, i) => {
      const h = 1e-5;
      const up = [...theta];
      const down = [...theta];
      up[i]! += h;
      down[i]! -= h;
      const numeric =
        (negLogPosterior(x, z, unpack(up)).value - negLogPosterior(x, z, unpack(down)).value) /
        (2 * h);
      expect(gradient[i]).toBeCloseTo(numeric, 4);
    });
  });

  it('learns that an irrelevant input has a long length scale and interpolates the data', () => {
    const gp = GaussianProcess.fit(x, z, { random: seededRandom(1) });
    const [l0, , l2] = gp.hp.logLengthScales;
    expect(l2!).toBeGreaterThan(l0!);
    const { mean, variance } = gp.predict(x.slice(0, 3));
    for (let i = 0; i < 3; i++) {
      expect(mean[i]).toBeCloseTo(z[i]!, 1);
      expect(variance[i]).toBeLessThan(0.05);
    }
  });
});

describe('Bayesian search', () => {
  it('starts from a Latin hypercube design and gives the same suggestions for the same seed', () => {
    const a = new BayesianSearch(braninSpace, { seed: 3 });
    const b = new BayesianSearch(braninSpace, { seed: 3 });
    expect(a.suggest(ctx([]), 4)).toEqual(b.suggest(ctx([]), 4));
  });

  it("finds Branin's minimum far better than random search with the same budget", () => {
    const bayes = optimise(new BayesianSearch(braninSpace, { seed: 1 }), branin, 24, 3);
    const random = optimise(new RandomSearch(braninSpace), branin, 24, 3);
    expect(bayes - 0.397887).toBeLessThan(0.05);
    expect(bayes).toBeLessThan(random);
  });

  it('suggests distinct points for a parallel batch and avoids running trials', () => {
    const s = new BayesianSearch(braninSpace, { seed: 2 });
    const obs: Observation[] = s
      .suggest(ctx([]), 4)
      .map((config) => ({ config, loss: branin(config) }));
    const pending = s.suggest(ctx(obs), 1);
    const batch = s.suggest({ ...ctx(obs, 5), pending }, 3);
    const keys = new Set([...pending, ...batch].map((c) => `${c['x1']},${c['x2']}`));
    expect(keys.size).toBe(4);
  });

  it('proposes only valid integers and categorical values', () => {
    const space: ParameterSpec[] = [
      { kind: 'integer', name: 'layers', min: 1, max: 6, scaling: 'Linear' },
      { kind: 'categorical', name: 'optimizer', values: ['sgd', 'adam'] },
      { kind: 'continuous', name: 'lr', min: 1e-4, max: 1, scaling: 'Logarithmic' },
    ];
    const f = (c: Config) =>
      (Number(c['layers']) - 4) ** 2 +
      (c['optimizer'] === 'adam' ? 0 : 1) +
      Math.log10(Number(c['lr'])) ** 2;
    const s = new BayesianSearch(space, { seed: 9 });
    const obs: Observation[] = [];
    for (let i = 0; i < 16; i++) {
      const [c] = s.suggest(ctx(obs, obs.length, i), 1);
      expect(Number.isInteger(c!['layers'])).toBe(true);
      expect(['sgd', 'adam']).toContain(c!['optimizer']);
      obs.push({ config: c!, loss: f(c!) });
    }
    expect(Math.min(...obs.map((o) => o.loss))).toBeLessThan(0.5);
  });
});
