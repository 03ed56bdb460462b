import type { Kysely } from 'kysely';
import type { Clock } from '../shared/clock.js';
import type { BlobStore } from './blob-store.js';
import type { SseKeys } from './encryption/sse-keys.js';
import { ObjectStoreError } from './errors.js';
import type { ObjectsTables, Tx } from './tables.js';
import type { VersioningState } from './versions.js';

/** What the object store's parts share: `DbObjectStore` builds it once and passes it on. */
export interface StoreCore {
  readonly db: Kysely<ObjectsTables>;
  readonly blobs: BlobStore;
  readonly clock: Clock;
  readonly sse: SseKeys;
  /** PostgreSQL: writes lock the bucket row (SQLite's single writer serialises them already). */
  readonly rowLocks: boolean;
}

/**
 * @returns the bucket's versioning state. @throws NoSuchBucket. `lock` (a transaction that
 * writes versions): on PostgreSQL the bucket row stays locked until the commit, so a write never
 * reads the state a concurrent PutBucketVersioning is changing, and two writes of one key never
 * take the same version sequence number.
 */
export async function requireBucket(
  core: Pick<StoreCore, 'rowLocks'>,
  tx: Tx,
  name: string,
  lock = false,
): Promise<VersioningState> {
  let q = tx.selectFrom('s3_buckets').select(['name', 'versioning']).where('name', '=', name);
  if (lock && core.rowLocks) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  if (!row) {
    throw new ObjectStoreError('NoSuchBucket', 'The specified bucket does not exist.', {
      BucketName: name,
    });
  }
  return row.versioning === 'Enabled' || row.versioning === 'Suspended' ? row.versioning : null;
}

/** Adds the bucket's row. @throws BucketAlreadyOwnedByYou. */
export async function insertBucket(core: StoreCore, name: string): Promise<void> {
  await core.db.transaction().execute(async (tx) => {
    const existing = await tx
      .selectFrom('s3_buckets')
      .select('name')
      .where('name', '=', name)
      .executeTakeFirst();
    if (existing) {
      throw new ObjectStoreError(
        'BucketAlreadyOwnedByYou',
        'Your previous request to create the named bucket succeeded and you already own it.',
        { BucketName: name },
      );
    }
    await tx
      .insertInto('s3_buckets')
      .values({ name, created_at_ms: core.clock.nowMs(), versioning: null, tags: null })
      .execute();
  });
}

/**
 * Removes an empty bucket's row with its open multipart uploads. @returns the part blobs to free
 * after the commit. @throws NoSuchBucket, BucketNotEmpty (an object or a version left).
 */
export async function removeEmptyBucket(core: StoreCore, name: string): Promise<string[]> {
  return core.db.transaction().execute(async (tx) => {
    await requireBucket(core, tx, name);
    const one = await tx
      .selectFrom('s3_objects')
      .select('key')
      .where('bucket', '=', name)
      .limit(1)
      .executeTakeFirst();
    const version = one
      ? undefined
      : await tx
          .selectFrom('s3_versions')
          .select('key')
          .where('bucket', '=', name)
          .limit(1)
          .executeTakeFirst();
    if (one || version) {
      throw new ObjectStoreError('BucketNotEmpty', 'The bucket you tried to delete is not empty.', {
        BucketName: name,
      });
    }
    const uploads = await tx
      .selectFrom('s3_uploads')
      .select('upload_id')
      .where('bucket', '=', name)
      .execute();
    const ids = uploads.map((u) => u.upload_id);
    let partBlobs: string[] = [];
    if (ids.length > 0) {
      partBlobs = (
        await tx.selectFrom('s3_parts').select('blob_id').where('upload_id', 'in', ids).execute()
      ).map((p) => p.blob_id);
      await tx.deleteFrom('s3_parts').where('upload_id', 'in', ids).execute();
      await tx.deleteFrom('s3_uploads').where('bucket', '=', name).execute();
    }
    await tx.deleteFrom('s3_buckets').where('name', '=', name).execute();
    return partBlobs;
  });
}
