import type { Kysely } from 'kysely';
import type { BlobEntry, BlobStore } from './blob-store.js';
import type { ObjectsTables } from './tables.js';

const BATCH = 500;

/**
 * Deletes every blob that no object, version or part row refers to and that is older than `graceMs`
 * (a younger one may be a write whose row has not committed yet, perhaps on another replica),
 * and the blob store's unfinished uploads older than that. Blob times are the store's wall-clock
 * times, so the cutoff is too. @returns how many blobs and uploads were removed.
 */
export async function sweepOrphanBlobs(
  db: Kysely<ObjectsTables>,
  blobs: BlobStore,
  graceMs: number,
): Promise<{ orphanBlobsRemoved: number; staleUploadsAborted: number }> {
  const cutoffMs = Date.now() - graceMs;
  let orphanBlobsRemoved = 0;
  const flush = async (entries: BlobEntry[]) => {
    const ids = entries.map((e) => e.id);
    const referenced = new Set<string>();
    for (const r of await db
      .selectFrom('s3_objects')
      .select('blob_id')
      .where('blob_id', 'in', ids)
      .execute())
      referenced.add(r.blob_id);
    for (const r of await db
      .selectFrom('s3_versions')
      .select('blob_id')
      .where('blob_id', 'in', ids)
      .execute())
      if (r.blob_id !== null) referenced.add(r.blob_id);
    for (const r of await db
      .selectFrom('s3_parts')
      .select('blob_id')
      .where('blob_id', 'in', ids)
      .execute())
      referenced.add(r.blob_id);
    const doomed: string[] = [];
    for (const e of entries) {
      if (referenced.has(e.id)) continue;
      if (graceMs > 0 && (await e.modifiedMs()) > cutoffMs) continue;
      doomed.push(e.id);
    }
    await blobs.delete(doomed);
    orphanBlobsRemoved += doomed.length;
  };
  let batch: BlobEntry[] = [];
  for await (const entry of blobs.list()) {
    batch.push(entry);
    if (batch.length >= BATCH) {
      await flush(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await flush(batch);
  const staleUploadsAborted = blobs.abortStaleUploads ? await blobs.abortStaleUploads(cutoffMs) : 0;
  return { orphanBlobsRemoved, staleUploadsAborted };
}
