import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * The at-rest format of an encrypted object: the plaintext cut into 64 KiB chunks, each sealed
 * with AES-256-GCM under the object's own random data key (like MinIO's DARE). Because every
 * object has a fresh key, the 96-bit nonce can be the chunk's index; the additional data binds
 * the index and whether the chunk is the last, so chunks cannot be reordered, dropped or the
 * object truncated at a chunk edge without the tag check failing. A ranged read decrypts only
 * the chunks that cover the range.
 */
export const CHUNK_PLAIN_BYTES = 64 * 1024;
/** GCM tag bytes appended to each chunk. */
export const TAG_BYTES = 16;
/** Bytes a sealed chunk holds on disk. */
export const CHUNK_SEALED_BYTES = CHUNK_PLAIN_BYTES + TAG_BYTES;
/** Bytes of a data key (AES-256). */
export const KEY_BYTES = 32;

/** Raised when a chunk's tag does not verify: tampered or truncated bytes, or the wrong key. */
export class TamperedCiphertextError extends Error {
  constructor(chunk: number) {
    super(`encrypted object chunk ${chunk} failed authentication (damaged bytes or wrong key)`);
    this.name = 'TamperedCiphertextError';
  }
}

/** A fresh random data key. */
export function newDataKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** The stored (sealed) size of a plaintext of `plainSize` bytes. */
export function sealedSize(plainSize: number): number {
  const chunks = Math.max(1, Math.ceil(plainSize / CHUNK_PLAIN_BYTES));
  return plainSize + chunks * TAG_BYTES;
}

/** The plaintext size of a sealed blob of `sealed` bytes (inverse of `sealedSize`). */
export function plainSizeOf(sealed: number): number {
  const chunks = Math.max(1, Math.ceil(sealed / CHUNK_SEALED_BYTES));
  return sealed - chunks * TAG_BYTES;
}

function nonce(index: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeUIntBE(index, 6, 6);
  return n;
}

function aad(index: number, final: boolean): Buffer {
  const a = Buffer.alloc(9);
  a.writeUIntBE(index, 2, 6);
  a[8] = final ? 1 : 0;
  return a;
}

/** Seals one chunk. */
export function sealChunk(key: Buffer, index: number, plain: Buffer, final: boolean): Buffer {
  const c = createCipheriv('aes-256-gcm', key, nonce(index));
  c.setAAD(aad(index, final));
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([body, c.getAuthTag()]);
}

/** Opens one sealed chunk; throws `TamperedCiphertextError` when its tag does not verify. */
export function openChunk(key: Buffer, index: number, sealed: Buffer, final: boolean): Buffer {
  if (sealed.length < TAG_BYTES) throw new TamperedCiphertextError(index);
  const d = createDecipheriv('aes-256-gcm', key, nonce(index));
  d.setAAD(aad(index, final));
  d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG_BYTES)), d.final()]);
  } catch {
    throw new TamperedCiphertextError(index);
  }
}

/** Bytes received but not yet cut into chunks: `take(n)` returns up to the first `n` of them. */
class ChunkBuffer {
  private parts: Buffer[] = [];
  bytes = 0;

  add(data: Buffer): void {
    this.parts.push(data);
    this.bytes += data.length;
  }

  take(n: number): Buffer {
    const all = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    const chunk = all.subarray(0, n);
    const rest = all.subarray(chunk.length);
    this.parts = rest.length > 0 ? [rest] : [];
    this.bytes = rest.length;
    return chunk;
  }
}

/** A stream plaintext → sealed chunks (the last chunk is flagged final; empty input → one chunk). */
export function encryptStream(key: Buffer): Transform {
  const pending = new ChunkBuffer();
  let index = 0;
  const take = (): Buffer => pending.take(CHUNK_PLAIN_BYTES);
  return new Transform({
    transform(data: Buffer, _enc, done: TransformCallback) {
      pending.add(data);
      // Keep at least one byte back: only at the end do we know which chunk is the last.
      while (pending.bytes > CHUNK_PLAIN_BYTES) this.push(sealChunk(key, index++, take(), false));
      done();
    },
    flush(done: TransformCallback) {
      this.push(sealChunk(key, index++, take(), true));
      done();
    },
  });
}

/** Which sealed bytes a plaintext range needs, and how to trim the opened chunks. */
export interface SealedRange {
  /** First sealed byte to read (inclusive). */
  readonly start: number;
  /** Last sealed byte to read (inclusive). */
  readonly end: number;
  /** Index of the first chunk read. */
  readonly firstChunk: number;
  /** Plaintext bytes to drop from the first opened chunk. */
  readonly skip: number;
  /** Plaintext bytes to pass on in all. */
  readonly length: number;
  /** Index of the object's last chunk (it is opened with the final flag). */
  readonly lastChunkOfObject: number;
}

/** Maps the plaintext range [start, end] (inclusive) of an object of `plainSize` bytes. */
export function sealedRange(plainSize: number, start: number, end: number): SealedRange {
  const total = sealedSize(plainSize);
  const firstChunk = Math.floor(start / CHUNK_PLAIN_BYTES);
  const lastChunk = Math.floor(Math.max(end, start) / CHUNK_PLAIN_BYTES);
  const lastChunkOfObject = Math.max(0, Math.ceil(plainSize / CHUNK_PLAIN_BYTES) - 1);
  return {
    start: firstChunk * CHUNK_SEALED_BYTES,
    end: Math.min(total, (lastChunk + 1) * CHUNK_SEALED_BYTES) - 1,
    firstChunk,
    skip: start - firstChunk * CHUNK_PLAIN_BYTES,
    length: plainSize === 0 ? 0 : end - start + 1,
    lastChunkOfObject,
  };
}

/** A stream sealed bytes of `range` → the range's plaintext; tampering errors the stream. */
export function decryptStream(key: Buffer, range: SealedRange): Transform {
  const pending = new ChunkBuffer();
  let index = range.firstChunk;
  let skip = range.skip;
  let left = range.length;
  const emit = (t: Transform, sealed: Buffer): void => {
    const plain = openChunk(key, index, sealed, index === range.lastChunkOfObject);
    index++;
    const from = Math.min(skip, plain.length);
    skip -= from;
    const out = plain.subarray(from, from + Math.min(left, plain.length - from));
    left -= out.length;
    if (out.length > 0) t.push(out);
  };
  const take = (): Buffer => pending.take(CHUNK_SEALED_BYTES);
  return new Transform({
    transform(data: Buffer, _enc, done: TransformCallback) {
      pending.add(data);
      try {
        while (pending.bytes >= CHUNK_SEALED_BYTES) emit(this, take());
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        if (pending.bytes > 0) emit(this, take());
        if (left > 0) throw new TamperedCiphertextError(index);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
}
