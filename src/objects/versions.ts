import { randomBytes } from 'node:crypto';
import { ObjectStoreError } from './errors.js';
import type { ObjectInfo } from './object-store.js';
import { rowToInfo, type ObjectRow, type Tx, type VersionRow } from './tables.js';

/**
 * S3 versioning in the store. `s3_versions` holds every version and delete marker of a bucket
 * that has ever had versioning; `s3_objects` stays the index of each key's latest non-marker
 * version (listings read only it). A bucket never versioned has no `s3_versions` rows and
 * behaves exactly as before. A version's blob lives as long as its `s3_versions` row.
 */

/** A bucket's versioning state: null until versioning is first enabled. */
export type VersioningState = 'Enabled' | 'Suspended' | null;

/** The version id of objects written while versioning is off or suspended. */
export const NULL_VERSION = 'null';

/** A new S3-shaped version id: 32 URL-safe characters. */
export const newVersionId = (): string => randomBytes(24).toString('base64url');

/** One version or delete marker, as ListObjectVersions and GetObject?versionId see it. */
export interface VersionInfo extends ObjectInfo {
  readonly versionId: string;
  readonly isDeleteMarker: boolean;
}

/** Result of deleting one key or version (DeleteObject / DeleteObjects). */
export interface DeleteResult {
  readonly key: string;
  /** The version asked for, when one was. */
  readonly versionId?: string;
  /** A delete marker was made (versionId absent) or deleted (versionId given). */
  readonly deleteMarker?: boolean;
  /** The version id of the delete marker made. */
  readonly deleteMarkerVersionId?: string;
}

export function versionRowToInfo(row: VersionRow): VersionInfo {
  return {
    ...rowToInfo({ ...row, version_id: row.version_id }),
    versionId: row.version_id,
    isDeleteMarker: Number(row.is_delete_marker) === 1,
  };
}

function toVersionRow(row: ObjectRow, versionId: string, seq: number): VersionRow {
  return {
    bucket: row.bucket,
    key: row.key,
    version_id: versionId,
    seq,
    is_delete_marker: 0,
    blob_id: row.blob_id,
    size: row.size,
    etag: row.etag,
    content_type: row.content_type,
    metadata: row.metadata,
    headers: row.headers,
    checksum: row.checksum,
    parts_count: row.parts_count,
    last_modified_ms: row.last_modified_ms,
    tags: row.tags,
    sse: row.sse ?? null,
  };
}

async function nextSeq(tx: Tx, bucket: string, key: string): Promise<number> {
  const r = await tx
    .selectFrom('s3_versions')
    .select((eb) => eb.fn.max('seq').as('m'))
    .where('bucket', '=', bucket)
    .where('key', '=', key)
    .executeTakeFirst();
  return Number(r?.m ?? 0) + 1;
}

/** Deletes the `null` version of a key, if any: @returns its blob (to free after the commit). */
async function dropNullVersion(tx: Tx, bucket: string, key: string): Promise<string[]> {
  const old = await tx
    .selectFrom('s3_versions')
    .select('blob_id')
    .where('bucket', '=', bucket)
    .where('key', '=', key)
    .where('version_id', '=', NULL_VERSION)
    .executeTakeFirst();
  if (!old) return [];
  await tx
    .deleteFrom('s3_versions')
    .where('bucket', '=', bucket)
    .where('key', '=', key)
    .where('version_id', '=', NULL_VERSION)
    .execute();
  return old.blob_id ? [old.blob_id] : [];
}

/**
 * Records a committed write of a versioned bucket (inside the commit's transaction): sets
 * `row.version_id` and adds the version. @returns the blobs no longer referenced.
 */
export async function recordVersion(
  tx: Tx,
  state: 'Enabled' | 'Suspended',
  row: ObjectRow,
): Promise<string[]> {
  const freed = state === 'Suspended' ? await dropNullVersion(tx, row.bucket, row.key) : [];
  row.version_id = state === 'Enabled' ? newVersionId() : NULL_VERSION;
  const seq = await nextSeq(tx, row.bucket, row.key);
  await tx
    .insertInto('s3_versions')
    .values(toVersionRow(row, row.version_id, seq))
    .execute();
  return freed.filter((b) => b !== row.blob_id);
}

/** Makes `s3_objects` show the key's latest version again (or nothing, under a delete marker). */
async function refreshLatest(tx: Tx, bucket: string, key: string): Promise<void> {
  const top = await topVersionRow(tx, bucket, key);
  await tx.deleteFrom('s3_objects').where('bucket', '=', bucket).where('key', '=', key).execute();
  if (top && Number(top.is_delete_marker) === 0 && top.blob_id !== null) {
    await tx
      .insertInto('s3_objects')
      .values({
        bucket,
        key,
        blob_id: top.blob_id,
        size: top.size,
        etag: top.etag,
        content_type: top.content_type,
        metadata: top.metadata,
        headers: top.headers,
        checksum: top.checksum,
        parts_count: top.parts_count,
        last_modified_ms: top.last_modified_ms,
        version_id: top.version_id,
        tags: top.tags,
        sse: top.sse ?? null,
      })
      .execute();
  }
}

/**
 * Deletes a key (a delete marker when versioned) or one version of it, inside a transaction.
 * @returns what S3 reports and the blobs to free after the commit.
 */
export async function deleteEntry(
  tx: Tx,
  state: VersioningState,
  bucket: string,
  key: string,
  versionId: string | undefined,
  nowMs: number,
): Promise<{ result: DeleteResult; freed: string[] }> {
  if (state === null) {
    // Never versioned: the only version a key has is 'null'; other ids name nothing.
    if (versionId !== undefined && versionId !== NULL_VERSION) {
      return { result: { key, versionId }, freed: [] };
    }
    const row = await tx
      .selectFrom('s3_objects')
      .select('blob_id')
      .where('bucket', '=', bucket)
      .where('key', '=', key)
      .executeTakeFirst();
    await tx.deleteFrom('s3_objects').where('bucket', '=', bucket).where('key', '=', key).execute();
    return {
      result: { key, ...(versionId ? { versionId } : {}) },
      freed: row ? [row.blob_id] : [],
    };
  }
  if (versionId === undefined) {
    const freed = state === 'Suspended' ? await dropNullVersion(tx, bucket, key) : [];
    const markerId = state === 'Enabled' ? newVersionId() : NULL_VERSION;
    const seq = await nextSeq(tx, bucket, key);
    await tx
      .insertInto('s3_versions')
      .values({
        bucket,
        key,
        version_id: markerId,
        seq,
        is_delete_marker: 1,
        blob_id: null,
        size: 0,
        etag: '',
        content_type: '',
        metadata: '{}',
        headers: '{}',
        checksum: null,
        parts_count: null,
        last_modified_ms: nowMs,
        tags: null,
      })
      .execute();
    await tx.deleteFrom('s3_objects').where('bucket', '=', bucket).where('key', '=', key).execute();
    return { result: { key, deleteMarker: true, deleteMarkerVersionId: markerId }, freed };
  }
  const row = await tx
    .selectFrom('s3_versions')
    .select(['blob_id', 'is_delete_marker'])
    .where('bucket', '=', bucket)
    .where('key', '=', key)
    .where('version_id', '=', versionId)
    .executeTakeFirst();
  if (!row) return { result: { key, versionId }, freed: [] };
  await tx
    .deleteFrom('s3_versions')
    .where('bucket', '=', bucket)
    .where('key', '=', key)
    .where('version_id', '=', versionId)
    .execute();
  await refreshLatest(tx, bucket, key);
  const marker = Number(row.is_delete_marker) === 1;
  return {
    result: { key, versionId, ...(marker ? { deleteMarker: true } : {}) },
    freed: row.blob_id ? [row.blob_id] : [],
  };
}

/**
 * Sets a bucket's versioning (inside a transaction). The first time it is enabled, every current
 * object becomes the `null` version of its key.
 */
export async function setVersioning(
  tx: Tx,
  bucket: string,
  current: VersioningState,
  status: 'Enabled' | 'Suspended',
): Promise<void> {
  if (current === null) {
    // Never versioned and asked to suspend: S3 keeps it unversioned in effect, but the state shows.
    const rows = await tx
      .selectFrom('s3_objects')
      .selectAll()
      .where('bucket', '=', bucket)
      .execute();
    for (let i = 0; i < rows.length; i += 200) {
      const slice = rows.slice(i, i + 200).map((r) => toVersionRow(r, NULL_VERSION, 1));
      if (slice.length > 0) await tx.insertInto('s3_versions').values(slice).execute();
    }
    await tx
      .updateTable('s3_objects')
      .set({ version_id: NULL_VERSION })
      .where('bucket', '=', bucket)
      .execute();
  }
  await tx
    .updateTable('s3_buckets')
    .set({ versioning: status })
    .where('name', '=', bucket)
    .execute();
}

/**
 * One version of a key (a delete marker included). In a never-versioned bucket only `null` names
 * a version: the current object. @throws NoSuchVersion when there is none.
 */
export async function findVersion(
  tx: Tx,
  state: VersioningState,
  bucket: string,
  key: string,
  versionId: string,
): Promise<{ info: VersionInfo; blobId: string | null; sse?: string | null }> {
  if (state === null) {
    const row =
      versionId === NULL_VERSION
        ? await tx
            .selectFrom('s3_objects')
            .selectAll()
            .where('bucket', '=', bucket)
            .where('key', '=', key)
            .executeTakeFirst()
        : undefined;
    if (row) {
      return {
        info: { ...rowToInfo(row), versionId: NULL_VERSION, isDeleteMarker: false },
        blobId: row.blob_id,
        sse: row.sse ?? null,
      };
    }
  } else {
    const row = await tx
      .selectFrom('s3_versions')
      .selectAll()
      .where('bucket', '=', bucket)
      .where('key', '=', key)
      .where('version_id', '=', versionId)
      .executeTakeFirst();
    if (row) return { info: versionRowToInfo(row), blobId: row.blob_id, sse: row.sse ?? null };
  }
  throw new ObjectStoreError('NoSuchVersion', 'The specified version does not exist.', {
    Key: key,
    VersionId: versionId,
  });
}

/** The latest version or delete marker of a key in a versioned bucket, if any. */
export async function latestVersion(
  tx: Tx,
  bucket: string,
  key: string,
): Promise<VersionInfo | undefined> {
  const row = await topVersionRow(tx, bucket, key);
  return row ? versionRowToInfo(row) : undefined;
}

/** The row of a key's newest version or delete marker (highest `seq`), if any. */
function topVersionRow(tx: Tx, bucket: string, key: string) {
  return tx
    .selectFrom('s3_versions')
    .selectAll()
    .where('bucket', '=', bucket)
    .where('key', '=', key)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
}
