import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';

import {
  CHUNK_PLAIN_BYTES,
  TamperedCiphertextError,
  decryptStream,
  encryptStream,
  newDataKey,
  plainSizeOf,
  sealedRange,
  sealedSize,
} from './scheme.js';
import { customerKeyHash, customerKeyMatches, unwrapKey, wrapKey } from './keys.js';

async function collect(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of s) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

/** Feeds `data` in odd-sized pieces so chunk boundaries never line up with writes. */
function pieces(data: Buffer, size = 7777): Readable {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return Readable.from(out);
}

async function seal(key: Buffer, plain: Buffer): Promise<Buffer> {
  return collect(pieces(plain).pipe(encryptStream(key)));
}

async function read(key: Buffer, sealed: Buffer, plainSize: number, s: number, e: number) {
  const r = sealedRange(plainSize, s, e);
  return collect(pieces(sealed.subarray(r.start, r.end + 1), 5000).pipe(decryptStream(key, r)));
}

describe('chunked AES-256-GCM scheme', () => {
  const C = CHUNK_PLAIN_BYTES;

  it.each([0, 1, C - 1, C, C + 1, 3 * C, 3 * C + 17])('round-trips %i bytes', async (n) => {
    const key = newDataKey();
    const plain = randomBytes(n);
    const sealed = await seal(key, plain);
    expect(sealed.length).toBe(sealedSize(n));
    expect(plainSizeOf(sealed.length)).toBe(n);
    // The first 32 plaintext bytes (when there are that many) never appear in the sealed form.
    expect(n > 32 && sealed.includes(plain.subarray(0, 32))).toBe(false);
    expect((await read(key, sealed, n, 0, Math.max(0, n - 1))).equals(plain)).toBe(true);
  });

  it('reads ranges at and across chunk edges without reading from byte 0', async () => {
    const key = newDataKey();
    const n = 4 * C + 100;
    const plain = randomBytes(n);
    const sealed = await seal(key, plain);
    const ranges: Array<[number, number]> = [
      [0, 0],
      [C - 1, C - 1],
      [C - 1, C],
      [C, C],
      [C, 2 * C - 1],
      [C + 5, 3 * C + 9],
      [4 * C, n - 1],
      [n - 1, n - 1],
      [17, n - 1],
    ];
    for (const [s, e] of ranges) {
      const r = sealedRange(n, s, e);
      expect(r.start).toBe(Math.floor(s / C) * (C + 16));
      expect((await read(key, sealed, n, s, e)).equals(plain.subarray(s, e + 1))).toBe(true);
    }
  });

  it('detects a flipped byte, a truncated object, swapped chunks and a wrong key', async () => {
    const key = newDataKey();
    const n = 3 * C + 10;
    const plain = randomBytes(n);
    const sealed = await seal(key, plain);
    const flipped = Buffer.from(sealed);
    flipped[C + 16 + 3]! ^= 1;
    await expect(read(key, flipped, n, 0, n - 1)).rejects.toBeInstanceOf(TamperedCiphertextError);
    await expect(read(key, flipped, n, C, C + 10)).rejects.toBeInstanceOf(TamperedCiphertextError);
    // Dropping the final chunk: the previous chunk was not sealed as the last one.
    const truncated = sealed.subarray(0, 3 * (C + 16));
    const r = sealedRange(n, 0, n - 1);
    await expect(collect(pieces(truncated).pipe(decryptStream(key, r)))).rejects.toBeInstanceOf(
      TamperedCiphertextError,
    );
    const swapped = Buffer.concat([
      sealed.subarray(C + 16, 2 * (C + 16)),
      sealed.subarray(0, C + 16),
      sealed.subarray(2 * (C + 16)),
    ]);
    await expect(read(key, swapped, n, 0, n - 1)).rejects.toBeInstanceOf(TamperedCiphertextError);
    await expect(read(newDataKey(), sealed, n, 0, 5)).rejects.toBeInstanceOf(
      TamperedCiphertextError,
    );
  });

  it('wraps data keys and recognises only the right wrapping key', () => {
    const master = newDataKey();
    const dataKey = newDataKey();
    const wrapped = wrapKey(master, dataKey);
    expect(unwrapKey(master, wrapped)?.equals(dataKey)).toBe(true);
    expect(unwrapKey(newDataKey(), wrapped)).toBeUndefined();
  });

  it('keeps a salted keyed hash of a customer key, never the key', () => {
    const k = randomBytes(32);
    const h1 = customerKeyHash(k);
    const h2 = customerKeyHash(k);
    expect(h1.equals(h2)).toBe(false);
    expect(h1.includes(k)).toBe(false);
    expect(customerKeyMatches(k, h1)).toBe(true);
    expect(customerKeyMatches(randomBytes(32), h1)).toBe(false);
  });
});
