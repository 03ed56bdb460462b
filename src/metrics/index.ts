import type { Kysely } from 'kysely';
import type { Clock } from '../shared/clock.js';
import type { Db } from '../store/index.js';
import { AlarmEvaluator, AlarmRepository, type AlarmTables } from './alarms.js';
import { MetricStore, type MetricsTables } from './metric-store.js';
import type { AlarmState } from './alarm-eval.js';

export { metricsMigrations } from './migrations.js';
export { MetricStore, dimensionsKey } from './metric-store.js';
export type { MetricId, Aggregate } from './metric-store.js';
export { AlarmRepository, AlarmEvaluator, HISTORY_PER_ALARM } from './alarms.js';
export type { AlarmRecord, AlarmHistoryItem } from './alarms.js';
export {
  evaluateAlarm,
  statisticOf,
  AlarmState,
  Statistics,
  ComparisonOperators,
  TreatMissingDataValues,
} from './alarm-eval.js';
export type { AlarmRule, Statistic, ComparisonOperator, TreatMissingData } from './alarm-eval.js';

/** SageMaker's endpoint namespace. */
export const SAGEMAKER_NAMESPACE = 'AWS/SageMaker';

/** One finished invocation, as the serving runtime reports it. */
export interface InvocationOutcome {
  readonly endpoint: string;
  readonly variant: string;
  /** HTTP status of the answer (200 for a success). */
  readonly status: number;
  /** Microseconds, for answered invocations. */
  readonly modelLatencyUs?: number;
  readonly overheadLatencyUs?: number;
}

/** What the metrics context needs: the database, a clock, and its flush/retention settings. */
export interface MetricsOptions {
  readonly db: Db;
  readonly clock: Clock;
  readonly replicaId: string;
  readonly arnOf: (alarmName: string) => string;
  /** How often this replica writes its buffered minutes (APIARY_METRICS_FLUSH_MS). */
  readonly flushIntervalMs: number;
  /** How often alarms are evaluated (APIARY_ALARM_EVALUATION_MS). */
  readonly evaluationIntervalMs: number;
  /** How long datapoints are kept (APIARY_METRICS_RETENTION_HOURS). */
  readonly retentionMs: number;
  readonly log?: (msg: string) => void;
}

/**
 * The CloudWatch context: per-minute datapoints every replica writes, alarms one replica
 * evaluates. Hosting reports invocations through {@link recordInvocation}; deployments read alarm
 * states through {@link alarmStates}.
 */
export class Metrics {
  readonly store: MetricStore;
  readonly alarms: AlarmRepository;
  readonly evaluator: AlarmEvaluator;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(private readonly opts: MetricsOptions) {
    const db = opts.db.withTables<MetricsTables & AlarmTables>();
    this.store = new MetricStore({
      db: db as unknown as Kysely<MetricsTables>,
      clock: opts.clock,
      replicaId: opts.replicaId,
      retentionMs: opts.retentionMs,
    });
    this.alarms = new AlarmRepository(db as unknown as Kysely<AlarmTables>, opts.clock, opts.arnOf);
    this.evaluator = new AlarmEvaluator(
      this.alarms,
      this.store,
      opts.clock,
      opts.evaluationIntervalMs,
      opts.log,
    );
  }

  /**
   * SageMaker's per-variant metrics for one invocation: Invocations (answered ones), the 4XX/5XX
   * error counts (0 or 1 each, so Average is an error rate), ModelLatency and OverheadLatency (µs).
   */
  recordInvocation(o: InvocationOutcome): void {
    const dimensions = { EndpointName: o.endpoint, VariantName: o.variant };
    const put = (metricName: string, value: number) =>
      this.store.record({ namespace: SAGEMAKER_NAMESPACE, metricName, dimensions }, value);
    put('Invocations', 1);
    put('Invocation4XXErrors', o.status >= 400 && o.status < 500 ? 1 : 0);
    put('Invocation5XXErrors', o.status >= 500 || o.status === 0 ? 1 : 0);
    if (o.modelLatencyUs !== undefined) put('ModelLatency', o.modelLatencyUs);
    if (o.overheadLatencyUs !== undefined) put('OverheadLatency', o.overheadLatencyUs);
  }

  /** The current state of each named alarm that exists. */
  async alarmStates(
    names: readonly string[],
  ): Promise<Map<string, { state: AlarmState; reason: string }>> {
    const out = new Map<string, { state: AlarmState; reason: string }>();
    if (names.length === 0) return out;
    for (const a of await this.alarms.list({ names }))
      out.set(a.name, { state: a.state, reason: a.stateReason });
    return out;
  }

  /** Starts this replica's periodic flush. (The evaluator is started by whoever holds its lease.) */
  start(): void {
    if (this.flushTimer) return;
    const loop = () => {
      this.flushing = this.store
        .flush()
        .catch((e: unknown) => this.opts.log?.(`metric flush failed: ${(e as Error).message}`))
        .finally(() => {
          this.flushing = undefined;
          if (this.flushTimer) this.flushTimer = setTimeout(loop, this.opts.flushIntervalMs);
        });
    };
    this.flushTimer = setTimeout(loop, this.opts.flushIntervalMs);
  }

  /** Stops the timers and writes what is buffered (nothing counted is lost at a clean shutdown). */
  async close(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.flushing;
    await this.evaluator.stop();
    await this.store.flush().catch(() => {});
  }
}
