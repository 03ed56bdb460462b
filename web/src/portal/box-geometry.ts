/**
 * Geometry of the box tool (pure; unit-tested in box-geometry.test.ts): the view transform
 * between image pixels and canvas pixels (fit, zoom about a point, pan), hit testing of boxes and
 * their resize handles, and the moves and resizes of a box kept inside the image.
 */
import type { LabeledBox, PixelRect } from '../../../src/shared/boxes.js';

export interface Size {
  readonly width: number;
  readonly height: number;
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

/** Canvas pixel = offset + image pixel × scale. */
export interface View {
  readonly scale: number;
  readonly ox: number;
  readonly oy: number;
}

/** Zoom limits: 2% (a 4000-px photo in 80 px) to 40× (single pixels are easy to hit). */
export const MIN_SCALE = 0.02;
export const MAX_SCALE = 40;
/** The side of a resize handle, in canvas pixels. */
export const HANDLE_PX = 7;
/** A drawn box smaller than this on screen (either side, canvas pixels) is a click, not a box. */
export const MIN_DRAW_PX = 4;
/** The smallest side a resize leaves, in image pixels. */
export const MIN_BOX_PX = 1;

/** The eight resize handles, clockwise from the top-left corner. */
export const HANDLES = ['nw', 'n', 'ne', 'e', 'se', 's', 'sw', 'w'] as const;
export type Handle = (typeof HANDLES)[number];

/** The whole image centred in the viewport, as large as fits. */
export function fitView(image: Size, viewport: Size): View {
  const scale = Math.min(viewport.width / image.width, viewport.height / image.height);
  return {
    scale,
    ox: (viewport.width - image.width * scale) / 2,
    oy: (viewport.height - image.height * scale) / 2,
  };
}

/** Zooms by `factor` keeping the canvas point (cx, cy) over the same image pixel; scale clamped. */
export function zoomAt(view: View, factor: number, cx: number, cy: number): View {
  const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, view.scale * factor));
  const k = scale / view.scale;
  return { scale, ox: cx - (cx - view.ox) * k, oy: cy - (cy - view.oy) * k };
}

/** The view a pan started at `start` reaches after the pointer moved (dx, dy) canvas pixels. */
export function panBy(start: View, dx: number, dy: number): View {
  return { ...start, ox: start.ox + dx, oy: start.oy + dy };
}

/** The image pixel under a canvas point. */
export function toImage(view: View, sx: number, sy: number): Point {
  return { x: (sx - view.ox) / view.scale, y: (sy - view.oy) / view.scale };
}

/** An image-pixel rectangle in canvas pixels. */
export function toScreen(view: View, r: PixelRect): PixelRect {
  return {
    left: view.ox + r.left * view.scale,
    top: view.oy + r.top * view.scale,
    width: r.width * view.scale,
    height: r.height * view.scale,
  };
}

/** The points of the eight handles of `r`, in the order of {@link HANDLES}. */
export function handlePoints(r: PixelRect): [number, number][] {
  const { left: x, top: y, width: w, height: h } = r;
  return [
    [x, y],
    [x + w / 2, y],
    [x + w, y],
    [x + w, y + h / 2],
    [x + w, y + h],
    [x + w / 2, y + h],
    [x, y + h],
    [x, y + h / 2],
  ];
}

/** The handle of `b` within `tolerance` (image pixels) of `p`, if any; corners win over edges. */
export function handleAt(b: PixelRect, p: Point, tolerance: number): Handle | undefined {
  const pts = handlePoints(b);
  for (let i = 0; i < pts.length; i++) {
    const [hx, hy] = pts[i]!;
    if (Math.abs(p.x - hx) <= tolerance && Math.abs(p.y - hy) <= tolerance) return HANDLES[i];
  }
  return undefined;
}

/**
 * The box under `p`: among the boxes that contain it (edges included), the smallest one, so a
 * box nested in another stays reachable; on equal areas the topmost (last drawn).
 */
export function boxAt(boxes: readonly PixelRect[], p: Point): number | undefined {
  let hit: number | undefined;
  for (let i = boxes.length - 1; i >= 0; i--) {
    const b = boxes[i]!;
    if (p.x >= b.left && p.x <= b.left + b.width && p.y >= b.top && p.y <= b.top + b.height) {
      if (hit === undefined || b.width * b.height < boxes[hit]!.width * boxes[hit]!.height) hit = i;
    }
  }
  return hit;
}

/** `p` moved inside the image (edges included). */
export function clampPoint(p: Point, image: Size): Point {
  return {
    x: Math.max(0, Math.min(image.width, p.x)),
    y: Math.max(0, Math.min(image.height, p.y)),
  };
}

/** The rectangle between two corners, whichever way the pointer went. */
export function rectBetween(a: Point, b: Point): PixelRect {
  return {
    left: Math.min(a.x, b.x),
    top: Math.min(a.y, b.y),
    width: Math.abs(b.x - a.x),
    height: Math.abs(b.y - a.y),
  };
}

/** `b` moved by (dx, dy) image pixels, stopped at the image's edges (its size never changes). */
export function moveBox<B extends PixelRect>(b: B, dx: number, dy: number, image: Size): B {
  return {
    ...b,
    left: Math.max(0, Math.min(image.width - b.width, b.left + dx)),
    top: Math.max(0, Math.min(image.height - b.height, b.top + dy)),
  };
}

/**
 * `b` with the sides of `handle` dragged to `p` (already clamped to the image by the caller);
 * dragging past the opposite side flips the box; no side gets below {@link MIN_BOX_PX}.
 */
export function resizeBox<B extends PixelRect>(b: B, handle: Handle, p: Point): B {
  let x1 = b.left;
  let y1 = b.top;
  let x2 = b.left + b.width;
  let y2 = b.top + b.height;
  if (handle.includes('w')) x1 = p.x;
  if (handle.includes('e')) x2 = p.x;
  if (handle.includes('n')) y1 = p.y;
  if (handle.includes('s')) y2 = p.y;
  return {
    ...b,
    left: Math.min(x1, x2),
    top: Math.min(y1, y2),
    width: Math.max(MIN_BOX_PX, Math.abs(x2 - x1)),
    height: Math.max(MIN_BOX_PX, Math.abs(y2 - y1)),
  };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** Coordinates rounded to a tenth of a pixel, as answers are stored. */
export function roundBox<B extends PixelRect>(b: B): B {
  return {
    ...b,
    left: round1(b.left),
    top: round1(b.top),
    width: round1(b.width),
    height: round1(b.height),
  };
}

/** Whether a drawn rectangle is a box rather than a click (both sides ≥ MIN_DRAW_PX on screen). */
export function bigEnough(r: PixelRect, scale: number): boolean {
  return r.width * scale >= MIN_DRAW_PX && r.height * scale >= MIN_DRAW_PX;
}

/** A new labelled box from a drawn rectangle. */
export function newBox(r: PixelRect, label: string): LabeledBox {
  return roundBox({ label, left: r.left, top: r.top, width: r.width, height: r.height });
}
