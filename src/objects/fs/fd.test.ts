import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { markChunksDisposable } from '../../shared/disposable-chunks.js';
import { closeFd, drainToFd, openFd, sendFd } from './fd.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-fd-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Serves `file[start, start+length)` with sendFd over real HTTP and returns what a client got. */
async function fetchVia(file: string, start: number, length: number): Promise<Buffer> {
  const server = http.createServer((_req, res) => {
    void (async () => {
      const fd = await openFd(file, 'r');
      res.writeHead(200, { 'content-length': length });
      try {
        await sendFd(fd, start, length, res);
        res.end();
      } finally {
        await closeFd(fd);
      }
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    return Buffer.from(await res.arrayBuffer());
  } finally {
    server.close();
  }
}

describe('sendFd', () => {
  const bytes = randomBytes(3 * 1024 * 1024 + 12345);
  const file = path.join(dir, 'blob');
  fs.writeFileSync(file, bytes);

  it('sends a whole file larger than its buffers byte for byte', async () => {
    expect((await fetchVia(file, 0, bytes.length)).equals(bytes)).toBe(true);
  });

  it('sends a range that starts and ends inside buffers', async () => {
    const start = 1024 * 1024 - 7;
    const length = 2 * 1024 * 1024 + 99;
    expect(
      (await fetchVia(file, start, length)).equals(bytes.subarray(start, start + length)),
    ).toBe(true);
  });

  it('rejects when the file is shorter than asked', async () => {
    const fd = await openFd(file, 'r');
    const sink = new (await import('node:stream')).PassThrough();
    sink.resume();
    await expect(sendFd(fd, bytes.length - 10, 100, sink)).rejects.toThrow(/ended 90 bytes early/);
    await closeFd(fd);
  });
});

describe('drainToFd', () => {
  it('writes every byte of chunks of odd sizes across the pooled buffers, and counts them', async () => {
    // 3.3 MiB in chunks of 1 byte to 700 KiB: chunks straddle both 1 MiB buffers several times.
    const sizes = [1, 65_536, 700 * 1024, 3, 1024 * 1024, 511 * 1024, 12_345, 900 * 1024];
    const chunks = sizes.map((n) => randomBytes(n));
    const file = path.join(dir, 'drained.bin');
    const fd = await openFd(file, 'w');
    let seen = 0;
    try {
      await drainToFd(Readable.from(chunks), fd, (c) => (seen += c.length));
    } finally {
      await closeFd(fd);
    }
    const all = Buffer.concat(chunks);
    expect(seen).toBe(all.length);
    expect(fs.readFileSync(file).equals(all)).toBe(true);
  });

  it('frees the chunks of a stream marked disposable once copied, and only those', async () => {
    // Own ArrayBuffers (as a socket's reads are), plus a slice of a shared one that must survive.
    const sizes = [65_536, 700 * 1024, 1024 * 1024, 511 * 1024, 900 * 1024];
    const own = sizes.map((n) => Buffer.from(randomBytes(n)));
    const shared = Buffer.alloc(200_000, 7);
    const slice = shared.subarray(1000, 101_000);
    const chunks = [...own, slice];
    const expected = Buffer.concat(chunks);
    const drain = async (name: string, mark: boolean, input: Buffer[]) => {
      const body = Readable.from(input);
      if (mark) markChunksDisposable(body);
      const file = path.join(dir, name);
      const fd = await openFd(file, 'w');
      try {
        await drainToFd(body, fd, () => undefined);
      } finally {
        await closeFd(fd);
      }
      return fs.readFileSync(file);
    };
    const kept = [...own.map((c) => Buffer.from(c)), slice];
    expect((await drain('kept.bin', false, kept)).equals(expected)).toBe(true);
    expect(kept.map((c) => c.length)).toEqual([...sizes, 100_000]);

    expect((await drain('freed.bin', true, chunks)).equals(expected)).toBe(true);
    expect(own.map((c) => c.length)).toEqual(sizes.map(() => 0));
    expect(slice.length).toBe(100_000);
    expect(shared[0]).toBe(7);
  });

  it('rejects with the error of the stream', async () => {
    const file = path.join(dir, 'failed.bin');
    const fd = await openFd(file, 'w');
    const body = new Readable({ read() {} });
    const done = drainToFd(body, fd, () => undefined);
    body.push(Buffer.alloc(10, 1));
    body.destroy(new Error('client went away'));
    await expect(done).rejects.toThrow('client went away');
    await closeFd(fd);
  });
});
