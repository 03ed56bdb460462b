import fsp from 'node:fs/promises';
import path from 'node:path';
import { DeployError } from './errors.js';
import { textOf } from '../../shared/text.js';

/**
 * What the runtime needs from the built-in detector's `model.json` (written by
 * algorithms/object-detection/apiary_od/export.py): the input size and scaling, output names and
 * the fixed detection count. Normalisation by mean/std is done inside the graph
 * (`input.normalization: "in-graph"`); when a model says otherwise the runtime applies mean/std.
 */
export interface DetectorSpec {
  readonly inputName: string;
  readonly width: number;
  readonly height: number;
  /** Pixels are divided by this (255 → [0, 1]). */
  readonly scale: number;
  /** Applied by the runtime only when normalization is not in-graph. */
  readonly mean: readonly [number, number, number] | undefined;
  readonly std: readonly [number, number, number] | undefined;
  readonly boxesName: string;
  readonly scoresName: string;
  readonly labelsName: string;
  readonly maxDetections: number;
  readonly classNames: readonly string[];
  /** The model's own score threshold (already applied in-graph). */
  readonly scoreThreshold: number;
}

const MODEL_JSON = 'model.json';
export const MODEL_ONNX = 'model.onnx';

function num(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new DeployError(
      `model.json: ${what} must be a number between ${min} and ${max} (got ${JSON.stringify(v)})`,
    );
  }
  return v;
}

function triple(v: unknown, what: string, min: number): readonly [number, number, number] {
  if (!Array.isArray(v) || v.length !== 3)
    throw new DeployError(`model.json: ${what} must be 3 numbers`);
  return [num(v[0], what, min, 1e6), num(v[1], what, min, 1e6), num(v[2], what, min, 1e6)];
}

/** Parses and checks model.json. @throws DeployError naming the field. */
export function parseDetectorSpec(raw: unknown): DetectorSpec {
  if (typeof raw !== 'object' || raw === null)
    throw new DeployError('model.json must hold a JSON object');
  const m = raw as Record<string, any>;
  if (m.task !== undefined && m.task !== 'object-detection') {
    throw new DeployError(
      `model.json: task '${String(m.task)}' is not supported by the built-in runtime (object-detection only)`,
    );
  }
  const input = (m.input ?? {}) as Record<string, unknown>;
  const output = (m.output ?? {}) as Record<string, unknown>;
  const post = (m.postprocess ?? {}) as Record<string, unknown>;
  if (input.layout !== undefined && input.layout !== 'NCHW')
    throw new DeployError(
      `model.json: input.layout '${textOf(input.layout)}' is not supported (NCHW only)`,
    );
  if (input.color !== undefined && input.color !== 'RGB')
    throw new DeployError(
      `model.json: input.color '${textOf(input.color)}' is not supported (RGB only)`,
    );
  if (input.resize !== undefined && input.resize !== 'stretch')
    throw new DeployError(
      `model.json: input.resize '${textOf(input.resize)}' is not supported (stretch only)`,
    );
  if (output.box_format !== undefined && output.box_format !== 'xyxy')
    throw new DeployError(
      `model.json: output.box_format '${textOf(output.box_format)}' is not supported (xyxy only)`,
    );
  if (output.normalized === false)
    throw new DeployError('model.json: output.normalized must be true (boxes in [0, 1])');
  const inGraph = input.normalization === undefined || input.normalization === 'in-graph';
  const classNames = Array.isArray(m.class_names) ? (m.class_names as unknown[]).map(String) : [];
  return {
    inputName: typeof input.name === 'string' ? input.name : 'images',
    width: num(input.width, 'input.width', 1, 8192),
    height: num(input.height, 'input.height', 1, 8192),
    scale: input.scale === undefined ? 255 : num(input.scale, 'input.scale', 1e-9, 1e9),
    mean: inGraph ? undefined : triple(input.mean, 'input.mean', -1e6),
    std: inGraph ? undefined : triple(input.std, 'input.std', 1e-9),
    boxesName: typeof output.boxes === 'string' ? output.boxes : 'boxes',
    scoresName: typeof output.scores === 'string' ? output.scores : 'scores',
    labelsName: typeof output.labels === 'string' ? output.labels : 'labels',
    maxDetections: num(
      output.max_detections ?? post.max_detections ?? 200,
      'output.max_detections',
      1,
      100_000,
    ),
    classNames,
    scoreThreshold:
      post.score_threshold === undefined
        ? 0
        : num(post.score_threshold, 'postprocess.score_threshold', 0, 1),
  };
}

/** Reads `<dir>/model.json` and checks `<dir>/model.onnx` exists. @throws DeployError */
export async function loadDetectorSpec(dir: string): Promise<DetectorSpec> {
  let text: string;
  try {
    await fsp.access(path.join(dir, MODEL_ONNX));
  } catch {
    throw new DeployError(
      'model.tar.gz holds no model.onnx; the built-in object-detection runtime needs model.onnx and model.json at the top of the archive',
    );
  }
  try {
    text = await fsp.readFile(path.join(dir, MODEL_JSON), 'utf8');
  } catch {
    throw new DeployError(
      'model.tar.gz holds no model.json; the built-in object-detection runtime needs model.onnx and model.json at the top of the archive',
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DeployError(`model.json is not valid JSON: ${(e as Error).message}`);
  }
  return parseDetectorSpec(raw);
}
