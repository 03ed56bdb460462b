import { sharpImages } from '../../shared/lazy-modules.js';
import type { DetectorSpec } from './model-spec.js';
import { InvokeError } from './errors.js';

export type SniffedFormat =
  'jpeg' | 'png' | 'gif' | 'tiff' | 'webp' | 'bmp' | 'svg' | 'heif' | 'unknown';

/** Recognises an image by its first bytes (the declared Content-Type is not trusted). */
export function sniffImage(b: Uint8Array): SniffedFormat {
  const at = (i: number) => b[i] ?? -1;
  if (at(0) === 0xff && at(1) === 0xd8 && at(2) === 0xff) return 'jpeg';
  if (at(0) === 0x89 && at(1) === 0x50 && at(2) === 0x4e && at(3) === 0x47) return 'png';
  if (at(0) === 0x47 && at(1) === 0x49 && at(2) === 0x46 && at(3) === 0x38) return 'gif';
  if (
    (at(0) === 0x49 && at(1) === 0x49 && at(2) === 0x2a && at(3) === 0) ||
    (at(0) === 0x4d && at(1) === 0x4d && at(2) === 0 && at(3) === 0x2a)
  )
    return 'tiff';
  if (
    at(0) === 0x52 &&
    at(1) === 0x49 &&
    at(2) === 0x46 &&
    at(3) === 0x46 &&
    at(8) === 0x57 &&
    at(9) === 0x45
  )
    return 'webp';
  if (at(0) === 0x42 && at(1) === 0x4d) return 'bmp';
  if (at(4) === 0x66 && at(5) === 0x74 && at(6) === 0x79 && at(7) === 0x70) return 'heif';
  const head = Buffer.from(b.subarray(0, 512)).toString('utf8').trimStart().toLowerCase();
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return 'svg';
  return 'unknown';
}

export interface DecodeLimits {
  /** Refuse images with more pixels than this before decoding them (decompression bombs). */
  readonly maxInputPixels: number;
}

export interface DecodedImage {
  /** CHW float32, ready for the model's input. */
  readonly tensor: Float32Array;
  /** Upright size (after EXIF orientation), for pixel-space answers. */
  readonly width: number;
  readonly height: number;
}

const FORMAT_NAMES: Record<SniffedFormat, string> = {
  jpeg: 'JPEG',
  png: 'PNG',
  gif: 'GIF',
  tiff: 'TIFF',
  webp: 'WebP',
  bmp: 'BMP',
  svg: 'SVG',
  heif: 'HEIF/AVIF',
  unknown: 'unrecognised',
};

/**
 * Decodes a JPEG or PNG and produces the model's input exactly as training saw it: upright (EXIF
 * orientation applied), sRGB 8-bit 3 channels (CMYK, 16-bit, grey and alpha converted; alpha is
 * dropped as PIL's `convert("RGB")` does), stretched to the model's size with a linear filter, and
 * scaled (and normalised when the graph does not do it).
 * @throws InvokeError ValidationError (400) for anything wrong with the image.
 */
export async function decodeImage(
  body: Buffer,
  spec: DetectorSpec,
  limits: DecodeLimits,
  pool?: TensorPool,
): Promise<DecodedImage> {
  if (body.length === 0) {
    throw new InvokeError(
      'ValidationError',
      'The request body is empty; send a JPEG or PNG image.',
    );
  }
  const format = sniffImage(body);
  if (format !== 'jpeg' && format !== 'png') {
    throw new InvokeError(
      'ValidationError',
      `Unsupported image format: the body is ${format === 'unknown' ? 'not a recognised image' : `a ${FORMAT_NAMES[format]} image`}. The object-detection model accepts JPEG or PNG (Content-Type image/jpeg, image/png or application/x-image).`,
    );
  }
  const options = {
    limitInputPixels: limits.maxInputPixels,
    failOn: 'truncated' as const,
    sequentialRead: true,
  };
  const sharp = await sharpImages();
  let width: number;
  let height: number;
  try {
    // Header only (no pixels are decoded), so the limit can be reported with the image's size.
    const meta = await sharp(body, { limitInputPixels: false }).metadata();
    const w = meta.width ?? 0;
    const h = meta.height ?? 0;
    if (w * h > limits.maxInputPixels) throw new PixelLimit(w, h);
    const swap = (meta.orientation ?? 1) >= 5;
    width = swap ? h : w;
    height = swap ? w : h;
  } catch (e) {
    throw decodeError(e, format, limits);
  }
  let data: Buffer;
  try {
    const out = await sharp(body, options)
      .rotate()
      .resize(spec.width, spec.height, { fit: 'fill', kernel: 'linear', fastShrinkOnLoad: true })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (out.info.channels !== 3) throw new Error(`decoded ${out.info.channels} channels`);
    data = out.data;
  } catch (e) {
    throw decodeError(e, format, limits);
  }
  const plane = spec.width * spec.height;
  return { tensor: toChw(data, spec, pool?.take(plane * 3)), width, height };
}

class PixelLimit extends Error {
  constructor(
    readonly w: number,
    readonly h: number,
  ) {
    super('pixel limit');
  }
}

function decodeError(e: unknown, format: SniffedFormat, limits: DecodeLimits): InvokeError {
  if (e instanceof PixelLimit || /pixel limit/i.test((e as Error).message)) {
    const size = e instanceof PixelLimit ? ` (${e.w}×${e.h})` : '';
    return new InvokeError(
      'ValidationError',
      `The image${size} has more than ${limits.maxInputPixels} pixels, the limit for this endpoint; downscale it before sending.`,
    );
  }
  return new InvokeError(
    'ValidationError',
    `The body could not be decoded as a ${FORMAT_NAMES[format]} image (it may be truncated or corrupt).`,
  );
}

/**
 * Input tensors handed back after their run, for the next decode. A fresh 1.2 MiB tensor is an
 * mmap of zeroed pages under `apiary serve`'s glibc settings (thresholds at 128 KiB): converting
 * into one cost 1.6-2.4 ms of CPU per image, into a reused one 0.5-0.6 ms.
 */
export class TensorPool {
  private readonly free: Float32Array[] = [];

  /** @param max tensors kept while idle (each is one image's input). */
  constructor(private readonly max = 2) {}

  /** A tensor of `length` floats from the pool, or undefined when none is free. */
  take(length: number): Float32Array | undefined {
    const i = this.free.findIndex((t) => t.length === length);
    return i < 0 ? undefined : this.free.splice(i, 1)[0];
  }

  /** Returns a tensor nobody reads any more (dropped when the pool is full). */
  give(t: Float32Array): void {
    if (this.free.length < this.max && t.byteLength > 0) this.free.push(t);
  }
}

/** HWC uint8 → CHW float32 with the model's scale (and mean/std when not in-graph). */
export function toChw(hwc: Uint8Array, spec: DetectorSpec, into?: Float32Array): Float32Array {
  const plane = spec.width * spec.height;
  const out = into?.length === plane * 3 ? into : new Float32Array(plane * 3);
  const inv = 1 / spec.scale;
  const mean = spec.mean ?? [0, 0, 0];
  const std = spec.std ?? [1, 1, 1];
  for (let c = 0; c < 3; c++) {
    const m = mean[c]!;
    const s = 1 / std[c]!;
    const base = c * plane;
    for (let i = 0, j = c; i < plane; i++, j += 3) out[base + i] = (hwc[j]! * inv - m) * s;
  }
  return out;
}
