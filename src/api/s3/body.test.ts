import { createHash, createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { markChunksDisposable } from '../../shared/disposable-chunks.js';
import { closeFd, drainToFd, openFd } from '../../objects/fs/fd.js';
import type { VerifiedSigV4 } from '../sigv4/index.js';
import { BodyDecoder, type BodyPlan } from './body.js';

const auth = (signature = 'seed'.padEnd(64, '0')): VerifiedSigV4 => ({
  accessKeyId: 'AKID',
  date: '20260101',
  amzDate: '20260101T000000Z',
  region: 'us-east-1',
  service: 's3',
  signedHeaders: ['host'],
  signature,
  presigned: false,
  contentSha256: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
  signingKey: Buffer.from('k'.repeat(32)),
  scope: '20260101/us-east-1/s3/aws4_request',
});

/** Feeds `wire` through a decoder in pieces of `step` bytes. */
async function decode(
  plan: BodyPlan,
  wire: Buffer,
  step: number,
  a = auth(),
): Promise<{ body: Buffer; decoder: BodyDecoder }> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < wire.length; i += step) pieces.push(wire.subarray(i, i + step));
  const decoder = new BodyDecoder(plan, a);
  const out: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    decoder.on('data', (c: Buffer) => out.push(c));
    decoder.on('end', resolve);
    decoder.on('error', reject);
    Readable.from(pieces).pipe(decoder);
  });
  return { body: Buffer.concat(out), decoder };
}

const crc32b64 = (b: Buffer) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(zlib.crc32(b));
  return out.toString('base64');
};

const unsignedTrailer: BodyPlan = {
  mode: { kind: 'chunked', signed: false, trailer: true },
  checksumAlgorithm: 'CRC32',
  checksumInTrailer: true,
};

describe('aws-chunked decoding', () => {
  const data = Buffer.from('hello, aws-chunked world');
  const wire = Buffer.from(
    `5\r\nhello\r\n13\r\n${data.subarray(5).toString()}\r\n0\r\nx-amz-checksum-crc32:${crc32b64(data)}\r\n\r\n`,
  );

  it.each([1, 2, 3, 7, 1000])(
    'decodes the unsigned-trailer form split every %i bytes',
    async (step) => {
      const { body, decoder } = await decode(unsignedTrailer, wire, step);
      expect(body.toString()).toBe(data.toString());
      expect(decoder.verifiedChecksum).toEqual({ algorithm: 'CRC32', value: crc32b64(data) });
    },
  );

  it('fails with BadDigest when the trailer checksum is wrong', async () => {
    const bad = Buffer.from(wire.toString().replace(crc32b64(data), 'AAAAAA=='));
    await expect(decode(unsignedTrailer, bad, 4)).rejects.toMatchObject({ code: 'BadDigest' });
  });

  it('fails with IncompleteBody when the final chunk never comes', async () => {
    await expect(decode(unsignedTrailer, Buffer.from('5\r\nhello\r\n'), 3)).rejects.toMatchObject({
      code: 'IncompleteBody',
    });
  });

  it('refuses a chunk size that is not hexadecimal', async () => {
    await expect(
      decode(unsignedTrailer, Buffer.from('zz\r\nhello\r\n0\r\n\r\n'), 100),
    ).rejects.toMatchObject({ code: 'IncompleteBody' });
  });

  it('verifies signed chunks against the seed signature', async () => {
    const a = auth();
    const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
    let prev = a.signature;
    let wireSigned = '';
    for (const c of [Buffer.from('abc'), Buffer.from('defg'), Buffer.alloc(0)]) {
      const sts = ['AWS4-HMAC-SHA256-PAYLOAD', a.amzDate, a.scope, prev, sha(''), sha(c)].join(
        '\n',
      );
      prev = createHmac('sha256', a.signingKey).update(sts).digest('hex');
      wireSigned += `${c.length.toString(16)};chunk-signature=${prev}\r\n${c.toString()}\r\n`;
    }
    const plan: BodyPlan = {
      mode: { kind: 'chunked', signed: true, trailer: false, decodedLength: 7 },
      checksumInTrailer: false,
    };
    const { body } = await decode(plan, Buffer.from(wireSigned), 5, a);
    expect(body.toString()).toBe('abcdefg');
    const tampered = Buffer.from(wireSigned.replace('defg', 'defh'));
    await expect(decode(plan, tampered, 5, a)).rejects.toMatchObject({
      code: 'SignatureDoesNotMatch',
    });
  });

  it('checks a declared SHA-256 over a raw body', async () => {
    const body = Buffer.from('raw body');
    const plan: BodyPlan = {
      mode: { kind: 'raw', sha256: createHash('sha256').update(body).digest('hex') },
      checksumInTrailer: false,
    };
    expect((await decode(plan, body, 3)).body.toString()).toBe('raw body');
    await expect(decode(plan, Buffer.from('raw bodY'), 3)).rejects.toMatchObject({
      code: 'XAmzContentSHA256Mismatch',
    });
  });
});

describe('aws-chunked chunks freed once written', () => {
  it('frees every input chunk after the file writer copied its slices, bytes intact', async () => {
    // 40 aws chunks of 50_000 bytes, fed in socket-like reads of 65_536 bytes that each own
    // their memory: chunk headers and CRLFs straddle the reads (pending tails are joined).
    const data = Buffer.alloc(40 * 50_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) % 251;
    const parts: string[] = [];
    const frames: Buffer[] = [];
    for (let off = 0; off < data.length; off += 50_000) {
      const piece = data.subarray(off, off + 50_000);
      frames.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    }
    parts.push(`0\r\nx-amz-checksum-crc32:${crc32b64(data)}\r\n\r\n`);
    const wire = Buffer.concat([...frames, Buffer.from(parts.join(''))]);
    const reads: Buffer[] = [];
    for (let i = 0; i < wire.length; i += 65_536) {
      reads.push(Buffer.from(wire.subarray(i, i + 65_536)));
    }
    const decoder = new BodyDecoder(unsignedTrailer, auth());
    markChunksDisposable(decoder);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-chunked-'));
    const file = path.join(dir, 'out.bin');
    const fd = await openFd(file, 'w');
    try {
      Readable.from(reads).pipe(decoder);
      await drainToFd(decoder, fd, () => undefined);
    } finally {
      await closeFd(fd);
    }
    try {
      expect(fs.readFileSync(file).equals(data)).toBe(true);
      expect(decoder.verifiedChecksum).toEqual({ algorithm: 'CRC32', value: crc32b64(data) });
      // Every read of 64 KiB was freed (the last, shorter one too: it owns its memory).
      expect(reads.filter((r) => r.length > 0)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
