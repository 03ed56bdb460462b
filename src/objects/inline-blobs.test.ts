import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestDatabase } from '../../test/helpers/postgres.js';
import { blobIds } from './contract-subject.js';
import { DbObjectStore } from './db-object-store.js';
import { FsBlobStore } from './fs/fs-blob-store.js';
import { InlineBlobStore, isInlineId } from './inline-blobs.js';
import { objectsMigrations } from './migrations.js';
import { objectStoreContract } from './object-store.contract.js';

/** A store whose blobs up to `inlineMaxBytes` live in the database, larger ones as fs files. */
async function inlineSubject(
  dialect: (typeof DIALECTS)[number],
  minPartSizeBytes: number,
  inlineMaxBytes: number,
) {
  const database = await openTestDatabase(dialect, objectsMigrations);
  const inner = new FsBlobStore({ dataDir: database.dataDir, fsync: false });
  const blobs = new InlineBlobStore(database.db, inner, inlineMaxBytes);
  const store = new DbObjectStore({
    db: database.db,
    blobs,
    minPartSizeBytes,
    masterKey: randomBytes(32),
  });
  await store.start();
  return { store, blobs, inner, close: () => database.close() };
}

// 1 KiB: the contract's short bodies are inline, its 150 KB and 10 MiB ones are files.
for (const dialect of DIALECTS) {
  objectStoreContract(`inline on ${dialect} over fs`, ({ minPartSizeBytes }) =>
    inlineSubject(dialect, minPartSizeBytes, 1024),
  );
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest();
/** A stream of `chunks`, as a request body arrives. */
const streamOf = (...chunks: Buffer[]) => Readable.from(chunks, { objectMode: false });

describe.each(DIALECTS)('inline blobs on %s', (dialect) => {
  const LIMIT = 8;
  let subject: Awaited<ReturnType<typeof inlineSubject>>;
  beforeAll(async () => {
    subject = await inlineSubject(dialect, 4, LIMIT);
    await subject.store.createBucket('bkt');
  });
  afterAll(() => subject?.close());

  it('cuts a stream at the limit: exactly the limit and empty are inline, one byte more is not', async () => {
    const { blobs } = subject;
    const exact = Buffer.from('12345678');
    const atLimit = await blobs.write(streamOf(exact.subarray(0, 3), exact.subarray(3)));
    expect(isInlineId(atLimit.id)).toBe(true);
    expect(atLimit).toMatchObject({ size: 8, crc32: zlib.crc32(exact) });
    expect(atLimit.md5.equals(md5(exact))).toBe(true);
    expect((await (await blobs.open(atLimit.id, 8))!.readBuffer(undefined)).equals(exact)).toBe(
      true,
    );
    expect(blobs.localPath(atLimit.id)).toBeUndefined();

    const over = Buffer.from('123456789');
    const overLimit = await blobs.write(streamOf(over.subarray(0, 5), over.subarray(5)));
    expect(isInlineId(overLimit.id)).toBe(false);
    expect(overLimit).toMatchObject({ size: 9, crc32: zlib.crc32(over) });
    expect(overLimit.md5.equals(md5(over))).toBe(true);
    expect(fs.readFileSync(blobs.localPath(overLimit.id)!).equals(over)).toBe(true);

    const empty = await blobs.write(streamOf());
    expect(isInlineId(empty.id)).toBe(true);
    expect(empty.size).toBe(0);
    expect((await (await blobs.open(empty.id, 0))!.readBuffer(undefined)).length).toBe(0);

    // Buffers are cut the same way.
    expect(isInlineId((await blobs.write(exact)).id)).toBe(true);
    expect(isInlineId((await blobs.write(over)).id)).toBe(false);
  });

  it('hands a big stream to the inner store whole, a large first chunk split without loss', async () => {
    const { blobs } = subject;
    const big = randomBytes(3 * 65536 + 7);
    const written = await blobs.write(
      streamOf(big.subarray(0, 65536), big.subarray(65536, 131072), big.subarray(131072)),
    );
    expect(isInlineId(written.id)).toBe(false);
    expect(written.size).toBe(big.length);
    expect(written.md5.equals(md5(big))).toBe(true);
    expect(fs.readFileSync(blobs.localPath(written.id)!).equals(big)).toBe(true);
  });

  it('fails the write with the body error and stores nothing', async () => {
    const { blobs } = subject;
    const before = await blobIds(blobs);
    const failing = new Readable({
      read() {
        this.push(Buffer.from('ab'));
        this.destroy(new Error('client went away'));
      },
    });
    await expect(blobs.write(failing)).rejects.toThrow('client went away');
    expect(await blobIds(blobs)).toEqual(before);
  });

  it('serves ranges, copies inline objects in the database and deletes them', async () => {
    const { store, blobs } = subject;
    await store.putObject('bkt', 'small', 'abcdef');
    const h = await store.openObject('bkt', 'small');
    expect((await h!.readBuffer({ start: 1, end: 3 })).toString()).toBe('bcd');
    const h2 = await store.openObject('bkt', 'small');
    const chunks: Buffer[] = [];
    for await (const c of h2!.read({ start: 4, end: 5 })) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('ef');

    const copied = await store.copyObject(
      { bucket: 'bkt', key: 'small' },
      { bucket: 'bkt', key: 'small-copy' },
    );
    expect(copied.storedCrc32).toBe(zlib.crc32(Buffer.from('abcdef')));
    const ids = (await blobIds(blobs)).filter(isInlineId);
    await store.deleteObject('bkt', 'small');
    expect((await store.getObjectBuffer('bkt', 'small-copy'))!.toString()).toBe('abcdef');
    expect((await blobIds(blobs)).filter(isInlineId)).toHaveLength(ids.length - 1);
    expect(await store.localPath(copied)).toBeUndefined();
  });

  it('round-trips SSE-S3 and SSE-C small objects (sealed streams) inline', async () => {
    const { store, blobs } = subject;
    const key = Buffer.alloc(32, 9);
    const before = new Set(await blobIds(blobs));
    await store.putObject('bkt', 's3', 'x', { sse: { mode: 'SSE-S3' } });
    await store.putObject('bkt', 'c', 'y', { sse: { mode: 'SSE-C', customerKey: key } });
    // Sealed, a 1-byte body is 17 bytes: over this 8-byte limit. A 64-byte limit takes them.
    const added = (await blobIds(blobs)).filter((id) => !before.has(id));
    expect(added).toHaveLength(2);
    expect((await store.getObjectBuffer('bkt', 's3'))!.toString()).toBe('x');
    const h = await store.openObject('bkt', 'c', undefined, key);
    expect((await h!.readBuffer(undefined)).toString()).toBe('y');
  });

  it('joins a multipart upload whose last part is inline; a small result is inline', async () => {
    const { store, blobs } = subject;
    const first = randomBytes(20);
    const up = await store.createMultipartUpload('bkt', 'mp');
    const p1 = await store.uploadPart('bkt', 'mp', up.uploadId, 1, first);
    const p2 = await store.uploadPart('bkt', 'mp', up.uploadId, 2, 'tail');
    const before = await blobIds(blobs);
    const info = await store.completeMultipartUpload('bkt', 'mp', up.uploadId, [
      { partNumber: 1, etag: p1.etag },
      { partNumber: 2, etag: p2.etag },
    ]);
    expect(info.size).toBe(24);
    expect(
      (await store.getObjectBuffer('bkt', 'mp'))!.equals(
        Buffer.concat([first, Buffer.from('tail')]),
      ),
    ).toBe(true);
    // The two parts went, the joined file came; the staged copy of the inline part is gone.
    const after = await blobIds(blobs);
    expect(after.length).toBe(before.length - 1);
    expect(after.filter((id) => !before.includes(id)).every((id) => !isInlineId(id))).toBe(true);

    const small = await store.createMultipartUpload('bkt', 'mp-small');
    const s1 = await store.uploadPart('bkt', 'mp-small', small.uploadId, 1, 'abcd');
    const s2 = await store.uploadPart('bkt', 'mp-small', small.uploadId, 2, 'ef');
    await store.completeMultipartUpload('bkt', 'mp-small', small.uploadId, [
      { partNumber: 1, etag: s1.etag },
      { partNumber: 2, etag: s2.etag },
    ]);
    expect((await store.getObjectBuffer('bkt', 'mp-small'))!.toString()).toBe('abcdef');
  });

  it('sweeps an unreferenced inline blob once past the grace period', async () => {
    const { store, blobs } = subject;
    const orphan = await blobs.write('orphan');
    expect(isInlineId(orphan.id)).toBe(true);
    await store.sweep(3600_000);
    expect(await blobIds(blobs)).toContain(orphan.id);
    await store.sweep(0);
    expect(await blobIds(blobs)).not.toContain(orphan.id);
    expect((await store.getObjectBuffer('bkt', 'mp-small'))!.toString()).toBe('abcdef');
  });
});

describe('inline SSE objects under a larger limit', () => {
  let subject: Awaited<ReturnType<typeof inlineSubject>>;
  beforeAll(async () => {
    subject = await inlineSubject('sqlite', 4, 64);
    await subject.store.createBucket('bkt');
  });
  afterAll(() => subject?.close());

  it('keeps sealed small bodies in the database and reads them back, whole and by range', async () => {
    const { store, blobs } = subject;
    const key = Buffer.alloc(32, 3);
    await store.putObject('bkt', 's3', 'sealed small', { sse: { mode: 'SSE-S3' } });
    await store.putObject('bkt', 'c', 'customer key', { sse: { mode: 'SSE-C', customerKey: key } });
    expect((await blobIds(blobs)).every(isInlineId)).toBe(true);
    expect((await blobIds(blobs)).length).toBe(2);
    expect((await store.getObjectBuffer('bkt', 's3'))!.toString()).toBe('sealed small');
    const h = await store.openObject('bkt', 'c', undefined, key);
    expect((await h!.readBuffer({ start: 0, end: 7 })).toString()).toBe('customer');
  });
});
