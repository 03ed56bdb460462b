import { sql, type Kysely } from 'kysely';
import type { MigrationSet } from '../store/index.js';
import { bucketCorsMigrations } from './bucket-cors.js';

/** Keys sort byte-wise (S3 lists in UTF-8 binary order): SQLite's default; PostgreSQL needs "C". */
function binaryCollation(db: Kysely<any>) {
  const adapter = db.getExecutor().adapter.constructor.name;
  return adapter.toLowerCase().includes('postgres') ? sql`collate "C"` : sql``;
}

/** Schema migrations of the object store tables, keyed by their globally ordered names. */
export const objectsMigrations: MigrationSet = {
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
  ...bucketCorsMigrations,
};
