import type { Kysely } from 'kysely';
import { listObjectsPage, walkKeyPage } from './listing.js';
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

/** Just after a key's versions, or after one version (`seq`) of it. */
type VersionCursor = { readonly key: string; readonly seq?: number };

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
  const keyMarker = options.keyMarker || undefined;
  // Where to start: after (key, seq) of the version marker, or after the key marker's versions.
  let after: VersionCursor | undefined;
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
  if (after !== undefined && after.key < prefix) after = undefined;
  const { entries, isTruncated } = await walkKeyPage({
    prefix,
    delimiter: options.delimiter || undefined,
    maxKeys,
    marker: keyMarker,
    start: after !== undefined ? { after } : prefix ? { from: prefix } : undefined,
    fetch: (cursor, limit) => {
      let q = db.selectFrom('s3_versions').selectAll().where('bucket', '=', bucket);
      if (cursor && 'from' in cursor) {
        q = q.where('key', '>=', cursor.from);
      } else if (cursor) {
        const a = cursor.after;
        q =
          a.seq !== undefined
            ? q.where((eb) =>
                eb.or([
                  eb('key', '>', a.key),
                  eb.and([eb('key', '=', a.key), eb('seq', '<', a.seq as number)]),
                ]),
              )
            : q.where('key', '>', a.key);
      }
      return q.orderBy('key').orderBy('seq', 'desc').limit(limit).execute();
    },
    after: (row): VersionCursor => ({ key: row.key, seq: Number(row.seq) }),
  });
  const versions: (VersionInfo & { isLatest: boolean })[] = [];
  const commonPrefixes: string[] = [];
  // The first row of a key is its latest, unless the page starts inside that key.
  let prevKey: string | undefined = after?.seq !== undefined ? after.key : undefined;
  for (const e of entries) {
    if ('commonPrefix' in e) {
      commonPrefixes.push(e.commonPrefix);
      continue;
    }
    versions.push({ ...versionRowToInfo(e.row), isLatest: e.row.key !== prevKey });
    prevKey = e.row.key;
  }
  const last = entries.at(-1);
  const nextKeyMarker =
    last === undefined ? undefined : 'row' in last ? last.row.key : last.commonPrefix;
  const nextVersionIdMarker = last !== undefined && 'row' in last ? last.row.version_id : undefined;
  return {
    versions,
    commonPrefixes,
    isTruncated,
    ...(isTruncated && nextKeyMarker !== undefined ? { nextKeyMarker } : {}),
    ...(isTruncated && nextVersionIdMarker !== undefined ? { nextVersionIdMarker } : {}),
  };
}
