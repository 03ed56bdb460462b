import type { Kysely } from 'kysely';
import type { MigrationSet } from '../store/index.js';
import { prelabelMigrations } from './prelabel.js';

/** Schema migrations of the labeling tables, keyed by their globally ordered names. */
export const labelingMigrations: MigrationSet = {
  '0510_labeling_workteams_jobs_tasks': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('workteams')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_lower', 'text', (c) => c.primaryKey())
        .addColumn('arn', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('member_groups', 'text', (c) => c.notNull())
        .addColumn('request', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('last_modified_ms', 'bigint', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('labeling_jobs')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_lower', 'text', (c) => c.primaryKey())
        .addColumn('arn', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('failure_reason', 'text')
        .addColumn('workteam_arn', 'text', (c) => c.notNull())
        .addColumn('job_reference_code', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('request', 'text', (c) => c.notNull())
        .addColumn('object_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('iteration', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('output_written_ms', 'bigint')
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('last_modified_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('labeling_jobs_created')
        .on('labeling_jobs')
        .column('created_at_ms')
        .execute();
      await db.schema
        .createIndex('labeling_jobs_workteam')
        .on('labeling_jobs')
        .column('workteam_arn')
        .execute();
      await db.schema
        .createTable('labeling_objects')
        .addColumn('job', 'text', (c) => c.notNull())
        .addColumn('object_id', 'integer', (c) => c.notNull())
        .addColumn('source_ref', 'text')
        .addColumn('line', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('released', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('iteration', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('declines', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('image_width', 'integer')
        .addColumn('image_height', 'integer')
        .addColumn('initial_value', 'text')
        .addColumn('consolidated', 'text')
        .addColumn('completed_at_ms', 'bigint')
        .addPrimaryKeyConstraint('labeling_objects_pk', ['job', 'object_id'])
        .execute();
      await db.schema
        .createIndex('labeling_objects_status')
        .on('labeling_objects')
        .columns(['job', 'status', 'released'])
        .execute();
      await db.schema
        .createTable('labeling_tasks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('job', 'text', (c) => c.notNull())
        .addColumn('object_id', 'integer', (c) => c.notNull())
        .addColumn('iteration', 'integer', (c) => c.notNull())
        .addColumn('slot', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('released', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('available_until_ms', 'bigint')
        .addColumn('worker_id', 'text')
        .addColumn('worker_name', 'text')
        .addColumn('claimed_at_ms', 'bigint')
        .addColumn('expires_at_ms', 'bigint')
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('draft', 'text')
        .addColumn('answer', 'text')
        .addColumn('submission_id', 'text')
        .addColumn('submitted_at_ms', 'bigint')
        .execute();
      await db.schema
        .createIndex('labeling_tasks_slot')
        .on('labeling_tasks')
        .columns(['job', 'object_id', 'iteration', 'slot'])
        .unique()
        .execute();
      await db.schema
        .createIndex('labeling_tasks_queue')
        .on('labeling_tasks')
        .columns(['job', 'status', 'released', 'object_id', 'slot'])
        .execute();
      await db.schema
        .createIndex('labeling_tasks_worker')
        .on('labeling_tasks')
        .columns(['job', 'worker_id', 'status'])
        .execute();
      await db.schema
        .createIndex('labeling_tasks_expiry')
        .on('labeling_tasks')
        .columns(['status', 'expires_at_ms'])
        .execute();
      // Objects a worker must not get again (they skipped, declined or already answered them).
      await db.schema
        .createTable('labeling_exclusions')
        .addColumn('job', 'text', (c) => c.notNull())
        .addColumn('object_id', 'integer', (c) => c.notNull())
        .addColumn('worker_id', 'text', (c) => c.notNull())
        .addColumn('iteration', 'integer', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('labeling_exclusions_pk', [
          'job',
          'worker_id',
          'object_id',
          'iteration',
        ])
        .execute();
    },
  },
  ...prelabelMigrations,
  '0520_labeling_active_learning': {
    async up(db: Kysely<any>) {
      // The rounds of automated data labeling (src/labeling/active-learning/loop.ts).
      await db.schema
        .createTable('labeling_al_rounds')
        .addColumn('job', 'text', (c) => c.notNull())
        .addColumn('round', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('batch', 'text', (c) => c.notNull())
        .addColumn('validation', 'text', (c) => c.notNull())
        .addColumn('training_job', 'text')
        .addColumn('model_arn', 'text')
        .addColumn('threshold', 'double precision')
        .addColumn('estimated_quality', 'double precision')
        .addColumn('support', 'integer')
        .addColumn('machine_labeled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('notice', 'text')
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('labeling_al_rounds_pk', ['job', 'round'])
        .execute();
      // 1 = labelled by the loop's model (LabelCounters.MachineLabeled, human-annotated "no").
      await db.schema
        .alterTable('labeling_objects')
        .addColumn('machine_labeled', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
};
