import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { sdkConfig, startTestServer, type TestServer } from './helpers/server.js';

/**
 * `Expect: 100-continue` (sent only once the request is authenticated and its handler reads the
 * body) and a multipart part re-sent while its first send is still running (the last completed
 * send wins; Complete may list both ETags). Ordering comes from the protocol, never from sleeps:
 * the first send's `100 Continue` says the server is reading it.
 */

let server: TestServer;
let s3: S3Client;
/** Presigns without the SDK's default CRC32 (of an empty body) in the URL. */
let presigner: S3Client;

beforeAll(async () => {
  server = await startTestServer();
  s3 = new S3Client(sdkConfig(server));
  presigner = new S3Client({ ...sdkConfig(server), requestChecksumCalculation: 'WHEN_REQUIRED' });
  await s3.send(new CreateBucketCommand({ Bucket: 'resend' }));
});
afterAll(async () => {
  s3?.destroy();
  presigner?.destroy();
  await server?.close();
});

/** Sends only a request head (no body) and resolves with the first status line answered. */
function firstStatusLine(head: string): Promise<string> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(head));
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const eol = got.indexOf('\r\n');
      if (eol >= 0) {
        socket.destroy();
        resolve(got.slice(0, eol));
      }
    });
    socket.on('error', reject);
  });
}

/**
 * Starts a PUT to `url` with `Expect: 100-continue`; resolves once the server asked for the body,
 * with `finish`, which sends the body and resolves with the answer's status and ETag.
 */
function startPut(
  url: string,
  body: Buffer,
): Promise<{ finish: () => Promise<{ status: number; etag: string }> }> {
  return new Promise((ready, reject) => {
    const answer = new Promise<{ status: number; etag: string }>((resolve) => {
      const req = http.request(url, {
        method: 'PUT',
        headers: { 'content-length': body.length, expect: '100-continue' },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, etag: String(res.headers.etag) }));
      });
      req.on('continue', () =>
        ready({
          finish: () => {
            req.end(body);
            return answer;
          },
        }),
      );
      req.flushHeaders();
    });
  });
}

describe('Expect: 100-continue', () => {
  it('answers a request it refuses without asking for the body', async () => {
    const line = await firstStatusLine(
      'PUT /resend/refused HTTP/1.1\r\nHost: localhost\r\nContent-Length: 123\r\nExpect: 100-continue\r\n\r\n',
    );
    expect(line).toBe('HTTP/1.1 403 Forbidden');
  });

  it('asks an authenticated PUT for its body, and stores it', async () => {
    const url = await getSignedUrl(
      presigner,
      new PutObjectCommand({ Bucket: 'resend', Key: 'ok' }),
      {
        expiresIn: 300,
      },
    );
    const put = await startPut(url, Buffer.from('after continue'));
    expect((await put.finish()).status).toBe(200);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'resend', Key: 'ok' }));
    expect(await got.Body!.transformToString()).toBe('after continue');
  });
});

describe('a part re-sent while its first send is still running', () => {
  it('keeps the last completed send; Complete may list both ETags', async () => {
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'resend', Key: 'mp' }),
    );
    const part = { Bucket: 'resend', Key: 'mp', UploadId, PartNumber: 1 };
    const url = await getSignedUrl(presigner, new UploadPartCommand(part), { expiresIn: 300 });
    // First send (A): the server is reading its body when the second send (B) runs whole.
    const first = await startPut(url, Buffer.alloc(8, 'A'));
    const second = await s3.send(new UploadPartCommand({ ...part, Body: Buffer.alloc(8, 'B') }));
    const a = await first.finish();
    expect(a.status).toBe(200);
    const complete = (etags: string[]) =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'resend',
          Key: 'mp',
          UploadId,
          MultipartUpload: { Parts: etags.map((ETag) => ({ PartNumber: 1, ETag })) },
        }),
      );
    // B's send is no longer the part: alone, its ETag names nothing.
    await expect(complete([second.ETag!])).rejects.toMatchObject({ name: 'InvalidPart' });
    // The client collected both ETags, B's first (ceph's test_multipart_resend_first_finishes_last).
    await complete([second.ETag!, a.etag]);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'resend', Key: 'mp' }));
    expect(await got.Body!.transformToString()).toBe('AAAAAAAA');
  });
});
