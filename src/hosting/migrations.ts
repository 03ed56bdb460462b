import type { Kysely } from 'kysely';
import type { MigrationSet } from '../store/index.js';

export const hostingMigrations: MigrationSet = {
  '0400_hosting_models_configs': {
    async up(db: Kysely<any>) {
      for (const table of ['models', 'endpoint_configs']) {
        await db.schema
          .createTable(table)
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('name_lower', 'text', (c) => c.primaryKey())
          .addColumn('arn', 'text', (c) => c.notNull())
          .addColumn(table === 'models' ? 'containers' : 'variants', 'text', (c) => c.notNull())
          .$call((b) => (table === 'models' ? b.addColumn('execution_role_arn', 'text') : b))
          .addColumn('request', 'text', (c) => c.notNull())
          .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
          .addColumn('last_modified_ms', 'bigint', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex(`${table}_created`)
          .on(table)
          .column('created_at_ms')
          .execute();
      }
    },
  },
  '0401_hosting_endpoints': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('endpoints')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_lower', 'text', (c) => c.primaryKey())
        .addColumn('arn', 'text', (c) => c.notNull())
        .addColumn('config_name', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('failure_reason', 'text')
        .addColumn('variants', 'text', (c) => c.notNull())
        .addColumn('request', 'text', (c) => c.notNull())
        .addColumn('deployment', 'text')
        .addColumn('pending', 'text')
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('last_modified_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('endpoints_created').on('endpoints').column('created_at_ms').execute();
    },
  },
};
