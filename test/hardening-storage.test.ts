import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import { spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  S3Client,
  CreateBucketCommand,
  PutObjectCommand,
  GetObjectCommand,
  DeleteObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { SageMakerClient, CreateTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import { serveInChild } from './helpers/child-server.js';
import { sdkConfig, startTestServer, type TestServer } from './helpers/server.js';
import { baseJob, JOB_SCRIPT, SYSTEM_PYTHON, TEST_IMAGE, waitForJob } from './training-helpers.js';

// Item 8 of the hardening audit: bit rot is caught on read; a full disk is an error, not damage.

describe('a flipped byte in a blob', () => {
  let server: TestServer;
  let s3: S3Client;
  beforeAll(async () => {
    server = await startTestServer();
    s3 = new S3Client({ ...sdkConfig(server), maxAttempts: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: 'rot' }));
  });
  afterAll(async () => {
    s3?.destroy();
    await server?.close();
  });

  /**
   * Finds the stored copy of exactly `bytes` and flips its byte at `at`: a blob file under the data
   * dir, or a row of `s3_inline_blobs` (objects up to APIARY_S3_INLINE_MAX_BYTES live in the
   * database), on either database.
   */
  async function flip(bytes: Buffer, at: number): Promise<void> {
    const walk = (dir: string): string[] =>
      fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((e) =>
          e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)],
        );
    const file = walk(server.dataDir).find(
      (f) => fs.statSync(f).size === bytes.length && fs.readFileSync(f).equals(bytes),
    );
    if (file) {
      const b = fs.readFileSync(file);
      b[at] = b[at]! ^ 0x01;
      fs.writeFileSync(file, b);
      return;
    }
    const db = server.apiary.database.db as unknown as Kysely<{
      s3_inline_blobs: { id: string; bytes: Buffer };
    }>;
    const rows = await db.selectFrom('s3_inline_blobs').select(['id', 'bytes']).execute();
    const row = rows.find((r) => Buffer.from(r.bytes).equals(bytes));
    expect(row).toBeDefined();
    const b = Buffer.from(row!.bytes);
    b[at] = b[at]! ^ 0x01;
    await db.updateTable('s3_inline_blobs').set({ bytes: b }).where('id', '=', row!.id).execute();
  }

  it('answers InternalError for a small object and never completes a large download of bad bytes', async () => {
    const small = Buffer.from('the quick brown fox jumps over the lazy bee 0123456789');
    const large = Buffer.alloc(1024 * 1024 + 7, 0x61);
    large.write('large object header', 0);
    await s3.send(new PutObjectCommand({ Bucket: 'rot', Key: 'small.txt', Body: small }));
    await s3.send(new PutObjectCommand({ Bucket: 'rot', Key: 'large.bin', Body: large }));
    await flip(small, 3);
    await flip(large, 500_000);
    const err = await s3
      .send(new GetObjectCommand({ Bucket: 'rot', Key: 'small.txt' }))
      .catch((e) => e);
    expect(err).toMatchObject({ name: 'InternalError', $metadata: { httpStatusCode: 500 } });
    expect(err.message).toContain('fail their integrity check');
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'rot', Key: 'large.bin' }), {
      expiresIn: 300,
    });
    const got = await new Promise<{ status: number; received: number; complete: boolean }>(
      (resolve, reject) => {
        http
          .get(url, (res) => {
            let received = 0;
            res.on('data', (c: Buffer) => (received += c.length));
            res.on('error', () => {});
            res.on('close', () =>
              resolve({ status: res.statusCode ?? 0, received, complete: res.complete }),
            );
          })
          .on('error', reject);
      },
    );
    // The answer started as 200, but the connection was cut before the last bytes.
    expect(got.status).toBe(200);
    expect(got.complete).toBe(false);
    expect(got.received).toBeLessThan(large.length);
  });

  it("catches damage by the server's own CRC32 when the client sent no checksum", async () => {
    // Without x-amz-checksum-crc32 a whole GET is verified by the CRC32 kept at write time.
    const bare = new S3Client({
      ...sdkConfig(server),
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const small = Buffer.from('no checksum from this client, the server keeps its own CRC32 0042');
    const large = Buffer.alloc(1024 * 1024 + 13, 0x62);
    large.write('bare large object header', 0);
    await bare.send(new PutObjectCommand({ Bucket: 'rot', Key: 'bare.txt', Body: small }));
    await bare.send(new PutObjectCommand({ Bucket: 'rot', Key: 'bare.bin', Body: large }));
    const intact = await bare.send(new GetObjectCommand({ Bucket: 'rot', Key: 'bare.bin' }));
    expect(Buffer.from(await intact.Body!.transformToByteArray()).equals(large)).toBe(true);
    await flip(small, 10);
    await flip(large, 700_000);
    const err = await bare
      .send(new GetObjectCommand({ Bucket: 'rot', Key: 'bare.txt' }))
      .catch((e) => e);
    bare.destroy();
    expect(err).toMatchObject({ name: 'InternalError', $metadata: { httpStatusCode: 500 } });
    expect(err.message).toContain(
      'their CRC32 differs from the one computed when they were written',
    );
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'rot', Key: 'bare.bin' }), {
      expiresIn: 300,
    });
    const got = await download(url);
    expect(got.complete).toBe(false);
    expect(got.received).toBeLessThan(large.length);
  });

  it('checks a multipart object part by part: a flipped byte never completes a download', async () => {
    const part1 = Buffer.alloc(5 * 1024 * 1024, 0x70);
    part1.write('multipart part one', 0);
    const part2 = Buffer.from('the second and last part');
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'rot', Key: 'mp.bin' }));
    const etags: string[] = [];
    for (const [i, body] of [part1, part2].entries()) {
      const r = await s3.send(
        new UploadPartCommand({
          Bucket: 'rot',
          Key: 'mp.bin',
          UploadId: up.UploadId,
          PartNumber: i + 1,
          Body: body,
        }),
      );
      etags.push(r.ETag!);
    }
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'rot',
        Key: 'mp.bin',
        UploadId: up.UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    const whole = Buffer.concat([part1, part2]);
    const intact = await s3.send(new GetObjectCommand({ Bucket: 'rot', Key: 'mp.bin' }));
    expect(Buffer.from(await intact.Body!.transformToByteArray()).equals(whole)).toBe(true);
    await flip(whole, 3_000_000);
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'rot', Key: 'mp.bin' }), {
      expiresIn: 300,
    });
    const got = await download(url);
    expect(got.complete).toBe(false);
    expect(got.received).toBeLessThan(whole.length);
  });
});

/** Reads a URL to its end: how many bytes came, and whether the response completed. */
const download = (url: string) =>
  new Promise<{ complete: boolean; received: number }>((resolve, reject) => {
    http
      .get(url, (res) => {
        let received = 0;
        res.on('data', (c: Buffer) => (received += c.length));
        res.on('error', () => {});
        res.on('close', () => resolve({ received, complete: res.complete }));
      })
      .on('error', reject);
  });

const canMountTmpfs = (): boolean => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-mnt-probe-'));
  const r = spawnSync('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o size=1m tmpfs "${d}"`], {
    stdio: 'ignore',
  });
  fs.rmSync(d, { recursive: true, force: true });
  return r.status === 0;
};

describe.runIf(canMountTmpfs())('a full disk', () => {
  let child: ChildProcess;
  let s3: S3Client;
  let sm: SageMakerClient;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-full-'));
  /** Free bytes of the server's data dir, seen through its mount namespace. */
  const freeBytes = () => {
    const st = fs.statfsSync(`/proc/${child.pid}/root${dataDir}`);
    return st.bavail * st.bsize;
  };
  const creds = {
    accessKeyId: 'AKIAFULLDISKTEST0001',
    secretAccessKey: 'full-disk-test-secret-0123456789abcdefgh',
  };

  beforeAll(async () => {
    // The server runs in its own mount namespace with its data dir on an 8 MiB tmpfs; the test
    // image is registered inside it (the CLI opens the data dir's database).
    const server = await serveInChild({
      dataDir,
      credentials: creds,
      // bubblewrap inside this user namespace is not what is under test here.
      env: { APIARY_SANDBOX: 'none' },
      wrap: ([node, apiary, ...args]) => [
        'unshare',
        '-rm',
        'sh',
        '-c',
        'mount -t tmpfs -o size=8m tmpfs "$0" && "$1" "$2" images register "$3" "$4" "$5" >/dev/null && exec "$1" "$2" "$6"',
        dataDir,
        node!,
        apiary!,
        TEST_IMAGE,
        SYSTEM_PYTHON,
        JOB_SCRIPT,
        ...args,
      ],
    });
    child = server.child;
    const port = new URL(server.url).port;
    s3 = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: creds,
      forcePathStyle: true,
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    sm = new SageMakerClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: creds,
      maxAttempts: 1,
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'full' }));
  });
  afterAll(async () => {
    s3?.destroy();
    sm?.destroy();
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** A PUT through a presigned URL on a raw connection (socket errors are the test's to see). */
  async function put(key: string, body: Buffer): Promise<{ status: number; text: string }> {
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'full', Key: key }), {
      expiresIn: 300,
    });
    return new Promise((resolve) => {
      const req = http.request(
        url,
        { method: 'PUT', headers: { 'content-length': body.length } },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('error', () => {});
          res.on('close', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      // The server may answer and close before the whole body is sent.
      req.on('error', () => resolve({ status: 0, text: 'connection reset' }));
      req.end(body);
    });
  }

  it('answers InsufficientStorage (507), keeps the previous version, and stores again once space is freed', async () => {
    const v1 = Buffer.alloc(100 * 1024, 0x31);
    expect((await put('keep', v1)).status).toBe(200);
    const mib = Buffer.alloc(1024 * 1024, 0x7a);
    let stored = 0;
    let failed: { status: number; text: string } | undefined;
    for (let i = 0; i < 20 && !failed; i++) {
      const r = await put(`fill-${i}`, mib);
      if (r.status === 200) stored++;
      else failed = r;
    }
    expect(stored).toBeGreaterThan(0);
    expect(failed?.status).toBe(507);
    expect(failed?.text).toContain('<Code>InsufficientStorage</Code>');
    expect(failed?.text).toContain('disk is full');
    // Overwriting with a version that does not fit leaves the old one.
    expect((await put('keep', Buffer.alloc(3 * 1024 * 1024, 0x32))).status).toBe(507);
    const kept = Buffer.from(
      await (
        await s3.send(new GetObjectCommand({ Bucket: 'full', Key: 'keep' }))
      ).Body!.transformToByteArray(),
    );
    expect(kept.equals(v1)).toBe(true);
    // Space freed: writes work again.
    for (let i = 0; i < stored; i++)
      await s3.send(new DeleteObjectCommand({ Bucket: 'full', Key: `fill-${i}` }));
    expect((await put('after', mib)).status).toBe(200);
    const after = await s3.send(new GetObjectCommand({ Bucket: 'full', Key: 'after' }));
    expect(after.ContentLength).toBe(mib.length);
  });

  it('fails a training job whose model cannot be stored, with the reason, and keeps what was stored', async () => {
    // The model fits in the job's folder, but the job's folder plus model.tar.gz do not.
    const size = Math.floor(freeBytes() * 0.6);
    expect(size).toBeGreaterThan(1024 * 1024);
    await sm.send(
      new CreateTrainingJobCommand(
        baseJob('full-disk-model', 'full', {
          HyperParameters: { mode: 'random-model', size: String(size) },
        }),
      ),
    );
    const d = await waitForJob(sm, 'full-disk-model', undefined, 120_000);
    expect(d.TrainingJobStatus).toBe('Failed');
    expect(d.FailureReason).toMatch(
      /^InternalServerError: the model could not be stored at s3:\/\/full\/output\/full-disk-model\/output\/model\.tar\.gz: The server's disk is full/,
    );
    expect(d.FailureReason).not.toMatch(new RegExp(dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    // Nothing half-written under the model's key, the earlier object intact, space back.
    const model = await s3
      .send(
        new GetObjectCommand({ Bucket: 'full', Key: 'output/full-disk-model/output/model.tar.gz' }),
      )
      .catch((e: { name: string }) => e);
    expect(model).toMatchObject({ name: 'NoSuchKey' });
    const kept = await s3.send(new GetObjectCommand({ Bucket: 'full', Key: 'keep' }));
    expect(kept.ContentLength).toBe(100 * 1024);
    expect(freeBytes()).toBeGreaterThan(size);
    expect((await put('after-job', Buffer.alloc(size, 0x33))).status).toBe(200);
  });
});
