import type { Answer, Box, JobSpec } from './model.js';
import { TaskError } from './task-error.js';

/** Most boxes one answer may hold. */
const MAX_BOXES = 2000;

/**
 * Checks a submitted answer against the job: known labels, finite pixel boxes inside the image
 * (clipped to it; degenerate ones dropped).
 * @throws TaskError Invalid, saying what was wrong.
 */
export function validateAnswer(spec: JobSpec, raw: unknown): Answer {
  const bad = (msg: string): never => {
    throw new TaskError('Invalid', msg);
  };
  if (!raw || typeof raw !== 'object') bad('The answer must be a JSON object');
  const a = raw as Record<string, unknown>;
  const knownLabel = (l: unknown): string => {
    if (typeof l !== 'string' || !spec.labels.includes(l))
      bad(
        `Unknown label ${JSON.stringify(l)?.slice(0, 100)}; the job's labels are ${spec.labels.join(', ')}`,
      );
    return l as string;
  };
  switch (spec.taskType) {
    case 'bounding-box':
    case 'adjustment-bounding-box': {
      const w = a.imageWidth;
      const h = a.imageHeight;
      if (
        !Number.isInteger(w) ||
        !Number.isInteger(h) ||
        (w as number) < 1 ||
        (h as number) < 1 ||
        (w as number) > 100_000 ||
        (h as number) > 100_000
      ) {
        bad('imageWidth and imageHeight must be the image size in pixels');
      }
      if (!Array.isArray(a.boxes)) bad('boxes must be an array');
      const boxes = a.boxes as unknown[];
      if (boxes.length > MAX_BOXES) bad(`At most ${MAX_BOXES} boxes per image`);
      const out: Box[] = [];
      for (const b of boxes) {
        const x = b as Record<string, unknown>;
        const nums = [x.left, x.top, x.width, x.height];
        if (!nums.every((n) => typeof n === 'number' && Number.isFinite(n)))
          bad('Every box needs numeric left, top, width, height');
        const left = Math.max(0, Math.min(x.left as number, w as number));
        const top = Math.max(0, Math.min(x.top as number, h as number));
        const right = Math.max(
          left,
          Math.min((x.left as number) + (x.width as number), w as number),
        );
        const bottom = Math.max(
          top,
          Math.min((x.top as number) + (x.height as number), h as number),
        );
        if (right - left < 1 || bottom - top < 1) continue; // a degenerate box carries no information
        out.push({
          label: knownLabel(x.label),
          left,
          top,
          width: right - left,
          height: bottom - top,
        });
      }
      return {
        kind: 'boxes',
        boxes: out,
        imageWidth: w as number,
        imageHeight: h as number,
        ...(spec.taskType === 'adjustment-bounding-box'
          ? { initialValueModified: Boolean(a.initialValueModified) }
          : {}),
      };
    }
    case 'image-classification':
      return { kind: 'label', label: knownLabel(a.label) };
    case 'image-classification-multilabel': {
      if (!Array.isArray(a.labels)) bad('labels must be an array');
      return { kind: 'labels', labels: [...new Set((a.labels as unknown[]).map(knownLabel))] };
    }
    case 'verification-bounding-box': {
      const comment = typeof a.comment === 'string' ? a.comment.slice(0, 2000) : undefined;
      return { kind: 'verification', label: knownLabel(a.label), ...(comment ? { comment } : {}) };
    }
  }
}
