import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';

import type { BlobHandle } from '../blob-store.js';
import { ObjectStoreError } from '../errors.js';
import { customerKeyHash, customerKeyMatches, unwrapKey, wrapKey } from './keys.js';
import {
  CHUNK_PLAIN_BYTES,
  CHUNK_SEALED_BYTES,
  TAG_BYTES,
  encryptStream,
  newDataKey,
  openChunk,
  sealedSize,
} from './scheme.js';

/**
 * How an object (or upload, or part) is sealed at rest, as kept in the `sse` column (JSON).
 * `key` is the data key wrapped by the master key (SSE-S3) or by the customer's key (SSE-C);
 * `hash` the salted HMAC of the customer's key (SSE-C only; the key itself is never stored).
 * A multipart object lists its parts: each was sealed under its own key, derived (HKDF) from the
 * upload's data key and the part's random salt, so a re-uploaded part never reuses a key.
 */
export interface SseRecord {
  readonly mode: 'SSE-S3' | 'SSE-C';
  /** Base64 of the wrapped data key. */
  readonly key: string;
  /** Base64 of the SSE-C key's salted HMAC. */
  readonly hash?: string;
  /** Multipart objects: each part's base64 salt and plaintext size, in order. */
  readonly parts?: readonly (readonly [string, number])[];
}

/** What a write asks for: SSE-S3, or SSE-C with the customer's 256-bit key. */
export type SseWrite =
  { readonly mode: 'SSE-S3' } | { readonly mode: 'SSE-C'; readonly customerKey: Buffer };

/** The text AWS answers when an SSE-C object is read without its key. */
export const SSE_C_KEY_MISSING =
  'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.';

/** Parses the `sse` column (NULL: stored plain). */
export function parseSse(column: string | null | undefined): SseRecord | undefined {
  return column ? (JSON.parse(column) as SseRecord) : undefined;
}

/** A new record and its data key for a write. */
export function newSseRecord(
  masterKey: Buffer,
  want: SseWrite,
): { record: SseRecord; dataKey: Buffer } {
  const dataKey = newDataKey();
  if (want.mode === 'SSE-S3') {
    return {
      record: { mode: 'SSE-S3', key: wrapKey(masterKey, dataKey).toString('base64') },
      dataKey,
    };
  }
  return {
    record: {
      mode: 'SSE-C',
      key: wrapKey(want.customerKey, dataKey).toString('base64'),
      hash: customerKeyHash(want.customerKey).toString('base64'),
    },
    dataKey,
  };
}

/**
 * The data key of a sealed object. SSE-C: without `customerKey` → InvalidRequest (AWS's text), a
 * key that is not the one it was written with → AccessDenied. A key given for an object that is
 * not SSE-C → InvalidRequest, as AWS answers.
 */
export function dataKeyOf(
  masterKey: Buffer,
  record: SseRecord | undefined,
  customerKey: Buffer | undefined,
  /** A write with another key than the upload's (UploadPart), or a copy source: 400, as AWS. */
  mismatch: 'AccessDenied' | 'InvalidRequest' = 'AccessDenied',
): Buffer | undefined {
  if (record?.mode !== 'SSE-C') {
    if (customerKey !== undefined) {
      throw new ObjectStoreError(
        'InvalidRequest',
        'The encryption parameters are not applicable to this object.',
      );
    }
    if (!record) return undefined;
    const key = unwrapKey(masterKey, Buffer.from(record.key, 'base64'));
    if (!key) {
      // The master key changed (or replicas do not share one): an operator's problem, not the client's.
      throw new ObjectStoreError(
        'InternalError',
        'The server-side encryption master key cannot open this object (was APIARY_SSE_MASTER_KEY_FILE changed, or do replicas use different keys?)',
      );
    }
    return key;
  }
  if (customerKey === undefined) throw new ObjectStoreError('InvalidRequest', SSE_C_KEY_MISSING);
  const key =
    record.hash && customerKeyMatches(customerKey, Buffer.from(record.hash, 'base64'))
      ? unwrapKey(customerKey, Buffer.from(record.key, 'base64'))
      : undefined;
  if (!key && mismatch === 'InvalidRequest') {
    throw new ObjectStoreError(
      'InvalidRequest',
      'The provided encryption parameters did not match the ones used originally.',
    );
  }
  if (!key) {
    throw new ObjectStoreError(
      'AccessDenied',
      'Access Denied: the SSE-C key does not match the key the object was written with.',
    );
  }
  return key;
}

/** The key a multipart part is sealed under: HKDF of the upload's data key and the part's salt. */
export function partKey(dataKey: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', dataKey, salt, 'apiary-sse-part', 32));
}

/** A fresh random salt for a part (base64). */
export const newPartSalt = (): string => randomBytes(16).toString('base64');

/** The bytes the blob holds for an object of `size` plaintext bytes sealed as `record`. */
export function blobSize(record: SseRecord | undefined, size: number): number {
  if (!record) return size;
  if (record.parts) return record.parts.reduce((n, [, s]) => n + sealedSize(s), 0);
  return sealedSize(size);
}

/** What sealing measured of the plaintext: its size and MD5 (the ETag of a single PUT). */
export interface PlainDigest {
  readonly size: number;
  readonly md5: Buffer;
}

/**
 * The sealed stream of `body` under `dataKey`, and (once the stream has ended) the plaintext's
 * size and MD5: the blob store measures only what it writes, which is ciphertext.
 */
export function sealBody(
  body: Readable | Buffer | string,
  dataKey: Buffer,
): { sealed: Readable; plain: () => PlainDigest } {
  const md5 = createHash('md5');
  let size = 0;
  let digest: Buffer | undefined;
  const measure = new Transform({
    transform(data: Buffer, _enc, done: TransformCallback) {
      md5.update(data);
      size += data.length;
      done(null, data);
    },
  });
  const source =
    typeof body === 'string' || Buffer.isBuffer(body) ? Readable.from([Buffer.from(body)]) : body;
  source.on('error', (err) => measure.destroy(err));
  const sealed = source.pipe(measure).pipe(encryptStream(dataKey));
  measure.on('error', (err) => sealed.destroy(err));
  return {
    sealed,
    plain: () => ({ size, md5: (digest ??= md5.digest()) }),
  };
}

/** One sealed chunk a read opens: where it lies in the blob and what of its plaintext to keep. */
interface ChunkStep {
  readonly key: Buffer;
  readonly index: number;
  readonly sealedBytes: number;
  readonly final: boolean;
  readonly skip: number;
  readonly take: number;
}

/** The segments of a sealed object: one for a single PUT, one per part for a multipart object. */
function segments(
  record: SseRecord,
  dataKey: Buffer,
  size: number,
): { key: Buffer; plain: number }[] {
  if (!record.parts) return [{ key: dataKey, plain: size }];
  return record.parts.map(([salt, plain]) => ({
    key: partKey(dataKey, Buffer.from(salt, 'base64')),
    plain,
  }));
}

/**
 * Plans the read of plaintext `range` (inclusive; whole object when absent): the contiguous span
 * of sealed bytes to read and the chunks in it. Only the chunks that cover the range are read.
 */
export function planSealedRead(
  record: SseRecord,
  dataKey: Buffer,
  size: number,
  range: { start: number; end: number } | undefined,
): { start: number; end: number; steps: ChunkStep[] } {
  const steps: ChunkStep[] = [];
  let plainAt = 0;
  let sealedAt = 0;
  let first: number | undefined;
  let last = 0;
  for (const seg of segments(record, dataKey, size)) {
    const chunks = Math.max(1, Math.ceil(seg.plain / CHUNK_PLAIN_BYTES));
    const lo = range ? Math.max(range.start, plainAt) : plainAt;
    const hi = range ? Math.min(range.end, plainAt + seg.plain - 1) : plainAt + seg.plain - 1;
    if (!range || lo <= hi) {
      const c0 = range ? Math.floor((lo - plainAt) / CHUNK_PLAIN_BYTES) : 0;
      const c1 = range ? Math.floor((hi - plainAt) / CHUNK_PLAIN_BYTES) : chunks - 1;
      for (let c = c0; c <= c1; c++) {
        const chunkPlainStart = plainAt + c * CHUNK_PLAIN_BYTES;
        const chunkPlain = Math.min(CHUNK_PLAIN_BYTES, seg.plain - c * CHUNK_PLAIN_BYTES);
        const from = Math.max(lo, chunkPlainStart) - chunkPlainStart;
        const to = Math.min(hi, chunkPlainStart + chunkPlain - 1) - chunkPlainStart;
        const offset = sealedAt + c * CHUNK_SEALED_BYTES;
        first ??= offset;
        last = offset + chunkPlain + TAG_BYTES - 1;
        steps.push({
          key: seg.key,
          index: c,
          sealedBytes: chunkPlain + TAG_BYTES,
          final: c === chunks - 1,
          skip: from,
          take: Math.max(0, to - from + 1),
        });
      }
    }
    plainAt += seg.plain;
    sealedAt += sealedSize(seg.plain);
  }
  return { start: first ?? 0, end: last, steps };
}

/** Opens the planned chunks from the sealed bytes `source`: tampering errors the stream. */
export function openSealedStream(source: Readable, steps: readonly ChunkStep[]): Readable {
  async function* open(): AsyncGenerator<Buffer> {
    let pending: Buffer[] = [];
    let bytes = 0;
    let i = 0;
    const drain = function* (): Generator<Buffer> {
      while (i < steps.length && bytes >= steps[i]!.sealedBytes) {
        const step = steps[i++]!;
        const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
        const sealed = all.subarray(0, step.sealedBytes);
        const rest = all.subarray(step.sealedBytes);
        pending = rest.length > 0 ? [rest] : [];
        bytes = rest.length;
        let plain: Buffer;
        try {
          plain = openChunk(step.key, step.index, sealed, step.final);
        } catch (err) {
          // A failed tag is damage on disk (the key was checked before): an error, never bad bytes.
          throw new ObjectStoreError('InternalError', (err as Error).message);
        }
        const out = plain.subarray(step.skip, step.skip + step.take);
        if (out.length > 0) yield out;
      }
    };
    for await (const data of source) {
      pending.push(data as Buffer);
      bytes += (data as Buffer).length;
      yield* drain();
    }
    yield* drain();
    // Fewer bytes than the rows promise: a truncated blob is damage, never a short 200.
    if (i < steps.length)
      throw new ObjectStoreError('InternalError', 'encrypted object is truncated');
  }
  return Readable.from(open(), { objectMode: false });
}

/** Reads plaintext `range` of a sealed object from its blob handle. */
export function readSealed(
  blob: BlobHandle,
  record: SseRecord,
  dataKey: Buffer,
  size: number,
  range: { start: number; end: number } | undefined,
): Readable {
  const plan = planSealedRead(record, dataKey, size, range);
  return openSealedStream(blob.read({ start: plan.start, end: plan.end }), plan.steps);
}

/** Collects a stream into one buffer. */
export async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const data of stream) parts.push(data as Buffer);
  return Buffer.concat(parts);
}

/** A copy source's wrong SSE-C key answers 400 (AWS), not the 403 of a GET with a wrong key. */
export function copySourceKeyError(err: unknown): unknown {
  return err instanceof ObjectStoreError && err.code === 'AccessDenied'
    ? new ObjectStoreError(
        'InvalidRequest',
        'The provided encryption parameters did not match the ones used originally.',
      )
    : err;
}
