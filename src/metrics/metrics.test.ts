import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../store/index.js';
import { FakeClock } from '../shared/clock.js';
import type { Kysely, KyselyPlugin } from 'kysely';
import { Metrics, metricsMigrations } from './index.js';
import { MetricStore, type MetricsTables } from './metric-store.js';

let database: Database;
let dir: string;
const T0 = 1_700_000_040_000 - (1_700_000_040_000 % 60_000);
const id = {
  namespace: 'AWS/SageMaker',
  metricName: 'Invocations',
  dimensions: { VariantName: 'AllTraffic', EndpointName: 'e' },
};

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-metrics-'));
  database = await openDatabase({ dataDir: dir, migrations: metricsMigrations });
});

afterEach(async () => {
  await database.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const replica = (clock: FakeClock, replicaId: string) =>
  new Metrics({
    db: database.db,
    clock,
    replicaId,
    arnOf: (n) => `arn:alarm:${n}`,
    flushIntervalMs: 1000,
    evaluationIntervalMs: 1000,
    retentionMs: 3_600_000,
  });

describe('the metric store', () => {
  it('adds up what each replica wrote for a minute, and repeated flushes do not double-count', async () => {
    const clock = new FakeClock(T0 + 1_000);
    const a = replica(clock, 'a');
    const b = replica(clock, 'b');
    for (let i = 0; i < 3; i++) a.store.record(id, 1);
    await a.store.flush();
    a.store.record(id, 1);
    await a.store.flush();
    b.store.record({ ...id, dimensions: { EndpointName: 'e', VariantName: 'AllTraffic' } }, 1);
    await b.store.flush();
    const q = await a.store.query(id, T0 - 60_000, T0 + 60_000, 60);
    expect(q.get(T0)).toEqual({ sampleCount: 5, sum: 5, minimum: 1, maximum: 1 });
  });

  it('buckets minutes into longer periods and forgets datapoints past the retention', async () => {
    const clock = new FakeClock(T0);
    const m = replica(clock, 'a');
    for (let minute = 0; minute < 5; minute++) {
      m.store.record(id, minute);
      await m.store.flush();
      clock.advance(60_000);
    }
    const q = await m.store.query(id, T0, T0 + 5 * 60_000, 300);
    expect([...q.values()].reduce((n, a) => n + a.sampleCount, 0)).toBe(5);
    expect(await m.store.list({ namespace: 'AWS/SageMaker' }, 0)).toEqual(
      [id].map((x) => ({ ...x, dimensions: { EndpointName: 'e', VariantName: 'AllTraffic' } })),
    );
    clock.advance(3_600_000);
    expect(await m.store.prune()).toBe(5);
  });
});

describe('alarms', () => {
  it('an evaluator pass moves an alarm to ALARM on breaching data and records the transition in its history', async () => {
    const clock = new FakeClock(T0 + 5_000);
    const m = replica(clock, 'a');
    await m.alarms.put(
      'errors',
      {
        ...id,
        metricName: 'Invocation5XXErrors',
        statistic: 'Sum',
        periodSeconds: 60,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        threshold: 1,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        treatMissingData: 'missing',
      },
      {},
    );
    await m.evaluator.tick();
    expect((await m.alarmStates(['errors'])).get('errors')?.state).toBe('INSUFFICIENT_DATA');
    m.recordInvocation({ endpoint: 'e', variant: 'AllTraffic', status: 500 });
    await m.store.flush();
    await m.evaluator.tick();
    expect((await m.alarmStates(['errors'])).get('errors')?.state).toBe('ALARM');
    const history = await m.alarms.history({ name: 'errors', type: 'StateUpdate', max: 10 });
    expect(history.map((h) => h.summary)).toEqual([
      'Alarm updated from INSUFFICIENT_DATA to ALARM',
    ]);
  });

  it('runs flushes one after another: a second flush writes nothing until the first is done', async () => {
    // On PostgreSQL two flushes at once (the periodic one and PutMetricData's) write on two pooled
    // connections and the older totals can land last. Here the first flush's write is held back.
    const events: string[] = [];
    let held = false;
    const plugin: KyselyPlugin = {
      transformQuery: (args) => {
        events.push('start');
        return args.node;
      },
      transformResult: async (args) => {
        if (!held) {
          held = true;
          await new Promise((r) => setTimeout(r, 200));
        }
        events.push('done');
        return args.result;
      },
    };
    const db = database.db.withTables<MetricsTables>() as unknown as Kysely<MetricsTables>;
    const clock = new FakeClock(T0 + 1_000);
    const store = new MetricStore({
      db: db.withPlugin(plugin),
      clock,
      replicaId: 'a',
      retentionMs: 3_600_000,
    });
    store.record(id, 1);
    const first = store.flush();
    store.record(id, 2);
    const second = store.flush();
    await Promise.all([first, second]);
    expect(events).toEqual(['start', 'done', 'start', 'done']);
    const q = await store.query(id, T0, T0 + 60_000, 60);
    expect(q.get(T0)).toEqual({ sampleCount: 2, sum: 3, minimum: 1, maximum: 2 });
  });
});
