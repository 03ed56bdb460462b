import { requireBucket, type StoreCore } from './buckets.js';
import { deleteEntry } from './versions.js';

/**
 * Deletes up to 1,000 keys in one transaction (a delete marker each in a versioned bucket);
 * missing keys count as deleted (as in S3). @returns the blobs to free after the commit.
 * @throws NoSuchBucket.
 */
export function removeKeys(
  core: StoreCore,
  bucket: string,
  keys: readonly string[],
): Promise<string[]> {
  return core.db.transaction().execute(async (tx) => {
    const state = await requireBucket(core, tx, bucket, true);
    if (state !== null) {
      const freed: string[] = [];
      const now = core.clock.nowMs();
      for (const key of keys)
        freed.push(...(await deleteEntry(tx, state, bucket, key, undefined, now)).freed);
      return freed;
    }
    const found: string[] = [];
    for (let i = 0; i < keys.length; i += 500) {
      const slice = keys.slice(i, i + 500);
      const rows = await tx
        .selectFrom('s3_objects')
        .select('blob_id')
        .where('bucket', '=', bucket)
        .where('key', 'in', slice)
        .execute();
      for (const r of rows) found.push(r.blob_id);
      await tx
        .deleteFrom('s3_objects')
        .where('bucket', '=', bucket)
        .where('key', 'in', slice)
        .execute();
    }
    return found;
  });
}
