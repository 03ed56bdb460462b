import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { crc32 } from '@node-rs/crc32';
import { ObjectStoreError } from './errors.js';
import type { ObjectInfo, ObjectPart } from './object-store.js';
import type { SendTarget } from './blob-store.js';

/**
 * What a whole read of an object must hash to: a single-part object's CRC32 when its uploader sent
 * one (`x-amz-checksum-crc32`, verified on the way in — what the AWS SDKs send by default), else
 * the CRC32 the server computed while writing it (`storedCrc32`, fs blob store, every PUT since
 * migration 0170), else its MD5 (its ETag: older objects, other blob stores); a multipart
 * object's part sizes with each part's MD5 and S3's ETag over them (MD5 of the concatenated part
 * digests, `-N`). Undefined when nothing is known to check against
 * (a multipart object completed before part sizes were kept, or an ETag that is not an MD5).
 *
 * Why CRC32 is as good a check here: it guards against damage on disk (bit rot, a torn or
 * truncated blob, a blob swapped for another), not against a forger — and MD5 is no defence
 * against one either. CRC32 catches every burst of up to 32 damaged bits and any other damage but
 * for a 2^-32 chance; it is the check S3 and the SDKs themselves rely on end to end. It costs
 * 0.25–0.3 ms per 4 MiB (@node-rs/crc32, SIMD; zlib.crc32 took 0.87) against MD5's 6.3 ms, on every whole GET.
 */
export type Integrity =
  | { readonly kind: 'md5'; readonly md5: string }
  | { readonly kind: 'crc32'; readonly crc32: number }
  | {
      readonly kind: 'parts';
      readonly sizes: readonly number[];
      readonly partMd5s: readonly string[];
      readonly md5OfMd5s: string;
    };

/** The integrity a whole read of `info` is checked against; `parts` for a multipart object. */
export function integrityOf(
  info: ObjectInfo,
  parts: readonly ObjectPart[] = [],
): Integrity | undefined {
  if (info.partsCount === undefined) {
    if (info.checksum?.algorithm === 'CRC32') {
      const crc = Buffer.from(info.checksum.value, 'base64');
      if (crc.length === 4) return { kind: 'crc32', crc32: crc.readUInt32BE(0) };
    }
    if (info.storedCrc32 !== undefined) return { kind: 'crc32', crc32: info.storedCrc32 };
    const m = /^"([0-9a-f]{32})"$/.exec(info.etag);
    return m ? { kind: 'md5', md5: m[1]! } : undefined;
  }
  const m = /^"([0-9a-f]{32})-(\d+)"$/.exec(info.etag);
  if (!m || parts.length !== Number(m[2]) || parts.length !== info.partsCount) return undefined;
  const partMd5s = parts.map((p) => /^"?([0-9a-f]{32})"?$/.exec(p.etag)?.[1]);
  if (partMd5s.some((d) => d === undefined)) return undefined;
  if (parts.reduce((n, p) => n + p.size, 0) !== info.size) return undefined;
  return {
    kind: 'parts',
    sizes: parts.map((p) => p.size),
    partMd5s: partMd5s as string[],
    md5OfMd5s: m[1]!,
  };
}

/** Hashes a whole read as it passes and says at the end whether it matched. */
class IntegrityHasher {
  private md5: Hash = createHash('md5');
  private crc = 0;
  private part = 0;
  private leftInPart: number;
  private partsOk = true;
  private readonly digests: Buffer[] = [];

  constructor(private readonly want: Integrity) {
    this.leftInPart = want.kind === 'parts' ? (want.sizes[0] ?? 0) : Infinity;
  }

  update(chunk: Buffer): void {
    if (this.want.kind === 'crc32') {
      this.crc = crc32(chunk, this.crc);
      return;
    }
    if (this.want.kind === 'md5') {
      this.md5.update(chunk);
      return;
    }
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(this.leftInPart, chunk.length - off);
      this.md5.update(chunk.subarray(off, off + n));
      off += n;
      this.leftInPart -= n;
      if (this.leftInPart === 0) this.endPart();
      if (this.part >= this.want.sizes.length && off < chunk.length) {
        this.partsOk = false; // more bytes than the parts hold
        return;
      }
    }
  }

  /** Whether everything read hashes to what was expected. */
  matches(): boolean {
    if (this.want.kind === 'crc32') return this.crc === this.want.crc32;
    if (this.want.kind === 'md5') return this.md5.digest('hex') === this.want.md5;
    // Zero-length last parts end here.
    while (this.part < this.want.sizes.length && this.leftInPart === 0) this.endPart();
    if (!this.partsOk || this.part !== this.want.sizes.length) return false;
    return (
      createHash('md5').update(Buffer.concat(this.digests)).digest('hex') === this.want.md5OfMd5s
    );
  }

  private endPart(): void {
    if (this.want.kind !== 'parts') return;
    const digest = this.md5.digest();
    if (digest.toString('hex') !== this.want.partMd5s[this.part]) this.partsOk = false;
    this.digests.push(digest);
    this.part += 1;
    this.md5 = createHash('md5');
    this.leftInPart = this.want.sizes[this.part] ?? 0;
    if (this.part >= this.want.sizes.length) this.leftInPart = Infinity;
  }
}

/** The answer to a blob whose bytes no longer hash to the stored ETag (bit rot, tampering). */
export function corruptObject(info: ObjectInfo, where: string): ObjectStoreError {
  return new ObjectStoreError(
    'InternalError',
    `The stored bytes of ${where} fail their integrity check (${
      integrityOf(info)?.kind !== 'crc32'
        ? `their MD5 differs from the ETag ${info.etag}`
        : info.checksum?.algorithm === 'CRC32'
          ? `their CRC32 differs from the stored checksum ${info.checksum.value}`
          : 'their CRC32 differs from the one computed when they were written'
    }); the object is damaged on disk and was not served. Restore it from a copy.`,
  );
}

/** Checks a whole in-memory read against the ETag. */
export function verifyBuffer(
  info: ObjectInfo,
  bytes: Buffer,
  where: string,
  want: Integrity | undefined = integrityOf(info),
): Buffer {
  if (want === undefined) return bytes;
  const hasher = new IntegrityHasher(want);
  hasher.update(bytes);
  if (!hasher.matches()) throw corruptObject(info, where);
  return bytes;
}

/**
 * Passes a whole read through, hashing it, and holds its last chunk back until the hash is
 * checked: a damaged blob ends in an error before the final bytes, so a client never receives a
 * complete (Content-Length) body of bad bytes.
 */
export function verifyStream(
  info: ObjectInfo,
  source: Readable,
  where: string,
  want: Integrity | undefined = integrityOf(info),
): Readable {
  if (want === undefined) return source;
  const md5 = new IntegrityHasher(want);
  let held: Buffer | undefined;
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      md5.update(chunk);
      if (held) this.push(held);
      held = chunk;
      done();
    },
    flush(done) {
      if (!md5.matches()) return done(corruptObject(info, where));
      if (held) this.push(held);
      done();
    },
  });
  source.on('error', (e) => check.destroy(e));
  check.on('close', () => {
    if (!source.destroyed) source.destroy();
  });
  return source.pipe(check);
}

/**
 * The same check on the direct send path (`BlobHandle.send`): chunks are hashed as they go to the
 * socket, and the object's last byte is held back (copied: the sender reuses its buffers) until
 * the hash is checked. @throws ObjectStoreError InternalError on a damaged blob, before its final bytes.
 */
export async function verifiedSend(
  info: ObjectInfo,
  send: (out: SendTarget) => Promise<void>,
  out: SendTarget,
  where: string,
  want: Integrity | undefined = integrityOf(info),
): Promise<void> {
  if (want === undefined) return send(out);
  const md5 = new IntegrityHasher(want);
  // Only the object's last byte is held back until the hash is checked, as a copy: every chunk
  // (a pooled buffer of sendFd) goes out as it is. Copying each whole chunk to hold it back cost
  // a 1 MiB allocation per MiB sent, and the old-generation collections that came with them.
  const total = info.size;
  let passed = 0;
  let held: Buffer | undefined;
  const writeHeld = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const chunk = held;
      held = undefined;
      if (!chunk) return resolve();
      out.write(chunk, (err) => (err ? reject(err) : resolve()));
    });
  const hashing: SendTarget = {
    get destroyed() {
      return out.destroyed;
    },
    once: (event, listener) => out.once(event, listener),
    off: (event, listener) => out.off(event, listener),
    write(chunk, callback) {
      md5.update(chunk);
      passed += chunk.length;
      if (passed < total || chunk.length === 0) return out.write(chunk, callback);
      held = Buffer.from(chunk.subarray(chunk.length - 1));
      if (chunk.length === 1) {
        callback();
        return true;
      }
      return out.write(chunk.subarray(0, chunk.length - 1), callback);
    },
  };
  await send(hashing);
  if (!md5.matches()) throw corruptObject(info, where);
  await writeHeld();
}
