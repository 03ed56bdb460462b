import type { Kysely } from 'kysely';
import { addColumns, createResourceTable, type MigrationSet } from '../store/index.js';

/** The notebook instances and lifecycle configurations tables. */
export const notebookMigrations: MigrationSet = {
  '0800_notebook_instances': {
    async up(db: Kysely<any>) {
      await createResourceTable(db, 'notebook_instances', {
        status: 'text',
        failure_reason: 'text?',
        instance_type: 'text',
        role_arn: 'text',
        lifecycle_config_name: 'text?',
        volume_size_gb: 'integer',
        direct_internet_access: 'text',
        root_access: 'text',
        platform_identifier: 'text',
        dir_id: 'text',
        created: 'integer',
        process: 'text?',
      });
      await createResourceTable(db, 'notebook_lifecycle_configs', {
        on_create: 'text',
        on_start: 'text',
      });
      // Access keys minted for instances (their kernels sign with them); gone with the instance.
      await db.schema
        .createTable('notebook_access_keys')
        .addColumn('access_key_id', 'text', (c) => c.primaryKey())
        .$call((t) =>
          addColumns(t, {
            secret_access_key: 'text',
            instance_name_lower: 'text',
            created_at_ms: 'bigint',
          }),
        )
        .execute();
      // Presigned-URL tokens (single use) and the proxy sessions they become; stored as hashes.
      await db.schema
        .createTable('notebook_sessions')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .$call((t) =>
          addColumns(t, {
            kind: 'text',
            instance_name_lower: 'text',
            expires_at_ms: 'bigint',
            session_seconds: 'integer',
            used: 'integer',
          }),
        )
        .execute();
    },
  },
};
