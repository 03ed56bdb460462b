import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INLINE_MAX_BYTES } from '../src/objects/index.js';
import { sdkConfig, startTestServer, type TestServer } from './helpers/server.js';
import { startVersitygw, type S3TestServer } from './helpers/s3-servers.js';

/**
 * Apiary with APIARY_BLOB_STORE=s3://… on a real S3 server (versitygw): the AWS SDK drives
 * Apiary's S3 API; the bytes land in the external bucket, keys stay in Apiary's database.
 */

const MiB = 1024 * 1024;
/** Past the inline limit, so the bytes go to the external bucket (smaller ones are rows). */
const text = 'bytes in an external bucket';
const external = Buffer.concat([Buffer.from(text), Buffer.alloc(DEFAULT_INLINE_MAX_BYTES, 0x2e)]);
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
let vgw: S3TestServer;
let server: TestServer;
let s3: S3Client;

beforeAll(async () => {
  vgw = await startVersitygw();
  await vgw.createBucket('apiary-blobs');
  server = await startTestServer(
    {},
    {
      APIARY_BLOB_STORE: 's3://apiary-blobs/prod/objects',
      APIARY_BLOB_S3_ENDPOINT: vgw.endpoint,
      APIARY_BLOB_S3_ACCESS_KEY_ID: vgw.accessKeyId,
      APIARY_BLOB_S3_SECRET_ACCESS_KEY: vgw.secretAccessKey,
    },
  );
  s3 = new S3Client({ ...sdkConfig(server), maxAttempts: 1 });
  await s3.send(new CreateBucketCommand({ Bucket: 'data' }));
  // The first run builds versitygw from the Go module proxy (about two minutes here).
}, 15 * 60_000);
afterAll(async () => {
  s3?.destroy();
  await server?.close();
  await vgw?.stop();
});

async function externalKeys(): Promise<string[]> {
  const raw = vgw.client();
  try {
    const page = await raw.send(new ListObjectsV2Command({ Bucket: 'apiary-blobs' }));
    return (page.Contents ?? []).map((o) => o.Key!);
  } finally {
    raw.destroy();
  }
}

const bytesOf = async (key: string) =>
  Buffer.from(
    await (
      await s3.send(new GetObjectCommand({ Bucket: 'data', Key: key }))
    ).Body!.transformToByteArray(),
  );

describe('APIARY_BLOB_STORE=s3:// through the S3 API', () => {
  it('puts and gets objects whose bytes live in the external bucket under the prefix', async () => {
    const body = external;
    await s3.send(
      new PutObjectCommand({
        Bucket: 'data',
        Key: 'train/../a.txt',
        Body: body,
        ContentType: 'text/plain',
      }),
    );
    expect(await bytesOf('train/../a.txt')).toEqual(body);
    const ranged = await s3.send(
      new GetObjectCommand({ Bucket: 'data', Key: 'train/../a.txt', Range: 'bytes=9-10' }),
    );
    expect(await ranged.Body!.transformToString()).toBe('an');
    const keys = await externalKeys();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^prod\/objects\/[0-9a-f]{32}$/);
    const localBlobs = path.join(server.dataDir, 'blobs');
    expect(fs.existsSync(localBlobs) ? fs.readdirSync(localBlobs) : []).toEqual([]);
    // A small object is a database row: nothing more in the external bucket.
    await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'small', Body: 'inline' }));
    expect((await bytesOf('small')).toString()).toBe('inline');
    expect(await externalKeys()).toHaveLength(1);
  });

  it('completes a multipart upload of 5 MiB parts and copies the result', async () => {
    const parts = [Buffer.alloc(5 * MiB, 1), Buffer.alloc(5 * MiB, 2), Buffer.from('tail')];
    const mp = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'data', Key: 'model.tar.gz' }),
    );
    const etags = [];
    for (const [i, Body] of parts.entries()) {
      const r = await s3.send(
        new UploadPartCommand({
          Bucket: 'data',
          Key: 'model.tar.gz',
          UploadId: mp.UploadId,
          PartNumber: i + 1,
          Body,
        }),
      );
      etags.push({ ETag: r.ETag!, PartNumber: i + 1 });
    }
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'data',
        Key: 'model.tar.gz',
        UploadId: mp.UploadId,
        MultipartUpload: { Parts: etags },
      }),
    );
    expect(done.ETag).toMatch(/-3"$/);
    const whole = Buffer.concat(parts);
    expect(md5(await bytesOf('model.tar.gz'))).toBe(md5(whole));

    await s3.send(
      new CopyObjectCommand({
        Bucket: 'data',
        Key: 'copy.tar.gz',
        CopySource: 'data/model.tar.gz',
      }),
    );
    expect(md5(await bytesOf('copy.tar.gz'))).toBe(md5(whole));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'copy.tar.gz' }));
    expect(head.ContentLength).toBe(whole.length);
    // a.txt, the completed object and its copy: the part blobs (and the inline last part's
    // staged copy) are gone.
    expect(await externalKeys()).toHaveLength(3);
  });

  it('answers ServiceUnavailable while the external store is down, and recovers when it is back', async () => {
    await vgw.kill();
    const err = await s3
      .send(
        new PutObjectCommand({
          Bucket: 'data',
          Key: 'train/../a.txt',
          Body: Buffer.alloc(DEFAULT_INLINE_MAX_BYTES + 1, 0x6e),
        }),
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(S3ServiceException);
    expect((err as S3ServiceException).name).toBe('ServiceUnavailable');
    expect((err as S3ServiceException).$metadata.httpStatusCode).toBe(503);
    const get = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'train/../a.txt' })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((get as S3ServiceException).name).toBe('ServiceUnavailable');
    expect((get as S3ServiceException).$metadata.httpStatusCode).toBe(503);

    await vgw.restart();
    expect((await bytesOf('train/../a.txt')).equals(external)).toBe(true);
    expect(
      (await s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'train/../a.txt' })))
        .ContentLength,
    ).toBe(external.length);
  });
});
