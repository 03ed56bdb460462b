import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { Readable } from 'node:stream';
import * as tar from 'tar';
import { safeRelativePath } from './channels.js';
import { JobFailure } from './failure.js';
import type { TrainingObjectStore } from './object-port.js';
import { isObjectStoreError } from '../objects/index.js';
import { parseS3Uri, type S3Location } from '../shared/s3-uri.js';
import { modelArtifactsUri, outputDataUri, type TrainingJobSpec } from './spec.js';

/** Regular files under `dir` (symlinks and devices skipped), relative paths with `/`. */
export function regularFiles(dir: string): { rel: string; size: number; mtimeMs: number }[] {
  const out: { rel: string; size: number; mtimeMs: number }[] = [];
  const walk = (d: string, prefix: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(d, e.name);
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) walk(full, rel);
      else if (e.isFile()) {
        const st = fs.lstatSync(full);
        out.push({ rel, size: st.size, mtimeMs: st.mtimeMs });
      }
    }
  };
  walk(dir, '');
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

export const dirBytes = (dir: string): number => regularFiles(dir).reduce((n, f) => n + f.size, 0);

/** An empty tar archive (two zero blocks), gzipped. */
const EMPTY_TAR_GZ = zlib.gzipSync(Buffer.alloc(1024));

/**
 * Tars and gzips `dir` (regular files and folders only: a symlink to a file outside the job
 * never ends up in an artifact) and stores it at `target`.
 * @returns the stored size in bytes.
 * @throws JobFailure when the bucket does not exist.
 */
export async function uploadDirectoryTarGz(
  store: TrainingObjectStore,
  dir: string,
  target: S3Location,
): Promise<number> {
  if (!(await store.getBucket(target.bucket))) {
    throw new JobFailure(`ClientError: the output bucket '${target.bucket}' does not exist`);
  }
  const files = regularFiles(dir).map((f) => f.rel);
  let body: Readable | Buffer;
  if (files.length === 0) body = EMPTY_TAR_GZ;
  else {
    // tar's stream is a Minipass, not a stream.Readable (no unshift, no readableLength): the
    // object store's port takes a Node Readable, so wrap it in one (back-pressure kept).
    body = Readable.from(
      tar.c({ gzip: true, cwd: dir, portable: true, follow: false, noDirRecurse: true }, files),
    );
  }
  const info = await store.putObject(target.bucket, target.key, body, {
    contentType: 'application/x-tar',
  });
  return info.size;
}

/**
 * CheckpointConfig: objects under the S3 prefix ⇄ files in the local checkpoint folder. At start
 * everything is copied in; while the job runs and at its end, new and changed files are uploaded
 * and deleted ones removed, as SageMaker does.
 */
export class CheckpointSync {
  private readonly synced = new Map<string, string>();
  private readonly prefix: string;
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: TrainingObjectStore,
    private readonly location: S3Location,
    private readonly dir: string,
  ) {
    this.prefix =
      location.key === '' || location.key.endsWith('/') ? location.key : `${location.key}/`;
  }

  /** Copies existing checkpoints in. @returns how many files. */
  async download(): Promise<number> {
    fs.mkdirSync(this.dir, { recursive: true });
    if (!(await this.store.getBucket(this.location.bucket))) {
      throw new JobFailure(
        `ClientError: the checkpoint bucket '${this.location.bucket}' does not exist`,
      );
    }
    let n = 0;
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.store.listObjects(this.location.bucket, {
        prefix: this.prefix,
        startAfter,
      });
      for (const o of page.objects) {
        const rel = safeRelativePath(o.key.slice(this.prefix.length));
        if (!rel) continue;
        const dest = path.join(this.dir, rel);
        const buf = await this.store.getObjectBuffer(o.bucket, o.key);
        if (!buf) continue;
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.writeFileSync(dest, buf);
        const st = fs.statSync(dest);
        this.synced.set(rel, `${st.size}:${st.mtimeMs}`);
        n++;
      }
      if (!page.isTruncated || !page.nextMarker) break;
      startAfter = page.nextMarker;
    }
    return n;
  }

  /** Uploads new/changed files and deletes removed ones; calls never overlap. */
  sync(): Promise<void> {
    const next = (this.running ?? Promise.resolve()).then(() => this.syncOnce());
    this.running = next.catch(() => {});
    return next;
  }

  private async syncOnce(): Promise<void> {
    const files = regularFiles(this.dir);
    const present = new Set<string>();
    for (const f of files) {
      present.add(f.rel);
      const sig = `${f.size}:${f.mtimeMs}`;
      if (this.synced.get(f.rel) === sig) continue;
      // Read without following a symlink swapped in meanwhile.
      let buf: Buffer;
      try {
        const fd = fs.openSync(
          path.join(this.dir, f.rel),
          fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW,
        );
        try {
          buf = fs.readFileSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      } catch {
        continue;
      }
      await this.store.putObject(this.location.bucket, this.prefix + f.rel, buf);
      this.synced.set(f.rel, sig);
    }
    // A snapshot: entries are deleted while we await the store.
    for (const rel of Array.from(this.synced.keys())) {
      if (present.has(rel)) continue;
      await this.store.deleteObject(this.location.bucket, this.prefix + rel).catch(() => {});
      this.synced.delete(rel);
    }
  }
}

/** Reads a small text file without following symlinks (the job controls the folder). */
export function readJobText(file: string, maxBytes: number): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return undefined;
    const buf = Buffer.alloc(maxBytes);
    const n = fs.readSync(fd, buf, 0, maxBytes, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Uploading: `model/` as `model.tar.gz` at `{S3OutputPath}/{job}/output/`, and `output/data/` as
 * `output.tar.gz` when it holds anything.
 * @throws JobFailure when the model folder is over the cap or the store is full.
 */
export async function uploadJobOutputs(job: {
  readonly objects: TrainingObjectStore;
  readonly spec: TrainingJobSpec;
  readonly name: string;
  /** The job's `/opt/ml` on this machine. */
  readonly mlDir: string;
  readonly modelCapBytes: number;
  log(message: string): void;
}): Promise<void> {
  const { spec, name } = job;
  const modelDir = path.join(job.mlDir, 'model');
  const bytes = dirBytes(modelDir);
  if (bytes > job.modelCapBytes) {
    throw new JobFailure(
      `ClientError: the model folder holds ${bytes} bytes, more than ${job.modelCapBytes} (APIARY_TRAINING_MODEL_CAP_BYTES)`,
    );
  }
  const t0 = Date.now();
  const size = await uploadDirectoryTarGz(
    job.objects,
    modelDir,
    parseS3Uri(modelArtifactsUri(spec.outputPath, name)),
  ).catch((err: unknown) => {
    // A full disk is the operator's to fix, not a fault a retry on this machine would mend.
    if (isObjectStoreError(err) && err.code === 'InsufficientStorage')
      throw new JobFailure(
        `InternalServerError: the model could not be stored at ${modelArtifactsUri(spec.outputPath, name)}: ${err.message}`,
      );
    throw err;
  });
  job.log(
    `Apiary: model.tar.gz (${size} bytes) uploaded to ${modelArtifactsUri(spec.outputPath, name)} in ${Date.now() - t0} ms`,
  );
  const outDir = path.join(job.mlDir, 'output', 'data');
  if (fs.existsSync(outDir) && fs.readdirSync(outDir).length > 0) {
    await uploadDirectoryTarGz(
      job.objects,
      outDir,
      parseS3Uri(outputDataUri(spec.outputPath, name)),
    );
  }
}
