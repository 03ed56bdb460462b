import type { BlobHandle } from '../blob-store.js';
import type { ObjectHandle, ObjectInfo } from '../object-store.js';
import { verifyBuffer, verifyStream, type Integrity } from '../verified-read.js';
import { collect, readSealed, type SseRecord } from './sealed.js';

/**
 * A handle on an encrypted object: reads open only the chunks a range needs; whole reads verify.
 * No `send` fast path: the blob holds ciphertext.
 */
export function sealedHandle(
  info: ObjectInfo,
  blob: BlobHandle,
  record: SseRecord,
  dataKey: Buffer,
  where: string,
  want: Integrity | undefined,
): ObjectHandle {
  const open = (range: { start: number; end: number } | undefined) =>
    readSealed(blob, record, dataKey, info.size, range);
  return {
    info,
    read: (range) => (range ? open(range) : verifyStream(info, open(undefined), where, want)),
    readBuffer: async (range) =>
      range
        ? collect(open(range))
        : verifyBuffer(info, await collect(open(undefined)), where, want),
    close: () => blob.close(),
  };
}
