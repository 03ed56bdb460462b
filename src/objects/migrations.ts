import { sql, type Kysely } from 'kysely';
import type { MigrationSet } from '../store/index.js';
import { accessMigrations } from './access/migrations.js';
import { completedPartsMigrations } from './completed-parts.js';
import { bucketCorsMigrations } from './bucket-cors.js';
import { encryptionMigrations } from './encryption/migrations.js';
import { bucketLifecycleMigrations } from './lifecycle/store.js';
import { inlineBlobsMigrations } from './inline-blobs.js';

/** Keys sort byte-wise (S3 lists in UTF-8 binary order): SQLite's default; PostgreSQL needs "C". */
function binaryCollation(db: Kysely<any>) {
  const adapter = db.getExecutor().adapter.constructor.name;
  return adapter.toLowerCase().includes('postgres') ? sql`collate "C"` : sql``;
}

/** Schema migrations of the object store tables, keyed by their globally ordered names. */
export const objectsMigrations: MigrationSet = {
  ...completedPartsMigrations,
  '0100_objects_init': {
    async up(db: Kysely<any>) {
      const collate = binaryCollation(db);
      await db.schema
        .createTable('s3_buckets')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('s3_objects')
        .addColumn('bucket', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull().modifyEnd(collate))
        .addColumn('blob_id', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('headers', 'text', (c) => c.notNull())
        .addColumn('checksum', 'text')
        .addColumn('parts_count', 'integer')
        .addColumn('last_modified_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('s3_objects_pk', ['bucket', 'key'])
        .execute();
      await db.schema.createIndex('s3_objects_blob').on('s3_objects').column('blob_id').execute();
      await db.schema
        .createTable('s3_uploads')
        .addColumn('upload_id', 'text', (c) => c.primaryKey())
        .addColumn('bucket', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull().modifyEnd(collate))
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('headers', 'text', (c) => c.notNull())
        .addColumn('initiated_at_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('s3_uploads_key')
        .on('s3_uploads')
        .columns(['bucket', 'key', 'upload_id'])
        .execute();
      await db.schema
        .createTable('s3_parts')
        .addColumn('upload_id', 'text', (c) => c.notNull())
        .addColumn('part_number', 'integer', (c) => c.notNull())
        .addColumn('blob_id', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('last_modified_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('s3_parts_pk', ['upload_id', 'part_number'])
        .execute();
      await db.schema.createIndex('s3_parts_blob').on('s3_parts').column('blob_id').execute();
    },
  },
  ...accessMigrations,
  '0110_objects_versions': {
    async up(db: Kysely<any>) {
      const collate = binaryCollation(db);
      // null: never versioned (the store behaves as before); 'Enabled' | 'Suspended' after.
      await db.schema.alterTable('s3_buckets').addColumn('versioning', 'text').execute();
      // The version id of the current row ('null' or an id); NULL in never-versioned buckets.
      await db.schema.alterTable('s3_objects').addColumn('version_id', 'text').execute();
      // Every version and delete marker of a versioned bucket (s3_objects stays the index of the
      // latest non-marker version, so listings never scan versions).
      await db.schema
        .createTable('s3_versions')
        .addColumn('bucket', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull().modifyEnd(collate))
        .addColumn('version_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('is_delete_marker', 'integer', (c) => c.notNull())
        .addColumn('blob_id', 'text')
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('headers', 'text', (c) => c.notNull())
        .addColumn('checksum', 'text')
        .addColumn('parts_count', 'integer')
        .addColumn('last_modified_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('s3_versions_pk', ['bucket', 'key', 'version_id'])
        .execute();
      await db.schema
        .createIndex('s3_versions_order')
        .on('s3_versions')
        .columns(['bucket', 'key', 'seq'])
        .execute();
      await db.schema.createIndex('s3_versions_blob').on('s3_versions').column('blob_id').execute();
    },
  },
  '0111_objects_tags': {
    async up(db: Kysely<any>) {
      // Tags as a JSON object (NULL: none) per current object, version and pending upload.
      await db.schema.alterTable('s3_objects').addColumn('tags', 'text').execute();
      await db.schema.alterTable('s3_versions').addColumn('tags', 'text').execute();
      await db.schema.alterTable('s3_uploads').addColumn('tags', 'text').execute();
      await db.schema.alterTable('s3_buckets').addColumn('tags', 'text').execute();
    },
  },
  ...bucketCorsMigrations,
  ...encryptionMigrations,
  ...bucketLifecycleMigrations,
  ...inlineBlobsMigrations,
  '0170_objects_crc32': {
    async up(db: Kysely<any>) {
      // The server's CRC32 of a single-part object's bytes (unsigned: bigint), computed in the
      // upload's MD5 pass: whole GETs are verified by it (verified-read.ts) instead of MD5. NULL
      // for rows from before, and those whose writer kept none (they keep the MD5 check).
      await db.schema.alterTable('s3_objects').addColumn('crc32', 'bigint').execute();
    },
  },
};
