import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_INSTANCE_TYPES, loadInstanceTypes, resourcesFor } from './instance-types.js';
import { kubernetesName, trainingJob, type JobSpecInput } from './job-spec.js';

const input = (over: Partial<JobSpecInput> = {}): JobSpecInput => ({
  jobName: 'Bees-OD-20261204',
  attempt: 1,
  namespace: 'ml',
  serviceAccount: 'apiary-jobs',
  apiaryImage: 'apiary:1',
  image: 'apiary-object-detection:1',
  imagePullPolicy: 'IfNotPresent',
  env: { SM_MODEL_DIR: '/opt/ml/model', TRAINING_JOB_NAME: 'Bees-OD-20261204' },
  resources: resourcesFor(DEFAULT_INSTANCE_TYPES, 'ml.p3.2xlarge')!,
  instanceCount: 1,
  maxRuntimeSeconds: 3600,
  stopGraceSeconds: 120,
  stageUrl: 'http://apiary:8800/_apiary/k8s/stage/t1',
  uploadUrl: 'http://apiary:8800/_apiary/k8s/upload/t2',
  ...over,
});

describe('Kubernetes training job spec', () => {
  it('names jobs in lower case, unique per attempt and within Kubernetes limits', () => {
    const a = kubernetesName('Bees-OD-20261204', 1);
    expect(a).toMatch(/^sm-bees-od-20261204-[0-9a-f]{6}$/);
    expect(kubernetesName('Bees-OD-20261204', 2)).not.toBe(a);
    expect(kubernetesName('x'.repeat(63), 1).length).toBeLessThanOrEqual(52);
  });

  it('runs the image with `train`, stages /opt/ml first, uploads it by a sidecar, sized by the instance type', () => {
    const { job, service } = trainingJob(input());
    expect(service).toBeUndefined();
    const pod = job.spec!.template.spec!;
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 3720 });
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.serviceAccountName).toBe('apiary-jobs');
    expect(pod.terminationGracePeriodSeconds).toBe(120);
    expect(pod.initContainers!.map((c) => [c.name, c.args, c.restartPolicy])).toEqual([
      ['stage', ['k8s-stage', 'fetch'], undefined],
      ['upload', ['k8s-stage', 'upload-on-exit'], 'Always'],
    ]);
    const algo = pod.containers[0]!;
    expect(algo).toMatchObject({
      name: 'algo',
      image: 'apiary-object-detection:1',
      args: ['train'],
    });
    expect(algo.resources).toEqual({
      requests: { cpu: '8', memory: '61Gi', 'nvidia.com/gpu': '1' },
      limits: { memory: '61Gi', 'nvidia.com/gpu': '1' },
    });
    expect(algo.env).toEqual(
      expect.arrayContaining([
        { name: 'SM_NUM_GPUS', value: '1' },
        { name: 'SM_MODEL_DIR', value: '/opt/ml/model' },
      ]),
    );
    expect(job.metadata!.annotations!['apiary.io/training-job-name']).toBe('Bees-OD-20261204');
  });

  it('runs several instances as an Indexed Job with stable host names under a headless Service', () => {
    const { job, service } = trainingJob(
      input({ instanceCount: 3, resources: { cpu: '2', memory: '8Gi' } }),
    );
    const name = job.metadata!.name!;
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 3, parallelism: 3 });
    expect(job.spec!.template.spec!.subdomain).toBe(name);
    expect(service!.spec).toMatchObject({ clusterIP: 'None' });
    const env = job.spec!.template.spec!.containers[0]!.env!;
    expect(env).toContainEqual({
      name: 'SM_HOSTS',
      value: JSON.stringify([`${name}-0`, `${name}-1`, `${name}-2`]),
    });
    expect(env).toContainEqual({
      name: 'SM_CURRENT_HOST',
      value: `${name}-$(JOB_COMPLETION_INDEX)`,
    });
    expect(job.spec!.template.spec!.containers[0]!.resources!.requests).toEqual({
      cpu: '2',
      memory: '8Gi',
    });
  });
});

describe('instance types', () => {
  it('maps GPU families to nvidia.com/gpu and takes extra entries from a file', () => {
    expect(resourcesFor(DEFAULT_INSTANCE_TYPES, 'ml.m5.xlarge')).toEqual({
      cpu: '4',
      memory: '16Gi',
    });
    expect(resourcesFor(DEFAULT_INSTANCE_TYPES, 'ml.g5.xlarge')).toMatchObject({ gpu: 1 });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-types-')), 'types.json');
    fs.writeFileSync(file, JSON.stringify({ 'ml.trn1.2xlarge': { cpu: '8', memory: '32Gi' } }));
    expect(resourcesFor(loadInstanceTypes(file), 'ml.trn1.2xlarge')).toEqual({
      cpu: '8',
      memory: '32Gi',
    });
    fs.writeFileSync(file, JSON.stringify({ bad: { cpu: 2 } }));
    expect(() => loadInstanceTypes(file)).toThrow(/entry 'bad'.*needs "cpu" and "memory"/);
  });
});
