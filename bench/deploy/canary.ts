/**
 * Deployment benchmark (never a test): what a blue/green CANARY update costs the traffic it runs under.
 *
 *   npx tsx bench/deploy/canary.ts [--rate 50] [--seconds 6] [--rounds 3]
 *
 * One Apiary server in this process (a real HTTP listener), an endpoint of 2 instances of a
 * bring-your-own serving process (test/fixtures/echo-serving.mjs: SageMaker's container contract,
 * a few lines of Node), and an open-loop load at a fixed rate through the AWS SDK (SigV4, no
 * retries: every failure counts). Each round measures
 *   - steady: p50/p99 over `--seconds` with no deployment;
 *   - shifting: the same rate while UpdateEndpoint runs a CANARY (1 instance of 2, i.e. 50 %, bake
 *     `--seconds`/2) and then the rest, from the first traffic shift (the deployment's timeline) to
 *     InService (traffic shifted twice, the old fleet drained and stopped); the window before it,
 *     while the new fleet's processes start beside the old ones, is reported apart;
 * and reports failed requests during the update (target 0) and the added p99 while traffic shifts
 * (target ≤ 10 % over steady state). Writes bench/out/deploy.txt.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  SageMakerClient,
  CreateModelCommand,
  CreateEndpointConfigCommand,
  CreateEndpointCommand,
  DescribeEndpointCommand,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient, InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { sdkConfig, startTestServer } from '../../test/helpers/server.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) || fallback : fallback;
};
const RATE = arg('--rate', 50);
const SECONDS = arg('--seconds', 6);
const ROUNDS = arg('--rounds', 3);
const ECHO = path.join(ROOT, 'test/fixtures/echo-serving.mjs');

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};
const median = (xs: number[]) => quantile(xs, 0.5);

async function main() {
  const server = await startTestServer(
    { endpointCreateWaitMs: 30_000 },
    {
      APIARY_SERVING_IMAGES: JSON.stringify({
        'acme/echo:1': { command: [process.execPath, ECHO] },
      }),
    },
  );
  const sm = new SageMakerClient(sdkConfig(server));
  const rt = new SageMakerRuntimeClient({ ...sdkConfig(server), maxAttempts: 1 });
  try {
    for (const v of ['blue', 'green']) {
      await sm.send(
        new CreateModelCommand({
          ModelName: v,
          PrimaryContainer: { Image: 'acme/echo:1', Environment: { GREETING: v } },
        }),
      );
      await sm.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: v,
          ProductionVariants: [
            {
              VariantName: 'AllTraffic',
              ModelName: v,
              InitialInstanceCount: 2,
              InstanceType: 'ml.m5.large',
            },
          ],
        }),
      );
    }
    await sm.send(new CreateEndpointCommand({ EndpointName: 'bench', EndpointConfigName: 'blue' }));
    const body = Buffer.from('{"instances": [[1, 2, 3]]}');

    /** Open-loop load at RATE/s until `until()` resolves; latencies of answered requests, failures. */
    async function load(until: Promise<unknown>) {
      const latencies: number[] = [];
      const samples: { at: number; ms: number }[] = [];
      const failures: string[] = [];
      const inflight = new Set<Promise<void>>();
      let stop = false;
      void until.then(() => (stop = true));
      const t0 = performance.now();
      for (let i = 0; !stop; i++) {
        const due = t0 + (i * 1000) / RATE;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const start = performance.now();
        const at = Date.now();
        const p = rt
          .send(
            new InvokeEndpointCommand({
              EndpointName: 'bench',
              ContentType: 'application/json',
              Body: body,
            }),
          )
          .then(() => {
            latencies.push(performance.now() - start);
            samples.push({ at, ms: performance.now() - start });
          })
          .catch((e: Error) => void failures.push(`${e.name}: ${e.message}`))
          .finally(() => inflight.delete(p));
        inflight.add(p);
      }
      await Promise.all(inflight);
      return { latencies, failures, samples };
    }

    const rows: {
      steadyP50: number;
      steadyP99: number;
      shiftP50: number;
      shiftP99: number;
      buildP99: number;
      failed: number;
      failedSteady: number;
      sent: number;
      updateSeconds: number;
    }[] = [];
    await load(new Promise((r) => setTimeout(r, 1000))); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      const steady = await load(new Promise((r) => setTimeout(r, SECONDS * 1000)));
      const to = round % 2 === 0 ? 'green' : 'blue';
      const t = performance.now();
      const updated = (async () => {
        await sm.send(
          new UpdateEndpointCommand({
            EndpointName: 'bench',
            EndpointConfigName: to,
            DeploymentConfig: {
              BlueGreenUpdatePolicy: {
                TrafficRoutingConfiguration: {
                  Type: 'CANARY',
                  CanarySize: { Type: 'INSTANCE_COUNT', Value: 1 },
                  WaitIntervalInSeconds: Math.max(1, Math.round(SECONDS / 2)),
                },
                TerminationWaitInSeconds: 0,
              },
            },
          }),
        );
        for (;;) {
          const d = await sm.send(new DescribeEndpointCommand({ EndpointName: 'bench' }));
          if (d.EndpointStatus === 'InService') {
            if (d.EndpointConfigName !== to)
              throw new Error(`the update did not complete: ${d.FailureReason}`);
            return;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const shifting = await load(updated);
      await updated;
      // The traffic timeline says when the new fleet was ready and traffic began to shift.
      const [deployment] = await server.apiary.hosting.deploymentLog.list('bench');
      const shiftFrom = deployment!.timeline[0]!.atMs;
      const during = shifting.samples.filter((x) => x.at >= shiftFrom).map((x) => x.ms);
      const building = shifting.samples.filter((x) => x.at < shiftFrom).map((x) => x.ms);
      rows.push({
        steadyP50: quantile(steady.latencies, 0.5),
        steadyP99: quantile(steady.latencies, 0.99),
        shiftP50: quantile(during, 0.5),
        shiftP99: quantile(during, 0.99),
        buildP99: quantile(building, 0.99),
        failed: shifting.failures.length,
        failedSteady: steady.failures.length,
        sent: shifting.latencies.length + shifting.failures.length,
        updateSeconds: (performance.now() - t) / 1000,
      });
      console.error(`round ${round + 1}: ${JSON.stringify(rows.at(-1))}`);
      for (const f of new Set([...steady.failures, ...shifting.failures]))
        console.error(`  failure: ${f}`);
    }
    const steadyP99 = median(rows.map((r) => r.steadyP99));
    const shiftP99 = median(rows.map((r) => r.shiftP99));
    const failed = rows.reduce((n, r) => n + r.failed, 0);
    const lines = [
      `bench/deploy: CANARY update (1 of 2 instances, then the rest) under ${RATE} req/s open-loop, ${ROUNDS} rounds, median of rounds`,
      `serving: bring-your-own echo process (test/fixtures/echo-serving.mjs), AWS SDK v3, no retries, ${new Date().toISOString()}`,
      '',
      '| measure | value | target |',
      '|---|---|---|',
      `| failed requests during updates (all rounds) | ${failed} of ${rows.reduce((n, r) => n + r.sent, 0)} | 0 |`,
      `| failed requests in steady state (all rounds, for comparison) | ${rows.reduce((n, r) => n + r.failedSteady, 0)} | |`,
      `| p50 steady / shifting | ${median(rows.map((r) => r.steadyP50)).toFixed(1)} ms / ${median(rows.map((r) => r.shiftP50)).toFixed(1)} ms | |`,
      `| p99 steady / shifting | ${steadyP99.toFixed(1)} ms / ${shiftP99.toFixed(1)} ms | |`,
      `| added p99 while shifting | ${(((shiftP99 - steadyP99) / steadyP99) * 100).toFixed(1)} % | ≤ 10 % |`,
      `| p99 while the new fleet starts (before any shift) | ${median(rows.map((r) => r.buildP99)).toFixed(1)} ms | |`,
      `| update call → InService | ${median(rows.map((r) => r.updateSeconds)).toFixed(1)} s (bake ${Math.max(1, Math.round(SECONDS / 2))} s × 2) | |`,
    ];
    console.log(lines.join('\n'));
    fs.mkdirSync(path.join(ROOT, 'bench/out'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'bench/out/deploy.txt'), lines.join('\n') + '\n');
  } finally {
    sm.destroy();
    rt.destroy();
    await server.close();
  }
}

await main();
