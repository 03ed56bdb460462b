import { sampleConfig } from '../space.js';
import type { SearchSpace, SearchStrategy, SuggestionContext } from './strategy.js';
import type { Config } from '../space.js';

/** Independent uniform samples in the warped space. Parallelism never hurts it. */
export class RandomSearch implements SearchStrategy {
  readonly name = 'Random';
  constructor(private readonly space: SearchSpace) {}

  suggest(context: SuggestionContext, count: number): Config[] {
    return Array.from({ length: count }, () => sampleConfig(this.space, context.random));
  }
}
