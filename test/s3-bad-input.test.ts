import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DEFAULT_INLINE_MAX_BYTES } from '../src/objects/index.js';
import { startTestServer, sdkConfig, type TestServer } from './helpers/server.js';

let server: TestServer;
let s3: S3Client;
const BUCKET = 'bad-input';

beforeAll(async () => {
  server = await startTestServer({ s3BodyIdleTimeoutMs: 700 });
  s3 = new S3Client(sdkConfig(server));
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
afterAll(async () => {
  s3?.destroy();
  await server?.close();
});

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const md5b64 = (b: Buffer | string) => createHash('md5').update(b).digest('base64');
const hmac = (k: Buffer | string, s: string) => createHmac('sha256', k).update(s).digest();

interface Signed {
  headers: Record<string, string>;
}

/** Signs an S3 request with the AWS SDK's own signer (path as sent, not re-encoded). */
async function sign(opts: {
  method: string;
  path: string;
  headers?: Record<string, string>;
  payloadHash: string;
  secret?: string;
  date?: Date;
}): Promise<Signed> {
  const url = new URL(server.url);
  const signer = new SignatureV4({
    service: 's3',
    region: server.region,
    credentials: {
      accessKeyId: server.credentials.accessKeyId,
      secretAccessKey: opts.secret ?? server.credentials.secretAccessKey,
    },
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: opts.method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: opts.path,
      query: {},
      headers: { host: url.host, 'x-amz-content-sha256': opts.payloadHash, ...opts.headers },
    },
    { signingDate: opts.date ?? new Date() },
  );
  return { headers: signed.headers as Record<string, string> };
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends bytes over a raw socket (so Content-Length may lie) and reads one response. */
function raw(
  method: string,
  urlPath: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  opts: { closeAfterBody?: boolean } = {},
): Promise<RawResponse> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(url.port), url.hostname);
    let data = Buffer.alloc(0);
    let settled = false;
    const finish = () => {
      if (settled) return;
      const text = data.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) {
        settled = true;
        resolve({ status: 0, headers: {}, body: '' });
        return;
      }
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const h: Record<string, string> = {};
      for (const l of lines) {
        const c = l.indexOf(':');
        h[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
      }
      const len = Number(h['content-length'] ?? 0);
      const rest = data.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
      if (rest.length < len) return;
      settled = true;
      resolve({
        status: Number(statusLine!.split(' ')[1]),
        headers: h,
        body: rest.subarray(0, len).toString('utf8'),
      });
      sock.destroy();
    };
    sock.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d]);
      finish();
    });
    sock.on('close', () => {
      finish();
      if (!settled) resolve({ status: 0, headers: {}, body: '' });
    });
    sock.on('error', (e) => (settled ? undefined : reject(e)));
    const head = [
      `${method} ${urlPath} HTTP/1.1`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      '',
      '',
    ].join('\r\n');
    sock.write(head);
    if (body) sock.write(body);
    if (opts.closeAfterBody) setTimeout(() => sock.destroy(), 100);
  });
}

async function putSigned(
  key: string,
  body: Buffer,
  extra: Record<string, string> = {},
  payloadHash = sha256(body),
) {
  const p = `/${BUCKET}/${key}`;
  const { headers } = await sign({
    method: 'PUT',
    path: p,
    payloadHash,
    headers: { 'content-length': String(body.length), ...extra },
  });
  return raw('PUT', p, headers, body);
}

const getText = async (key: string): Promise<string | undefined> => {
  try {
    return await (
      await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
    ).Body!.transformToString();
  } catch (e) {
    if ((e as { name: string }).name === 'NoSuchKey') return undefined;
    throw e;
  }
};

const tmpFiles = () => fs.readdirSync(path.join(server.dataDir, 'tmp'));
const code = (r: RawResponse) => /<Code>([^<]*)<\/Code>/.exec(r.body)?.[1];

async function eventually(check: () => boolean, ms = 3000) {
  const until = Date.now() + ms;
  while (!check() && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
  return check();
}

describe('integrity of uploads', () => {
  beforeAll(async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'victim', Body: 'previous version' }),
    );
  });

  it('refuses a wrong Content-MD5 with BadDigest and keeps the previous version', async () => {
    const r = await putSigned('victim', Buffer.from('new bytes'), {
      'content-md5': md5b64('other bytes'),
    });
    expect([r.status, code(r)]).toEqual([400, 'BadDigest']);
    expect(r.body).toContain(
      '<Message>The Content-MD5 you specified did not match what we received.</Message>',
    );
    expect(r.body).toContain('<Resource>/bad-input/victim</Resource>');
    expect(r.body).toMatch(/<RequestId>[^<]+<\/RequestId>/);
    expect(await getText('victim')).toBe('previous version');
    expect(tmpFiles()).toEqual([]);
  });

  it('refuses a malformed Content-MD5 with InvalidDigest', async () => {
    const r = await putSigned('victim', Buffer.from('new bytes'), { 'content-md5': 'c2hvcnQ=' });
    expect([r.status, code(r)]).toEqual([400, 'InvalidDigest']);
    expect(await getText('victim')).toBe('previous version');
  });

  it.each([
    ['sha256', createHash('sha256').update('other').digest('base64')],
    ['crc32c', Buffer.from([1, 2, 3, 4]).toString('base64')],
    [
      'crc32',
      (() => {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(zlib.crc32('other'));
        return b.toString('base64');
      })(),
    ],
  ])('refuses a wrong x-amz-checksum-%s with BadDigest', async (alg, value) => {
    const r = await putSigned('victim', Buffer.from('new bytes'), {
      [`x-amz-checksum-${alg}`]: value,
    });
    expect([r.status, code(r)]).toEqual([400, 'BadDigest']);
    expect(r.body).toContain(
      `The ${alg.toUpperCase()} you specified did not match the calculated checksum.`,
    );
    expect(await getText('victim')).toBe('previous version');
  });

  it('refuses a checksum value of the wrong length with InvalidRequest', async () => {
    const r = await putSigned('victim', Buffer.from('x'), { 'x-amz-checksum-crc32': 'AAAA' });
    expect([r.status, code(r)]).toEqual([400, 'InvalidRequest']);
  });

  it('refuses a body whose SHA-256 is not the signed x-amz-content-sha256', async () => {
    const r = await putSigned('victim', Buffer.from('tampered'), {}, sha256('original'));
    expect([r.status, code(r)]).toEqual([400, 'XAmzContentSHA256Mismatch']);
    expect(await getText('victim')).toBe('previous version');
  });

  it('refuses a Content-Length shorter than the body (the signed hash no longer matches)', async () => {
    const body = Buffer.from('0123456789abcdefghij');
    const p = `/${BUCKET}/victim`;
    const { headers } = await sign({
      method: 'PUT',
      path: p,
      payloadHash: sha256(body),
      headers: { 'content-length': '10' },
    });
    const r = await raw('PUT', p, headers, body);
    // The bytes past Content-Length also reach Node's parser as a broken next request, so the 400
    // on the wire is either S3's XAmzContentSHA256Mismatch or Node's own Bad Request.
    expect(r.status).toBe(400);
    expect([undefined, 'XAmzContentSHA256Mismatch']).toContain(code(r));
    expect(await getText('victim')).toBe('previous version');
  });

  it('writes nothing when the client disconnects before sending the whole Content-Length', async () => {
    const p = `/${BUCKET}/victim`;
    const { headers } = await sign({
      method: 'PUT',
      path: p,
      payloadHash: 'UNSIGNED-PAYLOAD',
      headers: { 'content-length': String(8 * 1024 * 1024) },
    });
    const r = await raw('PUT', p, headers, Buffer.alloc(3 * 1024 * 1024, 7), {
      closeAfterBody: true,
    });
    expect(r.status).toBe(0);
    expect(await eventually(() => tmpFiles().length === 0)).toBe(true);
    expect(await getText('victim')).toBe('previous version');
    const fresh = `/${BUCKET}/never-written`;
    const h2 = await sign({
      method: 'PUT',
      path: fresh,
      payloadHash: 'UNSIGNED-PAYLOAD',
      headers: { 'content-length': '1000' },
    });
    await raw('PUT', fresh, h2.headers, Buffer.alloc(10), { closeAfterBody: true });
    expect(await eventually(() => tmpFiles().length === 0)).toBe(true);
    expect(await getText('never-written')).toBeUndefined();
  });

  it('times out a client that stops sending with 400 RequestTimeout', async () => {
    const p = `/${BUCKET}/victim`;
    const { headers } = await sign({
      method: 'PUT',
      path: p,
      payloadHash: 'UNSIGNED-PAYLOAD',
      headers: { 'content-length': '1000' },
    });
    const r = await raw('PUT', p, headers, Buffer.alloc(100));
    expect([r.status, code(r)]).toEqual([400, 'RequestTimeout']);
    expect(r.headers.connection).toBe('close');
    expect(await eventually(() => tmpFiles().length === 0)).toBe(true);
    expect(await getText('victim')).toBe('previous version');
  });

  it('asks for a Content-Length with 411 MissingContentLength', async () => {
    const p = `/${BUCKET}/victim`;
    const { headers } = await sign({ method: 'PUT', path: p, payloadHash: 'UNSIGNED-PAYLOAD' });
    const r = await raw('PUT', p, headers, undefined);
    expect([r.status, code(r)]).toEqual([411, 'MissingContentLength']);
  });

  it('keeps every byte of user keys out of the filesystem', async () => {
    const names: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        names.push(e.name);
        if (e.isDirectory()) walk(path.join(d, e.name));
      }
    };
    // Past the inline limit: the bytes become a file (a smaller object is a database row).
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: '../../escape\\..\\x',
        Body: Buffer.alloc(DEFAULT_INLINE_MAX_BYTES + 1, 0x78),
      }),
    );
    walk(path.join(server.dataDir, 'blobs'));
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(n).toMatch(/^[0-9a-f]+$/);
  });
});

describe('aws-chunked uploads', () => {
  const signingKey = (date: string) => {
    const kDate = hmac('AWS4' + server.credentials.secretAccessKey, date);
    return hmac(hmac(hmac(kDate, server.region), 's3'), 'aws4_request');
  };

  async function chunkedPut(
    key: string,
    chunks: Buffer[],
    opts: { tamper?: boolean; trailer?: boolean } = {},
  ) {
    const p = `/${BUCKET}/${key}`;
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const mode = opts.trailer
      ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER'
      : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(Buffer.concat(chunks)));
    const extra: Record<string, string> = {
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': String(total),
    };
    if (opts.trailer) extra['x-amz-trailer'] = 'x-amz-checksum-crc32';
    const { headers } = await sign({ method: 'PUT', path: p, payloadHash: mode, headers: extra });
    const seed = /Signature=([0-9a-f]{64})/.exec(headers.authorization!)![1]!;
    const amzDate = headers['x-amz-date']!;
    const scope = `${amzDate.slice(0, 8)}/${server.region}/s3/aws4_request`;
    const key2 = signingKey(amzDate.slice(0, 8));
    let prev = seed;
    const parts: Buffer[] = [];
    for (const c of [...chunks, Buffer.alloc(0)]) {
      const sts = ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, prev, sha256(''), sha256(c)].join(
        '\n',
      );
      prev = hmac(key2, sts).toString('hex');
      const sent = opts.tamper && c.length > 0 ? Buffer.from(c).fill(0x21, 0, 1) : c;
      parts.push(
        Buffer.from(`${c.length.toString(16)};chunk-signature=${prev}\r\n`),
        sent,
        Buffer.from(c.length > 0 || !opts.trailer ? '\r\n' : ''),
      );
    }
    if (opts.trailer) {
      const trailer = `x-amz-checksum-crc32:${crc.toString('base64')}`;
      const sts = ['AWS4-HMAC-SHA256-TRAILER', amzDate, scope, prev, sha256(trailer + '\n')].join(
        '\n',
      );
      parts.push(
        Buffer.from(
          `${trailer}\r\nx-amz-trailer-signature:${hmac(key2, sts).toString('hex')}\r\n\r\n`,
        ),
      );
    }
    const body = Buffer.concat(parts);
    headers['content-length'] = String(body.length);
    return raw('PUT', p, headers, body);
  }

  it('stores a body sent as signed chunks', async () => {
    const r = await chunkedPut('chunked', [Buffer.alloc(65536, 'a'), Buffer.from('tail')]);
    expect(r.status).toBe(200);
    expect(await getText('chunked')).toBe('a'.repeat(65536) + 'tail');
  });

  it('stores a body sent as signed chunks with a signed checksum trailer', async () => {
    const r = await chunkedPut('chunked-trailer', [Buffer.from('hello '), Buffer.from('world')], {
      trailer: true,
    });
    expect(r.status).toBe(200);
    expect(r.headers['x-amz-checksum-crc32']).toBeDefined();
    expect(await getText('chunked-trailer')).toBe('hello world');
  });

  it('refuses a tampered chunk with SignatureDoesNotMatch and writes nothing', async () => {
    const r = await chunkedPut('chunked-bad', [Buffer.from('hello'), Buffer.from('world')], {
      tamper: true,
    });
    expect([r.status, code(r)]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(await getText('chunked-bad')).toBeUndefined();
  });

  it('refuses an unsigned-trailer body whose CRC32 trailer is wrong', async () => {
    const p = `/${BUCKET}/victim`;
    const body = Buffer.from('5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n');
    const { headers } = await sign({
      method: 'PUT',
      path: p,
      payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      headers: {
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': '5',
        'x-amz-trailer': 'x-amz-checksum-crc32',
        'content-length': String(body.length),
      },
    });
    const r = await raw('PUT', p, headers, body);
    expect([r.status, code(r)]).toEqual([400, 'BadDigest']);
    expect(await getText('victim')).toBe('previous version');
  });

  it('refuses a decoded length that is not what was declared with IncompleteBody', async () => {
    const p = `/${BUCKET}/victim`;
    const body = Buffer.from('5\r\nhello\r\n0\r\n\r\n');
    const { headers } = await sign({
      method: 'PUT',
      path: p,
      payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      headers: {
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': '9',
        'content-length': String(body.length),
      },
    });
    const r = await raw('PUT', p, headers, body);
    expect([r.status, code(r)]).toEqual([400, 'IncompleteBody']);
    expect(await getText('victim')).toBe('previous version');
  });
});

describe('concurrent writers and readers', () => {
  it('shows every reader one whole version while two writers overwrite a key', async () => {
    const size = 2 * 1024 * 1024;
    const versions = ['A', 'B', 'C'].map((c) => Buffer.alloc(size, c));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'contended', Body: versions[0] }));
    let writing = true;
    const writers = [1, 2].map(async (w) => {
      for (let i = 0; i < 6; i++)
        await s3.send(
          new PutObjectCommand({ Bucket: BUCKET, Key: 'contended', Body: versions[(i + w) % 3] }),
        );
    });
    const seen = new Set<string>();
    const readers = [1, 2, 3].map(async () => {
      while (writing) {
        const got = Buffer.from(
          await (
            await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'contended' }))
          ).Body!.transformToByteArray(),
        );
        expect(got.length).toBe(size);
        const first = String.fromCharCode(got[0]!);
        expect(got.equals(Buffer.alloc(size, first))).toBe(true);
        seen.add(first);
      }
    });
    await Promise.all(writers);
    writing = false;
    await Promise.all(readers);
    expect(seen.size).toBeGreaterThan(0);
    const blobs: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else blobs.push(e.name);
      }
    };
    walk(path.join(server.dataDir, 'blobs'));
    // Replaced versions are removed once their replacement commits.
    const sizes = blobs.length;
    expect(sizes).toBeLessThan(40);
  });
});

describe('conditional and racing writes', () => {
  it('lets exactly one of two racing create-only PUTs (If-None-Match: *) win', async () => {
    const results = await Promise.allSettled(
      ['first', 'second'].map((body) =>
        s3.send(
          new PutObjectCommand({
            Bucket: BUCKET,
            Key: 'create-once',
            Body: body,
            IfNoneMatch: '*',
          }),
        ),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.reason.$metadata.httpStatusCode).toBe(412);
    expect(['first', 'second']).toContain(await getText('create-once'));
  });

  it('answers NoSuchBucket when the bucket is deleted while an upload streams, and keeps nothing', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'gone-mid-upload' }));
    const p = '/gone-mid-upload/object';
    const { headers } = await sign({
      method: 'PUT',
      path: p,
      payloadHash: 'UNSIGNED-PAYLOAD',
      // Past the inline limit, so that a temp file is being written when the bucket goes.
      headers: { 'content-length': String(DEFAULT_INLINE_MAX_BYTES + 200) },
    });
    const url = new URL(server.url);
    const sock = net.connect(Number(url.port), url.hostname);
    let response = '';
    sock.on('data', (d: Buffer) => (response += d.toString()));
    const closed = new Promise((r) => sock.on('close', r));
    sock.write(
      [`PUT ${p} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join(
        '\r\n',
      ),
    );
    sock.write(Buffer.alloc(DEFAULT_INLINE_MAX_BYTES + 100, 1));
    await eventually(() => tmpFiles().length > 0);
    await server.apiary.objects.deleteBucket('gone-mid-upload');
    sock.write(Buffer.alloc(100, 2));
    await Promise.race([closed, eventually(() => response.includes('</Error>'))]);
    sock.destroy();
    expect(response).toMatch(/^HTTP\/1\.1 404/);
    expect(response).toContain('<Code>NoSuchBucket</Code>');
    expect(await eventually(() => tmpFiles().length === 0)).toBe(true);
  });
});

describe('SigV4 failures', () => {
  const p = `/${BUCKET}/victim`;
  const get = async (headers: Record<string, string>, method = 'GET') =>
    raw(method, p, headers, undefined);

  it('refuses a wrong secret with 403 SignatureDoesNotMatch', async () => {
    const { headers } = await sign({
      method: 'GET',
      path: p,
      payloadHash: sha256(''),
      secret: 'wrong-secret',
    });
    const r = await get(headers);
    expect([r.status, code(r)]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(r.body).toContain('<StringToSign>');
  });

  it('refuses an unknown access key with 403 InvalidAccessKeyId', async () => {
    const { headers } = await sign({ method: 'GET', path: p, payloadHash: sha256('') });
    headers.authorization = headers.authorization!.replace(
      server.credentials.accessKeyId,
      'AKIAUNKNOWNUNKNOWN00',
    );
    const r = await get(headers);
    expect([r.status, code(r)]).toEqual([403, 'InvalidAccessKeyId']);
  });

  it.each([16, -16])(
    'refuses a date %i minutes off with 403 RequestTimeTooSkewed',
    async (minutes) => {
      const { headers } = await sign({
        method: 'GET',
        path: p,
        payloadHash: sha256(''),
        date: new Date(Date.now() + minutes * 60_000),
      });
      const r = await get(headers);
      expect([r.status, code(r)]).toEqual([403, 'RequestTimeTooSkewed']);
      expect(r.body).toContain('<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>');
    },
  );

  it('accepts a date 14 minutes off', async () => {
    const { headers } = await sign({
      method: 'GET',
      path: p,
      payloadHash: sha256(''),
      date: new Date(Date.now() - 14 * 60_000),
    });
    expect((await get(headers)).status).toBe(200);
  });

  it('refuses a credential scope date that is not the X-Amz-Date day with 403', async () => {
    const { headers } = await sign({ method: 'GET', path: p, payloadHash: sha256('') });
    headers.authorization = headers.authorization!.replace(
      /Credential=([^/]+)\/(\d{8})\//,
      'Credential=$1/20200101/',
    );
    const r = await get(headers);
    expect(r.status).toBe(403);
    expect(r.body).toContain('does not match the request date');
  });

  it('refuses a signature that does not cover the Host header with 403', async () => {
    const { headers } = await sign({ method: 'GET', path: p, payloadHash: sha256('') });
    headers.authorization = headers.authorization!.replace(/SignedHeaders=host;/, 'SignedHeaders=');
    const r = await get(headers);
    expect(r.status).toBe(403);
    expect(r.body).toContain("'host' must be among the signed headers");
  });

  it('answers a malformed Authorization header with 400 AuthorizationHeaderMalformed', async () => {
    const r = await get({
      host: new URL(server.url).host,
      authorization: 'AWS4-HMAC-SHA256 Credential=x',
      'x-amz-date': '20260101T000000Z',
    });
    expect([r.status, code(r)]).toEqual([400, 'AuthorizationHeaderMalformed']);
  });

  it('answers an anonymous request with 403 AccessDenied, and HEAD errors without a body', async () => {
    const r = await get({ host: new URL(server.url).host });
    expect([r.status, code(r)]).toEqual([403, 'AccessDenied']);
    const h = await get({ host: new URL(server.url).host }, 'HEAD');
    expect(h.status).toBe(403);
    expect(h.body).toBe('');
  });

  it('refuses query credentials that claim a streaming trailer payload (MinIO CVE-2026-41145)', async () => {
    const url = new URL(server.url);
    const q = new URLSearchParams({
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': `${server.credentials.accessKeyId}/${new Date().toISOString().slice(0, 10).replace(/-/g, '')}/${server.region}/s3/aws4_request`,
      'X-Amz-Date': new Date()
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, ''),
      'X-Amz-Expires': '60',
      'X-Amz-SignedHeaders': 'host',
      'X-Amz-Signature': '0'.repeat(64),
    });
    const body = Buffer.from('5\r\nhello\r\n0\r\n\r\n');
    const r = await raw(
      'PUT',
      `/${BUCKET}/cve?${q}`,
      {
        host: url.host,
        'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        'content-length': String(body.length),
      },
      body,
    );
    expect(r.status).toBe(403);
    expect(await getText('cve')).toBeUndefined();
  });

  it('refuses a request signed both in its Authorization header and in its query (checklist C18)', async () => {
    const url = new URL(server.url);
    const day = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    const q = new URLSearchParams({
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': `${server.credentials.accessKeyId}/${day}/${server.region}/s3/aws4_request`,
      'X-Amz-SignedHeaders': 'host',
      'X-Amz-Signature': '0'.repeat(64),
    });
    const r = await raw(
      'GET',
      `/${BUCKET}/both?${q}`,
      {
        host: url.host,
        authorization: `AWS4-HMAC-SHA256 Credential=${server.credentials.accessKeyId}/${day}/${server.region}/s3/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`,
        'x-amz-date': `${day}T000000Z`,
      },
      undefined,
    );
    expect(r.status).toBe(400);
    expect(r.body).toContain('<Code>InvalidArgument</Code>');
    expect(r.body).toContain('Only one auth mechanism allowed');
  });
});
