import type { Readable } from 'node:stream';
import type { Transaction } from 'kysely';
import type { WrittenBlob } from './blob-store.js';
import { requireBucket, type StoreCore } from './buckets.js';
import { sealBody } from './encryption/sealed.js';
import type { CommitFields } from './multipart.js';
import type { ObjectInfo } from './object-store.js';
import { DEFAULT_CONTENT_TYPE, rowToInfo, type ObjectRow, type ObjectsTables } from './tables.js';
import { recordVersion } from './versions.js';
import { checkConditions, md5Check } from './write-rules.js';

/**
 * Streams `body` to a new blob (sealed under `sealKey` when given) and checks its Content-MD5 (the
 * blob is removed on a mismatch). Size and MD5 are the plaintext's either way (a sealed blob is
 * longer than its plaintext).
 */
export async function writeBlob(
  core: StoreCore,
  body: Readable | Buffer | string,
  contentMd5: string | undefined,
  sealKey?: Buffer,
): Promise<WrittenBlob> {
  let blob: WrittenBlob;
  if (sealKey) {
    const { sealed, plain } = sealBody(body, sealKey);
    const written = await core.blobs.write(sealed);
    blob = { id: written.id, ...plain() };
  } else {
    blob = await core.blobs.write(body);
  }
  try {
    md5Check(contentMd5, blob.md5);
  } catch (err) {
    await core.blobs.delete([blob.id]);
    throw err;
  }
  return blob;
}

/**
 * Commits `blobId` as the object in one transaction that re-checks the bucket (its row locked) and
 * the write's conditions, runs `inTx` and records the version; removes the blob it replaces after
 * the commit, or `blobId` itself on failure.
 */
export async function commitObject(
  core: StoreCore,
  bucket: string,
  key: string,
  blobId: string,
  o: CommitFields,
  inTx?: (tx: Transaction<ObjectsTables>) => Promise<void>,
): Promise<ObjectInfo> {
  const row: ObjectRow = {
    bucket,
    key,
    blob_id: blobId,
    size: o.size,
    etag: o.etag,
    content_type: o.contentType || DEFAULT_CONTENT_TYPE,
    metadata: JSON.stringify(o.metadata ?? {}),
    headers: JSON.stringify(o.headers ?? {}),
    checksum: o.checksum ? JSON.stringify(o.checksum) : null,
    parts_count: o.partsCount ?? null,
    last_modified_ms: core.clock.nowMs(),
    version_id: null,
    tags: o.tags && Object.keys(o.tags).length > 0 ? JSON.stringify(o.tags) : null,
    sse: o.sse ?? null,
    crc32: o.crc32 ?? null,
  };
  let replaced: string[] = [];
  try {
    replaced = await core.db.transaction().execute(async (tx) => {
      const versioning = await requireBucket(core, tx, bucket, true);
      const old = await tx
        .selectFrom('s3_objects')
        .select(['blob_id', 'etag'])
        .where('bucket', '=', bucket)
        .where('key', '=', key)
        .executeTakeFirst();
      checkConditions(old, o.conditions, key);
      if (inTx) await inTx(tx);
      // Versioned: the old blob stays with its version; only a replaced `null` version frees one.
      const freed = versioning ? await recordVersion(tx, versioning, row) : undefined;
      if (old) {
        const { bucket: _b, key: _k, ...rest } = row;
        await tx
          .updateTable('s3_objects')
          .set(rest)
          .where('bucket', '=', bucket)
          .where('key', '=', key)
          .execute();
      } else {
        await tx.insertInto('s3_objects').values(row).execute();
      }
      return freed ?? (old ? [old.blob_id] : []);
    });
  } catch (err) {
    await core.blobs.delete([blobId]);
    throw err;
  }
  const stale = replaced.filter((id) => id !== blobId);
  if (stale.length > 0) await core.blobs.delete(stale);
  return rowToInfo(row);
}
