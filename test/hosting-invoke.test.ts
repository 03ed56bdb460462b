import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import {
  SageMakerClient,
  CreateModelCommand,
  CreateEndpointConfigCommand,
  CreateEndpointCommand,
  DescribeEndpointCommand,
  DeleteEndpointCommand,
  UpdateEndpointWeightsAndCapacitiesCommand,
} from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient, InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { sdkConfig, type TestServer } from './helpers/server.js';
import { signedFetch } from './helpers/signed-fetch.js';
import {
  BUILTIN_IMAGE,
  hostingFixtures,
  startHostingServer,
  uploadFixtures,
} from './fixtures/hosting.js';
import { seededRandom } from '../src/shared/random.js';

let server: TestServer;
let sm: SageMakerClient;
let rt: SageMakerRuntimeClient;
let urls: Record<string, string>;

/** A black W×H picture with a white rectangle [x0, y0, x1, y1) in pixels. */
function rectRaw(w: number, h: number, r: [number, number, number, number]) {
  const buf = Buffer.alloc(w * h * 3);
  for (let y = r[1]; y < r[3]; y++) buf.fill(255, (y * w + r[0]) * 3, (y * w + r[2]) * 3);
  return sharp(buf, { raw: { width: w, height: h, channels: 3 } });
}

async function deploy(
  name: string,
  variants: { name: string; url: string; weight?: number; count?: number }[],
) {
  for (const v of variants) {
    await sm.send(
      new CreateModelCommand({
        ModelName: `${name}-${v.name}`,
        PrimaryContainer: { Image: BUILTIN_IMAGE, ModelDataUrl: v.url },
      }),
    );
  }
  await sm.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: `${name}-config`,
      ProductionVariants: variants.map((v) => ({
        VariantName: v.name,
        ModelName: `${name}-${v.name}`,
        InitialInstanceCount: v.count ?? 1,
        InitialVariantWeight: v.weight ?? 1,
        InstanceType: 'ml.m5.large',
      })),
    }),
  );
  await sm.send(
    new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: `${name}-config` }),
  );
  return sm.send(new DescribeEndpointCommand({ EndpointName: name }));
}

const invoke = (
  endpoint: string,
  body: Buffer,
  extra: Partial<ConstructorParameters<typeof InvokeEndpointCommand>[0]> = {},
) =>
  rt.send(
    new InvokeEndpointCommand({
      EndpointName: endpoint,
      ContentType: 'image/png',
      Body: body,
      ...extra,
    }),
  );

const predictions = (body: Uint8Array) =>
  (JSON.parse(Buffer.from(body).toString('utf8')) as { prediction: number[][] }).prediction;

beforeAll(async () => {
  const dir = await hostingFixtures();
  server = await startHostingServer(
    { servingBodyTimeoutMs: 2000, servingQueuePerInstance: 4 },
    { random: seededRandom(7) },
  );
  sm = new SageMakerClient(sdkConfig(server));
  rt = new SageMakerRuntimeClient({ ...sdkConfig(server), maxAttempts: 1 });
  urls = await uploadFixtures(server, dir, [
    'oracle.tar.gz',
    'nan.tar.gz',
    'traversal.tar.gz',
    'symlink.tar.gz',
    'hardlink.tar.gz',
    'absolute.tar.gz',
  ]);
  const d = await deploy('oracle', [{ name: 'AllTraffic', url: urls['oracle.tar.gz']! }]);
  expect(d.FailureReason).toBeUndefined();
  expect(d.EndpointStatus).toBe('InService');
});

afterAll(async () => {
  sm?.destroy();
  rt?.destroy();
  await server?.close();
});

describe('InvokeEndpoint on the built-in ONNX runtime', () => {
  it('answers normalised [class, score, xmin, ymin, xmax, ymax] boxes and names the variant', async () => {
    const png = await rectRaw(200, 100, [50, 25, 150, 75]).png().toBuffer();
    const r = await invoke('oracle', png);
    expect(r.ContentType).toBe('application/json');
    expect(r.InvokedProductionVariant).toBe('AllTraffic');
    const p = predictions(r.Body!);
    expect(p).toHaveLength(3);
    expect(p[0]![0]).toBe(0);
    expect(p[0]![1]).toBeCloseTo(0.9, 5);
    const [x0, y0, x1, y1] = p[0]!.slice(2);
    expect(x0).toBeCloseTo(0.25, 1);
    expect(y0).toBeCloseTo(0.25, 1);
    expect(x1).toBeCloseTo(0.75, 1);
    expect(y1).toBeCloseTo(0.75, 1);
    expect(p[1]).toEqual([1, 0.2, 0, 0, 1, 1]);
    expect(p[2]).toEqual([1, 0.1, 0, 0, 0.5, 0.5]);
  });

  it('applies CustomAttributes score_threshold and top_k and passes the header back', async () => {
    const png = await rectRaw(200, 100, [50, 25, 150, 75]).png().toBuffer();
    const r = await invoke('oracle', png, {
      CustomAttributes: 'score_threshold=0.3;top_k=5;trace=abc',
    });
    expect(predictions(r.Body!).map((p) => p[1])).toEqual([0.9]);
    expect(r.CustomAttributes).toBe('score_threshold=0.3;top_k=5;trace=abc');
    const top2 = await invoke('oracle', png, { CustomAttributes: 'top_k=2' });
    expect(predictions(top2.Body!).map((p) => p[1])).toEqual([0.9, 0.2]);
    await expect(
      invoke('oracle', png, { CustomAttributes: 'score_threshold=high' }),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      $metadata: { httpStatusCode: 400 },
      message: `CustomAttributes score_threshold='high' must be a number between 0 and 1, e.g. "score_threshold=0.3;top_k=5".`,
    });
  });

  it('answers Accept application/json;annotation=1 in pixels of the upright image', async () => {
    const png = await rectRaw(200, 100, [50, 25, 150, 75]).png().toBuffer();
    const r = await invoke('oracle', png, {
      Accept: 'application/json;annotation=1',
      CustomAttributes: 'top_k=1',
    });
    const body = JSON.parse(Buffer.from(r.Body!).toString());
    expect(body.image_size).toEqual([{ width: 200, height: 100, depth: 3 }]);
    expect(body.annotations).toHaveLength(1);
    const a = body.annotations[0];
    expect(a.class_id).toBe(0);
    expect(a.score).toBeCloseTo(0.9, 5);
    expect(Math.abs(a.left - 50)).toBeLessThanOrEqual(4);
    expect(Math.abs(a.top - 25)).toBeLessThanOrEqual(2);
    expect(Math.abs(a.width - 100)).toBeLessThanOrEqual(6);
    expect(Math.abs(a.height - 50)).toBeLessThanOrEqual(3);
    await expect(invoke('oracle', png, { Accept: 'text/csv' })).rejects.toMatchObject({
      name: 'ValidationError',
      message:
        "Accept 'text/csv' is not supported by the object-detection model; use application/json or application/json;annotation=1.",
    });
  });

  it('reads CMYK JPEGs, 16-bit PNGs, alpha PNGs and application/x-image alike', async () => {
    const base = () => rectRaw(200, 100, [50, 25, 150, 75]);
    const images: [string, Buffer, string][] = [
      ['cmyk', await base().jpeg({ quality: 95 }).toColourspace('cmyk').toBuffer(), 'image/jpeg'],
      ['16-bit', await base().toColourspace('rgb16').png().toBuffer(), 'image/png'],
      ['alpha', await base().ensureAlpha(0.6).png().toBuffer(), 'image/png'],
      ['x-image', await base().jpeg().toBuffer(), 'application/x-image'],
    ];
    expect((await sharp(images[0]![1]).metadata()).space).toBe('cmyk');
    expect((await sharp(images[1]![1]).metadata()).depth).toBe('ushort');
    expect((await sharp(images[2]![1]).metadata()).channels).toBe(4);
    for (const [what, body, type] of images) {
      const p = predictions((await invoke('oracle', body, { ContentType: type })).Body!)[0]!;
      const off = p.slice(2).map((v, i) => Math.abs(v - [0.25, 0.25, 0.75, 0.75][i]!));
      expect({ what, close: off.every((d) => d < 0.05) }).toEqual({ what, close: true });
    }
  });

  it('applies EXIF orientation: boxes of a rotated JPEG match the upright picture', async () => {
    const upright = rectRaw(200, 100, [20, 10, 80, 50]);
    const uprightJpeg = await upright.clone().jpeg({ quality: 95 }).toBuffer();
    // Pixels stored turned 90° counter-clockwise, with EXIF orientation 6 ("rotate 90° clockwise to view").
    const stored = await sharp(await upright.clone().rotate(-90).jpeg({ quality: 95 }).toBuffer())
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 95 })
      .toBuffer();
    const meta = await sharp(stored).metadata();
    expect([meta.width, meta.height, meta.orientation]).toEqual([100, 200, 6]);
    const a = predictions(
      (await invoke('oracle', uprightJpeg, { ContentType: 'image/jpeg' })).Body!,
    )[0]!;
    const b = predictions(
      (await invoke('oracle', stored, { ContentType: 'image/jpeg' })).Body!,
    )[0]!;
    for (let i = 2; i < 6; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(0.04);
    expect(a[2]).toBeCloseTo(0.1, 1);
    expect(a[4]).toBeCloseTo(0.4, 1);
  });
});

/** Sends an invocation with the SDK's own signer through fetch (bodies the SDK refuses). */
const rawInvoke = (endpoint: string, body: Buffer | string, headers: Record<string, string> = {}) =>
  signedFetch(server, {
    service: 'sagemaker',
    path: `/endpoints/${endpoint}/invocations`,
    body,
    headers: { 'content-type': 'image/png', ...headers },
  });

async function expectRuntimeError(
  res: Response,
  status: number,
  code: string,
  message: string | RegExp,
) {
  expect(res.status).toBe(status);
  expect(res.headers.get('x-amzn-errortype')).toBe(code);
  const body = (await res.json()) as Record<string, unknown>;
  const matches =
    typeof message === 'string' ? body.message === message : message.test(String(body.message));
  expect(matches, `message ${JSON.stringify(body.message)} against ${String(message)}`).toBe(true);
  expect(String(body.message)).not.toMatch(/\/tmp|\/work|at .*\.ts/);
  return body;
}

/** A 20000×20000 1-bit PNG: ~50 KB on the wire, 1.2 GB as RGB once decoded. */
function bombPng(): Buffer {
  const w = 20000,
    h = 20000;
  const crc = (b: Buffer) => zlib.crc32(b);
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td) >>> 0);
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 1;
  ihdr[9] = 0;
  ihdr[10] = 0;
  ihdr[11] = 0;
  ihdr[12] = 0;
  const raw = Buffer.alloc((1 + w / 8) * h);
  const idat = zlib.deflateSync(raw, { level: 9 });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('bad inputs get a clear error and the instance keeps serving', () => {
  it('answers a 0-byte body with ValidationError', async () => {
    await expectRuntimeError(
      await rawInvoke('oracle', Buffer.alloc(0)),
      400,
      'ValidationError',
      'The request body is empty; send a JPEG or PNG image.',
    );
  });

  it('answers a JPEG truncated at half with ValidationError', async () => {
    const jpeg = await rectRaw(400, 300, [50, 25, 150, 75]).jpeg().toBuffer();
    await expectRuntimeError(
      await rawInvoke('oracle', jpeg.subarray(0, jpeg.length >> 1), {
        'content-type': 'image/jpeg',
      }),
      400,
      'ValidationError',
      'The body could not be decoded as a JPEG image (it may be truncated or corrupt).',
    );
  });

  it('refuses a 20000×20000 PNG decompression bomb before decoding it', async () => {
    const bomb = bombPng();
    expect(bomb.length).toBeLessThan(200_000);
    const before = process.memoryUsage().rss;
    await expectRuntimeError(
      await rawInvoke('oracle', bomb),
      400,
      'ValidationError',
      'The image (20000×20000) has more than 40000000 pixels, the limit for this endpoint; downscale it before sending.',
    );
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  });

  it('refuses GIF, SVG and TIFF with a message naming the format', async () => {
    const gif = await rectRaw(20, 20, [5, 5, 10, 10]).gif().toBuffer();
    const tiff = await rectRaw(20, 20, [5, 5, 10, 10]).tiff().toBuffer();
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="5" height="5"/></svg>';
    for (const [body, name] of [
      [gif, 'GIF'],
      [tiff, 'TIFF'],
      [svg, 'SVG'],
    ] as const) {
      await expectRuntimeError(
        await rawInvoke('oracle', body, { 'content-type': 'application/x-image' }),
        400,
        'ValidationError',
        `Unsupported image format: the body is a ${name} image. The object-detection model accepts JPEG or PNG (Content-Type image/jpeg, image/png or application/x-image).`,
      );
    }
    await expectRuntimeError(
      await rawInvoke('oracle', 'a,b\n1,2\n', { 'content-type': 'text/csv' }),
      400,
      'ValidationError',
      "ContentType 'text/csv' is not supported by the object-detection model; send image/jpeg, image/png or application/x-image.",
    );
  });

  it('answers a body over 6 MiB with 413', async () => {
    const res = await rawInvoke('oracle', Buffer.alloc(6 * 1024 * 1024 + 1));
    await expectRuntimeError(
      res,
      413,
      'ValidationError',
      'Received payload of 6291457 bytes; InvokeEndpoint accepts at most 6291456 bytes (6 MiB).',
    );
  });

  it('cuts off a client sending 1 byte a second while other requests are served', async () => {
    const url = new URL(server.url);
    const body = await rectRaw(64, 64, [10, 10, 30, 30]).png().toBuffer();
    const signer = new SignatureV4({
      service: 'sagemaker',
      region: server.region,
      credentials: server.credentials,
      sha256: Sha256,
    });
    const signed = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: '/endpoints/oracle/invocations',
      query: {},
      headers: {
        host: url.host,
        'content-type': 'image/png',
        'content-length': String(body.length),
      },
      body,
    });
    const sock = net.connect(Number(url.port), url.hostname);
    const head = `POST /endpoints/oracle/invocations HTTP/1.1\r\n${Object.entries(signed.headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n')}\r\n\r\n`;
    let answer = '';
    sock.on('data', (d) => (answer += d.toString()));
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    sock.write(head);
    let sent = 0;
    const trickle = setInterval(() => {
      if (sent < body.length) sock.write(body.subarray(sent, ++sent));
    }, 1000);
    try {
      const ok = await invoke('oracle', body);
      expect(predictions(ok.Body!).length).toBeGreaterThan(0);
      await closed;
    } finally {
      clearInterval(trickle);
      sock.destroy();
    }
    expect(answer).toMatch(/^HTTP\/1.1 408/);
    expect(answer).toContain('x-amzn-errortype: ValidationError');
    expect(answer).toContain(
      'The request body was not received within 2 s; send the whole body promptly.',
    );
  });

  it('answers a model that outputs NaN with ModelError 424', async () => {
    await deploy('nan', [{ name: 'AllTraffic', url: urls['nan.tar.gz']! }]);
    const png = await rectRaw(64, 64, [10, 10, 30, 30]).png().toBuffer();
    const err = await invoke('nan', png).catch((e) => e);
    expect(err).toMatchObject({
      name: 'ModelError',
      $metadata: { httpStatusCode: 424 },
      message: 'The model returned NaN or infinite values',
      OriginalStatusCode: 500,
      LogStreamArn:
        'arn:aws:logs:us-east-1:000000000000:log-group:/aws/sagemaker/Endpoints/nan:log-stream:AllTraffic',
    });
    expect(err.OriginalMessage).toMatch(/^detection 0 holds a non-finite value/);
    // the oracle endpoint is unaffected
    expect(predictions((await invoke('oracle', png)).Body!).length).toBe(3);
  });

  it('fails endpoints on unsafe or missing artifacts with the reason, and lets them only be deleted', async () => {
    const cases: [string, string, string][] = [
      [
        'traversal',
        urls['traversal.tar.gz']!,
        "model.tar.gz entry '../escape.txt' contains a '..' component; archives must hold relative paths only",
      ],
      [
        'symlink',
        urls['symlink.tar.gz']!,
        "model.tar.gz entry 'model.onnx' is a symbolic link; links are not allowed in model archives",
      ],
      [
        'hardlink',
        urls['hardlink.tar.gz']!,
        "model.tar.gz entry 'model.onnx' is a hard link; links are not allowed in model archives",
      ],
      [
        'absolute',
        urls['absolute.tar.gz']!,
        "model.tar.gz entry '/tmp/apiary-absolute-escape.txt' is an absolute path; archives must hold relative paths only",
      ],
      [
        'missing',
        's3://models/nothing/here/model.tar.gz',
        "Failed to download model data from s3://models/nothing/here/model.tar.gz: the object does not exist. Check the model's ModelDataUrl and that the training job wrote its artifact.",
      ],
    ];
    for (const [name, url, reason] of cases) {
      const d = await deploy(`bad-${name}`, [{ name: 'AllTraffic', url }]);
      expect({ name, status: d.EndpointStatus, reason: d.FailureReason }).toEqual({
        name,
        status: 'Failed',
        reason,
      });
    }
    await expect(
      sm.send(
        new UpdateEndpointWeightsAndCapacitiesCommand({
          EndpointName: 'bad-symlink',
          DesiredWeightsAndCapacities: [{ VariantName: 'AllTraffic', DesiredWeight: 2 }],
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message:
        'Cannot update endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/bad-symlink" because it is in status Failed; a Failed endpoint can only be deleted.',
    });
    const png = await rectRaw(64, 64, [10, 10, 30, 30]).png().toBuffer();
    await expectRuntimeError(
      await rawInvoke('bad-missing', png),
      400,
      'ValidationError',
      /^Endpoint bad-missing of account 000000000000 is not in service \(status Failed: Failed to download/,
    );
    await sm.send(new DeleteEndpointCommand({ EndpointName: 'bad-symlink' }));
    await expect(
      sm.send(new DescribeEndpointCommand({ EndpointName: 'bad-symlink' })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    const fs = await import('node:fs');
    expect(fs.existsSync('/tmp/apiary-absolute-escape.txt')).toBe(false);
  });

  it('sheds load beyond the bounded queue with 503 ServiceUnavailable and Retry-After', async () => {
    const png = await rectRaw(640, 480, [10, 10, 300, 300]).png().toBuffer();
    const results = await Promise.all(Array.from({ length: 40 }, () => rawInvoke('oracle', png)));
    const statuses = results.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(4);
    const shed = results.filter((r) => r.status === 503);
    expect(shed.length).toBeGreaterThan(0);
    for (const r of shed) {
      expect(r.headers.get('retry-after')).toBe('1');
      await expectRuntimeError(
        r,
        503,
        'ServiceUnavailable',
        /^Endpoint oracle variant AllTraffic is at capacity \(4 requests in progress\); retry after a short wait/,
      );
    }
    expect((await rawInvoke('oracle', png)).status).toBe(200);
  });

  it('answers an unknown endpoint as SageMaker does', async () => {
    const png = await rectRaw(64, 64, [10, 10, 30, 30]).png().toBuffer();
    await expect(invoke('no-such-endpoint', png)).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'Endpoint no-such-endpoint of account 000000000000 not found.',
    });
  });
});

describe('production variants', () => {
  const png = () => rectRaw(64, 64, [10, 10, 30, 30]).png().toBuffer();

  async function spread(endpoint: string, n: number, parallel = 8, extra = {}) {
    const body = await png();
    const counts: Record<string, number> = {};
    for (let i = 0; i < n; i += parallel) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(parallel, n - i) }, () => invoke(endpoint, body, extra)),
      );
      for (const r of batch)
        counts[r.InvokedProductionVariant!] = (counts[r.InvokedProductionVariant!] ?? 0) + 1;
    }
    return counts;
  }

  beforeAll(async () => {
    const d = await deploy('ab', [
      { name: 'Blue', url: urls['oracle.tar.gz']!, weight: 0.7, count: 2 },
      { name: 'Green', url: urls['oracle.tar.gz']!, weight: 0.3, count: 2 },
    ]);
    expect(d.EndpointStatus).toBe('InService');
    expect(
      d.ProductionVariants?.map((v) => [v.VariantName, v.CurrentWeight, v.CurrentInstanceCount]),
    ).toEqual([
      ['Blue', 0.7, 2],
      ['Green', 0.3, 2],
    ]);
  });

  it('splits 1,000 requests 70/30 within ±5%', async () => {
    const counts = await spread('ab', 1000);
    expect(counts.Blue! + counts.Green!).toBe(1000);
    expect(counts.Blue).toBeGreaterThanOrEqual(650);
    expect(counts.Blue).toBeLessThanOrEqual(750);
  });

  it('honours TargetVariant and refuses an unknown one', async () => {
    expect(await spread('ab', 40, 8, { TargetVariant: 'Green' })).toEqual({ Green: 40 });
    await expect(invoke('ab', await png(), { TargetVariant: 'Purple' })).rejects.toMatchObject({
      name: 'ValidationError',
      message:
        "The TargetVariant 'Purple' is not a production variant of endpoint ab; its variants are Blue, Green.",
    });
  });

  it('changes weights and instance counts live without failing a request', async () => {
    const body = await png();
    let stop = false;
    const failures: unknown[] = [];
    let served = 0;
    const load = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!stop) {
          try {
            await invoke('ab', body);
            served += 1;
          } catch (e) {
            failures.push(e);
          }
        }
      }),
    );
    await sm.send(
      new UpdateEndpointWeightsAndCapacitiesCommand({
        EndpointName: 'ab',
        DesiredWeightsAndCapacities: [
          { VariantName: 'Blue', DesiredWeight: 0, DesiredInstanceCount: 1 },
          { VariantName: 'Green', DesiredWeight: 1, DesiredInstanceCount: 3 },
        ],
      }),
    );
    const d = await sm.send(new DescribeEndpointCommand({ EndpointName: 'ab' }));
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await load;
    expect(failures).toEqual([]);
    expect(served).toBeGreaterThan(0);
    expect(d.EndpointStatus).toBe('InService');
    expect(
      d.ProductionVariants?.map((v) => [
        v.VariantName,
        v.CurrentWeight,
        v.DesiredWeight,
        v.CurrentInstanceCount,
        v.DesiredInstanceCount,
      ]),
    ).toEqual([
      ['Blue', 0, 0, 1, 1],
      ['Green', 1, 1, 3, 3],
    ]);
    expect(await spread('ab', 40)).toEqual({ Green: 40 });
  });

  it('publishes per-variant and per-instance metrics on GET /metrics', async () => {
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(
      /apiary_endpoint_invocations_total\{endpoint="ab",variant="Blue",instance="Blue-\d+"\} \d+/,
    );
    expect(text).toMatch(
      /apiary_endpoint_invocations_total\{endpoint="ab",variant="Green",instance="Green-\d+"\} \d+/,
    );
    expect(text).toMatch(
      /apiary_endpoint_invocation_4xx_errors_total\{endpoint="oracle",variant="AllTraffic",instance="none"\} [1-9]/,
    );
    expect(text).toMatch(
      /apiary_endpoint_invocation_5xx_errors_total\{endpoint="nan",variant="AllTraffic",instance="AllTraffic-1"\} [1-9]/,
    );
    expect(text).toMatch(
      /apiary_endpoint_model_latency_microseconds_count\{endpoint="ab",variant="Green",instance="Green-\d+"\} \d+/,
    );
    const summary = await server.apiary.hosting.endpointMetrics('ab');
    expect(summary.Blue!.invocations + summary.Green!.invocations).toBeGreaterThan(1000);
    expect(Object.keys(summary.Green!.instances).length).toBeGreaterThanOrEqual(2);
    // Recent latency and what the running instances hold (the console's endpoint views).
    expect(summary.Green!.latency!.samples).toBeGreaterThan(0);
    expect(summary.Green!.latency!.p99Ms).toBeGreaterThanOrEqual(summary.Green!.latency!.p50Ms);
    expect(summary.Green!.latency!.p50Ms).toBeGreaterThanOrEqual(
      summary.Green!.latency!.modelP50Ms,
    );
    expect(Date.parse(summary.Green!.lastInvocationTime!)).toBeGreaterThan(Date.now() - 120_000);
    expect(summary.Green!.usage).toMatchObject({ kind: 'onnx', memory: 'rss-growth-at-load' });
    expect(summary.Green!.usage!.instances).toHaveLength(3);
    for (const i of summary.Green!.usage!.instances) {
      expect(i.threads).toBeGreaterThanOrEqual(1);
      expect(i.memoryBytes).toBeGreaterThanOrEqual(0);
    }
    const usage = await server.apiary.hosting.endpointsUsage();
    const ab = usage.find((u) => u.EndpointName === 'ab')!;
    expect(ab).toMatchObject({
      Variants: 2,
      Instances: 4,
      Invocations: summary.Blue!.invocations + summary.Green!.invocations,
      LastInvocationTime: summary.Green!.lastInvocationTime,
    });
    expect(text).toMatch(
      /apiary_endpoint_overhead_latency_microseconds_count\{endpoint="ab",variant="Blue",instance="Blue-\d+"\} \d+/,
    );
  });
});
