import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkConfig, startTestServer, type TestServer } from './helpers/server.js';

// Reliability checklist C26: every route — including ones added later — answers a caller without
// credentials with 401/403, except the few public ones listed here with the reason. The list of
// routes comes from the server itself, so a new route is checked the day it is added.

/** Routes anyone may call, and why. Everything else must refuse an anonymous caller. */
const PUBLIC: Record<string, string> = {
  'POST /_apiary/api/login': 'signing in is how credentials are obtained',
  'POST /_apiary/api/logout':
    "clears the caller's own cookies; without a session there is nothing to end (with one, CSRF applies)",
  'GET /_apiary/api/session': 'answers {user: null} without a session (the console asks who it is)',
  'GET /_apiary/health':
    'liveness; details (account, version) only with the metrics token or loopback',
  'GET /_apiary/ready': 'readiness for load balancers; no data',
  'GET /metrics': 'loopback-only without APIARY_METRICS_TOKEN (tests run on loopback)',
  'GET /_apiary/ui': 'the console page itself (static, signs in through the API)',
  'GET /_apiary/ui/*': 'the console bundle (static)',
};

/** Every `METHOD path` the server registered, read from Fastify's route tree. */
function registeredRoutes(tree: string): string[] {
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    const parent = stack[depth - 1] ?? '';
    // find-my-way prints `/x/*` as `/x` with a child `*` (the `/` node has no handler, so it is
    // not printed): a wildcard under a path that does not end in `/` is `/*`.
    const label = m[2] === '*' && parent !== '' && !parent.endsWith('/') ? '/*' : m[2]!;
    const path = parent + label;
    stack[depth] = path;
    for (const method of m[3]?.split(', ') ?? []) routes.push(`${method} ${path}`);
  }
  return routes;
}

/** A concrete URL for a route pattern (parameters and wildcards filled with harmless values). */
const concrete = (pattern: string) =>
  pattern.replace(/:([a-z]+)/gi, 'x1').replace(/\*$/, 'anything');

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  // The S3 calls below name an existing (private) bucket: a missing bucket answers 404
  // NoSuchBucket to any caller, as on AWS (bucket names are not secret), which would say nothing
  // about whether the anonymous caller is refused.
  const s3 = new S3Client({ ...sdkConfig(server), forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: 'bucket' }));
  s3.destroy();
});
afterAll(async () => {
  await server?.close();
});

describe('route inventory', () => {
  it('refuses an anonymous caller on every route but the listed public ones', async () => {
    const routes = registeredRoutes(server.apiary.app.printRoutes({ commonPrefix: false }));
    expect(routes.length).toBeGreaterThan(30);
    expect(routes).toContain('POST /_apiary/api/sagemaker');
    const open: string[] = [];
    for (const route of routes) {
      if (PUBLIC[route] || route.startsWith('OPTIONS ')) continue;
      const [method, pattern] = route.split(' ') as [string, string];
      const url = pattern === '*' ? '/bucket/key' : concrete(pattern);
      const res = await fetch(`${server.url}${url}`, {
        method,
        ...(['POST', 'PUT', 'PATCH'].includes(method)
          ? { body: '{}', headers: { 'content-type': 'application/json' } }
          : {}),
      });
      await res.arrayBuffer();
      if (res.status !== 401 && res.status !== 403) open.push(`${route} → ${res.status}`);
    }
    expect(open).toEqual([]);
  });

  it('refuses anonymous calls to every protocol behind the catch-all route', async () => {
    const calls: [string, RequestInit, string][] = [
      ['/', { method: 'GET' }, 'S3 ListBuckets'],
      ['/bucket?list-type=2', { method: 'GET' }, 'S3 ListObjectsV2'],
      ['/bucket/key', { method: 'PUT', body: 'x' }, 'S3 PutObject'],
      ['/bucket/key', { method: 'DELETE' }, 'S3 DeleteObject'],
      [
        '/',
        {
          method: 'POST',
          headers: {
            'x-amz-target': 'SageMaker.ListTrainingJobs',
            'content-type': 'application/x-amz-json-1.1',
          },
          body: '{}',
        },
        'SageMaker',
      ],
      [
        '/',
        {
          method: 'POST',
          headers: {
            'x-amz-target': 'Logs_20140328.DescribeLogGroups',
            'content-type': 'application/x-amz-json-1.1',
          },
          body: '{}',
        },
        'CloudWatch Logs',
      ],
      [
        '/',
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'Action=ListRoles&Version=2010-05-08',
        },
        'IAM',
      ],
      ['/endpoints/x1/invocations', { method: 'POST', body: 'x' }, 'SageMaker Runtime'],
      ['/_apiary/notebooks/x1/lab', { method: 'GET' }, 'notebook proxy'],
      ['/_apiary/k8s/stage/forged.token', { method: 'GET' }, 'Kubernetes staging'],
    ];
    for (const [url, init, what] of calls) {
      const res = await fetch(`${server.url}${url}`, init);
      await res.arrayBuffer();
      // The notebook proxy and the pod staging routes answer 404 without a valid session/token:
      // nothing about whether the instance or job exists.
      const allowed = /notebook|Kubernetes/.test(what) ? [401, 403, 404] : [401, 403];
      expect(allowed, `${what}: ${init.method} ${url}`).toContain(res.status);
    }
  });

  it('answers a missing bucket with 404 NoSuchBucket and nothing more, as AWS does', async () => {
    for (const init of [{ method: 'GET' }, { method: 'PUT', body: 'x' }, { method: 'DELETE' }]) {
      const res = await fetch(`${server.url}/no-such-bucket-here/key`, init);
      const body = await res.text();
      expect(res.status, init.method).toBe(404);
      expect(body).toContain('<Code>NoSuchBucket</Code>');
    }
    // The PUT above stored nothing: the bucket still does not exist for the root key either.
    const s3 = new S3Client({ ...sdkConfig(server), forcePathStyle: true });
    await expect(
      s3.send(new CreateBucketCommand({ Bucket: 'no-such-bucket-here' })),
    ).resolves.toBeDefined();
    s3.destroy();
  });
});
