import { ObjectStoreError } from '../errors.js';
import type { Tx } from '../tables.js';
import { defaultSse } from './bucket-encryption.js';
import { dataKeyOf, newSseRecord, type SseRecord, type SseWrite } from './sealed.js';

/** The object store's keys: the SSE-S3 master key, and the record + data key a write gets. */
export class SseKeys {
  /** @param master the SSE-S3 master key (keys.ts loadMasterKey); without it SSE is refused. */
  constructor(private readonly master: Buffer | undefined) {}

  /** The SSE-S3 master key. @throws InvalidRequest when this store was built without one. */
  masterKey(): Buffer {
    if (!this.master) {
      throw new ObjectStoreError(
        'InvalidRequest',
        'Server-side encryption is not configured on this object store (no master key).',
      );
    }
    return this.master;
  }

  /** The encryption a write gets: what it asked for, else its bucket's default (else none). */
  async forWrite(
    db: Tx,
    bucket: string,
    asked: SseWrite | undefined,
  ): Promise<{ record: SseRecord; dataKey: Buffer } | undefined> {
    const want = asked ?? (await defaultSse(db, bucket));
    return want ? newSseRecord(this.masterKey(), want) : undefined;
  }

  /** A multipart upload's encryption (its asked mode, else the bucket's default), as a column. */
  async uploadColumn(db: Tx, bucket: string, asked: SseWrite | undefined) {
    const sse = await this.forWrite(db, bucket, asked);
    return sse ? JSON.stringify(sse.record) : undefined;
  }

  /**
   * The data key to read an object sealed as `record` (undefined: a plain object read without a
   * customer key). SSE-C: the key is checked before a byte is read (missing → 400, wrong → 403).
   */
  readKey(record: SseRecord | undefined, customerKey: Buffer | undefined): Buffer | undefined {
    return record || customerKey
      ? dataKeyOf(this.master ?? Buffer.alloc(32), record, customerKey)
      : undefined;
  }
}
