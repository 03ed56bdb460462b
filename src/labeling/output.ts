import type { ClassificationResult, ConsolidatedBox } from './consolidation.js';
import { roundBox } from './consolidation.js';
import type { Answer, Box, TaskType } from './model.js';

/** Ground Truth's output formats (the output manifest and its metadata, as SageMaker writes them), built from Apiary's records. */

/** `2018-10-18T22:18:13.527256`: UTC, microseconds, no zone suffix. */
export const gtCreationDate = (ms: number): string =>
  new Date(ms).toISOString().replace('Z', '') + '000';

/** `2018-10-18T22:18:13.527Z`, as answers' acceptance and submission times. */
export const gtTimestamp = (ms: number): string => new Date(ms).toISOString();

/** One object's consolidated answer, by task type: boxes, a label, several labels, or a verification. */
export type Consolidated =
  | {
      readonly kind: 'boxes';
      readonly boxes: readonly ConsolidatedBox[];
      readonly imageWidth: number;
      readonly imageHeight: number;
      readonly adjusted?: boolean;
      /** Labelled by the active-learning loop's model, not by people. */
      readonly machine?: boolean;
    }
  | { readonly kind: 'label'; readonly result: ClassificationResult }
  | { readonly kind: 'labels'; readonly results: readonly ClassificationResult[] }
  | {
      readonly kind: 'verification';
      readonly result: ClassificationResult;
      readonly comments: readonly string[];
    };

/** The `<attr>` and `<attr>-metadata` members of one output manifest line. */
export function labelMembers(input: {
  attr: string;
  jobName: string;
  taskType: TaskType;
  labels: readonly string[];
  result: Consolidated;
  completedAtMs: number;
}): Record<string, unknown> {
  const { attr, labels, result } = input;
  const common = {
    'human-annotated': result.kind === 'boxes' && result.machine ? 'no' : 'yes',
    'creation-date': gtCreationDate(input.completedAtMs),
    'job-name': `labeling-job/${input.jobName}`,
  };
  const classId = (label: string): number => {
    const i = labels.indexOf(label);
    return i < 0 ? labels.length : i;
  };
  switch (result.kind) {
    case 'boxes': {
      const boxes = result.boxes.map(roundBox);
      const classMap: Record<string, string> = {};
      for (const b of boxes) classMap[String(classId(b.label))] = b.label;
      return {
        [attr]: {
          image_size: [{ width: result.imageWidth, height: result.imageHeight, depth: 3 }],
          annotations: boxes.map((b) => ({
            class_id: classId(b.label),
            left: b.left,
            top: b.top,
            width: b.width,
            height: b.height,
          })),
        },
        [`${attr}-metadata`]: {
          objects: boxes.map((b) => ({ confidence: b.confidence })),
          'class-map': sortKeys(classMap),
          type: 'groundtruth/object-detection',
          ...common,
          ...(input.taskType === 'adjustment-bounding-box'
            ? { 'adjustment-status': result.adjusted ? 'adjusted' : 'unadjusted' }
            : {}),
        },
      };
    }
    case 'label':
      return {
        [attr]: classId(result.result.label),
        [`${attr}-metadata`]: {
          confidence: result.result.confidence,
          'class-name': result.result.label,
          type: 'groundtruth/image-classification',
          ...common,
        },
      };
    case 'labels': {
      const classMap: Record<string, string> = {};
      const confidenceMap: Record<string, number> = {};
      for (const r of result.results) {
        classMap[String(classId(r.label))] = r.label;
        confidenceMap[String(classId(r.label))] = r.confidence;
      }
      return {
        [attr]: result.results.map((r) => classId(r.label)).sort((a, b) => a - b),
        [`${attr}-metadata`]: {
          'class-map': sortKeys(classMap),
          'confidence-map': sortKeys(confidenceMap),
          type: 'groundtruth/image-classification-multilabel',
          ...common,
        },
      };
    }
    case 'verification':
      return {
        [attr]: classId(result.result.label),
        [`${attr}-metadata`]: {
          confidence: result.result.confidence,
          'class-name': result.result.label,
          type: 'groundtruth/label-verification',
          ...common,
          ...(result.comments.length
            ? { 'worker-feedback': result.comments.map((comment) => ({ comment })) }
            : {}),
        },
      };
  }
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort((a, b) => Number(a) - Number(b))) out[k] = o[k]!;
  return out;
}

/** The crowd element's answer (`answerContent`) as Ground Truth stores a worker's response. */
export function answerContent(answer: Answer): Record<string, unknown> {
  switch (answer.kind) {
    case 'boxes':
      return {
        boundingBox: {
          boundingBoxes: answer.boxes.map((b: Box) => ({
            height: Math.round(b.height),
            label: b.label,
            left: Math.round(b.left),
            top: Math.round(b.top),
            width: Math.round(b.width),
          })),
          inputImageProperties: { height: answer.imageHeight, width: answer.imageWidth },
          ...(answer.initialValueModified !== undefined
            ? { initialValueModified: answer.initialValueModified }
            : {}),
        },
      };
    case 'label':
      return { 'crowd-image-classifier': { label: answer.label } };
    case 'labels':
      return { 'crowd-image-classifier-multi-select': { labels: [...answer.labels] } };
    case 'verification':
      return {
        'crowd-classifier': {
          label: answer.label,
          ...(answer.comment ? { comment: answer.comment } : {}),
        },
      };
  }
}

/** The boxes of an earlier Ground Truth object-detection label (adjustment / verification input). */
export function boxesFromLabel(
  line: Record<string, unknown>,
  attr: string | undefined,
): { boxes: Box[]; width?: number; height?: number } | undefined {
  const candidates = attr ? [attr] : Object.keys(line).filter((k) => !k.endsWith('-metadata'));
  for (const key of candidates) {
    const value = line[key] as { annotations?: unknown; image_size?: unknown } | undefined;
    const meta = line[`${key}-metadata`] as
      { 'class-map'?: Record<string, string>; type?: string } | undefined;
    if (!value || typeof value !== 'object' || !Array.isArray(value.annotations)) continue;
    if (!attr && meta?.type !== 'groundtruth/object-detection') continue;
    const classMap = meta?.['class-map'] ?? {};
    const boxes: Box[] = [];
    for (const a of value.annotations as {
      class_id?: unknown;
      left?: unknown;
      top?: unknown;
      width?: unknown;
      height?: unknown;
    }[]) {
      if (
        [a.left, a.top, a.width, a.height].every((v) => typeof v === 'number' && Number.isFinite(v))
      ) {
        boxes.push({
          label: classMap[String(a.class_id)] ?? String(a.class_id),
          left: a.left as number,
          top: a.top as number,
          width: a.width as number,
          height: a.height as number,
        });
      }
    }
    const size = Array.isArray(value.image_size)
      ? (value.image_size[0] as { width?: number; height?: number } | undefined)
      : undefined;
    return { boxes, width: size?.width, height: size?.height };
  }
  return undefined;
}
