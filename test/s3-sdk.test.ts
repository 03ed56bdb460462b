import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startTestServer, sdkConfig, type TestServer } from './helpers/server.js';

let server: TestServer;
let s3: S3Client;
const MiB = 1024 * 1024;

beforeAll(async () => {
  server = await startTestServer();
  s3 = new S3Client(sdkConfig(server));
  await s3.send(new CreateBucketCommand({ Bucket: 'data' }));
});
afterAll(async () => {
  s3?.destroy();
  await server?.close();
});

async function errorOf(
  p: Promise<unknown>,
): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: err.name, status: err.$metadata?.httpStatusCode, message: err.message };
  }
  throw new Error('expected the call to fail');
}

const get = async (key: string, bucket = 'data') =>
  Buffer.from(
    await (
      await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    ).Body!.transformToByteArray(),
  );

describe('buckets', () => {
  it('creates, lists, heads and deletes buckets', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'scratch.bucket-1' }));
    const list = await s3.send(new ListBucketsCommand({}));
    expect(list.Buckets?.map((b) => b.Name)).toEqual(['data', 'scratch.bucket-1']);
    const head = await s3.send(new HeadBucketCommand({ Bucket: 'scratch.bucket-1' }));
    expect(head.BucketRegion).toBe(server.region);
    await s3.send(new DeleteBucketCommand({ Bucket: 'scratch.bucket-1' }));
    expect(
      (await errorOf(s3.send(new HeadBucketCommand({ Bucket: 'scratch.bucket-1' })))).status,
    ).toBe(404);
  });

  it('answers 200 for a second create in us-east-1 and BucketNotEmpty for a full bucket', async () => {
    // AWS's legacy answer in us-east-1; other regions answer 409 BucketAlreadyOwnedByYou
    // (test/s3-triage-a.test.ts).
    const again = await s3.send(new CreateBucketCommand({ Bucket: 'data' }));
    expect(again.$metadata.httpStatusCode).toBe(200);
    await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'keep', Body: 'x' }));
    expect(await errorOf(s3.send(new DeleteBucketCommand({ Bucket: 'data' })))).toMatchObject({
      name: 'BucketNotEmpty',
      status: 409,
    });
  });

  it.each(['UPPER', 'ab', 'a'.repeat(64), '192.168.5.4', 'a..b', '-ab', 'ab-', 'a_b', 'xn--abc'])(
    'refuses the bucket name %j with InvalidBucketName',
    async (name) => {
      const err = await errorOf(s3.send(new CreateBucketCommand({ Bucket: name })));
      expect(err).toMatchObject({ name: 'InvalidBucketName', status: 400 });
    },
  );

  it('answers NoSuchBucket for objects of a missing bucket', async () => {
    expect(
      await errorOf(s3.send(new PutObjectCommand({ Bucket: 'missing', Key: 'k', Body: 'x' }))),
    ).toMatchObject({
      name: 'NoSuchBucket',
      status: 404,
      message: 'The specified bucket does not exist.',
    });
  });
});

describe('objects', () => {
  it('round-trips bytes, Content-Type, user metadata and the MD5 ETag', async () => {
    const body = randomBytes(100_000);
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'data',
        Key: 'img/bee.jpg',
        Body: body,
        ContentType: 'image/jpeg',
        Metadata: { label: 'bee', 'camera-id': '7' },
        CacheControl: 'max-age=60',
      }),
    );
    expect(put.ETag).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'img/bee.jpg' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    expect(got.ContentType).toBe('image/jpeg');
    expect(got.Metadata).toEqual({ label: 'bee', 'camera-id': '7' });
    expect(got.CacheControl).toBe('max-age=60');
    expect(got.ETag).toBe(put.ETag);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'img/bee.jpg' }));
    expect(head.ContentLength).toBe(100_000);
    expect(head.AcceptRanges).toBe('bytes');
  });

  it('streams an upload of unknown content through aws-chunked with a CRC32 trailer', async () => {
    const body = randomBytes(3 * MiB + 17);
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'data',
        Key: 'stream.bin',
        Body: Readable.from([body.subarray(0, MiB), body.subarray(MiB)]),
        ContentLength: body.length,
      }),
    );
    expect(put.ChecksumCRC32).toBeDefined();
    expect((await get('stream.bin')).equals(body)).toBe(true);
  });

  it.each(['CRC32C', 'SHA1', 'SHA256', 'CRC64NVME'] as const)(
    'verifies and returns an %s checksum',
    async (alg) => {
      const body = randomBytes(50_000);
      const put = await s3.send(
        new PutObjectCommand({
          Bucket: 'data',
          Key: `sum-${alg}`,
          Body: body,
          ChecksumAlgorithm: alg,
        }),
      );
      const field = `Checksum${alg}` as const;
      expect(put[field]).toBeDefined();
      const got = await s3.send(
        new GetObjectCommand({ Bucket: 'data', Key: `sum-${alg}`, ChecksumMode: 'ENABLED' }),
      );
      expect(got[field]).toBe(put[field]);
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    },
  );

  it('round-trips keys that look like paths, unicode, and 1,024 bytes, and refuses 1,025', async () => {
    const keys = [
      '../escape',
      'a/../../etc/passwd',
      'back\\slash\\..\\x',
      'double//slash',
      '/leading',
      'trailing.',
      'ünïcødé/🐝 bee',
      '%2e%2e%2f',
      'sp ace+plus&amp?q=1#frag',
      'k'.repeat(1024),
    ];
    for (const [i, key] of keys.entries()) {
      await s3.send(
        new PutObjectCommand({
          Bucket: 'data',
          Key: `keys/${i}/${key}`.slice(0, 1024),
          Body: `v${i}`,
        }),
      );
    }
    for (const [i, key] of keys.entries()) {
      expect((await get(`keys/${i}/${key}`.slice(0, 1024))).toString()).toBe(`v${i}`);
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'data', Prefix: 'keys/' }));
    expect(listed.Contents?.map((o) => o.Key).sort()).toEqual(
      keys.map((k, i) => `keys/${i}/${k}`.slice(0, 1024)).sort(),
    );
    const exact = 'é'.repeat(512);
    await s3.send(new PutObjectCommand({ Bucket: 'data', Key: exact, Body: 'max' }));
    expect((await get(exact)).toString()).toBe('max');
    const err = await errorOf(
      s3.send(new PutObjectCommand({ Bucket: 'data', Key: exact + 'x', Body: 'x' })),
    );
    expect(err).toMatchObject({ name: 'KeyTooLongError', status: 400 });
  });

  it('serves single ranges with 206 and refuses unsatisfiable ones with 416 InvalidRange', async () => {
    const body = Buffer.from('0123456789');
    await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'digits', Body: body }));
    const r = await s3.send(
      new GetObjectCommand({ Bucket: 'data', Key: 'digits', Range: 'bytes=2-5' }),
    );
    expect(r.$metadata.httpStatusCode).toBe(206);
    expect(r.ContentRange).toBe('bytes 2-5/10');
    expect(await r.Body!.transformToString()).toBe('2345');
    expect(
      await (
        await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'digits', Range: 'bytes=-3' }))
      ).Body!.transformToString(),
    ).toBe('789');
    expect(
      await (
        await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'digits', Range: 'bytes=7-' }))
      ).Body!.transformToString(),
    ).toBe('789');
    expect(
      await errorOf(
        s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'digits', Range: 'bytes=10-20' })),
      ),
    ).toMatchObject({
      name: 'InvalidRange',
      status: 416,
    });
  });

  it('honours If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'cond', Body: 'c' }));
    const etag = put.ETag!;
    expect(
      (await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'cond', IfMatch: etag }))).ETag,
    ).toBe(etag);
    expect(
      await errorOf(
        s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'cond', IfMatch: '"nope"' })),
      ),
    ).toMatchObject({ status: 412, name: 'PreconditionFailed' });
    expect(
      (
        await errorOf(
          s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'cond', IfNoneMatch: etag })),
        )
      ).status,
    ).toBe(304);
    const future = new Date(Date.now() + 3600_000);
    const past = new Date(Date.now() - 3600_000);
    expect(
      (
        await errorOf(
          s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'cond', IfModifiedSince: future })),
        )
      ).status,
    ).toBe(304);
    expect(
      (await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'cond', IfModifiedSince: past })))
        .ETag,
    ).toBe(etag);
    expect(
      (
        await errorOf(
          s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'cond', IfUnmodifiedSince: past })),
        )
      ).status,
    ).toBe(412);
    expect(
      (
        await errorOf(
          s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'cond', IfMatch: '"nope"' })),
        )
      ).status,
    ).toBe(412);
  });

  it('overrides response headers with response-content-type and friends', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: 'data', Key: 'ovr', Body: 'x', ContentType: 'text/plain' }),
    );
    const got = await s3.send(
      new GetObjectCommand({
        Bucket: 'data',
        Key: 'ovr',
        ResponseContentType: 'application/json',
        ResponseContentDisposition: 'attachment; filename="a.json"',
      }),
    );
    expect(got.ContentType).toBe('application/json');
    expect(got.ContentDisposition).toBe('attachment; filename="a.json"');
  });

  it('creates only when If-None-Match: * and the key is absent', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: 'data', Key: 'once', Body: 'first', IfNoneMatch: '*' }),
    );
    expect(
      await errorOf(
        s3.send(
          new PutObjectCommand({ Bucket: 'data', Key: 'once', Body: 'second', IfNoneMatch: '*' }),
        ),
      ),
    ).toMatchObject({ status: 412 });
    expect((await get('once')).toString()).toBe('first');
  });

  it('copies objects, keeping or replacing metadata', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: 'data',
        Key: 'src/é x',
        Body: 'copy me',
        ContentType: 'text/plain',
        Metadata: { a: '1' },
      }),
    );
    const copied = await s3.send(
      new CopyObjectCommand({
        Bucket: 'data',
        Key: 'dst/copy',
        CopySource: `data/${encodeURIComponent('src/é x')}`,
      }),
    );
    expect(copied.CopyObjectResult?.ETag).toBe(
      `"${createHash('md5').update('copy me').digest('hex')}"`,
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'dst/copy' }));
    expect(head.Metadata).toEqual({ a: '1' });
    expect(head.ContentType).toBe('text/plain');
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'data',
        Key: 'dst/copy',
        CopySource: 'data/dst/copy',
        MetadataDirective: 'REPLACE',
        Metadata: { b: '2' },
        ContentType: 'text/csv',
      }),
    );
    const replaced = await s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'dst/copy' }));
    expect(replaced.Metadata).toEqual({ b: '2' });
    expect(replaced.ContentType).toBe('text/csv');
    expect((await get('dst/copy')).toString()).toBe('copy me');
    // The copy is independent of its source.
    await s3.send(new DeleteObjectCommand({ Bucket: 'data', Key: 'src/é x' }));
    expect((await get('dst/copy')).toString()).toBe('copy me');
    expect(
      await errorOf(
        s3.send(
          new CopyObjectCommand({ Bucket: 'data', Key: 'dst/copy', CopySource: 'data/dst/copy' }),
        ),
      ),
    ).toMatchObject({
      name: 'InvalidRequest',
      status: 400,
    });
    expect(
      await errorOf(
        s3.send(new CopyObjectCommand({ Bucket: 'data', Key: 'x', CopySource: 'data/none' })),
      ),
    ).toMatchObject({ name: 'NoSuchKey', status: 404 });
  });

  it('deletes many objects at once, quietly or not', async () => {
    for (const k of ['d/1', 'd/2', 'd/3'])
      await s3.send(new PutObjectCommand({ Bucket: 'data', Key: k, Body: k }));
    const res = await s3.send(
      new DeleteObjectsCommand({
        Bucket: 'data',
        Delete: { Objects: [{ Key: 'd/1' }, { Key: 'd/2' }, { Key: 'd/none' }] },
      }),
    );
    expect(res.Deleted?.map((d) => d.Key).sort()).toEqual(['d/1', 'd/2', 'd/none']);
    const quiet = await s3.send(
      new DeleteObjectsCommand({
        Bucket: 'data',
        Delete: { Objects: [{ Key: 'd/3' }], Quiet: true },
      }),
    );
    expect(quiet.Deleted ?? []).toEqual([]);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: 'data', Prefix: 'd/' }));
    expect(left.KeyCount).toBe(0);
  });
});

describe('listing', () => {
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'listing' }));
    const keys = ['a.txt', 'b/1', 'b/2', 'b/c/3', 'c', 'd/x', 'e+f g'];
    for (let i = 0; i < 25; i++) keys.push(`many/${String(i).padStart(3, '0')}`);
    await Promise.all(
      keys.map((k) => s3.send(new PutObjectCommand({ Bucket: 'listing', Key: k, Body: k }))),
    );
  });

  it('rolls keys up into common prefixes with a delimiter', async () => {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Delimiter: '/' }));
    expect(r.Contents?.map((o) => o.Key)).toEqual(['a.txt', 'c', 'e+f g']);
    expect(r.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['b/', 'd/', 'many/']);
    expect(r.KeyCount).toBe(6);
    const b = await s3.send(
      new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'b/', Delimiter: '/' }),
    );
    expect(b.Contents?.map((o) => o.Key)).toEqual(['b/1', 'b/2']);
    expect(b.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['b/c/']);
  });

  it('pages with continuation tokens and max-keys, across common prefixes', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r: ListObjectsV2CommandOutput = await s3.send(
        new ListObjectsV2Command({
          Bucket: 'listing',
          MaxKeys: 2,
          Delimiter: '/',
          ContinuationToken: token,
        }),
      );
      seen.push(
        ...(r.Contents ?? []).map((o) => o.Key!),
        ...(r.CommonPrefixes ?? []).map((p) => p.Prefix!),
      );
      token = r.NextContinuationToken;
      expect(r.IsTruncated).toBe(token !== undefined);
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual(['a.txt', 'b/', 'c', 'd/', 'e+f g', 'many/']);
    const all: string[] = [];
    token = undefined;
    do {
      const r: ListObjectsV2CommandOutput = await s3.send(
        new ListObjectsV2Command({
          Bucket: 'listing',
          Prefix: 'many/',
          MaxKeys: 10,
          ContinuationToken: token,
        }),
      );
      all.push(...(r.Contents ?? []).map((o) => o.Key!));
      token = r.NextContinuationToken;
    } while (token);
    expect(all).toHaveLength(25);
    expect(new Set(all).size).toBe(25);
  });

  it('starts after a key, and caps max-keys at 1,000', async () => {
    const r = await s3.send(
      new ListObjectsV2Command({ Bucket: 'listing', StartAfter: 'many/020', MaxKeys: 5000 }),
    );
    expect(r.Contents?.map((o) => o.Key)).toEqual(['many/021', 'many/022', 'many/023', 'many/024']);
    expect(r.MaxKeys).toBe(1000);
  });

  it('url-encodes keys on request', async () => {
    const r = await s3.send(
      new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'e', EncodingType: 'url' }),
    );
    expect(r.Contents?.map((o) => o.Key)).toEqual(['e%2Bf%20g']);
  });

  it('pages ListObjects v1 with markers', async () => {
    const r = await s3.send(new ListObjectsCommand({ Bucket: 'listing', Marker: 'c', MaxKeys: 2 }));
    expect(r.Contents?.map((o) => o.Key)).toEqual(['d/x', 'e+f g']);
    expect(r.IsTruncated).toBe(true);
    const r2 = await s3.send(
      new ListObjectsCommand({ Bucket: 'listing', Marker: 'c', Delimiter: '/', MaxKeys: 1 }),
    );
    expect(r2.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['d/']);
    expect(r2.NextMarker).toBe('d/');
  });
});

describe('multipart uploads', () => {
  it('uploads a large stream with lib-storage and gets S3 ETag of md5-of-md5s', async () => {
    const body = randomBytes(12 * MiB + 5);
    const upload = new Upload({
      client: s3,
      params: {
        Bucket: 'data',
        Key: 'big/model.tar.gz',
        Body: Readable.from([body]),
        ContentType: 'application/gzip',
      },
      partSize: 5 * MiB,
      queueSize: 2,
    });
    const done = await upload.done();
    const md5s = createHash('md5');
    for (let off = 0; off < body.length; off += 5 * MiB)
      md5s.update(
        createHash('md5')
          .update(body.subarray(off, off + 5 * MiB))
          .digest(),
      );
    expect(done.ETag).toBe(`"${md5s.digest('hex')}-3"`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'big/model.tar.gz' }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.ContentType).toBe('application/gzip');
    expect((await get('big/model.tar.gz')).equals(body)).toBe(true);
  });

  it('refuses small parts, unknown parts, wrong order and unknown uploads with S3 errors', async () => {
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'data', Key: 'mp' }),
    );
    const p1 = await s3.send(
      new UploadPartCommand({
        Bucket: 'data',
        Key: 'mp',
        UploadId,
        PartNumber: 1,
        Body: Buffer.alloc(1024, 1),
      }),
    );
    const p2 = await s3.send(
      new UploadPartCommand({
        Bucket: 'data',
        Key: 'mp',
        UploadId,
        PartNumber: 2,
        Body: Buffer.alloc(1024, 2),
      }),
    );
    const parts = await s3.send(new ListPartsCommand({ Bucket: 'data', Key: 'mp', UploadId }));
    expect(parts.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual([
      [1, 1024, p1.ETag],
      [2, 1024, p2.ETag],
    ]);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'data' }));
    expect(uploads.Uploads?.map((u) => u.UploadId)).toContain(UploadId);
    const complete = (Parts: { PartNumber: number; ETag: string }[], id = UploadId) =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'data',
          Key: 'mp',
          UploadId: id,
          MultipartUpload: { Parts },
        }),
      );
    expect(
      await errorOf(
        complete([
          { PartNumber: 1, ETag: p1.ETag! },
          { PartNumber: 2, ETag: p2.ETag! },
        ]),
      ),
    ).toMatchObject({ name: 'EntityTooSmall', status: 400 });
    expect(await errorOf(complete([{ PartNumber: 1, ETag: '"0000"' }]))).toMatchObject({
      name: 'InvalidPart',
      status: 400,
    });
    expect(await errorOf(complete([{ PartNumber: 3, ETag: p1.ETag! }]))).toMatchObject({
      name: 'InvalidPart',
      status: 400,
    });
    expect(
      await errorOf(
        complete([
          { PartNumber: 2, ETag: p2.ETag! },
          { PartNumber: 1, ETag: p1.ETag! },
        ]),
      ),
    ).toMatchObject({ name: 'InvalidPartOrder', status: 400 });
    // The last part may be small: completing with part 2 alone works.
    const done = await complete([{ PartNumber: 2, ETag: p2.ETag! }]);
    expect(done.ETag).toMatch(/-1"$/);
    expect((await get('mp')).equals(Buffer.alloc(1024, 2))).toBe(true);
    // Repeating the Complete with the same parts answers the same ETag, as S3 does (#16);
    // with other parts the upload is gone.
    expect((await complete([{ PartNumber: 2, ETag: p2.ETag! }])).ETag).toBe(done.ETag);
    expect(await errorOf(complete([{ PartNumber: 1, ETag: p1.ETag! }]))).toMatchObject({
      name: 'NoSuchUpload',
      status: 404,
    });
    expect(
      await errorOf(
        s3.send(
          new UploadPartCommand({
            Bucket: 'data',
            Key: 'mp',
            UploadId: 'nope',
            PartNumber: 1,
            Body: 'x',
          }),
        ),
      ),
    ).toMatchObject({
      name: 'NoSuchUpload',
      status: 404,
    });
  });

  it('aborts an upload and copies parts from existing objects', async () => {
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'data', Key: 'aborted' }),
    );
    await s3.send(
      new UploadPartCommand({ Bucket: 'data', Key: 'aborted', UploadId, PartNumber: 1, Body: 'x' }),
    );
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'data', Key: 'aborted', UploadId }));
    expect(
      await errorOf(s3.send(new ListPartsCommand({ Bucket: 'data', Key: 'aborted', UploadId }))),
    ).toMatchObject({ name: 'NoSuchUpload' });

    await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'digits2', Body: '0123456789' }));
    const up = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'data', Key: 'assembled' }),
    );
    const part = await s3.send(
      new UploadPartCopyCommand({
        Bucket: 'data',
        Key: 'assembled',
        UploadId: up.UploadId,
        PartNumber: 1,
        CopySource: 'data/digits2',
        CopySourceRange: 'bytes=3-6',
      }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'data',
        Key: 'assembled',
        UploadId: up.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.CopyPartResult!.ETag! }] },
      }),
    );
    expect((await get('assembled')).toString()).toBe('3456');
  });
});

describe('presigned URLs', () => {
  it('GETs and PUTs through presigned URLs, and refuses a presigned GET replayed as DELETE', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: 'data', Key: 'pre/sign d.txt', Body: 'presigned' }),
    );
    const url = await getSignedUrl(
      s3,
      new GetObjectCommand({ Bucket: 'data', Key: 'pre/sign d.txt' }),
      { expiresIn: 60 },
    );
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('presigned');
    const del = await fetch(url, { method: 'DELETE' });
    expect(del.status).toBe(403);
    expect(await del.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect((await get('pre/sign d.txt')).toString()).toBe('presigned');

    // Without a body checksum in the URL (the SDK adds one of the empty body by default).
    const plain = new S3Client({
      ...sdkConfig(server),
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    const putUrl = await getSignedUrl(
      plain,
      new PutObjectCommand({ Bucket: 'data', Key: 'pre/up' }),
      { expiresIn: 60 },
    );
    plain.destroy();
    const put = await fetch(putUrl, { method: 'PUT', body: 'uploaded' });
    expect(put.status).toBe(200);
    expect((await get('pre/up')).toString()).toBe('uploaded');
  });

  it('verifies a checksum carried in a presigned URL', async () => {
    // The default presigner signs x-amz-checksum-crc32 of an empty body into the URL.
    const putUrl = await getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: 'data', Key: 'pre/sum' }),
      { expiresIn: 60 },
    );
    expect(putUrl).toContain('x-amz-checksum-crc32=');
    const bad = await fetch(putUrl, { method: 'PUT', body: 'not empty' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('<Code>BadDigest</Code>');
    expect(
      (await errorOf(s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'pre/sum' })))).status,
    ).toBe(404);
    const ok = await fetch(putUrl, { method: 'PUT', body: '' });
    expect(ok.status).toBe(200);
  });

  it('refuses an expired presigned URL with AccessDenied "Request has expired"', async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'data', Key: 'pre/up' }), {
      expiresIn: 1,
      signingDate: new Date(Date.now() - 10_000),
    });
    const res = await fetch(url);
    expect(res.status).toBe(403);
    const text = await res.text();
    expect(text).toContain('<Code>AccessDenied</Code>');
    expect(text).toContain('<Message>Request has expired</Message>');
  });

  it.each(['0', '604801', '-1', 'abc'])('refuses X-Amz-Expires=%s with 403', async (expires) => {
    const url = new URL(
      await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'data', Key: 'pre/up' }), {
        expiresIn: 60,
      }),
    );
    url.searchParams.set('X-Amz-Expires', expires);
    const res = await fetch(url);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('X-Amz-Expires');
  });
});

describe('virtual-host style', () => {
  it('selects the bucket from <bucket>.localhost', async () => {
    const port = new URL(server.url).port;
    // Resolve every *.localhost name to loopback, as browsers and systemd-resolved do.
    const lookup = ((_host: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) =>
      opts?.all
        ? cb(null, [{ address: '127.0.0.1', family: 4 }])
        : cb(null, '127.0.0.1', 4)) as never;
    const vs3 = new S3Client({
      ...sdkConfig(server),
      forcePathStyle: false,
      endpoint: `http://localhost:${port}`,
      requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ lookup }) }),
    });
    try {
      await vs3.send(new PutObjectCommand({ Bucket: 'data', Key: 'vhost/key', Body: 'virtual' }));
      expect((await get('vhost/key')).toString()).toBe('virtual');
    } finally {
      vs3.destroy();
    }
  });
});
