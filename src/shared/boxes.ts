/**
 * The one box and detection model of Apiary, and the one palette: imported by the server (CLI
 * drawing, the hosting runtime's types, labeling), the console and the worker portal, so a class
 * has the same shape and the same colour everywhere. Pure: no Node or DOM APIs (the browser
 * bundle imports this file directly).
 */

/** A rectangle in image pixels, top-left origin. */
export interface PixelRect {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** A box with its label's name, as crowd-bounding-box answers and the box tool hold them. */
export interface LabeledBox extends PixelRect {
  readonly label: string;
}

/** A Ground Truth box in the pixels of the labelled image: class id, optional confidence. */
export interface PixelBox extends PixelRect {
  readonly classId: number;
  readonly confidence?: number;
}

/**
 * One row of the built-in detector's answer, `[class_id, score, xmin, ymin, xmax, ymax]`, with
 * coordinates normalized to [0, 1] (SageMaker's object-detection response).
 */
export type PredictionRow = [
  classId: number,
  score: number,
  xmin: number,
  ymin: number,
  xmax: number,
  ymax: number,
];

/** A {@link PredictionRow} with named fields; coordinates normalized to [0, 1]. */
export interface Detection {
  readonly classId: number;
  readonly score: number;
  readonly xmin: number;
  readonly ymin: number;
  readonly xmax: number;
  readonly ymax: number;
}

/** The named form of one prediction row. */
export function detectionFromRow([
  classId,
  score,
  xmin,
  ymin,
  xmax,
  ymax,
]: Readonly<PredictionRow>): Detection {
  return { classId, score, xmin, ymin, xmax, ymax };
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Reads `{"prediction": [[class_id, score, xmin, ymin, xmax, ymax], ...]}`.
 * @throws Error naming what is wrong when the body is not in that shape.
 */
export function parsePrediction(body: unknown): Detection[] {
  const p = (body as { prediction?: unknown } | null)?.prediction;
  if (!Array.isArray(p))
    throw new Error(
      'The endpoint did not answer {"prediction": [[class_id, score, xmin, ymin, xmax, ymax], ...]}',
    );
  return p.map((row: unknown, i) => {
    if (!Array.isArray(row) || row.length < 6 || !row.slice(0, 6).every(finite)) {
      throw new Error(`prediction[${i}] is not [class_id, score, xmin, ymin, xmax, ymax]`);
    }
    return detectionFromRow(row.slice(0, 6) as PredictionRow);
  });
}

/**
 * The palette of classes: readable on photos, one colour per label hotkey 1–9 of the worker
 * portal (its label swatches take their colours from here too).
 */
export const BOX_PALETTE = [
  '#ff9900',
  '#00a1c9',
  '#e7157b',
  '#7aa116',
  '#8c4fff',
  '#ff5d64',
  '#01a88d',
  '#f2c80f',
  '#3184c2',
] as const;

/** The colour of class (or label index) `i`; stable, wraps around the palette, negatives fold. */
export function colorForClass(i: number): string {
  const n = Number.isFinite(i) ? Math.abs(Math.trunc(i)) : 0;
  return BOX_PALETTE[n % BOX_PALETTE.length]!;
}
