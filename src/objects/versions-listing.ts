import type { Kysely } from 'kysely';
import { listObjectsPage } from './listing.js';
import { prefixSuccessor } from './names.js';
import type { ObjectsTables } from './tables.js';
import {
  NULL_VERSION,
  versionRowToInfo,
  type VersioningState,
  type VersionInfo,
} from './versions.js';

/** Filters and paging of ListObjectVersions. */
export interface ListVersionsOptions {
  readonly prefix?: string;
  readonly delimiter?: string;
  readonly keyMarker?: string;
  readonly versionIdMarker?: string;
  readonly maxKeys?: number;
}

/** One page of ListObjectVersions, versions and delete markers in key order, newest first. */
export interface ListVersionsResult {
  readonly versions: readonly (VersionInfo & { readonly isLatest: boolean })[];
  readonly commonPrefixes: readonly string[];
  readonly isTruncated: boolean;
  readonly nextKeyMarker?: string;
  readonly nextVersionIdMarker?: string;
}

/**
 * One page of ListObjectVersions. A never-versioned bucket lists its objects as `null` versions
 * (from the listing index); a versioned one reads `s3_versions` in (key, newest first) order,
 * skipping a delimiter's common prefix with one query. The caller checks the bucket.
 */
export async function listVersionsPage(
  db: Kysely<ObjectsTables>,
  bucket: string,
  state: VersioningState,
  options: ListVersionsOptions,
): Promise<ListVersionsResult> {
  const maxKeys = Math.max(0, Math.min(options.maxKeys ?? 1000, 1000));
  if (state === null) {
    const page = await listObjectsPage(db, bucket, {
      ...(options.prefix ? { prefix: options.prefix } : {}),
      ...(options.delimiter ? { delimiter: options.delimiter } : {}),
      ...(options.keyMarker ? { startAfter: options.keyMarker } : {}),
      maxKeys,
    });
    const last = page.objects.at(-1);
    const nextIsObject = page.isTruncated && last !== undefined && last.key === page.nextMarker;
    return {
      versions: page.objects.map((o) => ({
        ...o,
        versionId: NULL_VERSION,
        isDeleteMarker: false,
        isLatest: true,
      })),
      commonPrefixes: page.commonPrefixes,
      isTruncated: page.isTruncated,
      ...(page.isTruncated && page.nextMarker !== undefined
        ? { nextKeyMarker: page.nextMarker }
        : {}),
      ...(nextIsObject ? { nextVersionIdMarker: NULL_VERSION } : {}),
    };
  }
  const prefix = options.prefix ?? '';
  const delimiter = options.delimiter || undefined;
  const keyMarker = options.keyMarker || undefined;
  const markerBuf = keyMarker !== undefined ? Buffer.from(keyMarker) : undefined;
  // Where to start: after (key, seq) of the version marker, or after the key marker's versions.
  let after: { key: string; seq?: number } | undefined;
  if (keyMarker !== undefined) {
    after = { key: keyMarker };
    if (options.versionIdMarker) {
      const m = await db
        .selectFrom('s3_versions')
        .select('seq')
        .where('bucket', '=', bucket)
        .where('key', '=', keyMarker)
        .where('version_id', '=', options.versionIdMarker)
        .executeTakeFirst();
      if (m) after = { key: keyMarker, seq: Number(m.seq) };
    }
  }
  let lower: { value: string; inclusive: boolean } | undefined =
    after === undefined && prefix ? { value: prefix, inclusive: true } : undefined;
  if (after !== undefined && after.key < prefix) {
    after = undefined;
    lower = prefix ? { value: prefix, inclusive: true } : undefined;
  }
  const versions: (VersionInfo & { isLatest: boolean })[] = [];
  const commonPrefixes: string[] = [];
  let count = 0;
  let isTruncated = false;
  let nextKeyMarker: string | undefined;
  let nextVersionIdMarker: string | undefined;
  // The first row of a key is its latest, unless the page starts inside that key.
  let prevKey: string | undefined = after?.seq !== undefined ? after.key : undefined;
  let done = false;
  while (!done) {
    let q = db.selectFrom('s3_versions').selectAll().where('bucket', '=', bucket);
    if (after) {
      const a = after;
      q =
        a.seq !== undefined
          ? q.where((eb) =>
              eb.or([
                eb('key', '>', a.key),
                eb.and([eb('key', '=', a.key), eb('seq', '<', a.seq as number)]),
              ]),
            )
          : q.where('key', '>', a.key);
    } else if (lower) {
      q = q.where('key', lower.inclusive ? '>=' : '>', lower.value);
    }
    const batch = Math.min(Math.max(maxKeys - count + 1, 2), 1001);
    const rows = await q.orderBy('key').orderBy('seq', 'desc').limit(batch).execute();
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
            if (count >= maxKeys) {
              isTruncated = true;
              done = true;
              break;
            }
            commonPrefixes.push(cp);
            count++;
            nextKeyMarker = cp;
            nextVersionIdMarker = undefined;
          }
          const successor = prefixSuccessor(cp);
          if (successor === undefined) {
            done = true;
            break;
          }
          after = undefined;
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
      versions.push({ ...versionRowToInfo(row), isLatest: row.key !== prevKey });
      prevKey = row.key;
      count++;
      nextKeyMarker = row.key;
      nextVersionIdMarker = row.version_id;
      after = { key: row.key, seq: Number(row.seq) };
    }
    if (!requery && !done && rows.length < batch) break;
  }
  return {
    versions,
    commonPrefixes,
    isTruncated,
    ...(isTruncated && nextKeyMarker !== undefined ? { nextKeyMarker } : {}),
    ...(isTruncated && nextVersionIdMarker !== undefined ? { nextVersionIdMarker } : {}),
  };
}
