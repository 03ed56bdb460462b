import { beforeAll, describe, expect, it } from 'vitest';
import { blobIds, md5Hex, type ContractSubject } from '../contract-subject.js';
import type { DbObjectStore } from '../db-object-store.js';

/** The encryption-at-rest cases: SSE-S3, SSE-C, multipart, versions, the bucket default. */
export function encryptionCases(get: () => ContractSubject): void {
  describe('encryption at rest', () => {
    let subject: ContractSubject;
    let store: DbObjectStore;
    beforeAll(async () => {
      subject = get();
      store = subject.store;
      await store.createBucket('sealed');
    });
    const body = Buffer.alloc(150_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 13 + (i >> 9)) & 0xff;
    const customerKey = Buffer.alloc(32, 5);
    const bytesOf = async (
      h: Awaited<ReturnType<DbObjectStore['openObject']>>,
      r?: { start: number; end: number },
    ) => h!.readBuffer(r);

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
      await expect(store.openObject('sealed', 's3', undefined, customerKey)).rejects.toMatchObject({
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
      expect((await store.getObjectBuffer('sealed-versions', 'k'))!.toString()).toBe('sealed one');
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
}
