import type { Hosting } from '../hosting/index.js';
import { artifactModelJson, detectWithArtifact } from '../hosting/index.js';
import type { AutoLabelingPort } from '../labeling/index.js';
import type { ObjectStore } from '../objects/index.js';
import type { CreateTrainingJobRequest, Training } from '../training/index.js';

/**
 * The labeling loop's port (src/labeling/active-learning/port.ts) on Apiary's real services:
 * ordinary training jobs and models (visible in the API and console) and the hosting runtime's
 * in-process ONNX Runtime detector. `training` is a getter: the composition root builds the
 * training service after labeling.
 */
export function autoLabelingPort(deps: {
  readonly minObjects: number;
  readonly hyperParameters: string;
  readonly objects: ObjectStore;
  readonly hosting: Hosting;
  readonly training: () => Training;
}): AutoLabelingPort {
  return {
    minObjects: deps.minObjects,
    hyperParameters: parseHyperParameters(deps.hyperParameters),
    async createTrainingJob(request) {
      await deps.training().createTrainingJob(request as unknown as CreateTrainingJobRequest);
    },
    async trainingJob(name) {
      const r = await deps
        .training()
        .describe(name)
        .catch(() => undefined);
      if (!r) return undefined;
      return {
        status: r.status,
        failureReason: r.failureReason,
        modelArtifacts: r.status === 'Completed' ? r.modelArtifacts : undefined,
      };
    },
    async createModel(name, modelDataUrl, roleArn) {
      const existing = await deps.hosting.models.find(name);
      if (existing) return existing.arn;
      const container = {
        image: 'object-detection',
        modelDataUrl,
        environment: {},
        mode: 'SingleModel' as const,
        hostname: undefined,
      };
      const record = await deps.hosting.createModel({
        name,
        containers: [container],
        executionRoleArn: roleArn,
        request: {
          ModelName: name,
          PrimaryContainer: { Image: 'object-detection', ModelDataUrl: modelDataUrl },
          ExecutionRoleArn: roleArn,
        },
        tags: [],
      });
      return record.arn;
    },
    async model(name) {
      const m = await deps.hosting.models.find(name);
      if (!m) return undefined;
      const c = m.containers[0];
      return {
        arn: m.arn,
        modelDataUrl: c?.modelDataUrl,
        objectDetection: OBJECT_DETECTION_IMAGE.test(c?.image ?? ''),
      };
    },
    async artifactSignature(modelDataUrl) {
      const j = await artifactModelJson(deps.objects, modelDataUrl);
      const input = (j.input ?? {}) as { width?: unknown; height?: unknown };
      return {
        baseNetwork: typeof j.base_network === 'string' ? j.base_network : '',
        numClasses: Number(j.num_classes),
        imageShape: Number(input.width ?? input.height),
      };
    },
    detect: (modelDataUrl, images) => detectWithArtifact(deps.objects, modelDataUrl, images),
  };
}

/** SageMaker's object-detection images (any registry and tag) and Apiary's short name. */
const OBJECT_DETECTION_IMAGE =
  /^(?:[^/]+\/)*object-detection(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/;

/** `APIARY_AUTO_LABELING_HYPERPARAMETERS`: a JSON object of strings (empty = the defaults). */
function parseHyperParameters(raw: string): Record<string, string> {
  if (raw.trim() === '') return {};
  const v = JSON.parse(raw) as unknown;
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    throw new Error('APIARY_AUTO_LABELING_HYPERPARAMETERS must be a JSON object');
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]));
}
