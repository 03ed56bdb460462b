import { describe, expect, it } from 'vitest';
import {
  bigEnough,
  boxAt,
  clampPoint,
  fitView,
  handleAt,
  handlePoints,
  MAX_SCALE,
  MIN_SCALE,
  moveBox,
  newBox,
  panBy,
  rectBetween,
  resizeBox,
  roundBox,
  toImage,
  toScreen,
  zoomAt,
} from './box-geometry.js';

const box = (left: number, top: number, width: number, height: number) => ({
  label: 'bee',
  left,
  top,
  width,
  height,
});
const image = { width: 400, height: 300 };

describe('box tool geometry: the view', () => {
  it('fits the whole image centred in the viewport', () => {
    expect(fitView(image, { width: 800, height: 800 })).toEqual({ scale: 2, ox: 0, oy: 100 });
    expect(fitView({ width: 4000, height: 3000 }, { width: 400, height: 600 })).toEqual({
      scale: 0.1,
      ox: 0,
      oy: 150,
    });
  });

  it('maps canvas points to image pixels and back', () => {
    const view = { scale: 2, ox: 10, oy: 20 };
    expect(toImage(view, 30, 60)).toEqual({ x: 10, y: 20 });
    expect(toScreen(view, { left: 10, top: 20, width: 5, height: 6 })).toEqual({
      left: 30,
      top: 60,
      width: 10,
      height: 12,
    });
  });

  it('zooms about the pointer: the pixel under it stays under it', () => {
    const view = { scale: 1, ox: 0, oy: 0 };
    const before = toImage(view, 100, 50);
    const zoomed = zoomAt(view, 2, 100, 50);
    expect(zoomed.scale).toBe(2);
    expect(toImage(zoomed, 100, 50)).toEqual(before);
  });

  it('keeps the zoom between its limits', () => {
    expect(zoomAt({ scale: 30, ox: 0, oy: 0 }, 10, 0, 0).scale).toBe(MAX_SCALE);
    expect(zoomAt({ scale: 0.05, ox: 0, oy: 0 }, 0.01, 0, 0).scale).toBe(MIN_SCALE);
  });

  it('pans from where the pan started', () => {
    expect(panBy({ scale: 3, ox: 5, oy: 5 }, 10, -20)).toEqual({ scale: 3, ox: 15, oy: -15 });
  });
});

describe('box tool geometry: hit testing', () => {
  it('places the eight handles clockwise from the top-left corner and finds the one under the pointer', () => {
    expect(handlePoints({ left: 0, top: 0, width: 10, height: 20 })).toEqual([
      [0, 0],
      [5, 0],
      [10, 0],
      [10, 10],
      [10, 20],
      [5, 20],
      [0, 20],
      [0, 10],
    ]);
    const b = box(100, 100, 50, 40);
    expect(handleAt(b, { x: 101, y: 99 }, 2)).toBe('nw');
    expect(handleAt(b, { x: 150, y: 120 }, 2)).toBe('e');
    expect(handleAt(b, { x: 125, y: 141 }, 2)).toBe('s');
    expect(handleAt(b, { x: 125, y: 120 }, 2)).toBeUndefined();
    expect(handleAt(b, { x: 104, y: 100 }, 2)).toBeUndefined();
  });

  it('picks the smallest box under the pointer, edges included, and nothing on empty space', () => {
    const boxes = [box(0, 0, 200, 200), box(50, 50, 20, 20), box(40, 40, 100, 100)];
    expect(boxAt(boxes, { x: 55, y: 55 })).toBe(1);
    expect(boxAt(boxes, { x: 100, y: 100 })).toBe(2);
    expect(boxAt(boxes, { x: 200, y: 200 })).toBe(0);
    expect(boxAt(boxes, { x: 201, y: 10 })).toBeUndefined();
    expect(boxAt([], { x: 1, y: 1 })).toBeUndefined();
  });

  it('gives the topmost of two equal boxes', () => {
    expect(boxAt([box(0, 0, 10, 10), box(0, 0, 10, 10)], { x: 5, y: 5 })).toBe(1);
  });
});

describe('box tool geometry: editing a box', () => {
  it('clamps points to the image', () => {
    expect(clampPoint({ x: -5, y: 500 }, image)).toEqual({ x: 0, y: 300 });
    expect(clampPoint({ x: 12, y: 13 }, image)).toEqual({ x: 12, y: 13 });
  });

  it('builds a rectangle from corners dragged in any direction', () => {
    expect(rectBetween({ x: 50, y: 10 }, { x: 20, y: 40 })).toEqual({
      left: 20,
      top: 10,
      width: 30,
      height: 30,
    });
  });

  it('moves a box but stops it at the edges of the image', () => {
    expect(moveBox(box(10, 10, 50, 50), 5, 6, image)).toEqual(box(15, 16, 50, 50));
    expect(moveBox(box(10, 10, 50, 50), -100, 1000, image)).toEqual(box(0, 250, 50, 50));
  });

  it('resizes by a corner or an edge, flips past the opposite side and keeps at least a pixel', () => {
    const b = box(100, 100, 50, 40);
    expect(resizeBox(b, 'se', { x: 200, y: 200 })).toEqual(box(100, 100, 100, 100));
    expect(resizeBox(b, 'n', { x: 0, y: 90 })).toEqual(box(100, 90, 50, 50));
    expect(resizeBox(b, 'w', { x: 170, y: 0 })).toEqual(box(150, 100, 20, 40));
    expect(resizeBox(b, 'e', { x: 100, y: 0 })).toEqual(box(100, 100, 1, 40));
  });

  it('rounds to a tenth of a pixel and tells boxes from clicks by their size on screen', () => {
    expect(roundBox(box(1.04, 2.06, 3.15, 4.449))).toEqual(box(1, 2.1, 3.2, 4.4));
    expect(newBox({ left: 1.04, top: 2, width: 3, height: 4 }, 'drone')).toEqual({
      label: 'drone',
      left: 1,
      top: 2,
      width: 3,
      height: 4,
    });
    expect(bigEnough({ left: 0, top: 0, width: 2, height: 2 }, 2)).toBe(true);
    expect(bigEnough({ left: 0, top: 0, width: 2, height: 2 }, 1.5)).toBe(false);
    expect(bigEnough({ left: 0, top: 0, width: 100, height: 3 }, 1)).toBe(false);
  });
});
