import sharp from 'sharp';
import { colorForClass, type Detection } from '../shared/boxes.js';

export type { Detection } from '../shared/boxes.js';

const escapeXml = (s: string): string =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

/**
 * Draws detections on an image and returns a PNG, as the tutorial's plotting cell does: a box per
 * detection with its class name and score.
 */
export async function drawDetections(
  image: Buffer,
  detections: readonly Detection[],
  classNames: readonly string[] = ['bee'],
): Promise<Buffer> {
  const base = sharp(image).rotate();
  const { width, height } = await base.metadata().then(async (m) => {
    // .rotate() applies EXIF orientation; swap the sides for 90° orientations.
    const swap = (m.orientation ?? 1) >= 5;
    return { width: swap ? m.height : m.width, height: swap ? m.width : m.height };
  });
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 150));
  const font = Math.max(10, Math.round(Math.min(width, height) / 28));
  const shapes = detections
    .map((d) => {
      const x = d.xmin * width;
      const y = d.ymin * height;
      const w = (d.xmax - d.xmin) * width;
      const h = (d.ymax - d.ymin) * height;
      // The console's palette: a class is drawn in the same colour in the PNG and in the browser.
      const color = colorForClass(d.classId);
      const label = `${classNames[d.classId] ?? `class ${d.classId}`} ${d.score.toFixed(2)}`;
      return (
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="none" stroke="${color}" stroke-width="${stroke}"/>` +
        `<text x="${x.toFixed(1)}" y="${Math.max(font, y - 3).toFixed(1)}" font-family="sans-serif" font-size="${font}" fill="${color}" stroke="black" stroke-width="0.6">${escapeXml(label)}</text>`
      );
    })
    .join('');
  const svg = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes}</svg>`,
  );
  return base
    .composite([{ input: svg, top: 0, left: 0 }])
    .png()
    .toBuffer();
}
