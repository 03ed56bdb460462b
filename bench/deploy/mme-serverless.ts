/**
 * Multi-model and serverless benchmark (never a test), on the built-in detector (apiary_od's
 * SSDlite export, test/fixtures/make-hosting-models.py):
 *
 *   npx tsx bench/deploy/mme-serverless.ts [--seconds 10] [--concurrency 4]
 *
 * - multi-model: 20 copies of detector.tar.gz under one prefix, a budget that holds 5 of them
 *   (APIARY_MULTI_MODEL_BUDGET_MB); requests/s when each request picks one of the 20 at random
 *   (most requests load a model), and when they stay within 5 (all warm); cold-load time = the
 *   first request to a model that is not loaded (download + extract + ORT session).
 * - serverless: a ServerlessConfig endpoint scaled to zero, time of the first request (cold start)
 *   vs a warm one. Target ≤ 2 s.
 * The server runs in this process (test/fixtures/hosting.ts), requests go through the AWS SDK.
 * Prints a table; writes bench/out/mme-serverless.txt.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import {
  SageMakerClient,
  CreateModelCommand,
  CreateEndpointConfigCommand,
  CreateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient, InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  BUILTIN_IMAGE,
  hostingFixtures,
  startHostingServer,
  uploadFixtures,
} from '../../test/fixtures/hosting.js';
import { sdkConfig } from '../../test/helpers/server.js';
import { extractModelArchive } from '../../src/hosting/runtime/artifact.js';
import type { ServerlessVariant } from '../../src/hosting/runtime/serverless.js';
import type { MultiModelVariant } from '../../src/hosting/runtime/multi-model.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) || fallback : fallback;
};
const SECONDS = arg('--seconds', 10);
const CONCURRENCY = arg('--concurrency', 4);
const MODELS = 20;
const HOLD = 5;
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function main() {
  const fixtures = await hostingFixtures();
  // The budget is counted in extracted bytes: measure one model.
  const probe = path.join(fs.mkdtempSync('/tmp/apiary-bench-'), 'm');
  await extractModelArchive(fs.createReadStream(path.join(fixtures, 'detector.tar.gz')), probe);
  const modelBytes = fs
    .readdirSync(probe)
    .reduce((n, f) => n + fs.statSync(path.join(probe, f)).size, 0);
  const budgetMb = Math.ceil((modelBytes * (HOLD + 0.5)) / (1024 * 1024));
  const server = await startHostingServer({
    endpointCreateWaitMs: 60_000,
    multiModelBudgetMb: budgetMb,
    serverlessIdleSeconds: 3600,
  });
  const sm = new SageMakerClient(sdkConfig(server));
  const rt = new SageMakerRuntimeClient({ ...sdkConfig(server), maxAttempts: 1 });
  const s3 = new S3Client(sdkConfig(server));
  const lines: string[] = [];
  const out = (s: string) => {
    console.log(s);
    lines.push(s);
  };
  try {
    const urls = await uploadFixtures(server, fixtures, ['detector.tar.gz']);
    const body = fs.readFileSync(path.join(fixtures, 'detector.tar.gz'));
    for (let i = 0; i < MODELS; i++)
      await s3.send(
        new PutObjectCommand({ Bucket: 'models', Key: `mme/m${i}.tar.gz`, Body: body }),
      );
    const png = await sharp({
      create: { width: 320, height: 240, channels: 3, background: { r: 90, g: 120, b: 60 } },
    })
      .jpeg()
      .toBuffer();
    const invoke = (EndpointName: string, TargetModel?: string) =>
      rt.send(
        new InvokeEndpointCommand({
          EndpointName,
          ContentType: 'image/jpeg',
          Body: png,
          TargetModel,
        }),
      );

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
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'many',
        ProductionVariants: [
          {
            VariantName: 'AllTraffic',
            ModelName: 'many',
            InitialInstanceCount: 1,
            InstanceType: 'ml.m5.large',
          },
        ],
      }),
    );
    await sm.send(new CreateEndpointCommand({ EndpointName: 'many', EndpointConfigName: 'many' }));
    const mme = server.apiary.hosting.serving.fleet('many')!.find('AllTraffic')!
      .server as unknown as MultiModelVariant;

    // Cold loads: the first request to each of 5 models, one at a time.
    const cold: number[] = [];
    for (let i = 0; i < HOLD; i++) {
      const t0 = performance.now();
      await invoke('many', `m${i}.tar.gz`);
      cold.push(performance.now() - t0);
    }
    const warm: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await invoke('many', `m${i % HOLD}.tar.gz`);
      warm.push(performance.now() - t0);
    }
    const run = async (pick: () => string) => {
      let n = 0;
      let errors = 0;
      const end = performance.now() + SECONDS * 1000;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (performance.now() < end) {
            try {
              await invoke('many', pick());
              n += 1;
            } catch {
              errors += 1;
            }
          }
        }),
      );
      return { rps: n / ((performance.now() - t0) / 1000), errors };
    };
    const hot = await run(() => `m${Math.floor(Math.random() * HOLD)}.tar.gz`);
    const spread = await run(() => `m${Math.floor(Math.random() * MODELS)}.tar.gz`);
    out(
      `model: detector.tar.gz, ${(modelBytes / 1048576).toFixed(1)} MiB extracted; budget ${budgetMb} MiB (holds ${HOLD}); concurrency ${CONCURRENCY}, ${SECONDS} s per run`,
    );
    out(`| multi-model | value |`);
    out(`|---|---|`);
    out(
      `| cold load (first request to a model), median of ${HOLD} | ${pct(cold, 50).toFixed(0)} ms (max ${Math.max(...cold).toFixed(0)} ms) |`,
    );
    out(`| warm request, median | ${pct(warm, 50).toFixed(0)} ms |`);
    out(
      `| requests/s, ${HOLD} models (all loaded) | ${hot.rps.toFixed(1)} (errors ${hot.errors}) |`,
    );
    out(
      `| requests/s, ${MODELS} models uniformly, budget holds ${HOLD} | ${spread.rps.toFixed(1)} (errors ${spread.errors}) |`,
    );
    out(`| models loaded at the end | ${mme.models().length} |`);

    await sm.send(
      new CreateModelCommand({
        ModelName: 'det',
        PrimaryContainer: { Image: BUILTIN_IMAGE, ModelDataUrl: urls['detector.tar.gz'] },
      }),
    );
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'sls',
        ProductionVariants: [
          {
            VariantName: 'AllTraffic',
            ModelName: 'det',
            ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 8 },
          },
        ],
      }),
    );
    await sm.send(new CreateEndpointCommand({ EndpointName: 'sls', EndpointConfigName: 'sls' }));
    const sls = server.apiary.hosting.serving.fleet('sls')!.find('AllTraffic')!
      .server as unknown as ServerlessVariant;
    const colds: number[] = [];
    const warms: number[] = [];
    for (let i = 0; i < 5; i++) {
      await sls.coolDown();
      let t0 = performance.now();
      await invoke('sls');
      colds.push(performance.now() - t0);
      t0 = performance.now();
      await invoke('sls');
      warms.push(performance.now() - t0);
    }
    out('');
    out(`| serverless (built-in detector) | value |`);
    out(`|---|---|`);
    out(
      `| first request after scale-to-zero (cold start + inference), median of 5 | ${pct(colds, 50).toFixed(0)} ms (max ${Math.max(...colds).toFixed(0)} ms; target ≤ 2000 ms) |`,
    );
    out(`| instance start alone (last) | ${sls.usage().serverless?.lastColdStartMs} ms |`);
    out(`| warm request, median | ${pct(warms, 50).toFixed(0)} ms |`);
    fs.mkdirSync(path.join(ROOT, 'bench/out'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'bench/out/mme-serverless.txt'), lines.join('\n') + '\n');
  } finally {
    sm.destroy();
    rt.destroy();
    s3.destroy();
    await server.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
