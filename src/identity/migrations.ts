import type { Kysely } from 'kysely';
import { addColumns, createIndexes, type MigrationSet } from '../store/index.js';

/** Schema migrations of the identity tables, keyed by their globally ordered names. */
export const identityMigrations: MigrationSet = {
  '0500_identity_users_sessions': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('username_lower', 'text', (c) => c.notNull().unique())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .$call((t) => addColumns(t, { created_at_ms: 'bigint', last_modified_ms: 'bigint' }))
        .execute();
      await db.schema
        .createTable('user_groups')
        .$call((t) => addColumns(t, { user_id: 'text', group_name: 'text' }))
        .addPrimaryKeyConstraint('user_groups_pk', ['user_id', 'group_name'])
        .execute();
      await createIndexes(db, 'user_groups', { group: 'group_name' });
      await db.schema
        .createTable('sessions')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .$call((t) =>
          addColumns(t, { principal: 'text', created_at_ms: 'bigint', expires_at_ms: 'bigint' }),
        )
        .execute();
      await createIndexes(db, 'sessions', { expires: 'expires_at_ms', principal: 'principal' });
    },
  },
  '0560_identity_access_keys': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('access_keys')
        .addColumn('access_key_id', 'text', (c) => c.primaryKey())
        .$call((t) =>
          addColumns(t, {
            user_id: 'text',
            // AES-256-GCM under a key derived from the root secret (access-keys.ts SecretBox).
            secret_enc: 'text',
            status: 'text',
            created_at_ms: 'bigint',
          }),
        )
        .addColumn('last_used_ms', 'bigint')
        .execute();
      await createIndexes(db, 'access_keys', { user: 'user_id' });
    },
  },
};
