import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirSyncs } from './dir-sync.js';

/** A fake folder fsync that the test completes by hand, recording each call. */
function manualFsync() {
  const calls: { dir: string; finish: (err?: Error) => void }[] = [];
  const fsyncDir = (dir: string) =>
    new Promise<void>((resolve, reject) =>
      calls.push({ dir, finish: (err) => (err ? reject(err) : resolve()) }),
    );
  return { calls, fsyncDir };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('DirSyncs', () => {
  it('shares one queued fsync among callers that arrive while one runs', async () => {
    const { calls, fsyncDir } = manualFsync();
    const syncs = new DirSyncs(fsyncDir);
    let firstDone = false;
    const first = syncs.sync('/a').then(() => (firstDone = true));
    const second = syncs.sync('/a');
    const third = syncs.sync('/a');
    expect(calls.map((c) => c.dir)).toEqual(['/a']);
    calls[0]!.finish();
    await first;
    expect(firstDone).toBe(true);
    await tick();
    // The callers that came during the first fsync need one that began after them: one more.
    expect(calls.map((c) => c.dir)).toEqual(['/a', '/a']);
    calls[1]!.finish();
    await Promise.all([second, third]);
    // Idle again: the next caller starts a fresh fsync at once.
    const fourth = syncs.sync('/a');
    expect(calls).toHaveLength(3);
    calls[2]!.finish();
    await fourth;
  });

  it('keeps folders apart and reports a failed fsync to the callers that shared it', async () => {
    const { calls, fsyncDir } = manualFsync();
    const syncs = new DirSyncs(fsyncDir);
    const a = syncs.sync('/a');
    const b = syncs.sync('/b');
    expect(calls.map((c) => c.dir)).toEqual(['/a', '/b']);
    const a2 = syncs.sync('/a');
    calls[0]!.finish(new Error('EIO'));
    calls[1]!.finish();
    await expect(a).rejects.toThrow('EIO');
    await b;
    await tick();
    calls[2]!.finish(new Error('EIO again'));
    await expect(a2).rejects.toThrow('EIO again');
  });

  it('fsyncs a real folder', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-dirsync-'));
    try {
      await expect(new DirSyncs().sync(dir)).resolves.toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
