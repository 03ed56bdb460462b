import type { Kysely, Transaction } from 'kysely';
import type { MigrationSet } from '../store/index.js';
import type { CompletedPart, ObjectPart } from './object-store.js';
import type { ObjectsTables } from './tables.js';
import { unquote } from './write-rules.js';

/**
 * What a completed multipart upload leaves behind besides the object: its parts' sizes, ETags and
 * checksums (GetObject `?partNumber=N`, GetObjectAttributes), and a record of the completion so
 * that a repeated CompleteMultipartUpload with the same parts answers the same ETag, as S3 does.
 */

/** How long a completed upload's record answers a repeated Complete (AWS keeps it a while too). */
export const COMPLETED_UPLOAD_RETENTION_MS = 24 * 60 * 60 * 1000;

/** The tables this module adds (migration `0140_objects_completed_parts`). */
export type CompletedPartsTables = {
  s3_object_parts: {
    bucket: string;
    key: string;
    etag: string;
    part_number: number;
    size: number;
    part_etag: string;
    checksum: string | null;
  };
  s3_completed_uploads: {
    upload_id: string;
    bucket: string;
    key: string;
    etag: string;
    parts: string;
    completed_at_ms: number;
  };
};

type Db = Kysely<ObjectsTables & CompletedPartsTables>;
type Tx = Transaction<ObjectsTables & CompletedPartsTables>;

/** Migration 0140 (s3fix's range): the two tables above, on SQLite and PostgreSQL. */
export const completedPartsMigrations: MigrationSet = {
  '0140_objects_completed_parts': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('s3_object_parts')
        .addColumn('bucket', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('part_number', 'integer', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('part_etag', 'text', (c) => c.notNull())
        .addColumn('checksum', 'text')
        .addPrimaryKeyConstraint('s3_object_parts_pk', ['bucket', 'key', 'part_number'])
        .execute();
      await db.schema
        .createTable('s3_completed_uploads')
        .addColumn('upload_id', 'text', (c) => c.primaryKey())
        .addColumn('bucket', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('parts', 'text', (c) => c.notNull())
        .addColumn('completed_at_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('s3_completed_uploads_time')
        .on('s3_completed_uploads')
        .column('completed_at_ms')
        .execute();
      // Multipart checksums: the upload's algorithm and type, each part's checksum.
      await db.schema.alterTable('s3_uploads').addColumn('checksum_algorithm', 'text').execute();
      await db.schema.alterTable('s3_uploads').addColumn('checksum_type', 'text').execute();
      await db.schema.alterTable('s3_parts').addColumn('checksum', 'text').execute();
    },
  },
};

/** The part list as a comparable string: numbers and unquoted ETags, in order. */
const partsSignature = (parts: readonly CompletedPart[]): string =>
  parts.map((p) => `${p.partNumber}:${unquote(p.etag)}`).join(',');

/**
 * Inside Complete's transaction: replaces the key's part rows with the new object's parts and
 * records the completion (dropping records past their retention).
 */
export async function recordCompletion(
  tx: Transaction<ObjectsTables>,
  record: {
    readonly uploadId: string;
    readonly bucket: string;
    readonly key: string;
    readonly etag: string;
    readonly parts: readonly ObjectPart[];
    readonly nowMs: number;
  },
): Promise<void> {
  const t = tx as unknown as Tx;
  const { bucket, key, etag } = record;
  await t
    .deleteFrom('s3_object_parts')
    .where('bucket', '=', bucket)
    .where('key', '=', key)
    .execute();
  for (let i = 0; i < record.parts.length; i += 200) {
    await t
      .insertInto('s3_object_parts')
      .values(
        record.parts.slice(i, i + 200).map((p) => ({
          bucket,
          key,
          etag,
          part_number: p.partNumber,
          size: p.size,
          part_etag: p.etag,
          checksum: p.checksum ? JSON.stringify(p.checksum) : null,
        })),
      )
      .execute();
  }
  await t
    .deleteFrom('s3_completed_uploads')
    .where('completed_at_ms', '<', record.nowMs - COMPLETED_UPLOAD_RETENTION_MS)
    .execute();
  await t
    .insertInto('s3_completed_uploads')
    .values({
      upload_id: record.uploadId,
      bucket,
      key,
      etag,
      parts: partsSignature(record.parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag }))),
      completed_at_ms: record.nowMs,
    })
    .execute();
}

/**
 * The ETag a repeated Complete of `uploadId` with the same `parts` answers, if the upload was
 * completed within the retention window; undefined otherwise (then: NoSuchUpload).
 */
export async function repeatedCompletion(
  db: Kysely<ObjectsTables>,
  bucket: string,
  key: string,
  uploadId: string,
  parts: readonly CompletedPart[],
  nowMs: number,
): Promise<string | undefined> {
  const row = await (db as unknown as Db)
    .selectFrom('s3_completed_uploads')
    .selectAll()
    .where('upload_id', '=', uploadId)
    .executeTakeFirst();
  if (!row || row.bucket !== bucket || row.key !== key) return undefined;
  if (Number(row.completed_at_ms) < nowMs - COMPLETED_UPLOAD_RETENTION_MS) return undefined;
  return row.parts === partsSignature(parts) ? row.etag : undefined;
}

/** The parts of the object `bucket/key` whose ETag is `etag`, in order ([] for a single PUT). */
export async function objectParts(
  db: Kysely<ObjectsTables>,
  bucket: string,
  key: string,
  etag: string,
): Promise<ObjectPart[]> {
  const rows = await (db as unknown as Db)
    .selectFrom('s3_object_parts')
    .selectAll()
    .where('bucket', '=', bucket)
    .where('key', '=', key)
    .where('etag', '=', etag)
    .orderBy('part_number')
    .execute();
  return rows.map((r) => ({
    partNumber: Number(r.part_number),
    size: Number(r.size),
    etag: r.part_etag,
    ...(r.checksum ? { checksum: JSON.parse(r.checksum) as ObjectPart['checksum'] } : {}),
  }));
}
