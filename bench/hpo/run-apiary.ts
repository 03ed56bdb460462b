import { seededRandom } from '../../src/shared/index.js';
import type { Config } from '../../src/tuning/space.js';
import { BayesianSearch } from '../../src/tuning/strategies/bayesian.js';
import { RandomSearch } from '../../src/tuning/strategies/random.js';
import type { Observation, SearchStrategy } from '../../src/tuning/strategies/strategy.js';
import type { Problem } from './problems.js';

/** Runs `trials` trials in synchronous batches of `parallel`; returns the simple regret. */
export function runStrategy(
  problem: Problem,
  make: (seed: number) => SearchStrategy,
  seed: number,
  trials: number,
  parallel: number,
): { regret: number; suggestMs: number[] } {
  const strategy = make(seed);
  const noise = seededRandom(seed * 7919 + 17);
  const observations: Observation[] = [];
  const suggestMs: number[] = [];
  let best: { config: Config; observed: number } | undefined;
  for (let round = 0; observations.length < trials; round++) {
    const count = Math.min(parallel, trials - observations.length);
    const t0 = performance.now();
    const configs = strategy.suggest(
      {
        observations,
        pending: [],
        failed: [],
        trialIndex: observations.length,
        random: seededRandom(seed * 100_003 + round),
      },
      count,
    );
    suggestMs.push(performance.now() - t0);
    for (const config of configs) {
      const observed = problem.observe(config, noise);
      observations.push({ config, loss: observed });
      if (!best || observed < best.observed) best = { config, observed };
    }
  }
  return { regret: problem.f(best!.config) - problem.optimum, suggestMs };
}

export const apiaryBayesian = (problem: Problem) => (seed: number) =>
  new BayesianSearch(problem.space, { seed });
export const apiaryRandom = (problem: Problem) => (_seed: number) =>
  new RandomSearch(problem.space);
