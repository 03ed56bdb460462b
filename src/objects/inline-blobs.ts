import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32 as crc32Of } from '@node-rs/crc32';
import { sql, type Kysely } from 'kysely';
import type { MigrationSet } from '../store/index.js';
import {
  MissingBlobError,
  newBlobId,
  type BlobEntry,
  type BlobHandle,
  type BlobPart,
  type BlobStore,
  type ByteRange,
  type WrittenBlob,
} from './blob-store.js';

/**
 * Small blobs kept in the database (`s3_inline_blobs`) instead of the configured blob store: a
 * 16 KiB PUT then costs one row insert instead of a file's inode, fsyncs, rename and unlink, and a
 * GET one row read instead of open + read + close (MinIO keeps objects under 128 KiB in their
 * metadata for the same reason; SQLite reads blobs under ~100 KB faster from the database than
 * from files). The bytes have a table of their own so that listings never drag them along.
 */

/** The table of inline blobs (migration `0180_objects_inline_blobs`). */
export interface InlineBlobsTable {
  readonly id: string;
  readonly bytes: Buffer;
  /** Wall-clock time of the write (`Date.now()`, as the orphan sweep's cutoff). */
  readonly created_ms: number | string;
}

interface InlineTables {
  s3_inline_blobs: InlineBlobsTable;
}

/** Migration `0180_objects_inline_blobs`: the inline blob table (SQLite `blob`, PostgreSQL `bytea`). */
export const inlineBlobsMigrations: MigrationSet = {
  '0180_objects_inline_blobs': {
    async up(db: Kysely<any>) {
      const adapter = db.getExecutor().adapter.constructor.name.toLowerCase();
      await db.schema
        .createTable('s3_inline_blobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('bytes', adapter.includes('postgres') ? 'bytea' : 'blob', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
};

/**
 * Inline blob ids are `i` + 32 hex digits: never a blob id of the fs or s3 store (32 hex digits,
 * the s3 sweep touches nothing else), and never derived from user input.
 */
const INLINE_PREFIX = 'i';

/** Whether `id` names an inline blob. */
export const isInlineId = (id: string): boolean => id.length === 33 && id[0] === INLINE_PREFIX;

const newInlineId = (): string => INLINE_PREFIX + newBlobId();

const LIST_PAGE = 500;

/** `APIARY_S3_INLINE_MAX_BYTES`' default: chosen by measurement (docs/readme/inline.md). */
export const DEFAULT_INLINE_MAX_BYTES = 64 * 1024;

/**
 * A {@link BlobStore} that keeps blobs of at most `maxBytes` in the database and hands larger ones
 * to `inner` (fs or s3). Every caller keeps using the port unchanged: ids tell the two apart.
 */
export class InlineBlobStore implements BlobStore {
  private readonly db: Kysely<InlineTables>;

  constructor(
    db: Kysely<any>,
    private readonly inner: BlobStore,
    /** The largest blob kept inline, in bytes (> 0). */
    readonly maxBytes: number,
  ) {
    this.db = db as Kysely<InlineTables>;
  }

  get kind(): BlobStore['kind'] {
    return this.inner.kind;
  }

  start(): Promise<{ tempFilesRemoved: number }> {
    return this.inner.start();
  }

  /**
   * A body of at most `maxBytes` becomes a row; a larger one goes to the inner store. A stream is
   * read up to `maxBytes + 1` bytes: ended within the limit → inline; else the bytes read are put
   * back at its front (`unshift`, no copy) and the inner store consumes the same stream.
   */
  async write(body: Readable | Buffer | string): Promise<WrittenBlob> {
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      return buf.length <= this.maxBytes ? this.insert([buf], buf.length) : this.inner.write(buf);
    }
    const prefix = await readPrefix(body, this.maxBytes);
    if (prefix.ended) return this.insert(prefix.chunks, prefix.size);
    for (let i = prefix.chunks.length - 1; i >= 0; i--) body.unshift(prefix.chunks[i]);
    return this.inner.write(body);
  }

  /** One row; MD5 and CRC32 in one pass over the chunks, as the fs store computes them. */
  private async insert(chunks: readonly Buffer[], size: number): Promise<WrittenBlob> {
    const md5 = createHash('md5');
    let crc32 = 0;
    for (const c of chunks) {
      md5.update(c);
      crc32 = crc32Of(c, crc32);
    }
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    const id = newInlineId();
    await this.db
      .insertInto('s3_inline_blobs')
      .values({ id, bytes, created_ms: Date.now() })
      .execute();
    return { id, size, md5: md5.digest(), crc32 };
  }

  private async bytesOf(id: string): Promise<Buffer | undefined> {
    const row = await this.db
      .selectFrom('s3_inline_blobs')
      .select('bytes')
      .where('id', '=', id)
      .executeTakeFirst();
    return row?.bytes;
  }

  /** An inline blob is read whole at open: the bytes in memory are the pin. */
  async open(id: string, size: number): Promise<BlobHandle | undefined> {
    if (!isInlineId(id)) return this.inner.open(id, size);
    const bytes = await this.bytesOf(id);
    return bytes ? bufferHandle(bytes) : undefined;
  }

  /** An inline blob is copied inside the database (`INSERT … SELECT`): no bytes through Node. */
  async copy(id: string, size: number): Promise<string | undefined> {
    if (!isInlineId(id)) return this.inner.copy(id, size);
    const target = newInlineId();
    const result = await this.db
      .insertInto('s3_inline_blobs')
      .columns(['id', 'bytes', 'created_ms'])
      .expression(
        this.db
          .selectFrom('s3_inline_blobs')
          .select([
            sql<string>`cast(${target} as text)`.as('id'),
            'bytes',
            sql<number>`cast(${Date.now()} as bigint)`.as('created_ms'),
          ])
          .where('id', '=', id),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0 ? target : undefined;
  }

  /**
   * Multipart completion. A result of at most `maxBytes` is joined in memory into a row (any part
   * may live in either store). A larger one is the inner store's concat; inline parts (a small
   * last part) are first written to the inner store, so s3 still joins by UploadPartCopy.
   */
  async concat(parts: readonly BlobPart[]): Promise<{ id: string; size: number }> {
    const total = parts.reduce((n, p) => n + p.size, 0);
    if (total <= this.maxBytes) {
      const bufs: Buffer[] = [];
      for (const p of parts) bufs.push(await this.partBytes(p));
      const size = bufs.reduce((n, b) => n + b.length, 0);
      const { id } = await this.insert(bufs, size);
      return { id, size };
    }
    if (!parts.some((p) => isInlineId(p.id))) return this.inner.concat(parts);
    const staged: string[] = [];
    try {
      const innerParts: BlobPart[] = [];
      for (const p of parts) {
        if (!isInlineId(p.id)) {
          innerParts.push(p);
          continue;
        }
        const written = await this.inner.write(await this.partBytes(p));
        staged.push(written.id);
        innerParts.push({ id: written.id, size: written.size });
      }
      return await this.inner.concat(innerParts);
    } finally {
      await this.inner.delete(staged);
    }
  }

  /** A part's bytes, from either store. @throws MissingBlobError when it is gone. */
  private async partBytes(part: BlobPart): Promise<Buffer> {
    if (isInlineId(part.id)) {
      const bytes = await this.bytesOf(part.id);
      if (!bytes) throw new MissingBlobError(part.id);
      return bytes;
    }
    const handle = await this.inner.open(part.id, part.size);
    if (!handle) throw new MissingBlobError(part.id);
    return handle.readBuffer(undefined);
  }

  async delete(ids: readonly string[]): Promise<void> {
    const inline = ids.filter(isInlineId);
    const other = ids.filter((id) => !isInlineId(id));
    await Promise.all([
      other.length > 0 ? this.inner.delete(other) : undefined,
      (async () => {
        for (let i = 0; i < inline.length; i += LIST_PAGE) {
          const page = inline.slice(i, i + LIST_PAGE);
          // Never throws (the port's promise): a row left behind is the orphan sweep's.
          await this.db
            .deleteFrom('s3_inline_blobs')
            .where('id', 'in', page)
            .execute()
            .catch(() => undefined);
        }
      })(),
    ]);
  }

  /** The inner store's blobs, then the inline ones (dated by their row's `created_ms`). */
  async *list(): AsyncIterable<BlobEntry> {
    yield* this.inner.list();
    let after = '';
    for (;;) {
      const rows = await this.db
        .selectFrom('s3_inline_blobs')
        .select(['id', 'created_ms'])
        .where('id', '>', after)
        .orderBy('id')
        .limit(LIST_PAGE)
        .execute();
      for (const r of rows) {
        const ms = Number(r.created_ms);
        yield { id: r.id, modifiedMs: async () => ms };
      }
      if (rows.length < LIST_PAGE) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  async abortStaleUploads(olderThanMs: number): Promise<number> {
    return this.inner.abortStaleUploads ? this.inner.abortStaleUploads(olderThanMs) : 0;
  }

  /** Inline blobs have no file: staging copies their bytes instead. */
  localPath(id: string): string | undefined {
    return isInlineId(id) ? undefined : this.inner.localPath?.(id);
  }
}

/** A handle over bytes already in memory. */
function bufferHandle(bytes: Buffer): BlobHandle {
  const slice = (range: ByteRange | undefined) =>
    range ? bytes.subarray(range.start, range.end + 1) : bytes;
  return {
    read: (range) => Readable.from([slice(range)]),
    readBuffer: async (range) => slice(range),
    close: async () => undefined,
  };
}

/**
 * Reads `body` until it ends or more than `limit` bytes have arrived (in paused mode, never more
 * than `limit + 1` bytes taken from its buffer). The stream is left paused with nothing lost: the
 * caller puts the chunks back (`unshift`) and a later 'data' listener resumes it.
 */
function readPrefix(
  body: Readable,
  limit: number,
): Promise<{ chunks: Buffer[]; size: number; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const cleanup = () => {
      body.off('readable', onReadable);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
    };
    const finish = (ended: boolean) => {
      if (settled) return;
      settled = true;
      // Reading may already have started the next read, whose failure must not become an
      // uncaught exception before the inner store listens; that store sees it as `errored`.
      if (!ended) body.on('error', () => undefined);
      cleanup();
      resolve({ chunks, size, ended });
    };
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(err);
    };
    function onReadable() {
      while (!settled) {
        // At most what is missing to pass the limit: a larger buffered chunk is split (a view,
        // not a copy), so a big body's bytes are never gathered here.
        const want = Math.min(limit + 1 - size, body.readableLength);
        const chunk: Buffer | string | null = want > 0 ? body.read(want) : body.read();
        if (chunk === null) return;
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        chunks.push(buf);
        size += buf.length;
        if (size > limit) finish(false);
      }
    }
    const onEnd = () => finish(true);
    const onError = (err: unknown) => fail(err);
    const onClose = () =>
      fail(body.errored ?? new Error('the request body was closed before it ended'));
    if (body.errored) return fail(body.errored);
    body.on('readable', onReadable);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('close', onClose);
  });
}
