import type { Kysely } from 'kysely';
import type { Clock } from '../../shared/clock.js';
import { isObjectStoreError } from '../errors.js';
import type { ObjectsTables, Tx } from '../tables.js';
import { deleteEntry, latestVersion, type VersioningState } from '../versions.js';
import {
  currentExpiry,
  uploadAbortion,
  versionsToRemove,
  type LifecycleRule,
  type VersionFacts,
} from './rules.js';
import type { BucketLifecycleStore } from './store.js';

/** What the sweep needs of the object store: short transactions that free blobs, and aborts. */
export interface LifecycleTarget {
  inBucketTransaction<T>(
    bucket: string,
    work: (tx: Tx, state: VersioningState, nowMs: number) => Promise<{ value: T; freed: string[] }>,
  ): Promise<T>;
  abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void>;
}

/** What one pass did. */
export interface LifecycleSweepResult {
  readonly expired: number;
  readonly versionsRemoved: number;
  readonly uploadsAborted: number;
}

/** Rows read per query: every pass is a sequence of bounded reads and one short write per entry. */
const PAGE = 200;

const parseTags = (json: string | null): Record<string, string> =>
  json ? (JSON.parse(json) as Record<string, string>) : {};

/** Keys after `after` that start with `prefix` (an empty prefix: every key). */
const keyRange = (prefix: string, after: string): { from: string; strict: boolean } =>
  after >= prefix ? { from: after, strict: true } : { from: prefix, strict: false };

/**
 * Applies every bucket's enabled lifecycle rules once: expires current objects (a delete marker in
 * a versioned bucket, as S3), removes noncurrent versions and lone expired delete markers, aborts
 * stale multipart uploads. Reads in pages of {@link PAGE}; each removal is its own short
 * transaction that re-checks the entry, so a pass can stop anywhere and the next one resumes.
 */
export async function sweepLifecycle(deps: {
  readonly db: Kysely<ObjectsTables>;
  readonly store: LifecycleTarget;
  readonly configs: BucketLifecycleStore;
  readonly clock: Clock;
  readonly dayMs: number;
  /** Checked between pages: a pass stops early when it returns true (shutdown, lease lost). */
  readonly stopped?: () => boolean;
}): Promise<LifecycleSweepResult> {
  const totals = { expired: 0, versionsRemoved: 0, uploadsAborted: 0 };
  const stopped = deps.stopped ?? (() => false);
  let after = '';
  for (;;) {
    const page = await deps.configs.list(after, PAGE);
    if (page.length === 0) break;
    for (const { bucket, rules } of page) {
      after = bucket;
      if (stopped()) return totals;
      const enabled = rules.filter((r) => r.enabled);
      if (enabled.length === 0) continue;
      try {
        await sweepBucket(deps, bucket, enabled, totals, stopped);
      } catch (err) {
        // The bucket went away mid-pass: nothing left to expire there.
        if (!(isObjectStoreError(err) && err.code === 'NoSuchBucket')) throw err;
      }
    }
    if (page.length < PAGE) break;
  }
  return totals;
}

async function sweepBucket(
  deps: Parameters<typeof sweepLifecycle>[0],
  bucket: string,
  rules: readonly LifecycleRule[],
  totals: { expired: number; versionsRemoved: number; uploadsAborted: number },
  stopped: () => boolean,
): Promise<void> {
  const { db, store, dayMs } = deps;
  const now = () => deps.clock.nowMs();

  // 1. Current objects past a rule's Expiration.
  const expiring = rules.filter((r) => r.expiration?.days !== undefined || r.expiration?.dateMs);
  for (const rule of expiring) {
    const prefix = rule.filter.prefix ?? '';
    let after = '';
    for (;;) {
      if (stopped()) return;
      const range = keyRange(prefix, after);
      const rows = await db
        .selectFrom('s3_objects')
        .select(['key', 'size', 'tags', 'last_modified_ms', 'version_id', 'blob_id'])
        .where('bucket', '=', bucket)
        .where('key', range.strict ? '>' : '>=', range.from)
        .orderBy('key')
        .limit(PAGE)
        .execute();
      let past = false;
      for (const r of rows) {
        after = r.key;
        if (!r.key.startsWith(prefix)) {
          past = true;
          break;
        }
        const at = currentExpiry(
          rule,
          {
            key: r.key,
            size: Number(r.size),
            tags: parseTags(r.tags),
            lastModifiedMs: Number(r.last_modified_ms),
          },
          dayMs,
        );
        if (at === undefined || at > now()) continue;
        const done = await store.inBucketTransaction(bucket, async (tx, state, nowMs) => {
          // Still the object that was read (not overwritten since)?
          const cur = await tx
            .selectFrom('s3_objects')
            .select(['blob_id', 'last_modified_ms'])
            .where('bucket', '=', bucket)
            .where('key', '=', r.key)
            .executeTakeFirst();
          if (
            !cur ||
            cur.blob_id !== r.blob_id ||
            Number(cur.last_modified_ms) !== Number(r.last_modified_ms)
          ) {
            return { value: false, freed: [] };
          }
          const { freed } = await deleteEntry(tx, state, bucket, r.key, undefined, nowMs);
          return { value: true, freed };
        });
        if (done) totals.expired++;
      }
      if (past || rows.length < PAGE) break;
    }
  }

  // 2. Noncurrent versions and lone delete markers (versioned buckets only have s3_versions rows).
  const versionRules = rules.filter(
    (r) =>
      r.noncurrentExpiration?.noncurrentDays !== undefined ||
      r.expiration?.expiredObjectDeleteMarker,
  );
  if (versionRules.length > 0) {
    let after = '';
    for (;;) {
      if (stopped()) return;
      const keys = await db
        .selectFrom('s3_versions')
        .select('key')
        .distinct()
        .where('bucket', '=', bucket)
        .where('key', '>', after)
        .orderBy('key')
        .limit(PAGE)
        .execute();
      for (const { key } of keys) {
        after = key;
        const rows = await db
          .selectFrom('s3_versions')
          .select(['version_id', 'is_delete_marker', 'size', 'last_modified_ms', 'tags'])
          .where('bucket', '=', bucket)
          .where('key', '=', key)
          .orderBy('seq', 'desc')
          .execute();
        const versions: VersionFacts[] = rows.map((v) => ({
          versionId: v.version_id,
          isDeleteMarker: Number(v.is_delete_marker) === 1,
          size: Number(v.size),
          lastModifiedMs: Number(v.last_modified_ms),
          tags: parseTags(v.tags),
        }));
        const doomed = versionsToRemove(versionRules, key, versions, now(), dayMs);
        if (doomed.length === 0) continue;
        const lone = versions.length === 1;
        const removed = await store.inBucketTransaction(bucket, async (tx, state, nowMs) => {
          const top = await latestVersion(tx, bucket, key);
          const freed: string[] = [];
          let n = 0;
          for (const versionId of doomed) {
            // A noncurrent version stays noncurrent, unless the newer ones were deleted meanwhile;
            // a lone marker must still be the latest (nothing written over it since).
            if (!lone && top?.versionId === versionId) continue;
            if (lone && top?.versionId !== versionId) continue;
            const r = await deleteEntry(tx, state, bucket, key, versionId, nowMs);
            freed.push(...r.freed);
            n++;
          }
          return { value: n, freed };
        });
        totals.versionsRemoved += removed;
      }
      if (keys.length < PAGE) break;
    }
  }

  // 3. Multipart uploads begun too long ago.
  if (rules.some((r) => r.abortIncompleteDays !== undefined)) {
    let after = '';
    for (;;) {
      if (stopped()) return;
      const uploads = await db
        .selectFrom('s3_uploads')
        .select(['upload_id', 'key', 'initiated_at_ms'])
        .where('bucket', '=', bucket)
        .where('upload_id', '>', after)
        .orderBy('upload_id')
        .limit(PAGE)
        .execute();
      for (const u of uploads) {
        after = u.upload_id;
        const abort = uploadAbortion(rules, u.key, Number(u.initiated_at_ms), dayMs);
        if (!abort || abort.abortMs > now()) continue;
        try {
          await store.abortMultipartUpload(bucket, u.key, u.upload_id);
          totals.uploadsAborted++;
        } catch (err) {
          // Completed or aborted meanwhile.
          if (!(isObjectStoreError(err) && err.code === 'NoSuchUpload')) throw err;
        }
      }
      if (uploads.length < PAGE) break;
    }
  }
}

/** The sweep on a timer: `start`/`stop` are what the coordinator's singleton lease calls. */
export class LifecycleSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private active = false;

  constructor(
    private readonly deps: Omit<Parameters<typeof sweepLifecycle>[0], 'stopped'> & {
      readonly intervalMs: number;
      readonly onError: (err: unknown) => void;
    },
  ) {}

  /** Starts sweeping every interval (the first pass one interval from now). */
  start(): void {
    if (this.active) return;
    this.active = true;
    this.schedule();
  }

  private schedule(): void {
    if (!this.active) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .then(() => undefined)
        .catch((err: unknown) => this.deps.onError(err))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  /** One pass now. */
  runOnce(): Promise<LifecycleSweepResult> {
    return sweepLifecycle({ ...this.deps, stopped: () => !this.active });
  }

  /** Stops the timer and waits for a pass in flight (which stops at its next page). */
  async stop(): Promise<void> {
    this.active = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
