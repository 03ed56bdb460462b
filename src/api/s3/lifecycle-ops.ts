import { randomBytes } from 'node:crypto';
import {
  objectExpiration,
  uploadAbortion,
  type BucketLifecycleStore,
  type LifecycleFilter,
  type LifecycleRule,
  type LifecycleTag,
  type ObjectInfo,
} from '../../objects/index.js';
import { textOf } from '../../shared/text.js';
import { requireBucket } from './bucket-ops.js';
import type { S3Context, S3Lifecycle } from './context.js';
import { S3Error } from './errors.js';
import { parseXml, readSmallBody } from './payload.js';
import { httpDate, send, sendXml, type Headers } from './response.js';
import type { XmlNode } from './xml.js';

/**
 * Bucket lifecycle: Put/Get/DeleteBucketLifecycleConfiguration, validated as S3 does, and the
 * `x-amz-expiration` / `x-amz-abort-date` headers of objects and uploads a rule will remove. The
 * rules are applied by the sweep in `objects/lifecycle/sweep.ts`.
 */

const MAX_RULES = 1000;
const MAX_ID = 255;

const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const isElement = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
/** An element that may be empty (`<Filter/>` parses as ''). */
const elementOrEmpty = (v: unknown): Record<string, unknown> | undefined =>
  v === undefined ? undefined : isElement(v) ? v : {};

const malformed = (why: string): S3Error =>
  new S3Error(
    'MalformedXML',
    `The XML you provided was not well-formed or did not validate against our published schema: ${why}`,
  );
const invalidArgument = (message: string, name: string, value: unknown): S3Error =>
  new S3Error('InvalidArgument', message, {
    ArgumentName: name,
    ArgumentValue: textOf(value).slice(0, 100),
  });
const invalidRequest = (message: string): S3Error => new S3Error('InvalidRequest', message);

/** A positive integer element. @throws MalformedXML when not a number, InvalidArgument when ≤ 0. */
function positiveInt(v: unknown, name: string, action: string): number {
  const t = textOf(v).trim();
  if (!/^-?\d{1,10}$/.test(t)) throw malformed(`'${name}' is not an integer.`);
  const n = Number(t);
  if (n <= 0) {
    throw invalidArgument(`'${name}' for ${action} action must be a positive integer`, name, t);
  }
  return n;
}

/** A non-negative integer (object sizes). */
function size(v: unknown, name: string): number {
  const t = textOf(v).trim();
  if (!/^\d{1,16}$/.test(t)) throw malformed(`'${name}' is not a non-negative integer.`);
  return Number(t);
}

/** `Date`: ISO 8601 at midnight UTC. */
function midnight(v: unknown): number {
  const t = textOf(v).trim();
  const ms = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)
    ? Date.parse(t)
    : NaN;
  if (Number.isNaN(ms))
    throw invalidArgument("'Date' must be a date in ISO 8601 format", 'Date', t);
  if (ms % 86_400_000 !== 0) throw invalidArgument("'Date' must be at midnight GMT", 'Date', t);
  return ms;
}

function tagOf(v: unknown): LifecycleTag {
  if (!isElement(v) || v.Key === undefined) throw malformed('a Tag has a Key and a Value.');
  return { key: textOf(v.Key), value: textOf(v.Value) };
}

/** The conditions of `<Filter>` (exactly one of Prefix, Tag, And, a size bound) or `<And>`. */
function parseFilter(raw: Record<string, unknown>): LifecycleFilter {
  const present = ['Prefix', 'Tag', 'And', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan'].filter(
    (k) => raw[k] !== undefined,
  );
  if (present.length > 1) {
    throw malformed('a Filter holds one of Prefix, Tag, ObjectSize… or And (use And to combine).');
  }
  if (raw.And !== undefined) {
    const and = elementOrEmpty(raw.And)!;
    const tags = list(and.Tag).map(tagOf);
    if (new Set(tags.map((t) => t.key)).size !== tags.length) {
      throw invalidRequest('Duplicate Tag Keys are not allowed.');
    }
    return bounded({
      form: 'filter',
      and: true,
      ...(and.Prefix !== undefined ? { prefix: textOf(and.Prefix) } : {}),
      tags,
      ...(and.ObjectSizeGreaterThan !== undefined
        ? { sizeGreaterThan: size(and.ObjectSizeGreaterThan, 'ObjectSizeGreaterThan') }
        : {}),
      ...(and.ObjectSizeLessThan !== undefined
        ? { sizeLessThan: size(and.ObjectSizeLessThan, 'ObjectSizeLessThan') }
        : {}),
    });
  }
  return bounded({
    form: 'filter',
    and: false,
    ...(raw.Prefix !== undefined ? { prefix: textOf(raw.Prefix) } : {}),
    tags: raw.Tag !== undefined ? [tagOf(raw.Tag)] : [],
    ...(raw.ObjectSizeGreaterThan !== undefined
      ? { sizeGreaterThan: size(raw.ObjectSizeGreaterThan, 'ObjectSizeGreaterThan') }
      : {}),
    ...(raw.ObjectSizeLessThan !== undefined
      ? { sizeLessThan: size(raw.ObjectSizeLessThan, 'ObjectSizeLessThan') }
      : {}),
  });
}

function bounded(f: LifecycleFilter): LifecycleFilter {
  if (
    f.sizeGreaterThan !== undefined &&
    f.sizeLessThan !== undefined &&
    f.sizeLessThan <= f.sizeGreaterThan
  ) {
    throw invalidArgument(
      'ObjectSizeLessThan must be greater than ObjectSizeGreaterThan',
      'ObjectSizeLessThan',
      f.sizeLessThan,
    );
  }
  return f;
}

function parseRule(raw: unknown): LifecycleRule {
  if (!isElement(raw)) throw malformed('a Rule is an element.');
  // Never store a rule Apiary will not apply: there is one storage class, nothing to move to. A
  // malformed transition still answers 400 first, as S3 validates before anything else.
  for (const name of ['Transition', 'NoncurrentVersionTransition']) {
    for (const t of list(raw[name])) {
      const e = elementOrEmpty(t)!;
      if (e.Date !== undefined) midnight(e.Date);
      for (const days of ['Days', 'NoncurrentDays']) {
        if (e[days] !== undefined && !/^\d{1,10}$/.test(textOf(e[days]).trim())) {
          throw invalidArgument(
            `'${days}' for ${name} action must be a non-negative integer`,
            days,
            e[days],
          );
        }
      }
    }
    if (raw[name] !== undefined) {
      throw new S3Error(
        'NotImplemented',
        `A header or query you provided implies functionality that is not implemented: lifecycle '${name}' actions are not supported by Apiary (every object is STANDARD).`,
        { Header: name },
      );
    }
  }
  const id = raw.ID === undefined ? randomBytes(24).toString('base64url') : textOf(raw.ID);
  if (id.length > MAX_ID) {
    throw invalidArgument('ID length should not exceed allowed limit of 255', 'ID', id);
  }
  const status = textOf(raw.Status).trim();
  if (status !== 'Enabled' && status !== 'Disabled') {
    throw malformed("a Rule's Status is Enabled or Disabled.");
  }
  let filter: LifecycleFilter;
  if (raw.Filter !== undefined && raw.Prefix !== undefined) {
    throw malformed('a Rule has a Filter or a Prefix, not both.');
  } else if (raw.Filter !== undefined) {
    filter = parseFilter(elementOrEmpty(raw.Filter)!);
  } else if (raw.Prefix !== undefined) {
    filter = { form: 'legacy', and: false, prefix: textOf(raw.Prefix), tags: [] };
  } else {
    throw malformed('a Rule has a Filter or a Prefix.');
  }

  let expiration: LifecycleRule['expiration'];
  if (raw.Expiration !== undefined) {
    const e = elementOrEmpty(raw.Expiration)!;
    const marker = e.ExpiredObjectDeleteMarker;
    const given = [e.Days, e.Date, marker].filter((x) => x !== undefined).length;
    if (given !== 1) {
      throw malformed('an Expiration has exactly one of Days, Date or ExpiredObjectDeleteMarker.');
    }
    if (marker !== undefined) {
      const m = textOf(marker).trim();
      if (m !== 'true' && m !== 'false') throw malformed('ExpiredObjectDeleteMarker is a boolean.');
      if (filter.tags.length > 0) {
        throw invalidRequest(
          'ExpiredObjectDeleteMarker cannot be specified with a tag-based filter.',
        );
      }
      expiration = { expiredObjectDeleteMarker: m === 'true' };
    } else if (e.Days !== undefined) {
      expiration = { days: positiveInt(e.Days, 'Days', 'Expiration') };
    } else {
      expiration = { dateMs: midnight(e.Date) };
    }
  }
  let noncurrentExpiration: LifecycleRule['noncurrentExpiration'];
  if (raw.NoncurrentVersionExpiration !== undefined) {
    const n = elementOrEmpty(raw.NoncurrentVersionExpiration)!;
    if (n.NoncurrentDays === undefined) {
      throw malformed('a NoncurrentVersionExpiration has NoncurrentDays.');
    }
    const newer =
      n.NewerNoncurrentVersions === undefined
        ? undefined
        : positiveInt(
            n.NewerNoncurrentVersions,
            'NewerNoncurrentVersions',
            'NoncurrentVersionExpiration',
          );
    if (newer !== undefined && newer > 100) {
      throw invalidArgument(
        "'NewerNoncurrentVersions' must be between 1 and 100",
        'NewerNoncurrentVersions',
        newer,
      );
    }
    noncurrentExpiration = {
      noncurrentDays: positiveInt(
        n.NoncurrentDays,
        'NoncurrentDays',
        'NoncurrentVersionExpiration',
      ),
      ...(newer !== undefined ? { newerNoncurrentVersions: newer } : {}),
    };
  }
  let abortIncompleteDays: number | undefined;
  if (raw.AbortIncompleteMultipartUpload !== undefined) {
    const a = elementOrEmpty(raw.AbortIncompleteMultipartUpload)!;
    if (a.DaysAfterInitiation === undefined) {
      throw malformed('an AbortIncompleteMultipartUpload has DaysAfterInitiation.');
    }
    if (
      filter.tags.length > 0 ||
      filter.sizeGreaterThan !== undefined ||
      filter.sizeLessThan !== undefined
    ) {
      throw invalidRequest(
        'AbortIncompleteMultipartUpload cannot be specified with a tag-based or object size filter.',
      );
    }
    abortIncompleteDays = positiveInt(
      a.DaysAfterInitiation,
      'DaysAfterInitiation',
      'AbortIncompleteMultipartUpload',
    );
  }
  if (!expiration && !noncurrentExpiration && abortIncompleteDays === undefined) {
    throw invalidRequest('At least one action needs to be specified in a rule');
  }
  return {
    id,
    enabled: status === 'Enabled',
    filter,
    ...(expiration ? { expiration } : {}),
    ...(noncurrentExpiration ? { noncurrentExpiration } : {}),
    ...(abortIncompleteDays !== undefined ? { abortIncompleteDays } : {}),
  };
}

/**
 * The rules of a `LifecycleConfiguration` document, validated as S3 does.
 * @throws S3Error MalformedXML (no rule, over 1,000, a bad Status, a Filter with two conditions…),
 *   InvalidArgument (an ID over 255 characters or used twice, Days ≤ 0, a Date not at midnight
 *   UTC), InvalidRequest (a rule without action), NotImplemented (a Transition).
 */
export function parseLifecycleConfiguration(body: Buffer): LifecycleRule[] {
  const doc = parseXml(body, 'LifecycleConfiguration');
  const raw = list(doc.Rule);
  if (raw.length === 0) throw malformed('a LifecycleConfiguration has 1 to 1000 Rule elements.');
  if (raw.length > MAX_RULES) {
    throw malformed(`a LifecycleConfiguration has at most ${MAX_RULES} rules.`);
  }
  const rules = raw.map(parseRule);
  const ids = new Set<string>();
  for (const r of rules) {
    if (ids.has(r.id)) {
      throw invalidArgument(
        'Rule ID must be unique. Found same ID for more than one rule',
        'ID',
        r.id,
      );
    }
    ids.add(r.id);
  }
  return rules;
}

function filterXml(f: LifecycleFilter): XmlNode {
  if (f.form === 'legacy') return { Prefix: f.prefix ?? '' };
  const conditions: XmlNode = {
    Prefix: f.prefix,
    ...(f.and
      ? { Tag: f.tags.map((t) => ({ Key: t.key, Value: t.value })) }
      : f.tags[0]
        ? { Tag: { Key: f.tags[0].key, Value: f.tags[0].value } }
        : {}),
    ObjectSizeGreaterThan: f.sizeGreaterThan,
    ObjectSizeLessThan: f.sizeLessThan,
  };
  return { Filter: f.and ? { And: conditions } : conditions };
}

/** A rule as GetBucketLifecycleConfiguration answers it (the filter in the shape it was put). */
function ruleXml(r: LifecycleRule): XmlNode {
  const e = r.expiration;
  const n = r.noncurrentExpiration;
  return {
    ID: r.id,
    ...filterXml(r.filter),
    Status: r.enabled ? 'Enabled' : 'Disabled',
    Expiration: e
      ? {
          Days: e.days,
          Date: e.dateMs !== undefined ? new Date(e.dateMs).toISOString() : undefined,
          ExpiredObjectDeleteMarker: e.expiredObjectDeleteMarker,
        }
      : undefined,
    NoncurrentVersionExpiration: n
      ? { NoncurrentDays: n.noncurrentDays, NewerNoncurrentVersions: n.newerNoncurrentVersions }
      : undefined,
    AbortIncompleteMultipartUpload:
      r.abortIncompleteDays !== undefined
        ? { DaysAfterInitiation: r.abortIncompleteDays }
        : undefined,
  };
}

const lifecycle = (ctx: S3Context): S3Lifecycle => {
  if (!ctx.env.lifecycle) {
    throw new S3Error('NotImplemented', "'?lifecycle' is not supported by this server.", {
      Header: 'lifecycle',
    });
  }
  return ctx.env.lifecycle;
};

/** PutBucketLifecycleConfiguration (and the older PutBucketLifecycle: same document). */
export async function putBucketLifecycle(ctx: S3Context): Promise<void> {
  const lc = lifecycle(ctx);
  await requireBucket(ctx);
  const rules = parseLifecycleConfiguration(await readSmallBody(ctx));
  if (!(await lc.store.put(ctx.bucket, rules))) {
    throw new S3Error('NoSuchBucket', undefined, { BucketName: ctx.bucket });
  }
  cacheOf(lc.store).delete(ctx.bucket);
  send(ctx, 200, {});
}

/** GetBucketLifecycleConfiguration: the rules, or 404 NoSuchLifecycleConfiguration. */
export async function getBucketLifecycle(ctx: S3Context): Promise<void> {
  const lc = lifecycle(ctx);
  await requireBucket(ctx);
  const rules = await lc.store.get(ctx.bucket);
  if (!rules) {
    throw new S3Error('NoSuchLifecycleConfiguration', undefined, { BucketName: ctx.bucket });
  }
  sendXml(ctx, 'LifecycleConfiguration', { Rule: rules.map(ruleXml) });
}

/** DeleteBucketLifecycle: 204 whether or not there was a configuration. */
export async function deleteBucketLifecycle(ctx: S3Context): Promise<void> {
  const lc = lifecycle(ctx);
  await requireBucket(ctx);
  await lc.store.delete(ctx.bucket);
  cacheOf(lc.store).delete(ctx.bucket);
  send(ctx, 204, {});
}

/**
 * Rules read for response headers are kept this long: a GET must not cost a second query, and a
 * header a second stale (or a change made through another replica) is harmless.
 */
const CACHE_MS = 1000;
type CacheEntry = { atMs: number; rules: readonly LifecycleRule[] | undefined };
/** Per store (one per server; tests run several in one process), then per bucket. */
const caches = new WeakMap<BucketLifecycleStore, Map<string, CacheEntry>>();
const cacheOf = (store: BucketLifecycleStore): Map<string, CacheEntry> => {
  let c = caches.get(store);
  if (!c) caches.set(store, (c = new Map()));
  return c;
};

async function cachedRules(
  store: BucketLifecycleStore,
  bucket: string,
): Promise<readonly LifecycleRule[] | undefined> {
  const cache = cacheOf(store);
  const now = Date.now();
  const hit = cache.get(bucket);
  if (hit && now - hit.atMs < CACHE_MS) return hit.rules;
  const rules = await store.get(bucket);
  if (cache.size > 10_000) cache.clear();
  cache.set(bucket, { atMs: now, rules });
  return rules;
}

/** A rule id in a header: IDs may hold any character, a header value only printable ASCII. */
const headerSafe = (id: string): string => id.replace(/[^\x20-\x7e]|["\\]/g, '?');

/** `x-amz-expiration` of a current object a rule will expire (PutObject, GetObject, HeadObject). */
export async function expirationHeader(ctx: S3Context, info: ObjectInfo): Promise<Headers> {
  const lc = ctx.env.lifecycle;
  if (!lc) return {};
  const rules = await cachedRules(lc.store, ctx.bucket);
  if (!rules) return {};
  const e = objectExpiration(
    rules,
    // Real days (the default), whatever the sweep's day: see S3Lifecycle.
    { key: info.key, size: info.size, tags: info.tags ?? {}, lastModifiedMs: info.lastModifiedMs },
  );
  if (!e) return {};
  return {
    'x-amz-expiration': `expiry-date="${httpDate(e.expiryMs)}", rule-id="${headerSafe(e.ruleId)}"`,
  };
}

/** `x-amz-abort-date` and `x-amz-abort-rule-id` of a new multipart upload (CreateMultipartUpload). */
export async function abortHeaders(ctx: S3Context, initiatedMs: number): Promise<Headers> {
  const lc = ctx.env.lifecycle;
  if (!lc) return {};
  const rules = await cachedRules(lc.store, ctx.bucket);
  if (!rules) return {};
  const a = uploadAbortion(rules, ctx.key, initiatedMs); // real days, as above
  if (!a) return {};
  return { 'x-amz-abort-date': httpDate(a.abortMs), 'x-amz-abort-rule-id': headerSafe(a.ruleId) };
}
