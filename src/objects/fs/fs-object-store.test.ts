import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../store/index.js';
import { DbObjectStore } from '../db-object-store.js';
import { objectsMigrations } from '../migrations.js';
import { objectStoreContract } from '../object-store.contract.js';
import { FsBlobStore } from './fs-blob-store.js';

async function fsSubject(minPartSizeBytes: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-fs-store-'));
  const database = await openDatabase({ dataDir: dir, migrations: objectsMigrations });
  const blobs = new FsBlobStore({ dataDir: dir, fsync: false });
  const store = new DbObjectStore({
    db: database.db,
    blobs,
    minPartSizeBytes,
    masterKey: randomBytes(32),
  });
  await store.start();
  return {
    dir,
    store,
    blobs,
    async close() {
      await database.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

objectStoreContract('fs', ({ minPartSizeBytes }) => fsSubject(minPartSizeBytes));

describe('the fs blob store', () => {
  let subject: Awaited<ReturnType<typeof fsSubject>>;
  beforeAll(async () => {
    subject = await fsSubject(4);
    await subject.store.createBucket('model');
  });
  afterAll(() => subject?.close());

  it('gives staging the blob file of the current version, and none after a replace', async () => {
    const { store } = subject;
    await store.putObject('model', 'v', 'one');
    const first = await store.localPath({ bucket: 'model', key: 'v' } as never);
    expect(fs.readFileSync(first!, 'utf8')).toBe('one');
    await store.putObject('model', 'v', 'two');
    expect(fs.existsSync(first!)).toBe(false);
    expect(
      fs.readFileSync((await store.localPath({ bucket: 'model', key: 'v' } as never))!, 'utf8'),
    ).toBe('two');
  });

  it('copies by hard link', async () => {
    const { store } = subject;
    await store.putObject('model', 'linked', 'same inode');
    await store.copyObject({ bucket: 'model', key: 'linked' }, { bucket: 'model', key: 'link' });
    const a = fs.statSync((await store.localPath({ bucket: 'model', key: 'linked' } as never))!);
    const b = fs.statSync((await store.localPath({ bucket: 'model', key: 'link' } as never))!);
    expect(a.ino).toBe(b.ino);
  });

  it('keeps the CRC32 of each single-part write for verified reads; a copy keeps it', async () => {
    const { store } = subject;
    const bytes = Buffer.from('checked by the CRC32 kept at write time '.repeat(50));
    const put = await store.putObject('model', 'crc', bytes);
    expect(put.storedCrc32).toBe(zlib.crc32(bytes));
    expect((await store.headObject('model', 'crc'))?.storedCrc32).toBe(zlib.crc32(bytes));
    const copied = await store.copyObject(
      { bucket: 'model', key: 'crc' },
      { bucket: 'model', key: 'crc-copy' },
    );
    expect(copied.storedCrc32).toBe(zlib.crc32(bytes));
    expect((await store.getObjectBuffer('model', 'crc-copy'))!.equals(bytes)).toBe(true);
  });

  it('sweeps temp files and orphan blobs at start', async () => {
    const { dir, store } = subject;
    fs.writeFileSync(path.join(dir, 'tmp', 'half-written'), 'x');
    fs.mkdirSync(path.join(dir, 'blobs', 'ff'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'blobs', 'ff', 'ff'.repeat(16)), 'orphan');
    const swept = await store.start();
    expect(swept).toEqual({ tempFilesRemoved: 1, orphanBlobsRemoved: 1 });
    expect((await store.getObjectBuffer('model', 'v'))!.toString()).toBe('two');
  });
});
