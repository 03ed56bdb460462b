import { beforeAll, describe, expect, it } from 'vitest';
import { blobIds, type ContractSubject } from './contract-subject.js';
import type { DbObjectStore } from './db-object-store.js';

/** The versioning cases: versions, delete markers and the blobs they hold. */
export function versioningCases(get: () => ContractSubject): void {
  describe('versioning', () => {
    let subject: ContractSubject;
    let store: DbObjectStore;
    beforeAll(() => {
      subject = get();
      store = subject.store;
    });
    it("keeps every version with its bytes, frees a version's blob only when it is deleted", async () => {
      await store.createBucket('versioned');
      await store.putObject('versioned', 'k', 'null version');
      await store.putBucketVersioning('versioned', 'Enabled');
      expect(await store.getBucketVersioning('versioned')).toBe('Enabled');
      const v1 = await store.putObject('versioned', 'k', 'one');
      const v2 = await store.putObject('versioned', 'k', 'two');
      expect(v1.versionId).toMatch(/^[A-Za-z0-9_-]{32}$/);
      const before = await blobIds(subject.blobs);
      const read = async (id?: string) => {
        const h = await store.openObject('versioned', 'k', id);
        return h ? (await h.readBuffer()).toString() : undefined;
      };
      expect([await read(), await read(v1.versionId), await read('null')]).toEqual([
        'two',
        'one',
        'null version',
      ]);
      const [marker] = await store.deleteObjectVersions('versioned', [{ key: 'k' }]);
      expect(marker).toMatchObject({ key: 'k', deleteMarker: true });
      expect(await read()).toBeUndefined();
      expect(await blobIds(subject.blobs)).toEqual(before);
      expect((await store.listObjects('versioned')).objects).toEqual([]);
      const page = await store.listObjectVersions('versioned');
      expect(page.versions.map((v) => [v.versionId, v.isDeleteMarker, v.isLatest])).toEqual([
        [marker!.deleteMarkerVersionId, true, true],
        [v2.versionId, false, false],
        [v1.versionId, false, false],
        ['null', false, false],
      ]);
      // Deleting the marker and the latest version brings v1 back; v2's blob is freed.
      await store.deleteObjectVersions('versioned', [
        { key: 'k', versionId: marker!.deleteMarkerVersionId! },
        { key: 'k', versionId: v2.versionId! },
      ]);
      expect(await read()).toBe('one');
      expect((await blobIds(subject.blobs)).length).toBe(before.length - 1);
      // The sweep leaves every referenced version alone.
      await store.sweep(0);
      expect(await read('null')).toBe('null version');
      await expect(store.getObjectVersion('versioned', 'k', 'nope')).rejects.toMatchObject({
        code: 'NoSuchVersion',
      });
      for (const v of (await store.listObjectVersions('versioned')).versions)
        await store.deleteObjectVersions('versioned', [{ key: v.key, versionId: v.versionId }]);
      await store.deleteBucket('versioned');
      expect((await blobIds(subject.blobs)).length).toBe(before.length - 3);
    });
  });
}
