import type { ActiveLearningLoop } from './active-learning/loop.js';
import type { Completion } from './completion.js';
import type { LabelingContext } from './context.js';
import type { Initializer } from './initializer.js';
import type { TaskQueue } from './task-queue.js';

/**
 * The background tick: initializes new jobs, finishes stopping ones, and for running ones expires
 * claims, closes slots past their lifetime and completes what is done. One pass at a time: a tick
 * asked for while one runs joins it.
 */
export class BackgroundWork {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly ctx: LabelingContext,
    private readonly parts: {
      readonly initializer: Initializer;
      readonly completion: Completion;
      readonly queue: TaskQueue;
      readonly loop: ActiveLearningLoop;
    },
  ) {}

  /** Starts the timer (`tickMs`, default 1000 ms; 0 = none) and runs a first pass. */
  start(): void {
    const period = this.ctx.deps.tickMs ?? 1000;
    if (period > 0 && !this.timer) {
      this.timer = setInterval(() => void this.tick(), period);
      this.timer.unref();
    }
    void this.tick();
  }

  /** Stops the timer and waits for a running pass. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  /** One pass of background work; a failure goes to `onError`, never to the caller. */
  tick(): Promise<void> {
    if (this.ticking) return this.ticking;
    this.ticking = this.runTick()
      .catch((err) => this.ctx.deps.onError?.(err))
      .finally(() => {
        this.ticking = undefined;
      });
    return this.ticking;
  }

  private async runTick(): Promise<void> {
    const { initializer, completion, queue, loop } = this.parts;
    const jobs = await this.ctx.repo.jobsInStatus(['Initializing', 'InProgress', 'Stopping']);
    for (const j of jobs) {
      if (j.status === 'Initializing') await initializer.initialize(j.name);
      else if (j.status === 'Stopping') await completion.finalize(j.name, 'Stopping', 'Stopped');
      else {
        await queue.expireClaims(j.name);
        await queue.closeUnavailable(j.name);
        // Automated data labeling: one idempotent step of the job's active-learning round.
        await loop.step(j.name);
        await completion.maybeComplete(j.name);
      }
    }
  }
}
