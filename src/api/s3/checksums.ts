import { createHash, type Hash } from 'node:crypto';
import { crc32, crc32c } from '@node-rs/crc32';
import type { ChecksumAlgorithm } from '../../objects/index.js';

/** An incremental checksum whose digest S3 writes as base64 (`x-amz-checksum-<algorithm>`). */
export interface Checksum {
  update(data: Buffer): void;
  digestBase64(): string;
}

let crc64Tables: { lo: Uint32Array; hi: Uint32Array } | undefined;

function makeCrc64Tables() {
  // Reflected polynomial of CRC-64/NVME: 0x9a6c9329ac4bc9b5.
  const polyLo = 0xac4bc9b5;
  const polyHi = 0x9a6c9329;
  const lo = new Uint32Array(256);
  const hi = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let l = i;
    let h = 0;
    for (let k = 0; k < 8; k++) {
      const bit = l & 1;
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
      h = h >>> 1;
      if (bit) {
        l = (l ^ polyLo) >>> 0;
        h = (h ^ polyHi) >>> 0;
      }
    }
    lo[i] = l;
    hi[i] = h;
  }
  return { lo, hi };
}

/** CRC-64/NVME as S3 computes it; state kept as two 32-bit halves. */
export class Crc64Nvme implements Checksum {
  private lo = 0xffffffff;
  private hi = 0xffffffff;
  update(data: Buffer): void {
    const { lo: TL, hi: TH } = (crc64Tables ??= makeCrc64Tables());
    let lo = this.lo;
    let hi = this.hi;
    for (let i = 0; i < data.length; i++) {
      const idx = (lo ^ data[i]!) & 0xff;
      lo = (((lo >>> 8) | (hi << 24)) ^ TL[idx]!) >>> 0;
      hi = ((hi >>> 8) ^ TH[idx]!) >>> 0;
    }
    this.lo = lo;
    this.hi = hi;
  }
  digest(): Buffer {
    const out = Buffer.alloc(8);
    out.writeUInt32BE(~this.hi >>> 0, 0);
    out.writeUInt32BE(~this.lo >>> 0, 4);
    return out;
  }
  digestBase64(): string {
    return this.digest().toString('base64');
  }
}

class Crc32Checksum implements Checksum {
  private crc = 0;
  constructor(private readonly castagnoli: boolean) {}
  update(data: Buffer): void {
    this.crc = this.castagnoli ? crc32c(data, this.crc) : crc32(data, this.crc);
  }
  digestBase64(): string {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.crc >>> 0);
    return out.toString('base64');
  }
}

class HashChecksum implements Checksum {
  private readonly hash: Hash;
  constructor(algorithm: string) {
    this.hash = createHash(algorithm);
  }
  update(data: Buffer): void {
    this.hash.update(data);
  }
  digestBase64(): string {
    return this.hash.digest('base64');
  }
}

export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  switch (algorithm) {
    case 'CRC32':
      return new Crc32Checksum(false);
    case 'CRC32C':
      return new Crc32Checksum(true);
    case 'CRC64NVME':
      return new Crc64Nvme();
    case 'SHA1':
      return new HashChecksum('sha1');
    case 'SHA256':
      return new HashChecksum('sha256');
  }
}

/** Digest length in bytes, to reject malformed values before reading a body. */
export const CHECKSUM_BYTES: Record<ChecksumAlgorithm, number> = {
  CRC32: 4,
  CRC32C: 4,
  CRC64NVME: 8,
  SHA1: 20,
  SHA256: 32,
};

/** Reflected polynomial and width of each CRC S3 can combine into a full-object checksum. */
const CRC_PARAMS: Partial<
  Record<ChecksumAlgorithm, { readonly poly: bigint; readonly width: number }>
> = {
  CRC32: { poly: 0xedb88320n, width: 32 },
  CRC32C: { poly: 0x82f63b78n, width: 32 },
  CRC64NVME: { poly: 0x9a6c9329ac4bc9b5n, width: 64 },
};

/** Whether S3 computes a FULL_OBJECT checksum of multipart uploads with this algorithm. */
export const combinable = (algorithm: ChecksumAlgorithm): boolean =>
  CRC_PARAMS[algorithm] !== undefined;

/** a·b modulo the polynomial, in the reflected bit order CRCs use (zlib's multmodp). */
function multModP(a: bigint, b: bigint, poly: bigint, width: number): bigint {
  let m = 1n << BigInt(width - 1);
  let p = 0n;
  while (m !== 0n) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1n)) === 0n) break;
    }
    m >>= 1n;
    b = b & 1n ? (b >> 1n) ^ poly : b >> 1n;
  }
  return p;
}

/** x^(8·bytes) modulo the polynomial: what appending `bytes` zero bytes does to a CRC. */
function xPowBytes(bytes: number, poly: bigint, width: number): bigint {
  let p = 1n << BigInt(width - 1); // x^0
  let sq = 1n << BigInt(width - 2); // x^1, squared each step: x^(2^k)
  let n = BigInt(bytes) * 8n;
  while (n > 0n) {
    if (n & 1n) p = multModP(sq, p, poly, width);
    sq = multModP(sq, sq, poly, width);
    n >>= 1n;
  }
  return p;
}

/**
 * The CRC of the concatenation of parts from each part's CRC (base64) and size: S3's FULL_OBJECT
 * checksum of a multipart upload (zlib's crc32_combine, for CRC32, CRC32C and CRC64NVME alike:
 * all three start from and finish with all ones, so the combination is linear).
 */
export function combineCrcs(
  algorithm: ChecksumAlgorithm,
  parts: readonly { readonly value: string; readonly size: number }[],
): string {
  const params = CRC_PARAMS[algorithm];
  if (!params) throw new Error(`${algorithm} checksums cannot be combined`);
  const { poly, width } = params;
  const toBig = (b64: string) => BigInt('0x' + Buffer.from(b64, 'base64').toString('hex'));
  let crc = 0n;
  let first = true;
  for (const p of parts) {
    const c = toBig(p.value);
    crc = first ? c : multModP(xPowBytes(p.size, poly, width), crc, poly, width) ^ c;
    first = false;
  }
  return Buffer.from(crc.toString(16).padStart(width / 4, '0'), 'hex').toString('base64');
}

/** S3's COMPOSITE checksum of a multipart upload: the checksum of the parts' digests, `-N`. */
export function compositeChecksum(
  algorithm: ChecksumAlgorithm,
  partValues: readonly string[],
): string {
  const c = createChecksum(algorithm);
  c.update(Buffer.concat(partValues.map((v) => Buffer.from(v, 'base64'))));
  return `${c.digestBase64()}-${partValues.length}`;
}
