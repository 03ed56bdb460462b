import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Kysely, Transaction } from 'kysely';
import type { Db } from '../../store/index.js';
import type { Clock } from '../../shared/clock.js';
import { systemClock } from '../../shared/clock.js';
import { ObjectStoreError } from '../errors.js';
import { closeFd, fsyncFd, openFd, readFd, writeAllFd } from './fd.js';
import { assertBucketName, assertKey, prefixSuccessor } from '../names.js';
import type {
  BucketInfo,
  CompletedPart,
  CopyObjectOptions,
  ListObjectsOptions,
  ListObjectsResult,
  MultipartUploadInfo,
  ObjectChecksum,
  ObjectHandle,
  ObjectInfo,
  ObjectStore,
  PartInfo,
  PutObjectOptions,
  WriteConditions,
} from '../object-store.js';

export type ObjectsTables = {
  s3_buckets: { name: string; created_at_ms: number };
  s3_objects: {
    bucket: string;
    key: string;
    blob_id: string;
    size: number;
    etag: string;
    content_type: string;
    metadata: string;
    headers: string;
    checksum: string | null;
    parts_count: number | null;
    last_modified_ms: number;
  };
  s3_uploads: {
    upload_id: string;
    bucket: string;
    key: string;
    content_type: string;
    metadata: string;
    headers: string;
    initiated_at_ms: number;
  };
  s3_parts: {
    upload_id: string;
    part_number: number;
    blob_id: string;
    size: number;
    etag: string;
    last_modified_ms: number;
  };
};

type ObjectRow = ObjectsTables['s3_objects'];
type Tx = Transaction<ObjectsTables> | Kysely<ObjectsTables>;

/** S3's limits on multipart uploads. */
export const MIN_PART_SIZE_BYTES = 5 * 1024 * 1024;
export const MAX_PART_NUMBER = 10_000;
export const MAX_PART_SIZE_BYTES = 5 * 1024 * 1024 * 1024;
/** Writes are batched into chunks of this size: one syscall per MiB, memory per upload ≤ 2 MiB. */
const WRITE_BATCH_BYTES = 1024 * 1024;
const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';

export interface FsObjectStoreOptions {
  readonly db: Db;
  readonly dataDir: string;
  readonly clock?: Clock;
  /** Smallest allowed non-last part of a multipart upload (S3: 5 MiB). */
  readonly minPartSizeBytes?: number;
  /** fsync each blob before it is committed (default true). */
  readonly fsync?: boolean;
}

interface WrittenBlob {
  readonly id: string;
  readonly size: number;
  readonly md5: Buffer;
}

/**
 * Writes a stream to `fd` in batches of {@link WRITE_BATCH_BYTES}, one batch on disk while the next
 * fills. Consumes with 'data' events: `for await` would read the paused stream's buffer with a
 * concatenating copy of every chunk.
 */
function drainToFd(body: Readable, fd: number, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let batch: Buffer[] = [];
    let batchBytes = 0;
    let writing: Promise<void> | undefined;
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      if (!body.destroyed) body.destroy(err as Error);
      reject(err);
    };
    const startWrite = (chunks: Buffer[]) => {
      const p: Promise<void> = writeAllFd(fd, chunks).then(
        () => {
          if (writing === p) writing = undefined;
        },
        (err: unknown) => {
          if (writing === p) writing = undefined;
          fail(err);
        },
      );
      writing = p;
    };
    function onData(chunk: Buffer | string) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      onChunk(buf);
      batch.push(buf);
      batchBytes += buf.length;
      if (batchBytes < WRITE_BATCH_BYTES) return;
      const chunks = batch;
      batch = [];
      batchBytes = 0;
      if (!writing) return startWrite(chunks);
      body.pause();
      void writing.then(() => {
        if (settled) return;
        startWrite(chunks);
        body.resume();
      });
    }
    body.on('data', onData);
    body.once('error', fail);
    body.once('end', () => {
      void (async () => {
        try {
          while (writing && !settled) await writing;
          if (settled) return;
          if (batch.length > 0) await writeAllFd(fd, batch);
          if (!settled) {
            settled = true;
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

const unquote = (etag: string): string => etag.trim().replace(/^"(.*)"$/, '$1');
const isEnoent = (e: unknown): boolean => (e as NodeJS.ErrnoException)?.code === 'ENOENT';

function rowToInfo(row: ObjectRow): ObjectInfo {
  return {
    bucket: row.bucket,
    key: row.key,
    size: Number(row.size),
    etag: row.etag,
    contentType: row.content_type,
    lastModifiedMs: Number(row.last_modified_ms),
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    headers: JSON.parse(row.headers) as Record<string, string>,
    ...(row.checksum ? { checksum: JSON.parse(row.checksum) as ObjectChecksum } : {}),
    ...(row.parts_count !== null && row.parts_count !== undefined
      ? { partsCount: Number(row.parts_count) }
      : {}),
  };
}

function checkConditions(current: { etag: string } | undefined, c: WriteConditions, key: string): void {
  if (c.ifNoneMatch !== undefined) {
    if (current && (c.ifNoneMatch.trim() === '*' || unquote(c.ifNoneMatch) === unquote(current.etag))) {
      throw new ObjectStoreError(
        'PreconditionFailed',
        `At least one of the pre-conditions you specified did not hold: '${key}' already exists (If-None-Match).`,
        { Condition: 'If-None-Match' },
      );
    }
  }
  if (c.ifMatch !== undefined) {
    if (!current) {
      throw new ObjectStoreError('NoSuchKey', 'The specified key does not exist.', { Key: key });
    }
    if (c.ifMatch.trim() !== '*' && unquote(c.ifMatch) !== unquote(current.etag)) {
      throw new ObjectStoreError(
        'PreconditionFailed',
        `At least one of the pre-conditions you specified did not hold: the ETag of '${key}' is ${current.etag} (If-Match).`,
        { Condition: 'If-Match' },
      );
    }
  }
}

function md5Check(expectedBase64: string | undefined, actual: Buffer): void {
  if (expectedBase64 === undefined) return;
  const expected = Buffer.from(expectedBase64, 'base64');
  if (expected.length !== 16 || expected.toString('base64') !== expectedBase64.trim()) {
    throw new ObjectStoreError('InvalidDigest', 'The Content-MD5 you specified is not valid: it must be the base64 of a 16-byte MD5 digest.');
  }
  if (!expected.equals(actual)) {
    throw new ObjectStoreError('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
      ExpectedDigest: expectedBase64,
      CalculatedDigest: actual.toString('base64'),
    });
  }
}

async function writeFully(fh: FileHandle, chunks: Buffer[]): Promise<void> {
  let pending = chunks;
  while (pending.length > 0) {
    const total = pending.reduce((n, c) => n + c.length, 0);
    const { bytesWritten } = await fh.writev(pending);
    if (bytesWritten >= total) return;
    pending = [Buffer.concat(pending).subarray(bytesWritten)];
  }
}

/**
 * The embedded object store: keys in the database, bytes in immutable blob files named by id
 * under `<dataDir>/blobs/<first two hex digits>/<id>`. A write goes to `<dataDir>/tmp/<id>`, is fsynced, renamed
 * into place, and only then committed with the key in one transaction; the blob it replaces is
 * removed after the commit. No user-supplied name ever becomes part of a path.
 */
export class FsObjectStore implements ObjectStore {
  private readonly db: Kysely<ObjectsTables>;
  private readonly blobsDir: string;
  private readonly tmpDir: string;
  private readonly clock: Clock;
  private readonly minPartSize: number;
  private readonly fsync: boolean;
  private readonly madeDirs = new Set<string>();
  /**
   * Buckets seen to exist: spares a query before each upload streams. Only a hint — every commit
   * checks the bucket again inside its transaction (another replica may have deleted it).
   */
  private readonly knownBuckets = new Set<string>();

  constructor(options: FsObjectStoreOptions) {
    this.db = options.db.withTables<ObjectsTables>() as unknown as Kysely<ObjectsTables>;
    this.blobsDir = path.join(options.dataDir, 'blobs');
    this.tmpDir = path.join(options.dataDir, 'tmp');
    this.clock = options.clock ?? systemClock;
    this.minPartSize = options.minPartSizeBytes ?? MIN_PART_SIZE_BYTES;
    this.fsync = options.fsync ?? true;
  }

  /** Creates the directories, deletes every temp file and every blob no row refers to. */
  async start(): Promise<{ tempFilesRemoved: number; orphanBlobsRemoved: number }> {
    await fsp.mkdir(this.blobsDir, { recursive: true });
    let tempFilesRemoved = 0;
    if (fs.existsSync(this.tmpDir)) {
      for (const name of await fsp.readdir(this.tmpDir)) {
        await fsp.rm(path.join(this.tmpDir, name), { recursive: true, force: true });
        tempFilesRemoved++;
      }
    }
    await fsp.mkdir(this.tmpDir, { recursive: true });
    for (const b of await this.db.selectFrom('s3_buckets').select('name').execute()) this.knownBuckets.add(b.name);
    const referenced = new Set<string>();
    for (const r of await this.db.selectFrom('s3_objects').select('blob_id').execute()) referenced.add(r.blob_id);
    for (const r of await this.db.selectFrom('s3_parts').select('blob_id').execute()) referenced.add(r.blob_id);
    let orphanBlobsRemoved = 0;
    for (const a of await fsp.readdir(this.blobsDir)) {
      const da = path.join(this.blobsDir, a);
      for (const id of await fsp.readdir(da).catch(() => [] as string[])) {
        if (!referenced.has(id)) {
          await fsp.rm(path.join(da, id), { force: true });
          orphanBlobsRemoved++;
        }
      }
    }
    return { tempFilesRemoved, orphanBlobsRemoved };
  }

  blobPath(id: string): string {
    return path.join(this.blobsDir, id.slice(0, 2), id);
  }

  // ---- buckets ----

  async createBucket(name: string): Promise<void> {
    assertBucketName(name);
    await this.db.transaction().execute(async (tx) => {
      const existing = await tx.selectFrom('s3_buckets').select('name').where('name', '=', name).executeTakeFirst();
      if (existing) {
        throw new ObjectStoreError(
          'BucketAlreadyOwnedByYou',
          'Your previous request to create the named bucket succeeded and you already own it.',
          { BucketName: name },
        );
      }
      await tx.insertInto('s3_buckets').values({ name, created_at_ms: this.clock.nowMs() }).execute();
    });
    this.knownBuckets.add(name);
  }

  async getBucket(name: string): Promise<BucketInfo | undefined> {
    const row = await this.db.selectFrom('s3_buckets').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? { name: row.name, createdAtMs: Number(row.created_at_ms) } : undefined;
  }

  async listBuckets(): Promise<BucketInfo[]> {
    const rows = await this.db.selectFrom('s3_buckets').selectAll().orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, createdAtMs: Number(r.created_at_ms) }));
  }

  async deleteBucket(name: string): Promise<void> {
    const blobs = await this.db.transaction().execute(async (tx) => {
      await this.requireBucket(tx, name);
      const one = await tx.selectFrom('s3_objects').select('key').where('bucket', '=', name).limit(1).executeTakeFirst();
      if (one) {
        throw new ObjectStoreError('BucketNotEmpty', 'The bucket you tried to delete is not empty.', { BucketName: name });
      }
      const uploads = await tx.selectFrom('s3_uploads').select('upload_id').where('bucket', '=', name).execute();
      const ids = uploads.map((u) => u.upload_id);
      let partBlobs: string[] = [];
      if (ids.length > 0) {
        partBlobs = (await tx.selectFrom('s3_parts').select('blob_id').where('upload_id', 'in', ids).execute()).map((p) => p.blob_id);
        await tx.deleteFrom('s3_parts').where('upload_id', 'in', ids).execute();
        await tx.deleteFrom('s3_uploads').where('bucket', '=', name).execute();
      }
      await tx.deleteFrom('s3_buckets').where('name', '=', name).execute();
      return partBlobs;
    });
    this.knownBuckets.delete(name);
    await this.removeBlobs(blobs);
  }

  /** Before streaming: a cached positive answer will do (the commit checks again). */
  private async precheckBucket(name: string): Promise<void> {
    if (this.knownBuckets.has(name)) return;
    await this.requireBucket(this.db, name);
    this.knownBuckets.add(name);
  }

  private async requireBucket(tx: Tx, name: string): Promise<void> {
    const row = await tx.selectFrom('s3_buckets').select('name').where('name', '=', name).executeTakeFirst();
    if (!row) {
      throw new ObjectStoreError('NoSuchBucket', 'The specified bucket does not exist.', { BucketName: name });
    }
  }

  // ---- blobs ----

  private async ensureDir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    await fsp.mkdir(dir, { recursive: true });
    this.madeDirs.add(dir);
  }

  /** Streams `body` to a temp file, fsyncs it and renames it into the blob tree. */
  private async writeBlob(body: Readable | Buffer | string, contentMd5: string | undefined): Promise<WrittenBlob> {
    const id = randomBytes(16).toString('hex');
    const tmp = path.join(this.tmpDir, id);
    const md5 = createHash('md5');
    let size = 0;
    const fd = await openFd(tmp, 'wx');
    try {
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
        md5.update(buf);
        size = buf.length;
        if (buf.length > 0) await writeAllFd(fd, [buf]);
      } else {
        await drainToFd(body, fd, (buf) => {
          md5.update(buf);
          size += buf.length;
        });
      }
      if (this.fsync) await fsyncFd(fd);
      await closeFd(fd);
    } catch (err) {
      await closeFd(fd).catch(() => undefined);
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    const digest = md5.digest();
    try {
      md5Check(contentMd5, digest);
      const dest = this.blobPath(id);
      await this.ensureDir(path.dirname(dest));
      await fsp.rename(tmp, dest);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    return { id, size, md5: digest };
  }

  private async removeBlobs(ids: readonly string[]): Promise<void> {
    await Promise.all(ids.map((id) => fsp.rm(this.blobPath(id), { force: true }).catch(() => undefined)));
  }

  // ---- objects ----

  async putObject(
    bucket: string,
    key: string,
    body: Readable | Buffer | string,
    options: PutObjectOptions = {},
  ): Promise<ObjectInfo> {
    assertKey(key);
    await this.precheckBucket(bucket);
    const blob = await this.writeBlob(body, options.contentMd5);
    return this.commitObject(bucket, key, blob.id, {
      size: blob.size,
      etag: `"${blob.md5.toString('hex')}"`,
      contentType: options.contentType,
      metadata: options.metadata,
      headers: options.headers,
      checksum: options.checksum,
      partsCount: undefined,
      conditions: options,
    });
  }

  /** Commits `blobId` as the object; removes the blob it replaces, or `blobId` itself on failure. */
  private async commitObject(
    bucket: string,
    key: string,
    blobId: string,
    o: {
      size: number;
      etag: string;
      contentType: string | undefined;
      metadata: Readonly<Record<string, string>> | undefined;
      headers: Readonly<Record<string, string>> | undefined;
      checksum: ObjectChecksum | undefined;
      partsCount: number | undefined;
      conditions: WriteConditions;
    },
    inTx?: (tx: Transaction<ObjectsTables>) => Promise<void>,
  ): Promise<ObjectInfo> {
    const row: ObjectRow = {
      bucket,
      key,
      blob_id: blobId,
      size: o.size,
      etag: o.etag,
      content_type: o.contentType || DEFAULT_CONTENT_TYPE,
      metadata: JSON.stringify(o.metadata ?? {}),
      headers: JSON.stringify(o.headers ?? {}),
      checksum: o.checksum ? JSON.stringify(o.checksum) : null,
      parts_count: o.partsCount ?? null,
      last_modified_ms: this.clock.nowMs(),
    };
    let replaced: string | undefined;
    try {
      replaced = await this.db.transaction().execute(async (tx) => {
        await this.requireBucket(tx, bucket);
        const old = await tx
          .selectFrom('s3_objects')
          .select(['blob_id', 'etag'])
          .where('bucket', '=', bucket)
          .where('key', '=', key)
          .executeTakeFirst();
        checkConditions(old, o.conditions, key);
        if (inTx) await inTx(tx);
        if (old) {
          const { bucket: _b, key: _k, ...rest } = row;
          await tx.updateTable('s3_objects').set(rest).where('bucket', '=', bucket).where('key', '=', key).execute();
        } else {
          await tx.insertInto('s3_objects').values(row).execute();
        }
        return old?.blob_id;
      });
    } catch (err) {
      await this.removeBlobs([blobId]);
      throw err;
    }
    if (replaced !== undefined && replaced !== blobId) await this.removeBlobs([replaced]);
    return rowToInfo(row);
  }

  async headObject(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    const row = await this.db
      .selectFrom('s3_objects')
      .selectAll()
      .where('bucket', '=', bucket)
      .where('key', '=', key)
      .executeTakeFirst();
    if (row) return rowToInfo(row);
    await this.requireBucket(this.db, bucket);
    return undefined;
  }

  /**
   * Opens the current version of an object and pins it: the handle reads that version even when
   * a newer one commits meanwhile. Call `read` once, or `close`.
   */
  async openObject(bucket: string, key: string): Promise<ObjectHandle | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const row = await this.db
        .selectFrom('s3_objects')
        .selectAll()
        .where('bucket', '=', bucket)
        .where('key', '=', key)
        .executeTakeFirst();
      if (!row) {
        await this.requireBucket(this.db, bucket);
        return undefined;
      }
      let fd: number;
      try {
        fd = await openFd(this.blobPath(row.blob_id), 'r');
      } catch (err) {
        // Replaced and removed between the lookup and the open: look again.
        if (isEnoent(err)) continue;
        throw err;
      }
      const info = rowToInfo(row);
      let used = false;
      const bounds = (range?: { start: number; end: number }) => {
        const start = range?.start ?? 0;
        const end = range?.end ?? info.size - 1;
        return { start, end, length: Math.max(0, end - start + 1) };
      };
      return {
        info,
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
        async close() {
          if (!used) {
            used = true;
            await closeFd(fd);
          }
        },
      };
    }
    throw new Error('the object kept changing while it was being opened');
  }

  async getObject(
    bucket: string,
    key: string,
    range?: { start: number; end: number },
  ): Promise<{ info: ObjectInfo; body: Readable } | undefined> {
    const handle = await this.openObject(bucket, key);
    if (!handle) return undefined;
    return { info: handle.info, body: handle.read(range) };
  }

  async getObjectBuffer(bucket: string, key: string): Promise<Buffer | undefined> {
    const got = await this.getObject(bucket, key);
    if (!got) return undefined;
    const chunks: Buffer[] = [];
    for await (const c of got.body) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    await this.deleteObjects(bucket, [key]);
  }

  /** Deletes up to 1,000 keys in one transaction; missing keys count as deleted (as in S3). */
  async deleteObjects(bucket: string, keys: readonly string[]): Promise<void> {
    const blobs = await this.db.transaction().execute(async (tx) => {
      await this.requireBucket(tx, bucket);
      const found: string[] = [];
      for (let i = 0; i < keys.length; i += 500) {
        const slice = keys.slice(i, i + 500);
        const rows = await tx
          .selectFrom('s3_objects')
          .select('blob_id')
          .where('bucket', '=', bucket)
          .where('key', 'in', slice)
          .execute();
        for (const r of rows) found.push(r.blob_id);
        await tx.deleteFrom('s3_objects').where('bucket', '=', bucket).where('key', 'in', slice).execute();
      }
      return found;
    });
    await this.removeBlobs(blobs);
  }

  async listObjects(bucket: string, options: ListObjectsOptions = {}): Promise<ListObjectsResult> {
    await this.requireBucket(this.db, bucket);
    const prefix = options.prefix ?? '';
    const delimiter = options.delimiter || undefined;
    const maxKeys = Math.max(0, Math.min(options.maxKeys ?? 1000, 1000));
    const marker = options.startAfter;
    const markerBuf = marker !== undefined ? Buffer.from(marker) : undefined;
    const objects: ObjectInfo[] = [];
    const commonPrefixes: string[] = [];
    let nextMarker: string | undefined;
    let isTruncated = false;
    // Lower bound of the next query: exclusive after a key, inclusive at a prefix's successor.
    let lower: { value: string; inclusive: boolean } | undefined =
      marker !== undefined && marker >= prefix ? { value: marker, inclusive: false } : prefix ? { value: prefix, inclusive: true } : undefined;
    let count = 0;
    let done = false;
    while (!done) {
      let q = this.db.selectFrom('s3_objects').selectAll().where('bucket', '=', bucket);
      if (lower) q = q.where('key', lower.inclusive ? '>=' : '>', lower.value);
      const batch = Math.min(Math.max(maxKeys - count + 1, 2), 1001);
      const rows = await q.orderBy('key').limit(batch).execute();
      if (rows.length === 0) break;
      let requery = false;
      for (const row of rows) {
        if (prefix && !row.key.startsWith(prefix)) {
          done = true;
          break;
        }
        if (delimiter) {
          const at = row.key.indexOf(delimiter, prefix.length);
          if (at >= 0) {
            const cp = row.key.slice(0, at + delimiter.length);
            const successor = prefixSuccessor(cp);
            const skip = markerBuf !== undefined && Buffer.compare(Buffer.from(cp), markerBuf) <= 0;
            if (!skip) {
              if (count >= maxKeys) {
                isTruncated = true;
                done = true;
                break;
              }
              commonPrefixes.push(cp);
              count++;
              nextMarker = cp;
            }
            if (successor === undefined) {
              done = true;
              break;
            }
            lower = { value: successor, inclusive: true };
            requery = true;
            break;
          }
        }
        if (count >= maxKeys) {
          isTruncated = true;
          done = true;
          break;
        }
        objects.push(rowToInfo(row));
        count++;
        nextMarker = row.key;
        lower = { value: row.key, inclusive: false };
      }
      if (!requery && !done && rows.length < batch) break;
    }
    return { objects, commonPrefixes, isTruncated, nextMarker: isTruncated ? nextMarker : undefined };
  }

  async localPath(info: ObjectInfo): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('s3_objects')
      .select('blob_id')
      .where('bucket', '=', info.bucket)
      .where('key', '=', info.key)
      .executeTakeFirst();
    return row ? this.blobPath(row.blob_id) : undefined;
  }

  async copyObject(
    source: { bucket: string; key: string },
    target: { bucket: string; key: string },
    options: CopyObjectOptions = {},
  ): Promise<ObjectInfo> {
    assertKey(target.key);
    await this.requireBucket(this.db, target.bucket);
    const replace = options.metadataDirective === 'REPLACE';
    if (source.bucket === target.bucket && source.key === target.key && !replace) {
      throw new ObjectStoreError(
        'InvalidRequest',
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    for (let attempt = 0; attempt < 5; attempt++) {
      const row = await this.db
        .selectFrom('s3_objects')
        .selectAll()
        .where('bucket', '=', source.bucket)
        .where('key', '=', source.key)
        .executeTakeFirst();
      if (!row) {
        await this.requireBucket(this.db, source.bucket);
        throw new ObjectStoreError('NoSuchKey', 'The specified key does not exist.', { Key: source.key });
      }
      const id = randomBytes(16).toString('hex');
      const dest = this.blobPath(id);
      await this.ensureDir(path.dirname(dest));
      try {
        // Blobs are immutable, so a hard link is a copy.
        await fsp.link(this.blobPath(row.blob_id), dest);
      } catch (err) {
        if (isEnoent(err)) continue;
        await fsp.copyFile(this.blobPath(row.blob_id), dest).catch((e: unknown) => {
          if (isEnoent(e)) return 'retry';
          throw e;
        });
        if (!fs.existsSync(dest)) continue;
      }
      const src = rowToInfo(row);
      return this.commitObject(target.bucket, target.key, id, {
        size: src.size,
        etag: src.etag,
        contentType: replace ? options.contentType : src.contentType,
        metadata: replace ? options.metadata : src.metadata,
        headers: replace ? options.headers : src.headers,
        checksum: src.checksum,
        partsCount: src.partsCount,
        conditions: options,
      });
    }
    throw new Error('the source object kept changing while it was being copied');
  }

  // ---- multipart ----

  async createMultipartUpload(
    bucket: string,
    key: string,
    options: PutObjectOptions = {},
  ): Promise<MultipartUploadInfo> {
    assertKey(key);
    await this.requireBucket(this.db, bucket);
    const uploadId = randomBytes(24).toString('base64url');
    const initiatedAtMs = this.clock.nowMs();
    await this.db
      .insertInto('s3_uploads')
      .values({
        upload_id: uploadId,
        bucket,
        key,
        content_type: options.contentType || DEFAULT_CONTENT_TYPE,
        metadata: JSON.stringify(options.metadata ?? {}),
        headers: JSON.stringify(options.headers ?? {}),
        initiated_at_ms: initiatedAtMs,
      })
      .execute();
    return { uploadId, bucket, key, initiatedAtMs };
  }

  private async requireUpload(tx: Tx, bucket: string, key: string, uploadId: string) {
    const row = await tx.selectFrom('s3_uploads').selectAll().where('upload_id', '=', uploadId).executeTakeFirst();
    if (!row || row.bucket !== bucket || row.key !== key) {
      await this.requireBucket(tx, bucket);
      throw new ObjectStoreError(
        'NoSuchUpload',
        'The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
        { UploadId: uploadId },
      );
    }
    return row;
  }

  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable | Buffer | string,
    options: { contentMd5?: string } = {},
  ): Promise<PartInfo> {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
      throw new ObjectStoreError('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive.`, {
        ArgumentName: 'partNumber',
        ArgumentValue: String(partNumber),
      });
    }
    await this.requireUpload(this.db, bucket, key, uploadId);
    const blob = await this.writeBlob(body, options.contentMd5);
    const part = {
      upload_id: uploadId,
      part_number: partNumber,
      blob_id: blob.id,
      size: blob.size,
      etag: `"${blob.md5.toString('hex')}"`,
      last_modified_ms: this.clock.nowMs(),
    };
    let replaced: string | undefined;
    try {
      replaced = await this.db.transaction().execute(async (tx) => {
        await this.requireUpload(tx, bucket, key, uploadId);
        const old = await tx
          .selectFrom('s3_parts')
          .select('blob_id')
          .where('upload_id', '=', uploadId)
          .where('part_number', '=', partNumber)
          .executeTakeFirst();
        if (old) {
          await tx
            .updateTable('s3_parts')
            .set({ blob_id: part.blob_id, size: part.size, etag: part.etag, last_modified_ms: part.last_modified_ms })
            .where('upload_id', '=', uploadId)
            .where('part_number', '=', partNumber)
            .execute();
        } else {
          await tx.insertInto('s3_parts').values(part).execute();
        }
        return old?.blob_id;
      });
    } catch (err) {
      await this.removeBlobs([blob.id]);
      throw err;
    }
    if (replaced) await this.removeBlobs([replaced]);
    return { partNumber, etag: part.etag, size: part.size, lastModifiedMs: part.last_modified_ms };
  }

  async completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: readonly CompletedPart[],
    conditions: WriteConditions = {},
  ): Promise<ObjectInfo> {
    const upload = await this.requireUpload(this.db, bucket, key, uploadId);
    if (parts.length === 0) {
      throw new ObjectStoreError('MalformedXML', 'You must specify at least one part to complete a multipart upload.');
    }
    for (let i = 1; i < parts.length; i++) {
      if (parts[i]!.partNumber <= parts[i - 1]!.partNumber) {
        throw new ObjectStoreError('InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.', {
          UploadId: uploadId,
        });
      }
    }
    const stored = new Map(
      (await this.db.selectFrom('s3_parts').selectAll().where('upload_id', '=', uploadId).execute()).map((p) => [
        Number(p.part_number),
        p,
      ]),
    );
    const chosen = parts.map((p, i) => {
      const s = stored.get(p.partNumber);
      if (!s || unquote(s.etag) !== unquote(p.etag)) {
        throw new ObjectStoreError(
          'InvalidPart',
          `One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag (part ${p.partNumber}).`,
          { UploadId: uploadId, PartNumber: String(p.partNumber), ETag: p.etag },
        );
      }
      if (i < parts.length - 1 && Number(s.size) < this.minPartSize) {
        throw new ObjectStoreError('EntityTooSmall', `Your proposed upload is smaller than the minimum allowed object size: part ${p.partNumber} is ${Number(s.size)} bytes; every part but the last must be at least ${this.minPartSize} bytes.`, {
          PartNumber: String(p.partNumber),
          ProposedSize: String(Number(s.size)),
          MinSizeAllowed: String(this.minPartSize),
        });
      }
      return s;
    });
    // Concatenate the parts into one new blob.
    const id = randomBytes(16).toString('hex');
    const tmp = path.join(this.tmpDir, id);
    const out = await fsp.open(tmp, 'wx');
    let size = 0;
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    try {
      for (const part of chosen) {
        let input: FileHandle;
        try {
          input = await fsp.open(this.blobPath(part.blob_id), 'r');
        } catch (err) {
          if (!isEnoent(err)) throw err;
          throw new ObjectStoreError('InvalidPart', `Part ${part.part_number} was replaced while the upload was being completed; complete it again.`, {
            UploadId: uploadId,
            PartNumber: String(part.part_number),
          });
        }
        try {
          for (;;) {
            const { bytesRead } = await input.read(buf, 0, buf.length, null);
            if (bytesRead === 0) break;
            await writeFully(out, [buf.subarray(0, bytesRead)]);
            size += bytesRead;
          }
        } finally {
          await input.close();
        }
      }
      if (this.fsync) await out.sync();
      await out.close();
      const dest = this.blobPath(id);
      await this.ensureDir(path.dirname(dest));
      await fsp.rename(tmp, dest);
    } catch (err) {
      await out.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    const md5s = createHash('md5');
    for (const p of chosen) md5s.update(Buffer.from(unquote(p.etag), 'hex'));
    const etag = `"${md5s.digest('hex')}-${chosen.length}"`;
    let partBlobs: string[] = [];
    const info = await this.commitObject(
      bucket,
      key,
      id,
      {
        size,
        etag,
        contentType: upload.content_type,
        metadata: JSON.parse(upload.metadata) as Record<string, string>,
        headers: JSON.parse(upload.headers) as Record<string, string>,
        checksum: undefined,
        partsCount: chosen.length,
        conditions,
      },
      async (tx) => {
        await this.requireUpload(tx, bucket, key, uploadId);
        const now = await tx.selectFrom('s3_parts').select(['part_number', 'blob_id']).where('upload_id', '=', uploadId).execute();
        const current = new Map(now.map((p) => [Number(p.part_number), p.blob_id]));
        for (const p of chosen) {
          if (current.get(Number(p.part_number)) !== p.blob_id) {
            throw new ObjectStoreError('InvalidPart', `Part ${p.part_number} was replaced while the upload was being completed; complete it again.`, {
              UploadId: uploadId,
            });
          }
        }
        partBlobs = now.map((p) => p.blob_id);
        await tx.deleteFrom('s3_parts').where('upload_id', '=', uploadId).execute();
        await tx.deleteFrom('s3_uploads').where('upload_id', '=', uploadId).execute();
      },
    );
    await this.removeBlobs(partBlobs);
    return info;
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    const blobs = await this.db.transaction().execute(async (tx) => {
      await this.requireUpload(tx, bucket, key, uploadId);
      const rows = await tx.selectFrom('s3_parts').select('blob_id').where('upload_id', '=', uploadId).execute();
      await tx.deleteFrom('s3_parts').where('upload_id', '=', uploadId).execute();
      await tx.deleteFrom('s3_uploads').where('upload_id', '=', uploadId).execute();
      return rows.map((r) => r.blob_id);
    });
    await this.removeBlobs(blobs);
  }

  async listParts(
    bucket: string,
    key: string,
    uploadId: string,
    options: { partNumberMarker?: number; maxParts?: number } = {},
  ) {
    const upload = await this.requireUpload(this.db, bucket, key, uploadId);
    const maxParts = Math.max(0, Math.min(options.maxParts ?? 1000, 1000));
    const rows = await this.db
      .selectFrom('s3_parts')
      .selectAll()
      .where('upload_id', '=', uploadId)
      .where('part_number', '>', options.partNumberMarker ?? 0)
      .orderBy('part_number')
      .limit(maxParts + 1)
      .execute();
    const parts: PartInfo[] = rows.slice(0, maxParts).map((r) => ({
      partNumber: Number(r.part_number),
      etag: r.etag,
      size: Number(r.size),
      lastModifiedMs: Number(r.last_modified_ms),
    }));
    return {
      upload: {
        uploadId,
        bucket,
        key,
        initiatedAtMs: Number(upload.initiated_at_ms),
        contentType: upload.content_type,
      },
      parts,
      isTruncated: rows.length > maxParts,
    };
  }

  async listMultipartUploads(
    bucket: string,
    options: { prefix?: string; keyMarker?: string; uploadIdMarker?: string; maxUploads?: number } = {},
  ) {
    await this.requireBucket(this.db, bucket);
    const maxUploads = Math.max(0, Math.min(options.maxUploads ?? 1000, 1000));
    let q = this.db.selectFrom('s3_uploads').selectAll().where('bucket', '=', bucket);
    if (options.prefix) q = q.where('key', '>=', options.prefix);
    if (options.keyMarker !== undefined) {
      const km = options.keyMarker;
      const um = options.uploadIdMarker;
      q = um
        ? q.where((eb) => eb.or([eb('key', '>', km), eb.and([eb('key', '=', km), eb('upload_id', '>', um)])]))
        : q.where('key', '>', km);
    }
    const rows = await q.orderBy('key').orderBy('upload_id').limit(maxUploads + 1 + 1000).execute();
    const matching = rows.filter((r) => !options.prefix || r.key.startsWith(options.prefix));
    return {
      uploads: matching.slice(0, maxUploads).map((r) => ({
        uploadId: r.upload_id,
        bucket: r.bucket,
        key: r.key,
        initiatedAtMs: Number(r.initiated_at_ms),
      })),
      isTruncated: matching.length > maxUploads,
    };
  }
}
