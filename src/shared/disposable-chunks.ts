/**
 * Streams whose chunks nobody else holds once they were read: a consumer that has copied such a
 * chunk may free its memory at once instead of leaving it to the garbage collector.
 *
 * Why: every socket read of an HTTP body is a fresh 64 KiB ArrayBuffer outside V8's heap, and V8
 * frees those only when a collection happens to run. During a large upload 100–150 MiB of dead
 * chunks piled up between collections (measured: `process.memoryUsage().arrayBuffers` peaking at
 * 143 MiB while uploading 2 GiB, RSS +124 MiB). Freed right after their copy, the allocator hands
 * the same few blocks out again: RSS stays flat and the memory stays warm in the CPU's cache.
 */

const DISPOSABLE = Symbol('apiary.disposableChunks');

/** Marks `stream` as one whose emitted Buffers are each a sole owner of their memory. */
export function markChunksDisposable(stream: object): void {
  (stream as Record<symbol, boolean>)[DISPOSABLE] = true;
}

/** Whether `stream` was marked by {@link markChunksDisposable}. */
export function hasDisposableChunks(stream: object): boolean {
  return (stream as Record<symbol, boolean | undefined>)[DISPOSABLE] === true;
}

/**
 * Shared ownership of one chunk between the reader that split it (an aws-chunked decoder) and the
 * slices it emitted: the chunk is freed when the reader and every slice's consumer are done.
 */
export class ChunkLease {
  /** The reader's own hold. */
  private holders = 1;

  constructor(private readonly chunk: Buffer) {}

  /** Registers `slice`, a view into the chunk, as one more holder; @returns `slice`. */
  share(slice: Buffer): Buffer {
    this.holders++;
    leases.set(slice, this);
    return slice;
  }

  /** One holder is done; the last one frees the chunk. */
  release(): void {
    if (--this.holders === 0) disposeChunk(this.chunk);
  }
}

const leases = new WeakMap<Buffer, ChunkLease>();

/**
 * Frees `chunk`'s memory now (the Buffer becomes empty) when it spans its whole ArrayBuffer — a
 * view into a shared one (a slice, Node's small-buffer pool) is left alone, except a slice
 * registered with a {@link ChunkLease}, which counts as that lease's holder being done. Only for chunks of a
 * stream marked by {@link markChunksDisposable}, after their last use.
 */
export function disposeChunk(chunk: Buffer): void {
  const lease = leases.get(chunk);
  if (lease) {
    // A slice of a leased chunk: one holder fewer; the chunk goes with the last.
    leases.delete(chunk);
    lease.release();
    return;
  }
  const ab = chunk.buffer;
  if (chunk.byteOffset !== 0 || ab.byteLength !== chunk.byteLength || chunk.byteLength < 4096) {
    return;
  }
  try {
    // transfer(0) detaches the buffer and drops its backing store: freed now, not at the next GC.
    (ab as ArrayBuffer & { transfer(length: number): ArrayBuffer }).transfer(0);
  } catch {
    // Not detachable (a SharedArrayBuffer, a buffer V8 pins): the GC frees it as before.
  }
}
