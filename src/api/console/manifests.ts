import readline from 'node:readline';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preHandlerAsyncHookHandler,
} from 'fastify';
import type { ObjectStore } from '../../objects/index.js';
import type { Clock } from '../../shared/clock.js';
import { splitManifest } from '../../shared/manifest-split.js';
import { parseS3Uri, formatS3Uri, type S3Location } from '../../shared/s3-uri.js';
import { readJsonBody, sendApiJson } from './http.js';
import { ConsoleError, sendConsoleError } from './errors.js';
import { bucketPolicyGuard } from './s3-views.js';
import type { BucketDenyEnv } from '../bucket-deny.js';

/** SageMaker's own limit on the objects of one labeling job. */
export const MAX_MANIFEST_OBJECTS = 100_000;
export const MAX_SPLIT_BYTES = 256 * 1024 * 1024;
const IMAGE_EXT = /\.(jpe?g|png)$/i;

export interface Box {
  readonly classId: number;
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
  readonly confidence?: number;
}

/** One bounding-box label attribute of a manifest line (Ground Truth's output format, spec §5.2). */
export interface BoxLabel {
  readonly attribute: string;
  readonly imageSize?: { readonly width: number; readonly height: number; readonly depth?: number };
  readonly boxes: readonly Box[];
  readonly classMap: Readonly<Record<string, string>>;
}

/** One image-classification label attribute of a manifest line (single or multi-label). */
export interface ClassLabel {
  readonly attribute: string;
  /** The class names chosen for the image (one for single-label jobs). */
  readonly names: readonly string[];
}

export interface ManifestEntry {
  readonly line: number;
  readonly sourceRef?: string;
  readonly labels: readonly BoxLabel[];
  /** Present when the line has image-classification labels. */
  readonly classes?: readonly ClassLabel[];
}

const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? v : undefined;

/** The bounding-box labels of one parsed manifest line; other attributes are ignored. */
export function boxLabelsOf(line: Readonly<Record<string, unknown>>): BoxLabel[] {
  const out: BoxLabel[] = [];
  for (const [attribute, value] of Object.entries(line)) {
    if (
      attribute.endsWith('-metadata') ||
      !value ||
      typeof value !== 'object' ||
      Array.isArray(value)
    )
      continue;
    const v = value as { annotations?: unknown; image_size?: unknown };
    if (!Array.isArray(v.annotations)) continue;
    const meta = (line[`${attribute}-metadata`] ?? {}) as {
      'class-map'?: unknown;
      objects?: unknown;
    };
    const confidences = Array.isArray(meta.objects)
      ? meta.objects.map((o) => num((o as { confidence?: unknown })?.confidence))
      : [];
    const boxes: Box[] = [];
    v.annotations.forEach((a, i) => {
      const b = a as Record<string, unknown>;
      const [classId, left, top, width, height] = [
        num(b.class_id),
        num(b.left),
        num(b.top),
        num(b.width),
        num(b.height),
      ];
      if (
        classId === undefined ||
        left === undefined ||
        top === undefined ||
        width === undefined ||
        height === undefined
      )
        return;
      const confidence = confidences[i];
      boxes.push({
        classId,
        left,
        top,
        width,
        height,
        ...(confidence !== undefined ? { confidence } : {}),
      });
    });
    const size = Array.isArray(v.image_size)
      ? (v.image_size[0] as Record<string, unknown> | undefined)
      : undefined;
    const width = num(size?.width);
    const height = num(size?.height);
    const classMap: Record<string, string> = {};
    if (meta['class-map'] && typeof meta['class-map'] === 'object') {
      for (const [k, name] of Object.entries(meta['class-map'] as Record<string, unknown>))
        if (typeof name === 'string') classMap[k] = name;
    }
    out.push({
      attribute,
      ...(width !== undefined && height !== undefined
        ? {
            imageSize: {
              width,
              height,
              ...(num(size?.depth) !== undefined ? { depth: num(size?.depth)! } : {}),
            },
          }
        : {}),
      boxes,
      classMap,
    });
  }
  return out;
}

/**
 * The image-classification labels of one parsed manifest line: `<attr>: 0` with
 * `<attr>-metadata.class-name`, or `<attr>: [0, 2]` with `<attr>-metadata.class-map` (spec §5.2).
 */
export function classLabelsOf(line: Readonly<Record<string, unknown>>): ClassLabel[] {
  const out: ClassLabel[] = [];
  for (const [attribute, value] of Object.entries(line)) {
    if (attribute.endsWith('-metadata')) continue;
    const meta = line[`${attribute}-metadata`] as
      { type?: unknown; 'class-name'?: unknown; 'class-map'?: unknown } | undefined;
    if (
      !meta ||
      typeof meta !== 'object' ||
      typeof meta.type !== 'string' ||
      !meta.type.includes('image-classification')
    )
      continue;
    const map =
      meta['class-map'] && typeof meta['class-map'] === 'object'
        ? (meta['class-map'] as Record<string, unknown>)
        : {};
    if (typeof value === 'number' && typeof meta['class-name'] === 'string')
      out.push({ attribute, names: [meta['class-name']] });
    else if (Array.isArray(value))
      out.push({
        attribute,
        names: value.map((id) =>
          typeof map[String(id)] === 'string' ? String(map[String(id)]) : `class ${String(id)}`,
        ),
      });
  }
  return out;
}

function entryOf(text: string, line: number): ManifestEntry | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const o = parsed as Record<string, unknown>;
  const classes = classLabelsOf(o);
  return {
    line,
    ...(typeof o['source-ref'] === 'string' ? { sourceRef: o['source-ref'] } : {}),
    labels: boxLabelsOf(o),
    ...(classes.length > 0 ? { classes } : {}),
  };
}

/** The timestamp SageMaker's console puts in the manifest it writes: `20181018T221813`. */
export function manifestStamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '');
}

function s3Member(raw: unknown, member: string): S3Location {
  if (typeof raw !== 'string' || raw === '')
    throw new ConsoleError('ValidationError', `${member} is required: an s3://bucket/key URI`);
  return parseS3Uri(raw, member);
}

async function* manifestLines(
  objects: ObjectStore,
  loc: S3Location,
  member: string,
): AsyncGenerator<string> {
  const got = await objects.getObject(loc.bucket, loc.key);
  if (!got) throw new ConsoleError('NoSuchKey', `${member} ${formatS3Uri(loc)} does not exist`);
  const rl = readline.createInterface({ input: got.body, crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
    got.body.destroy();
  }
}

/**
 * Manifest views and actions of the console: the boxes a manifest holds for an image, a page of
 * labelled entries, "complete data setup" (a manifest from the images under a prefix) and the
 * seeded train/validation split the tutorial's notebook does.
 */
export function registerManifestRoutes(
  app: FastifyInstance,
  deps: { objects: ObjectStore; clock: Clock; policies: BucketDenyEnv },
  guard: preHandlerAsyncHookHandler,
): void {
  const { objects, clock } = deps;
  // Reads, listings and writes obey the bucket policy's explicit Deny as the root key does.
  const obey = bucketPolicyGuard(deps.policies);
  const read = (req: FastifyRequest, loc: S3Location) =>
    obey(req, { action: 's3:GetObject', bucket: loc.bucket, key: loc.key });
  const route = (
    method: 'GET' | 'POST',
    url: string,
    handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
  ) =>
    app.route({
      method,
      url,
      preHandler: guard,
      handler: async (req, reply) => {
        try {
          return await handler(req, reply);
        } catch (err) {
          return sendConsoleError(reply, err);
        }
      },
    });

  // The labels a manifest holds for one image: what the data page draws over the preview.
  route('GET', '/_apiary/api/manifests/annotations', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const manifest = s3Member(q.manifest, 'manifest');
    const source = s3Member(q.source, 'source');
    const want = formatS3Uri(source);
    await read(req, manifest);
    let n = 0;
    for await (const text of manifestLines(objects, manifest, 'manifest')) {
      n++;
      if (!text.includes(source.key)) continue;
      const e = entryOf(text, n);
      if (e?.sourceRef === want)
        return sendApiJson(reply, { manifest: formatS3Uri(manifest), entry: e });
    }
    throw new ConsoleError(
      'NotFound',
      `The manifest ${formatS3Uri(manifest)} has no line whose source-ref is ${want}`,
    );
  });

  // A page of a manifest's entries (labelled images with their boxes), by line number.
  route('GET', '/_apiary/api/manifests/entries', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const manifest = s3Member(q.manifest, 'manifest');
    const after = q.afterLine === undefined ? 0 : Number(q.afterLine);
    const max = q.max === undefined ? 24 : Number(q.max);
    if (!Number.isInteger(after) || after < 0)
      throw new ConsoleError(
        'ValidationError',
        `afterLine must be a non-negative integer; got '${String(q.afterLine)}'`,
      );
    if (!Number.isInteger(max) || max < 1 || max > 200)
      throw new ConsoleError(
        'ValidationError',
        `max must be an integer between 1 and 200; got '${String(q.max)}'`,
      );
    await read(req, manifest);
    const entries: ManifestEntry[] = [];
    let n = 0;
    let more = false;
    for await (const text of manifestLines(objects, manifest, 'manifest')) {
      n++;
      if (n <= after || text.trim() === '') continue;
      if (entries.length === max) {
        more = true;
        break;
      }
      const e = entryOf(text, n);
      if (e) entries.push(e);
    }
    const last = entries.at(-1);
    return sendApiJson(reply, {
      manifest: formatS3Uri(manifest),
      entries,
      ...(more && last ? { nextAfterLine: last.line } : {}),
    });
  });

  // "Complete data setup": one manifest line per JPEG/PNG under the prefix.
  route('POST', '/_apiary/api/manifests/from-prefix', async (req, reply) => {
    const body = ((await readJsonBody(req, 64 * 1024)) ?? {}) as {
      prefix?: unknown;
      output?: unknown;
    };
    const prefix = s3Member(body.prefix, 'prefix');
    const dir = prefix.key === '' || prefix.key.endsWith('/') ? prefix.key : `${prefix.key}/`;
    const output =
      body.output === undefined || body.output === ''
        ? { bucket: prefix.bucket, key: `${dir}dataset-${manifestStamp(clock.nowMs())}.manifest` }
        : s3Member(body.output, 'output');
    await obey(
      req,
      { action: 's3:ListBucket', bucket: prefix.bucket, prefix: dir },
      { action: 's3:PutObject', bucket: output.bucket, key: output.key },
    );
    if (!(await objects.getBucket(prefix.bucket)))
      throw new ConsoleError('NoSuchBucket', `The bucket '${prefix.bucket}' does not exist`);
    const lines: string[] = [];
    let startAfter: string | undefined;
    for (;;) {
      const page = await objects.listObjects(prefix.bucket, {
        prefix: dir,
        maxKeys: 1000,
        ...(startAfter ? { startAfter } : {}),
      });
      for (const o of page.objects) {
        if (!IMAGE_EXT.test(o.key)) continue;
        if (lines.length === MAX_MANIFEST_OBJECTS) {
          throw new ConsoleError(
            'ValidationError',
            `${formatS3Uri({ bucket: prefix.bucket, key: dir })} holds more than ${MAX_MANIFEST_OBJECTS} images, the most one labeling job takes; pick a narrower prefix`,
          );
        }
        lines.push(
          JSON.stringify({ 'source-ref': formatS3Uri({ bucket: prefix.bucket, key: o.key }) }) +
            '\n',
        );
      }
      if (!page.isTruncated || !page.nextMarker) break;
      startAfter = page.nextMarker;
    }
    if (lines.length === 0) {
      throw new ConsoleError(
        'ValidationError',
        `No .jpg, .jpeg or .png objects under ${formatS3Uri({ bucket: prefix.bucket, key: dir })}; upload images there first`,
      );
    }
    if (!(await objects.getBucket(output.bucket)))
      throw new ConsoleError('NoSuchBucket', `The bucket '${output.bucket}' does not exist`);
    await objects.putObject(output.bucket, output.key, lines.join(''), {
      contentType: 'application/x-ndjson',
    });
    return sendApiJson(reply, { manifest: formatS3Uri(output), count: lines.length }, 201);
  });

  // Train/validation split, seeded and reproducible; writes both manifests next to the input.
  route('POST', '/_apiary/api/manifests/split', async (req, reply) => {
    const body = ((await readJsonBody(req, 64 * 1024)) ?? {}) as {
      manifest?: unknown;
      trainFraction?: unknown;
      seed?: unknown;
      outputPrefix?: unknown;
    };
    const manifest = s3Member(body.manifest, 'manifest');
    const trainFraction = body.trainFraction === undefined ? 0.8 : body.trainFraction;
    if (typeof trainFraction !== 'number' || !(trainFraction > 0 && trainFraction < 1)) {
      throw new ConsoleError(
        'ValidationError',
        `trainFraction must be a number between 0 and 1 (exclusive); got ${JSON.stringify(trainFraction)}`,
      );
    }
    const seed = body.seed === undefined ? 0 : body.seed;
    if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new ConsoleError(
        'ValidationError',
        `seed must be an integer between 0 and 4294967295; got ${JSON.stringify(seed)}`,
      );
    }
    const dir = manifest.key.includes('/')
      ? manifest.key.slice(0, manifest.key.lastIndexOf('/') + 1)
      : '';
    let out: S3Location = { bucket: manifest.bucket, key: dir };
    if (body.outputPrefix !== undefined && body.outputPrefix !== '') {
      out = s3Member(body.outputPrefix, 'outputPrefix');
      if (out.key !== '' && !out.key.endsWith('/')) out = { ...out, key: `${out.key}/` };
    }
    const train = { bucket: out.bucket, key: `${out.key}train.manifest` };
    const validation = { bucket: out.bucket, key: `${out.key}validation.manifest` };
    // Both writes are judged before either is made: a Deny leaves no half-written split.
    await obey(
      req,
      { action: 's3:GetObject', bucket: manifest.bucket, key: manifest.key },
      { action: 's3:PutObject', ...train },
      { action: 's3:PutObject', ...validation },
    );
    const head = await objects.headObject(manifest.bucket, manifest.key);
    if (!head)
      throw new ConsoleError('NoSuchKey', `manifest ${formatS3Uri(manifest)} does not exist`);
    if (head.size > MAX_SPLIT_BYTES)
      throw new ConsoleError(
        'ValidationError',
        `manifest ${formatS3Uri(manifest)} is ${head.size} bytes; the split reads at most ${MAX_SPLIT_BYTES}`,
      );
    const text =
      (await objects.getObjectBuffer(manifest.bucket, manifest.key))?.toString('utf8') ?? '';
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    lines.forEach((l, i) => {
      try {
        JSON.parse(l);
      } catch {
        throw new ConsoleError(
          'ValidationError',
          `manifest ${formatS3Uri(manifest)} line ${i + 1} is not valid JSON; a manifest holds one JSON object per line`,
        );
      }
    });
    if (lines.length < 2) {
      throw new ConsoleError(
        'ValidationError',
        `manifest ${formatS3Uri(manifest)} has ${lines.length} line(s); a split needs at least 2`,
      );
    }
    if (!(await objects.getBucket(out.bucket)))
      throw new ConsoleError('NoSuchBucket', `The bucket '${out.bucket}' does not exist`);
    const split = splitManifest(text, { trainFraction, seed });
    await objects.putObject(train.bucket, train.key, split.train, {
      contentType: 'application/x-ndjson',
    });
    await objects.putObject(validation.bucket, validation.key, split.validation, {
      contentType: 'application/x-ndjson',
    });
    return sendApiJson(
      reply,
      {
        train: formatS3Uri(train),
        validation: formatS3Uri(validation),
        trainCount: split.trainCount,
        validationCount: split.validationCount,
        seed,
        trainFraction,
      },
      201,
    );
  });
}
