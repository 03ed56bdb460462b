import { seededRandom } from '../../shared/index.js';
import type { Random } from '../../shared/index.js';
import { Encoder, configKey, latinHypercube, sampleConfig } from '../space.js';
import type { Config } from '../space.js';
import { GaussianProcess, fitSubset, gaussian } from './gp.js';
import type { GpHyperparameters } from './gp.js';
import type { SearchSpace, SearchStrategy, SuggestionContext } from './strategy.js';

/**
 * Bayesian optimisation: a Gaussian process (Matérn 5/2, ARD, fitted by marginal likelihood) over
 * the warped, one-hot encoded space, and expected improvement maximised over many random
 * candidates refined by local moves. Integers and categoricals are projected onto their lattice
 * before the acquisition is evaluated, so EI is always measured at a point that can really run.
 *
 * Parallel suggestions use the kriging believer: every running trial (and every suggestion of the
 * same batch) is added to the model as a fantasy observation at its posterior mean, which shrinks
 * the variance there and pushes the next suggestion elsewhere. The constant liar (fantasy = worst
 * observed loss) is available as an option.
 */
/** Observations the posterior conditions on at most (see modelSuggestions). */
const MAX_POSTERIOR_POINTS = 80;

export interface BayesianOptions {
  /** Seeds the initial Latin hypercube design. */
  readonly seed: number;
  /** Trials drawn from the initial design before the model is used (default: params + 1, 4..10). */
  readonly initialTrials?: number;
  /** How running trials are fantasized (default kriging believer). */
  readonly batchMode?: 'kriging-believer' | 'constant-liar' | 'constant-liar-min';
  /** Random candidates scored per suggestion (default 2000, 300 above 60 observations). */
  readonly randomCandidates?: number;
}

export class BayesianSearch implements SearchStrategy {
  readonly name = 'Bayesian';
  private readonly encoder: Encoder;
  private readonly initialTrials: number;
  private readonly design: Config[];
  /** Last fitted hyperparameters: a warm start only (the result does not depend on it much). */
  private lastFit: GpHyperparameters | undefined;

  constructor(
    private readonly space: SearchSpace,
    private readonly options: BayesianOptions,
  ) {
    this.encoder = new Encoder(space);
    this.initialTrials = options.initialTrials ?? Math.min(10, Math.max(4, space.length + 1));
    this.design = latinHypercube(space, this.initialTrials, seededRandom(options.seed));
    // One-hot coordinates of different categories differ by 1 in two places; a longer prior
    // length scale there lets what was learned for one category inform the others.
    const categorical = 1.5;
    this.lengthScalePriors = this.encoder
      .blocks()
      .flatMap((b) =>
        b.spec.kind === 'categorical' ? b.spec.values.map(() => categorical) : [0.5],
      );
  }

  private readonly lengthScalePriors: number[];

  suggest(context: SuggestionContext, count: number): Config[] {
    const out: Config[] = [];
    let index = context.trialIndex;
    while (out.length < count && index < this.initialTrials) out.push(this.design[index++]!);
    if (out.length === count) return out;
    const usable = context.observations.filter((o) => Number.isFinite(o.loss));
    if (usable.length < 2) {
      while (out.length < count) out.push(sampleConfig(this.space, context.random));
      return out;
    }
    return [
      ...out,
      ...this.modelSuggestions(context, usable, [...context.pending, ...out], count - out.length),
    ];
  }

  private modelSuggestions(
    context: SuggestionContext,
    observations: readonly { config: Config; loss: number }[],
    pending: readonly Config[],
    count: number,
  ): Config[] {
    const { random } = context;
    const losses = observations.map((o) => o.loss);
    const worst = Math.max(...losses);
    // Failed trials count as the worst loss seen: the model steers away from them.
    const xs = [
      ...observations.map((o) => this.encoder.encode(o.config)),
      ...context.failed.map((c) => this.encoder.encode(c)),
    ];
    const ys = [...losses, ...context.failed.map(() => worst)];
    const { z } = GaussianProcess.standardize(ys);
    const hp = GaussianProcess.fitHyperparameters(xs, z, {
      random,
      warmStart: this.lastFit,
      restarts: xs.length > 40 ? 0 : 2,
      // From a warm start on a large history a short refinement is enough (latency budget).
      maxIterations: this.lastFit && xs.length > 40 ? 25 : 60,
      lengthScalePriors: this.lengthScalePriors,
    });
    this.lastFit = hp;
    // Above MAX_POSTERIOR_POINTS the posterior is conditioned on a subset (the best half and a
    // seeded random rest): the O(n³) factorisation then stays inside the latency budget.
    const [px, pz] = fitSubset(xs, z, MAX_POSTERIOR_POINTS, random);
    let gp = GaussianProcess.withHyperparameters(px, pz, hp);
    const zWorst = Math.max(...z);
    const zBest = Math.min(...z);
    const fantasize = (points: Float64Array[]) => {
      if (points.length === 0) return;
      const values =
        this.options.batchMode === 'constant-liar'
          ? points.map(() => zWorst)
          : this.options.batchMode === 'constant-liar-min'
            ? points.map(() => zBest)
            : Array.from(gp.predict(points).mean);
      gp = gp.withFantasies(points, values);
    };
    fantasize(pending.map((c) => this.encoder.encode(c)));
    const taken = new Set<string>([
      ...observations.map((o) => configKey(this.space, o.config)),
      ...pending.map((c) => configKey(this.space, c)),
      ...context.failed.map((c) => configKey(this.space, c)),
    ]);
    const out: Config[] = [];
    for (let k = 0; k < count; k++) {
      const x = this.maximizeAcquisition(gp, random, taken, observations);
      const config = this.encoder.decode(x);
      out.push(config);
      taken.add(configKey(this.space, config));
      fantasize([x]);
    }
    return out;
  }

  private maximizeAcquisition(
    gp: GaussianProcess,
    random: Random,
    taken: Set<string>,
    observations: readonly { config: Config; loss: number }[],
  ): Float64Array {
    const n = gp.x.length;
    const incumbent = Math.min(...gp.predict(gp.x as Float64Array[]).mean);
    const score = (points: Float64Array[]): Float64Array => {
      const { mean, variance } = gp.predict(points);
      return Float64Array.from(mean, (mu, i) =>
        logExpectedImprovement(incumbent, mu, Math.sqrt(variance[i]!)),
      );
    };
    const project = (x: Float64Array) => this.encoder.encode(this.encoder.decode(x));
    const nRandom = this.options.randomCandidates ?? (n > 60 ? 300 : 2000);
    const candidates = Array.from({ length: nRandom }, () =>
      this.encoder.encode(sampleConfig(this.space, random)),
    );
    const scores = score(candidates);
    const ranked = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!);
    // Local refinement from the best random candidates and the best observed points.
    const seeds = ranked
      .slice(0, n > 60 ? 3 : 5)
      .map((i) => ({ x: candidates[i]!, s: scores[i]! }));
    const bestObserved = [...observations].sort((a, b) => a.loss - b.loss).slice(0, n > 60 ? 2 : 3);
    const observedX = bestObserved.map((o) => this.encoder.encode(o.config));
    const observedScores = score(observedX);
    observedX.forEach((x, i) => seeds.push({ x, s: observedScores[i]! }));
    const blocks = this.encoder.blocks();
    for (const sd of [0.1, 0.03, 0.01, 0.003]) {
      for (let round = 0; round < (n > 60 ? 1 : 2); round++) {
        const neighbours: Float64Array[] = [];
        const owner: number[] = [];
        seeds.forEach((seed, si) => {
          for (let t = 0; t < (n > 60 ? 8 : 12); t++) {
            const y = Float64Array.from(seed.x);
            const one = t % 2 === 0 ? Math.floor(random.next() * blocks.length) : -1;
            blocks.forEach((b, bi) => {
              if (one >= 0 && bi !== one) return;
              if (b.spec.kind === 'categorical') {
                if (one >= 0 || random.next() < 1 / blocks.length) {
                  y.fill(0, b.offset, b.offset + b.spec.values.length);
                  y[b.offset + Math.floor(random.next() * b.spec.values.length)] = 1;
                }
              } else {
                y[b.offset] = Math.min(1, Math.max(0, y[b.offset]! + sd * gaussian(random)));
              }
            });
            neighbours.push(project(y));
            owner.push(si);
          }
        });
        const ns = score(neighbours);
        ns.forEach((s, i) => {
          const seed = seeds[owner[i]!]!;
          if (s > seed.s) {
            seed.s = s;
            seed.x = neighbours[i]!;
          }
        });
      }
    }
    const pool = [...seeds, ...ranked.map((i) => ({ x: candidates[i]!, s: scores[i]! }))].sort(
      (a, b) => b.s - a.s,
    );
    for (const c of pool) {
      if (!taken.has(configKey(this.space, this.encoder.decode(c.x)))) return c.x;
    }
    return pool[0]!.x;
  }
}

/** log EI for minimisation, stable far into the tail (where EI itself underflows to 0). */
export function logExpectedImprovement(best: number, mean: number, sd: number): number {
  if (sd < 1e-12) return best > mean ? Math.log(best - mean) : -1e9;
  const z = (best - mean) / sd;
  if (z > -6) {
    const ei = z * normalCdf(z) + normalPdf(z);
    return Math.log(Math.max(ei, 1e-300)) + Math.log(sd);
  }
  // Mills-ratio asymptotics: zΦ(z) + φ(z) ≈ φ(z)/z² · (1 − 3/z²).
  return (
    Math.log(sd) -
    0.5 * z * z -
    0.5 * Math.log(2 * Math.PI) -
    2 * Math.log(-z) +
    Math.log1p(-3 / (z * z))
  );
}

const normalPdf = (z: number) => Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);

/** Φ(z) via the complementary error function (Numerical Recipes `erfcc`, Chebyshev fit, |relative err| < 1.2e-7). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t *
                              (-1.13520398 +
                                t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}
