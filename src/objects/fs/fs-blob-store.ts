import { ObjectStoreError } from '../errors.js';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { crc32 as crc32Of } from '@node-rs/crc32';
import {
  MissingBlobError,
  newBlobId,
  type BlobEntry,
  type BlobHandle,
  type BlobPart,
  type BlobStore,
  type ByteRange,
  type WrittenBlob,
} from '../blob-store.js';
import {
  closeFd,
  drainToFd,
  fsyncDirFd,
  fsyncFd,
  openFd,
  readFd,
  sendFd,
  SYNC_WRITE_BYTES,
  writeAllFd,
  writeAllFdSync,
} from './fd.js';
import { DirSyncs } from './dir-sync.js';

export interface FsBlobStoreOptions {
  readonly dataDir: string;
  /** fsync each blob before `write` resolves (default true). */
  readonly fsync?: boolean;
}

const isEnoent = (e: unknown): boolean => (e as NodeJS.ErrnoException)?.code === 'ENOENT';

/**
 * Blob files under `<dataDir>/blobs/<first two hex digits>/<id>`. A write goes to
 * `<dataDir>/tmp/<id>`, is renamed into place and fsynced with its folder; only then may a row
 * refer to it.
 * Blobs are immutable, so a copy is a hard link and an open descriptor pins a version.
 */
export class FsBlobStore implements BlobStore {
  readonly kind = 'fs' as const;
  private readonly blobsDir: string;
  private readonly tmpDir: string;
  private readonly fsync: boolean;
  private readonly madeDirs = new Set<string>();
  private readonly dirSyncs = new DirSyncs();

  constructor(options: FsBlobStoreOptions) {
    this.blobsDir = path.join(options.dataDir, 'blobs');
    this.tmpDir = path.join(options.dataDir, 'tmp');
    this.fsync = options.fsync ?? true;
  }

  /** Creates the directories and deletes every temp file (a write a crash interrupted). */
  async start(): Promise<{ tempFilesRemoved: number }> {
    await fsp.mkdir(this.blobsDir, { recursive: true });
    let tempFilesRemoved = 0;
    if (fs.existsSync(this.tmpDir)) {
      for (const name of await fsp.readdir(this.tmpDir)) {
        await fsp.rm(path.join(this.tmpDir, name), { recursive: true, force: true });
        tempFilesRemoved++;
      }
    }
    await fsp.mkdir(this.tmpDir, { recursive: true });
    return { tempFilesRemoved };
  }

  /** The blob's file; exposed for staging (hard links) and tests. */
  localPath(id: string): string {
    return path.join(this.blobsDir, id.slice(0, 2), id);
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    const made = await fsp.mkdir(dir, { recursive: true });
    // A new fan-out folder's own entry must be durable before a blob in it can be.
    if (made !== undefined && this.fsync) await fsyncDirFd(path.dirname(dir));
    this.madeDirs.add(dir);
  }

  /**
   * Moves a finished temp file into the blob tree and makes it durable: the file's bytes (`fd`,
   * when it is still open and not yet fsynced) and the folder's entry for it are fsynced
   * together, in parallel — one device flush's wait instead of two in a row — and the folder's
   * fsync is shared with concurrent writers into the same folder ({@link DirSyncs}). Renaming
   * before the file's fsync is safe: no row refers to the blob until this resolves, so a crash in
   * between leaves at worst a blob nobody refers to (the orphan sweep removes it), never a
   * committed key whose bytes are lost. Without the folder's fsync a power loss could drop the
   * rename.
   */
  private async publish(tmp: string, id: string, fd?: number): Promise<void> {
    const dest = this.localPath(id);
    await this.ensureDir(path.dirname(dest));
    await new Promise<void>((resolve, reject) =>
      fs.rename(tmp, dest, (err) => (err ? reject(err) : resolve())),
    );
    if (!this.fsync) return;
    try {
      await Promise.all([
        fd !== undefined ? fsyncFd(fd) : undefined,
        this.dirSyncs.sync(path.dirname(dest)),
      ]);
    } catch (err) {
      await unlinkQuietly(dest);
      throw err;
    }
  }

  async write(body: Readable | Buffer | string): Promise<WrittenBlob> {
    const id = newBlobId();
    const tmp = path.join(this.tmpDir, id);
    const md5 = createHash('md5');
    // Same pass as the MD5 (@node-rs/crc32, ≈ 0.07 ns/byte vs MD5's 1.4): whole GETs verify by it.
    let crc32 = 0;
    let size = 0;
    const fd = await openFd(tmp, 'wx');
    try {
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
        md5.update(buf);
        crc32 = crc32Of(buf);
        size = buf.length;
        if (buf.length > SYNC_WRITE_BYTES) await writeAllFd(fd, [buf]);
        else if (buf.length > 0) writeAllFdSync(fd, [buf]);
      } else {
        await drainToFd(body, fd, (buf) => {
          md5.update(buf);
          crc32 = crc32Of(buf, crc32);
          size += buf.length;
        });
      }
      // Fsynced by publish, in parallel with the folder.
      await this.publish(tmp, id, fd);
    } catch (err) {
      await unlinkQuietly(tmp);
      throw diskFull(err);
    } finally {
      await closeFd(fd).catch(() => undefined);
    }
    return { id, size, md5: md5.digest(), crc32 };
  }

  async open(id: string, size: number): Promise<BlobHandle | undefined> {
    let fd: number;
    try {
      fd = await openFd(this.localPath(id), 'r');
    } catch (err) {
      if (isEnoent(err)) return undefined;
      throw err;
    }
    let used = false;
    const bounds = (range: ByteRange | undefined) => {
      const start = range?.start ?? 0;
      const end = range?.end ?? size - 1;
      return { start, end, length: Math.max(0, end - start + 1) };
    };
    return {
      read(range) {
        used = true;
        const { start, end, length } = bounds(range);
        if (length === 0) {
          void closeFd(fd).catch(() => undefined);
          return Readable.from([]);
        }
        return fs.createReadStream('', {
          fd,
          start,
          end,
          highWaterMark: Math.min(Math.max(length, 16 * 1024), 1024 * 1024),
          autoClose: true,
        });
      },
      async readBuffer(range) {
        used = true;
        const { start, length } = bounds(range);
        try {
          return length === 0 ? Buffer.alloc(0) : await readFd(fd, length, start);
        } finally {
          await closeFd(fd).catch(() => undefined);
        }
      },
      async send(range, out) {
        used = true;
        const { start, length } = bounds(range);
        try {
          await sendFd(fd, start, length, out);
        } finally {
          await closeFd(fd).catch(() => undefined);
        }
      },
      async close() {
        if (!used) {
          used = true;
          await closeFd(fd);
        }
      },
    };
  }

  /** A hard link (blobs are immutable, so a link is a copy); a byte copy across filesystems. */
  async copy(id: string): Promise<string | undefined> {
    const target = newBlobId();
    const dest = this.localPath(target);
    await this.ensureDir(path.dirname(dest));
    try {
      await fsp.link(this.localPath(id), dest);
      return target;
    } catch (err) {
      if (isEnoent(err)) return undefined;
    }
    const tmp = path.join(this.tmpDir, target);
    try {
      await fsp.copyFile(this.localPath(id), tmp);
      if (this.fsync) {
        const fd = await openFd(tmp, 'r');
        try {
          await fsyncFd(fd);
        } finally {
          await closeFd(fd);
        }
      }
      await this.publish(tmp, target);
      return target;
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      if (isEnoent(err)) return undefined;
      throw err;
    }
  }

  async concat(parts: readonly BlobPart[]): Promise<{ id: string; size: number }> {
    const id = newBlobId();
    const tmp = path.join(this.tmpDir, id);
    const out = await fsp.open(tmp, 'wx');
    let size = 0;
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    try {
      for (const part of parts) {
        let input: fsp.FileHandle;
        try {
          input = await fsp.open(this.localPath(part.id), 'r');
        } catch (err) {
          throw isEnoent(err) ? new MissingBlobError(part.id) : err;
        }
        try {
          for (;;) {
            const { bytesRead } = await input.read(buf, 0, buf.length, null);
            if (bytesRead === 0) break;
            await writeAllFd(out.fd, [buf.subarray(0, bytesRead)]);
            size += bytesRead;
          }
        } finally {
          await input.close();
        }
      }
      await this.publish(tmp, id, out.fd);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    } finally {
      await out.close().catch(() => undefined);
    }
    return { id, size };
  }

  async delete(ids: readonly string[]): Promise<void> {
    // unlink(2) directly: fs.promises.rm stats first and goes through rimraf's machinery.
    await Promise.all(ids.map((id) => unlinkQuietly(this.localPath(id))));
  }

  async *list(): AsyncIterable<BlobEntry> {
    for (const a of await fsp.readdir(this.blobsDir).catch(() => [] as string[])) {
      const dir = path.join(this.blobsDir, a);
      for (const id of await fsp.readdir(dir).catch(() => [] as string[])) {
        const file = path.join(dir, id);
        yield {
          id,
          modifiedMs: async () => (await fsp.stat(file).catch(() => undefined))?.mtimeMs ?? 0,
        };
      }
    }
  }
}

/** Removes a file; one already gone (or any failure: a leftover is swept later) is fine. */
const unlinkQuietly = (file: string): Promise<void> =>
  new Promise((resolve) => fs.unlink(file, () => resolve()));

/** ENOSPC/EDQUOT as the store's InsufficientStorage (the temp file is already gone); else `err`. */
function diskFull(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return err;
  return new ObjectStoreError(
    'InsufficientStorage',
    "The server's disk is full: the object was not stored (its earlier version, if any, is intact). Free space in Apiary's data dir and retry.",
  );
}
