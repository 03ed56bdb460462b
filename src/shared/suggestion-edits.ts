/**
 * What a worker did with a model's suggested boxes, as pure functions: imported by the server
 * (the job's record) and the worker portal (the live count), so both say the same.
 */
import type { LabeledBox, PixelRect } from './boxes.js';

/** Below this IoU a worker's box is not the suggestion moved but a new box (and the suggestion deleted). */
export const MOVED_MIN_IOU = 0.3;
/** At or above this IoU (same label) the suggestion counts as kept unchanged. */
export const KEPT_MIN_IOU = 0.95;

/** What a worker did with one suggestion, or a box they added. */
export interface SuggestionEdit {
  readonly action: 'kept' | 'moved' | 'deleted' | 'added';
  /** Index into the suggestions (absent for added). */
  readonly suggestion?: number;
  /** Index into the answer's boxes (absent for deleted). */
  readonly box?: number;
  /** IoU between the suggestion and the worker's box (kept/moved). */
  readonly iou?: number;
  readonly labelChanged?: boolean;
}

/** Intersection over union of two pixel rectangles. */
export function rectIou(a: PixelRect, b: PixelRect): number {
  const x0 = Math.max(a.left, b.left);
  const y0 = Math.max(a.top, b.top);
  const x1 = Math.min(a.left + a.width, b.left + b.width);
  const y1 = Math.min(a.top + a.height, b.top + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * What the worker did with the suggestions: a greedy one-to-one match, highest IoU first, over
 * pairs with IoU ≥ {@link MOVED_MIN_IOU}. A matched pair is `kept` (IoU ≥ {@link KEPT_MIN_IOU},
 * same label) or `moved`; an unmatched suggestion was `deleted`, an unmatched answer box `added`.
 * Matching on geometry (not on ids the portal sends) makes the record the same for any client.
 */
export function diffSuggestions(
  suggestions: readonly LabeledBox[],
  boxes: readonly LabeledBox[],
): SuggestionEdit[] {
  const pairs: { s: number; b: number; iou: number }[] = [];
  suggestions.forEach((s, si) =>
    boxes.forEach((b, bi) => {
      const v = rectIou(s, b);
      if (v >= MOVED_MIN_IOU) pairs.push({ s: si, b: bi, iou: v });
    }),
  );
  pairs.sort((x, y) => y.iou - x.iou || x.s - y.s || x.b - y.b);
  const usedS = new Set<number>();
  const usedB = new Set<number>();
  const edits: SuggestionEdit[] = [];
  for (const p of pairs) {
    if (usedS.has(p.s) || usedB.has(p.b)) continue;
    usedS.add(p.s);
    usedB.add(p.b);
    const labelChanged = suggestions[p.s]!.label !== boxes[p.b]!.label;
    const iouR = Math.round(p.iou * 1000) / 1000;
    edits.push({
      action: p.iou >= KEPT_MIN_IOU && !labelChanged ? 'kept' : 'moved',
      suggestion: p.s,
      box: p.b,
      iou: iouR,
      labelChanged,
    });
  }
  suggestions.forEach((_, si) => {
    if (!usedS.has(si)) edits.push({ action: 'deleted', suggestion: si });
  });
  boxes.forEach((_, bi) => {
    if (!usedB.has(bi)) edits.push({ action: 'added', box: bi });
  });
  return edits.sort(
    (a, b) => (a.suggestion ?? 1e9) - (b.suggestion ?? 1e9) || (a.box ?? 0) - (b.box ?? 0),
  );
}

/** How many of each action an edit list holds. */
export function countEdits(
  edits: readonly SuggestionEdit[],
): Record<SuggestionEdit['action'], number> {
  const out = { kept: 0, moved: 0, deleted: 0, added: 0 };
  for (const e of edits) out[e.action]++;
  return out;
}
