import { beforeAll, describe, expect, it } from 'vitest';
import type { ContractSubject } from './contract-subject.js';
import type { DbObjectStore } from './db-object-store.js';

/** S3's listing, computed the slow and obvious way. */
function expectedListing(keys: string[], prefix: string, delimiter: string | undefined) {
  const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const out: string[] = [];
  for (const k of sorted) {
    if (!k.startsWith(prefix)) continue;
    let entry = k;
    if (delimiter) {
      const at = k.indexOf(delimiter, prefix.length);
      if (at >= 0) entry = k.slice(0, at + delimiter.length);
    }
    if (out[out.length - 1] !== entry) out.push(entry);
  }
  return out;
}

/** The listing cases: pages of every prefix and delimiter against S3's listing computed slowly. */
export function listingCases(get: () => ContractSubject): void {
  describe('listing', () => {
    let store: DbObjectStore;
    const keys: string[] = [];
    beforeAll(async () => {
      store = get().store;
      let seed = 7;
      const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
      const parts = ['a', 'b', 'ab', 'z', 'é', '🐝', '-', '.', ' '];
      while (keys.length < 120) {
        const depth = 1 + rnd(3);
        const k = Array.from(
          { length: depth },
          () => parts[rnd(parts.length)]! + parts[rnd(parts.length)]!,
        ).join('/');
        if (!keys.includes(k)) keys.push(k);
      }
      await store.createBucket('listing');
      for (const k of keys) await store.putObject('listing', k, k);
    });

    it.each([
      ['', undefined],
      ['', '/'],
      ['a', '/'],
      ['ab/', '/'],
      ['é', undefined],
      ['', 'b'],
    ] as const)('pages prefix %j delimiter %j exactly like S3', async (prefix, delimiter) => {
      for (const maxKeys of [1, 7, 1000]) {
        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await store.listObjects('listing', {
            prefix,
            ...(delimiter ? { delimiter } : {}),
            maxKeys,
            ...(after !== undefined ? { startAfter: after } : {}),
          });
          const entries = [...page.objects.map((o) => o.key), ...page.commonPrefixes].sort((a, b) =>
            Buffer.compare(Buffer.from(a), Buffer.from(b)),
          );
          expect(entries.length).toBeLessThanOrEqual(maxKeys);
          seen.push(...entries);
          if (!page.isTruncated) break;
          after = page.nextMarker;
        }
        expect(seen).toEqual(expectedListing(keys, prefix, delimiter));
      }
    });
  });
}
