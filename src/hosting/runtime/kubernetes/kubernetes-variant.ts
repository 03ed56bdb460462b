import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { kubernetesClient } from '../../../shared/lazy-modules.js';
import { randomHex } from '../../../shared/ids.js';
import { DeployError, InvokeError } from '../errors.js';
import type { ServingMetrics } from '../metrics.js';
import type {
  InvokeRequest,
  InvokeResponse,
  ServingLimits,
  VariantServer,
  VariantUsage,
} from '../variant-server.js';
import {
  ENDPOINT_LABEL,
  FLEET_LABEL,
  VARIANT_LABEL,
  variantObjectName,
  variantObjects,
  type PodResources,
} from './manifests.js';
import { podProblem } from './pod-problems.js';

/** Settings of endpoints on Kubernetes (APIARY_HOSTING=kubernetes, APIARY_K8S_*). */
export interface KubernetesHostingOptions {
  readonly namespace: string;
  readonly serviceAccount: string | undefined;
  /** Apiary's image: the init step that fetches model.tar.gz. */
  readonly apiaryImage: string;
  /** Serves the built-in object detector (`serve`). */
  readonly algorithmImage: string;
  readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /**
   * Where invocations go, a template with {service}, {namespace}, {endpoint}, {variant}; default
   * `http://{service}.{namespace}.svc.cluster.local:8080` (Apiary inside the cluster).
   */
  readonly serviceUrl: string;
  /** A pod unschedulable, unable to pull its image or crash-looping this long fails the deployment. */
  readonly pendingTimeoutSeconds: number;
  /** The deployment fails when its replicas are not all ready after this long. */
  readonly readyTimeoutSeconds: number;
  /** A presigned GET of `s3://bucket/key` on Apiary's S3 API that pods can reach. */
  readonly presign: (s3Uri: string) => Promise<string>;
  /** An instance type's pod resources; undefined = unknown type (the deployment fails). */
  readonly resourcesFor: (instanceType: string) => PodResources | undefined;
  /** A kubeconfig file; default the standard chain (KUBECONFIG, ~/.kube/config, in-cluster). */
  readonly kubeconfig?: string;
  /** How often readiness is polled while a deployment or scale waits (ms, default 250). */
  readonly pollMs?: number;
}

/** What one variant build needs beyond the shared settings. */
export interface KubernetesVariantSpec {
  readonly endpoint: string;
  readonly variant: string;
  readonly image: string;
  readonly modelDataUrl: string | undefined;
  readonly environment: Readonly<Record<string, string>>;
  readonly instanceType: string | undefined;
}

const DEFAULT_SERVICE_URL = 'http://{service}.{namespace}.svc.cluster.local:8080';

const isNotFound = (e: unknown) => e instanceof kubernetesClient().ApiException && e.code === 404;

/** The cluster side of hosting: API clients shared by every variant, and clean-up by label. */
export class KubernetesHosting {
  readonly apps: AppsV1Api;
  readonly core: CoreV1Api;
  readonly server: string;

  constructor(readonly options: KubernetesHostingOptions) {
    const kc = new (kubernetesClient().KubeConfig)();
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
    this.apps = kc.makeApiClient(kubernetesClient().AppsV1Api);
    this.core = kc.makeApiClient(kubernetesClient().CoreV1Api);
    this.server = kc.getCurrentCluster()?.server ?? 'in-cluster';
  }

  /** A variant server for one build of a variant (its own Deployment and Service). */
  variant(
    spec: KubernetesVariantSpec,
    limits: ServingLimits,
    metrics: ServingMetrics,
  ): KubernetesVariant {
    return new KubernetesVariant(this, spec, limits, metrics);
  }

  /**
   * Deletes the endpoint's Deployments and Services except those named in `keep`: at undeploy
   * (keep nothing), and after a fleet is activated (builds left by a crash or a restart go).
   */
  async removeOthers(endpoint: string, keep: readonly string[] = []): Promise<void> {
    const namespace = this.options.namespace;
    const labelSelector = `${ENDPOINT_LABEL}=${endpoint}`;
    const [deployments, services] = await Promise.all([
      this.apps.listNamespacedDeployment({ namespace, labelSelector }),
      this.core.listNamespacedService({ namespace, labelSelector }),
    ]);
    const gone = (e: unknown) => {
      if (!isNotFound(e)) throw e;
    };
    await Promise.all([
      ...deployments.items
        .filter((d) => !keep.includes(d.metadata?.name ?? ''))
        .map((d) =>
          this.apps
            .deleteNamespacedDeployment({
              name: d.metadata!.name!,
              namespace,
              propagationPolicy: 'Background',
            })
            .catch(gone),
        ),
      ...services.items
        .filter((s) => !keep.includes(s.metadata?.name ?? ''))
        .map((s) =>
          this.core.deleteNamespacedService({ name: s.metadata!.name!, namespace }).catch(gone),
        ),
    ]);
  }
}

const agents = {
  http: new http.Agent({ keepAlive: true }),
  https: new https.Agent({ keepAlive: true }),
};

interface HttpResult {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

function post(
  url: URL,
  headers: Record<string, string>,
  body: Buffer,
  timeoutMs: number,
  maxBytes = 6 * 1024 * 1024 + 1,
): Promise<HttpResult> {
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      url,
      {
        method: 'POST',
        headers,
        timeout: timeoutMs,
        agent: url.protocol === 'https:' ? agents.https : agents.http,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) return void req.destroy(new Error('response too large'));
          chunks.push(c);
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A production variant as a Kubernetes Deployment + Service: `start` creates them and waits until
 * the Deployment's ready replicas reach the instance count (failing with the pods' reason:
 * Unschedulable, ImagePullBackOff, CrashLoopBackOff…); `scale` changes `replicas`; invocations
 * are proxied to the Service's `/invocations`; `stop` deletes both objects.
 */
export class KubernetesVariant implements VariantServer {
  readonly kind = 'container' as const;
  /** The Deployment's and the Service's name. */
  readonly name: string;
  private replicas = 0;
  private admitted = 0;
  private stopped = false;
  private readonly url: URL;
  /** This build's label value (apiary.io/fleet). */
  private readonly fleet: string;

  constructor(
    private readonly k8s: KubernetesHosting,
    private readonly spec: KubernetesVariantSpec,
    private readonly limits: ServingLimits,
    private readonly metrics: ServingMetrics,
  ) {
    this.fleet = randomHex(4);
    this.name = variantObjectName(spec.endpoint, spec.variant, this.fleet);
    const base = (k8s.options.serviceUrl || DEFAULT_SERVICE_URL)
      .replaceAll('{service}', this.name)
      .replaceAll('{namespace}', k8s.options.namespace)
      .replaceAll('{endpoint}', spec.endpoint)
      .replaceAll('{variant}', spec.variant);
    this.url = new URL(`${base.replace(/\/+$/, '')}/invocations`);
  }

  private objects(replicas: number, modelUrl: string | undefined) {
    const o = this.k8s.options;
    const resources = this.spec.instanceType ? o.resourcesFor(this.spec.instanceType) : undefined;
    return variantObjects({
      endpoint: this.spec.endpoint,
      variant: this.spec.variant,
      fleet: this.fleet,
      namespace: o.namespace,
      serviceAccount: o.serviceAccount,
      image: this.spec.image,
      fetcherImage: o.apiaryImage,
      imagePullPolicy: o.imagePullPolicy,
      modelUrl,
      environment: this.spec.environment,
      replicas,
      resources,
    });
  }

  instanceCount(): number {
    return this.replicas;
  }

  usage(): VariantUsage {
    // Pods' memory and CPU live on the cluster's nodes (metrics-server), not in this process.
    return {
      kind: 'container',
      memory: 'process-rss',
      instances: Array.from({ length: this.replicas }, (_, i) => ({
        id: `${this.name}/${i}`,
        memoryBytes: 0,
      })),
    };
  }

  async start(count: number): Promise<void> {
    const o = this.k8s.options;
    if (this.spec.instanceType && !o.resourcesFor(this.spec.instanceType)) {
      throw new DeployError(
        `The instance type ${this.spec.instanceType} of variant ${this.spec.variant} has no entry in the Kubernetes instance table; add it with APIARY_K8S_INSTANCE_TYPES`,
      );
    }
    let modelUrl: string | undefined;
    if (this.spec.modelDataUrl) {
      if (this.spec.modelDataUrl.endsWith('/')) {
        throw new DeployError(
          `ModelDataUrl ${this.spec.modelDataUrl} is a prefix; endpoints on Kubernetes need the S3 URI of a model.tar.gz`,
        );
      }
      modelUrl = await o.presign(this.spec.modelDataUrl);
    }
    const { deployment, service } = this.objects(count, modelUrl);
    try {
      await this.k8s.core.createNamespacedService({ namespace: o.namespace, body: service });
      await this.k8s.apps.createNamespacedDeployment({ namespace: o.namespace, body: deployment });
    } catch (e) {
      throw new DeployError(
        `Kubernetes refused the Deployment of variant ${this.spec.variant} in namespace ${o.namespace}: ${apiMessage(e)}`,
      );
    }
    this.replicas = count;
    await this.waitReady(count);
  }

  async scale(count: number): Promise<void> {
    const namespace = this.k8s.options.namespace;
    try {
      const scale = await this.k8s.apps.readNamespacedDeploymentScale({
        name: this.name,
        namespace,
      });
      await this.k8s.apps.replaceNamespacedDeploymentScale({
        name: this.name,
        namespace,
        body: {
          apiVersion: 'autoscaling/v1',
          kind: 'Scale',
          metadata: scale.metadata,
          spec: { replicas: count },
        },
      });
    } catch (e) {
      throw new DeployError(
        `Kubernetes refused to scale Deployment ${namespace}/${this.name} to ${count}: ${apiMessage(e)}`,
      );
    }
    const before = this.replicas;
    this.replicas = count;
    if (count > before) await this.waitReady(count);
  }

  /**
   * Polls the Deployment until `count` replicas are ready. A pod problem that lasts
   * pendingTimeoutSeconds, or readyTimeoutSeconds without all replicas, is a DeployError.
   */
  private async waitReady(count: number): Promise<void> {
    const o = this.k8s.options;
    const namespace = o.namespace;
    const started = Date.now();
    const firstSeen = new Map<string, number>();
    let lastProblem: string | undefined;
    for (;;) {
      if (this.stopped) return;
      let ready = 0;
      try {
        const d = await this.k8s.apps.readNamespacedDeployment({ name: this.name, namespace });
        ready = d.status?.readyReplicas ?? 0;
        const generationSeen = (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
        if (generationSeen && ready >= count) return;
        const pods = await this.k8s.core.listNamespacedPod({
          namespace,
          labelSelector: `${ENDPOINT_LABEL}=${this.spec.endpoint},${VARIANT_LABEL}=${this.spec.variant},${FLEET_LABEL}=${this.fleet}`,
        });
        const now = Date.now();
        for (const pod of pods.items) {
          const p = podProblem(pod);
          if (!p) continue;
          const key = `${p.pod}\0${p.kind}`;
          const since = firstSeen.get(key) ?? now;
          firstSeen.set(key, since);
          lastProblem = `pod ${p.pod}: ${p.reason}`;
          if (now - since >= o.pendingTimeoutSeconds * 1000) {
            throw new DeployError(
              `Variant ${this.spec.variant}: ${ready} of ${count} instances ready on Kubernetes; ${lastProblem} (for ${o.pendingTimeoutSeconds} s, APIARY_K8S_PENDING_TIMEOUT_SECONDS)`,
            );
          }
        }
      } catch (e) {
        if (e instanceof DeployError) throw e;
        lastProblem = `the Kubernetes API at ${this.k8s.server} answered: ${apiMessage(e)}`;
      }
      if (Date.now() - started >= o.readyTimeoutSeconds * 1000) {
        throw new DeployError(
          `Variant ${this.spec.variant}: ${ready} of ${count} instances ready on Kubernetes after ${o.readyTimeoutSeconds} s (APIARY_K8S_ENDPOINT_READY_TIMEOUT_SECONDS)${lastProblem ? `; ${lastProblem}` : ''}`,
        );
      }
      await new Promise((r) => setTimeout(r, o.pollMs ?? 250));
    }
  }

  async invoke(req: InvokeRequest): Promise<InvokeResponse> {
    const { endpoint, variant } = this.spec;
    if (this.stopped)
      throw new InvokeError(
        'ServiceUnavailable',
        `Variant ${variant} of endpoint ${endpoint} is shutting down; retry the request.`,
        { retryAfterSeconds: 1 },
      );
    if (this.admitted >= Math.max(1, this.replicas) * this.limits.queuePerInstance) {
      throw new InvokeError(
        'ServiceUnavailable',
        `Endpoint ${endpoint} variant ${variant} is at capacity (${this.admitted} requests in progress); retry after a short wait.`,
        { retryAfterSeconds: 1 },
      );
    }
    const headers: Record<string, string> = { 'content-length': String(req.body.length) };
    if (req.contentType) headers['content-type'] = req.contentType;
    if (req.accept) headers.accept = req.accept;
    if (req.customAttributes) headers['x-amzn-sagemaker-custom-attributes'] = req.customAttributes;
    if (req.inferenceId) headers['x-amzn-sagemaker-inference-id'] = req.inferenceId;
    const instanceId = this.name;
    this.admitted += 1;
    const t0 = performance.now();
    try {
      let r: HttpResult;
      try {
        r = await post(this.url, headers, req.body, this.limits.invocationTimeoutSeconds * 1000);
      } catch (e) {
        throw Object.assign(
          new InvokeError(
            'ModelError',
            `Received server error (0) from primary with message "${(e as Error).message}". The Kubernetes Service ${this.name} did not answer.`,
            {
              originalStatusCode: 0,
              originalMessage: (e as Error).message,
            },
          ),
          { instanceId },
        );
      }
      const modelLatencyUs = Math.round((performance.now() - t0) * 1000);
      this.metrics.modelLatency.observe(
        { endpoint, variant, instance: instanceId },
        modelLatencyUs,
      );
      if (r.status < 200 || r.status >= 300) {
        const text = r.body.toString('utf8').slice(0, 1000);
        throw Object.assign(
          new InvokeError(
            'ModelError',
            `Received ${r.status < 500 ? 'client' : 'server'} error (${r.status}) from primary with message "${text}". See the endpoint's logs for more information.`,
            {
              originalStatusCode: r.status,
              originalMessage: text,
            },
          ),
          { instanceId },
        );
      }
      const ca = r.headers['x-amzn-sagemaker-custom-attributes'];
      return {
        body: r.body,
        contentType: String(r.headers['content-type'] ?? 'application/octet-stream'),
        customAttributes: typeof ca === 'string' ? ca : undefined,
        instanceId,
        modelLatencyUs,
      };
    } finally {
      this.admitted -= 1;
    }
  }

  /** Stops accepting and lets requests in flight finish (at most `graceMs`); the objects stay. */
  async detach(graceMs = 30_000): Promise<void> {
    this.stopped = true;
    const deadline = Date.now() + graceMs;
    while (this.admitted > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  /** Lets requests in flight finish (at most `graceMs`), then deletes the Deployment and Service. */
  async stop(graceMs = 30_000): Promise<void> {
    await this.detach(graceMs);
    const namespace = this.k8s.options.namespace;
    const gone = (e: unknown) => {
      if (!isNotFound(e)) throw e;
    };
    await Promise.all([
      this.k8s.apps
        .deleteNamespacedDeployment({ name: this.name, namespace, propagationPolicy: 'Background' })
        .catch(gone),
      this.k8s.core.deleteNamespacedService({ name: this.name, namespace }).catch(gone),
    ]);
    this.replicas = 0;
  }
}

/** The message of a Kubernetes API error (its Status body), else the error's own. */
function apiMessage(e: unknown): string {
  if (e instanceof kubernetesClient().ApiException) {
    const body = e.body as unknown;
    try {
      const parsed =
        typeof body === 'string'
          ? (JSON.parse(body) as { message?: string })
          : (body as { message?: string });
      if (parsed?.message) return `${e.code} ${parsed.message}`;
    } catch {
      /* not JSON: fall through */
    }
    return `HTTP ${e.code}`;
  }
  return (e as Error)?.message ?? String(e);
}
