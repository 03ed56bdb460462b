import type { BlobHandle } from './blob-store.js';
import { requireBucket, type StoreCore } from './buckets.js';
import { objectParts } from './completed-parts.js';
import { sealedHandle } from './encryption/sealed-handle.js';
import { blobSize, parseSse } from './encryption/sealed.js';
import type { ObjectHandle, ObjectInfo } from './object-store.js';
import { selectRow } from './object-rows.js';
import { rowToInfo } from './tables.js';
import { integrityOf, verifiedSend, verifyBuffer, verifyStream } from './verified-read.js';

/**
 * Opens the current version of an object (or the named one) and pins it: the handle reads that
 * version even when a newer one commits meanwhile. Undefined: no such key. @throws NoSuchBucket,
 * and for SSE-C a missing or wrong `customerKey` before a byte is read.
 */
export async function openObject(
  core: StoreCore,
  bucket: string,
  key: string,
  versionId?: string,
  customerKey?: Buffer,
): Promise<ObjectHandle | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const row = await selectRow(core, bucket, key, versionId);
    if (!row) {
      await requireBucket(core, core.db, bucket);
      return undefined;
    }
    const info = rowToInfo(row);
    const record = parseSse(row.sse);
    const dataKey = core.sse.readKey(record, customerKey);
    const blob = await core.blobs.open(row.blob_id, blobSize(record, info.size));
    // Replaced and removed between the lookup and the open: look again.
    if (!blob) continue;
    // Whole reads are checked against the ETag (bit rot never reaches a client as 200); a
    // multipart object part by part, when its part sizes are known.
    const where = `s3://${bucket}/${key}`;
    const want = integrityOf(
      info,
      info.partsCount !== undefined ? await objectParts(core.db, bucket, key, info.etag) : [],
    );
    if (record && dataKey) return sealedHandle(info, blob, record, dataKey, where, want);
    return plainHandle(info, blob, where, want);
  }
  throw new Error('the object kept changing while it was being opened');
}

/** A handle on a plain object: ranges straight from the blob; whole reads verified. */
function plainHandle(
  info: ObjectInfo,
  blob: BlobHandle,
  where: string,
  want: ReturnType<typeof integrityOf>,
): ObjectHandle {
  return {
    info,
    read: (range) =>
      range ? blob.read(range) : verifyStream(info, blob.read(undefined), where, want),
    readBuffer: async (range) =>
      range
        ? blob.readBuffer(range)
        : verifyBuffer(info, await blob.readBuffer(undefined), where, want),
    // Straight to the socket; a whole read is verified against its ETag on the way.
    ...(blob.send
      ? {
          send: (range, out) =>
            range
              ? blob.send!(range, out)
              : verifiedSend(info, (o) => blob.send!(undefined, o), out, where, want),
        }
      : {}),
    close: () => blob.close(),
  };
}
