import { ObjectStoreError } from './errors.js';
import type { Tx } from './tables.js';
import { findVersion, type VersioningState } from './versions.js';

/**
 * Object and bucket tags. An object's tags live in its row (`s3_objects.tags`, and in
 * `s3_versions.tags` for each version of a versioned bucket), so a new write starts with the
 * tags it was written with and an old version keeps its own.
 */

/** The tags of one object version (versionId absent in a never-versioned bucket). */
export interface TaggedVersion {
  readonly versionId?: string;
  readonly tags: Readonly<Record<string, string>>;
}

const parseTags = (json: string | null | undefined): Record<string, string> =>
  json ? (JSON.parse(json) as Record<string, string>) : {};

const noSuchKey = (key: string) =>
  new ObjectStoreError('NoSuchKey', 'The specified key does not exist.', { Key: key });

/** Reads the tags of the current object or of a version (inside or outside a transaction). */
export async function readTags(
  tx: Tx,
  state: VersioningState,
  bucket: string,
  key: string,
  versionId: string | undefined,
): Promise<TaggedVersion> {
  if (versionId === undefined) {
    const row = await tx
      .selectFrom('s3_objects')
      .select(['tags', 'version_id'])
      .where('bucket', '=', bucket)
      .where('key', '=', key)
      .executeTakeFirst();
    if (!row) throw noSuchKey(key);
    return { ...(row.version_id ? { versionId: row.version_id } : {}), tags: parseTags(row.tags) };
  }
  const { info } = await findVersion(tx, state, bucket, key, versionId);
  if (info.isDeleteMarker) {
    throw new ObjectStoreError(
      'MethodNotAllowed',
      'The specified method is not allowed against this resource: the version is a delete marker.',
      { Key: key, VersionId: versionId },
    );
  }
  return { ...(state !== null ? { versionId } : {}), tags: info.tags ?? {} };
}

/** Replaces the tags of the current object or of a version, in both tables where it lives. */
export async function writeTags(
  tx: Tx,
  state: VersioningState,
  bucket: string,
  key: string,
  versionId: string | undefined,
  tags: Readonly<Record<string, string>>,
): Promise<TaggedVersion> {
  const target = await readTags(tx, state, bucket, key, versionId);
  const json = Object.keys(tags).length > 0 ? JSON.stringify(tags) : null;
  let q = tx
    .updateTable('s3_objects')
    .set({ tags: json })
    .where('bucket', '=', bucket)
    .where('key', '=', key);
  if (target.versionId !== undefined) q = q.where('version_id', '=', target.versionId);
  await q.execute();
  if (target.versionId !== undefined) {
    await tx
      .updateTable('s3_versions')
      .set({ tags: json })
      .where('bucket', '=', bucket)
      .where('key', '=', key)
      .where('version_id', '=', target.versionId)
      .execute();
  }
  return { ...(target.versionId !== undefined ? { versionId: target.versionId } : {}), tags };
}
