import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { freePort, serveInChild, type ChildServer } from './helpers/child-server.js';

/**
 * kill -9 of a real `apiary serve` process in the middle of an upload: after a restart the key
 * still shows its previous version, the half-written temp file is gone, and no orphan blob stays.
 */

const credentials = {
  accessKeyId: 'AKAPCRASHTEST0000001',
  secretAccessKey: 'crash-test-secret-key-0123456789',
};
let dataDir: string;
let port: number;
let server: ChildServer | undefined;

async function startServer(): Promise<void> {
  server = await serveInChild({ dataDir, credentials, port });
}

async function killServer(): Promise<void> {
  await server?.kill('SIGKILL');
  server = undefined;
}

const client = () =>
  new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials,
    forcePathStyle: true,
    maxAttempts: 1,
  });

const blobFiles = () => {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.push(e.name);
    }
  };
  walk(path.join(dataDir, 'blobs'));
  return out;
};
const tmpSizes = () => {
  const dir = path.join(dataDir, 'tmp');
  return fs.existsSync(dir)
    ? fs.readdirSync(dir).map((n) => fs.statSync(path.join(dir, n)).size)
    : [];
};

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-crash-'));
  port = await freePort();
  await startServer();
});
afterAll(async () => {
  await killServer();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('kill -9 mid-upload', () => {
  it('keeps the previous version, sweeps the temp file and leaves no orphan blob', async () => {
    let s3 = client();
    await s3.send(new CreateBucketCommand({ Bucket: 'crash' }));
    await s3.send(
      new PutObjectCommand({ Bucket: 'crash', Key: 'model.bin', Body: 'previous version' }),
    );
    // An upload in progress, and a multipart upload with one part stored.
    const mp = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'crash', Key: 'parts.bin' }),
    );
    await s3.send(
      new UploadPartCommand({
        Bucket: 'crash',
        Key: 'parts.bin',
        UploadId: mp.UploadId,
        PartNumber: 1,
        Body: Buffer.alloc(1024, 1),
      }),
    );
    s3.destroy();

    // Stream 32 of a declared 64 MiB, then kill the server while the temp file is half written.
    const declared = 64 * 1024 * 1024;
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'PUT',
      path: '/crash/model.bin',
      headers: await presignHeaders('/crash/model.bin', declared),
    });
    req.on('error', () => undefined);
    const chunk = Buffer.alloc(1024 * 1024, 0x42);
    for (let i = 0; i < 32; i++) {
      if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
    }
    const until = Date.now() + 20_000;
    while (!tmpSizes().some((s) => s > 8 * 1024 * 1024) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    expect(tmpSizes().some((s) => s > 0)).toBe(true);
    await killServer();
    req.destroy();

    await startServer();
    s3 = client();
    try {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'crash', Key: 'model.bin' }));
      expect(await got.Body!.transformToString()).toBe('previous version');
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'crash' }));
      expect(listed.Contents?.map((o) => [o.Key, o.Size])).toEqual([['model.bin', 16]]);
      expect(tmpSizes()).toEqual([]);
      // The object and the stored part are small, so inline rows: no blob file survived the crash.
      expect(blobFiles()).toHaveLength(0);
      expect(inlineRows()).toBe(2);
    } finally {
      s3.destroy();
    }
  });

  it('loses no acknowledged small PUT (bytes inline in the database)', async () => {
    let s3 = client();
    const body = Buffer.alloc(16 * 1024, 7);
    try {
      await s3.send(new PutObjectCommand({ Bucket: 'crash', Key: 'small.bin', Body: body }));
    } finally {
      s3.destroy();
    }
    await killServer();
    expect(inlineRows()).toBe(3);
    await startServer();
    s3 = client();
    try {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'crash', Key: 'small.bin' }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    } finally {
      s3.destroy();
    }
  });
});

/** Rows of the inline blob table (read while the server is down, or beside it: WAL). */
function inlineRows(): number {
  const db = new SQLite(path.join(dataDir, 'apiary.db'), { readonly: true });
  try {
    return (db.prepare('select count(*) as n from s3_inline_blobs').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Header-signed PUT with UNSIGNED-PAYLOAD, via the SDK's signer. */
async function presignHeaders(p: string, length: number): Promise<Record<string, string>> {
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { Sha256 } = await import('@aws-crypto/sha256-js');
  const signer = new SignatureV4({
    service: 's3',
    region: 'us-east-1',
    credentials,
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const signed = await signer.sign({
    method: 'PUT',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port,
    path: p,
    query: {},
    headers: {
      host: `127.0.0.1:${port}`,
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      'content-length': String(length),
    },
  });
  return signed.headers as Record<string, string>;
}
