import { createHash } from 'node:crypto';
import type { V1Job, V1Service } from '@kubernetes/client-node';
import type { InstanceResources } from './instance-types.js';

/** Where the job's `/opt/ml` lives in its pod (an emptyDir shared by the steps). */
export const ML_ROOT = '/opt/ml';
/** The label every object of a training job carries (its Kubernetes name). */
export const JOB_LABEL = 'apiary.io/training-job';
/** The annotation that keeps the SageMaker name (Kubernetes names are lower case). */
export const NAME_ANNOTATION = 'apiary.io/training-job-name';
/** The training container's name (its log is the job's log). */
export const ALGO_CONTAINER = 'algo';

/**
 * A SageMaker job name (up to 63 characters, upper case allowed) as a Kubernetes name that is
 * unique, lower case and short enough for the pods' names and labels: `sm-<name>-<hash>`.
 */
export function kubernetesName(jobName: string, attempt: number): string {
  const hash = createHash('sha256').update(`${jobName}\0${attempt}`).digest('hex').slice(0, 6);
  const base = jobName
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40)
    .replace(/-+$/, '');
  return `sm-${base}-${hash}`;
}

export interface JobSpecInput {
  readonly jobName: string;
  readonly attempt: number;
  readonly namespace: string;
  readonly serviceAccount: string | undefined;
  /** Apiary's own image: runs the staging and upload steps (`apiary k8s-stage …`). */
  readonly apiaryImage: string;
  /** The training image; it is run as SageMaker runs it: with the argument `train`. */
  readonly image: string;
  readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  readonly env: Readonly<Record<string, string>>;
  readonly resources: InstanceResources;
  readonly instanceCount: number;
  readonly maxRuntimeSeconds: number;
  readonly stopGraceSeconds: number;
  /** Signed URLs of Apiary's staging routes: the staged /opt/ml, and where the outputs go. */
  readonly stageUrl: string;
  readonly uploadUrl: string;
}

/**
 * The batch/v1 Job of one training attempt. Steps, in SageMaker's order:
 * 1. init container `stage` (Apiary's image) fetches the staged `/opt/ml` (config, channels, code)
 *    from Apiary and writes this host's `resourceconfig.json`;
 * 2. a native sidecar `upload` (init container with restartPolicy Always) waits; when the training
 *    container has ended, Kubernetes stops it with SIGTERM and it sends `/opt/ml/model` and
 *    `/opt/ml/output` back to Apiary;
 * 3. container `algo` runs the training image with `train`, requests sized from the instance type.
 * Several instances run as an Indexed Job with stable host names `<name>-<index>` under a headless
 * Service (SageMaker's `SM_HOSTS`). `activeDeadlineSeconds` backs up MaxRuntimeInSeconds.
 */
export function trainingJob(input: JobSpecInput): { job: V1Job; service: V1Service | undefined } {
  const name = kubernetesName(input.jobName, input.attempt);
  const labels = { [JOB_LABEL]: name, 'app.kubernetes.io/managed-by': 'apiary' };
  const hosts = Array.from({ length: input.instanceCount }, (_, i) => `${name}-${i}`);
  const distributed = input.instanceCount > 1;
  const requests: Record<string, string> = {
    cpu: input.resources.cpu,
    memory: input.resources.memory,
  };
  const limits: Record<string, string> = { memory: input.resources.memory };
  if (input.resources.gpu) {
    requests['nvidia.com/gpu'] = String(input.resources.gpu);
    limits['nvidia.com/gpu'] = String(input.resources.gpu);
  }
  const mlMount = [{ name: 'ml', mountPath: ML_ROOT }];
  const stepEnv = [
    { name: 'APIARY_ML_ROOT', value: ML_ROOT },
    { name: 'APIARY_SM_HOSTS', value: JSON.stringify(hosts) },
    { name: 'APIARY_JOB_K8S_NAME', value: name },
  ];
  const env = [
    ...Object.entries(input.env).map(([k, v]) => ({ name: k, value: v })),
    { name: 'SM_HOSTS', value: JSON.stringify(hosts) },
    { name: 'SM_NUM_GPUS', value: String(input.resources.gpu ?? 0) },
    ...(distributed
      ? [{ name: 'SM_CURRENT_HOST', value: `${name}-$(JOB_COMPLETION_INDEX)` }]
      : [{ name: 'SM_CURRENT_HOST', value: hosts[0]! }]),
  ];
  const job: V1Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: input.namespace,
      labels,
      annotations: { [NAME_ANNOTATION]: input.jobName, 'apiary.io/attempt': String(input.attempt) },
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: input.maxRuntimeSeconds + input.stopGraceSeconds,
      ttlSecondsAfterFinished: 3600,
      ...(distributed
        ? {
            completionMode: 'Indexed',
            completions: input.instanceCount,
            parallelism: input.instanceCount,
          }
        : {}),
      template: {
        metadata: { labels, annotations: { [NAME_ANNOTATION]: input.jobName } },
        spec: {
          restartPolicy: 'Never',
          ...(input.serviceAccount ? { serviceAccountName: input.serviceAccount } : {}),
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: input.stopGraceSeconds,
          ...(distributed ? { subdomain: name } : {}),
          volumes: [{ name: 'ml', emptyDir: {} }],
          initContainers: [
            {
              name: 'stage',
              image: input.apiaryImage,
              imagePullPolicy: input.imagePullPolicy,
              args: ['k8s-stage', 'fetch'],
              env: [...stepEnv, { name: 'APIARY_STAGE_URL', value: input.stageUrl }],
              volumeMounts: mlMount,
            },
            {
              name: 'upload',
              image: input.apiaryImage,
              imagePullPolicy: input.imagePullPolicy,
              restartPolicy: 'Always',
              args: ['k8s-stage', 'upload-on-exit'],
              env: [...stepEnv, { name: 'APIARY_UPLOAD_URL', value: input.uploadUrl }],
              volumeMounts: mlMount,
            },
          ],
          containers: [
            {
              name: ALGO_CONTAINER,
              image: input.image,
              imagePullPolicy: input.imagePullPolicy,
              args: ['train'],
              workingDir: ML_ROOT,
              // SageMaker's failure file doubles as the termination message: the reason survives
              // even when the upload step cannot send /opt/ml/output back.
              terminationMessagePath: `${ML_ROOT}/output/failure`,
              terminationMessagePolicy: 'File',
              env,
              resources: { requests, limits },
              volumeMounts: mlMount,
            },
          ],
        },
      },
    },
  };
  const service: V1Service | undefined = distributed
    ? {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: input.namespace, labels },
        spec: { clusterIP: 'None', selector: labels, ports: [{ name: 'sm', port: 8080 }] },
      }
    : undefined;
  return { job, service };
}
