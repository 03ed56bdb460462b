import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  blobSize,
  collect,
  dataKeyOf,
  newSseRecord,
  openSealedStream,
  partKey,
  planSealedRead,
  sealBody,
  type SseRecord,
} from './sealed.js';
import { CHUNK_PLAIN_BYTES, sealedSize } from './scheme.js';

const master = randomBytes(32);

/** Seals `parts` as a multipart object would be (each under its part key) and joins them. */
async function sealedObject(parts: Buffer[]) {
  const { record, dataKey } = newSseRecord(master, { mode: 'SSE-S3' });
  const salts = parts.map(() => randomBytes(16));
  const blobs = await Promise.all(
    parts.map((p, i) => collect(sealBody(p, partKey(dataKey, salts[i]!)).sealed)),
  );
  const full: SseRecord = {
    ...record,
    parts: parts.map((p, i) => [salts[i]!.toString('base64'), p.length] as const),
  };
  return { record: full, dataKey, blob: Buffer.concat(blobs), plain: Buffer.concat(parts) };
}

/** Reads plaintext `range` from an in-memory sealed blob, as `readSealed` does from a file. */
function read(
  o: { record: SseRecord; dataKey: Buffer; blob: Buffer; plain: Buffer },
  range?: { start: number; end: number },
) {
  const plan = planSealedRead(o.record, o.dataKey, o.plain.length, range);
  return collect(
    openSealedStream(Readable.from([o.blob.subarray(plan.start, plan.end + 1)]), plan.steps),
  );
}

describe('sealed objects', () => {
  it('sealBody measures the plaintext while sealing it', async () => {
    const body = randomBytes(CHUNK_PLAIN_BYTES * 2 + 5);
    const { record, dataKey } = newSseRecord(master, { mode: 'SSE-S3' });
    const { sealed, plain } = sealBody(body, dataKey);
    const bytes = await collect(sealed);
    expect(bytes.length).toBe(sealedSize(body.length));
    expect(bytes.length).toBe(blobSize(record, body.length));
    expect(plain().size).toBe(body.length);
    const plan = planSealedRead(record, dataKey, body.length, undefined);
    expect((await collect(openSealedStream(Readable.from([bytes]), plan.steps))).equals(body)).toBe(
      true,
    );
  });

  it('reads any range of a multipart object, across chunk and part edges, reading only what it needs', async () => {
    const o = await sealedObject([
      randomBytes(CHUNK_PLAIN_BYTES + 100),
      randomBytes(3),
      randomBytes(2 * CHUNK_PLAIN_BYTES),
      Buffer.alloc(0),
    ]);
    expect(o.blob.length).toBe(blobSize(o.record, o.plain.length));
    expect((await read(o)).equals(o.plain)).toBe(true);
    const n = o.plain.length;
    const edges = [0, 1, CHUNK_PLAIN_BYTES - 1, CHUNK_PLAIN_BYTES, CHUNK_PLAIN_BYTES + 99];
    const points = [...edges, CHUNK_PLAIN_BYTES + 100, CHUNK_PLAIN_BYTES + 102, n - 1];
    for (const start of points)
      for (const end of points.filter((e) => e >= start)) {
        const got = await read(o, { start, end });
        expect(got.equals(o.plain.subarray(start, end + 1))).toBe(true);
      }
    // One byte of the third part reads one sealed chunk of it.
    const plan = planSealedRead(o.record, o.dataKey, n, { start: n - 1, end: n - 1 });
    expect(plan.steps).toHaveLength(1);
    expect(plan.end - plan.start + 1).toBe(CHUNK_PLAIN_BYTES + 16);
  });

  it('a flipped byte or a truncated blob errors the stream', async () => {
    const o = await sealedObject([randomBytes(CHUNK_PLAIN_BYTES * 2)]);
    const flipped = Buffer.from(o.blob);
    flipped[CHUNK_PLAIN_BYTES + 40] = flipped[CHUNK_PLAIN_BYTES + 40]! ^ 1;
    await expect(read({ ...o, blob: flipped })).rejects.toMatchObject({ code: 'InternalError' });
    // The first chunk is intact: a range inside it still reads.
    expect((await read({ ...o, blob: flipped }, { start: 0, end: 9 })).length).toBe(10);
    await expect(read({ ...o, blob: o.blob.subarray(0, o.blob.length - 1) })).rejects.toMatchObject(
      { code: 'InternalError' },
    );
  });

  it('SSE-C: the key wraps the data key; missing → InvalidRequest, another → AccessDenied', () => {
    const key = randomBytes(32);
    const { record, dataKey } = newSseRecord(master, { mode: 'SSE-C', customerKey: key });
    expect(JSON.stringify(record)).not.toContain(key.toString('base64'));
    expect(dataKeyOf(master, record, key)!.equals(dataKey)).toBe(true);
    expect(() => dataKeyOf(master, record, undefined)).toThrow(/Server Side Encryption/);
    expect(() => dataKeyOf(master, record, randomBytes(32))).toThrow(
      expect.objectContaining({ code: 'AccessDenied' }),
    );
    expect(() => dataKeyOf(master, record, randomBytes(32), 'InvalidRequest')).toThrow(
      expect.objectContaining({ code: 'InvalidRequest' }),
    );
    const s3 = newSseRecord(master, { mode: 'SSE-S3' });
    expect(() => dataKeyOf(master, s3.record, key)).toThrow(
      expect.objectContaining({ code: 'InvalidRequest' }),
    );
    expect(() => dataKeyOf(randomBytes(32), s3.record, undefined)).toThrow(
      /APIARY_SSE_MASTER_KEY_FILE/,
    );
  });
});
