import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../shared/clock.js';
import { evaluateAlarm, type AlarmRule, type AlarmState } from './alarm-eval.js';
import type { MetricStore } from './metric-store.js';

/** An alarm as stored: its rule, what PutMetricAlarm said besides, and its state. */
export interface AlarmRecord {
  readonly name: string;
  readonly arn: string;
  readonly rule: AlarmRule;
  /** The other PutMetricAlarm fields, echoed by DescribeAlarms (AlarmDescription, actions…). */
  readonly extra: Readonly<Record<string, unknown>>;
  readonly state: AlarmState;
  readonly stateReason: string;
  readonly stateReasonData: string | undefined;
  readonly stateUpdatedMs: number;
  readonly configurationUpdatedMs: number;
}

/** One entry of an alarm's history (a state change or a configuration update), newest kept. */
export interface AlarmHistoryItem {
  readonly alarmName: string;
  readonly timestampMs: number;
  readonly itemType: 'ConfigurationUpdate' | 'StateUpdate' | 'Action';
  readonly summary: string;
  readonly data: string;
}

export type AlarmTables = {
  metric_alarms: {
    name: string;
    arn: string;
    definition: string;
    state: string;
    state_reason: string;
    state_reason_data: string | null;
    state_updated_ms: number;
    configuration_updated_ms: number;
  };
  metric_alarm_history: {
    id: string;
    alarm_name: string;
    timestamp_ms: number;
    item_type: string;
    summary: string;
    data: string;
  };
};

type AlarmRow = AlarmTables['metric_alarms'];

const toRecord = (r: AlarmRow): AlarmRecord => {
  const def = JSON.parse(r.definition) as { rule: AlarmRule; extra: Record<string, unknown> };
  return {
    name: r.name,
    arn: r.arn,
    rule: def.rule,
    extra: def.extra,
    state: r.state as AlarmState,
    stateReason: r.state_reason,
    stateReasonData: r.state_reason_data ?? undefined,
    stateUpdatedMs: Number(r.state_updated_ms),
    configurationUpdatedMs: Number(r.configuration_updated_ms),
  };
};

/** History items kept per alarm (older ones are pruned), as CloudWatch bounds its history. */
export const HISTORY_PER_ALARM = 200;

/** Alarms and their state history in the database. */
export class AlarmRepository {
  constructor(
    private readonly db: Kysely<AlarmTables>,
    private readonly clock: Clock,
    private readonly arnOf: (name: string) => string,
  ) {}

  /** Creates or replaces an alarm; a new one starts INSUFFICIENT_DATA, a replaced one keeps its state. */
  async put(name: string, rule: AlarmRule, extra: Record<string, unknown>): Promise<AlarmRecord> {
    const now = this.clock.nowMs();
    const existing = await this.find(name);
    const definition = JSON.stringify({ rule, extra });
    if (existing) {
      await this.db
        .updateTable('metric_alarms')
        .set({ definition, configuration_updated_ms: now })
        .where('name', '=', name)
        .execute();
      await this.addHistory(name, 'ConfigurationUpdate', `Alarm "${name}" updated`, {
        type: 'Update',
        version: '1.0',
      });
    } else {
      await this.db
        .insertInto('metric_alarms')
        .values({
          name,
          arn: this.arnOf(name),
          definition,
          state: 'INSUFFICIENT_DATA',
          state_reason: 'Unchecked: Initial alarm creation',
          state_reason_data: null,
          state_updated_ms: now,
          configuration_updated_ms: now,
        })
        .onConflict((oc) =>
          oc.column('name').doUpdateSet({ definition, configuration_updated_ms: now }),
        )
        .execute();
      await this.addHistory(name, 'ConfigurationUpdate', `Alarm "${name}" created`, {
        type: 'Create',
        version: '1.0',
      });
    }
    return (await this.find(name))!;
  }

  async find(name: string): Promise<AlarmRecord | undefined> {
    const r = await this.db
      .selectFrom('metric_alarms')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return r ? toRecord(r) : undefined;
  }

  /** Alarms by name, by prefix, or all; sorted by name. */
  async list(
    filter: { names?: readonly string[]; prefix?: string; state?: AlarmState } = {},
  ): Promise<AlarmRecord[]> {
    let q = this.db.selectFrom('metric_alarms').selectAll();
    if (filter.names && filter.names.length > 0) q = q.where('name', 'in', [...filter.names]);
    if (filter.state) q = q.where('state', '=', filter.state);
    const rows = await q.orderBy('name').execute();
    return rows
      .map(toRecord)
      .filter((a) => filter.prefix === undefined || a.name.startsWith(filter.prefix));
  }

  /** Deletes alarms (unknown names are ignored, as CloudWatch does for a batch that all exist). */
  async delete(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    await this.db
      .deleteFrom('metric_alarms')
      .where('name', 'in', [...names])
      .execute();
    await this.db
      .deleteFrom('metric_alarm_history')
      .where('alarm_name', 'in', [...names])
      .execute();
  }

  /**
   * Changes the state (and notes it in the history) when it differs, or always when `force`
   * (SetAlarmState). A state change compares-and-sets on the old state, so two evaluators cannot
   * both record the same transition.
   */
  async setState(
    name: string,
    state: AlarmState,
    reason: string,
    reasonData?: string,
    force = false,
  ): Promise<boolean> {
    const cur = await this.find(name);
    if (!cur || (cur.state === state && !force)) return false;
    const now = this.clock.nowMs();
    const r = await this.db
      .updateTable('metric_alarms')
      .set({
        state,
        state_reason: reason,
        state_reason_data: reasonData ?? null,
        state_updated_ms: now,
      })
      .where('name', '=', name)
      .where('state', '=', cur.state)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows ?? 0) === 0) return false;
    await this.addHistory(name, 'StateUpdate', `Alarm updated from ${cur.state} to ${state}`, {
      version: '1.0',
      oldState: { stateValue: cur.state, stateReason: cur.stateReason },
      newState: {
        stateValue: state,
        stateReason: reason,
        ...(reasonData ? { stateReasonData: JSON.parse(reasonData) as unknown } : {}),
      },
    });
    return true;
  }

  private async addHistory(
    name: string,
    itemType: AlarmHistoryItem['itemType'],
    summary: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    await this.db
      .insertInto('metric_alarm_history')
      .values({
        id: randomUUID(),
        alarm_name: name,
        timestamp_ms: this.clock.nowMs(),
        item_type: itemType,
        summary,
        data: JSON.stringify(data),
      })
      .execute();
  }

  /** History items, newest first (or oldest first), filtered, at most `max`. */
  async history(filter: {
    name?: string;
    type?: string;
    startMs?: number;
    endMs?: number;
    max: number;
    oldestFirst?: boolean;
  }): Promise<AlarmHistoryItem[]> {
    let q = this.db.selectFrom('metric_alarm_history').selectAll();
    if (filter.name !== undefined) q = q.where('alarm_name', '=', filter.name);
    if (filter.type !== undefined) q = q.where('item_type', '=', filter.type);
    if (filter.startMs !== undefined) q = q.where('timestamp_ms', '>=', filter.startMs);
    if (filter.endMs !== undefined) q = q.where('timestamp_ms', '<', filter.endMs);
    const rows = await q
      .orderBy('timestamp_ms', filter.oldestFirst ? 'asc' : 'desc')
      .limit(filter.max)
      .execute();
    return rows.map((r) => ({
      alarmName: r.alarm_name,
      timestampMs: Number(r.timestamp_ms),
      itemType: r.item_type as AlarmHistoryItem['itemType'],
      summary: r.summary,
      data: r.data,
    }));
  }

  /** Keeps the newest {@link HISTORY_PER_ALARM} items of each alarm. */
  async pruneHistory(): Promise<void> {
    for (const a of await this.db.selectFrom('metric_alarms').select('name').execute()) {
      const cutoff = await this.db
        .selectFrom('metric_alarm_history')
        .select('timestamp_ms')
        .where('alarm_name', '=', a.name)
        .orderBy('timestamp_ms', 'desc')
        .offset(HISTORY_PER_ALARM)
        .limit(1)
        .executeTakeFirst();
      if (cutoff) {
        await this.db
          .deleteFrom('metric_alarm_history')
          .where('alarm_name', '=', a.name)
          .where('timestamp_ms', '<=', Number(cutoff.timestamp_ms))
          .execute();
      }
    }
  }
}

/**
 * Evaluates every alarm against the metric store. Runs on one replica of a cluster (the caller
 * holds a Coordinator lease); {@link tick} is one pass and is what tests call.
 */
export class AlarmEvaluator {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private ticks = 0;

  constructor(
    private readonly alarms: AlarmRepository,
    private readonly metrics: MetricStore,
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  /** One evaluation of every alarm; every 100th pass also prunes old datapoints and history. */
  async tick(): Promise<void> {
    const now = this.clock.nowMs();
    for (const a of await this.alarms.list()) {
      const periodMs = Math.max(60, a.rule.periodSeconds) * 1000;
      const buckets = await this.metrics.query(
        a.rule,
        now - (a.rule.evaluationPeriods + 1) * periodMs,
        now + periodMs,
        a.rule.periodSeconds,
      );
      const e = evaluateAlarm(a.rule, now, buckets, a.state);
      if (e.state !== a.state) {
        const data = JSON.stringify({
          version: '1.0',
          queryDate: new Date(now).toISOString(),
          statistic: a.rule.statistic,
          period: a.rule.periodSeconds,
          recentDatapoints: e.recent.filter((v) => v !== undefined),
          threshold: a.rule.threshold,
        });
        await this.alarms.setState(a.name, e.state, e.reason, data);
      }
    }
    if (this.ticks++ % 100 === 0) {
      await this.metrics.prune();
      await this.alarms.pruneHistory();
    }
  }

  start(): void {
    if (this.timer) return;
    const loop = () => {
      this.running = this.tick()
        .catch((e: unknown) => this.log(`alarm evaluation failed: ${(e as Error).message}`))
        .finally(() => {
          this.running = undefined;
          if (this.timer) this.timer = setTimeout(loop, this.intervalMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
