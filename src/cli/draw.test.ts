import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { BOX_PALETTE } from '../shared/boxes.js';
import { drawDetections } from './draw.js';

const hex = (c: string) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));

describe('drawDetections', () => {
  it('draws each class in the colour the console gives it', async () => {
    const black = await sharp({
      create: { width: 200, height: 200, channels: 3, background: '#000000' },
    })
      .png()
      .toBuffer();
    const png = await drawDetections(
      black,
      [
        { classId: 0, score: 0.9, xmin: 0.1, ymin: 0.3, xmax: 0.4, ymax: 0.9 },
        { classId: 1, score: 0.8, xmin: 0.6, ymin: 0.3, xmax: 0.9, ymax: 0.9 },
      ],
      ['bee', 'wasp'],
    );
    const { data, info } = await sharp(png)
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => [
      ...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3),
    ];
    // The middle of each box's left edge.
    expect(at(20, 120)).toEqual(hex(BOX_PALETTE[0]));
    expect(at(120, 120)).toEqual(hex(BOX_PALETTE[1]));
    // Inside the boxes the picture is untouched.
    expect(at(50, 120)).toEqual([0, 0, 0]);
  });
});
