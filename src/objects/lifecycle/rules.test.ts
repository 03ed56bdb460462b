import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  afterDays,
  objectExpiration,
  ruleMatches,
  uploadAbortion,
  versionsToRemove,
  type LifecycleFilter,
  type LifecycleRule,
  type VersionFacts,
} from './rules.js';

const filter = (f: Partial<LifecycleFilter> = {}): LifecycleFilter => ({
  form: 'filter',
  and: false,
  tags: [],
  ...f,
});
const rule = (r: Partial<LifecycleRule> & { id?: string } = {}): LifecycleRule => ({
  id: 'r',
  enabled: true,
  filter: filter(),
  ...r,
});
const subject = (key: string, size = 10, tags: Record<string, string> = {}) => ({
  key,
  size,
  tags,
});

describe('ruleMatches', () => {
  it('matches a prefix, every tag, and strict size bounds', () => {
    const r = rule({
      filter: filter({
        and: true,
        prefix: 'logs/',
        tags: [
          { key: 'a', value: '1' },
          { key: 'b', value: '2' },
        ],
        sizeGreaterThan: 10,
        sizeLessThan: 100,
      }),
    });
    expect(ruleMatches(r, subject('logs/x', 50, { a: '1', b: '2', c: '3' }))).toBe(true);
    expect(ruleMatches(r, subject('data/x', 50, { a: '1', b: '2' }))).toBe(false);
    expect(ruleMatches(r, subject('logs/x', 50, { a: '1' }))).toBe(false);
    expect(ruleMatches(r, subject('logs/x', 50, { a: '1', b: 'other' }))).toBe(false);
    expect(ruleMatches(r, subject('logs/x', 10, { a: '1', b: '2' }))).toBe(false);
    expect(ruleMatches(r, subject('logs/x', 100, { a: '1', b: '2' }))).toBe(false);
    expect(ruleMatches(r, subject('logs/x', 11, { a: '1', b: '2' }))).toBe(true);
  });

  it('an empty filter or an empty prefix selects every object', () => {
    expect(ruleMatches(rule(), subject('any/key'))).toBe(true);
    expect(ruleMatches(rule({ filter: filter({ prefix: '' }) }), subject('k'))).toBe(true);
  });
});

describe('afterDays', () => {
  it('rounds real days up to the next midnight UTC, as S3 does', () => {
    const start = Date.parse('2026-01-15T10:30:00Z');
    expect(new Date(afterDays(start, 3)).toISOString()).toBe('2026-01-19T00:00:00.000Z');
    const midnight = Date.parse('2026-01-15T00:00:00Z');
    expect(new Date(afterDays(midnight, 1)).toISOString()).toBe('2026-01-16T00:00:00.000Z');
  });

  it('does not round a shortened test day', () => {
    expect(afterDays(1_000, 3, 2_000)).toBe(7_000);
  });
});

describe('objectExpiration', () => {
  const lm = Date.parse('2026-03-01T12:00:00Z');
  it('picks the earliest expiry among matching enabled rules', () => {
    const rules = [
      rule({ id: 'late', expiration: { days: 10 } }),
      rule({ id: 'early', filter: filter({ prefix: 'tmp/' }), expiration: { days: 2 } }),
      rule({ id: 'off', enabled: false, expiration: { days: 1 } }),
      rule({ id: 'abort-only', abortIncompleteDays: 1 }),
    ];
    const e = objectExpiration(rules, { ...subject('tmp/a'), lastModifiedMs: lm });
    expect(e).toEqual({ ruleId: 'early', expiryMs: Date.parse('2026-03-04T00:00:00Z') });
    const other = objectExpiration(rules, { ...subject('keep/a'), lastModifiedMs: lm });
    expect(other?.ruleId).toBe('late');
  });

  it('a Date rule expires at its date; no rule, no expiry', () => {
    const dateMs = Date.parse('2027-01-01T00:00:00Z');
    const e = objectExpiration([rule({ id: 'd', expiration: { dateMs } })], {
      ...subject('k'),
      lastModifiedMs: lm,
    });
    expect(e).toEqual({ ruleId: 'd', expiryMs: dateMs });
    expect(objectExpiration([], { ...subject('k'), lastModifiedMs: lm })).toBeUndefined();
  });
});

describe('uploadAbortion', () => {
  it('applies the prefix and the days after initiation', () => {
    const rules = [rule({ id: 'mp', filter: filter({ prefix: 'up/' }), abortIncompleteDays: 2 })];
    expect(uploadAbortion(rules, 'up/x', 1_000, 500)).toEqual({ ruleId: 'mp', abortMs: 2_000 });
    expect(uploadAbortion(rules, 'other/x', 1_000, 500)).toBeUndefined();
  });
});

describe('versionsToRemove', () => {
  const v = (id: string, atMs: number, marker = false): VersionFacts => ({
    versionId: id,
    isDeleteMarker: marker,
    size: 1,
    lastModifiedMs: atMs,
    tags: {},
  });
  // Newest first: v3 current (written at 3000), v2 noncurrent since 3000, v1 since 2000.
  const versions = [v('v3', 3_000), v('v2', 2_000), v('v1', 1_000)];

  it('removes noncurrent versions NoncurrentDays after they became noncurrent', () => {
    const rules = [rule({ noncurrentExpiration: { noncurrentDays: 1 } })];
    // day = 1000 ms: v1 is due at 3000, v2 at 4000; the current version never.
    expect(versionsToRemove(rules, 'k', versions, 3_000, 1_000)).toEqual(['v1']);
    expect(versionsToRemove(rules, 'k', versions, 4_000, 1_000).sort()).toEqual(['v1', 'v2']);
    expect(versionsToRemove(rules, 'k', versions, 2_999, 1_000)).toEqual([]);
  });

  it('keeps the newest NewerNoncurrentVersions', () => {
    const rules = [
      rule({ noncurrentExpiration: { noncurrentDays: 1, newerNoncurrentVersions: 1 } }),
    ];
    expect(versionsToRemove(rules, 'k', versions, 10_000, 1_000)).toEqual(['v1']);
  });

  it('removes a delete marker that is the only version left (ExpiredObjectDeleteMarker)', () => {
    const rules = [rule({ expiration: { expiredObjectDeleteMarker: true } })];
    expect(versionsToRemove(rules, 'k', [v('m', 1, true)], 2, 1_000)).toEqual(['m']);
    expect(versionsToRemove(rules, 'k', [v('m', 1, true), v('v1', 0)], 2, 1_000)).toEqual([]);
    expect(
      versionsToRemove([rule({ expiration: { days: 1 } })], 'k', [v('m', 1, true)], 9e9),
    ).toEqual([]);
  });

  it('a disabled rule or a non-matching prefix removes nothing', () => {
    const nc = { noncurrentDays: 1 };
    expect(
      versionsToRemove([rule({ enabled: false, noncurrentExpiration: nc })], 'k', versions, 1e9),
    ).toEqual([]);
    expect(
      versionsToRemove(
        [rule({ filter: filter({ prefix: 'x/' }), noncurrentExpiration: nc })],
        'k',
        versions,
        1e9,
      ),
    ).toEqual([]);
  });
});

it('DAY_MS is one day', () => expect(DAY_MS).toBe(86_400_000));
