import { IsolatedMetricExtractor } from './metric-worker.js';
import type { MetricPoint } from './metrics.js';
import type { MetricDefinition } from './spec.js';
import type { FinalMetric, TrainingJobRepository } from './repository.js';

/** At most this many points of one metric are kept per job (the final value is always kept). */
const MAX_POINTS_PER_METRIC = 10_000;

/**
 * A training job's metrics: the MetricDefinitions regexes run on its log lines off the main
 * thread ({@link IsolatedMetricExtractor}); points are numbered per metric (continuing after a
 * restart), saved in batches, and the latest value of each becomes the job's FinalMetricDataList.
 */
export class JobMetrics {
  private extractor: IsolatedMetricExtractor | undefined;
  private readonly seq = new Map<string, number>();
  private pending: { metricName: string; seq: number; timestampMs: number; value: number }[] = [];
  private readonly finals = new Map<string, FinalMetric>();
  private dirty = false;
  private closed = false;

  constructor(
    private readonly jobName: string,
    private readonly repo: Pick<TrainingJobRepository, 'metricCounts' | 'addMetricPoints'>,
    initial: readonly FinalMetric[],
    private readonly on: {
      /** Each point as it is read (live charts). */
      point(p: MetricPoint): void;
      /** A regex was dropped (it ran too long on a line): said in the job's log. */
      dropped(metricName: string, reason: string): void;
      warn(message: string, err?: unknown): void;
    },
  ) {
    for (const m of initial) this.finals.set(m.metricName, m);
  }

  /** Starts evaluating `defs` on the lines {@link push} gives (again after a restart). */
  start(defs: readonly MetricDefinition[]): void {
    this.extractor?.close();
    this.extractor = new IsolatedMetricExtractor(
      defs,
      (points) => this.onPoints(points),
      (name, reason) => this.on.dropped(name, reason),
    );
    void this.repo.metricCounts(this.jobName).then((counts) => {
      for (const [k, v] of Object.entries(counts)) if (!this.seq.has(k)) this.seq.set(k, v);
    });
  }

  push(message: string, timestampMs: number): void {
    this.extractor?.push(message, timestampMs);
  }

  /** Waits until every line pushed so far has been evaluated. */
  async drain(): Promise<void> {
    await this.extractor?.drain();
  }

  /**
   * Saves the points read since the last flush.
   * @returns the final metrics when they changed (the caller writes them to the job's row).
   */
  async flush(): Promise<FinalMetric[] | undefined> {
    await this.extractor?.drain();
    const points = this.pending;
    this.pending = [];
    if (points.length)
      await this.repo
        .addMetricPoints(this.jobName, points)
        .catch((e) => this.on.warn('cannot save metrics', e));
    if (!this.dirty) return undefined;
    this.dirty = false;
    return [...this.finals.values()];
  }

  close(): void {
    this.closed = true;
    this.extractor?.close();
  }

  private onPoints(points: readonly MetricPoint[]): void {
    if (this.closed) return;
    for (const p of points) {
      const seq = this.seq.get(p.metricName) ?? 0;
      this.seq.set(p.metricName, seq + 1);
      if (seq < MAX_POINTS_PER_METRIC) this.pending.push({ ...p, seq });
      this.finals.set(p.metricName, p);
      this.dirty = true;
      this.on.point(p);
    }
  }
}
