import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Readable } from 'node:stream';
import type { ObjectInfo } from '../objects/index.js';
import { seededRandom } from '../shared/random.js';
import { parseS3Uri } from '../shared/s3-uri.js';
import { JobFailure } from './failure.js';
import type { TrainingObjectStore } from './object-port.js';
import { recordioFrame } from './recordio.js';
import type { ChannelSpec } from './spec.js';

const execFileP = promisify(execFile);

/** One object of a channel and where it lands under the channel folder. */
export interface ChannelObject {
  readonly bucket: string;
  readonly key: string;
  /** Relative path under `input/data/<channel>/` (File mode). */
  readonly relPath: string;
}

/** Splits a key into path segments that are safe as a relative path, or undefined. */
export function safeRelativePath(key: string): string | undefined {
  const segments = key.split('/').filter((s) => s !== '');
  if (segments.length === 0) return undefined;
  if (segments.some((s) => s === '.' || s === '..' || s.includes('\0'))) return undefined;
  return segments.join('/');
}

const uri = (bucket: string, key: string) => `s3://${bucket}/${key}`;

async function listAll(
  store: TrainingObjectStore,
  bucket: string,
  prefix: string,
): Promise<ObjectInfo[]> {
  if (!(await store.getBucket(bucket))) {
    throw new JobFailure(
      `ClientError: Data download failed: the bucket '${bucket}' does not exist`,
    );
  }
  const out: ObjectInfo[] = [];
  let startAfter: string | undefined;
  for (;;) {
    const page = await store.listObjects(bucket, { prefix, startAfter, maxKeys: 1000 });
    out.push(...page.objects);
    if (!page.isTruncated || !page.nextMarker) break;
    startAfter = page.nextMarker;
  }
  return out;
}

async function readManifest(store: TrainingObjectStore, ch: ChannelSpec): Promise<Buffer> {
  const { bucket, key } = ch.location;
  const buf = await store.getObjectBuffer(bucket, key).catch(() => undefined);
  if (!buf) {
    throw new JobFailure(
      `ClientError: Data download failed: the ${ch.dataType} ${uri(bucket, key)} of channel '${ch.name}' does not exist`,
    );
  }
  return buf;
}

/** Parses an augmented manifest (JSON lines), naming the line of a bad one. */
export function parseAugmentedManifest(text: string, channel: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  text.split('\n').forEach((raw, i) => {
    if (!raw.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      throw new JobFailure(
        `ClientError: channel '${channel}': line ${i + 1} of the augmented manifest is not valid JSON`,
      );
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw new JobFailure(
        `ClientError: channel '${channel}': line ${i + 1} of the augmented manifest is not a JSON object`,
      );
    }
    lines.push(v as Record<string, unknown>);
  });
  return lines;
}

/** Objects of an S3Prefix or ManifestFile channel, with their local relative paths. */
export async function resolveChannelObjects(
  store: TrainingObjectStore,
  ch: ChannelSpec,
): Promise<ChannelObject[]> {
  const { bucket, key: prefix } = ch.location;
  if (ch.dataType === 'S3Prefix') {
    const infos = (await listAll(store, bucket, prefix)).filter((o) => !o.key.endsWith('/'));
    if (infos.length === 0) {
      throw new JobFailure(
        `ClientError: Data download failed: no S3 objects found under S3 URL "${ch.uri}" given in input data source of channel '${ch.name}'. Please ensure that objects exist under that S3 prefix.`,
      );
    }
    return infos.map((o) => {
      const rest = o.key.slice(prefix.length);
      // A prefix naming one object exactly stages it under its base name.
      const rel =
        rest === '' ? safeRelativePath(o.key.split('/').pop() ?? '') : safeRelativePath(rest);
      if (!rel) {
        throw new JobFailure(
          `ClientError: Data download failed: the key '${o.key}' of channel '${ch.name}' cannot be stored as a file (it has '.' or '..' segments)`,
        );
      }
      return { bucket, key: o.key, relPath: rel };
    });
  }
  // ManifestFile: [{"prefix": "s3://bucket/p/"}, "rel/key1", ...]
  const text = (await readManifest(store, ch)).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new JobFailure(
      `ClientError: the manifest file ${ch.uri} of channel '${ch.name}' is not valid JSON`,
    );
  }
  const head = Array.isArray(parsed) ? (parsed[0] as { prefix?: unknown } | undefined) : undefined;
  if (!Array.isArray(parsed) || typeof head?.prefix !== 'string') {
    throw new JobFailure(
      `ClientError: the manifest file ${ch.uri} of channel '${ch.name}' must be a JSON array whose first element is {"prefix": "s3://bucket/prefix/"}`,
    );
  }
  const base = parseS3Uri(head.prefix, 'manifest prefix');
  return parsed.slice(1).map((rel) => {
    if (typeof rel !== 'string') {
      throw new JobFailure(
        `ClientError: the manifest file ${ch.uri} of channel '${ch.name}' has an entry that is not a string`,
      );
    }
    const safe = safeRelativePath(rel);
    if (!safe) {
      throw new JobFailure(
        `ClientError: the manifest file ${ch.uri} of channel '${ch.name}' has an unusable entry '${rel}'`,
      );
    }
    return { bucket: base.bucket, key: base.key + rel, relPath: safe };
  });
}

/** The `*-ref` attributes of an augmented manifest channel (default `source-ref`). */
const refAttributes = (ch: ChannelSpec): string[] =>
  (ch.attributeNames ?? ['source-ref']).filter((a) => a.endsWith('-ref'));

export interface StageOptions {
  /** Hard-link the store's local files (safe only when the sandbox mounts input data read-only). */
  readonly link: boolean;
  readonly signal?: AbortSignal;
  readonly concurrency?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

async function stageObject(
  store: TrainingObjectStore,
  obj: ChannelObject,
  dest: string,
  channel: string,
  link: boolean,
) {
  const info = await store.headObject(obj.bucket, obj.key).catch(() => undefined);
  if (!info) {
    throw new JobFailure(
      `ClientError: Data download failed: the object ${uri(obj.bucket, obj.key)} of channel '${channel}' does not exist`,
    );
  }
  await fs.promises.mkdir(path.dirname(dest), { recursive: true });
  const local = store.localPath ? await store.localPath(info).catch(() => undefined) : undefined;
  if (local) {
    if (link) {
      try {
        await fs.promises.link(local, dest);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
        /* EXDEV, EPERM: copy */
      }
    }
    await fs.promises.copyFile(local, dest, fs.constants.COPYFILE_FICLONE);
    return;
  }
  const got = await store.getObject(obj.bucket, obj.key);
  if (!got) {
    throw new JobFailure(
      `ClientError: Data download failed: the object ${uri(obj.bucket, obj.key)} of channel '${channel}' does not exist`,
    );
  }
  await pipeline(got.body, fs.createWriteStream(dest));
}

async function runPool<T>(
  items: readonly T[],
  n: number,
  signal: AbortSignal | undefined,
  fn: (t: T, i: number) => Promise<void>,
) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/**
 * File (and FastFile) mode: copies a channel into `dir` straight from the object store.
 * AugmentedManifestFile channels get the manifest at `<dir>/<manifest file name>` and every
 * referenced object at `<dir>/<key>` (the algorithm resolves `source-ref` that way).
 * @returns the number of files staged.
 * @throws JobFailure naming the missing key or bad manifest line.
 */
export async function stageFileChannel(
  store: TrainingObjectStore,
  ch: ChannelSpec,
  dir: string,
  opts: StageOptions,
): Promise<number> {
  await fs.promises.mkdir(dir, { recursive: true });
  let objects: ChannelObject[];
  if (ch.dataType === 'AugmentedManifestFile') {
    const buf = await readManifest(store, ch);
    const name = safeRelativePath(ch.location.key.split('/').pop() ?? '') ?? 'manifest';
    await fs.promises.writeFile(
      path.join(
        dir,
        name.endsWith('.manifest') || name.endsWith('.jsonl') ? name : `${name}.manifest`,
      ),
      buf,
    );
    const lines = parseAugmentedManifest(buf.toString('utf8'), ch.name);
    const seen = new Set<string>();
    objects = [];
    lines.forEach((line, i) => {
      for (const attr of refAttributes(ch)) {
        const ref = line[attr];
        if (ref === undefined) continue;
        if (typeof ref !== 'string' || !ref.startsWith('s3://')) {
          throw new JobFailure(
            `ClientError: channel '${ch.name}': line ${i + 1} of the augmented manifest: '${attr}' must be an s3:// URI`,
          );
        }
        const loc = parseS3Uri(ref, attr);
        const rel = safeRelativePath(loc.key);
        if (!rel)
          throw new JobFailure(
            `ClientError: channel '${ch.name}': line ${i + 1}: '${ref}' cannot be stored as a file`,
          );
        if (seen.has(ref)) continue;
        seen.add(ref);
        objects.push({ bucket: loc.bucket, key: loc.key, relPath: rel });
      }
    });
  } else {
    objects = await resolveChannelObjects(store, ch);
  }
  let done = 0;
  await runPool(objects, opts.concurrency ?? 16, opts.signal, async (o) => {
    await stageObject(store, o, path.join(dir, o.relPath), ch.name, opts.link);
    done++;
    if (opts.onProgress && (done % 100 === 0 || done === objects.length))
      opts.onProgress(done, objects.length);
  });
  return objects.length;
}

/** One epoch's stream of a Pipe-mode channel (records or raw object bytes, in order). */
export async function* pipeChunks(
  store: TrainingObjectStore,
  ch: ChannelSpec,
  epoch: number,
): AsyncGenerator<Buffer> {
  const wrap = ch.recordWrapper === 'RecordIO';
  const read = async (bucket: string, key: string): Promise<Buffer> => {
    const buf = await store.getObjectBuffer(bucket, key).catch(() => undefined);
    if (!buf) {
      throw new JobFailure(
        `ClientError: Data download failed: the object ${uri(bucket, key)} of channel '${ch.name}' does not exist`,
      );
    }
    return ch.compression === 'Gzip' ? zlib.gunzipSync(buf) : buf;
  };
  const shuffle = <T>(items: T[]): T[] => {
    if (ch.shuffleSeed === undefined) return items;
    const rnd = seededRandom(ch.shuffleSeed + epoch);
    const a = items.slice();
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(rnd.next() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  };
  if (ch.dataType === 'AugmentedManifestFile') {
    const manifest = await readManifest(store, ch);
    const lines = shuffle(
      parseAugmentedManifest(
        (ch.compression === 'Gzip' ? zlib.gunzipSync(manifest) : manifest).toString('utf8'),
        ch.name,
      ),
    );
    const attrs = ch.attributeNames ?? ['source-ref'];
    for (const [i, line] of lines.entries()) {
      for (const attr of attrs) {
        const value = line[attr];
        if (value === undefined) {
          throw new JobFailure(
            `ClientError: channel '${ch.name}': line ${i + 1} of the augmented manifest has no attribute '${attr}'`,
          );
        }
        let payload: Buffer;
        if (attr.endsWith('-ref')) {
          if (typeof value !== 'string' || !value.startsWith('s3://')) {
            throw new JobFailure(
              `ClientError: channel '${ch.name}': line ${i + 1}: '${attr}' must be an s3:// URI`,
            );
          }
          const loc = parseS3Uri(value, attr);
          const buf = await store.getObjectBuffer(loc.bucket, loc.key).catch(() => undefined);
          if (!buf) {
            throw new JobFailure(
              `ClientError: Data download failed: the object ${value} of channel '${ch.name}' does not exist`,
            );
          }
          payload = buf;
        } else {
          payload = Buffer.from(JSON.stringify(value), 'utf8');
        }
        if (wrap) yield* recordioFrame(payload);
        else yield payload;
      }
    }
    return;
  }
  const objects = shuffle(await resolveChannelObjects(store, ch));
  for (const o of objects) {
    const buf = await read(o.bucket, o.key);
    if (wrap) yield* recordioFrame(buf);
    else yield buf;
  }
}

/**
 * Feeds a Pipe-mode channel: FIFO `<dir>/<channel>_<epoch>`, a new one each time the algorithm
 * has read the previous one to its end. Opening for writing never blocks a libuv thread: the
 * FIFO is polled with O_NONBLOCK until a reader is there.
 */
export class PipeFeeder {
  private stopped = false;
  private socket: net.Socket | undefined;
  epochsServed = 0;

  constructor(
    private readonly store: TrainingObjectStore,
    private readonly ch: ChannelSpec,
    private readonly dir: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  fifoPath(epoch: number): string {
    return path.join(this.dir, `${this.ch.name}_${epoch}`);
  }

  async create(epoch: number): Promise<void> {
    await fs.promises.mkdir(this.dir, { recursive: true });
    await fs.promises.rm(this.fifoPath(epoch), { force: true });
    await execFileP('mkfifo', ['-m', '0644', this.fifoPath(epoch)]);
  }

  /** Runs until stopped: serve epoch 0, 1, … */
  async run(): Promise<void> {
    try {
      for (let epoch = 0; !this.stopped; epoch++) {
        if (epoch > 0) await this.create(epoch);
        const fd = await this.waitForReader(this.fifoPath(epoch));
        if (fd === undefined) return;
        await this.serve(fd, epoch);
        this.epochsServed++;
      }
    } catch (err) {
      if (!this.stopped) this.onError(err);
    }
  }

  private async waitForReader(file: string): Promise<number | undefined> {
    while (!this.stopped) {
      try {
        return fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENXIO') throw e;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return undefined;
  }

  private async serve(fd: number, epoch: number): Promise<void> {
    const socket = new net.Socket({ fd, readable: false, writable: true });
    this.socket = socket;
    try {
      await pipeline(Readable.from(pipeChunks(this.store, this.ch, epoch)), socket);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // The reader closed early: that epoch is over for it.
      if (code !== 'EPIPE' && code !== 'ECONNRESET' && code !== 'ERR_STREAM_PREMATURE_CLOSE')
        throw e;
    } finally {
      socket.destroy();
      this.socket = undefined;
    }
  }

  stop(): void {
    this.stopped = true;
    this.socket?.destroy();
  }
}
