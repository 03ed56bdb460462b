/**
 * Hyperband with asynchronous successive halving inside each bracket (the form SageMaker and
 * Ray's AsyncHyperBand use, because a running training job cannot be paused and resumed later).
 *
 * Resource = epochs. Bracket s (s = sMax … 0) starts its trials with the promise of
 * r_s = maxResource · η^-s epochs and has rungs at r_s · η^k < maxResource. Every trial runs with
 * the full `epochs`; when it reports its objective at a rung it continues only if it is within the
 * best 1/η of all trials of its bracket that reached that rung so far, else it is stopped. Trials
 * are dealt to brackets in Hyperband's proportions (n_s = ⌈(sMax+1)/(s+1) · η^s⌉), most aggressive
 * first. Configurations are drawn by the Random strategy.
 *
 * Decisions are a pure function of the learning curves, so a resumed tuning job decides the same.
 */
export interface HyperbandConfig {
  readonly minResource: number;
  readonly maxResource: number;
  /** Reduction factor (default 3). */
  readonly eta?: number;
}

export interface Bracket {
  readonly index: number;
  /** Epochs every trial of this bracket is guaranteed. */
  readonly startResource: number;
  /** Epochs at which a trial of this bracket is judged (ascending, all < maxResource). */
  readonly rungs: readonly number[];
  /** Hyperband's n_s: how many trials this bracket receives per cycle. */
  readonly trialsPerCycle: number;
}

/** A trial's learning curve: `losses[e - 1]` is the objective (as a loss) reported after epoch e. */
export interface Curve {
  readonly bracket: number;
  readonly losses: readonly number[];
}

export type RungDecision =
  { readonly action: 'continue' } | { readonly action: 'stop'; readonly reason: string };

export class Hyperband {
  readonly eta: number;
  readonly brackets: readonly Bracket[];
  private readonly schedule: number[];

  constructor(readonly config: HyperbandConfig) {
    const { minResource, maxResource } = config;
    if (!(minResource >= 1) || !(maxResource >= minResource))
      throw new Error('need 1 <= minResource <= maxResource');
    this.eta = config.eta ?? 3;
    const sMax = Math.max(
      0,
      Math.floor(Math.log(maxResource / minResource) / Math.log(this.eta) + 1e-9),
    );
    const brackets: Bracket[] = [];
    for (let s = sMax; s >= 0; s--) {
      const start = Math.max(minResource, Math.round(maxResource * this.eta ** -s));
      const rungs: number[] = [];
      for (let r = start; r < maxResource; r = Math.round(r * this.eta)) rungs.push(r);
      brackets.push({
        index: s,
        startResource: start,
        rungs,
        trialsPerCycle: Math.ceil(((sMax + 1) / (s + 1)) * this.eta ** s),
      });
    }
    this.brackets = brackets;
    this.schedule = brackets.flatMap((b) =>
      Array.from({ length: b.trialsPerCycle }, () => b.index),
    );
  }

  /** The bracket of the `trialIndex`-th trial (0-based). */
  bracketFor(trialIndex: number): number {
    return this.schedule[trialIndex % this.schedule.length]!;
  }

  /**
   * Called when `trial` has just reported the epoch `trial.losses.length`. `others` are the curves
   * of every other trial of the tuning job (any bracket, any state).
   */
  decide(trial: Curve, others: readonly Curve[]): RungDecision {
    const epoch = trial.losses.length;
    const bracket = this.brackets.find((b) => b.index === trial.bracket);
    if (!bracket || !bracket.rungs.includes(epoch)) return { action: 'continue' };
    const loss = trial.losses[epoch - 1]!;
    const atRung = [loss];
    for (const o of others) {
      if (o.bracket === trial.bracket && o.losses.length >= epoch)
        atRung.push(o.losses[epoch - 1]!);
    }
    const cutoff = quantile(atRung, 1 / this.eta);
    if (loss <= cutoff) return { action: 'continue' };
    return {
      action: 'stop',
      reason: `Hyperband: objective at epoch ${epoch} was not in the best 1/${this.eta} of the ${atRung.length} trials of bracket ${trial.bracket} that reached it.`,
    };
  }
}

/** Linear-interpolation quantile (numpy's default), q in [0, 1]. */
export function quantile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}
