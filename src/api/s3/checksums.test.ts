import { describe, expect, it } from 'vitest';
import zlib from 'node:zlib';
import { combineCrcs, compositeChecksum, createChecksum, Crc64Nvme } from './checksums.js';

const check = Buffer.from('123456789');

describe('checksums', () => {
  const digestHex = (alg: 'CRC32' | 'CRC32C', pieces: readonly Buffer[]) => {
    const c = createChecksum(alg);
    for (const p of pieces) c.update(p);
    return Buffer.from(c.digestBase64(), 'base64').toString('hex');
  };
  it('computes the CRC-32C check value', () => {
    expect(digestHex('CRC32C', [check])).toBe('e3069283');
  });
  it('computes CRC-32 and CRC-32C the same in pieces as in one go', () => {
    const data = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 31) & 0xff));
    const pieces = [data.subarray(0, 300), data.subarray(300, 301), data.subarray(301)];
    for (const alg of ['CRC32', 'CRC32C'] as const)
      expect(digestHex(alg, pieces)).toBe(digestHex(alg, [data]));
    expect(digestHex('CRC32', [data])).toBe(zlib.crc32(data).toString(16).padStart(8, '0'));
  });
  it('computes the CRC-64/NVME check value', () => {
    const c = new Crc64Nvme();
    c.update(check);
    expect(c.digest().toString('hex')).toBe('ae8b14860a799888');
  });
  it('writes CRC32 as base64 of the big-endian value', () => {
    const c = createChecksum('CRC32');
    c.update(check);
    expect(Buffer.from(c.digestBase64(), 'base64').toString('hex')).toBe('cbf43926');
  });
  it('combines part CRCs into the CRC of the whole (FULL_OBJECT)', () => {
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 131 + 7) & 0xff));
    const pieces = [data.subarray(0, 1234), data.subarray(1234, 1235), data.subarray(1235)];
    for (const alg of ['CRC32', 'CRC32C', 'CRC64NVME'] as const) {
      const of = (b: Buffer) => {
        const c = createChecksum(alg);
        c.update(b);
        return c.digestBase64();
      };
      const parts = pieces.map((p) => ({ value: of(p), size: p.length }));
      expect(combineCrcs(alg, parts)).toBe(of(data));
    }
  });
  it("makes the COMPOSITE checksum from the parts' digests, with the part count", () => {
    const sha = (b: Buffer) => {
      const c = createChecksum('SHA256');
      c.update(b);
      return c.digestBase64();
    };
    const parts = [sha(Buffer.from('a')), sha(Buffer.from('b'))];
    const whole = sha(Buffer.concat(parts.map((v) => Buffer.from(v, 'base64'))));
    expect(compositeChecksum('SHA256', parts)).toBe(`${whole}-2`);
  });
});
