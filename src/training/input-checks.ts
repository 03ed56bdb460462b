import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { parseS3Uri } from '../shared/s3-uri.js';
import { parseAugmentedManifest, resolveChannelObjects } from './channels.js';
import { JobFailure } from './failure.js';
import type { TrainingObjectStore } from './object-port.js';
import type { TrainingJobRecord } from './repository.js';

/**
 * Checks a Pipe-mode channel before its FIFO opens: its objects exist; for an augmented manifest,
 * every line has its attributes and every `-ref` names an object that exists.
 * @throws JobFailure naming the channel, the line and what is missing.
 */
export async function verifyPipeChannel(
  objects: TrainingObjectStore,
  ch: TrainingJobRecord['spec']['channels'][number],
): Promise<void> {
  if (ch.dataType !== 'AugmentedManifestFile') {
    await resolveChannelObjects(objects, ch);
    return;
  }
  const buf = await objects
    .getObjectBuffer(ch.location.bucket, ch.location.key)
    .catch(() => undefined);
  if (!buf) {
    throw new JobFailure(
      `ClientError: Data download failed: the AugmentedManifestFile ${ch.uri} of channel '${ch.name}' does not exist`,
    );
  }
  const lines = parseAugmentedManifest(buf.toString('utf8'), ch.name);
  const attrs = ch.attributeNames ?? ['source-ref'];
  for (const [i, line] of lines.entries()) {
    for (const attr of attrs) {
      const v = line[attr];
      if (v === undefined) {
        throw new JobFailure(
          `ClientError: channel '${ch.name}': line ${i + 1} of the augmented manifest has no attribute '${attr}'`,
        );
      }
      if (!attr.endsWith('-ref')) continue;
      if (typeof v !== 'string' || !v.startsWith('s3://')) {
        throw new JobFailure(
          `ClientError: channel '${ch.name}': line ${i + 1}: '${attr}' must be an s3:// URI`,
        );
      }
      const loc = parseS3Uri(v, attr);
      if (!(await objects.headObject(loc.bucket, loc.key).catch(() => undefined))) {
        throw new JobFailure(
          `ClientError: Data download failed: the object ${v} of channel '${ch.name}' does not exist`,
        );
      }
    }
  }
}

/** Unpacks script mode's `sagemaker_submit_directory` (an s3:// sourcedir.tar.gz) into `dest`. */
export async function extractSourceDir(
  objects: TrainingObjectStore,
  uri: string,
  dest: string,
): Promise<void> {
  let loc;
  try {
    loc = parseS3Uri(uri, 'sagemaker_submit_directory');
  } catch {
    throw new JobFailure(
      `ClientError: sagemaker_submit_directory '${uri}' is not an s3:// URI of a sourcedir.tar.gz`,
    );
  }
  const got = await objects.getObject(loc.bucket, loc.key).catch(() => undefined);
  if (!got) throw new JobFailure(`ClientError: the source directory ${uri} does not exist`);
  try {
    await pipeline(got.body as Readable, tar.x({ cwd: dest, strict: true }));
  } catch (e) {
    throw new JobFailure(
      `ClientError: the source directory ${uri} is not a readable tar.gz (${(e as Error).message})`,
    );
  }
}
