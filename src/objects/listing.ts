import type { Kysely } from 'kysely';
import { prefixSuccessor } from './names.js';
import type { ListObjectsOptions, ListObjectsResult, ObjectInfo } from './object-store.js';
import { rowToInfo, type ObjectsTables } from './tables.js';

/** Where the next batch starts: at a key (inclusive: a prefix or its successor) or after a row. */
export type PageCursor<A> = { readonly from: string } | { readonly after: A };

/** One entry of a page in order: a row, or a delimiter's common prefix (counted as one key). */
export type PageEntry<R> = { readonly row: R } | { readonly commonPrefix: string };

/** What {@link walkKeyPage} needs: the filters, and how to read a batch of rows from a cursor. */
export interface KeyPageWalk<R extends { readonly key: string }, A> {
  readonly prefix: string;
  readonly delimiter: string | undefined;
  readonly maxKeys: number;
  /** A common prefix at or before this key (UTF-8 byte order) was listed on an earlier page. */
  readonly marker: string | undefined;
  readonly start: PageCursor<A> | undefined;
  /** Rows from `cursor` on (all rows without one), in key order, at most `limit`. */
  fetch(cursor: PageCursor<A> | undefined, limit: number): Promise<readonly R[]>;
  /** The cursor just after `row`. */
  after(row: R): A;
}

/**
 * The page walk ListObjects and ListObjectVersions share: rows come in batches; a delimiter's
 * common prefix is skipped with one query from its successor, not key by key; the page ends after
 * `maxKeys` entries (truncated when one more exists), or at the first key outside the prefix.
 */
export async function walkKeyPage<R extends { readonly key: string }, A>(
  walk: KeyPageWalk<R, A>,
): Promise<{ entries: PageEntry<R>[]; isTruncated: boolean }> {
  const { prefix, delimiter, maxKeys } = walk;
  const markerBuf = walk.marker !== undefined ? Buffer.from(walk.marker) : undefined;
  const entries: PageEntry<R>[] = [];
  let cursor = walk.start;
  let isTruncated = false;
  let done = false;
  while (!done) {
    const batch = Math.min(Math.max(maxKeys - entries.length + 1, 2), 1001);
    const rows = await walk.fetch(cursor, batch);
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
          const skip = markerBuf !== undefined && Buffer.compare(Buffer.from(cp), markerBuf) <= 0;
          if (!skip) {
            if (entries.length >= maxKeys) {
              isTruncated = true;
              done = true;
              break;
            }
            entries.push({ commonPrefix: cp });
          }
          const successor = prefixSuccessor(cp);
          if (successor === undefined) {
            done = true;
            break;
          }
          cursor = { from: successor };
          requery = true;
          break;
        }
      }
      if (entries.length >= maxKeys) {
        isTruncated = true;
        done = true;
        break;
      }
      entries.push({ row });
      cursor = { after: walk.after(row) };
    }
    if (!requery && !done && rows.length < batch) break;
  }
  return { entries, isTruncated };
}

/**
 * One page of ListObjects in UTF-8 byte order ({@link walkKeyPage} over `s3_objects`). The caller
 * checks the bucket.
 */
export async function listObjectsPage(
  db: Kysely<ObjectsTables>,
  bucket: string,
  options: ListObjectsOptions,
): Promise<ListObjectsResult> {
  const prefix = options.prefix ?? '';
  const maxKeys = Math.max(0, Math.min(options.maxKeys ?? 1000, 1000));
  // S3 answers max-keys=0 with an empty, untruncated page (no NextContinuationToken to follow).
  if (maxKeys === 0)
    return { objects: [], commonPrefixes: [], isTruncated: false, nextMarker: undefined };
  const marker = options.startAfter;
  const { entries, isTruncated } = await walkKeyPage({
    prefix,
    delimiter: options.delimiter || undefined,
    maxKeys,
    marker,
    start:
      marker !== undefined && marker >= prefix
        ? { after: marker }
        : prefix
          ? { from: prefix }
          : undefined,
    fetch: (cursor, limit) => {
      let q = db.selectFrom('s3_objects').selectAll().where('bucket', '=', bucket);
      if (cursor)
        q =
          'from' in cursor ? q.where('key', '>=', cursor.from) : q.where('key', '>', cursor.after);
      return q.orderBy('key').limit(limit).execute();
    },
    after: (row) => row.key,
  });
  const objects: ObjectInfo[] = [];
  const commonPrefixes: string[] = [];
  for (const e of entries) {
    if ('row' in e) objects.push(rowToInfo(e.row));
    else commonPrefixes.push(e.commonPrefix);
  }
  const last = entries.at(-1);
  const nextMarker =
    last === undefined ? undefined : 'row' in last ? last.row.key : last.commonPrefix;
  return { objects, commonPrefixes, isTruncated, nextMarker: isTruncated ? nextMarker : undefined };
}
