import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import * as tar from 'tar';
import {
  SageMakerClient,
  CreateModelCommand,
  CreateEndpointConfigCommand,
  CreateEndpointCommand,
  DescribeEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient, InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import { sdkConfig, type TestServer } from './helpers/server.js';
import {
  BUILTIN_IMAGE,
  hostingFixtures,
  startHostingServer,
  uploadFixtures,
} from './fixtures/hosting.js';
import type { MultiModelVariant } from '../src/hosting/runtime/multi-model.js';
import type { ServerlessVariant } from '../src/hosting/runtime/serverless.js';

let server: TestServer;
let sm: SageMakerClient;
let rt: SageMakerRuntimeClient;
let urls: Record<string, string>;
let png: Buffer;
let dataDir: string;

/** Each padded model extracts to ~400 KiB; the 1 MiB budget holds two of them. */
const PAD_BYTES = 400 * 1024;

async function paddedModel(fixtures: string, out: string, padBytes = PAD_BYTES): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-mme-'));
  await tar.x({ file: path.join(fixtures, 'oracle.tar.gz'), cwd: dir });
  fs.writeFileSync(path.join(dir, 'padding.bin'), randomBytes(padBytes));
  await tar.c({ gzip: true, file: out, cwd: dir }, fs.readdirSync(dir));
  fs.rmSync(dir, { recursive: true, force: true });
}

async function endpoint(
  name: string,
  config: Omit<ConstructorParameters<typeof CreateEndpointConfigCommand>[0], 'EndpointConfigName'>,
) {
  await sm.send(new CreateEndpointConfigCommand({ EndpointConfigName: name, ...config }));
  await sm.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: name }));
  return sm.send(new DescribeEndpointCommand({ EndpointName: name }));
}

const invoke = (
  EndpointName: string,
  extra: Partial<ConstructorParameters<typeof InvokeEndpointCommand>[0]> = {},
) =>
  rt.send(
    new InvokeEndpointCommand({ EndpointName, ContentType: 'image/png', Body: png, ...extra }),
  );

const variantServer = <T>(endpoint: string, variant: string): T =>
  server.apiary.hosting.serving.fleet(endpoint)!.find(variant)!.server as unknown as T;

beforeAll(async () => {
  const fixtures = await hostingFixtures();
  // An explicit data dir outlives server.close(): the restart test starts a second server on it.
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-mme-data-'));
  server = await startHostingServer({
    dataDir,
    endpointCreateWaitMs: 30_000,
    multiModelBudgetMb: 1,
  });
  sm = new SageMakerClient(sdkConfig(server));
  rt = new SageMakerRuntimeClient({ ...sdkConfig(server), maxAttempts: 1 });
  urls = await uploadFixtures(server, fixtures, ['oracle.tar.gz', 'traversal.tar.gz']);
  const s3 = new S3Client(sdkConfig(server));
  const padded = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-mme-')), 'padded.tar.gz');
  await paddedModel(fixtures, padded);
  for (const n of ['a', 'b', 'c']) {
    await s3.send(
      new PutObjectCommand({
        Bucket: 'models',
        Key: `mme/${n}.tar.gz`,
        Body: fs.readFileSync(padded),
      }),
    );
  }
  const huge = path.join(path.dirname(padded), 'huge.tar.gz');
  await paddedModel(fixtures, huge, 2 * 1024 * 1024);
  await s3.send(
    new PutObjectCommand({ Bucket: 'models', Key: 'mme/huge.tar.gz', Body: fs.readFileSync(huge) }),
  );
  await s3.send(
    new PutObjectCommand({
      Bucket: 'models',
      Key: 'mme/evil.tar.gz',
      Body: fs.readFileSync(path.join(fixtures, 'traversal.tar.gz')),
    }),
  );
  s3.destroy();
  const raw = Buffer.alloc(64 * 64 * 3);
  for (let y = 16; y < 48; y++) raw.fill(255, (y * 64 + 16) * 3, (y * 64 + 48) * 3);
  png = await sharp(raw, { raw: { width: 64, height: 64, channels: 3 } })
    .png()
    .toBuffer();
  await sm.send(
    new CreateModelCommand({
      ModelName: 'oracle',
      PrimaryContainer: { Image: BUILTIN_IMAGE, ModelDataUrl: urls['oracle.tar.gz'] },
    }),
  );
});

afterAll(async () => {
  sm?.destroy();
  rt?.destroy();
  await server?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('multi-model endpoints', () => {
  beforeAll(async () => {
    await sm.send(
      new CreateModelCommand({
        ModelName: 'many',
        PrimaryContainer: {
          Image: BUILTIN_IMAGE,
          ModelDataUrl: 's3://models/mme/',
          Mode: 'MultiModel',
        },
      }),
    );
    const d = await endpoint('many', {
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          ModelName: 'many',
          InitialInstanceCount: 1,
          InstanceType: 'ml.m5.large',
        },
      ],
    });
    expect(d.EndpointStatus).toBe('InService');
  });

  const loaded = () =>
    variantServer<MultiModelVariant>('many', 'AllTraffic')
      .models()
      .map((m) => m.targetModel);

  it('loads a TargetModel on first use, once for concurrent first requests', async () => {
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => invoke('many', { TargetModel: 'a.tar.gz' })),
    );
    for (const r of answers)
      expect(JSON.parse(Buffer.from(r.Body!).toString()).prediction.length).toBeGreaterThan(0);
    expect(loaded()).toEqual(['a.tar.gz']);
    const models = variantServer<MultiModelVariant>('many', 'AllTraffic').models();
    expect(models[0]).toMatchObject({ invocations: 4 });
    expect(models[0]!.bytes).toBeGreaterThan(PAD_BYTES);
    // One extracted directory per loaded model: the 4 concurrent requests shared one load.
    const root = server.apiary.hosting.serving.fleet('many')!.find('AllTraffic')!.modelDir!;
    expect(fs.readdirSync(root)).toHaveLength(1);
    // The console lists what is loaded.
    const metrics = await server.apiary.hosting.endpointMetrics('many');
    expect(metrics.AllTraffic!.usage!.models!.map((m) => m.targetModel)).toEqual(['a.tar.gz']);
  });

  it('evicts the least recently used model under the memory budget and reloads it on demand', async () => {
    await invoke('many', { TargetModel: 'b.tar.gz' });
    await invoke('many', { TargetModel: 'a.tar.gz' }); // a is now the most recently used
    await invoke('many', { TargetModel: 'c.tar.gz' }); // 3 × 400 KiB > 1 MiB: b goes
    expect(loaded()).toEqual(['a.tar.gz', 'c.tar.gz']);
    await invoke('many', { TargetModel: 'b.tar.gz' }); // back again; a goes
    expect(loaded()).toEqual(['c.tar.gz', 'b.tar.gz']);
    const root = server.apiary.hosting.serving.fleet('many')!.find('AllTraffic')!.modelDir!;
    expect(fs.readdirSync(root)).toHaveLength(2);
  });

  it("answers SageMaker's errors for a missing TargetModel header and a missing model", async () => {
    const none = await invoke('many').catch((e) => e);
    expect(none).toMatchObject({ name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
    expect(none.message).toMatch(/^Request \S+ is missing a target model header/);
    const missing = await invoke('many', { TargetModel: 'nope.tar.gz' }).catch((e) => e);
    expect(missing).toMatchObject({ name: 'ValidationError' });
    expect(missing.message).toBe(
      'Failed to download model data(bucket: models, key: mme/nope.tar.gz). Please ensure that there is an object located at the URL and that the role passed to CreateModel has permissions to download the model.',
    );
  });

  it('refuses a hostile tarball for that model only', async () => {
    const evil = await invoke('many', { TargetModel: 'evil.tar.gz' }).catch((e) => e);
    expect(evil).toMatchObject({ name: 'ValidationError' });
    expect(evil.message).toContain("'..'");
    // Bigger than the whole budget: extraction stops at the budget, nothing is unloaded for it.
    const before = loaded();
    const huge = await invoke('many', { TargetModel: 'huge.tar.gz' }).catch((e) => e);
    expect(huge).toMatchObject({ name: 'ValidationError' });
    expect(huge.message).toContain(
      'model.tar.gz extracts to more than 1048576 bytes, the multi-model budget',
    );
    expect(loaded()).toEqual(before);
    const escape = await invoke('many', { TargetModel: '../oracle.tar.gz' }).catch((e) => e);
    expect(escape.message).toContain('not a valid model name');
    expect((await invoke('many', { TargetModel: 'c.tar.gz' })).InvokedProductionVariant).toBe(
      'AllTraffic',
    );
  });

  it('refuses TargetModel on a single-model endpoint with SageMaker message', async () => {
    await endpoint('single', {
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          ModelName: 'oracle',
          InitialInstanceCount: 1,
          InstanceType: 'ml.m5.large',
        },
      ],
    });
    const err = await invoke('single', { TargetModel: 'a.tar.gz' }).catch((e) => e);
    expect(err.message).toBe(
      'Endpoint single is not a multi-model endpoint and does not support target model header.',
    );
  });
});

describe('serverless endpoints', () => {
  it('accepts only MemorySizeInMB in steps of 1024', async () => {
    const err = await sm
      .send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: 'odd',
          ProductionVariants: [
            {
              VariantName: 'v',
              ModelName: 'oracle',
              ServerlessConfig: { MemorySizeInMB: 1111, MaxConcurrency: 2 },
            },
          ],
        }),
      )
      .catch((e) => e);
    expect(err).toMatchObject({ name: 'ValidationException' });
    expect(err.message).toContain(
      'MemorySizeInMB must be one of 1024, 2048, 3072, 4096, 5120 or 6144',
    );
  });

  it('scales to zero when idle and answers the next request after a cold start', async () => {
    const d = await endpoint('sls', {
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          ModelName: 'oracle',
          ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 2 },
        },
      ],
    });
    expect(d.EndpointStatus).toBe('InService');
    expect(d.ProductionVariants![0]!.CurrentServerlessConfig).toEqual({
      MemorySizeInMB: 2048,
      MaxConcurrency: 2,
    });
    expect((await invoke('sls')).InvokedProductionVariant).toBe('AllTraffic');
    const v = variantServer<ServerlessVariant>('sls', 'AllTraffic');
    await v.coolDown(); // what the idle timer (APIARY_SERVERLESS_IDLE_SECONDS) does
    expect(v.usage()).toMatchObject({ instances: [], serverless: { warm: false, coldStarts: 0 } });
    const [a, b] = await Promise.all([invoke('sls'), invoke('sls')]);
    expect([a.InvokedProductionVariant, b.InvokedProductionVariant]).toEqual([
      'AllTraffic',
      'AllTraffic',
    ]);
    expect(v.usage()).toMatchObject({ serverless: { warm: true, coldStarts: 1 } });
    expect(v.usage().instances).toHaveLength(1);
  });
});

describe('shadow variants', () => {
  it('copies traffic to the shadow, discards its answers and compares it with production', async () => {
    const d = await endpoint('shadowed', {
      ProductionVariants: [
        {
          VariantName: 'Prod',
          ModelName: 'oracle',
          InitialInstanceCount: 1,
          InstanceType: 'ml.m5.large',
        },
      ],
      ShadowProductionVariants: [
        {
          VariantName: 'Shadow',
          ModelName: 'oracle',
          InitialInstanceCount: 1,
          InstanceType: 'ml.m5.large',
        },
      ],
    });
    expect(d.ProductionVariants!.map((v) => v.VariantName)).toEqual(['Prod']);
    expect(d.ShadowProductionVariants!.map((v) => v.VariantName)).toEqual(['Shadow']);
    for (let i = 0; i < 5; i++)
      expect((await invoke('shadowed')).InvokedProductionVariant).toBe('Prod');
    const direct = await invoke('shadowed', { TargetVariant: 'Shadow' }).catch((e) => e);
    expect(direct.name).toBe('ValidationError');
    let cmp = server.apiary.hosting.shadowComparison('shadowed');
    const settled = () => cmp[0] !== undefined && cmp[0].compared + cmp[0].shadowErrors === 5;
    for (let i = 0; i < 400 && !settled(); i++) {
      await new Promise((r) => setTimeout(r, 25));
      cmp = server.apiary.hosting.shadowComparison('shadowed');
    }
    expect(cmp).toHaveLength(1);
    expect(cmp[0]).toMatchObject({
      shadowVariant: 'Shadow',
      productionVariant: 'Prod',
      requests: 5,
      compared: 5,
      identical: 5,
      boxAgreement: 1,
      shadowErrors: 0,
    });
    // Metrics are kept apart: the shadow's invocations are its own variant's.
    const m = await server.apiary.hosting.endpointMetrics('shadowed');
    expect(m.Prod!.invocations).toBe(5);
    expect(m.Shadow!.invocations).toBe(5);
    expect(m.Shadow!.shadow).toMatchObject({ requests: 5 });
  });
});

describe('data capture', () => {
  it('writes SageMaker JSON lines under {dest}/{endpoint}/{variant}/yyyy/mm/dd/hh/, read back with boto3', async () => {
    const d = await endpoint('captured', {
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          ModelName: 'oracle',
          InitialInstanceCount: 1,
          InstanceType: 'ml.m5.large',
        },
      ],
      DataCaptureConfig: {
        EnableCapture: true,
        InitialSamplingPercentage: 100,
        DestinationS3Uri: 's3://models/capture',
        CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
        CaptureContentTypeHeader: { JsonContentTypes: ['application/json'] },
      },
    });
    expect(d.DataCaptureConfig).toMatchObject({
      EnableCapture: true,
      CaptureStatus: 'Started',
      CurrentSamplingPercentage: 100,
      DestinationS3Uri: 's3://models/capture',
    });
    for (let i = 0; i < 3; i++) await invoke('captured', { InferenceId: `req-${i}` });
    // Capture happens after the answer; let the last records land, then write (as a clean shutdown does).
    for (let i = 0; i < 100 && server.apiary.hosting.capture.stats().captured < 3; i++)
      await new Promise((r) => setTimeout(r, 10));
    await server.apiary.hosting.capture.flush();
    const script = `
import boto3, json
s3 = boto3.client('s3')
keys = [o['Key'] for o in s3.list_objects_v2(Bucket='models', Prefix='capture/')['Contents']]
lines = []
for k in keys:
    lines += s3.get_object(Bucket='models', Key=k)['Body'].read().decode().splitlines()
print(json.dumps({'keys': keys, 'events': [json.loads(l) for l in lines]}))
`;
    const { stdout } = await promisify(execFile)('python3', ['-c', script], { env: server.env });
    const { keys, events } = JSON.parse(stdout) as { keys: string[]; events: any[] };
    // One file per write (the 2 s timer may have written the first lines already).
    expect(keys.length).toBeGreaterThanOrEqual(1);
    for (const k of keys) {
      expect(k).toMatch(
        /^capture\/captured\/AllTraffic\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/\d{2}-\d{2}-\d{3}-[0-9a-f-]{36}\.jsonl$/,
      );
    }
    expect(events).toHaveLength(3);
    expect(events.map((e) => String(e.eventMetadata.inferenceId)).sort()).toEqual([
      'req-0',
      'req-1',
      'req-2',
    ]);
    const e = events[0];
    expect(e.eventVersion).toBe('0');
    expect(e.eventMetadata.inferenceTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(e.captureData.endpointInput).toEqual({
      observedContentType: 'image/png',
      mode: 'INPUT',
      data: png.toString('base64'),
      encoding: 'BASE64',
    });
    expect(e.captureData.endpointOutput).toMatchObject({
      observedContentType: 'application/json',
      mode: 'OUTPUT',
      encoding: 'JSON',
    });
    expect(JSON.parse(e.captureData.endpointOutput.data).prediction.length).toBeGreaterThan(0);
  });
});

describe('restart', () => {
  it('writes buffered capture lines at a clean shutdown and brings the endpoints back as they were', async () => {
    await invoke('captured', { InferenceId: 'before-shutdown' });
    // Capture happens just after the answer: let the record land (no flush: the shutdown writes it).
    for (let i = 0; i < 100 && server.apiary.hosting.capture.stats().captured < 4; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(server.apiary.hosting.capture.stats().captured).toBe(4);
    await server.close();
    sm.destroy();
    rt.destroy();
    server = await startHostingServer({
      dataDir,
      endpointCreateWaitMs: 30_000,
      multiModelBudgetMb: 1,
    });
    sm = new SageMakerClient(sdkConfig(server));
    rt = new SageMakerRuntimeClient({ ...sdkConfig(server), maxAttempts: 1 });
    const script = `
import boto3, json
s3 = boto3.client('s3')
ids = []
for o in s3.list_objects_v2(Bucket='models', Prefix='capture/')['Contents']:
    for l in s3.get_object(Bucket='models', Key=o['Key'])['Body'].read().decode().splitlines():
        ids.append(json.loads(l)['eventMetadata']['inferenceId'])
print(json.dumps(sorted(ids)))
`;
    const { stdout } = await promisify(execFile)('python3', ['-c', script], { env: server.env });
    expect(JSON.parse(stdout)).toEqual(['before-shutdown', 'req-0', 'req-1', 'req-2']);
    // Multi-model, serverless and shadow endpoints come back with their kind.
    expect((await invoke('many', { TargetModel: 'a.tar.gz' })).InvokedProductionVariant).toBe(
      'AllTraffic',
    );
    expect((await invoke('sls')).InvokedProductionVariant).toBe('AllTraffic');
    const d = await sm.send(new DescribeEndpointCommand({ EndpointName: 'shadowed' }));
    expect(d.ShadowProductionVariants!.map((v) => v.VariantName)).toEqual(['Shadow']);
    expect(variantServer<ServerlessVariant>('sls', 'AllTraffic').usage().serverless).toMatchObject({
      maxConcurrency: 2,
    });
  });
});
