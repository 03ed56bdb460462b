import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { freePort, serveInChild, type ChildServer } from './helpers/child-server.js';

// Item 10 of the hardening audit: the faults nobody had tested, on a real `apiary serve`.
const credentials = {
  accessKeyId: 'AKAPHARDENCRASH00001',
  secretAccessKey: 'harden-crash-secret-0123456789abcdef',
};
let dataDir: string;
let port: number;
let server: ChildServer | undefined;
let child: ChildProcess | undefined;

async function startServer(): Promise<void> {
  server = await serveInChild({ dataDir, credentials, port });
  child = server.child;
}

function killServer(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
  const c = child;
  child = undefined;
  if (!c || c.exitCode !== null) return Promise.resolve(c?.exitCode ?? null);
  return new Promise((resolve) => {
    c.once('exit', (code) => resolve(code));
    c.kill(signal);
  });
}

const client = () =>
  new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials,
    forcePathStyle: true,
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-harden-crash-'));
  port = await freePort();
  await startServer();
  const s3 = client();
  await s3.send(new CreateBucketCommand({ Bucket: 'crash' }));
  s3.destroy();
});
afterAll(async () => {
  await killServer();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('kill -9 and SIGTERM of the server', () => {
  it('keeps every acknowledged key through repeated kill -9 under concurrent PUTs', async () => {
    const acknowledged = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      if (!child) await startServer();
      const s3 = client();
      let stop = false;
      let ackedThisRound = 0;
      const enough = new Promise<void>((resolve) => {
        const writers = Array.from({ length: 8 }, async (_, w) => {
          for (let n = 0; !stop; n++) {
            const key = `r${round}/w${w}/${n}`;
            const body = `${key} ${'x'.repeat(1000 + n)}`;
            try {
              await s3.send(new PutObjectCommand({ Bucket: 'crash', Key: key, Body: body }));
              acknowledged.set(key, body);
              if (++ackedThisRound >= 40) resolve();
            } catch {
              return; // the server died under this request: not acknowledged
            }
          }
        });
        void Promise.all(writers);
      });
      await enough;
      await killServer('SIGKILL');
      stop = true;
      s3.destroy();
    }
    await startServer();
    const s3 = client();
    const listed = new Set<string>();
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: 'crash', ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) listed.add(o.Key!);
      token = page.NextContinuationToken;
    } while (token);
    const missing = [...acknowledged.keys()].filter((k) => !listed.has(k));
    expect(missing).toEqual([]);
    expect(acknowledged.size).toBeGreaterThanOrEqual(120);
    for (const [key, body] of [...acknowledged].filter((_, i) => i % 10 === 0)) {
      const got = await (
        await s3.send(new GetObjectCommand({ Bucket: 'crash', Key: key }))
      ).Body!.transformToString();
      expect(got).toBe(body);
    }
    s3.destroy();
  });

  it('leaves a multipart upload either complete and whole or still completable after kill -9 during CompleteMultipartUpload', async () => {
    if (!child) await startServer();
    const s3 = client();
    const part1 = Buffer.alloc(5 * 1024 * 1024, 0x61);
    const part2 = Buffer.from('the last part');
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'crash', Key: 'mp' }),
    );
    const e1 = (
      await s3.send(
        new UploadPartCommand({ Bucket: 'crash', Key: 'mp', UploadId, PartNumber: 1, Body: part1 }),
      )
    ).ETag;
    const e2 = (
      await s3.send(
        new UploadPartCommand({ Bucket: 'crash', Key: 'mp', UploadId, PartNumber: 2, Body: part2 }),
      )
    ).ETag;
    const parts = {
      Parts: [
        { PartNumber: 1, ETag: e1 },
        { PartNumber: 2, ETag: e2 },
      ],
    };
    // Sent, and the server killed while it works on it (or just before or after: all must be safe).
    const completing = s3
      .send(
        new CompleteMultipartUploadCommand({
          Bucket: 'crash',
          Key: 'mp',
          UploadId,
          MultipartUpload: parts,
        }),
      )
      .catch((e: Error) => e);
    await killServer('SIGKILL');
    await completing;
    s3.destroy();
    await startServer();
    const again = client();
    const whole = Buffer.concat([part1, part2]);
    const existing = await again.send(new GetObjectCommand({ Bucket: 'crash', Key: 'mp' })).then(
      (r) => r.Body!.transformToByteArray(),
      () => undefined,
    );
    // Either the completion committed before the kill (the object is whole) or it did not (the
    // upload and its two parts are still there, and completing it again gives the whole object).
    const partsLeft = existing
      ? 2
      : (await again.send(new ListPartsCommand({ Bucket: 'crash', Key: 'mp', UploadId }))).Parts
          ?.length;
    expect(partsLeft).toBe(2);
    if (!existing)
      await again.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'crash',
          Key: 'mp',
          UploadId,
          MultipartUpload: parts,
        }),
      );
    const final = Buffer.from(
      await (
        await again.send(new GetObjectCommand({ Bucket: 'crash', Key: 'mp' }))
      ).Body!.transformToByteArray(),
    );
    expect(final.equals(whole)).toBe(true);
    again.destroy();
  });

  it('drains on SIGTERM: an admitted upload is answered, new connections are refused, the process exits 0', async () => {
    if (!child) await startServer();
    const s3 = client();
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'crash', Key: 'drained' }), {
      expiresIn: 300,
    });
    s3.destroy();
    const body = Buffer.alloc(64 * 1024, 0x62);
    const c = child!;
    const exited = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
    const answer = new Promise<number>((resolve, reject) => {
      const req = http.request(
        url,
        { method: 'PUT', headers: { 'content-length': body.length } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      // Half the body, then SIGTERM; the rest once the server says it is shutting down.
      req.write(body.subarray(0, 32 * 1024), () => {
        c.stdout!.on('data', () => {
          if (server!.output().includes('SIGTERM: shutting down'))
            req.end(body.subarray(32 * 1024));
        });
        c.kill('SIGTERM');
      });
    });
    expect(await answer).toBe(200);
    const fresh = await new Promise<string>((resolve) => {
      http
        .get(`http://127.0.0.1:${port}/_apiary/ready`, (res) => {
          res.resume();
          resolve(String(res.statusCode));
        })
        .on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(['503', 'ECONNREFUSED', 'ECONNRESET']).toContain(fresh);
    expect(await exited).toBe(0);
    child = undefined;
    await startServer();
    const check = client();
    const got = await (
      await check.send(new GetObjectCommand({ Bucket: 'crash', Key: 'drained' }))
    ).Body!.transformToByteArray();
    expect(Buffer.from(got).equals(body)).toBe(true);
    check.destroy();
  });
});
