import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobIds, md5Hex, type ContractFactory, type ContractSubject } from './contract-subject.js';
import type { DbObjectStore } from './db-object-store.js';
import { encryptionCases } from './encryption/encryption.contract.js';
import { listingCases } from './listing.contract.js';
import { versioningCases } from './versioning.contract.js';

export { blobIds, type ContractFactory, type ContractSubject } from './contract-subject.js';

const MiB = 1024 * 1024;

/** Deterministic bytes: `size` of them from a seed, in 1 MiB chunks (never the whole in memory). */
function pattern(size: number, seed: number): { stream: () => Readable; md5: string } {
  const chunk = (i: number) => {
    const n = Math.min(MiB, size - i * MiB);
    const b = Buffer.allocUnsafe(n);
    for (let j = 0; j < n; j++) b[j] = (seed + i * 31 + j * 7) & 0xff;
    return b;
  };
  const count = Math.ceil(size / MiB);
  const md5 = createHash('md5');
  for (let i = 0; i < count; i++) md5.update(chunk(i));
  return {
    stream: () =>
      Readable.from(
        (function* () {
          for (let i = 0; i < count; i++) yield chunk(i);
        })(),
      ),
    md5: md5.digest('hex'),
  };
}

/**
 * The object store's contract: every blob backend (fs, s3) runs it. What a user of the
 * `ObjectStore` port sees must not depend on where the bytes live. The listing, versioning and
 * encryption cases live in their own files and run here, in this order, on the same store.
 */
export function objectStoreContract(backend: string, factory: ContractFactory): void {
  describe(`object store contract (${backend})`, () => {
    let subject: ContractSubject;
    let store: DbObjectStore;
    beforeAll(async () => {
      subject = await factory({ minPartSizeBytes: 4 });
      store = subject.store;
      await store.createBucket('model');
    });
    afterAll(async () => {
      await subject?.close();
    });

    listingCases(() => subject);

    describe('writes and reads', () => {
      it('stores a body and reads it back whole and by range', async () => {
        const info = await store.putObject('model', 'dir/../a\\b', 'hello world', {
          contentType: 'text/plain',
          metadata: { k: 'v' },
        });
        expect(info.etag).toBe(`"${md5Hex(Buffer.from('hello world'))}"`);
        expect((await store.getObjectBuffer('model', 'dir/../a\\b'))!.toString()).toBe(
          'hello world',
        );
        const got = await store.getObject('model', 'dir/../a\\b', { start: 6, end: 10 });
        const chunks: Buffer[] = [];
        for await (const c of got!.body) chunks.push(c as Buffer);
        expect(Buffer.concat(chunks).toString()).toBe('world');
        expect(got!.info).toMatchObject({
          size: 11,
          contentType: 'text/plain',
          metadata: { k: 'v' },
        });
        expect(await store.getObject('model', 'missing')).toBeUndefined();
      });

      it('refuses to read an object whole past the cap, naming its size, and streams it instead', async () => {
        await store.putObject('model', 'capped', 'eleven byte');
        await expect(store.getObjectBuffer('model', 'capped', 10)).rejects.toMatchObject({
          name: 'ObjectTooLargeToBufferError',
          message: 's3://model/capped is 11 bytes, over the 10-byte limit for reading it whole',
        });
        expect((await store.getObjectBuffer('model', 'capped', 11))!.toString()).toBe(
          'eleven byte',
        );
      });

      it('stores an empty object', async () => {
        await store.putObject('model', 'empty', Buffer.alloc(0));
        expect((await store.getObjectBuffer('model', 'empty'))!.length).toBe(0);
        const got = await store.getObject('model', 'empty');
        const chunks: Buffer[] = [];
        for await (const c of got!.body) chunks.push(c as Buffer);
        expect(Buffer.concat(chunks).length).toBe(0);
      });

      it('streams a body larger than the external part size without changing a byte', async () => {
        const big = pattern(12 * MiB + 5, 3);
        const info = await store.putObject('model', 'big.bin', big.stream());
        expect(info.size).toBe(12 * MiB + 5);
        expect(info.etag).toBe(`"${big.md5}"`);
        const handle = await store.openObject('model', 'big.bin');
        const md5 = createHash('md5');
        for await (const c of handle!.read(undefined)) md5.update(c as Buffer);
        expect(md5.digest('hex')).toBe(big.md5);
      });

      it('deletes the replaced blob once the new version commits', async () => {
        await store.putObject('model', 'v', 'one');
        const before = await blobIds(subject.blobs);
        await store.putObject('model', 'v', 'two');
        const after = await blobIds(subject.blobs);
        expect(after.length).toBe(before.length);
        expect(after).not.toEqual(before);
        expect((await store.getObjectBuffer('model', 'v'))!.toString()).toBe('two');
      });

      it('keeps a reader on the version it opened while a writer replaces it', async () => {
        await store.putObject('model', 'pinned', 'old bytes');
        const handle = await store.openObject('model', 'pinned');
        await store.putObject('model', 'pinned', 'new bytes');
        expect((await handle!.readBuffer()).toString()).toBe('old bytes');
        expect((await store.getObjectBuffer('model', 'pinned'))!.toString()).toBe('new bytes');
      });

      it('refuses a body whose Content-MD5 differs and leaves no key and no blob', async () => {
        const before = await blobIds(subject.blobs);
        const wrong = createHash('md5').update('other').digest('base64');
        await expect(
          store.putObject('model', 'bad-md5', 'payload', { contentMd5: wrong }),
        ).rejects.toMatchObject({
          code: 'BadDigest',
        });
        expect(await store.headObject('model', 'bad-md5')).toBeUndefined();
        expect(await blobIds(subject.blobs)).toEqual(before);
      });

      it('passes a failing body’s own error through and leaves no key and no blob', async () => {
        const before = await blobIds(subject.blobs);
        const body = Readable.from(
          (async function* () {
            yield Buffer.alloc(64 * 1024, 1);
            throw new Error('client went away');
          })(),
        );
        await expect(store.putObject('model', 'broken', body)).rejects.toThrow('client went away');
        expect(await store.headObject('model', 'broken')).toBeUndefined();
        expect(await blobIds(subject.blobs)).toEqual(before);
      });

      it('checks If-None-Match and If-Match with the commit', async () => {
        const first = await store.putObject('model', 'cond', 'a', { ifNoneMatch: '*' });
        await expect(
          store.putObject('model', 'cond', 'b', { ifNoneMatch: '*' }),
        ).rejects.toMatchObject({ code: 'PreconditionFailed' });
        await expect(
          store.putObject('model', 'cond', 'b', { ifMatch: '"0"' }),
        ).rejects.toMatchObject({ code: 'PreconditionFailed' });
        await store.putObject('model', 'cond', 'c', { ifMatch: first.etag });
        expect((await store.getObjectBuffer('model', 'cond'))!.toString()).toBe('c');
      });

      it('deletes keys and their blobs; missing keys count as deleted', async () => {
        await store.putObject('model', 'gone/1', '1');
        await store.putObject('model', 'gone/2', '2');
        const before = await blobIds(subject.blobs);
        await store.deleteObjects('model', ['gone/1', 'gone/2', 'gone/never']);
        expect((await store.listObjects('model', { prefix: 'gone/' })).objects).toEqual([]);
        expect((await blobIds(subject.blobs)).length).toBe(before.length - 2);
      });
    });

    describe('copy', () => {
      it('copies bytes and metadata, and the copy outlives its source', async () => {
        await store.putObject('model', 'src', 'copied bytes', {
          contentType: 'text/x',
          metadata: { a: '1' },
        });
        const info = await store.copyObject(
          { bucket: 'model', key: 'src' },
          { bucket: 'model', key: 'dst' },
        );
        expect(info).toMatchObject({ size: 12, contentType: 'text/x', metadata: { a: '1' } });
        await store.deleteObject('model', 'src');
        expect((await store.getObjectBuffer('model', 'dst'))!.toString()).toBe('copied bytes');
        const replaced = await store.copyObject(
          { bucket: 'model', key: 'dst' },
          { bucket: 'model', key: 'dst' },
          {
            metadataDirective: 'REPLACE',
            contentType: 'text/y',
          },
        );
        expect(replaced.contentType).toBe('text/y');
        expect((await store.getObjectBuffer('model', 'dst'))!.toString()).toBe('copied bytes');
        await expect(
          store.copyObject({ bucket: 'model', key: 'src' }, { bucket: 'model', key: 'x' }),
        ).rejects.toMatchObject({
          code: 'NoSuchKey',
        });
      });
    });

    describe('multipart', () => {
      it('joins small parts and names the ETag after the parts', async () => {
        const up = await store.createMultipartUpload('model', 'mp', { contentType: 'text/plain' });
        const p1 = await store.uploadPart('model', 'mp', up.uploadId, 1, 'hello ');
        const p2 = await store.uploadPart('model', 'mp', up.uploadId, 2, 'world');
        const info = await store.completeMultipartUpload('model', 'mp', up.uploadId, [
          { partNumber: 1, etag: p1.etag },
          { partNumber: 2, etag: p2.etag },
        ]);
        expect(info.etag).toMatch(/^"[0-9a-f]{32}-2"$/);
        expect(info).toMatchObject({ contentType: 'text/plain', size: 11, partsCount: 2 });
        expect((await store.getObjectBuffer('model', 'mp'))!.toString()).toBe('hello world');
        await expect(store.listParts('model', 'mp', up.uploadId)).rejects.toMatchObject({
          code: 'NoSuchUpload',
        });
      });

      it('joins 5 MiB parts (server-side on S3) and removes the part blobs', async () => {
        const before = await blobIds(subject.blobs);
        const a = pattern(5 * MiB, 11);
        const b = pattern(5 * MiB, 12);
        const c = pattern(3, 13);
        const up = await store.createMultipartUpload('model', 'large');
        const parts = [];
        for (const [i, p] of [a, b, c].entries()) {
          const part = await store.uploadPart('model', 'large', up.uploadId, i + 1, p.stream());
          expect(part.etag).toBe(`"${p.md5}"`);
          parts.push({ partNumber: i + 1, etag: part.etag });
        }
        const info = await store.completeMultipartUpload('model', 'large', up.uploadId, parts);
        expect(info.size).toBe(10 * MiB + 3);
        const handle = await store.openObject('model', 'large');
        const whole = createHash('md5');
        for await (const chunk of handle!.read(undefined)) whole.update(chunk as Buffer);
        const expected = createHash('md5');
        for (const p of [a, b, c])
          for await (const chunk of p.stream()) expected.update(chunk as Buffer);
        expect(whole.digest('hex')).toBe(expected.digest('hex'));
        const ranged = await store.getObject('model', 'large', {
          start: 5 * MiB - 2,
          end: 5 * MiB + 1,
        });
        const bytes: Buffer[] = [];
        for await (const chunk of ranged!.body) bytes.push(chunk as Buffer);
        expect(Buffer.concat(bytes)).toEqual(
          Buffer.from([
            (11 + 4 * 31 + (MiB - 2) * 7) & 0xff,
            (11 + 4 * 31 + (MiB - 1) * 7) & 0xff,
            12 & 0xff,
            (12 + 7) & 0xff,
          ]),
        );
        // Three part blobs became one object blob.
        expect((await blobIds(subject.blobs)).length).toBe(before.length + 1);
      });

      it('checks order, ETags and sizes before joining', async () => {
        const up = await store.createMultipartUpload('model', 'checked');
        const p1 = await store.uploadPart('model', 'checked', up.uploadId, 1, 'abc');
        const p2 = await store.uploadPart('model', 'checked', up.uploadId, 2, 'defgh');
        const complete = (parts: { partNumber: number; etag: string }[]) =>
          store.completeMultipartUpload('model', 'checked', up.uploadId, parts);
        await expect(
          complete([
            { partNumber: 2, etag: p2.etag },
            { partNumber: 1, etag: p1.etag },
          ]),
        ).rejects.toMatchObject({ code: 'InvalidPartOrder' });
        await expect(complete([{ partNumber: 1, etag: p2.etag }])).rejects.toMatchObject({
          code: 'InvalidPart',
        });
        await expect(
          complete([
            { partNumber: 1, etag: p1.etag },
            { partNumber: 2, etag: p2.etag },
          ]),
        ).rejects.toMatchObject({ code: 'EntityTooSmall' });
        await store.abortMultipartUpload('model', 'checked', up.uploadId);
        await expect(complete([{ partNumber: 1, etag: p1.etag }])).rejects.toMatchObject({
          code: 'NoSuchUpload',
        });
      });

      it('takes a part number listed twice in a row by the ETag of its last send', async () => {
        const up = await store.createMultipartUpload('model', 'resent');
        const first = await store.uploadPart('model', 'resent', up.uploadId, 1, 'first send');
        const last = await store.uploadPart('model', 'resent', up.uploadId, 1, 'last send');
        const one = (etag: string) => ({ partNumber: 1, etag });
        await expect(
          store.completeMultipartUpload('model', 'resent', up.uploadId, [
            one(first.etag),
            one(first.etag),
          ]),
        ).rejects.toMatchObject({ code: 'InvalidPart' });
        await store.completeMultipartUpload('model', 'resent', up.uploadId, [
          one(last.etag),
          one(first.etag),
        ]);
        expect((await store.getObjectBuffer('model', 'resent'))!.toString()).toBe('last send');
      });

      it('removes part blobs when an upload is aborted or its bucket deleted', async () => {
        const before = await blobIds(subject.blobs);
        await store.createBucket('doomed');
        const up = await store.createMultipartUpload('doomed', 'k');
        await store.uploadPart('doomed', 'k', up.uploadId, 1, 'part one');
        await store.uploadPart('doomed', 'k', up.uploadId, 1, 'part one, again');
        expect((await blobIds(subject.blobs)).length).toBe(before.length + 1);
        await store.deleteBucket('doomed');
        expect(await blobIds(subject.blobs)).toEqual(before);
      });
    });

    versioningCases(() => subject);
    encryptionCases(() => subject);

    describe('sweep', () => {
      it('deletes blobs no row refers to once they are older than the grace period', async () => {
        const orphan = await subject.blobs.write('nobody refers to me');
        expect(await store.sweep(3600_000)).toMatchObject({ orphanBlobsRemoved: 0 });
        expect(await blobIds(subject.blobs)).toContain(orphan.id);
        const swept = await store.sweep(0);
        expect(swept.orphanBlobsRemoved).toBe(1);
        expect(await blobIds(subject.blobs)).not.toContain(orphan.id);
        expect((await store.getObjectBuffer('model', 'v'))!.toString()).toBe('two');
        expect((await store.getObjectBuffer('model', 'large'))!.length).toBe(10 * MiB + 3);
      });
    });
  });
}
