import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import type { ObjectStore } from '../../objects/index.js';
import { parseS3Uri } from '../../shared/s3-uri.js';
import { DeployError } from './errors.js';

export interface ExtractLimits {
  /** Total bytes of all files once extracted. */
  readonly maxBytes: number;
  readonly maxEntries: number;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = {
  maxBytes: 2 * 1024 * 1024 * 1024,
  maxEntries: 10_000,
};

/**
 * Checks one archive entry name: relative, no `..`, no backslashes or NULs, no drive letters.
 * @returns the normalised relative path, or a reason it is refused.
 */
export function checkEntryPath(
  name: string,
): { ok: true; rel: string } | { ok: false; reason: string } {
  if (name.includes('\0')) return { ok: false, reason: 'contains a NUL byte' };
  if (name.includes('\\')) return { ok: false, reason: 'contains a backslash' };
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name))
    return { ok: false, reason: 'is an absolute path' };
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) return { ok: false, reason: "contains a '..' component" };
  return { ok: true, rel: parts.join('/') };
}

/**
 * Extracts a model.tar.gz (or plain tar) stream into `dest`, which must not exist yet. Only regular
 * files and directories are written; symbolic links, hard links, devices and FIFOs are refused, as
 * are absolute paths and `..` components; the total size and the entry count are capped (the size
 * cap also bounds a gzip bomb). On any refusal the partial directory is removed.
 * @throws DeployError with a reason fit for FailureReason.
 */
export async function extractModelArchive(
  source: NodeJS.ReadableStream,
  dest: string,
  limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS,
): Promise<void> {
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  await fsp.mkdir(dest); // fails if it exists: always a fresh directory
  let entries = 0;
  let bytes = 0;
  let sawEntry = false;
  let failure: DeployError | undefined;
  const writes: Promise<void>[] = [];
  const parser = new Parser({ strict: true, maxDecompressionRatio: 1000 });
  const fail = (reason: string): void => {
    if (!failure) failure = new DeployError(reason);
    parser.abort(failure);
  };
  parser.on('entry', (entry: ReadEntry) => {
    sawEntry = true;
    if (failure) {
      entry.resume();
      return;
    }
    entries += 1;
    if (entries > limits.maxEntries) {
      entry.resume();
      return fail(`model.tar.gz has more than ${limits.maxEntries} entries`);
    }
    const checked = checkEntryPath(entry.path);
    if (!checked.ok) {
      entry.resume();
      return fail(
        `model.tar.gz entry '${entry.path.slice(0, 200)}' ${checked.reason}; archives must hold relative paths only`,
      );
    }
    if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
      entry.resume();
      return fail(
        `model.tar.gz entry '${checked.rel}' is a ${entry.type === 'Link' ? 'hard' : 'symbolic'} link; links are not allowed in model archives`,
      );
    }
    if (entry.type === 'Directory') {
      entry.resume();
      if (checked.rel)
        writes.push(
          fsp.mkdir(path.join(dest, checked.rel), { recursive: true }).then(() => undefined),
        );
      return;
    }
    if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') {
      entry.resume();
      return fail(
        `model.tar.gz entry '${checked.rel}' is a ${entry.type}; only regular files and directories are allowed`,
      );
    }
    if (checked.rel === '') {
      entry.resume();
      return fail('model.tar.gz holds a file entry with an empty name');
    }
    bytes += entry.size;
    if (bytes > limits.maxBytes) {
      entry.resume();
      return fail(`model.tar.gz extracts to more than ${limits.maxBytes} bytes`);
    }
    const target = path.join(dest, checked.rel);
    // Belt and braces: the joined path must stay inside dest.
    if (!target.startsWith(dest + path.sep)) {
      entry.resume();
      return fail(`model.tar.gz entry '${checked.rel}' escapes the model directory`);
    }
    // The entry buffers its data until the pipeline below consumes it (after mkdir).
    writes.push(
      (async () => {
        await fsp.mkdir(path.dirname(target), { recursive: true });
        // 'wx': never follow or overwrite anything already there (duplicate names are refused).
        const out = fs.createWriteStream(target, { flags: 'wx', mode: 0o644 });
        await pipeline(entry as unknown as NodeJS.ReadableStream, out);
      })().catch((e: NodeJS.ErrnoException) => {
        fail(
          e.code === 'EEXIST'
            ? `model.tar.gz holds '${checked.rel}' twice`
            : `cannot write '${checked.rel}' from model.tar.gz (${e.code ?? e.message})`,
        );
      }),
    );
  });
  try {
    await pipeline(source, parser as unknown as Writable);
  } catch (e) {
    if (!failure) {
      failure = new DeployError(
        `model.tar.gz is not a valid gzip-compressed tar archive (${(e as Error).message.slice(0, 200)})`,
      );
    }
  }
  await Promise.allSettled(writes);
  if (!failure && !sawEntry)
    failure = new DeployError('model.tar.gz is empty or not a tar archive');
  if (failure) {
    await fsp.rm(dest, { recursive: true, force: true });
    throw failure;
  }
}

/**
 * Downloads `modelDataUrl` from the object store and extracts it into a fresh `dest`.
 * @throws DeployError when the object is missing or the archive is refused.
 */
export async function fetchModelArtifact(
  objects: ObjectStore,
  modelDataUrl: string,
  dest: string,
  limits?: ExtractLimits,
): Promise<void> {
  const { bucket, key } = parseS3Uri(modelDataUrl, 'ModelDataUrl');
  let obj;
  try {
    obj = await objects.getObject(bucket, key);
  } catch (e) {
    throw new DeployError(
      `Failed to download model data from ${modelDataUrl}: ${(e as Error).message}`,
    );
  }
  if (!obj) {
    throw new DeployError(
      `Failed to download model data from ${modelDataUrl}: the object does not exist. Check the model's ModelDataUrl and that the training job wrote its artifact.`,
    );
  }
  await extractModelArchive(obj.body, dest, limits);
}
