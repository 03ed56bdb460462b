import { requireBucket, type StoreCore } from './buckets.js';
import { copySourceKeyError, parseSse, type SseRecord } from './encryption/sealed.js';
import { ObjectStoreError } from './errors.js';
import { openObject } from './object-handle.js';
import { selectRow } from './object-rows.js';
import type { CopyObjectOptions, ObjectInfo } from './object-store.js';
import { commitObject, writeBlob } from './object-write.js';
import { rowToInfo } from './tables.js';

/** Where a copy reads from: a key's current version, or the named one. */
export type CopySource = { bucket: string; key: string; versionId?: string };

/**
 * CopyObject: a plain copy stays a blob copy (hard link on fs, server-side on S3); an encrypted
 * source or target goes through Node ({@link copyThrough}). Retries while the source keeps being
 * replaced. @throws NoSuchBucket, NoSuchKey, InvalidRequest (a copy onto itself changing nothing).
 */
export async function copyObject(
  core: StoreCore,
  source: CopySource,
  target: { bucket: string; key: string },
  options: CopyObjectOptions,
): Promise<ObjectInfo> {
  await requireBucket(core, core.db, target.bucket);
  const replace = options.metadataDirective === 'REPLACE';
  if (
    source.bucket === target.bucket &&
    source.key === target.key &&
    source.versionId === undefined &&
    !replace &&
    options.sse === undefined
  ) {
    throw new ObjectStoreError(
      'InvalidRequest',
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  for (let attempt = 0; attempt < 5; attempt++) {
    const row = await selectRow(core, source.bucket, source.key, source.versionId);
    if (!row) {
      await requireBucket(core, core.db, source.bucket);
      throw new ObjectStoreError('NoSuchKey', 'The specified key does not exist.', {
        Key: source.key,
      });
    }
    const src = rowToInfo(row);
    const srcSse = parseSse(row.sse);
    const sse = await core.sse.forWrite(core.db, target.bucket, options.sse);
    if (srcSse || sse || options.sourceCustomerKey) {
      // Encrypted on either side: the bytes go through Node (opened, then sealed anew).
      const copied = await copyThrough(core, source, target, options, src, sse);
      if (copied) return copied;
      continue;
    }
    const id = await core.blobs.copy(row.blob_id, src.size);
    // The source was replaced and its blob removed meanwhile: copy the new version.
    if (id === undefined) continue;
    return commitObject(core, target.bucket, target.key, id, {
      size: src.size,
      etag: src.etag,
      contentType: replace ? options.contentType : src.contentType,
      metadata: replace ? options.metadata : src.metadata,
      headers: replace ? options.headers : src.headers,
      checksum: src.checksum,
      partsCount: src.partsCount,
      conditions: options,
      // The same bytes (blob ids are immutable): the source's CRC32 still verifies them.
      ...(src.storedCrc32 !== undefined ? { crc32: src.storedCrc32 } : {}),
      ...((options.taggingDirective === 'REPLACE' ? options.tags : src.tags)
        ? { tags: options.taggingDirective === 'REPLACE' ? options.tags : src.tags }
        : {}),
    });
  }
  throw new Error('the source object kept changing while it was being copied');
}

/**
 * A copy whose source or target is encrypted: reads the source's plaintext (its SSE-C key
 * checked) and writes it as a new object, sealed under a new data key when the target asks for
 * encryption. The ETag becomes the MD5 of the plaintext. @returns undefined when the source
 * changed meanwhile (the caller looks again).
 */
async function copyThrough(
  core: StoreCore,
  source: CopySource,
  target: { bucket: string; key: string },
  options: CopyObjectOptions,
  src: ObjectInfo,
  sse: { record: SseRecord; dataKey: Buffer } | undefined,
): Promise<ObjectInfo | undefined> {
  const handle = await openObject(
    core,
    source.bucket,
    source.key,
    source.versionId,
    options.sourceCustomerKey,
  ).catch((err: unknown) => Promise.reject(copySourceKeyError(err)));
  if (!handle || handle.info.etag !== src.etag) {
    await handle?.close();
    return undefined;
  }
  const replace = options.metadataDirective === 'REPLACE';
  const blob = await writeBlob(core, handle.read(), undefined, sse?.dataKey);
  const tags = options.taggingDirective === 'REPLACE' ? options.tags : src.tags;
  return commitObject(core, target.bucket, target.key, blob.id, {
    size: blob.size,
    etag: `"${blob.md5.toString('hex')}"`,
    contentType: replace ? options.contentType : src.contentType,
    metadata: replace ? options.metadata : src.metadata,
    headers: replace ? options.headers : src.headers,
    // A composite (per-part) checksum does not describe the single-part copy.
    checksum: src.partsCount === undefined ? src.checksum : undefined,
    partsCount: undefined,
    conditions: options,
    ...(tags ? { tags } : {}),
    ...(sse ? { sse: JSON.stringify(sse.record) } : {}),
    ...(blob.crc32 !== undefined ? { crc32: blob.crc32 } : {}),
  });
}
