import { requireBucket, type StoreCore } from './buckets.js';
import { ObjectStoreError } from './errors.js';
import type { ObjectRow } from './tables.js';
import { findVersion } from './versions.js';

/** The key's current row (`s3_objects`), if any. */
export function selectObject(core: StoreCore, bucket: string, key: string) {
  return core.db
    .selectFrom('s3_objects')
    .selectAll()
    .where('bucket', '=', bucket)
    .where('key', '=', key)
    .executeTakeFirst();
}

/** A version's row as an object row; @throws NoSuchVersion, MethodNotAllowed (a delete marker). */
export async function selectVersion(
  core: StoreCore,
  bucket: string,
  key: string,
  versionId: string,
): Promise<ObjectRow> {
  const state = await requireBucket(core, core.db, bucket);
  const { info, blobId, sse } = await findVersion(core.db, state, bucket, key, versionId);
  if (info.isDeleteMarker || blobId === null) {
    throw new ObjectStoreError(
      'MethodNotAllowed',
      'The specified method is not allowed against this resource: the version is a delete marker.',
      { Key: key, VersionId: versionId },
    );
  }
  const { versionId: _v, isDeleteMarker: _d, ...rest } = info;
  return {
    bucket,
    key,
    blob_id: blobId,
    size: rest.size,
    etag: rest.etag,
    content_type: rest.contentType,
    metadata: JSON.stringify(rest.metadata),
    headers: JSON.stringify(rest.headers ?? {}),
    checksum: rest.checksum ? JSON.stringify(rest.checksum) : null,
    parts_count: rest.partsCount ?? null,
    last_modified_ms: rest.lastModifiedMs,
    version_id: versionId,
    tags: rest.tags ? JSON.stringify(rest.tags) : null,
    sse: sse ?? null,
  };
}

/** The current row (no `versionId`) or the named version's; undefined: no such key. */
export function selectRow(
  core: StoreCore,
  bucket: string,
  key: string,
  versionId: string | undefined,
): Promise<ObjectRow | undefined> {
  return versionId === undefined
    ? selectObject(core, bucket, key)
    : selectVersion(core, bucket, key, versionId);
}
