import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SageMakerClient,
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  ListEndpointConfigsCommand,
  ListEndpointsCommand,
  ListModelsCommand,
} from '@aws-sdk/client-sagemaker';
import { startTestServer, sdkConfig, type TestServer } from './helpers/server.js';
import { demoCleanupCommands } from '../src/cli/demo-recipe.js';

const ROOT = path.resolve(import.meta.dirname, '..');
let server: TestServer;
let out: string;

beforeAll(async () => {
  server = await startTestServer();
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-demo-'));
});
afterAll(async () => {
  await server?.close();
  if (out) fs.rmSync(out, { recursive: true, force: true });
});

describe('apiary demo bees (the journey with the AWS SDK for JavaScript v3)', () => {
  it('generates, uploads, splits, trains, deploys, invokes, draws boxes and cleans up', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        path.join(ROOT, 'bin', 'apiary'),
        'demo',
        'bees',
        '--endpoint-url',
        server.url,
        '--out',
        out,
        '--images',
        '20',
        '--epochs',
        '1',
        '--image-shape',
        '64',
        '--cleanup',
      ],
      { env: { ...server.env, APIARY_FROM_SOURCE: '1' }, timeout: 400_000 },
    );
    expect(stdout).toContain(`Using the Apiary running at ${server.url}`);
    expect(stdout).toMatch(/Split 20 labelled images: 16 train, 4 validation/);
    expect(stdout).toMatch(/Training job bees-demo-\d+ created \(mobilenet-v3, 1 epochs, 64px\)/);
    expect(stdout).toMatch(/validation mAP@0\.5 = \d\.\d{3}/);
    expect(stdout).toMatch(/Endpoint bees-demo-\d+ is InService/);
    expect(stdout).toMatch(
      /Score threshold \d\.\d\d: (on the 4 validation images the best F1 is|the endpoint detected nothing)/,
    );
    expect(stdout).toMatch(/Annotated 10 test images \(\d+ boxes with score ≥ \d\.\d\d\)/);
    expect(stdout).toContain('Cleaned up');
    const pngs = fs.readdirSync(path.join(out, 'annotated')).filter((f) => f.endsWith('.png'));
    expect(pngs).toHaveLength(10);
    const meta = await sharp(path.join(out, 'annotated', pngs[0]!)).metadata();
    expect(meta.format).toBe('png');
    const sm = new SageMakerClient(sdkConfig(server));
    expect((await sm.send(new ListEndpointsCommand({}))).Endpoints).toEqual([]);
    expect((await sm.send(new ListModelsCommand({}))).Models).toEqual([]);
    sm.destroy();
  }, 420_000);

  it('refuses an unknown demo and a bad flag with a clear message', async () => {
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, [path.join(ROOT, 'bin', 'apiary'), ...args], {
        env: { ...server.env, APIARY_FROM_SOURCE: '1' },
      }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
      );
    const wasps = await run(['demo', 'wasps']);
    expect(wasps.code).not.toBe(0);
    expect(wasps.stderr).toContain("unknown demo 'wasps'; available: bees");
    const bad = await run(['demo', 'bees', '--epochs', 'lots', '--endpoint-url', server.url]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--epochs 'lots': expected a positive integer");
    const badThreshold = await run([
      'demo',
      'bees',
      '--threshold',
      '1.5',
      '--endpoint-url',
      server.url,
    ]);
    expect(badThreshold.code).not.toBe(0);
    expect(badThreshold.stderr).toContain("--threshold '1.5': expected a number between 0 and 1");
  }, 60_000);

  it('prints aws CLI commands that delete everything it left serving (endpoint, config, model)', async () => {
    const name = 'bees-demo-20260101000000';
    const sm = new SageMakerClient(sdkConfig(server));
    const image = '811284229777.dkr.ecr.us-east-1.amazonaws.com/object-detection:1';
    await sm.send(
      new CreateModelCommand({
        ModelName: name,
        ExecutionRoleArn: 'arn:aws:iam::000000000000:role/demo',
        PrimaryContainer: { Image: image, ModelDataUrl: 's3://no-such-bucket/model.tar.gz' },
      }),
    );
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: name,
        ProductionVariants: [
          {
            VariantName: 'AllTraffic',
            ModelName: name,
            InitialInstanceCount: 1,
            InstanceType: 'ml.m4.xlarge',
          },
        ],
      }),
    );
    await sm.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: name }));
    for (const [cmd, ...args] of demoCleanupCommands(name, server.url))
      await promisify(execFile)(cmd!, args, { env: server.env });
    expect((await sm.send(new ListEndpointsCommand({}))).Endpoints).toEqual([]);
    expect((await sm.send(new ListEndpointConfigsCommand({}))).EndpointConfigs).toEqual([]);
    expect((await sm.send(new ListModelsCommand({}))).Models).toEqual([]);
    sm.destroy();
  }, 60_000);
});
