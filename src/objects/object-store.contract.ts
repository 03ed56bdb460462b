import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore } from './blob-store.js';
import type { DbObjectStore } from './db-object-store.js';

/** A store under test and the blob store behind it (to check what is left in it). */
export interface ContractSubject {
  readonly store: DbObjectStore;
  readonly blobs: BlobStore;
  close(): Promise<void>;
}

/** Builds a fresh store (own database, own blob space) with the given smallest part size. */
export type ContractFactory = (options: { minPartSizeBytes: number }) => Promise<ContractSubject>;

const MiB = 1024 * 1024;

/** Every blob id in the store, sorted. */
export async function blobIds(blobs: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const e of blobs.list()) out.push(e.id);
  return out.sort();
}

/** S3's listing, computed the slow and obvious way. */
function expectedListing(keys: string[], prefix: string, delimiter: string | undefined) {
  const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const out: string[] = [];
  for (const k of sorted) {
    if (!k.startsWith(prefix)) continue;
    let entry = k;
    if (delimiter) {
      const at = k.indexOf(delimiter, prefix.length);
      if (at >= 0) entry = k.slice(0, at + delimiter.length);
    }
    if (out[out.length - 1] !== entry) out.push(entry);
  }
  return out;
}

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

const md5Hex = (b: Buffer) => createHash('md5').update(b).digest('hex');

/**
 * The object store's contract: every blob backend (fs, s3) runs it. What a user of the
 * `ObjectStore` port sees must not depend on where the bytes live.
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

    describe('listing', () => {
      const keys: string[] = [];
      beforeAll(async () => {
        let seed = 7;
        const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
        const parts = ['a', 'b', 'ab', 'z', 'é', '🐝', '-', '.', ' '];
        while (keys.length < 120) {
          const depth = 1 + rnd(3);
          const k = Array.from(
            { length: depth },
            () => parts[rnd(parts.length)]! + parts[rnd(parts.length)]!,
          ).join('/');
          if (!keys.includes(k)) keys.push(k);
        }
        await store.createBucket('listing');
        for (const k of keys) await store.putObject('listing', k, k);
      });

      it.each([
        ['', undefined],
        ['', '/'],
        ['a', '/'],
        ['ab/', '/'],
        ['é', undefined],
        ['', 'b'],
      ] as const)('pages prefix %j delimiter %j exactly like S3', async (prefix, delimiter) => {
        for (const maxKeys of [1, 7, 1000]) {
          const seen: string[] = [];
          let after: string | undefined;
          for (;;) {
            const page = await store.listObjects('listing', {
              prefix,
              ...(delimiter ? { delimiter } : {}),
              maxKeys,
              ...(after !== undefined ? { startAfter: after } : {}),
            });
            const entries = [...page.objects.map((o) => o.key), ...page.commonPrefixes].sort(
              (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)),
            );
            expect(entries.length).toBeLessThanOrEqual(maxKeys);
            seen.push(...entries);
            if (!page.isTruncated) break;
            after = page.nextMarker;
          }
          expect(seen).toEqual(expectedListing(keys, prefix, delimiter));
        }
      });
    });

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

    describe('versioning', () => {
      it("keeps every version with its bytes, frees a version's blob only when it is deleted", async () => {
        await store.createBucket('versioned');
        await store.putObject('versioned', 'k', 'null version');
        await store.putBucketVersioning('versioned', 'Enabled');
        expect(await store.getBucketVersioning('versioned')).toBe('Enabled');
        const v1 = await store.putObject('versioned', 'k', 'one');
        const v2 = await store.putObject('versioned', 'k', 'two');
        expect(v1.versionId).toMatch(/^[A-Za-z0-9_-]{32}$/);
        const before = await blobIds(subject.blobs);
        const read = async (id?: string) => {
          const h = await store.openObject('versioned', 'k', id);
          return h ? (await h.readBuffer()).toString() : undefined;
        };
        expect([await read(), await read(v1.versionId), await read('null')]).toEqual([
          'two',
          'one',
          'null version',
        ]);
        const [marker] = await store.deleteObjectVersions('versioned', [{ key: 'k' }]);
        expect(marker).toMatchObject({ key: 'k', deleteMarker: true });
        expect(await read()).toBeUndefined();
        expect(await blobIds(subject.blobs)).toEqual(before);
        expect((await store.listObjects('versioned')).objects).toEqual([]);
        const page = await store.listObjectVersions('versioned');
        expect(page.versions.map((v) => [v.versionId, v.isDeleteMarker, v.isLatest])).toEqual([
          [marker!.deleteMarkerVersionId, true, true],
          [v2.versionId, false, false],
          [v1.versionId, false, false],
          ['null', false, false],
        ]);
        // Deleting the marker and the latest version brings v1 back; v2's blob is freed.
        await store.deleteObjectVersions('versioned', [
          { key: 'k', versionId: marker!.deleteMarkerVersionId! },
          { key: 'k', versionId: v2.versionId! },
        ]);
        expect(await read()).toBe('one');
        expect((await blobIds(subject.blobs)).length).toBe(before.length - 1);
        // The sweep leaves every referenced version alone.
        await store.sweep(0);
        expect(await read('null')).toBe('null version');
        await expect(store.getObjectVersion('versioned', 'k', 'nope')).rejects.toMatchObject({
          code: 'NoSuchVersion',
        });
        for (const v of (await store.listObjectVersions('versioned')).versions)
          await store.deleteObjectVersions('versioned', [{ key: v.key, versionId: v.versionId }]);
        await store.deleteBucket('versioned');
        expect((await blobIds(subject.blobs)).length).toBe(before.length - 3);
      });
    });

    describe('encryption at rest', () => {
      const body = Buffer.alloc(150_000);
      for (let i = 0; i < body.length; i++) body[i] = (i * 13 + (i >> 9)) & 0xff;
      const customerKey = Buffer.alloc(32, 5);
      const bytesOf = async (
        h: Awaited<ReturnType<DbObjectStore['openObject']>>,
        r?: { start: number; end: number },
      ) => h!.readBuffer(r);
      beforeAll(() => store.createBucket('sealed'));

      it('SSE-S3: the blob holds ciphertext; size, ETag, whole and ranged reads are the plaintext', async () => {
        const before = await blobIds(subject.blobs);
        const info = await store.putObject('sealed', 's3', body, { sse: { mode: 'SSE-S3' } });
        expect(info).toMatchObject({
          size: body.length,
          etag: `"${md5Hex(body)}"`,
          encryption: 'SSE-S3',
        });
        const [id] = (await blobIds(subject.blobs)).filter((b) => !before.includes(b));
        const raw = await (await subject.blobs.open(id!, body.length + 3 * 16))!.readBuffer(
          undefined,
        );
        expect(raw.length).toBe(body.length + 3 * 16);
        expect(raw.includes(body.subarray(1000, 1064))).toBe(false);
        expect((await bytesOf(await store.openObject('sealed', 's3'))).equals(body)).toBe(true);
        for (const [start, end] of [
          [0, 0],
          [65535, 65536],
          [65536, 131071],
          [140000, 149999],
        ] as const) {
          const got = await bytesOf(await store.openObject('sealed', 's3'), { start, end });
          expect(got.equals(body.subarray(start, end + 1))).toBe(true);
        }
        expect(await store.localPath?.(info)).toBeUndefined();
        expect((await store.headObject('sealed', 's3'))?.encryption).toBe('SSE-S3');
      });

      it('SSE-C: the key is required (InvalidRequest), a wrong one refused (AccessDenied)', async () => {
        await store.putObject('sealed', 'c', body, { sse: { mode: 'SSE-C', customerKey } });
        await expect(store.openObject('sealed', 'c')).rejects.toMatchObject({
          code: 'InvalidRequest',
        });
        await expect(
          store.openObject('sealed', 'c', undefined, Buffer.alloc(32, 6)),
        ).rejects.toMatchObject({
          code: 'AccessDenied',
        });
        await expect(
          store.openObject('sealed', 's3', undefined, customerKey),
        ).rejects.toMatchObject({
          code: 'InvalidRequest',
        });
        const got = await bytesOf(await store.openObject('sealed', 'c', undefined, customerKey));
        expect(got.equals(body)).toBe(true);
      });

      it('multipart: each part sealed; reads across part edges; copies re-seal or open', async () => {
        const up = await store.createMultipartUpload('sealed', 'mp', { sse: { mode: 'SSE-S3' } });
        expect(up.encryption).toBe('SSE-S3');
        const parts = [
          body.subarray(0, 70_000),
          body.subarray(70_000, 140_000),
          body.subarray(140_000),
        ];
        const done: { partNumber: number; etag: string }[] = [];
        for (const [i, p] of parts.entries()) {
          const part = await store.uploadPart('sealed', 'mp', up.uploadId, i + 1, p);
          expect(part).toMatchObject({
            size: p.length,
            etag: `"${md5Hex(p)}"`,
            encryption: 'SSE-S3',
          });
          done.push({ partNumber: i + 1, etag: part.etag });
        }
        const info = await store.completeMultipartUpload('sealed', 'mp', up.uploadId, done);
        expect(info).toMatchObject({ size: body.length, partsCount: 3, encryption: 'SSE-S3' });
        expect((await bytesOf(await store.openObject('sealed', 'mp'))).equals(body)).toBe(true);
        const across = await bytesOf(await store.openObject('sealed', 'mp'), {
          start: 69_990,
          end: 140_010,
        });
        expect(across.equals(body.subarray(69_990, 140_011))).toBe(true);
        // Copies: sealed → plain, SSE-C → SSE-S3 (with the source key), plain → sealed.
        const plain = await store.copyObject(
          { bucket: 'sealed', key: 'mp' },
          { bucket: 'sealed', key: 'plain' },
        );
        expect(plain.encryption).toBeUndefined();
        expect(typeof (await store.localPath?.(plain))).toBe(
          subject.blobs.localPath ? 'string' : 'undefined',
        );
        expect((await bytesOf(await store.openObject('sealed', 'plain'))).equals(body)).toBe(true);
        await expect(
          store.copyObject({ bucket: 'sealed', key: 'c' }, { bucket: 'sealed', key: 'c2' }),
        ).rejects.toMatchObject({ code: 'InvalidRequest' });
        const resealed = await store.copyObject(
          { bucket: 'sealed', key: 'c' },
          { bucket: 'sealed', key: 'c2' },
          { sse: { mode: 'SSE-S3' }, sourceCustomerKey: customerKey },
        );
        expect(resealed.encryption).toBe('SSE-S3');
        expect((await bytesOf(await store.openObject('sealed', 'c2'))).equals(body)).toBe(true);
      });

      it('versions keep their encryption: an old sealed version reads back after a plain one', async () => {
        await store.createBucket('sealed-versions');
        await store.putBucketVersioning('sealed-versions', 'Enabled');
        const v1 = await store.putObject('sealed-versions', 'k', 'sealed one', {
          sse: { mode: 'SSE-S3' },
        });
        await store.putObject('sealed-versions', 'k', 'plain two');
        const old = await store.openObject('sealed-versions', 'k', v1.versionId);
        expect(old!.info.encryption).toBe('SSE-S3');
        expect((await old!.readBuffer()).toString()).toBe('sealed one');
        expect((await store.getObjectBuffer('sealed-versions', 'k'))!.toString()).toBe('plain two');
        await store.deleteObjectVersions('sealed-versions', [{ key: 'k' }]);
        const listed = (await store.listObjectVersions('sealed-versions')).versions;
        const back = listed.find((v) => v.versionId === v1.versionId)!;
        await store.deleteObjectVersions(
          'sealed-versions',
          listed
            .filter((v) => v.versionId !== back.versionId)
            .map((v) => ({ key: v.key, versionId: v.versionId })),
        );
        // The sealed version is the latest again: s3_objects got its `sse` back.
        expect((await store.getObjectBuffer('sealed-versions', 'k'))!.toString()).toBe(
          'sealed one',
        );
      });

      it('bucket default: writes without a choice are sealed with SSE-S3 until it is removed', async () => {
        await store.createBucket('sealed-default');
        expect(await store.getBucketEncryption('sealed-default')).toBeUndefined();
        await store.putBucketEncryption('sealed-default', { algorithm: 'AES256' });
        expect((await store.putObject('sealed-default', 'a', 'x')).encryption).toBe('SSE-S3');
        await store.putBucketEncryption('sealed-default', undefined);
        expect((await store.putObject('sealed-default', 'b', 'x')).encryption).toBeUndefined();
        expect((await store.getObjectBuffer('sealed-default', 'a'))!.toString()).toBe('x');
      });
    });

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
