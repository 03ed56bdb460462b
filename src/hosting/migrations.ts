import type { Kysely } from 'kysely';
import { createResourceTable, type MigrationSet } from '../store/index.js';

/** Schema migrations of the hosting tables, keyed by their globally ordered names. */
export const hostingMigrations: MigrationSet = {
  '0400_hosting_models_configs': {
    async up(db: Kysely<any>) {
      await createResourceTable(db, 'models', {
        containers: 'text',
        execution_role_arn: 'text?',
        request: 'text',
        status: 'text',
      });
      await createResourceTable(db, 'endpoint_configs', {
        variants: 'text',
        request: 'text',
        status: 'text',
      });
    },
  },
  '0401_hosting_endpoints': {
    async up(db: Kysely<any>) {
      await createResourceTable(db, 'endpoints', {
        config_name: 'text',
        status: 'text',
        failure_reason: 'text?',
        variants: 'text',
        request: 'text',
        deployment: 'text?',
        pending: 'text?',
      });
    },
  },
};
