import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';
import { signedFetch } from './helpers/signed-fetch.js';
import { ConsoleClient } from './helpers/console-client.js';

let server: TestServer;
let admin: ConsoleClient;

beforeAll(async () => {
  server = await startTestServer();
  admin = await ConsoleClient.signIn(server);
});
afterAll(async () => {
  await server?.close();
});

const container = {
  Image: '811284229777.dkr.ecr.us-east-1.amazonaws.com/object-detection:1',
  ModelDataUrl: 's3://bees/model.tar.gz',
};

describe('console JSON API: sign-in and guards', () => {
  it('answers 401 to every console route without a session', async () => {
    const anon = new ConsoleClient(server.url);
    for (const [method, path] of [
      ['GET', '/_apiary/api/s3/buckets'],
      ['POST', '/_apiary/api/sagemaker'],
      ['GET', '/_apiary/api/events?w=[]'],
      ['POST', '/_apiary/api/manifests/split'],
    ] as const) {
      const r = await anon.json(path, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(r.body).toEqual({ error: { code: 'Unauthorized', message: 'Sign in first' } });
    }
  });

  it('refuses a mutating call without the CSRF header', async () => {
    const r = await admin.json('/_apiary/api/s3/buckets', {
      method: 'POST',
      body: JSON.stringify({ name: 'no-csrf' }),
      csrf: false,
    });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ error: { code: 'CsrfTokenInvalid' } });
  });
});

describe('console JSON API: SageMaker operations through the same protocol', () => {
  it('creates, describes and deletes a model, with the answers the SigV4 API gives', async () => {
    const created = await admin.sagemaker('CreateModel', {
      ModelName: 'console-model',
      PrimaryContainer: container,
    });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      ModelArn: 'arn:aws:sagemaker:us-east-1:000000000000:model/console-model',
    });
    const described = await admin.sagemaker<{ ModelName: string }>('DescribeModel', {
      ModelName: 'console-model',
    });
    expect(described.body.ModelName).toBe('console-model');
    expect((await admin.sagemaker('DeleteModel', { ModelName: 'console-model' })).status).toBe(200);
  });

  it('applies the service model validation: same error code and message as the SigV4 API', async () => {
    const input = { ModelName: 'bad_name!', PrimaryContainer: container };
    const viaConsole = await admin.sagemaker('CreateModel', input);
    const viaSigV4 = await signedFetch(server, {
      service: 'sagemaker',
      target: 'SageMaker.CreateModel',
      body: JSON.stringify(input),
    });
    expect(viaConsole.status).toBe(400);
    expect(viaConsole.headers.get('x-amzn-errortype')).toBe('ValidationException');
    const sig = (await viaSigV4.json()) as { __type: string; message: string };
    expect(viaConsole.body).toEqual(sig);
    expect(sig.message).toContain("Value 'bad_name!' at 'modelName' failed to satisfy constraint");
  });

  it('lists the operations the server implements', async () => {
    const r = await admin.json<{ operations: string[] }>('/_apiary/api/operations');
    expect(r.body.operations).toEqual(
      expect.arrayContaining([
        'CreateModel',
        'DescribeEndpoint',
        'CreateTrainingJob',
        'ListLabelingJobs',
      ]),
    );
    expect(r.body.operations).toEqual([...r.body.operations].sort());
  });

  it('names an unknown or missing operation', async () => {
    const r = await admin.json('/_apiary/api/sagemaker', { method: 'POST', body: '{}' });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({
      __type: 'UnknownOperationException',
      message: "Missing X-Amz-Target header; expected 'SageMaker.<Operation>'",
    });
    const bad = await admin.json('/_apiary/api/sagemaker', {
      method: 'POST',
      body: '{not json',
      headers: { 'x-amz-target': 'SageMaker.ListModels' },
    });
    expect(bad.body).toMatchObject({ __type: 'SerializationException' });
  });
});

describe('console JSON API: object views', () => {
  it('creates a bucket, uploads by streaming, lists one level with server-side paging, previews and deletes', async () => {
    expect(
      (
        await admin.json('/_apiary/api/s3/buckets', {
          method: 'POST',
          body: JSON.stringify({ name: 'bees' }),
        })
      ).status,
    ).toBe(201);
    const dup = await admin.json('/_apiary/api/s3/buckets', {
      method: 'POST',
      body: JSON.stringify({ name: 'bees' }),
    });
    expect(dup).toMatchObject({
      status: 409,
      body: {
        error: { code: 'BucketAlreadyOwnedByYou', message: "The bucket 'bees' already exists" },
      },
    });
    const bad = await admin.json('/_apiary/api/s3/buckets', {
      method: 'POST',
      body: JSON.stringify({ name: 'Bad_Bucket' }),
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'InvalidBucketName' } });

    for (const k of ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg', 'e.jpg']) {
      const put = await admin.json(
        `/_apiary/api/s3/buckets/bees/object?key=${encodeURIComponent(`input/${k}`)}`,
        {
          method: 'PUT',
          body: Buffer.from(`jpeg bytes of ${k}`),
          headers: { 'content-type': 'image/jpeg' },
        },
      );
      expect(put.status).toBe(201);
      expect(put.body).toMatchObject({
        key: `input/${k}`,
        size: `jpeg bytes of ${k}`.length,
        contentType: 'image/jpeg',
      });
    }
    await admin.fetch('/_apiary/api/s3/buckets/bees/object?key=page.html', {
      method: 'PUT',
      body: '<script>alert(1)</script>',
      headers: { 'content-type': 'text/html' },
    });

    const top = await admin.json<{ objects: { key: string }[]; commonPrefixes: string[] }>(
      '/_apiary/api/s3/buckets/bees/objects',
    );
    expect(top.body.commonPrefixes).toEqual(['input/']);
    expect(top.body.objects.map((o) => o.key)).toEqual(['page.html']);

    const page1 = await admin.json<{
      objects: { key: string }[];
      isTruncated: boolean;
      nextMarker: string;
    }>('/_apiary/api/s3/buckets/bees/objects?prefix=input/&maxKeys=2');
    expect(page1.body.objects.map((o) => o.key)).toEqual(['input/a.jpg', 'input/b.jpg']);
    expect(page1.body.isTruncated).toBe(true);
    const page2 = await admin.json<{ objects: { key: string }[] }>(
      `/_apiary/api/s3/buckets/bees/objects?prefix=input/&maxKeys=2&startAfter=${encodeURIComponent(page1.body.nextMarker)}`,
    );
    expect(page2.body.objects.map((o) => o.key)).toEqual(['input/c.jpg', 'input/d.jpg']);
    const tooMany = await admin.json('/_apiary/api/s3/buckets/bees/objects?maxKeys=5000');
    expect(tooMany.body).toEqual({
      error: {
        code: 'ValidationError',
        message: "maxKeys must be an integer between 1 and 1000; got '5000'",
      },
    });

    const img = await admin.fetch('/_apiary/api/s3/buckets/bees/object?key=input/a.jpg');
    expect(img.status).toBe(200);
    expect(img.headers.get('content-type')).toBe('image/jpeg');
    expect(img.headers.get('content-disposition')).toBe('inline; filename="a.jpg"');
    expect(await img.text()).toBe('jpeg bytes of a.jpg');

    // User content never renders as a page of the console's origin.
    const html = await admin.fetch('/_apiary/api/s3/buckets/bees/object?key=page.html');
    expect(html.headers.get('content-type')).toBe('application/octet-stream');
    expect(html.headers.get('content-disposition')).toMatch(/^attachment/);
    expect(html.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");

    const missing = await admin.json('/_apiary/api/s3/buckets/bees/object?key=nope.jpg');
    expect(missing).toMatchObject({
      status: 404,
      body: {
        error: { code: 'NoSuchKey', message: 'The object s3://bees/nope.jpg does not exist' },
      },
    });
    const noBucket = await admin.json('/_apiary/api/s3/buckets/wasps/objects');
    expect(noBucket).toMatchObject({ status: 404, body: { error: { code: 'NoSuchBucket' } } });

    const notEmpty = await admin.json('/_apiary/api/s3/buckets/bees', { method: 'DELETE' });
    expect(notEmpty).toMatchObject({ status: 409, body: { error: { code: 'BucketNotEmpty' } } });
    expect(
      (await admin.json('/_apiary/api/s3/buckets/bees/object?key=page.html', { method: 'DELETE' }))
        .status,
    ).toBe(200);
    const after = await admin.json<{ objects: unknown[] }>('/_apiary/api/s3/buckets/bees/objects');
    expect(after.body.objects).toEqual([]);
  });
});

describe('console JSON API: manifests', () => {
  const line = (i: number) =>
    JSON.stringify({
      'source-ref': `s3://bees/input/img${i}.jpg`,
      'bee-box': {
        image_size: [{ width: 128, height: 96, depth: 3 }],
        annotations: [{ class_id: 0, left: i, top: 2, width: 30, height: 20 }],
      },
      'bee-box-metadata': {
        'class-map': { '0': 'bee' },
        objects: [{ confidence: 0.9 }],
        type: 'groundtruth/object-detection',
      },
    });

  it('builds a manifest from the images under a prefix ("complete data setup")', async () => {
    await admin.json('/_apiary/api/s3/buckets', {
      method: 'POST',
      body: JSON.stringify({ name: 'setup' }),
    });
    for (const k of ['raw/x.jpg', 'raw/y.PNG', 'raw/notes.txt', 'raw/sub/z.jpeg', 'other/w.jpg']) {
      await admin.fetch(`/_apiary/api/s3/buckets/setup/object?key=${encodeURIComponent(k)}`, {
        method: 'PUT',
        body: 'x',
      });
    }
    const r = await admin.json<{ manifest: string; count: number }>(
      '/_apiary/api/manifests/from-prefix',
      {
        method: 'POST',
        body: JSON.stringify({
          prefix: 's3://setup/raw',
          output: 's3://setup/raw/dataset.manifest',
        }),
      },
    );
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ manifest: 's3://setup/raw/dataset.manifest', count: 3 });
    const text = await (
      await admin.fetch('/_apiary/api/s3/buckets/setup/object?key=raw/dataset.manifest')
    ).text();
    expect(text).toBe(
      ['raw/sub/z.jpeg', 'raw/x.jpg', 'raw/y.PNG']
        .map((k) => `{"source-ref":"s3://setup/${k}"}\n`)
        .join(''),
    );
    const empty = await admin.json('/_apiary/api/manifests/from-prefix', {
      method: 'POST',
      body: JSON.stringify({ prefix: 's3://setup/nothing/' }),
    });
    expect(empty.body).toEqual({
      error: {
        code: 'ValidationError',
        message:
          'No .jpg, .jpeg or .png objects under s3://setup/nothing/; upload images there first',
      },
    });
  });

  it('splits a manifest 80/20 into train and validation, reproducibly for a seed', async () => {
    const body = Array.from({ length: 10 }, (_, i) => line(i)).join('\n') + '\n';
    await admin.fetch('/_apiary/api/s3/buckets/bees/object?key=labels/output.manifest', {
      method: 'PUT',
      body,
    });
    const split = async (seed: number) => {
      const r = await admin.json<Record<string, unknown>>('/_apiary/api/manifests/split', {
        method: 'POST',
        body: JSON.stringify({ manifest: 's3://bees/labels/output.manifest', seed }),
      });
      const train = await (
        await admin.fetch('/_apiary/api/s3/buckets/bees/object?key=labels/train.manifest')
      ).text();
      const validation = await (
        await admin.fetch('/_apiary/api/s3/buckets/bees/object?key=labels/validation.manifest')
      ).text();
      return { r, train, validation };
    };
    const a = await split(7);
    expect(a.r.status).toBe(201);
    expect(a.r.body).toEqual({
      train: 's3://bees/labels/train.manifest',
      validation: 's3://bees/labels/validation.manifest',
      trainCount: 8,
      validationCount: 2,
      seed: 7,
      trainFraction: 0.8,
    });
    const trainLines = a.train.trim().split('\n');
    const valLines = a.validation.trim().split('\n');
    expect(trainLines).toHaveLength(8);
    expect(valLines).toHaveLength(2);
    expect([...trainLines, ...valLines].sort()).toEqual(body.trim().split('\n').sort());
    const again = await split(7);
    expect(again.train).toBe(a.train);
    expect(again.validation).toBe(a.validation);
    const other = await split(8);
    expect(other.train === a.train && other.validation === a.validation).toBe(false);
  });

  it('explains bad split requests', async () => {
    await admin.fetch('/_apiary/api/s3/buckets/bees/object?key=labels/one.manifest', {
      method: 'PUT',
      body: line(1) + '\n',
    });
    await admin.fetch('/_apiary/api/s3/buckets/bees/object?key=labels/broken.manifest', {
      method: 'PUT',
      body: line(1) + '\n{oops\n',
    });
    const post = (b: unknown) =>
      admin.json('/_apiary/api/manifests/split', { method: 'POST', body: JSON.stringify(b) });
    expect((await post({ manifest: 's3://bees/labels/one.manifest' })).body).toEqual({
      error: {
        code: 'ValidationError',
        message: 'manifest s3://bees/labels/one.manifest has 1 line(s); a split needs at least 2',
      },
    });
    expect((await post({ manifest: 's3://bees/labels/broken.manifest' })).body).toEqual({
      error: {
        code: 'ValidationError',
        message:
          'manifest s3://bees/labels/broken.manifest line 2 is not valid JSON; a manifest holds one JSON object per line',
      },
    });
    expect(
      (await post({ manifest: 's3://bees/labels/output.manifest', trainFraction: 1 })).body,
    ).toEqual({
      error: {
        code: 'ValidationError',
        message: 'trainFraction must be a number between 0 and 1 (exclusive); got 1',
      },
    });
    expect((await post({ manifest: 'file:///etc/passwd' })).body).toMatchObject({
      error: {
        code: 'ValidationException',
        message: expect.stringContaining("manifest 'file:///etc/passwd' is not an S3 URI"),
      },
    });
    expect(await post({ manifest: 's3://bees/labels/none.manifest' })).toMatchObject({
      status: 404,
      body: { error: { code: 'NoSuchKey' } },
    });
  });

  it('finds the boxes a manifest holds for an image, and pages through labelled entries', async () => {
    const r = await admin.json(
      '/_apiary/api/manifests/annotations?manifest=s3://bees/labels/output.manifest&source=s3://bees/input/img3.jpg',
    );
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      manifest: 's3://bees/labels/output.manifest',
      entry: {
        line: 4,
        sourceRef: 's3://bees/input/img3.jpg',
        labels: [
          {
            attribute: 'bee-box',
            imageSize: { width: 128, height: 96, depth: 3 },
            boxes: [{ classId: 0, left: 3, top: 2, width: 30, height: 20, confidence: 0.9 }],
            classMap: { '0': 'bee' },
          },
        ],
      },
    });
    const none = await admin.json(
      '/_apiary/api/manifests/annotations?manifest=s3://bees/labels/output.manifest&source=s3://bees/input/zzz.jpg',
    );
    expect(none.status).toBe(404);
    const page = await admin.json<{ entries: { line: number }[]; nextAfterLine: number }>(
      '/_apiary/api/manifests/entries?manifest=s3://bees/labels/output.manifest&max=4',
    );
    expect(page.body.entries.map((e) => e.line)).toEqual([1, 2, 3, 4]);
    expect(page.body.nextAfterLine).toBe(4);
    const last = await admin.json<{ entries: { line: number }[]; nextAfterLine?: number }>(
      '/_apiary/api/manifests/entries?manifest=s3://bees/labels/output.manifest&afterLine=8&max=4',
    );
    expect(last.body.entries.map((e) => e.line)).toEqual([9, 10]);
    expect(last.body.nextAfterLine).toBeUndefined();
  });
});

describe('console live updates (SSE)', () => {
  it('streams the current state of a watched resource, then each change, once per change', async () => {
    const w = encodeURIComponent(
      JSON.stringify([{ op: 'DescribeModel', input: { ModelName: 'live-model' } }]),
    );
    const res = await admin.fetch(`/_apiary/api/events?w=${w}`, {
      headers: { accept: 'text/event-stream' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    const nextEvent = async (): Promise<Record<string, unknown>> => {
      for (;;) {
        const m = /event: update\ndata: (.*)\n\n/.exec(buf);
        if (m) {
          buf = buf.slice(m.index + m[0].length);
          return JSON.parse(m[1]!) as Record<string, unknown>;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buf += decoder.decode(value, { stream: true });
      }
    };
    const first = await nextEvent();
    expect(first).toMatchObject({
      op: 'DescribeModel',
      error: {
        code: 'ValidationException',
        message: expect.stringContaining('Could not find model'),
      },
    });
    await admin.sagemaker('CreateModel', { ModelName: 'live-model', PrimaryContainer: container });
    const second = await nextEvent();
    expect(second).toMatchObject({ op: 'DescribeModel', output: { ModelName: 'live-model' } });
    await reader.cancel();
  });

  it('refuses to watch a mutating operation', async () => {
    const w = encodeURIComponent(
      JSON.stringify([{ op: 'DeleteModel', input: { ModelName: 'x' } }]),
    );
    const r = await admin.json(`/_apiary/api/events?w=${w}`);
    expect(r).toEqual(
      expect.objectContaining({
        status: 400,
        body: {
          error: {
            code: 'ValidationError',
            message: 'w[0].op must name a Describe* or List* operation, or an Apiary* view',
          },
        },
      }),
    );
  });
});

describe('console static files', () => {
  it('sends deep links to the console page with a strict CSP, and unsigned browsers from / to it', async () => {
    const root = await fetch(`${server.url}/_apiary/ui/`);
    const deep = await fetch(`${server.url}/_apiary/ui/training-jobs/some-job`);
    expect([200, 503]).toContain(root.status);
    expect(deep.status).toBe(root.status);
    expect(await deep.text()).toBe(await root.text());
    const csp = deep.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect((await fetch(`${server.url}/_apiary/ui/assets/missing-abc.js`)).status).toBe(404);
    const redirect = await fetch(`${server.url}/`, {
      headers: { accept: 'text/html' },
      redirect: 'manual',
    });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/_apiary/ui/');
  });
});
