import { seededRandom } from '../shared/index.js';
import { medianStoppingRule } from './early-stopping.js';
import type { TrialRecord, TuningJobRecord } from './model.js';
import { isTrialTerminal, lossOf } from './progress.js';
import type { TuningRepository } from './repository.js';
import { parseValue } from './space.js';
import type { Config, ParameterValue } from './space.js';
import { BayesianSearch } from './strategies/bayesian.js';
import { GridSearch } from './strategies/grid.js';
import { Hyperband } from './strategies/hyperband.js';
import { RandomSearch } from './strategies/random.js';
import type { Observation, SearchStrategy } from './strategies/strategy.js';

/**
 * The search side of the tuner: one strategy per tuning job (rebuilt from the database after a
 * restart), the next configurations to try, warm-start observations, and early stopping.
 */
export class SearchPlanner {
  private readonly strategies = new Map<
    string,
    { strategy: SearchStrategy; hyperband: Hyperband | undefined }
  >();
  private readonly warmObservations = new Map<string, Observation[]>();

  constructor(private readonly repo: TuningRepository) {}

  /** Drops what is kept for a job that ended. */
  forget(jobName: string): void {
    this.strategies.delete(jobName.toLowerCase());
  }

  /** Early stopping (median rule) or Hyperband's rung decision for a trial that just reported. */
  stopDecision(
    job: TuningJobRecord,
    trial: TrialRecord,
    trials: readonly TrialRecord[],
  ): string | undefined {
    const { config } = job;
    const losses = trial.curve.map((v) => lossOf(config, v));
    if (config.strategy === 'Hyperband' && trial.bracket !== undefined) {
      const hb = this.strategyFor(job).hyperband!;
      const others = trials
        .filter((t) => t.index !== trial.index && t.bracket !== undefined)
        .map((t) => ({ bracket: t.bracket!, losses: t.curve.map((v) => lossOf(config, v)) }));
      const d = hb.decide({ bracket: trial.bracket, losses }, others);
      return d.action === 'stop' ? d.reason : undefined;
    }
    if (config.earlyStopping === 'Auto') {
      const previous = trials
        .filter((t) => t.index < trial.index)
        .map((t) => t.curve.map((v) => lossOf(config, v)));
      const d = medianStoppingRule(losses, previous);
      return d.stop ? d.reason : undefined;
    }
    return undefined;
  }

  strategyFor(job: TuningJobRecord): {
    strategy: SearchStrategy;
    hyperband: Hyperband | undefined;
  } {
    const key = job.name.toLowerCase();
    let s = this.strategies.get(key);
    if (!s) {
      const { config } = job;
      const strategy =
        config.strategy === 'Bayesian'
          ? new BayesianSearch(config.space, { seed: config.randomSeed })
          : config.strategy === 'Grid'
            ? new GridSearch(config.space)
            : new RandomSearch(config.space);
      s = {
        strategy,
        hyperband: config.hyperband ? new Hyperband({ ...config.hyperband, eta: 3 }) : undefined,
      };
      this.strategies.set(key, s);
    }
    return s;
  }

  /** Up to `count` new configurations, seeded by the job's seed and trial index (reproducible). */
  suggest(job: TuningJobRecord, trials: readonly TrialRecord[], count: number): Config[] {
    const { config } = job;
    const { strategy } = this.strategyFor(job);
    const observations: Observation[] = [];
    const pending: Config[] = [];
    const failed: Config[] = [];
    for (const t of trials) {
      if (t.objectiveStatus === 'Succeeded' && t.objectiveValue !== undefined)
        observations.push({ config: t.config, loss: lossOf(config, t.objectiveValue) });
      else if (!isTrialTerminal(t)) pending.push(t.config);
      else failed.push(t.config);
    }
    const primary = trials.filter((t) => t.retryOf === undefined).length;
    const warm = this.warmObservations.get(job.name.toLowerCase()) ?? [];
    const trialIndex = primary + warm.length;
    return strategy.suggest(
      {
        observations: [...warm, ...observations],
        pending,
        failed,
        trialIndex,
        random: seededRandom((config.randomSeed * 2654435761 + trialIndex * 40503) >>> 0),
      },
      count,
    );
  }

  /** Loads the parents' finished trials as observations (warm start), once per process. */
  async loadWarmStart(job: TuningJobRecord): Promise<void> {
    const key = job.name.toLowerCase();
    if (!job.config.warmStart || this.warmObservations.has(key)) return;
    const obs: Observation[] = [];
    for (const parentName of job.config.warmStart.parents) {
      const parent = await this.repo.find(parentName);
      if (!parent) continue;
      for (const t of await this.repo.trials(parent.name)) {
        if (t.objectiveStatus !== 'Succeeded' || t.objectiveValue === undefined) continue;
        const c: Record<string, ParameterValue> = {};
        let ok = true;
        for (const spec of job.config.space) {
          const text = t.tunedHyperParameters[spec.name];
          const v = text === undefined ? undefined : parseValue(spec, text);
          if (v === undefined) ok = false;
          else c[spec.name] = v;
        }
        if (ok) obs.push({ config: c, loss: lossOf(job.config, t.objectiveValue) });
      }
    }
    this.warmObservations.set(key, obs);
  }
}
