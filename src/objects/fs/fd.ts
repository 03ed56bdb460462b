import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { disposeChunk, hasDisposableChunks } from '../../shared/disposable-chunks.js';
import type { SendTarget } from '../blob-store.js';

/**
 * Promise wrappers over the `fs` API with plain descriptors: lighter per call than `fs/promises`
 * FileHandles, which matters on the per-request path of small objects.
 *
 * Opening for reading and `close` run synchronously: on a local file they are metadata calls of a
 * few microseconds, and a round trip through libuv's thread pool costs several times that in CPU
 * (a hand-off, a wake-up and a callback on each side). Calls that wait for the disk (fsync,
 * reads, large writes) stay asynchronous.
 */

export const openFd = (file: string, flags: string): Promise<number> => {
  // Creating a file allocates an inode, which can take a millisecond of kernel time (ext4
  // scans for a reusable one): that waits in the pool, off the event loop.
  if (flags !== 'r') {
    return new Promise((resolve, reject) =>
      fs.open(file, flags, 0o644, (err, fd) => (err ? reject(err) : resolve(fd))),
    );
  }
  try {
    return Promise.resolve(fs.openSync(file, flags));
  } catch (err) {
    return Promise.reject(err as Error);
  }
};

export const closeFd = (fd: number): Promise<void> => {
  try {
    fs.closeSync(fd);
    return Promise.resolve();
  } catch (err) {
    return Promise.reject(err as Error);
  }
};

export const fsyncFd = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));

/** fsync(2) on a directory (opened read-only for it), with plain descriptors. */
export async function fsyncDirFd(dir: string): Promise<void> {
  const fd = await openFd(dir, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
}

const writevOnce = (fd: number, chunks: Buffer[], position: number | null): Promise<number> =>
  new Promise((resolve, reject) =>
    fs.writev(fd, chunks, position, (err, n) => (err ? reject(err) : resolve(n))),
  );

/**
 * Writes every byte of `chunks` (retrying short writes) at `position`, or at the file's current
 * position when it is absent. Two writes in flight at once on the thread pool must each name their
 * position: without one, whichever thread reaches the kernel first writes first.
 */
export async function writeAllFd(fd: number, chunks: Buffer[], position?: number): Promise<void> {
  let pending = chunks;
  let total = pending.reduce((n, c) => n + c.length, 0);
  let at = position ?? null;
  while (total > 0) {
    const written = await writevOnce(fd, pending, at);
    if (written >= total) return;
    pending = [Buffer.concat(pending).subarray(written)];
    total -= written;
    if (at !== null) at += written;
  }
}

/**
 * A read this small is done synchronously: a blob read soon after it was written (or read) comes
 * from the page cache in microseconds, while handing it to the thread pool costs a wake-up on each
 * side — and on a busy two-core machine the woken pool thread preempts the event loop.
 */
export const SYNC_READ_BYTES = 64 * 1024;

/** Reads exactly `length` bytes at `position` (fewer only at end of file). */
export async function readFd(fd: number, length: number, position: number): Promise<Buffer> {
  if (length <= SYNC_READ_BYTES) return readFdSync(fd, length, position);
  const buf = Buffer.allocUnsafe(length);
  let off = 0;
  while (off < length) {
    const n = await new Promise<number>((resolve, reject) =>
      fs.read(fd, buf, off, length - off, position + off, (err, bytes) =>
        err ? reject(err) : resolve(bytes),
      ),
    );
    if (n === 0) break;
    off += n;
  }
  return off === length ? buf : buf.subarray(0, off);
}

function readFdSync(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let off = 0;
  while (off < length) {
    const n = fs.readSync(fd, buf, off, length - off, position + off);
    if (n === 0) break;
    off += n;
  }
  return off === length ? buf : buf.subarray(0, off);
}

/**
 * A write this small goes to the page cache in microseconds: done synchronously, it costs less
 * CPU than the thread-pool round trip it would otherwise take (the fsync that follows waits for
 * the disk, asynchronously).
 */
export const SYNC_WRITE_BYTES = 256 * 1024;

/** Writes every byte of `chunks` (at most {@link SYNC_WRITE_BYTES} in all) synchronously. */
export function writeAllFdSync(fd: number, chunks: Buffer[], position?: number): void {
  let pending = chunks;
  let total = pending.reduce((n, c) => n + c.length, 0);
  let at = position ?? null;
  while (total > 0) {
    const written = fs.writevSync(fd, pending, at ?? undefined);
    if (written >= total) return;
    pending = [Buffer.concat(pending).subarray(written)];
    total -= written;
    if (at !== null) at += written;
  }
}

/**
 * Size of the pooled buffers uploads are gathered in and downloads read into: one syscall per
 * MiB each way.
 */
const SEND_BUFFER_BYTES = 1024 * 1024;
/** Idle buffers kept for the next transfer (16 MiB at most stays allocated). */
const SEND_POOL_MAX = 16;
const sendPool: Buffer[] = [];
const takeBuffer = (): Buffer => sendPool.pop() ?? Buffer.allocUnsafeSlow(SEND_BUFFER_BYTES);
const giveBuffer = (buf: Buffer): void => {
  if (sendPool.length < SEND_POOL_MAX) sendPool.push(buf);
};

/**
 * Writes a stream to `fd` through two pooled {@link SEND_BUFFER_BYTES} buffers: incoming chunks
 * are copied into one while the other is on its way to disk, and the stream pauses when both are
 * busy (memory per upload ≤ 2 MiB). The copy lets every socket chunk die young: held until its
 * batch was written, chunks outlived a scavenge or two and were promoted, and each 4 MiB upload
 * then paid for old-generation collections. Consumes with 'data' events: `for await` would read
 * the paused stream's buffer with a concatenating copy of every chunk. Writes from the start of
 * `fd` (a new file), each buffer at its own position.
 */
export function drainToFd(
  body: Readable,
  fd: number,
  onChunk: (chunk: Buffer) => void,
): Promise<void> {
  const dispose = hasDisposableChunks(body);
  return new Promise((resolve, reject) => {
    const bufs = [takeBuffer(), takeBuffer()] as const;
    const inFlight: (Promise<void> | undefined)[] = [undefined, undefined];
    let cur = 0;
    let fill = 0;
    /** Where the next flushed buffer goes: both buffers may be in flight at once. */
    let position = 0;
    let settled = false;
    const release = () => {
      // A buffer still being written stays with its write; the GC takes it afterwards.
      for (let i = 0; i < 2; i++) if (!inFlight[i]) giveBuffer(bufs[i]!);
    };
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      if (!body.destroyed) body.destroy(err as Error);
      release();
      reject(err);
    };
    const flush = (slot: number, length: number) => {
      const p: Promise<void> = writeAllFd(fd, [bufs[slot]!.subarray(0, length)], position).then(
        () => {
          if (inFlight[slot] === p) inFlight[slot] = undefined;
        },
        (err: unknown) => {
          if (inFlight[slot] === p) inFlight[slot] = undefined;
          fail(err);
        },
      );
      inFlight[slot] = p;
      position += length;
    };
    /**
     * Copies `chunk` from `from` on; @returns where it stopped because the next buffer is still
     * busy, or -1 once all of it is in (and then frees it when the stream allows).
     */
    const copyIn = (chunk: Buffer, from: number): number => {
      let off = from;
      while (off < chunk.length) {
        if (inFlight[cur]) return off;
        const n = chunk.copy(bufs[cur]!, fill, off);
        fill += n;
        off += n;
        if (fill === bufs[cur]!.length) {
          flush(cur, fill);
          cur ^= 1;
          fill = 0;
        }
      }
      if (dispose) disposeChunk(chunk);
      return -1;
    };
    /** Chunks waiting for a buffer, each with how much of it is in (the stream is paused). */
    const waiting: { chunk: Buffer; off: number }[] = [];
    const drainWaiting = () => {
      while (waiting.length > 0) {
        const head = waiting[0]!;
        const off = copyIn(head.chunk, head.off);
        if (off >= 0) {
          head.off = off;
          void inFlight[cur]!.then(() => {
            if (!settled) drainWaiting();
          });
          return;
        }
        waiting.shift();
      }
      body.resume();
    };
    function onData(chunk: Buffer | string) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      onChunk(buf);
      if (waiting.length > 0) {
        waiting.push({ chunk: buf, off: 0 });
        return;
      }
      const off = copyIn(buf, 0);
      if (off < 0) return;
      body.pause();
      waiting.push({ chunk: buf, off });
      void inFlight[cur]!.then(() => {
        if (!settled) drainWaiting();
      });
    }
    body.on('data', onData);
    body.once('error', fail);
    body.once('end', () => {
      void (async () => {
        try {
          while (!settled && (waiting.length > 0 || inFlight[0] || inFlight[1])) {
            await Promise.all(inFlight.filter((p): p is Promise<void> => p !== undefined));
          }
          if (settled) return;
          const last = bufs[cur]!.subarray(0, fill);
          if (fill <= SYNC_WRITE_BYTES) writeAllFdSync(fd, [last], position);
          else await writeAllFd(fd, [last], position);
          if (!settled) {
            settled = true;
            release();
            resolve();
          }
        } catch (err) {
          fail(err);
        }
      })();
    });
    // A stream that already failed (before anyone listened) reports it now.
    if (body.errored) fail(body.errored);
  });
}

/** Reads into `buf[0, length)` at `position`; resolves the bytes read (0 at end of file). */
const readInto = (fd: number, buf: Buffer, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) =>
    fs.read(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n))),
  );

/**
 * Sends `length` bytes of `fd` from `position` to `out` with two pooled 1 MiB buffers: one is read
 * while the other is being written, and a buffer is refilled only after the socket has taken it.
 * What `sendfile` would do, short of zero copy: no stream machinery, no allocation per chunk (and
 * so no garbage to collect). Rejects when `out` closes first (the client went away).
 */
export async function sendFd(
  fd: number,
  position: number,
  length: number,
  out: SendTarget,
): Promise<void> {
  const bufs = [takeBuffer(), takeBuffer()] as const;
  let closed = false;
  let onClose: () => void = () => undefined;
  const gone = new Promise<never>((_, reject) => {
    onClose = () => {
      closed = true;
      reject(new Error('the response closed before the object was sent'));
    };
  });
  gone.catch(() => undefined);
  out.once('close', onClose);
  // A buffer goes back to the pool only once the socket is done with it.
  const inFlight: (Promise<void> | undefined)[] = [undefined, undefined];
  const busy = [false, false];
  try {
    let pos = position;
    let remaining = length;
    let which = 0;
    while (remaining > 0) {
      const buf = bufs[which]!;
      await Promise.race([inFlight[which], gone]);
      if (closed || out.destroyed)
        throw new Error('the response closed before the object was sent');
      const n = await readInto(fd, buf, Math.min(buf.length, remaining), pos);
      if (n === 0) throw new Error(`the blob ended ${remaining} bytes early`);
      pos += n;
      remaining -= n;
      const chunk = buf.subarray(0, n);
      const slot = which;
      busy[slot] = true;
      inFlight[slot] = new Promise<void>((resolve, reject) =>
        out.write(chunk, (err) => {
          busy[slot] = false;
          if (err) reject(err);
          else resolve();
        }),
      );
      inFlight[which]!.catch(() => undefined);
      which ^= 1;
    }
    await Promise.race([Promise.all(inFlight.filter((p) => p !== undefined)), gone]);
  } finally {
    out.off('close', onClose);
    // Buffers the socket may still hold (the client went away mid-write) are left to the GC.
    for (let i = 0; i < 2; i++) if (!busy[i]) giveBuffer(bufs[i]!);
  }
}
