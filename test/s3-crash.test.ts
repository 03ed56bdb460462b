import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
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

/**
 * kill -9 of a real `apiary serve` process in the middle of an upload: after a restart the key
 * still shows its previous version, the half-written temp file is gone, and no orphan blob stays.
 */

const root = path.resolve(import.meta.dirname, '..');
const credentials = {
  accessKeyId: 'AKAPCRASHTEST0000001',
  secretAccessKey: 'crash-test-secret-key-0123456789',
};
let dataDir: string;
let port: number;
let child: ChildProcess | undefined;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}

async function startServer(): Promise<void> {
  child = spawn(process.execPath, [path.join(root, 'bin/apiary'), 'serve'], {
    cwd: root,
    env: {
      ...process.env,
      APIARY_DATA_DIR: dataDir,
      APIARY_PORT: String(port),
      APIARY_LOG_LEVEL: 'silent',
      APIARY_ROOT_ACCESS_KEY_ID: credentials.accessKeyId,
      APIARY_ROOT_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const until = Date.now() + 45_000;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      http
        .get(`http://127.0.0.1:${port}/_apiary/health`, (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        })
        .on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('apiary serve did not become healthy');
}

function killServer(): Promise<void> {
  const c = child;
  child = undefined;
  if (!c || c.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    c.once('exit', () => resolve());
    c.kill('SIGKILL');
  });
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
      // One blob for the object, one for the stored part: nothing else survived the crash.
      expect(blobFiles()).toHaveLength(2);
    } finally {
      s3.destroy();
    }
  });
});

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
