import type { Kysely, Transaction } from 'kysely';
import type { ObjectChecksum, ObjectInfo } from './object-store.js';

/** The object store's tables (created by `migrations.ts`), as Kysely sees them. */
export type ObjectsTables = {
  s3_buckets: {
    name: string;
    created_at_ms: number;
    versioning: string | null;
    tags: string | null;
    /** Migration 0120: the bucket's default encryption (JSON), NULL when none. */
    encryption?: string | null;
  };
  s3_objects: {
    bucket: string;
    key: string;
    blob_id: string;
    size: number;
    etag: string;
    content_type: string;
    metadata: string;
    headers: string;
    checksum: string | null;
    parts_count: number | null;
    last_modified_ms: number;
    version_id: string | null;
    tags: string | null;
    /** Migration 0120: how the bytes are sealed (JSON SseRecord); NULL: plain. */
    sse?: string | null;
    /** Migration 0170: the server's CRC32 of the bytes (verified reads); NULL: none kept. */
    crc32?: number | string | null;
  };
  s3_versions: {
    bucket: string;
    key: string;
    version_id: string;
    seq: number;
    is_delete_marker: number;
    blob_id: string | null;
    size: number;
    etag: string;
    content_type: string;
    metadata: string;
    headers: string;
    checksum: string | null;
    parts_count: number | null;
    last_modified_ms: number;
    tags: string | null;
    /** Migration 0120: how the bytes are sealed (JSON SseRecord); NULL: plain. */
    sse?: string | null;
  };
  s3_uploads: {
    upload_id: string;
    bucket: string;
    key: string;
    content_type: string;
    metadata: string;
    headers: string;
    initiated_at_ms: number;
    tags: string | null;
    /** Migration 0140: the checksum algorithm and type (COMPOSITE/FULL_OBJECT) at Create. */
    checksum_algorithm?: string | null;
    checksum_type?: string | null;
    /** Migration 0120: the upload's encryption (JSON SseRecord); NULL: plain. */
    sse?: string | null;
  };
  s3_parts: {
    upload_id: string;
    part_number: number;
    blob_id: string;
    size: number;
    etag: string;
    last_modified_ms: number;
    /** Migration 0140: the part's verified checksum (JSON ObjectChecksum). */
    checksum?: string | null;
    /** Migration 0120: the part's salt (JSON `{ "salt": … }`) when the upload is encrypted. */
    sse?: string | null;
  };
};

export type ObjectRow = ObjectsTables['s3_objects'];
export type VersionRow = ObjectsTables['s3_versions'];
/** A transaction or the database itself: reads that may run inside or outside a commit. */
export type Tx = Transaction<ObjectsTables> | Kysely<ObjectsTables>;

/** S3's Content-Type for objects stored without one. */
export const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';

/** Maps a row of `s3_objects` to the port's {@link ObjectInfo} (bigint columns become numbers). */
export function rowToInfo(
  row: Omit<ObjectRow, 'blob_id' | 'version_id' | 'tags'> & {
    version_id?: string | null;
    tags?: string | null;
    sse?: string | null;
    crc32?: number | string | null;
  },
): ObjectInfo {
  return {
    bucket: row.bucket,
    key: row.key,
    size: Number(row.size),
    etag: row.etag,
    contentType: row.content_type,
    lastModifiedMs: Number(row.last_modified_ms),
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    headers: JSON.parse(row.headers) as Record<string, string>,
    ...(row.checksum ? { checksum: JSON.parse(row.checksum) as ObjectChecksum } : {}),
    ...(row.parts_count !== null && row.parts_count !== undefined
      ? { partsCount: Number(row.parts_count) }
      : {}),
    ...(row.version_id !== null && row.version_id !== undefined
      ? { versionId: row.version_id }
      : {}),
    ...(row.tags ? { tags: JSON.parse(row.tags) as Record<string, string> } : {}),
    ...(row.sse ? { encryption: (JSON.parse(row.sse) as { mode: 'SSE-S3' | 'SSE-C' }).mode } : {}),
    // bigint: PostgreSQL's driver returns it as a string.
    ...(row.crc32 !== null && row.crc32 !== undefined ? { storedCrc32: Number(row.crc32) } : {}),
  };
}
