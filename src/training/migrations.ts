import type { Kysely } from 'kysely';
import type { MigrationSet } from '../store/index.js';

export const trainingMigrations: MigrationSet = {
  '0200_training_jobs': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('training_jobs')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_lower', 'text', (c) => c.primaryKey())
        .addColumn('arn', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('secondary_status', 'text', (c) => c.notNull())
        .addColumn('failure_reason', 'text')
        .addColumn('request', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('transitions', 'text', (c) => c.notNull())
        .addColumn('final_metrics', 'text', (c) => c.notNull())
        .addColumn('model_artifacts', 'text', (c) => c.notNull())
        .addColumn('tuning_job_arn', 'text')
        .addColumn('tuning_objective', 'text')
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('last_modified_ms', 'bigint', (c) => c.notNull())
        .addColumn('training_start_ms', 'bigint')
        .addColumn('training_end_ms', 'bigint')
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('process', 'text')
        .addColumn('stop_reason', 'text')
        .execute();
      await db.schema.createIndex('training_jobs_created').on('training_jobs').column('created_at_ms').execute();
      await db.schema.createIndex('training_jobs_status').on('training_jobs').column('status').execute();
      await db.schema.createIndex('training_jobs_tuning').on('training_jobs').column('tuning_job_arn').execute();
      await db.schema
        .createTable('training_metric_points')
        .addColumn('job', 'text', (c) => c.notNull())
        .addColumn('metric_name', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('timestamp_ms', 'bigint', (c) => c.notNull())
        .addColumn('value', 'real', (c) => c.notNull())
        .addPrimaryKeyConstraint('training_metric_points_pk', ['job', 'metric_name', 'seq'])
        .execute();
      await db.schema
        .createTable('training_images')
        .addColumn('image', 'text', (c) => c.primaryKey())
        .addColumn('command', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
};
