import { configKey, gridSize } from '../space.js';
import type { Config, ParameterValue } from '../space.js';
import type { SearchSpace, SearchStrategy, SuggestionContext } from './strategy.js';

/**
 * Every distinct combination of the categorical values exactly once, in lexicographic order of
 * the ranges as given. Combinations already launched (finished, running or failed) are skipped.
 */
export class GridSearch implements SearchStrategy {
  readonly name = 'Grid';
  readonly size: number;
  constructor(private readonly space: SearchSpace) {
    this.size = gridSize(space);
  }

  /** The `index`-th combination (last range varies fastest). */
  combination(index: number): Config {
    const out: Record<string, ParameterValue> = {};
    let rest = index;
    for (let i = this.space.length - 1; i >= 0; i--) {
      const spec = this.space[i]!;
      if (spec.kind !== 'categorical') throw new Error('grid needs categorical parameters only');
      out[spec.name] = spec.values[rest % spec.values.length]!;
      rest = Math.floor(rest / spec.values.length);
    }
    return out;
  }

  suggest(context: SuggestionContext, count: number): Config[] {
    const used = new Set<string>();
    for (const o of context.observations) used.add(configKey(this.space, o.config));
    for (const c of context.pending) used.add(configKey(this.space, c));
    for (const c of context.failed) used.add(configKey(this.space, c));
    const out: Config[] = [];
    for (let i = 0; i < this.size && out.length < count; i++) {
      const c = this.combination(i);
      if (!used.has(configKey(this.space, c))) out.push(c);
    }
    return out;
  }
}
