/**
 * Kubernetes executor latency against the local control plane (scripts/k8s-cluster.sh up):
 *  1. CreateTrainingJob answered → the batch/v1 Job exists in the API server;
 *  2. a pod phase change (the training container ends) → DescribeTrainingJob shows the job past
 *     Training (Uploading or later).
 * Targets: under a second each. Prints medians over BENCH_JOBS (10) jobs. Not a test.
 *
 *   npx tsx bench/k8s/bench.ts
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateTrainingJobCommand,
  DescribeTrainingJobCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { createApiary } from '../../src/api/server.js';
import { loadSettings } from '../../src/config/index.js';
import { endPod, jobPod, startTestCluster } from '../../test/k8s/cluster.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 10);
const cluster = await startTestCluster();
process.env.KUBECONFIG = cluster.kubeconfig;
const namespace = `apiary-bench-${process.pid}`;
await cluster.core.createNamespace({ body: { metadata: { name: namespace } } });
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-bench-k8s-'));
const apiary = await createApiary(
  loadSettings(
    {
      APIARY_LOG_LEVEL: 'silent',
      APIARY_EXECUTOR: 'kubernetes',
      APIARY_K8S_NAMESPACE: namespace,
      APIARY_MAX_RUNNING_TRAINING_JOBS: String(JOBS),
    },
    { port: 0, host: '127.0.0.1', dataDir },
  ),
);
const url = await apiary.listen();
const cfg = {
  endpoint: url,
  region: 'us-east-1',
  credentials: {
    accessKeyId: apiary.credentials.accessKeyId,
    secretAccessKey: apiary.credentials.secretAccessKey,
  },
  forcePathStyle: true,
};
const sm = new SageMakerClient(cfg);
await new S3Client(cfg).send(new CreateBucketCommand({ Bucket: 'bench' }));

const created: number[] = [];
const observed: number[] = [];
for (let i = 0; i < JOBS; i++) {
  const name = `bench-${i}`;
  await sm.send(
    new CreateTrainingJobCommand({
      TrainingJobName: name,
      RoleArn: 'arn:aws:iam::000000000000:role/SageMakerRole',
      AlgorithmSpecification: { TrainingImage: 'object-detection', TrainingInputMode: 'File' },
      OutputDataConfig: { S3OutputPath: 's3://bench/out' },
      ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
      StoppingCondition: { MaxRuntimeInSeconds: 600 },
    }),
  );
  const t0 = performance.now();
  let k8sName: string | undefined;
  while (!k8sName) {
    const jobs = await cluster.batch.listNamespacedJob({ namespace });
    k8sName = jobs.items.find(
      (j) => j.metadata?.annotations?.['apiary.io/training-job-name'] === name,
    )?.metadata?.name;
  }
  created.push(performance.now() - t0);
  let pod;
  for (;;) {
    pod = await jobPod(cluster, namespace, k8sName);
    const d = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
    if (pod?.status?.phase === 'Running' && d.SecondaryStatus === 'Training') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  // An out-of-memory kill: Kubernetes reports it, no upload step to wait for.
  await endPod(cluster, pod!, 137, 'OOMKilled');
  const t1 = performance.now();
  for (;;) {
    const d = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
    if (d.SecondaryStatus !== 'Training') break;
    await new Promise((r) => setTimeout(r, 10));
  }
  observed.push(performance.now() - t1);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const row = (what: string, xs: number[]) =>
  `| ${what} | ${median(xs).toFixed(0)} ms | ${Math.max(...xs).toFixed(0)} ms | ${median(xs) < 1000 ? '✓' : '✗'} (< 1 s) |`;
console.log(
  [
    '| Step | median | max | target |',
    '|---|---|---|---|',
    row('CreateTrainingJob → Job object created', created),
    row('pod phase change → DescribeTrainingJob shows it', observed),
  ].join('\n'),
);
console.log(`${JOBS} jobs, local control plane with kwok fake nodes, ${os.cpus().length} cores.`);
sm.destroy();
await apiary.close();
await cluster.core.deleteNamespace({ name: namespace }).catch(() => undefined);
process.exit(0);
