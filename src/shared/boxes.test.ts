import { describe, expect, it } from 'vitest';
import { BOX_PALETTE, colorForClass, detectionFromRow, parsePrediction } from './boxes.js';

describe('the shared box model', () => {
  it('names the fields of a prediction row and parses a whole answer', () => {
    expect(detectionFromRow([1, 0.5, 0.1, 0.2, 0.3, 0.4])).toEqual({
      classId: 1,
      score: 0.5,
      xmin: 0.1,
      ymin: 0.2,
      xmax: 0.3,
      ymax: 0.4,
    });
    // Extra trailing values (some detectors append more) are ignored.
    expect(parsePrediction({ prediction: [[0, 0.9, 0, 0, 1, 1, 7]] })).toEqual([
      { classId: 0, score: 0.9, xmin: 0, ymin: 0, xmax: 1, ymax: 1 },
    ]);
    expect(() => parsePrediction(null)).toThrow('The endpoint did not answer');
    expect(() => parsePrediction({ prediction: [[0, Infinity, 0, 0, 1, 1]] })).toThrow(
      'prediction[0] is not [class_id, score, xmin, ymin, xmax, ymax]',
    );
  });

  it('gives every class one colour, the same for the same class, wrapping around the palette', () => {
    expect(colorForClass(0)).toBe('#ff9900');
    expect(new Set(BOX_PALETTE.map((_, i) => colorForClass(i))).size).toBe(BOX_PALETTE.length);
    expect(colorForClass(BOX_PALETTE.length)).toBe(colorForClass(0));
    expect(colorForClass(-1)).toBe(colorForClass(1));
    expect(colorForClass(2.7)).toBe(colorForClass(2));
    expect(colorForClass(Number.NaN)).toBe(colorForClass(0));
  });
});
