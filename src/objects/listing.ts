import type { Kysely } from 'kysely';
import { prefixSuccessor } from './names.js';
import type { ListObjectsOptions, ListObjectsResult, ObjectInfo } from './object-store.js';
import { rowToInfo, type ObjectsTables } from './tables.js';

/**
 * One page of ListObjects in UTF-8 byte order. Rows come in batches; a delimiter's common prefix
 * is skipped with one query from its successor, not key by key. The caller checks the bucket.
 */
export async function listObjectsPage(
  db: Kysely<ObjectsTables>,
  bucket: string,
  options: ListObjectsOptions,
): Promise<ListObjectsResult> {
  const prefix = options.prefix ?? '';
  const delimiter = options.delimiter || undefined;
  const maxKeys = Math.max(0, Math.min(options.maxKeys ?? 1000, 1000));
  // S3 answers max-keys=0 with an empty, untruncated page (no NextContinuationToken to follow).
  if (maxKeys === 0)
    return { objects: [], commonPrefixes: [], isTruncated: false, nextMarker: undefined };
  const marker = options.startAfter;
  const markerBuf = marker !== undefined ? Buffer.from(marker) : undefined;
  const objects: ObjectInfo[] = [];
  const commonPrefixes: string[] = [];
  let nextMarker: string | undefined;
  let isTruncated = false;
  // Lower bound of the next query: exclusive after a key, inclusive at a prefix's successor.
  let lower: { value: string; inclusive: boolean } | undefined =
    marker !== undefined && marker >= prefix
      ? { value: marker, inclusive: false }
      : prefix
        ? { value: prefix, inclusive: true }
        : undefined;
  let count = 0;
  let done = false;
  while (!done) {
    let q = db.selectFrom('s3_objects').selectAll().where('bucket', '=', bucket);
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
