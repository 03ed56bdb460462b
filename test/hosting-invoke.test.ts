import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import {
  SageMakerClient,
  CreateModelCommand,
  CreateEndpointConfigCommand,
  CreateEndpointCommand,
  DescribeEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient, InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { sdkConfig, type TestServer } from './helpers/server.js';
import { signedFetch } from './helpers/signed-fetch.js';
import { BUILTIN_IMAGE, hostingFixtures, startHostingServer, uploadFixtures } from './fixtures/hosting.js';
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

async function deploy(name: string, variants: { name: string; url: string; weight?: number; count?: number }[]) {
  for (const v of variants) {
    await sm.send(new CreateModelCommand({ ModelName: `${name}-${v.name}`, PrimaryContainer: { Image: BUILTIN_IMAGE, ModelDataUrl: v.url } }));
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
  await sm.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: `${name}-config` }));
  return sm.send(new DescribeEndpointCommand({ EndpointName: name }));
}

const invoke = (endpoint: string, body: Buffer, extra: Partial<ConstructorParameters<typeof InvokeEndpointCommand>[0]> = {}) =>
  rt.send(new InvokeEndpointCommand({ EndpointName: endpoint, ContentType: 'image/png', Body: body, ...extra }));

const predictions = (body: Uint8Array) => (JSON.parse(Buffer.from(body).toString('utf8')) as { prediction: number[][] }).prediction;

beforeAll(async () => {
  const dir = await hostingFixtures();
  server = await startHostingServer({ servingBodyTimeoutMs: 1500, servingQueuePerInstance: 4 }, { random: seededRandom(7) });
  sm = new SageMakerClient(sdkConfig(server));
  rt = new SageMakerRuntimeClient({ ...sdkConfig(server), maxAttempts: 1 });
  urls = await uploadFixtures(server, dir, ['oracle.tar.gz', 'nan.tar.gz', 'traversal.tar.gz', 'symlink.tar.gz', 'hardlink.tar.gz', 'absolute.tar.gz']);
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
});
