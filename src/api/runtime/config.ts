import path from 'node:path';
import type { Settings } from '../../config/index.js';
import { APIARY_ROOT, DEFAULT_PYTHON, bubblewrapAvailable } from '../../shared/index.js';
import type { S3Client } from '@aws-sdk/client-s3';
import type {
  HostingServingConfig,
  KubernetesHostingOptions,
  ServingCommand,
} from '../../hosting/index.js';
import { loadInstanceTypes, resourcesFor } from '../../training/index.js';
import { parseS3Uri } from '../../shared/s3-uri.js';

const inside = (dir: string, p: string): boolean =>
  p === dir || p.startsWith(dir.endsWith('/') ? dir : dir + '/');

/** The hosting runtime's configuration from settings (the composition root picks it). */
export function hostingServingConfig(
  settings: Settings,
  log: (msg: string) => void,
): HostingServingConfig {
  const pythonPath = settings.pythonPath || DEFAULT_PYTHON;
  const bwrap =
    settings.sandbox === 'bwrap' || (settings.sandbox === 'auto' && bubblewrapAvailable());
  // Said once the server is assembled (the logger comes with it).
  const warn = (msg: string): void => void setImmediate(() => log(msg));
  if (settings.sandbox === 'none') {
    warn(
      "APIARY_SANDBOX=none: bring-your-own serving code runs unsandboxed and can read Apiary's data dir (credentials, database, objects)",
    );
  } else if (!bwrap) {
    warn(
      'bubblewrap (bwrap) is not available here: endpoints with bring-your-own serving code will be refused (install bubblewrap, or set APIARY_SANDBOX=none to run them unsandboxed)',
    );
  }
  const servingImages = (
    settings.servingImages ? JSON.parse(settings.servingImages) : {}
  ) as Record<string, ServingCommand>;
  return {
    workDir: path.join(settings.dataDir, 'hosting'),
    limits: {
      ortThreads: settings.ortThreads,
      maxBatch: settings.servingMaxBatch,
      maxBatchWaitMs: settings.servingMaxBatchWaitMs,
      queuePerInstance: settings.servingQueuePerInstance,
      maxInputPixels: settings.servingMaxInputPixels,
      startupTimeoutSeconds: settings.servingStartupTimeoutSeconds,
      invocationTimeoutSeconds: settings.servingInvocationTimeoutSeconds,
    },
    servingImages,
    pythonPath,
    bwrap,
    allowUnsandboxed: settings.sandbox === 'none',
    // Serving code must not read the credentials, the database or the blobs (unless the
    // interpreter or Apiary itself lives inside the data dir).
    hiddenPaths:
      inside(settings.dataDir, pythonPath) || inside(settings.dataDir, APIARY_ROOT)
        ? []
        : [settings.dataDir],
    createWaitMs: settings.endpointCreateWaitMs,
    multiModelBudgetBytes: settings.multiModelBudgetMb * 1024 * 1024,
    serverlessIdleMs: settings.serverlessIdleSeconds * 1000,
    log,
  };
}

/**
 * Endpoints on Kubernetes (APIARY_HOSTING=kubernetes): the cluster settings shared with the
 * training executor, the instance-type table, and presigned model URLs on Apiary's own S3 API
 * (signed with the root credentials, valid 7 days, the longest SigV4 allows) that pods reach at
 * APIARY_K8S_CALLBACK_URL, APIARY_ADVERTISE_URL or the listening URL.
 */
export function kubernetesHostingConfig(
  settings: Settings,
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string },
  listeningUrl: () => string,
): KubernetesHostingOptions | undefined {
  if (settings.hosting !== 'kubernetes') return undefined;
  const k8s = settings.k8s;
  const table = loadInstanceTypes(k8s.instanceTypesFile);
  let client: { url: string; s3: S3Client } | undefined;
  return {
    namespace: k8s.namespace,
    serviceAccount: k8s.serviceAccount,
    apiaryImage: k8s.image,
    algorithmImage: k8s.algorithmImage,
    imagePullPolicy: k8s.imagePullPolicy,
    serviceUrl: k8s.serviceUrl,
    pendingTimeoutSeconds: k8s.pendingTimeoutSeconds,
    readyTimeoutSeconds: k8s.endpointReadyTimeoutSeconds,
    resourcesFor: (instanceType) => resourcesFor(table, instanceType),
    presign: async (s3Uri) => {
      const url = (k8s.callbackUrl || settings.advertiseUrl || listeningUrl()).replace(/\/+$/, '');
      // The AWS SDK loads on the first presign, not when the server starts (docs/readme/idle.md).
      const [{ GetObjectCommand, S3Client }, { getSignedUrl }] = await Promise.all([
        import('@aws-sdk/client-s3'),
        import('@aws-sdk/s3-request-presigner'),
      ]);
      if (client?.url !== url) {
        client = {
          url,
          s3: new S3Client({
            endpoint: url,
            region: settings.region,
            forcePathStyle: true,
            credentials: {
              accessKeyId: credentials.accessKeyId,
              secretAccessKey: credentials.secretAccessKey,
            },
          }),
        };
      }
      const { bucket, key } = parseS3Uri(s3Uri, 'ModelDataUrl');
      return getSignedUrl(client.s3, new GetObjectCommand({ Bucket: bucket, Key: key }), {
        expiresIn: 7 * 24 * 3600,
      });
    },
  };
}
