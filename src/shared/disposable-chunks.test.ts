import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { disposeChunk, hasDisposableChunks, markChunksDisposable } from './disposable-chunks.js';

describe('disposable chunks', () => {
  it('marks a stream', () => {
    const s = Readable.from([]);
    expect(hasDisposableChunks(s)).toBe(false);
    markChunksDisposable(s);
    expect(hasDisposableChunks(s)).toBe(true);
  });

  it('frees a Buffer that owns its whole ArrayBuffer, and nothing that shares one', () => {
    const own = Buffer.alloc(65_536, 1);
    disposeChunk(own);
    expect(own.length).toBe(0);
    expect(own.buffer.byteLength).toBe(0);

    const parent = Buffer.alloc(65_536, 2);
    const slice = parent.subarray(1024);
    disposeChunk(slice);
    expect(slice.length).toBe(65_536 - 1024);
    expect(parent[0]).toBe(2);

    // Small Buffers come from Node's shared pool: left alone.
    const pooled = Buffer.from('hello');
    disposeChunk(pooled);
    expect(pooled.toString()).toBe('hello');

    const shared = Buffer.from(new SharedArrayBuffer(8192));
    disposeChunk(shared);
    expect(shared.length).toBe(8192);
  });
});
