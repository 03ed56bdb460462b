import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import {
  SageMakerClient,
  CreateModelCommand,
  CreateEndpointConfigCommand,
  CreateEndpointCommand,
  DescribeEndpointCommand,
  DeleteEndpointCommand,
  UpdateEndpointCommand,
  UpdateEndpointWeightsAndCapacitiesCommand,
  type DescribeEndpointCommandOutput,
  type ProductionVariantInstanceType,
} from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient, InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { sdkConfig, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Endpoints on Kubernetes against a real control plane (scripts/k8s-cluster.sh: kube-apiserver,
 * controller-manager, scheduler, kwok fake node). Pods never run: the test checks the objects,
 * their replicas and phases, and where invocations are sent (a local HTTP server stands in for
 * the Services through APIARY_K8S_SERVICE_URL).
 */
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const state = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-k8s-hosting-'));
const clusterEnv = { ...process.env, APIARY_K8S_STATE: path.join(state, 'cluster') };
const NS = 'default';
const ALGORITHM_IMAGE = 'registry.example/apiary-object-detection:test';

let server: TestServer;
let sm: SageMakerClient;
let rt: SageMakerRuntimeClient;
let apps: AppsV1Api;
let core: CoreV1Api;
let services: http.Server;
const received: { url: string; body: string; contentType: string | undefined }[] = [];
const MODEL_BYTES = Buffer.from('not really a model.tar.gz: pods under kwok never fetch it');

async function clusterUp(): Promise<string> {
  let out: { stdout: string; stderr: string };
  try {
    out = await promisify(execFile)(path.join(ROOT, 'scripts/k8s-cluster.sh'), ['up'], {
      env: clusterEnv,
      timeout: 3_600_000,
      maxBuffer: 64 << 20,
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(
      `scripts/k8s-cluster.sh up could not start the test cluster: ${err.message}\n${err.stderr ?? ''}`,
    );
  }
  const line = out.stdout.split('\n').find((l) => l.startsWith('KUBECONFIG='));
  if (!line)
    throw new Error(
      `scripts/k8s-cluster.sh up printed no KUBECONFIG= line:\n${out.stdout}\n${out.stderr}`,
    );
  return line.slice('KUBECONFIG='.length).trim();
}

async function until<T>(
  what: string,
  get: () => Promise<T>,
  ok: (v: T) => boolean,
  limitMs = 45_000,
): Promise<T> {
  const end = Date.now() + limitMs;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await get();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: still ${JSON.stringify(last)?.slice(0, 800)}`);
}

const describeEp = (name: string) => sm.send(new DescribeEndpointCommand({ EndpointName: name }));
const settled = (name: string) =>
  until(
    `endpoint ${name} to settle`,
    () => describeEp(name),
    (d) => d.EndpointStatus === 'InService' || d.EndpointStatus === 'Failed',
  );
const deploymentsOf = async (endpoint: string): Promise<V1Deployment[]> =>
  (
    await apps.listNamespacedDeployment({
      namespace: NS,
      labelSelector: `apiary.io/endpoint=${endpoint}`,
    })
  ).items;
const servicesOf = async (endpoint: string) =>
  (
    await core.listNamespacedService({
      namespace: NS,
      labelSelector: `apiary.io/endpoint=${endpoint}`,
    })
  ).items;

async function endpointConfig(
  name: string,
  model: string,
  instanceType: string,
  count: number,
): Promise<void> {
  await sm.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: name,
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          ModelName: model,
          InitialInstanceCount: count,
          InstanceType: instanceType as ProductionVariantInstanceType,
          InitialVariantWeight: 1,
        },
      ],
    }),
  );
}

beforeAll(async () => {
  const kubeconfig = await clusterUp();
  process.env.KUBECONFIG = kubeconfig;
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  apps = kc.makeApiClient(AppsV1Api);
  core = kc.makeApiClient(CoreV1Api);
  services = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        url: req.url ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
        contentType: req.headers['content-type'],
      });
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ served_by: req.url }));
    });
  });
  await new Promise<void>((r) => services.listen(0, '127.0.0.1', r));
  const port = (services.address() as { port: number }).port;
  server = await startTestServer(
    {},
    {
      APIARY_HOSTING: 'kubernetes',
      APIARY_K8S_NAMESPACE: NS,
      APIARY_K8S_IMAGE: 'registry.example/apiary:test',
      APIARY_K8S_ALGORITHM_IMAGE: ALGORITHM_IMAGE,
      APIARY_K8S_SERVICE_URL: `http://127.0.0.1:${port}/{namespace}/{service}`,
      APIARY_K8S_PENDING_TIMEOUT_SECONDS: '1',
    },
    { tmpPrefix: 'apiary-k8s-hosting-' },
  );
  sm = new SageMakerClient(sdkConfig(server));
  rt = new SageMakerRuntimeClient({ ...sdkConfig(server), maxAttempts: 1 });
  const s3 = new S3Client(sdkConfig(server));
  await s3.send(new CreateBucketCommand({ Bucket: 'models' }));
  await s3.send(
    new PutObjectCommand({ Bucket: 'models', Key: 'bees/model.tar.gz', Body: MODEL_BYTES }),
  );
  s3.destroy();
  await sm.send(
    new CreateModelCommand({
      ModelName: 'bees',
      PrimaryContainer: {
        Image: 'object-detection:latest',
        ModelDataUrl: 's3://models/bees/model.tar.gz',
        Environment: { SAGEMAKER_MODEL_SERVER_WORKERS: '2' },
      },
    }),
  );
  await sm.send(
    new CreateModelCommand({
      ModelName: 'byo',
      PrimaryContainer: { Image: 'registry.example/team/my-server:1.2' },
    }),
  );
}, 3_700_000);

afterAll(async () => {
  sm?.destroy();
  rt?.destroy();
  await server?.close();
  await new Promise((r) => services?.close(r));
  await promisify(execFile)(path.join(ROOT, 'scripts/k8s-cluster.sh'), ['down'], {
    env: clusterEnv,
  }).catch(() => {});
  fs.rmSync(state, { recursive: true, force: true });
});

describe('endpoints on Kubernetes (APIARY_HOSTING=kubernetes)', () => {
  let first: DescribeEndpointCommandOutput;

  it('CreateEndpoint: each variant a Deployment + Service with the serving contract; kwok marks the pods Ready → InService', async () => {
    await endpointConfig('bees-cfg', 'bees', 'ml.m5.xlarge', 2);
    await sm.send(
      new CreateEndpointCommand({ EndpointName: 'bees-ep', EndpointConfigName: 'bees-cfg' }),
    );
    first = await settled('bees-ep');
    expect(first.FailureReason).toBeUndefined();
    expect(first.EndpointStatus).toBe('InService');
    expect(first.ProductionVariants?.[0]?.CurrentInstanceCount).toBe(2);

    const [d, ...more] = await deploymentsOf('bees-ep');
    expect(more).toEqual([]);
    expect(d!.metadata!.labels).toMatchObject({
      'apiary.io/endpoint': 'bees-ep',
      'apiary.io/variant': 'AllTraffic',
    });
    expect(d!.spec!.replicas).toBe(2);
    expect(d!.status!.readyReplicas).toBe(2);
    const pod = d!.spec!.template.spec!;
    const serve = pod.containers[0]!;
    expect(serve.image).toBe(ALGORITHM_IMAGE);
    expect(serve.args).toEqual(['serve']);
    expect(serve.readinessProbe?.httpGet).toMatchObject({ path: '/ping', port: 8080 });
    expect(serve.resources?.requests).toEqual({ cpu: '4', memory: '16Gi' });
    expect(serve.env).toEqual(
      expect.arrayContaining([
        { name: 'SAGEMAKER_MODEL_SERVER_WORKERS', value: '2' },
        { name: 'SAGEMAKER_BIND_TO_PORT', value: '8080' },
      ]),
    );
    expect(serve.volumeMounts).toEqual([
      { name: 'model', mountPath: '/opt/ml/model', readOnly: true },
    ]);
    const fetchStep = pod.initContainers![0]!;
    expect(fetchStep.image).toBe('registry.example/apiary:test');
    const modelUrl = fetchStep.env!.find((e) => e.name === 'APIARY_MODEL_URL')!.value!;
    expect(modelUrl).toMatch(/\/models\/bees\/model\.tar\.gz\?.*X-Amz-Signature=/);
    // The presigned URL is a real GET on Apiary's S3 API: what the pod's init step downloads.
    const got = await fetch(modelUrl);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(MODEL_BYTES)).toBe(true);

    const [svc] = await servicesOf('bees-ep');
    expect(svc!.metadata!.name).toBe(d!.metadata!.name);
    expect(svc!.spec!.selector).toEqual(d!.spec!.selector!.matchLabels);
    expect(svc!.spec!.ports).toMatchObject([{ port: 8080, targetPort: 8080 }]);
    const pods = await core.listNamespacedPod({
      namespace: NS,
      labelSelector: `apiary.io/endpoint=bees-ep`,
    });
    expect(pods.items.map((p) => p.status?.phase)).toEqual(['Running', 'Running']);
  });

  it("InvokeEndpoint goes to the variant's Service", async () => {
    const [d] = await deploymentsOf('bees-ep');
    const r = await rt.send(
      new InvokeEndpointCommand({
        EndpointName: 'bees-ep',
        Body: Buffer.from('{"x":1}'),
        ContentType: 'application/json',
      }),
    );
    expect(JSON.parse(Buffer.from(r.Body!).toString('utf8'))).toEqual({
      served_by: `/${NS}/${d!.metadata!.name}/invocations`,
    });
    expect(r.InvokedProductionVariant).toBe('AllTraffic');
    expect(received.at(-1)).toEqual({
      url: `/${NS}/${d!.metadata!.name}/invocations`,
      body: '{"x":1}',
      contentType: 'application/json',
    });
  });

  it('UpdateEndpointWeightsAndCapacities scales the Deployment', async () => {
    await sm.send(
      new UpdateEndpointWeightsAndCapacitiesCommand({
        EndpointName: 'bees-ep',
        DesiredWeightsAndCapacities: [{ VariantName: 'AllTraffic', DesiredInstanceCount: 3 }],
      }),
    );
    const d = await settled('bees-ep');
    expect(d.ProductionVariants?.[0]?.CurrentInstanceCount).toBe(3);
    const [dep] = await deploymentsOf('bees-ep');
    expect(dep!.spec!.replicas).toBe(3);
    expect(dep!.status!.readyReplicas).toBe(3);
  });

  it('UpdateEndpoint (blue/green) brings up a second Deployment, then removes the first', async () => {
    const [old] = await deploymentsOf('bees-ep');
    await endpointConfig('byo-cfg', 'byo', 'ml.c5.large', 1);
    await sm.send(
      new UpdateEndpointCommand({ EndpointName: 'bees-ep', EndpointConfigName: 'byo-cfg' }),
    );
    const d = await until(
      'the update',
      () => describeEp('bees-ep'),
      (x) => x.EndpointStatus === 'InService' && x.EndpointConfigName === 'byo-cfg',
    );
    expect(d.FailureReason).toBeUndefined();
    // The old fleet is removed once the new one is promoted (InService is recorded first, so that
    // a restart in between never finds the endpoint without a fleet): wait for its Deployment to go.
    const now = await until(
      'the old Deployment removed',
      () => deploymentsOf('bees-ep'),
      (x) => x.length === 1,
    );
    expect(now).toHaveLength(1);
    expect(now[0]!.metadata!.name).not.toBe(old!.metadata!.name);
    const serve = now[0]!.spec!.template.spec!.containers[0]!;
    expect(serve.image).toBe('registry.example/team/my-server:1.2');
    expect(serve.resources?.requests).toEqual({ cpu: '2', memory: '4Gi' });
    // No ModelDataUrl: the fetch step gets no URL (the API server drops the empty list).
    expect(now[0]!.spec!.template.spec!.initContainers![0]!.env ?? []).toEqual([]);
    const services = await until(
      'the old Service removed',
      () => servicesOf('bees-ep'),
      (x) => x.length === 1,
    );
    expect(services.map((s) => s.metadata!.name)).toEqual([now[0]!.metadata!.name]);
  });

  it('DeleteEndpoint removes the Deployment and the Service', async () => {
    await sm.send(new DeleteEndpointCommand({ EndpointName: 'bees-ep' }));
    await until(
      'the endpoint to go',
      () =>
        describeEp('bees-ep').then(
          () => 'exists',
          () => 'gone',
        ),
      (s) => s === 'gone',
    );
    expect(await deploymentsOf('bees-ep')).toEqual([]);
    expect(await servicesOf('bees-ep')).toEqual([]);
  });

  it('a variant no node can hold → Failed with the scheduler reason, nothing left behind', async () => {
    await endpointConfig('huge-cfg', 'bees', 'ml.p4d.24xlarge', 1);
    await sm.send(
      new CreateEndpointCommand({ EndpointName: 'huge-ep', EndpointConfigName: 'huge-cfg' }),
    );
    const d = await settled('huge-ep');
    expect(d.EndpointStatus).toBe('Failed');
    expect(d.FailureReason).toMatch(
      /0 of 1 instances ready on Kubernetes; pod ep-huge-ep-alltraffic-[0-9a-f]+-\S+: Unschedulable: 0\/1 nodes are available: .*Insufficient cpu/,
    );
    expect(await deploymentsOf('huge-ep')).toEqual([]);
    expect(await servicesOf('huge-ep')).toEqual([]);
    await sm.send(new DeleteEndpointCommand({ EndpointName: 'huge-ep' }));
  });
});

describe('install manifests (deploy/kubernetes, kustomize)', () => {
  const kubectl = (...args: string[]) =>
    promisify(execFile)('kubectl', args, {
      env: { ...process.env, KUBECONFIG: process.env.KUBECONFIG },
      cwd: ROOT,
    });

  it("render with kubectl kustomize and pass the API server's validation (apply --dry-run=server)", async () => {
    const rendered = (await kubectl('kustomize', 'deploy/kubernetes')).stdout;
    for (const kind of [
      'Namespace',
      'ServiceAccount',
      'Role',
      'RoleBinding',
      'ConfigMap',
      'Secret',
      'Deployment',
      'Service',
      'PodDisruptionBudget',
    ]) {
      expect(rendered).toMatch(new RegExp(`^kind: ${kind}$`, 'm'));
    }
    // Namespaced objects validate only in a namespace that exists.
    await kubectl('create', 'namespace', 'apiary');
    const out = await kubectl('apply', '--dry-run=server', '-k', 'deploy/kubernetes');
    expect(out.stdout).toMatch(/deployment.apps\/apiary (created|configured) \(server dry run\)/);
    expect(out.stdout).toMatch(
      /poddisruptionbudget.policy\/apiary (created|configured) \(server dry run\)/,
    );
  });

  it("grant Apiary's service account what training jobs and endpoints need, in its namespace only", async () => {
    await kubectl('apply', '-f', 'deploy/kubernetes/rbac.yaml', '-n', 'apiary');
    const as = ['--as=system:serviceaccount:apiary:apiary'];
    const can = async (...a: string[]) =>
      (
        await kubectl('auth', 'can-i', ...a, ...as).catch((e: { stdout: string }) => e)
      ).stdout.trim();
    for (const [verb, resource] of [
      ['create', 'jobs.batch'],
      ['watch', 'pods'],
      ['get', 'pods/log'],
      ['create', 'deployments.apps'],
      ['update', 'deployments.apps/scale'],
      ['delete', 'services'],
      ['create', 'selfsubjectaccessreviews.authorization.k8s.io'],
    ]) {
      expect(`${verb} ${resource}: ${await can(verb!, resource!, '-n', 'apiary')}`).toBe(
        `${verb} ${resource}: yes`,
      );
    }
    expect(await can('get', 'secrets', '-n', 'apiary')).toBe('no');
    expect(await can('create', 'deployments.apps', '-n', 'default')).toBe('no');
  });
});
