import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { ObjectStoreError } from './errors.js';
import type { ObjectInfo } from './object-store.js';
import type { SendTarget } from './blob-store.js';

/** The MD5 a whole read of `info` must hash to: a single-part object's ETag; else undefined. */
export function expectedMd5(info: ObjectInfo): string | undefined {
  if (info.partsCount !== undefined) return undefined;
  const m = /^"([0-9a-f]{32})"$/.exec(info.etag);
  return m ? m[1] : undefined;
}

/** The answer to a blob whose bytes no longer hash to the stored ETag (bit rot, tampering). */
export function corruptObject(info: ObjectInfo, where: string): ObjectStoreError {
  return new ObjectStoreError(
    'InternalError',
    `The stored bytes of ${where} fail their integrity check (MD5 differs from the ETag ${info.etag}); the object is damaged on disk and was not served. Restore it from a copy.`,
  );
}

/** Checks a whole in-memory read against the ETag. */
export function verifyBuffer(info: ObjectInfo, bytes: Buffer, where: string): Buffer {
  const want = expectedMd5(info);
  if (want !== undefined && createHash('md5').update(bytes).digest('hex') !== want)
    throw corruptObject(info, where);
  return bytes;
}

/**
 * Passes a whole read through, hashing it, and holds its last chunk back until the hash is
 * checked: a damaged blob ends in an error before the final bytes, so a client never receives a
 * complete (Content-Length) body of bad bytes.
 */
export function verifyStream(info: ObjectInfo, source: Readable, where: string): Readable {
  const want = expectedMd5(info);
  if (want === undefined) return source;
  const md5 = createHash('md5');
  let held: Buffer | undefined;
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      md5.update(chunk);
      if (held) this.push(held);
      held = chunk;
      done();
    },
    flush(done) {
      if (md5.digest('hex') !== want) return done(corruptObject(info, where));
      if (held) this.push(held);
      done();
    },
  });
  source.on('error', (e) => check.destroy(e));
  check.on('close', () => {
    if (!source.destroyed) source.destroy();
  });
  return source.pipe(check);
}

/**
 * The same check on the direct send path (`BlobHandle.send`): chunks are hashed as they go to the
 * socket, and the last one is held back (copied: the sender reuses its buffers) until the hash is
 * checked. @throws ObjectStoreError InternalError on a damaged blob, before its final bytes.
 */
export async function verifiedSend(
  info: ObjectInfo,
  send: (out: SendTarget) => Promise<void>,
  out: SendTarget,
  where: string,
): Promise<void> {
  const want = expectedMd5(info);
  if (want === undefined) return send(out);
  const md5 = createHash('md5');
  let held: Buffer | undefined;
  const writeHeld = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const chunk = held;
      held = undefined;
      if (!chunk) return resolve();
      out.write(chunk, (err) => (err ? reject(err) : resolve()));
    });
  const hashing: SendTarget = {
    get destroyed() {
      return out.destroyed;
    },
    once: (event, listener) => out.once(event, listener),
    off: (event, listener) => out.off(event, listener),
    write(chunk, callback) {
      md5.update(chunk);
      const previous = held;
      held = Buffer.from(chunk);
      if (!previous) {
        callback();
        return true;
      }
      return out.write(previous, callback);
    },
  };
  await send(hashing);
  if (md5.digest('hex') !== want) throw corruptObject(info, where);
  await writeHeld();
}
