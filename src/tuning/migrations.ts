import type { Kysely } from 'kysely';
import type { MigrationSet } from '../store/index.js';

export const tuningMigrations: MigrationSet = {
  '0300_tuning_jobs': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('tuning_jobs')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_lower', 'text', (c) => c.primaryKey())
        .addColumn('arn', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('failure_reason', 'text')
        .addColumn('request', 'text', (c) => c.notNull())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('last_modified_ms', 'bigint', (c) => c.notNull())
        .addColumn('end_ms', 'bigint')
        .addColumn('end_reason', 'text')
        .addColumn('jobs_not_improving', 'integer', (c) => c.notNull())
        .addColumn('convergence_ms', 'bigint')
        .execute();
      await db.schema.createIndex('tuning_jobs_created').on('tuning_jobs').column('created_at_ms').execute();
      await db.schema
        .createTable('tuning_trials')
        .addColumn('tuning_name_lower', 'text', (c) => c.notNull())
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('training_job_name', 'text', (c) => c.notNull())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('tuned', 'text', (c) => c.notNull())
        .addColumn('bracket', 'integer')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('objective_status', 'text', (c) => c.notNull())
        .addColumn('objective_value', 'real')
        .addColumn('curve', 'text', (c) => c.notNull())
        .addColumn('error_kind', 'text')
        .addColumn('failure_reason', 'text')
        .addColumn('stop_reason', 'text')
        .addColumn('retry_of', 'integer')
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('training_start_ms', 'bigint')
        .addColumn('training_end_ms', 'bigint')
        .addColumn('last_activity_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('tuning_trials_pk', ['tuning_name_lower', 'idx'])
        .execute();
      await db.schema.createIndex('tuning_trials_job').on('tuning_trials').column('training_job_name').execute();
    },
  },
};
