import fs from 'node:fs';

/**
 * Promise wrappers over the callback `fs` API with plain descriptors: lighter per call than
 * `fs/promises` FileHandles, which matters on the per-request path of small objects.
 */

export const openFd = (file: string, flags: string): Promise<number> =>
  new Promise((resolve, reject) => fs.open(file, flags, 0o644, (err, fd) => (err ? reject(err) : resolve(fd))));

export const closeFd = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));

export const fsyncFd = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));

const writevOnce = (fd: number, chunks: Buffer[]): Promise<number> =>
  new Promise((resolve, reject) => fs.writev(fd, chunks, (err, n) => (err ? reject(err) : resolve(n))));

/** Writes every byte of `chunks` at the current position (retrying short writes). */
export async function writeAllFd(fd: number, chunks: Buffer[]): Promise<void> {
  let pending = chunks;
  let total = pending.reduce((n, c) => n + c.length, 0);
  while (total > 0) {
    const written = await writevOnce(fd, pending);
    if (written >= total) return;
    pending = [Buffer.concat(pending).subarray(written)];
    total -= written;
  }
}

/** Reads exactly `length` bytes at `position` (fewer only at end of file). */
export async function readFd(fd: number, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let off = 0;
  while (off < length) {
    const n = await new Promise<number>((resolve, reject) =>
      fs.read(fd, buf, off, length - off, position + off, (err, bytes) => (err ? reject(err) : resolve(bytes))),
    );
    if (n === 0) break;
    off += n;
  }
  return off === length ? buf : buf.subarray(0, off);
}
