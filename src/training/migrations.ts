import type { Kysely } from 'kysely';
import {
  addColumns,
  createIndexes,
  createResourceTable,
  type MigrationSet,
} from '../store/index.js';

/** Schema migrations of the training tables, keyed by their globally ordered names. */
export const trainingMigrations: MigrationSet = {
  '0200_training_jobs': {
    async up(db: Kysely<any>) {
      await createResourceTable(db, 'training_jobs', {
        status: 'text',
        secondary_status: 'text',
        failure_reason: 'text?',
        request: 'text',
        spec: 'text',
        transitions: 'text',
        final_metrics: 'text',
        model_artifacts: 'text',
        tuning_job_arn: 'text?',
        tuning_objective: 'text?',
        training_start_ms: 'bigint?',
        training_end_ms: 'bigint?',
        attempt: 'integer',
        process: 'text?',
        stop_reason: 'text?',
      });
      await createIndexes(db, 'training_jobs', { status: 'status', tuning: 'tuning_job_arn' });
      await db.schema
        .createTable('training_metric_points')
        .$call((t) =>
          addColumns(t, {
            job: 'text',
            metric_name: 'text',
            seq: 'integer',
            timestamp_ms: 'bigint',
            value: 'real',
          }),
        )
        .addPrimaryKeyConstraint('training_metric_points_pk', ['job', 'metric_name', 'seq'])
        .execute();
      await db.schema
        .createTable('training_images')
        .addColumn('image', 'text', (c) => c.primaryKey())
        .$call((t) => addColumns(t, { command: 'text', created_at_ms: 'bigint' }))
        .execute();
    },
  },
};
