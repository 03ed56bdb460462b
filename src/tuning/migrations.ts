import type { Kysely } from 'kysely';
import {
  addColumns,
  createIndexes,
  createResourceTable,
  type MigrationSet,
} from '../store/index.js';

/** Schema migrations of the tuning tables, keyed by their globally ordered names. */
export const tuningMigrations: MigrationSet = {
  '0300_tuning_jobs': {
    async up(db: Kysely<any>) {
      await createResourceTable(db, 'tuning_jobs', {
        status: 'text',
        failure_reason: 'text?',
        request: 'text',
        config: 'text',
        end_ms: 'bigint?',
        end_reason: 'text?',
        jobs_not_improving: 'integer',
        convergence_ms: 'bigint?',
      });
      await db.schema
        .createTable('tuning_trials')
        .$call((t) =>
          addColumns(t, {
            tuning_name_lower: 'text',
            idx: 'integer',
            training_job_name: 'text',
            config: 'text',
            tuned: 'text',
            bracket: 'integer?',
            status: 'text',
            objective_status: 'text',
            objective_value: 'real?',
            curve: 'text',
            error_kind: 'text?',
            failure_reason: 'text?',
            stop_reason: 'text?',
            retry_of: 'integer?',
            created_at_ms: 'bigint',
            training_start_ms: 'bigint?',
            training_end_ms: 'bigint?',
            last_activity_ms: 'bigint',
          }),
        )
        .addPrimaryKeyConstraint('tuning_trials_pk', ['tuning_name_lower', 'idx'])
        .execute();
      await createIndexes(db, 'tuning_trials', { job: 'training_job_name' });
    },
  },
};
