import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import {
  SageMakerClient,
  CreateModelCommand,
  CreateEndpointConfigCommand,
  CreateEndpointCommand,
  DescribeEndpointCommand,
  ListEndpointsCommand,
  DeleteEndpointCommand,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient, InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { sdkConfig, type TestServer } from './helpers/server.js';
import {
  BUILTIN_IMAGE,
  hostingFixtures,
  startHostingServer,
  uploadFixtures,
} from './fixtures/hosting.js';

let server: TestServer;
let sm: SageMakerClient;
let rt: SageMakerRuntimeClient;
let urls: Record<string, string>;
let fixtures: string;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-hosting-endpoints-'));

const png = () =>
  sharp({ create: { width: 96, height: 64, channels: 3, background: '#000' } })
    .composite([
      {
        input: { create: { width: 30, height: 20, channels: 3, background: '#fff' } },
        left: 24,
        top: 16,
      },
    ])
    .png()
    .toBuffer();

async function config(name: string, variants: { name: string; url: string; weight?: number }[]) {
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
      EndpointConfigName: name,
      ProductionVariants: variants.map((v) => ({
        VariantName: v.name,
        ModelName: `${name}-${v.name}`,
        InitialInstanceCount: 1,
        InitialVariantWeight: v.weight ?? 1,
        InstanceType: 'ml.m5.large',
      })),
    }),
  );
}

async function start() {
  server = await startHostingServer({ dataDir });
  sm = new SageMakerClient(sdkConfig(server));
  rt = new SageMakerRuntimeClient({ ...sdkConfig(server), maxAttempts: 1 });
}

async function stop() {
  sm.destroy();
  rt.destroy();
  await server.close();
}

beforeAll(async () => {
  fixtures = await hostingFixtures();
  await start();
  urls = await uploadFixtures(server, fixtures, [
    'detector.tar.gz',
    'oracle.tar.gz',
    'symlink.tar.gz',
  ]);
});

afterAll(async () => {
  await stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('endpoints through boto3, the AWS CLI and the AWS SDK', () => {
  it("runs the tutorial's boto3 create → waiter → invoke → delete → waiter code unchanged on the built-in detector", async () => {
    const image = path.join(dataDir, 'bee.jpg');
    fs.writeFileSync(
      image,
      await sharp(await png())
        .jpeg()
        .toBuffer(),
    );
    const script = `
import boto3, json, sys, time
sm = boto3.client("sagemaker")
runtime = boto3.client("sagemaker-runtime")
image_uri = "${BUILTIN_IMAGE}"
model_data = "${urls['detector.tar.gz']}"
sm.create_model(ModelName="bees-od", PrimaryContainer={"Image": image_uri, "ModelDataUrl": model_data},
                ExecutionRoleArn="arn:aws:iam::000000000000:role/SageMakerRole")
sm.create_endpoint_config(EndpointConfigName="bees-od-config", ProductionVariants=[{
    "VariantName": "AllTraffic", "ModelName": "bees-od", "InitialInstanceCount": 1, "InstanceType": "ml.m5.xlarge"}])
t0 = time.time()
sm.create_endpoint(EndpointName="bees-od", EndpointConfigName="bees-od-config")
sm.get_waiter("endpoint_in_service").wait(EndpointName="bees-od")
in_service_s = time.time() - t0
with open("${image}", "rb") as f:
    response = runtime.invoke_endpoint(EndpointName="bees-od", ContentType="image/jpeg", Body=f.read())
detections = json.loads(response["Body"].read())["prediction"]
variant = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-invoked-production-variant"]
desc = sm.describe_endpoint(EndpointName="bees-od")
sm.delete_endpoint(EndpointName="bees-od")
sm.get_waiter("endpoint_deleted").wait(EndpointName="bees-od")
print(json.dumps({"n": len(detections), "first": detections[:3], "variant": variant, "status": desc["EndpointStatus"],
                  "variants": desc["ProductionVariants"], "waited_s": in_service_s}, default=str))
`;
    const { stdout } = await promisify(execFile)('python3', ['-c', script], {
      env: server.env,
      timeout: 60_000,
    });
    const out = JSON.parse(stdout);
    expect(out.status).toBe('InService');
    expect(out.variant).toBe('AllTraffic');
    expect(out.variants[0]).toMatchObject({
      VariantName: 'AllTraffic',
      CurrentWeight: 1,
      DesiredWeight: 1,
      CurrentInstanceCount: 1,
      DesiredInstanceCount: 1,
      DeployedImages: [{ SpecifiedImage: BUILTIN_IMAGE }],
    });
    expect(out.n).toBeGreaterThan(0);
    for (const d of out.first as number[][]) {
      expect(d).toHaveLength(6);
      expect(d[0]).toBe(0);
      for (const v of d.slice(1)) expect(v >= 0 && v <= 1).toBe(true);
      expect(d[2]!).toBeLessThanOrEqual(d[4]!);
      expect(d[3]!).toBeLessThanOrEqual(d[5]!);
    }
  });

  it('answers the AWS CLI describe-endpoint of an unknown endpoint with the message boto3 waiters rely on', async () => {
    const r = await promisify(execFile)(
      'aws',
      ['sagemaker', 'describe-endpoint', '--endpoint-name', 'Nope'],
      { env: server.env },
    ).catch((e) => e);
    expect(r.stderr).toContain(
      'An error occurred (ValidationException) when calling the DescribeEndpoint operation: Could not find endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/nope".',
    );
  });

  it('refuses duplicate names and unknown configs, and lists newest first by default', async () => {
    await config('cfg-list', [{ name: 'AllTraffic', url: urls['oracle.tar.gz']! }]);
    for (const n of ['list-a', 'list-b', 'list-c']) {
      await sm.send(new CreateEndpointCommand({ EndpointName: n, EndpointConfigName: 'cfg-list' }));
      await new Promise((r) => setTimeout(r, 5));
    }
    await expect(
      sm.send(
        new CreateEndpointCommand({ EndpointName: 'LIST-A', EndpointConfigName: 'cfg-list' }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message:
        'Cannot create already existing endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/list-a".',
    });
    await expect(
      sm.send(new CreateEndpointCommand({ EndpointName: 'x', EndpointConfigName: 'no-config' })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message:
        'Could not find endpoint configuration "arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/no-config".',
    });
    const listed = await sm.send(new ListEndpointsCommand({ NameContains: 'list-' }));
    expect(listed.Endpoints?.map((e) => [e.EndpointName, e.EndpointStatus])).toEqual([
      ['list-c', 'InService'],
      ['list-b', 'InService'],
      ['list-a', 'InService'],
    ]);
    expect(listed.Endpoints?.[0]?.LastModifiedTime).toBeInstanceOf(Date);
    const page = await sm.send(
      new ListEndpointsCommand({
        NameContains: 'list-',
        SortBy: 'Name',
        SortOrder: 'Ascending',
        MaxResults: 2,
      }),
    );
    expect(page.Endpoints?.map((e) => e.EndpointName)).toEqual(['list-a', 'list-b']);
    const next = await sm.send(
      new ListEndpointsCommand({
        NameContains: 'list-',
        SortBy: 'Name',
        SortOrder: 'Ascending',
        MaxResults: 2,
        NextToken: page.NextToken,
      }),
    );
    expect(next.Endpoints?.map((e) => e.EndpointName)).toEqual(['list-c']);
    expect(next.NextToken).toBeUndefined();
    for (const n of ['list-a', 'list-b'])
      await sm.send(new DeleteEndpointCommand({ EndpointName: n }));
  });

  it('updates an endpoint blue/green to a new config without failing a request, and rolls back a bad one', async () => {
    await config('cfg-blue', [{ name: 'Blue', url: urls['oracle.tar.gz']! }]);
    await config('cfg-green', [{ name: 'Green', url: urls['oracle.tar.gz']! }]);
    await config('cfg-broken', [{ name: 'Broken', url: urls['symlink.tar.gz']! }]);
    await sm.send(
      new CreateEndpointCommand({ EndpointName: 'bg', EndpointConfigName: 'cfg-blue' }),
    );
    const body = await png();
    let stop = false;
    const seen = new Set<string>();
    const failures: unknown[] = [];
    const load = Promise.all(
      Array.from({ length: 3 }, async () => {
        while (!stop) {
          try {
            const r = await rt.send(
              new InvokeEndpointCommand({
                EndpointName: 'bg',
                ContentType: 'image/png',
                Body: body,
              }),
            );
            seen.add(r.InvokedProductionVariant!);
          } catch (e) {
            failures.push(e);
          }
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 100));
    await sm.send(
      new UpdateEndpointCommand({ EndpointName: 'bg', EndpointConfigName: 'cfg-green' }),
    );
    // The update answers once the new fleet is built; the switch follows (Updating → InService).
    let d = await sm.send(new DescribeEndpointCommand({ EndpointName: 'bg' }));
    for (let i = 0; i < 100 && d.EndpointStatus === 'Updating'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      d = await sm.send(new DescribeEndpointCommand({ EndpointName: 'bg' }));
    }
    await new Promise((r) => setTimeout(r, 200));
    stop = true;
    await load;
    expect(failures).toEqual([]);
    expect([...seen].sort()).toEqual(['Blue', 'Green']);
    expect(d).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'cfg-green' });
    expect(d.ProductionVariants?.map((v) => v.VariantName)).toEqual(['Green']);
    expect(d.PendingDeploymentSummary).toBeUndefined();

    await sm.send(
      new UpdateEndpointCommand({ EndpointName: 'bg', EndpointConfigName: 'cfg-broken' }),
    );
    let after = await sm.send(new DescribeEndpointCommand({ EndpointName: 'bg' }));
    for (let i = 0; i < 100 && after.EndpointStatus !== 'InService'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await sm.send(new DescribeEndpointCommand({ EndpointName: 'bg' }));
    }
    expect(after).toMatchObject({
      EndpointStatus: 'InService',
      EndpointConfigName: 'cfg-green',
      FailureReason:
        "model.tar.gz entry 'model.onnx' is a symbolic link; links are not allowed in model archives",
    });
    const r = await rt.send(
      new InvokeEndpointCommand({ EndpointName: 'bg', ContentType: 'image/png', Body: body }),
    );
    expect(r.InvokedProductionVariant).toBe('Green');
  });

  it('brings InService endpoints back InService after a restart, with no user action', async () => {
    const before = await sm.send(new DescribeEndpointCommand({ EndpointName: 'list-c' }));
    expect(before.EndpointStatus).toBe('InService');
    await stop();
    await start();
    const after = await sm.send(new DescribeEndpointCommand({ EndpointName: 'list-c' }));
    expect(after.EndpointStatus).toBe('InService');
    expect(after.CreationTime).toEqual(before.CreationTime);
    const r = await rt.send(
      new InvokeEndpointCommand({
        EndpointName: 'list-c',
        ContentType: 'image/png',
        Body: await png(),
      }),
    );
    expect(r.InvokedProductionVariant).toBe('AllTraffic');
    const bg = await rt.send(
      new InvokeEndpointCommand({
        EndpointName: 'bg',
        ContentType: 'image/png',
        Body: await png(),
      }),
    );
    expect(bg.InvokedProductionVariant).toBe('Green');
  });
});
