import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ObjectStore } from '../../objects/index.js';
import { fetchModelArtifact } from './artifact.js';
import { toPredictions } from './detections.js';
import { decodeImage } from './image.js';
import { loadDetectorSpec, MODEL_ONNX } from './model-spec.js';
import { DEFAULT_ORT_MEMORY, OrtInstance } from './ort-instance.js';

/** One image's detections in pixels (the image's upright size), best first. */
export interface ImageDetections {
  readonly width: number;
  readonly height: number;
  readonly boxes: readonly {
    readonly classId: number;
    readonly score: number;
    readonly left: number;
    readonly top: number;
    readonly width: number;
    readonly height: number;
  }[];
}

/**
 * Runs the built-in detector of a model artifact (`model.tar.gz` of a training job) over images in
 * the object store, in-process with the hosting runtime's ONNX Runtime worker (the same decoding,
 * scaling and output handling as an endpoint). Used by the labeling loop to predict on its pool.
 * @throws DeployError (artifact missing or not loadable), InvokeError (an image not decodable).
 */
export async function detectWithArtifact(
  objects: ObjectStore,
  modelDataUrl: string,
  images: readonly { readonly bucket: string; readonly key: string }[],
): Promise<ImageDetections[]> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'apiary-detect-'));
  // fetchModelArtifact extracts into a folder that must not exist yet.
  const dir = path.join(tmp, 'model');
  // One short-lived session: mapping an ORT-format copy would only add the conversion.
  const instance = new OrtInstance(
    `detect-${path.basename(tmp)}`,
    path.join(dir, MODEL_ONNX),
    1,
    undefined,
    1,
    { ...DEFAULT_ORT_MEMORY, mappedModel: false },
  );
  try {
    await fetchModelArtifact(objects, modelDataUrl, dir);
    const spec = await loadDetectorSpec(dir);
    await instance.start();
    const out: ImageDetections[] = [];
    for (const img of images) {
      const body = await objects.getObjectBuffer(img.bucket, img.key);
      if (!body) throw new Error(`s3://${img.bucket}/${img.key} does not exist`);
      const decoded = await decodeImage(body, spec, {
        maxInputPixels: 50_000_000,
      });
      const r = await instance.run({
        [spec.inputName]: {
          type: 'float32',
          dims: [1, 3, spec.height, spec.width],
          data: decoded.tensor,
        },
      });
      const rows = toPredictions(
        {
          boxes: r.outputs[spec.boxesName]!.data as Float32Array,
          scores: r.outputs[spec.scoresName]!.data as Float32Array,
          labels: r.outputs[spec.labelsName]!.data as ArrayLike<number | bigint>,
        },
        { scoreThreshold: 0, topK: undefined },
      );
      const { width: w, height: h } = decoded;
      out.push({
        width: w,
        height: h,
        boxes: rows.map(([classId, score, x0, y0, x1, y1]) => ({
          classId,
          score,
          left: x0 * w,
          top: y0 * h,
          width: (x1 - x0) * w,
          height: (y1 - y0) * h,
        })),
      });
    }
    return out;
  } finally {
    await instance.stop();
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The `model.json` of a built-in detector's artifact, as written by the trainer (the labeling loop
 * reads `base_network`, `num_classes` and the input size to warm-start from it).
 * @throws DeployError when the artifact is missing or holds no readable model.json.
 */
export async function artifactModelJson(
  objects: ObjectStore,
  modelDataUrl: string,
): Promise<Record<string, unknown>> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'apiary-artifact-'));
  try {
    const dir = path.join(tmp, 'model');
    await fetchModelArtifact(objects, modelDataUrl, dir);
    await loadDetectorSpec(dir); // the same checks and messages as a deployment
    return JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8')) as Record<
      string,
      unknown
    >;
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
