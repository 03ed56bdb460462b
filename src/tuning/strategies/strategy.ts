import type { Random } from '../../shared/index.js';
import type { Config, ParameterSpec } from '../space.js';

/** A finished trial with an objective, expressed as a loss (lower is better). */
export interface Observation {
  readonly config: Config;
  readonly loss: number;
}

/** What a strategy sees when asked for new configurations. */
export interface SuggestionContext {
  /** Finished trials that produced an objective value. */
  readonly observations: readonly Observation[];
  /** Trials launched but not finished (the Bayesian strategy fantasizes their outcome). */
  readonly pending: readonly Config[];
  /** Trials that ended without an objective (never suggested again by Grid; penalised by Bayesian). */
  readonly failed: readonly Config[];
  /**
   * Index of the first trial being suggested (0-based over the whole tuning job). Strategies use it,
   * not hidden state, so a resumed tuning job makes the same choices.
   */
  readonly trialIndex: number;
  /** A seeded source for this call only. */
  readonly random: Random;
}

/**
 * A search strategy proposes configurations. Implementations are pure with respect to the context:
 * the same context (including the random source) gives the same suggestions.
 */
export interface SearchStrategy {
  readonly name: string;
  /** Up to `count` new configurations; fewer (possibly none) when the space is exhausted. */
  suggest(context: SuggestionContext, count: number): Config[];
}

export type SearchSpace = readonly ParameterSpec[];
