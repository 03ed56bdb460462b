import type { V1Deployment, V1Service } from '@kubernetes/client-node';

/** Labels every object of an endpoint carries (selectors for scale, clean-up and kubectl). */
export const ENDPOINT_LABEL = 'apiary.io/endpoint';
export const VARIANT_LABEL = 'apiary.io/variant';
/** One build of a variant (a blue/green update builds a second Deployment beside the first). */
export const FLEET_LABEL = 'apiary.io/fleet';
/** The serving container's name. */
export const SERVING_CONTAINER = 'serve';
/** Where SageMaker's serving containers find the model (an emptyDir the init step fills). */
export const MODEL_DIR = '/opt/ml/model';
/** The port SageMaker's serving contract uses (GET /ping, POST /invocations). */
export const SERVING_PORT = 8080;

/** CPU, memory and GPUs a variant's instance asks of a node (from its InstanceType). */
export interface PodResources {
  readonly cpu: string;
  readonly memory: string;
  readonly gpu?: number;
}

export interface VariantObjectsInput {
  readonly endpoint: string;
  readonly variant: string;
  /** Distinguishes this build from other builds of the same variant. */
  readonly fleet: string;
  readonly namespace: string;
  readonly serviceAccount: string | undefined;
  /** The serving image: the algorithm image for the built-in detector, else the model's Image. */
  readonly image: string;
  /** Apiary's image: its init step fetches model.tar.gz (node is in it). */
  readonly fetcherImage: string;
  readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** A presigned GET of the model.tar.gz on Apiary's S3 API; none when the model has no artifact. */
  readonly modelUrl: string | undefined;
  /** The model's Environment (ContainerDefinition.Environment). */
  readonly environment: Readonly<Record<string, string>>;
  readonly replicas: number;
  readonly resources: PodResources | undefined;
}

/** A DNS-1035 label piece: lower case letters, digits and dashes, at most `max` characters. */
function dnsPiece(s: string, max: number): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, max)
    .replace(/-+$/, '');
}

/**
 * The Kubernetes name of one build of a variant: `ep-<endpoint>-<variant>-<fleet>`, at most 63
 * characters and a valid DNS-1035 label, so it names both the Deployment and its Service.
 */
export function variantObjectName(endpoint: string, variant: string, fleet: string): string {
  return `ep-${dnsPiece(endpoint, 32)}-${dnsPiece(variant, 16)}-${dnsPiece(fleet, 8)}`.replace(
    /--+/g,
    '-',
  );
}

/**
 * The fetch step: Apiary's image downloads the model.tar.gz through its presigned URL and unpacks
 * it into /opt/ml/model (SageMaker's layout). No URL (a model without ModelDataUrl): nothing to do.
 */
const FETCH_SCRIPT = [
  'set -e',
  'if [ -z "$APIARY_MODEL_URL" ]; then exit 0; fi',
  `node -e 'fetch(process.env.APIARY_MODEL_URL).then(async (r) => { if (!r.ok) { console.error("GET model.tar.gz: HTTP " + r.status + " " + (await r.text()).slice(0, 500)); process.exit(1); } await require("node:fs/promises").writeFile(process.argv[1], Buffer.from(await r.arrayBuffer())); })' "${MODEL_DIR}/.model.tar.gz"`,
  `tar -xzf "${MODEL_DIR}/.model.tar.gz" -C "${MODEL_DIR}" --no-same-owner`,
  `rm -f "${MODEL_DIR}/.model.tar.gz"`,
].join('\n');

/**
 * One production variant as a Deployment and a ClusterIP Service of the same name. Each pod:
 * an init container fills `/opt/ml/model` from the presigned model URL, then the serving image
 * runs with `serve` (SageMaker's contract) on port 8080, ready when `GET /ping` answers 200.
 */
export function variantObjects(input: VariantObjectsInput): {
  deployment: V1Deployment;
  service: V1Service;
} {
  const name = variantObjectName(input.endpoint, input.variant, input.fleet);
  const labels = {
    [ENDPOINT_LABEL]: input.endpoint,
    [VARIANT_LABEL]: input.variant,
    [FLEET_LABEL]: input.fleet,
    'app.kubernetes.io/managed-by': 'apiary',
  };
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (input.resources) {
    requests.cpu = input.resources.cpu;
    requests.memory = input.resources.memory;
    limits.memory = input.resources.memory;
    if (input.resources.gpu) {
      requests['nvidia.com/gpu'] = String(input.resources.gpu);
      limits['nvidia.com/gpu'] = String(input.resources.gpu);
    }
  }
  const modelMount = [{ name: 'model', mountPath: MODEL_DIR }];
  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: input.namespace, labels },
    spec: {
      replicas: input.replicas,
      selector: {
        matchLabels: {
          [ENDPOINT_LABEL]: input.endpoint,
          [VARIANT_LABEL]: input.variant,
          [FLEET_LABEL]: input.fleet,
        },
      },
      // Scale changes never take a ready pod away before its replacement is ready.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels },
        spec: {
          ...(input.serviceAccount ? { serviceAccountName: input.serviceAccount } : {}),
          automountServiceAccountToken: false,
          volumes: [{ name: 'model', emptyDir: {} }],
          initContainers: [
            {
              name: 'fetch-model',
              image: input.fetcherImage,
              imagePullPolicy: input.imagePullPolicy,
              command: ['sh', '-c', FETCH_SCRIPT],
              env: input.modelUrl ? [{ name: 'APIARY_MODEL_URL', value: input.modelUrl }] : [],
              volumeMounts: modelMount,
            },
          ],
          containers: [
            {
              name: SERVING_CONTAINER,
              image: input.image,
              imagePullPolicy: input.imagePullPolicy,
              args: ['serve'],
              env: [
                ...Object.entries(input.environment).map(([k, v]) => ({ name: k, value: v })),
                { name: 'SAGEMAKER_BIND_TO_PORT', value: String(SERVING_PORT) },
                { name: 'SM_MODEL_DIR', value: MODEL_DIR },
              ],
              ports: [{ name: 'http', containerPort: SERVING_PORT }],
              readinessProbe: {
                httpGet: { path: '/ping', port: SERVING_PORT },
                periodSeconds: 5,
                failureThreshold: 3,
              },
              ...(input.resources ? { resources: { requests, limits } } : {}),
              volumeMounts: [{ name: 'model', mountPath: MODEL_DIR, readOnly: true }],
            },
          ],
        },
      },
    },
  };
  const service: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: input.namespace, labels },
    spec: {
      type: 'ClusterIP',
      selector: {
        [ENDPOINT_LABEL]: input.endpoint,
        [VARIANT_LABEL]: input.variant,
        [FLEET_LABEL]: input.fleet,
      },
      ports: [{ name: 'http', port: SERVING_PORT, targetPort: SERVING_PORT }],
    },
  };
  return { deployment, service };
}
