/**
 * Lifecycle rules as S3 applies them: which objects a rule's filter selects, and when an object,
 * a noncurrent version or a multipart upload expires. Pure: the sweep and the S3 API both use it.
 */

/** One tag of a filter (`Tag`, or one of `And/Tags`). */
export interface LifecycleTag {
  readonly key: string;
  readonly value: string;
}

/** A rule's filter as written (kept so GetBucketLifecycleConfiguration answers the same shape). */
export interface LifecycleFilter {
  /** `legacy`: a top-level `<Prefix>` (no `<Filter>`); `filter`: a `<Filter>` element. */
  readonly form: 'legacy' | 'filter';
  /** `And`: the conditions were inside `<And>`. */
  readonly and: boolean;
  readonly prefix?: string;
  readonly tags: readonly LifecycleTag[];
  readonly sizeGreaterThan?: number;
  readonly sizeLessThan?: number;
}

/** One lifecycle rule: only the actions Apiary applies (transitions are refused at Put). */
export interface LifecycleRule {
  readonly id: string;
  readonly enabled: boolean;
  readonly filter: LifecycleFilter;
  readonly expiration?: {
    readonly days?: number;
    /** Midnight UTC, epoch ms. */
    readonly dateMs?: number;
    readonly expiredObjectDeleteMarker?: boolean;
  };
  readonly noncurrentExpiration?: {
    readonly noncurrentDays?: number;
    readonly newerNoncurrentVersions?: number;
  };
  readonly abortIncompleteDays?: number;
}

/** What a filter is matched against. */
export interface LifecycleSubject {
  readonly key: string;
  readonly size: number;
  readonly tags: Readonly<Record<string, string>>;
}

/** One real day: with it (the default) expiry is rounded up to midnight UTC, as S3 does. */
export const DAY_MS = 86_400_000;

/** Whether `rule`'s filter selects `subject` (prefix, every tag, strict size bounds). */
export function ruleMatches(rule: LifecycleRule, subject: LifecycleSubject): boolean {
  const f = rule.filter;
  if (f.prefix !== undefined && !subject.key.startsWith(f.prefix)) return false;
  if (f.tags.some((t) => subject.tags[t.key] !== t.value)) return false;
  if (f.sizeGreaterThan !== undefined && !(subject.size > f.sizeGreaterThan)) return false;
  if (f.sizeLessThan !== undefined && !(subject.size < f.sizeLessThan)) return false;
  return true;
}

/**
 * `startMs` plus `days` lifecycle days. With real days S3 rounds up to the next midnight UTC; a
 * shortened test day (`APIARY_S3_LIFECYCLE_DAY_SECONDS`, like ceph's `rgw_lc_debug_interval`)
 * is not rounded.
 */
export function afterDays(startMs: number, days: number, dayMs: number = DAY_MS): number {
  const t = startMs + days * dayMs;
  return dayMs === DAY_MS ? Math.ceil(t / DAY_MS) * DAY_MS : t;
}

/** When the current object expires under `rule` (undefined: the rule does not expire it). */
export function currentExpiry(
  rule: LifecycleRule,
  subject: LifecycleSubject & { readonly lastModifiedMs: number },
  dayMs: number = DAY_MS,
): number | undefined {
  if (!rule.enabled || !rule.expiration || !ruleMatches(rule, subject)) return undefined;
  const { days, dateMs } = rule.expiration;
  if (days !== undefined) return afterDays(subject.lastModifiedMs, days, dayMs);
  return dateMs;
}

/** The earliest expiry of a current object over every rule, with the rule's id. */
export function objectExpiration(
  rules: readonly LifecycleRule[],
  subject: LifecycleSubject & { readonly lastModifiedMs: number },
  dayMs: number = DAY_MS,
): { readonly expiryMs: number; readonly ruleId: string } | undefined {
  let best: { expiryMs: number; ruleId: string } | undefined;
  for (const rule of rules) {
    const at = currentExpiry(rule, subject, dayMs);
    if (at !== undefined && (best === undefined || at < best.expiryMs)) {
      best = { expiryMs: at, ruleId: rule.id };
    }
  }
  return best;
}

/**
 * When a multipart upload of `key` begun at `initiatedMs` is aborted, with the rule's id (only a
 * prefix filter can apply to an upload: S3 refuses tags and sizes beside this action).
 */
export function uploadAbortion(
  rules: readonly LifecycleRule[],
  key: string,
  initiatedMs: number,
  dayMs: number = DAY_MS,
): { readonly abortMs: number; readonly ruleId: string } | undefined {
  let best: { abortMs: number; ruleId: string } | undefined;
  for (const rule of rules) {
    if (!rule.enabled || rule.abortIncompleteDays === undefined) continue;
    if (rule.filter.prefix !== undefined && !key.startsWith(rule.filter.prefix)) continue;
    const at = afterDays(initiatedMs, rule.abortIncompleteDays, dayMs);
    if (best === undefined || at < best.abortMs) best = { abortMs: at, ruleId: rule.id };
  }
  return best;
}

/** One version of a key, newest first in the lists below. */
export interface VersionFacts {
  readonly versionId: string;
  readonly isDeleteMarker: boolean;
  readonly size: number;
  readonly lastModifiedMs: number;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * The versions of one key that the rules remove now: noncurrent versions past NoncurrentDays
 * (beyond the newest NewerNoncurrentVersions, which stay), and a delete marker that is the only
 * version left (ExpiredObjectDeleteMarker). A version becomes noncurrent when the next one is
 * written. `versions` is newest first.
 */
export function versionsToRemove(
  rules: readonly LifecycleRule[],
  key: string,
  versions: readonly VersionFacts[],
  nowMs: number,
  dayMs: number = DAY_MS,
): string[] {
  const doomed = new Set<string>();
  for (const rule of rules) {
    if (!rule.enabled) continue;
    const nc = rule.noncurrentExpiration;
    if (nc?.noncurrentDays !== undefined) {
      const keep = nc.newerNoncurrentVersions ?? 0;
      for (let i = 1; i < versions.length; i++) {
        const v = versions[i]!;
        // i - 1 newer noncurrent versions exist above this one.
        if (i - 1 < keep) continue;
        if (!ruleMatches(rule, { key, size: v.size, tags: v.tags })) continue;
        const since = versions[i - 1]!.lastModifiedMs;
        if (afterDays(since, nc.noncurrentDays, dayMs) <= nowMs) doomed.add(v.versionId);
      }
    }
    const only = versions.length === 1 ? versions[0]! : undefined;
    if (only?.isDeleteMarker && rule.expiration?.expiredObjectDeleteMarker) {
      if (rule.filter.prefix === undefined || key.startsWith(rule.filter.prefix)) {
        doomed.add(only.versionId);
      }
    }
  }
  return [...doomed];
}
