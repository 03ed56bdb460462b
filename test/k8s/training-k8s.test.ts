import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateTrainingJobCommand,
  DescribeTrainingJobCommand,
  SageMakerClient,
  StopTrainingJobCommand,
  type CreateTrainingJobCommandInput,
} from '@aws-sdk/client-sagemaker';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiary } from '../../src/api/server.js';
import { loadSettings } from '../../src/config/index.js';
import { sdkConfig, startTestServer, type TestServer } from '../helpers/server.js';
import { getObjectBytes, untar, waitForJob } from '../training-helpers.js';
import { endPod, eventually, jobPod, startTestCluster, type TestCluster } from './cluster.js';

/**
 * Training jobs as Kubernetes Jobs (APIARY_EXECUTOR=kubernetes) against a real control plane:
 * kube-apiserver, controller-manager and scheduler built from the Go module proxy, kwok fake nodes.
 * Under kwok nothing runs inside a pod, so the test plays the pod's part through the same signed
 * URLs its steps use (fetch the staged /opt/ml, send /opt/ml/model back) and ends the container
 * with an exit code; everything Apiary does — the Job, the phases, the statuses — is real.
 */
const execFileP = promisify(execFile);
let cluster: TestCluster;
let server: TestServer;
let sm: SageMakerClient;
let s3: S3Client;
const namespace = `apiary-test-${process.pid}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-k8s-'));
// One port across the restart below: pods call Apiary back at a stable address (in a cluster, its
// Service or APIARY_K8S_CALLBACK_URL).
let port = 0;
const env = () => ({
  APIARY_EXECUTOR: 'kubernetes',
  APIARY_K8S_NAMESPACE: namespace,
  APIARY_K8S_IMAGE: 'apiary:test',
  APIARY_K8S_ALGORITHM_IMAGE: 'apiary-object-detection:test',
  APIARY_K8S_PENDING_TIMEOUT_SECONDS: '3',
  APIARY_MAX_RUNNING_TRAINING_JOBS: '4',
});

beforeAll(async () => {
  cluster = await startTestCluster();
  process.env.KUBECONFIG = cluster.kubeconfig;
  await cluster.core.createNamespace({ body: { metadata: { name: namespace } } });
  server = await startTestServer({ dataDir }, env());
  port = Number(new URL(server.url).port);
  sm = new SageMakerClient(sdkConfig(server));
  s3 = new S3Client(sdkConfig(server));
  await s3.send(new CreateBucketCommand({ Bucket: 'k8s' }));
}, 60 * 60_000);

afterAll(async () => {
  sm?.destroy();
  s3?.destroy();
  await server?.close();
  await cluster?.core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

const job = (
  name: string,
  extra: Partial<CreateTrainingJobCommandInput> = {},
): CreateTrainingJobCommandInput => ({
  TrainingJobName: name,
  RoleArn: 'arn:aws:iam::000000000000:role/SageMakerRole',
  AlgorithmSpecification: {
    TrainingImage: '811284229777.dkr.ecr.us-east-1.amazonaws.com/object-detection:1',
    TrainingInputMode: 'File',
  },
  HyperParameters: { num_classes: '1', epochs: '1' },
  OutputDataConfig: { S3OutputPath: 's3://k8s/output' },
  ResourceConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 10 },
  StoppingCondition: { MaxRuntimeInSeconds: 600 },
  ...extra,
});

/** The Kubernetes Job of a training job, once it exists. */
async function k8sJobOf(name: string) {
  return eventually(
    `the Kubernetes Job of ${name}`,
    async () => {
      const jobs = await cluster.batch.listNamespacedJob({ namespace });
      return jobs.items.find(
        (j) => j.metadata?.annotations?.['apiary.io/training-job-name'] === name,
      );
    },
    120_000,
  );
}

/** Plays the pod: fetch the staged /opt/ml, send back a model, end the container with `code`. */
/**
 * Plays the pod's part as kwok cannot: fetches the staged /opt/ml, then — as the upload sidecar
 * does whatever the exit code — sends /opt/ml/model and /opt/ml/output back (a failure file when
 * `failure` is given; nothing at all when `sendOutputs` is false: a sidecar that died), and ends
 * the training container with `code`.
 */
async function playPod(
  name: string,
  code: number,
  reason?: string,
  opts: { failure?: string; sendOutputs?: boolean } = {},
) {
  const k8sJob = await k8sJobOf(name);
  const pod = await eventually(
    'a running pod',
    async () => {
      const p = await jobPod(cluster, namespace, k8sJob.metadata!.name!);
      return p?.status?.phase === 'Running' ? p : undefined;
    },
    120_000,
  );
  const init = pod.spec!.initContainers!;
  const urlOf = (container: string, variable: string) =>
    init.find((c) => c.name === container)!.env!.find((e) => e.name === variable)!.value!;
  const staged = await fetch(urlOf('stage', 'APIARY_STAGE_URL'));
  expect(staged.status).toBe(200);
  const files = await untar(Buffer.from(await staged.arrayBuffer()));
  if (opts.sendOutputs !== false && reason !== 'OOMKilled') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-k8s-pod-'));
    fs.mkdirSync(path.join(dir, 'model'));
    fs.mkdirSync(path.join(dir, 'output'));
    if (code === 0) fs.writeFileSync(path.join(dir, 'model', 'model.txt'), `trained ${name}`);
    if (opts.failure) fs.writeFileSync(path.join(dir, 'output', 'failure'), opts.failure);
    const body = await streamToBuffer(
      tar.create({ cwd: dir, portable: true }, [
        'model',
        'output',
      ]) as unknown as NodeJS.ReadableStream,
    );
    const sent = await fetch(urlOf('upload', 'APIARY_UPLOAD_URL'), {
      method: 'PUT',
      body: new Uint8Array(body),
    });
    if (sent.status !== 204)
      throw new Error(`the fake pod's upload answered ${sent.status}, not 204`);
  }
  await endPod(cluster, pod, code, reason);
  return { k8sJob, pod, files };
}

async function streamToBuffer(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

describe('training jobs on Kubernetes', () => {
  it('runs CreateTrainingJob as a batch/v1 Job and reports its end exactly as SageMaker does', async () => {
    await sm.send(new CreateTrainingJobCommand(job('k8s-ok')));
    const k8sJob = await k8sJobOf('k8s-ok');
    const pod = k8sJob.spec!.template.spec!;
    expect(pod.containers[0]).toMatchObject({
      name: 'algo',
      image: 'apiary-object-detection:test',
      args: ['train'],
    });
    expect(pod.containers[0]!.resources!.requests).toEqual({ cpu: '4', memory: '16Gi' });
    expect(k8sJob.spec!.activeDeadlineSeconds).toBe(600 + 120);
    await waitForJob(sm, 'k8s-ok', (d) => d.SecondaryStatus === 'Training', 30_000);
    const { files } = await playPod('k8s-ok', 0);
    expect(JSON.parse(files['input/config/hyperparameters.json']!)).toMatchObject({
      num_classes: '1',
      epochs: '1',
    });
    const d = await waitForJob(sm, 'k8s-ok', undefined, 60_000);
    expect(d.FailureReason).toBeUndefined();
    expect(d.TrainingJobStatus).toBe('Completed');
    expect(d.SecondaryStatusTransitions!.map((t) => t.Status)).toEqual([
      'Starting',
      'Downloading',
      'Training',
      'Uploading',
      'Completed',
    ]);
    const model = await untar(await getObjectBytes(s3, 'k8s', 'output/k8s-ok/output/model.tar.gz'));
    expect(model['model.txt']).toBe('trained k8s-ok');
  });

  it('fails with the failure file, the exit code, or names an out-of-memory kill', async () => {
    await sm.send(new CreateTrainingJobCommand(job('k8s-exit')));
    await sm.send(new CreateTrainingJobCommand(job('k8s-failfile')));
    await sm.send(new CreateTrainingJobCommand(job('k8s-nosidecar')));
    await sm.send(new CreateTrainingJobCommand(job('k8s-oom')));
    await playPod('k8s-exit', 3);
    await playPod('k8s-failfile', 2, undefined, {
      failure: 'ClientError: num_classes must be > 0',
    });
    // The sidecar never reports: the job still ends, with the exit code, after a short grace.
    await playPod('k8s-nosidecar', 4, undefined, { sendOutputs: false });
    await playPod('k8s-oom', 137, 'OOMKilled');
    const exit = await waitForJob(sm, 'k8s-exit', undefined, 120_000);
    expect(exit.TrainingJobStatus).toBe('Failed');
    expect(exit.FailureReason).toMatch(
      /^AlgorithmError: the training process failed: it exited with code 3/,
    );
    const failfile = await waitForJob(sm, 'k8s-failfile', undefined, 120_000);
    expect(failfile.TrainingJobStatus).toBe('Failed');
    expect(failfile.FailureReason).toBe('ClientError: num_classes must be > 0');
    const nosidecar = await waitForJob(sm, 'k8s-nosidecar', undefined, 120_000);
    expect(nosidecar.TrainingJobStatus).toBe('Failed');
    expect(nosidecar.FailureReason).toMatch(/it exited with code 4/);
    const oom = await waitForJob(sm, 'k8s-oom', undefined, 120_000);
    expect(oom.TrainingJobStatus).toBe('Failed');
    expect(oom.FailureReason).toMatch(/ran out of memory \(OOMKilled.*16Gi/);
  }, 300_000);

  it('stops a job by deleting its Kubernetes Job', async () => {
    await sm.send(new CreateTrainingJobCommand(job('k8s-stop')));
    const k8sJob = await k8sJobOf('k8s-stop');
    await waitForJob(sm, 'k8s-stop', (d) => d.SecondaryStatus === 'Training', 30_000);
    await sm.send(new StopTrainingJobCommand({ TrainingJobName: 'k8s-stop' }));
    const d = await waitForJob(sm, 'k8s-stop', undefined, 60_000);
    expect(d.TrainingJobStatus).toBe('Stopped');
    await eventually('the Job deleted', async () => {
      const jobs = await cluster.batch.listNamespacedJob({ namespace });
      return jobs.items.some((j) => j.metadata?.name === k8sJob.metadata!.name) ? undefined : true;
    });
  });

  it('fails a job whose image cannot be pulled, or whose instance type no node can hold', async () => {
    await sm.send(
      new CreateTrainingJobCommand(
        job('k8s-pull', {
          AlgorithmSpecification: {
            TrainingImage: 'registry.invalid/missing:1',
            TrainingInputMode: 'File',
          },
        }),
      ),
    );
    await sm.send(
      new CreateTrainingJobCommand(
        job('k8s-big', {
          ResourceConfig: { InstanceType: 'ml.p4d.24xlarge', InstanceCount: 1, VolumeSizeInGB: 10 },
        }),
      ),
    );
    const pull = await waitForJob(sm, 'k8s-pull', undefined, 60_000);
    expect(pull.TrainingJobStatus).toBe('Failed');
    expect(pull.FailureReason).toMatch(
      /^ClientError: the training image could not be pulled for 3 s \(ImagePullBackOff/,
    );
    const big = await waitForJob(sm, 'k8s-big', undefined, 60_000);
    expect(big.TrainingJobStatus).toBe('Failed');
    expect(big.FailureReason).toMatch(
      /^ClientError: the training pod could not be scheduled for 3 s \(Unschedulable/,
    );
  });

  it('refuses Pipe mode and instance types it cannot size, at create', async () => {
    const pipe = await sm
      .send(
        new CreateTrainingJobCommand(
          job('k8s-pipe', {
            AlgorithmSpecification: {
              TrainingImage: 'object-detection',
              TrainingInputMode: 'Pipe',
            },
          }),
        ),
      )
      .catch((e: Error) => e);
    expect((pipe as Error).name).toBe('ValidationException');
    expect((pipe as Error).message).toMatch(
      /Pipe' is not supported by this Apiary's executor \(Kubernetes Jobs/,
    );
    const odd = await sm
      .send(
        new CreateTrainingJobCommand(
          job('k8s-odd', {
            ResourceConfig: { InstanceType: 'ml.c5n.xlarge', InstanceCount: 1, VolumeSizeInGB: 10 },
          }),
        ),
      )
      .catch((e: Error) => e);
    expect((odd as Error).message).toMatch(
      /ml.c5n.xlarge' has no entry in the Kubernetes instance table/,
    );
  });

  it('re-attaches to a running Job after Apiary restarts, and runs several instances as an Indexed Job', async () => {
    await sm.send(
      new CreateTrainingJobCommand(
        job('k8s-restart', {
          ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 2, VolumeSizeInGB: 10 },
        }),
      ),
    );
    const k8sJob = await k8sJobOf('k8s-restart');
    expect(k8sJob.spec).toMatchObject({
      completionMode: 'Indexed',
      completions: 2,
      parallelism: 2,
    });
    await cluster.core.readNamespacedService({ name: k8sJob.metadata!.name!, namespace });
    await waitForJob(sm, 'k8s-restart', (d) => d.SecondaryStatus === 'Training', 30_000);
    await server.close();
    server = await startTestServer({ dataDir, port }, env());
    sm.destroy();
    s3.destroy();
    sm = new SageMakerClient(sdkConfig(server));
    s3 = new S3Client(sdkConfig(server));
    expect(
      (await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'k8s-restart' })))
        .SecondaryStatus,
    ).toBe('Training');
    const pods = await cluster.core.listNamespacedPod({
      namespace,
      labelSelector: `apiary.io/training-job=${k8sJob.metadata!.name}`,
    });
    expect(pods.items).toHaveLength(2);
    await playPod('k8s-restart', 0);
    for (const p of pods.items.slice(1)) await endPod(cluster, p, 0);
    const d = await waitForJob(sm, 'k8s-restart', undefined, 60_000);
    expect(d.FailureReason).toBeUndefined();
    expect(d.TrainingJobStatus).toBe('Completed');
  });

  it('says at start when RBAC forbids creating Jobs', async () => {
    const settings = loadSettings(
      { APIARY_LOG_LEVEL: 'silent', ...env() },
      {
        port: 0,
        host: '127.0.0.1',
        dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-k8s-rbac-')),
      },
    );
    process.env.KUBECONFIG = cluster.forbiddenKubeconfig;
    try {
      const apiary = await createApiary(settings);
      await expect(apiary.listen()).rejects.toThrow(
        /may not create batch\/jobs.*in namespace apiary-test-\d+; grant them with a Role and RoleBinding/,
      );
      await apiary.close();
    } finally {
      process.env.KUBECONFIG = cluster.kubeconfig;
    }
  });

  it('validates against the cluster with kubectl', async () => {
    const { stdout } = await execFileP('kubectl', [
      '--kubeconfig',
      cluster.kubeconfig,
      'get',
      'jobs',
      '-n',
      namespace,
      '-o',
      'name',
    ]);
    expect(stdout).toContain('job.batch/sm-k8s-');
  });
});
