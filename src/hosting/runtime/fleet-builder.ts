import fsp from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ObjectStore } from '../../objects/index.js';
import type { Random } from '../../shared/random.js';
import { randomHex } from '../../shared/ids.js';
import { fetchModelArtifact, type ExtractLimits } from './artifact.js';
import { ContainerVariant, type ServingCommand } from './container-variant.js';
import { DeployError } from './errors.js';
import { Fleet, type LiveVariant, type VariantDeployment } from './fleet.js';
import type { ServingMetrics } from './metrics.js';
import { loadDetectorSpec } from './model-spec.js';
import { OnnxVariant } from './onnx-variant.js';
import { MultiModelVariant } from './multi-model.js';
import { ServerlessVariant } from './serverless.js';
import type { ServingLimits, VariantServer } from './variant-server.js';
import type { KubernetesHosting } from './kubernetes/kubernetes-variant.js';

/** What the serving runtime is built with (the builder's and the router's settings). */
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
 * Builds fleets: per variant the model artifact fetched and extracted, then the variant server that
 * serves it (built-in ONNX, bring-your-own container, PyTorch inference, multi-model, serverless,
 * or a Deployment on Kubernetes), started with its instances. Routing is `ServingManager`'s.
 */
export class FleetBuilder {
  constructor(private readonly opts: ServingOptions) {}

  /** Builds and starts every variant; nothing is routed to it until `ServingManager.activate`. @throws DeployError */
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
}
