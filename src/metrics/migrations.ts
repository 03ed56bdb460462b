import type { Kysely } from 'kysely';
import { addColumns, type MigrationSet } from '../store/index.js';

/** Metric datapoints (one row per replica and minute), alarms and their history. */
export const metricsMigrations: MigrationSet = {
  '0900_cloudwatch_metrics': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('metric_datapoints')
        .$call((t) =>
          addColumns(t, {
            namespace: 'text',
            metric_name: 'text',
            dimensions: 'text',
            minute_ms: 'bigint',
            replica: 'text',
          }),
        )
        // Double precision: PostgreSQL's `real` is 4 bytes, too coarse for sums of microseconds.
        .addColumn('sample_count', 'double precision', (c) => c.notNull())
        .addColumn('sum', 'double precision', (c) => c.notNull())
        .addColumn('minimum', 'double precision', (c) => c.notNull())
        .addColumn('maximum', 'double precision', (c) => c.notNull())
        .addPrimaryKeyConstraint('metric_datapoints_pk', [
          'namespace',
          'metric_name',
          'dimensions',
          'minute_ms',
          'replica',
        ])
        .execute();
      await db.schema
        .createIndex('metric_datapoints_minute')
        .on('metric_datapoints')
        .column('minute_ms')
        .execute();
      await db.schema
        .createTable('metric_alarms')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .$call((t) =>
          addColumns(t, {
            arn: 'text',
            definition: 'text',
            state: 'text',
            state_reason: 'text',
            state_reason_data: 'text?',
            state_updated_ms: 'bigint',
            configuration_updated_ms: 'bigint',
          }),
        )
        .execute();
      await db.schema
        .createTable('metric_alarm_history')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .$call((t) =>
          addColumns(t, {
            alarm_name: 'text',
            timestamp_ms: 'bigint',
            item_type: 'text',
            summary: 'text',
            data: 'text',
          }),
        )
        .execute();
      await db.schema
        .createIndex('metric_alarm_history_alarm')
        .on('metric_alarm_history')
        .columns(['alarm_name', 'timestamp_ms'])
        .execute();
    },
  },
};
