import type { PredictionRow } from '../../shared/boxes.js';
import { InvokeError } from './errors.js';

/**
 * Per-request options of the built-in detector, read from `X-Amzn-SageMaker-Custom-Attributes`:
 * `key=value` pairs separated by `;` (spaces around them ignored), e.g. `score_threshold=0.3;top_k=5`.
 * Known keys: `score_threshold` (0..1, keep detections with score ≥ it; default 0 = all the model
 * returned) and `top_k` (1..10000, keep the best k). Other pairs are ignored and the whole header is
 * passed back verbatim in the response, as SageMaker passes it to and from a container.
 */
export interface DetectionOptions {
  readonly scoreThreshold: number;
  readonly topK: number | undefined;
}

export function parseCustomAttributes(header: string | undefined): DetectionOptions {
  let scoreThreshold = 0;
  let topK: number | undefined;
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (key === 'score_threshold') {
      const v = Number(value);
      if (value === '' || !Number.isFinite(v) || v < 0 || v > 1) {
        throw new InvokeError(
          'ValidationError',
          `CustomAttributes score_threshold='${value.slice(0, 40)}' must be a number between 0 and 1, e.g. "score_threshold=0.3;top_k=5".`,
        );
      }
      scoreThreshold = v;
    } else if (key === 'top_k') {
      if (!/^\d{1,5}$/.test(value) || Number(value) < 1) {
        throw new InvokeError(
          'ValidationError',
          `CustomAttributes top_k='${value.slice(0, 40)}' must be an integer between 1 and 10000, e.g. "score_threshold=0.3;top_k=5".`,
        );
      }
      topK = Math.min(Number(value), 10_000);
    }
  }
  return { scoreThreshold, topK };
}

export type ResponseFormat = 'prediction' | 'annotation';

/** `Accept`: application/json (default, also `*\/*` or absent) or `application/json;annotation=1`. */
export function parseAccept(accept: string | undefined): ResponseFormat {
  if (accept === undefined || accept.trim() === '') return 'prediction';
  let best: ResponseFormat | undefined;
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';').map((s) => s.trim().toLowerCase());
    if (type !== 'application/json' && type !== '*/*' && type !== 'application/*') continue;
    const annotation = params.some((p) => p.replace(/\s+/g, '') === 'annotation=1');
    if (annotation && type === 'application/json') return 'annotation';
    best ??= 'prediction';
  }
  if (best) return best;
  throw new InvokeError(
    'ValidationError',
    `Accept '${accept.slice(0, 100)}' is not supported by the object-detection model; use application/json or application/json;annotation=1.`,
  );
}

/** One image's raw outputs: views into the batch's tensors. */
export interface RawDetections {
  readonly boxes: Float32Array; // D*4
  readonly scores: Float32Array; // D
  readonly labels: ArrayLike<number | bigint>; // D
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
const round6 = (v: number) => Math.round(v * 1e6) / 1e6;

/**
 * Turns the padded outputs into `[[class_id, score, xmin, ymin, xmax, ymax], …]` (normalised,
 * best first). Padding rows (score 0) are dropped; coordinates are clamped to [0, 1].
 * @throws InvokeError ModelError when the model produced NaN or infinite values.
 */
export function toPredictions(raw: RawDetections, opts: DetectionOptions): PredictionRow[] {
  const out: PredictionRow[] = [];
  const d = raw.scores.length;
  for (let i = 0; i < d; i++) {
    const score = raw.scores[i]!;
    const b0 = raw.boxes[i * 4]!,
      b1 = raw.boxes[i * 4 + 1]!,
      b2 = raw.boxes[i * 4 + 2]!,
      b3 = raw.boxes[i * 4 + 3]!;
    if (
      !Number.isFinite(score) ||
      !Number.isFinite(b0) ||
      !Number.isFinite(b1) ||
      !Number.isFinite(b2) ||
      !Number.isFinite(b3)
    ) {
      throw new InvokeError('ModelError', 'The model returned NaN or infinite values', {
        originalStatusCode: 500,
        originalMessage: `detection ${i} holds a non-finite value (score ${score}, box [${b0}, ${b1}, ${b2}, ${b3}])`,
      });
    }
    if (score <= 0 || score < opts.scoreThreshold) continue;
    const label = Number(raw.labels[i]!);
    out.push([
      label,
      round6(clamp01(score)),
      round6(clamp01(Math.min(b0, b2))),
      round6(clamp01(Math.min(b1, b3))),
      round6(clamp01(Math.max(b0, b2))),
      round6(clamp01(Math.max(b1, b3))),
    ]);
  }
  out.sort((a, b) => b[1] - a[1]);
  return opts.topK !== undefined ? out.slice(0, opts.topK) : out;
}

/** The response body in the requested format (spec §4.3). */
export function formatResponse(
  predictions: readonly PredictionRow[],
  format: ResponseFormat,
  width: number,
  height: number,
): string {
  if (format === 'prediction') return JSON.stringify({ prediction: predictions });
  return JSON.stringify({
    image_size: [{ width, height, depth: 3 }],
    annotations: predictions.map(([cls, score, x0, y0, x1, y1]) => {
      const left = Math.round(x0 * width);
      const top = Math.round(y0 * height);
      return {
        class_id: cls,
        score,
        left,
        top,
        width: Math.round(x1 * width) - left,
        height: Math.round(y1 * height) - top,
      };
    }),
  });
}
