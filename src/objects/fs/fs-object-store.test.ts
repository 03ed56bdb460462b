import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../store/index.js';
import { objectsMigrations } from '../migrations.js';
import { FsObjectStore } from './fs-object-store.js';

let dir: string;
let database: Database;
let store: FsObjectStore;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-fs-store-'));
  database = await openDatabase({ dataDir: dir, migrations: objectsMigrations });
  store = new FsObjectStore({ db: database.db, dataDir: dir, fsync: false, minPartSizeBytes: 4 });
  await store.start();
  await store.createBucket('model');
});
afterAll(async () => {
  await database?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** S3's listing, computed the slow and obvious way. */
function expected(keys: string[], prefix: string, delimiter: string | undefined, after: string | undefined) {
  const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const out: string[] = [];
  for (const k of sorted) {
    if (!k.startsWith(prefix)) continue;
    let entry = k;
    if (delimiter) {
      const at = k.indexOf(delimiter, prefix.length);
      if (at >= 0) entry = k.slice(0, at + delimiter.length);
    }
    if (after !== undefined && Buffer.compare(Buffer.from(entry), Buffer.from(after)) <= 0) continue;
    if (out[out.length - 1] !== entry) out.push(entry);
  }
  return out;
}

describe('FsObjectStore listing', () => {
  const keys: string[] = [];
  beforeAll(async () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const parts = ['a', 'b', 'ab', 'z', 'é', '🐝', '-', '.', ' '];
    while (keys.length < 300) {
      const depth = 1 + rnd(3);
      const k = Array.from({ length: depth }, () => parts[rnd(parts.length)]! + parts[rnd(parts.length)]!).join('/');
      if (!keys.includes(k)) keys.push(k);
    }
    for (const k of keys) await store.putObject('model', k, k);
  });

  it.each([
    ['', undefined],
    ['', '/'],
    ['a', '/'],
    ['ab/', '/'],
    ['é', undefined],
    ['', 'b'],
  ] as const)('pages prefix %j delimiter %j exactly like S3', async (prefix, delimiter) => {
    for (const maxKeys of [1, 7, 1000]) {
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.listObjects('model', { prefix, ...(delimiter ? { delimiter } : {}), maxKeys, ...(after !== undefined ? { startAfter: after } : {}) });
        const entries = [...page.objects.map((o) => o.key), ...page.commonPrefixes].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        expect(entries.length).toBeLessThanOrEqual(maxKeys);
        seen.push(...entries);
        if (!page.isTruncated) break;
        after = page.nextMarker;
      }
      expect(seen).toEqual(expected(keys, prefix, delimiter, undefined));
    }
  });
});

describe('FsObjectStore writes', () => {
  it('removes the replaced blob once the new version commits', async () => {
    await store.putObject('model', 'v', 'one');
    const first = await store.localPath({ bucket: 'model', key: 'v' } as never);
    await store.putObject('model', 'v', 'two');
    expect(fs.existsSync(first!)).toBe(false);
    expect((await store.getObjectBuffer('model', 'v'))!.toString()).toBe('two');
  });

  it('keeps a reader on the version it opened while a writer replaces it', async () => {
    await store.putObject('model', 'pinned', 'old bytes');
    const handle = await store.openObject('model', 'pinned');
    await store.putObject('model', 'pinned', 'new bytes');
    expect((await handle!.readBuffer()).toString()).toBe('old bytes');
    expect((await store.getObjectBuffer('model', 'pinned'))!.toString()).toBe('new bytes');
  });

  it('sweeps temp files and orphan blobs at start', async () => {
    fs.writeFileSync(path.join(dir, 'tmp', 'half-written'), 'x');
    fs.mkdirSync(path.join(dir, 'blobs', 'ff'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'blobs', 'ff', 'ff'.repeat(16)), 'orphan');
    const swept = await store.start();
    expect(swept).toEqual({ tempFilesRemoved: 1, orphanBlobsRemoved: 1 });
    expect((await store.getObjectBuffer('model', 'v'))!.toString()).toBe('two');
  });

  it('concatenates multipart parts and names the ETag after the parts', async () => {
    const up = await store.createMultipartUpload('model', 'mp', { contentType: 'text/plain' });
    const p1 = await store.uploadPart('model', 'mp', up.uploadId, 1, 'hello ');
    const p2 = await store.uploadPart('model', 'mp', up.uploadId, 2, 'world');
    const info = await store.completeMultipartUpload('model', 'mp', up.uploadId, [
      { partNumber: 1, etag: p1.etag },
      { partNumber: 2, etag: p2.etag },
    ]);
    expect(info.etag).toMatch(/^"[0-9a-f]{32}-2"$/);
    expect(info.contentType).toBe('text/plain');
    expect((await store.getObjectBuffer('model', 'mp'))!.toString()).toBe('hello world');
    await expect(store.listParts('model', 'mp', up.uploadId)).rejects.toMatchObject({ code: 'NoSuchUpload' });
  });
});
