/**
 * Box logic of the console (pure, no DOM; unit-tested in test/console-lib.test.ts): parsing the
 * built-in detector's answer, the confidence threshold and best-N selection of the test
 * invocation, and scaling Ground Truth boxes and normalized detections onto a displayed image.
 */
import { colorForClass, type Detection, type PixelBox } from '../../../src/shared/boxes.js';

export type { Detection, PixelBox } from '../../../src/shared/boxes.js';
export { parsePrediction } from '../../../src/shared/boxes.js';

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/**
 * What the tutorial's last cell shows: detections at or above `threshold`, best first, at most
 * `bestN` of them (all when bestN is undefined or 0). Ties keep the endpoint's order.
 */
export function selectDetections(
  dets: readonly Detection[],
  options: { threshold: number; bestN?: number },
): Detection[] {
  const kept = dets
    .map((d, i) => ({ d, i }))
    .filter(({ d }) => d.score >= options.threshold)
    .sort((a, b) => b.d.score - a.d.score || a.i - b.i)
    .map(({ d }) => d);
  return options.bestN && options.bestN > 0 ? kept.slice(0, options.bestN) : kept;
}

const clamp01 = (v: number): number => Math.min(1, Math.max(0, v));

/** A normalized detection in the pixels of an image displayed at width × height. */
export function detectionRect(d: Detection, width: number, height: number): Rect {
  const x1 = clamp01(Math.min(d.xmin, d.xmax));
  const x2 = clamp01(Math.max(d.xmin, d.xmax));
  const y1 = clamp01(Math.min(d.ymin, d.ymax));
  const y2 = clamp01(Math.max(d.ymin, d.ymax));
  return { x: x1 * width, y: y1 * height, w: (x2 - x1) * width, h: (y2 - y1) * height };
}

/**
 * A Ground Truth box on the image as displayed: the manifest's pixels are those of `imageSize`
 * (falls back to the natural size of the image when the manifest has none).
 */
export function pixelBoxRect(
  b: PixelBox,
  imageSize: { width: number; height: number },
  displayWidth: number,
  displayHeight: number,
): Rect {
  const sx = displayWidth / imageSize.width;
  const sy = displayHeight / imageSize.height;
  return { x: b.left * sx, y: b.top * sy, w: b.width * sx, h: b.height * sy };
}

/** A stable, distinguishable color per class: the palette shared with the server and the portal. */
export const colorFor = colorForClass;

/** "bee 0.87", or "class 3 0.87" when the class has no name. */
export function detectionLabel(
  d: { classId: number; score?: number; confidence?: number },
  classNames: Readonly<Record<string, string>> | readonly string[] = {},
): string {
  const key = String(Math.trunc(d.classId));
  const names = classNames as Record<string, string | undefined>;
  const name = names[key] ?? `class ${key}`;
  const s = d.score ?? d.confidence;
  return s === undefined ? name : `${name} ${s.toFixed(2)}`;
}
