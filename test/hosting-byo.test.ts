import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import {
  SageMakerClient,
  CreateModelCommand,
  CreateEndpointConfigCommand,
  CreateEndpointCommand,
  DescribeEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient, InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { sdkConfig, type TestServer } from './helpers/server.js';
import { hostingFixtures, startHostingServer, uploadFixtures } from './fixtures/hosting.js';

let server: TestServer;
let sm: SageMakerClient;
let rt: SageMakerRuntimeClient;
let urls: Record<string, string>;
const ECHO = path.resolve('test/fixtures/echo-serving.mjs');

async function deploy(
  name: string,
  container: { Image: string; ModelDataUrl?: string; Environment?: Record<string, string> },
) {
  await sm.send(new CreateModelCommand({ ModelName: name, PrimaryContainer: container }));
  await sm.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: name,
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          ModelName: name,
          InitialInstanceCount: 1,
          InstanceType: 'ml.m5.large',
        },
      ],
    }),
  );
  await sm.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: name }));
  return sm.send(new DescribeEndpointCommand({ EndpointName: name }));
}

beforeAll(async () => {
  const dir = await hostingFixtures();
  server = await startHostingServer(
    { servingStartupTimeoutSeconds: 60, endpointCreateWaitMs: 30_000 },
    {
      env: {
        APIARY_SERVING_IMAGES: JSON.stringify({
          'acme/echo:1': { command: [process.execPath, ECHO] },
          'acme/crash:1': {
            command: [
              process.execPath,
              '-e',
              "console.error('cannot find weights.bin'); process.exit(3)",
            ],
          },
        }),
      },
    },
  );
  sm = new SageMakerClient(sdkConfig(server));
  rt = new SageMakerRuntimeClient({ ...sdkConfig(server), maxAttempts: 1 });
  urls = await uploadFixtures(server, dir, ['oracle.tar.gz', 'pytorch.tar.gz']);
});

afterAll(async () => {
  sm?.destroy();
  rt?.destroy();
  await server?.close();
});

describe('bring-your-own serving images', () => {
  it('starts a registered serving image per instance with the model mounted and proxies /invocations', async () => {
    const d = await deploy('echo', {
      Image: 'acme/echo:1',
      ModelDataUrl: urls['oracle.tar.gz'],
      Environment: { GREETING: 'hello' },
    });
    expect(d.EndpointStatus).toBe('InService');
    const r = await rt.send(
      new InvokeEndpointCommand({
        EndpointName: 'echo',
        ContentType: 'text/plain',
        Body: Buffer.from('bees'),
        CustomAttributes: 'trace=1',
      }),
    );
    expect(r.ContentType).toBe('application/json');
    expect(r.CustomAttributes).toBe('served-by=echo');
    expect(r.InvokedProductionVariant).toBe('AllTraffic');
    const body = JSON.parse(Buffer.from(r.Body!).toString());
    expect(body).toMatchObject({
      files: ['model.json', 'model.onnx'],
      greeting: 'hello',
      contentType: 'text/plain',
      customAttributes: 'trace=1',
      body: 'bees',
    });
    expect([
      '/opt/ml/model',
      expect.stringContaining('hosting/models/echo-alltraffic-'),
    ]).toContainEqual(body.modelDir);
    // The console sees what the serving process holds: its own RSS and CPU time, read from /proc.
    const usage = (await server.apiary.hosting.endpointMetrics('echo')).AllTraffic!.usage!;
    expect(usage).toMatchObject({ kind: 'container', memory: 'process-rss' });
    const [inst] = usage.instances;
    expect(inst!.pid).toBeGreaterThan(0);
    expect(inst!.memoryBytes).toBeGreaterThan(5 * 1024 * 1024); // a node process holds far more than 5 MiB
    expect(inst!.cpuSeconds).toBeGreaterThan(0);
  });

  it("turns the container's 5xx into ModelError with its status and message", async () => {
    const err = await rt
      .send(
        new InvokeEndpointCommand({
          EndpointName: 'echo',
          ContentType: 'text/plain',
          Body: Buffer.from('fail'),
        }),
      )
      .catch((e) => e);
    expect(err).toMatchObject({
      name: 'ModelError',
      $metadata: { httpStatusCode: 424 },
      OriginalStatusCode: 500,
      OriginalMessage: 'the model could not score this input',
      message:
        'Received server error (500) from primary with message "the model could not score this input". See the endpoint\'s logs for more information.',
    });
  });

  it('fails the endpoint with the reason when the image exits before answering GET /ping', async () => {
    const d = await deploy('crash', { Image: 'acme/crash:1' });
    expect(d.EndpointStatus).toBe('Failed');
    expect(d.FailureReason).toBe(
      'The serving container of variant AllTraffic failed its health check: the serving process exited (code 3) before answering GET /ping; last output: cannot find weights.bin',
    );
  });

  it("serves a PyTorch model with the user's inference.py (model_fn/input_fn/predict_fn/output_fn) on the local torch", async () => {
    const d = await deploy('torch', {
      Image: '763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:1.13-cpu-py39',
      ModelDataUrl: urls['pytorch.tar.gz'],
    });
    expect(d.FailureReason).toBeUndefined();
    expect(d.EndpointStatus).toBe('InService');
    const r = await rt.send(
      new InvokeEndpointCommand({
        EndpointName: 'torch',
        ContentType: 'application/json',
        Body: Buffer.from(
          JSON.stringify({
            inputs: [
              [1, 1, 1],
              [0, 0, 1],
            ],
          }),
        ),
      }),
    );
    const out = JSON.parse(Buffer.from(r.Body!).toString());
    expect(out.outputs.map((o: number[]) => Math.round(o[0]! * 1000) / 1000)).toEqual([6.5, 3.5]);
    const err = await rt
      .send(
        new InvokeEndpointCommand({
          EndpointName: 'torch',
          ContentType: 'text/csv',
          Body: Buffer.from('1,2,3'),
        }),
      )
      .catch((e) => e);
    expect(err).toMatchObject({ name: 'ModelError', OriginalStatusCode: 400 });
    expect(err.OriginalMessage).toContain('unsupported content type text/csv');
  });
});
