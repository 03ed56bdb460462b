import type { Kysely } from 'kysely';
import type { MigrationSet } from '../../store/index.js';

/**
 * Migration 0120 (s3sse's range): server-side encryption at rest. `sse` (JSON `SseRecord`, NULL
 * for plain bytes) on objects, versions, uploads and parts holds the algorithm, the wrapped data
 * key, the SSE-C key's salted HMAC and a multipart object's part salts and plaintext sizes; `size`
 * stays the plaintext's. `s3_buckets.encryption` holds the bucket's default encryption (JSON).
 */
export const encryptionMigrations: MigrationSet = {
  '0120_objects_encryption': {
    async up(db: Kysely<any>) {
      for (const table of ['s3_objects', 's3_versions', 's3_uploads', 's3_parts'])
        await db.schema.alterTable(table).addColumn('sse', 'text').execute();
      await db.schema.alterTable('s3_buckets').addColumn('encryption', 'text').execute();
    },
  },
};
