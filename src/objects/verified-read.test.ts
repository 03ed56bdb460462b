import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ObjectInfo, ObjectPart } from './object-store.js';
import { integrityOf, verifyBuffer, verifyStream } from './verified-read.js';

const md5 = (b: Buffer) => createHash('md5').update(b).digest();

/** A multipart object as S3 would describe it, and the parts Complete recorded. */
function multipart(parts: Buffer[]): { info: ObjectInfo; recorded: ObjectPart[]; bytes: Buffer } {
  const digests = parts.map(md5);
  const etag = `"${md5(Buffer.concat(digests)).toString('hex')}-${parts.length}"`;
  const bytes = Buffer.concat(parts);
  return {
    bytes,
    info: {
      bucket: 'b',
      key: 'k',
      size: bytes.length,
      etag,
      contentType: 'binary/octet-stream',
      lastModifiedMs: 0,
      metadata: {},
      headers: {},
      partsCount: parts.length,
    },
    recorded: parts.map((p, i) => ({
      partNumber: i + 1,
      size: p.length,
      etag: `"${digests[i]!.toString('hex')}"`,
    })),
  };
}

const streamed = async (s: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

describe('integrity of whole reads', () => {
  const parts = [Buffer.alloc(1000, 1), Buffer.alloc(1000, 2), Buffer.from('tail')];

  it('checks a multipart object part by part, whatever the chunking', async () => {
    const { info, recorded, bytes } = multipart(parts);
    const want = integrityOf(info, recorded);
    expect(want?.kind).toBe('parts');
    expect(verifyBuffer(info, bytes, 'x', want).equals(bytes)).toBe(true);
    // Chunks that straddle part boundaries.
    const odd = [bytes.subarray(0, 7), bytes.subarray(7, 1500), bytes.subarray(1500)];
    expect((await streamed(verifyStream(info, Readable.from(odd), 'x', want))).equals(bytes)).toBe(
      true,
    );
  });

  it('refuses a flipped byte, a short read and a long one', async () => {
    const { info, recorded, bytes } = multipart(parts);
    const want = integrityOf(info, recorded);
    const flipped = Buffer.from(bytes);
    flipped[1500] = flipped[1500]! ^ 1;
    expect(() => verifyBuffer(info, flipped, 's3://b/k', want)).toThrow(
      /fail their integrity check/,
    );
    expect(() => verifyBuffer(info, bytes.subarray(0, 2000), 'x', want)).toThrow(/integrity/);
    expect(() => verifyBuffer(info, Buffer.concat([bytes, Buffer.from('!')]), 'x', want)).toThrow(
      /integrity/,
    );
    await expect(streamed(verifyStream(info, Readable.from([flipped]), 'x', want))).rejects.toThrow(
      /integrity/,
    );
  });

  it('checks nothing it cannot: parts unknown, or not matching the ETag', () => {
    const { info, recorded } = multipart(parts);
    expect(integrityOf(info, [])).toBeUndefined();
    expect(integrityOf(info, recorded.slice(1))).toBeUndefined();
    expect(integrityOf({ ...info, partsCount: undefined, etag: '"abc"' })).toBeUndefined();
    expect(integrityOf({ ...info, partsCount: undefined, etag: `"${'a'.repeat(32)}"` })).toEqual({
      kind: 'md5',
      md5: 'a'.repeat(32),
    });
  });
});

describe('integrity of whole reads by the stored CRC32', () => {
  const bytes = Buffer.from('0123456789'.repeat(1000));
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(bytes));
  const info: ObjectInfo = {
    bucket: 'b',
    key: 'k',
    size: bytes.length,
    etag: `"${md5(bytes).toString('hex')}"`,
    contentType: 'binary/octet-stream',
    lastModifiedMs: 0,
    metadata: {},
    headers: {},
    checksum: { algorithm: 'CRC32', value: crc.toString('base64') },
  };

  it('checks a single-part object against its CRC32 when the uploader sent one', async () => {
    expect(integrityOf(info)).toEqual({ kind: 'crc32', crc32: crc.readUInt32BE(0) });
    expect(verifyBuffer(info, bytes, 'x').equals(bytes)).toBe(true);
    const chunks = [bytes.subarray(0, 3), bytes.subarray(3, 5000), bytes.subarray(5000)];
    expect((await streamed(verifyStream(info, Readable.from(chunks), 'x'))).equals(bytes)).toBe(
      true,
    );
    // Other algorithms (and none) keep the MD5 of the ETag.
    const sha1 = { ...info, checksum: { algorithm: 'SHA1' as const, value: 'AAAA' } };
    expect(integrityOf(sha1)?.kind).toBe('md5');
  });

  it('refuses a flipped byte and a short read, naming the checksum', async () => {
    const flipped = Buffer.from(bytes);
    flipped[4321] = flipped[4321]! ^ 0x10;
    expect(() => verifyBuffer(info, flipped, 's3://b/k')).toThrow(
      /fail their integrity check \(their CRC32 differs/,
    );
    expect(() => verifyBuffer(info, bytes.subarray(1), 'x')).toThrow(/integrity/);
    await expect(streamed(verifyStream(info, Readable.from([flipped]), 'x'))).rejects.toThrow(
      /integrity/,
    );
  });
});

describe("integrity of whole reads by the server's own CRC32", () => {
  const bytes = Buffer.from('abcdefghij'.repeat(700));
  const info: ObjectInfo = {
    bucket: 'b',
    key: 'k',
    size: bytes.length,
    etag: `"${md5(bytes).toString('hex')}"`,
    contentType: 'binary/octet-stream',
    lastModifiedMs: 0,
    metadata: {},
    headers: {},
    storedCrc32: zlib.crc32(bytes),
  };

  it('checks a single-part object against the CRC32 kept at write, not its MD5', async () => {
    expect(integrityOf(info)).toEqual({ kind: 'crc32', crc32: zlib.crc32(bytes) });
    // The uploader's CRC32 wins when there is one; a multipart object keeps its parts' MD5s.
    const sent = Buffer.alloc(4);
    sent.writeUInt32BE(7);
    const withSent = {
      ...info,
      checksum: { algorithm: 'CRC32' as const, value: sent.toString('base64') },
    };
    expect(integrityOf(withSent)).toEqual({ kind: 'crc32', crc32: 7 });
    expect(
      integrityOf({ ...info, partsCount: 2, etag: `"${'a'.repeat(32)}-2"` }, []),
    ).toBeUndefined();
    expect(verifyBuffer(info, bytes, 'x').equals(bytes)).toBe(true);
    const chunks = [bytes.subarray(0, 1), bytes.subarray(1, 4000), bytes.subarray(4000)];
    expect((await streamed(verifyStream(info, Readable.from(chunks), 'x'))).equals(bytes)).toBe(
      true,
    );
  });

  it('refuses a flipped byte, a short read and a long one, saying which check failed', async () => {
    const flipped = Buffer.from(bytes);
    flipped[6000] = flipped[6000]! ^ 0x01;
    expect(() => verifyBuffer(info, flipped, 's3://b/k')).toThrow(
      /their CRC32 differs from the one computed when they were written/,
    );
    expect(() => verifyBuffer(info, bytes.subarray(0, 6999), 'x')).toThrow(/integrity/);
    expect(() => verifyBuffer(info, Buffer.concat([bytes, Buffer.from('!')]), 'x')).toThrow(
      /integrity/,
    );
    await expect(streamed(verifyStream(info, Readable.from([flipped]), 'x'))).rejects.toThrow(
      /integrity/,
    );
  });
});
