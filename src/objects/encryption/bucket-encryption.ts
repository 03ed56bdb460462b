import type { Tx } from '../tables.js';
import type { SseWrite } from './sealed.js';

/** A bucket's default encryption (PutBucketEncryption): SSE-S3 only (SSE-KMS is refused above). */
export interface BucketEncryption {
  readonly algorithm: 'AES256';
  /** `BucketKeyEnabled` as the client set it (meaningless without KMS; kept to echo it back). */
  readonly bucketKeyEnabled?: boolean;
}

/** The bucket's default encryption; undefined when it has none. */
export async function readBucketEncryption(
  db: Tx,
  bucket: string,
): Promise<BucketEncryption | undefined> {
  const row = await db
    .selectFrom('s3_buckets')
    .select('encryption')
    .where('name', '=', bucket)
    .executeTakeFirst();
  return row?.encryption ? (JSON.parse(row.encryption) as BucketEncryption) : undefined;
}

/** Sets (or with undefined removes) the bucket's default encryption. */
export async function writeBucketEncryption(
  db: Tx,
  bucket: string,
  config: BucketEncryption | undefined,
): Promise<void> {
  await db
    .updateTable('s3_buckets')
    .set({ encryption: config ? JSON.stringify(config) : null })
    .where('name', '=', bucket)
    .execute();
}

/** What a write without SSE headers gets in `bucket`: its default, or nothing (stored plain). */
export async function defaultSse(db: Tx, bucket: string): Promise<SseWrite | undefined> {
  return (await readBucketEncryption(db, bucket)) ? { mode: 'SSE-S3' } : undefined;
}
