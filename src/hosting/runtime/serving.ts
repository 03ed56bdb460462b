import fsp from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { ObjectStore } from '../../objects/index.js';
import type { Random } from '../../shared/random.js';
import { randomHex } from '../../shared/ids.js';
import type { ModelRecord } from '../models.js';
import { fetchModelArtifact, type ExtractLimits } from './artifact.js';
import { ContainerVariant, type ServingCommand } from './container-variant.js';
import { DeployError, InvokeError } from './errors.js';
import type { ServingMetrics } from './metrics.js';
import { loadDetectorSpec } from './model-spec.js';
import { OnnxVariant } from './onnx-variant.js';
import { pickVariant } from './router.js';
import { MultiModelVariant } from './multi-model.js';
import { ServerlessVariant, type ServerlessSpec } from './serverless.js';
import { ShadowMirror } from '../shadow.js';
import type {
  InvokeRequest,
  InvokeResponse,
  ServingLimits,
  VariantServer,
} from './variant-server.js';
import { KubernetesVariant, type KubernetesHosting } from './kubernetes/kubernetes-variant.js';

/** What to deploy for one production variant. */
export interface VariantDeployment {
  readonly variantName: string;
  readonly model: ModelRecord;
  readonly instanceCount: number;
  readonly weight: number;
  /** A ShadowProductionVariant: gets a copy of the traffic, its answers are discarded. */
  readonly shadow?: boolean;
  readonly serverless?: ServerlessSpec;
  /** The variant's InstanceType (pod resources on Kubernetes). */
  readonly instanceType?: string;
}

interface LiveVariant {
  readonly name: string;
  weight: number;
  readonly server: VariantServer;
  readonly modelDir: string | undefined;
  readonly shadow?: boolean;
}

/** A running fleet: the variants of one endpoint (a blue/green update builds a second one). */
export class Fleet {
  constructor(
    readonly endpoint: string,
    readonly variants: readonly LiveVariant[],
  ) {}

  find(name: string): LiveVariant | undefined {
    return (
      this.variants.find((v) => v.name === name) ??
      this.variants.find((v) => v.name.toLowerCase() === name.toLowerCase())
    );
  }

  /** Stops routing and waits for requests in flight, leaving Kubernetes objects in place. */
  async detach(graceMs?: number): Promise<void> {
    await Promise.all(
      this.variants.map((v) =>
        v.server instanceof KubernetesVariant ? v.server.detach(graceMs) : v.server.stop(graceMs),
      ),
    );
  }

  async stop(graceMs?: number): Promise<void> {
    await Promise.all(
      this.variants.map(async (v) => {
        await v.server.stop(graceMs);
        if (v.modelDir) await fsp.rm(v.modelDir, { recursive: true, force: true });
      }),
    );
  }
}

export interface ServingOptions {
  readonly objects: ObjectStore;
  /** Model directories live under `<workDir>/models/`. */
  readonly workDir: string;
  readonly limits: ServingLimits;
  readonly metrics: ServingMetrics;
  readonly random: Random;
  /** Registered bring-your-own serving images: image name → command. */
  readonly servingImages: Readonly<Record<string, ServingCommand>>;
  /** The interpreter with torch for the PyTorch inference image. */
  readonly pythonPath: string;
  readonly bwrap: boolean;
  /** Without bwrap, run user serving code unsandboxed (APIARY_SANDBOX=none) instead of refusing. */
  readonly allowUnsandboxed?: boolean;
  /** Host folders the serving sandbox masks (the data dir). */
  readonly hiddenPaths?: readonly string[];
  readonly extractLimits?: ExtractLimits;
  readonly log?: (msg: string) => void;
  /** Multi-model variants: bytes of extracted models kept loaded (default 1 GiB). */
  readonly multiModelBudgetBytes?: number;
  /** Serverless variants scale to zero after this long without an invocation (default 5 min). */
  readonly serverlessIdleMs?: number;
  /** APIARY_HOSTING=kubernetes: each variant a Deployment + Service instead of local instances. */
  readonly kubernetes?: KubernetesHosting;
}

/** SageMaker's PyTorch inference images (`…/pytorch-inference:<version>`). */
const OBJECT_DETECTION = /^(?:[^/]+\/)*object-detection(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/;
const PYTORCH_INFERENCE = /(^|\/)pytorch-inference(:|@|$)/;
const PYTORCH_SERVER = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../src/hosting/runtime/pytorch_serve.py',
);

/**
 * The local serving runtime: builds fleets (artifact → instances), routes invocations by weight
 * or TargetVariant, and keeps the live fleet of each endpoint.
 */
export class ServingManager {
  private readonly live = new Map<string, Fleet>();
  /** A blue/green update in progress: the new fleet and the share of traffic it gets (0–1). */
  private readonly shifting = new Map<string, { fleet: Fleet; fraction: number }>();
  /** Told of every finished invocation (CloudWatch's per-minute datapoints). */
  private listener:
    | ((o: {
        endpoint: string;
        variant: string;
        status: number;
        modelLatencyUs?: number;
        overheadLatencyUs?: number;
      }) => void)
    | undefined;
  /** Copies traffic to shadow variants and compares their answers with production's. */
  readonly shadows: ShadowMirror;

  constructor(private readonly opts: ServingOptions) {
    const m = opts.metrics;
    this.shadows = new ShadowMirror(
      opts.random,
      (endpoint, variant, res, totalUs) => {
        m.invocations.inc({ endpoint, variant, instance: res.instanceId });
        m.recordAnswered(endpoint, variant, totalUs, res.modelLatencyUs);
      },
      (endpoint, variant, err) => {
        m.recordFailed(endpoint, variant);
        const where = { endpoint, variant, instance: err.instanceId ?? 'none' };
        if (err.status >= 500 || err.code === 'ModelError') m.errors5xx.inc(where);
        else m.errors4xx.inc(where);
      },
    );
  }

  /** Removes model directories left by a previous process (called before restoring endpoints). */
  async resetWorkDir(): Promise<void> {
    await fsp.rm(path.join(this.opts.workDir, 'models'), { recursive: true, force: true });
  }

  get metrics(): ServingMetrics {
    return this.opts.metrics;
  }

  /** Builds and starts every variant; nothing is routed to it until {@link activate}. @throws DeployError */
  async build(endpoint: string, variants: readonly VariantDeployment[]): Promise<Fleet> {
    const built = await Promise.allSettled(variants.map((v) => this.buildVariant(endpoint, v)));
    const ok = built.flatMap((b) => (b.status === 'fulfilled' ? [b.value] : []));
    const failed = built.find((b): b is PromiseRejectedResult => b.status === 'rejected');
    if (failed) {
      await new Fleet(endpoint, ok).stop(0);
      throw failed.reason;
    }
    return new Fleet(endpoint, ok);
  }

  private async buildVariant(endpoint: string, v: VariantDeployment): Promise<LiveVariant> {
    const container = v.model.containers[0];
    if (!container) throw new DeployError(`Model ${v.model.name} has no container`);
    if (this.opts.kubernetes) return this.buildKubernetesVariant(this.opts.kubernetes, endpoint, v);
    const modelDir = path.join(
      this.opts.workDir,
      'models',
      `${endpoint.toLowerCase()}-${v.variantName.toLowerCase()}-${randomHex(6)}`,
    );
    try {
      if (container.mode === 'MultiModel') {
        if (!container.modelDataUrl)
          throw new DeployError(
            `Model ${v.model.name} is a multi-model (Mode MultiModel) model without a ModelDataUrl; set ModelDataUrl to the S3 prefix that holds its model.tar.gz files`,
          );
        const server = new MultiModelVariant({
          endpoint,
          variant: v.variantName,
          prefix: container.modelDataUrl,
          dir: modelDir,
          objects: this.opts.objects,
          budgetBytes: this.opts.multiModelBudgetBytes ?? 1024 * 1024 * 1024,
          extractLimits: this.opts.extractLimits,
          makeServer: (dir) => this.serverFor(endpoint, v, dir),
          log: this.opts.log,
        });
        await server.start(v.instanceCount);
        return { name: v.variantName, weight: v.weight, server, modelDir, shadow: v.shadow };
      }
      if (container.modelDataUrl) {
        await fetchModelArtifact(
          this.opts.objects,
          container.modelDataUrl,
          modelDir,
          this.opts.extractLimits,
        );
      } else {
        await fsp.mkdir(modelDir, { recursive: true });
      }
      const base = await this.serverFor(endpoint, v, modelDir);
      const server = v.serverless
        ? new ServerlessVariant(
            endpoint,
            v.variantName,
            base,
            v.serverless,
            this.opts.serverlessIdleMs ?? 300_000,
          )
        : base;
      try {
        await server.start(v.instanceCount);
      } catch (e) {
        await server.stop(0);
        throw e;
      }
      return { name: v.variantName, weight: v.weight, server, modelDir, shadow: v.shadow };
    } catch (e) {
      await fsp.rm(modelDir, { recursive: true, force: true });
      throw e;
    }
  }

  /** A variant on Kubernetes: the pods fetch the model themselves (nothing is extracted here). */
  private async buildKubernetesVariant(
    k8s: KubernetesHosting,
    endpoint: string,
    v: VariantDeployment,
  ): Promise<LiveVariant> {
    const container = v.model.containers[0]!;
    if (container.mode === 'MultiModel')
      throw new DeployError(
        `Model ${v.model.name} is a multi-model model; APIARY_HOSTING=kubernetes serves single-model variants only`,
      );
    if (v.serverless)
      throw new DeployError(
        `Variant ${v.variantName} is serverless; APIARY_HOSTING=kubernetes serves instance-backed variants only`,
      );
    const image = container.image ?? '';
    const server = k8s.variant(
      {
        endpoint,
        variant: v.variantName,
        image: !image || OBJECT_DETECTION.test(image) ? k8s.options.algorithmImage : image,
        modelDataUrl: container.modelDataUrl,
        environment: container.environment,
        instanceType: v.instanceType,
      },
      this.opts.limits,
      this.opts.metrics,
    );
    try {
      await server.start(v.instanceCount);
    } catch (e) {
      await server.stop(0).catch(() => {});
      throw e;
    }
    return { name: v.variantName, weight: v.weight, server, modelDir: undefined, shadow: v.shadow };
  }

  private async serverFor(
    endpoint: string,
    v: VariantDeployment,
    modelDir: string,
  ): Promise<VariantServer> {
    const container = v.model.containers[0]!;
    const image = container.image ?? '';
    const common = {
      endpoint,
      variant: v.variantName,
      modelDir,
      environment: container.environment,
      bwrap: this.opts.bwrap,
      hiddenPaths: this.opts.hiddenPaths,
      limits: this.opts.limits,
      metrics: this.opts.metrics,
      log: this.opts.log,
    };
    const registered = this.opts.servingImages[image];
    if (
      (registered || PYTORCH_INFERENCE.test(image)) &&
      !this.opts.bwrap &&
      !this.opts.allowUnsandboxed
    ) {
      throw new DeployError(
        `Image '${image}' runs user serving code, and bubblewrap (bwrap) is not available here to sandbox it; install bubblewrap, or set APIARY_SANDBOX=none to run serving code unsandboxed (it can then read Apiary's data dir)`,
      );
    }
    if (registered) return new ContainerVariant({ ...common, serving: registered });
    if (PYTORCH_INFERENCE.test(image)) {
      return new ContainerVariant({
        ...common,
        serving: { command: [this.opts.pythonPath, PYTORCH_SERVER] },
      });
    }
    if (!container.modelDataUrl) {
      throw new DeployError(
        `Model ${v.model.name} has no ModelDataUrl and its Image '${image}' is not a registered serving image; the built-in runtime needs a model.tar.gz with model.onnx and model.json`,
      );
    }
    let spec;
    try {
      spec = await loadDetectorSpec(modelDir);
    } catch (e) {
      if (OBJECT_DETECTION.test(image) || !(e instanceof DeployError)) throw e;
      throw new DeployError(
        `Image '${image}' is not a registered serving image (APIARY_SERVING_IMAGES) or a PyTorch inference image, so the built-in ONNX runtime serves it: ${e.message}`,
      );
    }
    return new OnnxVariant(
      endpoint,
      v.variantName,
      modelDir,
      spec,
      this.opts.limits,
      this.opts.metrics,
      this.opts.log,
    );
  }

  /** Routes the endpoint's traffic to `fleet`; the previous fleet drains and stops. */
  async activate(endpoint: string, fleet: Fleet): Promise<void> {
    const key = endpoint.toLowerCase();
    const old = this.live.get(key);
    this.live.set(key, fleet);
    if (old && old !== fleet) await old.stop();
    // Objects of builds this process no longer holds (a crash mid-build, a restart) go now.
    const k8s = this.opts.kubernetes;
    if (k8s) {
      const keep = fleet.variants.flatMap((v) =>
        v.server instanceof KubernetesVariant ? [v.server.name] : [],
      );
      await k8s
        .removeOthers(endpoint, keep)
        .catch((e) =>
          this.opts.log?.(
            `endpoint ${endpoint}: removing stale Kubernetes objects failed: ${(e as Error).message}`,
          ),
        );
    }
  }

  /** Reports each finished invocation to `fn` (one listener). */
  onInvocation(fn: NonNullable<ServingManager['listener']>): void {
    this.listener = fn;
  }

  /** Starts a blue/green shift: `fleet` is routed nothing until {@link setShift} gives it a share. */
  beginShift(endpoint: string, fleet: Fleet): void {
    this.shifting.set(endpoint.toLowerCase(), { fleet, fraction: 0 });
  }

  /** The new fleet's share of traffic, 0–100, live (the next request sees it). */
  setShift(endpoint: string, percent: number): void {
    const s = this.shifting.get(endpoint.toLowerCase());
    if (s) s.fraction = Math.min(1, Math.max(0, percent / 100));
  }

  /** The new fleet of a shift in progress. */
  shiftingFleet(endpoint: string): Fleet | undefined {
    return this.shifting.get(endpoint.toLowerCase())?.fleet;
  }

  /**
   * Ends a shift: `promote` makes the new fleet the live one and drains the old one; otherwise
   * (rollback) every request goes to the old fleet again and the new one drains and stops.
   */
  async endShift(endpoint: string, promote: boolean): Promise<void> {
    const key = endpoint.toLowerCase();
    const s = this.shifting.get(key);
    if (!s) return;
    if (promote) {
      const old = this.live.get(key);
      this.live.set(key, s.fleet);
      this.shifting.delete(key);
      if (old && old !== s.fleet) await old.stop();
    } else {
      this.shifting.delete(key);
      await s.fleet.stop();
    }
  }

  /** Stops routing to the endpoint and stops its fleet (in-flight requests finish). */
  async undeploy(endpoint: string): Promise<void> {
    const key = endpoint.toLowerCase();
    const old = this.live.get(key);
    this.live.delete(key);
    if (old) await old.stop();
    await this.endShift(endpoint, false);
    await this.opts.metrics.forget(endpoint);
    this.shadows.forget(endpoint);
  }

  fleet(endpoint: string): Fleet | undefined {
    return this.live.get(endpoint.toLowerCase());
  }

  /** Every fleet that serves now. */
  fleets(): Fleet[] {
    return [...this.live.values()];
  }

  /** Live weight change: the next request sees the new weights; none in flight is disturbed. */
  setWeight(endpoint: string, variant: string, weight: number): void {
    const v = this.fleet(endpoint)?.find(variant);
    if (v) v.weight = weight;
  }

  async scale(endpoint: string, variant: string, count: number): Promise<void> {
    const v = this.fleet(endpoint)?.find(variant);
    if (v) await v.server.scale(count);
  }

  /**
   * Serves one invocation. @returns the variant that answered and the response.
   * @throws InvokeError (ValidationError for an unknown TargetVariant; whatever the variant throws)
   */
  async invoke(
    endpoint: string,
    targetVariant: string | undefined,
    req: InvokeRequest,
  ): Promise<{ variant: string; response: InvokeResponse }> {
    const live = this.live.get(endpoint.toLowerCase());
    if (!live) throw new InvokeError('ValidationError', `Endpoint ${endpoint} is not serving.`);
    const shift = this.shifting.get(endpoint.toLowerCase());
    const toNew =
      shift !== undefined &&
      shift.fraction > 0 &&
      (shift.fraction >= 1 || this.opts.random.next() < shift.fraction);
    const fleet = toNew ? shift.fleet : live;
    let chosen: LiveVariant | undefined;
    const production = fleet.variants.filter((v) => !v.shadow);
    if (targetVariant !== undefined) {
      // A variant only one of the two fleets has is served by that fleet.
      chosen =
        fleet.find(targetVariant) ??
        (shift ? (toNew ? live : shift.fleet).find(targetVariant) : undefined);
      if (!chosen || chosen.shadow) {
        throw new InvokeError(
          'ValidationError',
          `The TargetVariant '${targetVariant}' is not a production variant of endpoint ${endpoint}; its variants are ${production.map((v) => v.name).join(', ')}.`,
        );
      }
    } else {
      chosen = pickVariant(production, this.opts.random);
      if (!chosen) {
        throw new InvokeError(
          'ValidationError',
          `Every production variant of endpoint ${endpoint} has weight 0; set a weight with UpdateEndpointWeightsAndCapacities or pin a variant with TargetVariant.`,
        );
      }
    }
    if (req.targetModel !== undefined && !(chosen.server instanceof MultiModelVariant)) {
      throw new InvokeError(
        'ValidationError',
        `Endpoint ${endpoint} is not a multi-model endpoint and does not support target model header.`,
      );
    }
    const m = this.opts.metrics;
    const labels = { endpoint, variant: chosen.name };
    try {
      const response = await chosen.server.invoke(req);
      m.invocations.inc({ ...labels, instance: response.instanceId });
      const totalUs = (performance.now() - req.receivedAt) * 1000;
      m.overheadLatency.observe(
        { ...labels, instance: response.instanceId },
        Math.max(0, totalUs - response.modelLatencyUs),
      );
      m.recordAnswered(endpoint, chosen.name, totalUs, response.modelLatencyUs);
      this.listener?.({
        endpoint,
        variant: chosen.name,
        status: 200,
        modelLatencyUs: response.modelLatencyUs,
        overheadLatencyUs: Math.max(0, totalUs - response.modelLatencyUs),
      });
      if (production.length < fleet.variants.length)
        this.mirror(endpoint, fleet, chosen, production, totalUs / 1000, req, response);
      return { variant: chosen.name, response };
    } catch (e) {
      const err =
        e instanceof InvokeError
          ? e
          : new InvokeError('InternalFailure', 'The request failed because of an internal error.', {
              cause: e,
            });
      const status = err.code === 'ModelError' ? (err.extra.originalStatusCode ?? 500) : err.status;
      const where = { ...labels, instance: err.instanceId ?? 'none' };
      m.recordFailed(endpoint, chosen.name);
      this.listener?.({ endpoint, variant: chosen.name, status });
      if (err.code === 'ModelError') m.modelErrors.inc(where);
      if (status >= 500 || status === 0) m.errors5xx.inc(where);
      else if (status >= 400) m.errors4xx.inc(where);
      (err as { variant?: string }).variant = chosen.name;
      throw err;
    }
  }

  /** Sends a copy of an answered request to the fleet's shadow variants (answers discarded). */
  private mirror(
    endpoint: string,
    fleet: Fleet,
    chosen: LiveVariant,
    production: readonly LiveVariant[],
    prodMs: number,
    req: InvokeRequest,
    res: InvokeResponse,
  ): void {
    const prodWeight = production.reduce((n, v) => n + Math.max(0, v.weight), 0);
    const shadows = fleet.variants
      .filter((v) => v.shadow)
      .map((v) => ({
        name: v.name,
        server: v.server,
        sampling: prodWeight > 0 ? Math.min(1, v.weight / prodWeight) : 1,
      }));
    this.shadows.mirror(endpoint, chosen.name, prodMs, req, res, shadows);
  }

  /**
   * DeleteEndpoint on Kubernetes: removes every Deployment and Service of the endpoint, also those
   * of builds no process holds any more (a crash mid-build). Not on a lost lease: the new owner's
   * objects carry the same endpoint label.
   */
  async purge(endpoint: string): Promise<void> {
    await this.opts.kubernetes?.removeOthers(endpoint);
  }

  async close(): Promise<void> {
    const all = [...this.live.values(), ...[...this.shifting.values()].map((s) => s.fleet)];
    this.live.clear();
    this.shifting.clear();
    // Pods on Kubernetes outlive this process: the next owner builds anew and removes them once
    // its build is ready, so a restart of Apiary takes no capacity away before then.
    await Promise.all(all.map((f) => (this.opts.kubernetes ? f.detach(5_000) : f.stop(5_000))));
  }
}
