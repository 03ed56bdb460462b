import type { Kysely } from 'kysely';
import type { Clock } from '../shared/clock.js';

/** One metric's identity: namespace, name and dimensions (order does not matter). */
export interface MetricId {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
}

/** What a period holds: CloudWatch's statistic set. */
export interface Aggregate {
  readonly sampleCount: number;
  readonly sum: number;
  readonly minimum: number;
  readonly maximum: number;
}

export type MetricsTables = {
  metric_datapoints: {
    namespace: string;
    metric_name: string;
    dimensions: string;
    minute_ms: number;
    replica: string;
    sample_count: number;
    sum: number;
    minimum: number;
    maximum: number;
  };
};

const MINUTE_MS = 60_000;

/** The canonical dimensions key: `[[name, value], …]` sorted by name, as JSON. */
export const dimensionsKey = (d: Readonly<Record<string, string>>): string =>
  JSON.stringify(Object.entries(d).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

const dimensionsOf = (key: string): Record<string, string> =>
  Object.fromEntries(JSON.parse(key) as [string, string][]);

const merge = (a: Aggregate | undefined, b: Aggregate): Aggregate =>
  a
    ? {
        sampleCount: a.sampleCount + b.sampleCount,
        sum: a.sum + b.sum,
        minimum: Math.min(a.minimum, b.minimum),
        maximum: Math.max(a.maximum, b.maximum),
      }
    : b;

export interface MetricStoreOptions {
  readonly db: Kysely<MetricsTables>;
  readonly clock: Clock;
  /** This replica's id: each replica writes its own rows, reads sum over them. */
  readonly replicaId: string;
  /** Datapoints older than this are deleted by {@link MetricStore.prune}. */
  readonly retentionMs: number;
  /** Series buffered between flushes beyond this are dropped (bounded memory). Default 10,000. */
  readonly maxBufferedSeries?: number;
}

/**
 * CloudWatch's metric store: values are aggregated in memory per minute and series, and flushed
 * as one row per (series, minute, replica); reads add the replicas' rows up. One-minute
 * resolution, as SageMaker's endpoint metrics have.
 */
export class MetricStore {
  private buffer = new Map<
    string,
    { id: MetricId; dimsKey: string; minuteMs: number; agg: Aggregate }
  >();
  private dropped = 0;
  /** The flush in progress (or the last one): flushes run one after another, never at once. */
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly opts: MetricStoreOptions) {}

  /** Adds one value to the current minute of a series. Cheap: no I/O on the request path. */
  record(id: MetricId, value: number): void {
    const minuteMs = Math.floor(this.opts.clock.nowMs() / MINUTE_MS) * MINUTE_MS;
    const dimsKey = dimensionsKey(id.dimensions);
    const key = `${id.namespace}\0${id.metricName}\0${dimsKey}\0${minuteMs}`;
    const cur = this.buffer.get(key);
    if (!cur && this.buffer.size >= (this.opts.maxBufferedSeries ?? 10_000)) {
      this.dropped++;
      return;
    }
    const one = { sampleCount: 1, sum: value, minimum: value, maximum: value };
    if (cur) cur.agg = merge(cur.agg, one);
    else this.buffer.set(key, { id, dimsKey, minuteMs, agg: one });
  }

  /** Values dropped because the buffer was full (reported in the server log by the caller). */
  get droppedValues(): number {
    return this.dropped;
  }

  /**
   * Writes the buffered minutes (each replica's row holds its running totals for the minute, so
   * a write replaces it); minutes that are over are then forgotten. Flushes run one at a time:
   * the periodic one and PutMetricData's own could otherwise write the same row at once on two
   * pooled connections (PostgreSQL), the older totals landing last — final for a minute that is
   * over. A flush asked for during another starts after it and writes what is buffered then.
   */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.flushOnce());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async flushOnce(): Promise<void> {
    const entries = [...this.buffer.entries()];
    if (entries.length === 0) return;
    const currentMinute = Math.floor(this.opts.clock.nowMs() / MINUTE_MS) * MINUTE_MS;
    for (const [key, e] of entries) {
      const row = {
        namespace: e.id.namespace,
        metric_name: e.id.metricName,
        dimensions: e.dimsKey,
        minute_ms: e.minuteMs,
        replica: this.opts.replicaId,
        sample_count: e.agg.sampleCount,
        sum: e.agg.sum,
        minimum: e.agg.minimum,
        maximum: e.agg.maximum,
      };
      await this.opts.db
        .insertInto('metric_datapoints')
        .values(row)
        .onConflict((oc) =>
          oc
            .columns(['namespace', 'metric_name', 'dimensions', 'minute_ms', 'replica'])
            .doUpdateSet({
              sample_count: row.sample_count,
              sum: row.sum,
              minimum: row.minimum,
              maximum: row.maximum,
            }),
        )
        .execute();
      // A minute that is over gets no more values: its row is final.
      if (e.minuteMs < currentMinute && this.buffer.get(key) === e) this.buffer.delete(key);
    }
  }

  /**
   * The aggregate of each period in [startMs, endMs) that has data, keyed by the period's start
   * (periods are aligned to multiples of `periodSeconds` since the epoch, as CloudWatch's).
   */
  async query(
    id: MetricId,
    startMs: number,
    endMs: number,
    periodSeconds: number,
  ): Promise<Map<number, Aggregate>> {
    const periodMs = Math.max(MINUTE_MS, periodSeconds * 1000);
    const rows = await this.opts.db
      .selectFrom('metric_datapoints')
      .select(['minute_ms', 'sample_count', 'sum', 'minimum', 'maximum'])
      .where('namespace', '=', id.namespace)
      .where('metric_name', '=', id.metricName)
      .where('dimensions', '=', dimensionsKey(id.dimensions))
      .where('minute_ms', '>=', Math.floor(startMs / MINUTE_MS) * MINUTE_MS)
      .where('minute_ms', '<', endMs)
      .execute();
    const out = new Map<number, Aggregate>();
    for (const r of rows) {
      const bucket = Math.floor(Number(r.minute_ms) / periodMs) * periodMs;
      if (bucket + periodMs <= startMs) continue;
      out.set(
        bucket,
        merge(out.get(bucket), {
          sampleCount: Number(r.sample_count),
          sum: Number(r.sum),
          minimum: Number(r.minimum),
          maximum: Number(r.maximum),
        }),
      );
    }
    return out;
  }

  /** The series with data since `sinceMs`, optionally filtered (ListMetrics). Sorted, distinct. */
  async list(
    filter: {
      namespace?: string;
      metricName?: string;
      dimensions?: readonly { name: string; value?: string }[];
    },
    sinceMs: number,
  ): Promise<MetricId[]> {
    let q = this.opts.db
      .selectFrom('metric_datapoints')
      .select(['namespace', 'metric_name', 'dimensions'])
      .distinct()
      .where('minute_ms', '>=', sinceMs);
    if (filter.namespace !== undefined) q = q.where('namespace', '=', filter.namespace);
    if (filter.metricName !== undefined) q = q.where('metric_name', '=', filter.metricName);
    const rows = await q
      .orderBy('namespace')
      .orderBy('metric_name')
      .orderBy('dimensions')
      .execute();
    return rows
      .map((r) => ({
        namespace: r.namespace,
        metricName: r.metric_name,
        dimensions: dimensionsOf(r.dimensions),
      }))
      .filter((m) =>
        (filter.dimensions ?? []).every(
          (d) =>
            d.name in m.dimensions && (d.value === undefined || m.dimensions[d.name] === d.value),
        ),
      );
  }

  /** Deletes datapoints older than the retention. @returns rows deleted. */
  async prune(): Promise<number> {
    const r = await this.opts.db
      .deleteFrom('metric_datapoints')
      .where('minute_ms', '<', this.opts.clock.nowMs() - this.opts.retentionMs)
      .executeTakeFirst();
    return Number(r.numDeletedRows ?? 0);
  }
}
